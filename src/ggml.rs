//! The whisper.cpp ggml model file format, walked just far enough to tell a whole file from a
//! broken one before whisper.cpp sees it: whisper.cpp answers some broken files with a C++
//! exception, which no Rust code can catch and which would abort viva.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

const MAGIC: u32 = 0x6767_6d6c;
/// Sanity bounds, far above any real Whisper model, that stop a corrupt length from asking
/// for gigabytes.
const MAX_VOCAB: i32 = 1_000_000;
const MAX_TOKEN_BYTES: u32 = 1 << 16;
const MAX_MEL_VALUES: i64 = 1 << 24;
const MAX_NAME_BYTES: i32 = 1 << 12;

/// What a model file says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    /// Mel bands of the input: 128 for large-v3 and turbo, 80 before.
    pub n_mels: i32,
    /// Tensors with weights; 0 for a weightless test model.
    pub tensors: usize,
}

/// Walks the header, mel filters, vocabulary and every tensor record, and checks the file ends
/// exactly where the last tensor does.
pub fn check_model_file(path: &Path) -> Result<ModelSummary, String> {
    let file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut r = BufReader::new(file);
    let cut = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => "the file ends early (an interrupted download?)".to_owned(),
        _ => format!("cannot read it: {e}"),
    };

    if read_u32(&mut r).map_err(cut)? != MAGIC {
        return Err("it does not start with the ggml magic number".into());
    }
    let mut hparams = [0i32; 11];
    for value in &mut hparams {
        *value = read_i32(&mut r).map_err(cut)?;
    }
    let [n_vocab, _, _, _, n_audio_layer, _, _, _, n_text_layer, n_mels, _] = hparams;

    let n_mel = read_i32(&mut r).map_err(cut)?;
    let n_fft = read_i32(&mut r).map_err(cut)?;
    let mel_values = n_mel as i64 * n_fft as i64;
    if !(0..=MAX_MEL_VALUES).contains(&mel_values) || n_mel < 0 {
        return Err(format!(
            "its mel filter table is corrupt ({n_mel} x {n_fft})"
        ));
    }
    skip(&mut r, mel_values as u64 * 4, len).map_err(cut)?;

    let vocab = read_i32(&mut r).map_err(cut)?;
    if !(0..=MAX_VOCAB).contains(&vocab) {
        return Err(format!("its vocabulary size is corrupt ({vocab})"));
    }
    for _ in 0..vocab {
        let token_len = read_u32(&mut r).map_err(cut)?;
        if token_len > MAX_TOKEN_BYTES {
            return Err("its vocabulary is corrupt".into());
        }
        skip(&mut r, token_len as u64, len).map_err(cut)?;
    }

    let mut tensors = 0;
    loop {
        let position = r.stream_position().map_err(cut)?;
        if position == len {
            break;
        }
        let n_dims = read_i32(&mut r).map_err(cut)?;
        let name_len = read_i32(&mut r).map_err(cut)?;
        let ttype = read_i32(&mut r).map_err(cut)?;
        if !(1..=4).contains(&n_dims) || !(1..=MAX_NAME_BYTES).contains(&name_len) {
            return Err(format!("tensor record {tensors} is corrupt"));
        }
        let mut elements: u64 = 1;
        for _ in 0..n_dims {
            let dim = read_i32(&mut r).map_err(cut)?;
            if dim <= 0 {
                return Err(format!("tensor record {tensors} has a bad shape"));
            }
            elements = elements.saturating_mul(dim as u64);
        }
        skip(&mut r, name_len as u64, len).map_err(cut)?;
        let bytes = tensor_bytes(ttype, elements)
            .ok_or_else(|| format!("tensor record {tensors} has an unknown type {ttype}"))?;
        skip(&mut r, bytes, len).map_err(cut)?;
        tensors += 1;
    }
    Ok(ModelSummary {
        n_vocab,
        n_audio_layer,
        n_text_layer,
        n_mels,
        tensors,
    })
}

/// Bytes of tensor data for a ggml type: (elements per block, bytes per block).
fn tensor_bytes(ttype: i32, elements: u64) -> Option<u64> {
    let (block, size) = match ttype {
        0 => (1, 4),      // f32
        1 => (1, 2),      // f16
        2 => (32, 18),    // q4_0
        3 => (32, 20),    // q4_1
        6 => (32, 22),    // q5_0
        7 => (32, 24),    // q5_1
        8 => (32, 34),    // q8_0
        9 => (32, 36),    // q8_1
        10 => (256, 84),  // q2_k
        11 => (256, 110), // q3_k
        12 => (256, 144), // q4_k
        13 => (256, 176), // q5_k
        14 => (256, 210), // q6_k
        15 => (256, 292), // q8_k
        30 => (1, 2),     // bf16
        _ => return None,
    };
    Some(elements.div_ceil(block) * size)
}

fn read_i32(r: &mut impl Read) -> io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Skips `n` bytes, failing like a short read if that passes the end of the file.
fn skip(r: &mut BufReader<File>, n: u64, len: u64) -> io::Result<()> {
    let position = r.stream_position()?;
    if position + n > len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    r.seek(SeekFrom::Current(n as i64))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header, a 2x3 mel table, two tokens and one f16 tensor of 4 elements.
    fn tiny_model(with_tensor: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |v: i32| out.extend_from_slice(&v.to_le_bytes());
        put(MAGIC as i32);
        for v in [51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1] {
            put(v);
        }
        put(2);
        put(3);
        out.extend_from_slice(&[0u8; 24]);
        out.extend_from_slice(&2i32.to_le_bytes());
        for token in [&b"a"[..], b" the"] {
            out.extend_from_slice(&(token.len() as u32).to_le_bytes());
            out.extend_from_slice(token);
        }
        if with_tensor {
            for v in [1i32, 4, 1, 4] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(b"w.te");
            out.extend_from_slice(&[0u8; 8]);
        }
        out
    }

    fn check(bytes: &[u8]) -> Result<ModelSummary, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        std::fs::write(&path, bytes).unwrap();
        check_model_file(&path)
    }

    #[test]
    fn whole_files_pass_with_and_without_tensors() {
        assert_eq!(check(&tiny_model(false)).unwrap().tensors, 0);
        assert_eq!(check(&tiny_model(true)).unwrap().tensors, 1);
    }

    #[test]
    fn a_file_cut_anywhere_is_refused() {
        let whole = tiny_model(true);
        // Cut right before the tensor, the file is a whole weightless model; any other cut is not.
        let weightless_end = tiny_model(false).len();
        for cut in (1..whole.len()).filter(|&c| c != weightless_end) {
            let err = check(&whole[..cut]).unwrap_err();
            assert!(
                err.contains("ends early") || err.contains("corrupt") || err.contains("magic"),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn text_is_not_a_model() {
        assert!(check(b"hello world, not a model")
            .unwrap_err()
            .contains("magic"));
    }
}
