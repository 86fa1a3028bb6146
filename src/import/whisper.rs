//! CTranslate2's Whisper layout (`WhisperSpec`) mapped onto the tensors whisper.cpp loads.
//!
//! CTranslate2 (`python/ctranslate2/specs/whisper_spec.py`, filled by the Whisper loader in
//! `converters/transformers.py`) fuses self-attention's query, key and value into one linear
//! (`linear_0`, rows q|k|v) and cross-attention's key and value (`linear_1`, rows k|v), with a
//! zero key bias. whisper.cpp (`whisper_model_load`, `whisper-arch.h`) wants them apart, with
//! no key bias. Shapes here are row-major, as both PyTorch and CTranslate2 store them.

use std::collections::BTreeMap;
use std::ops::Range;

/// The model's dimensions: whisper.cpp's hparams header, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

/// Every Whisper size has 64-dimensional attention heads; used when a model.bin predates the
/// stored `num_heads` scalars.
const HEAD_DIM: usize = 64;

impl Hparams {
    /// Reads the dimensions off the variable shapes and the `num_heads` scalars.
    pub fn from_variables(
        shapes: &BTreeMap<String, Vec<usize>>,
        scalars: &BTreeMap<String, f64>,
    ) -> Result<Hparams, String> {
        let dims = |name: &str, rank: usize| -> Result<&[usize], String> {
            match shapes.get(name) {
                Some(d) if d.len() == rank => Ok(d),
                Some(d) => Err(format!("{name} has shape {d:?}, expected rank {rank}")),
                None => Err(format!("it has no {name}")),
            }
        };
        let embeddings = dims("decoder/embeddings/weight", 2)?;
        let audio_pos = dims("encoder/position_encodings/encodings", 2)?;
        let text_pos = dims("decoder/position_encodings/encodings", 2)?;
        let conv1 = dims("encoder/conv1/weight", 3)?;
        let layers = |side: &str| {
            let prefix = format!("{side}/layer_");
            shapes
                .keys()
                .filter_map(|n| {
                    n.strip_prefix(&prefix)?
                        .split('/')
                        .next()?
                        .parse::<usize>()
                        .ok()
                })
                .max()
                .map_or(0, |last| last + 1)
        };
        let heads = |side: &str, state: usize| {
            scalars
                .get(&format!("{side}/num_heads"))
                .map_or(state / HEAD_DIM, |&h| h as usize)
        };
        let hp = Hparams {
            n_vocab: embeddings[0],
            n_audio_ctx: audio_pos[0],
            n_audio_state: audio_pos[1],
            n_audio_head: heads("encoder", audio_pos[1]),
            n_audio_layer: layers("encoder"),
            n_text_ctx: text_pos[0],
            n_text_state: embeddings[1],
            n_text_head: heads("decoder", embeddings[1]),
            n_text_layer: layers("decoder"),
            n_mels: conv1[1],
        };
        if hp.n_audio_layer == 0 || hp.n_text_layer == 0 {
            return Err("it has no encoder or decoder layers".into());
        }
        if hp.n_audio_state != hp.n_text_state {
            return Err(format!(
                "its encoder width {} differs from its decoder width {}; whisper.cpp needs them equal",
                hp.n_audio_state, hp.n_text_state
            ));
        }
        Ok(hp)
    }

    /// whisper.cpp's header values, in file order.
    pub fn header(&self) -> [usize; 10] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
        ]
    }

    /// The conventional whisper.cpp name: size from depth and width, `.en` for the
    /// English-only vocabulary.
    pub fn default_name(&self) -> Option<String> {
        let size = match (self.n_audio_layer, self.n_audio_state) {
            (4, 384) => "tiny",
            (6, 512) => "base",
            (12, 768) => "small",
            (24, 1024) => "medium",
            (32, 1280) if self.n_mels == 128 && self.n_text_layer == 4 => "large-v3-turbo",
            (32, 1280) if self.n_mels == 128 => "large-v3",
            (32, 1280) => "large-v2",
            _ => return None,
        };
        let english = if self.n_vocab == ENGLISH_VOCAB {
            ".en"
        } else {
            ""
        };
        Some(format!("{size}{english}"))
    }

    /// Every tensor whisper.cpp's loader creates, with its row-major shape.
    pub fn expected_tensors(&self) -> BTreeMap<String, Vec<usize>> {
        let s = self.n_audio_state;
        let mut t = BTreeMap::new();
        let mut add = |name: String, shape: &[usize]| {
            t.insert(name, shape.to_vec());
        };
        add(
            "encoder.positional_embedding".into(),
            &[self.n_audio_ctx, s],
        );
        add("encoder.conv1.weight".into(), &[s, self.n_mels, 3]);
        add("encoder.conv1.bias".into(), &[s, 1]);
        add("encoder.conv2.weight".into(), &[s, s, 3]);
        add("encoder.conv2.bias".into(), &[s, 1]);
        add("encoder.ln_post.weight".into(), &[s]);
        add("encoder.ln_post.bias".into(), &[s]);
        add("decoder.positional_embedding".into(), &[self.n_text_ctx, s]);
        add("decoder.token_embedding.weight".into(), &[self.n_vocab, s]);
        add("decoder.ln.weight".into(), &[s]);
        add("decoder.ln.bias".into(), &[s]);
        let blocks = [
            ("encoder", self.n_audio_layer, &["attn"][..]),
            ("decoder", self.n_text_layer, &["attn", "cross_attn"][..]),
        ];
        for (side, layers, attentions) in blocks {
            for i in 0..layers {
                let b = format!("{side}.blocks.{i}");
                for ln in ["mlp_ln", "attn_ln"] {
                    add(format!("{b}.{ln}.weight"), &[s]);
                    add(format!("{b}.{ln}.bias"), &[s]);
                }
                add(format!("{b}.mlp.0.weight"), &[4 * s, s]);
                add(format!("{b}.mlp.0.bias"), &[4 * s]);
                add(format!("{b}.mlp.2.weight"), &[s, 4 * s]);
                add(format!("{b}.mlp.2.bias"), &[s]);
                for attn in attentions {
                    if *attn == "cross_attn" {
                        add(format!("{b}.cross_attn_ln.weight"), &[s]);
                        add(format!("{b}.cross_attn_ln.bias"), &[s]);
                    }
                    for part in ["query", "key", "value", "out"] {
                        add(format!("{b}.{attn}.{part}.weight"), &[s, s]);
                        if part != "key" {
                            add(format!("{b}.{attn}.{part}.bias"), &[s]);
                        }
                    }
                }
            }
        }
        t
    }
}

/// Size of the English-only Whisper vocabulary (the multilingual ones have 51865 or 51866).
pub const ENGLISH_VOCAB: usize = 51864;

/// A whisper.cpp tensor cut from a CTranslate2 variable: rows `rows` of the variable (its
/// first dimension), reshaped to `shape`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub rows: Range<usize>,
    pub shape: Vec<usize>,
}

/// What becomes of a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// One or more whisper.cpp tensors (several when it is a fused projection).
    Tensors(Vec<Target>),
    /// Not a tensor whisper.cpp loads: settings scalars, quantisation scales (applied to their
    /// weight), and the output projection, which whisper.cpp ties to the token embedding.
    Unused,
}

/// Maps one CTranslate2 variable of row-major shape `dims` to whisper.cpp tensors; `None`
/// for a variable this importer does not know, which means a layout it cannot convert.
pub fn map(name: &str, dims: &[usize]) -> Option<Mapping> {
    if dims.is_empty() || name.ends_with("_scale") || name.starts_with("decoder/projection/") {
        return Some(Mapping::Unused);
    }
    let whole = |to: String| Some(Mapping::Tensors(vec![whole(to, dims)]));
    let param = |p: &str| match p {
        "weight" | "gamma" => Some("weight"),
        "bias" | "beta" => Some("bias"),
        _ => None,
    };
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["encoder", conv @ ("conv1" | "conv2"), "weight"] => {
            whole(format!("encoder.{conv}.weight"))
        }
        // whisper.cpp keeps conv biases 2-D (one column), like convert-pt-to-ggml.py.
        ["encoder", conv @ ("conv1" | "conv2"), "bias"] => Some(Mapping::Tensors(vec![Target {
            name: format!("encoder.{conv}.bias"),
            rows: 0..dims[0],
            shape: vec![dims[0], 1],
        }])),
        [side @ ("encoder" | "decoder"), "position_encodings", "encodings"] => {
            whole(format!("{side}.positional_embedding"))
        }
        ["encoder", "layer_norm", p] => whole(format!("encoder.ln_post.{}", param(p)?)),
        ["decoder", "layer_norm", p] => whole(format!("decoder.ln.{}", param(p)?)),
        ["decoder", "embeddings", "weight"] => whole("decoder.token_embedding.weight".into()),
        [side @ ("encoder" | "decoder"), layer, rest @ ..] => {
            let i: usize = layer.strip_prefix("layer_")?.parse().ok()?;
            block(&format!("{side}.blocks.{i}"), rest, dims, param)
        }
        _ => None,
    }
}

fn block(
    b: &str,
    rest: &[&str],
    dims: &[usize],
    param: impl Fn(&str) -> Option<&'static str>,
) -> Option<Mapping> {
    let whole = |to: String| Some(Mapping::Tensors(vec![whole(to, dims)]));
    match rest {
        ["ffn", "layer_norm", p] => whole(format!("{b}.mlp_ln.{}", param(p)?)),
        ["ffn", "linear_0", p] => whole(format!("{b}.mlp.0.{}", param(p)?)),
        ["ffn", "linear_1", p] => whole(format!("{b}.mlp.2.{}", param(p)?)),
        ["self_attention", "layer_norm", p] => whole(format!("{b}.attn_ln.{}", param(p)?)),
        ["self_attention", "linear_0", p] => {
            split(&format!("{b}.attn"), &["query", "key", "value"], p, dims)
        }
        ["self_attention", "linear_1", p] => whole(format!("{b}.attn.out.{}", param(p)?)),
        ["attention", "layer_norm", p] => whole(format!("{b}.cross_attn_ln.{}", param(p)?)),
        ["attention", "linear_0", p] => whole(format!("{b}.cross_attn.query.{}", param(p)?)),
        ["attention", "linear_1", p] => {
            split(&format!("{b}.cross_attn"), &["key", "value"], p, dims)
        }
        ["attention", "linear_2", p] => whole(format!("{b}.cross_attn.out.{}", param(p)?)),
        _ => None,
    }
}

fn whole(name: String, dims: &[usize]) -> Target {
    Target {
        name,
        rows: 0..dims[0],
        shape: dims.to_vec(),
    }
}

/// A fused projection cut into equal row blocks, one per part; the key bias is dropped
/// because whisper.cpp's key projection has none (CTranslate2 stores zeros there).
fn split(prefix: &str, parts: &[&str], param: &str, dims: &[usize]) -> Option<Mapping> {
    if param != "weight" && param != "bias" {
        return None;
    }
    let rows = dims[0] / parts.len();
    if rows * parts.len() != dims[0] {
        return None;
    }
    let targets = parts
        .iter()
        .enumerate()
        .filter(|(_, part)| !(param == "bias" && **part == "key"))
        .map(|(k, part)| {
            let mut shape = dims.to_vec();
            shape[0] = rows;
            Target {
                name: format!("{prefix}.{part}.{param}"),
                rows: k * rows..(k + 1) * rows,
                shape,
            }
        })
        .collect();
    Some(Mapping::Tensors(targets))
}

/// Whether whisper.cpp keeps this tensor in `f32` in an `f16` model: every 1-D tensor, the
/// conv biases and the positional embeddings (`convert-pt-to-ggml.py`, and the loader's
/// `GGML_TYPE_F32` tensors); all other weights are `f16`.
pub fn stays_f32(name: &str, shape: &[usize]) -> bool {
    shape.len() < 2 || name.ends_with(".bias") || name.ends_with("positional_embedding")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(name: &str, dims: &[usize]) -> Vec<(String, Range<usize>, Vec<usize>)> {
        match map(name, dims) {
            Some(Mapping::Tensors(t)) => t.into_iter().map(|t| (t.name, t.rows, t.shape)).collect(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn fused_self_attention_splits_into_query_key_value() {
        assert_eq!(
            targets("encoder/layer_3/self_attention/linear_0/weight", &[12, 4]),
            vec![
                (
                    "encoder.blocks.3.attn.query.weight".into(),
                    0..4,
                    vec![4, 4]
                ),
                ("encoder.blocks.3.attn.key.weight".into(), 4..8, vec![4, 4]),
                (
                    "encoder.blocks.3.attn.value.weight".into(),
                    8..12,
                    vec![4, 4]
                ),
            ]
        );
        assert_eq!(
            targets("decoder/layer_0/self_attention/linear_0/bias", &[12]),
            vec![
                ("decoder.blocks.0.attn.query.bias".into(), 0..4, vec![4]),
                ("decoder.blocks.0.attn.value.bias".into(), 8..12, vec![4]),
            ]
        );
    }

    #[test]
    fn fused_cross_attention_splits_into_key_value() {
        assert_eq!(
            targets("decoder/layer_1/attention/linear_1/bias", &[8]),
            vec![(
                "decoder.blocks.1.cross_attn.value.bias".into(),
                4..8,
                vec![4]
            )]
        );
        assert_eq!(
            targets("decoder/layer_1/attention/linear_2/weight", &[4, 4])[0].0,
            "decoder.blocks.1.cross_attn.out.weight"
        );
    }

    #[test]
    fn unknown_and_unused_variables_are_told_apart() {
        assert_eq!(map("decoder/num_heads", &[]), Some(Mapping::Unused));
        assert_eq!(
            map("decoder/projection/weight", &[8, 4]),
            Some(Mapping::Unused)
        );
        assert_eq!(
            map("encoder/layer_0/ffn/linear_0/weight_scale", &[16]),
            Some(Mapping::Unused)
        );
        assert_eq!(map("encoder/layer_0/ffn/linear_7/weight", &[4, 4]), None);
        assert_eq!(map("encoder/something/else", &[4]), None);
    }

    #[test]
    fn tensor_types_follow_whisper_cpp() {
        assert!(stays_f32("encoder.conv1.bias", &[384, 1]));
        assert!(stays_f32("encoder.positional_embedding", &[1500, 384]));
        assert!(stays_f32("decoder.ln.weight", &[384]));
        assert!(!stays_f32("encoder.conv1.weight", &[384, 80, 3]));
        assert!(!stays_f32("decoder.token_embedding.weight", &[51864, 384]));
    }

    #[test]
    fn names_follow_whisper_cpp_convention() {
        let tiny_en = Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
        };
        assert_eq!(tiny_en.default_name().as_deref(), Some("tiny.en"));
        let base = Hparams {
            n_vocab: 51865,
            n_audio_state: 512,
            n_text_state: 512,
            n_audio_layer: 6,
            n_text_layer: 6,
            ..tiny_en
        };
        assert_eq!(base.default_name().as_deref(), Some("base"));
        assert_eq!(
            Hparams {
                n_audio_layer: 5,
                ..tiny_en
            }
            .default_name(),
            None
        );
        // 11 outside the blocks (2 positional embeddings, 4 conv, the token embedding, 4 final
        // norm), 15 per encoder block, 24 per decoder block (with cross-attention).
        assert_eq!(tiny_en.expected_tensors().len(), 11 + 4 * 15 + 4 * 24);
    }
}
