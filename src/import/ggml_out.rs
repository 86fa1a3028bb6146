//! whisper.cpp's ggml model file, written: header, mel filters, vocabulary, then tensor
//! records, into a temporary file that only becomes `ggml-NAME.bin` once whole and synced.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::whisper::Hparams;

/// "ggml" read as a little-endian u32, as whisper.cpp checks it.
const MAGIC: u32 = 0x6767_6d6c;
/// ggml's file type for "2-D weights in f16, the rest f32" (`GGML_FTYPE_MOSTLY_F16`).
const FTYPE_F16: i32 = 1;
const GGML_F32: i32 = 0;
const GGML_F16: i32 = 1;

/// A ggml file being written under a temporary name in its final directory; dropped without
/// [`GgmlFile::finish`], it deletes itself, so no error leaves a partial model behind.
pub struct GgmlFile {
    out: BufWriter<File>,
    temp: PathBuf,
    hash: Sha256,
    finished: bool,
}

impl GgmlFile {
    /// Creates `.NAME.PID.partial` next to `final_path`.
    pub fn create(final_path: &Path) -> io::Result<Self> {
        let dir = final_path.parent().unwrap_or(Path::new("."));
        let file_name = final_path.file_name().unwrap_or_default().to_string_lossy();
        let temp = dir.join(format!(".{file_name}.{}.partial", std::process::id()));
        let out = BufWriter::with_capacity(1 << 20, File::create(&temp)?);
        Ok(GgmlFile {
            out,
            temp,
            hash: Sha256::new(),
            finished: false,
        })
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    fn put_i32(&mut self, v: i32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    /// Everything before the tensors: magic, hparams with ftype, mel filters, vocabulary.
    pub fn write_header(
        &mut self,
        hparams: &Hparams,
        filters: &[f32],
        n_bins: usize,
        tokens: &[Vec<u8>],
    ) -> io::Result<()> {
        self.put(&MAGIC.to_le_bytes())?;
        for v in hparams.header() {
            self.put_i32(v as i32)?;
        }
        self.put_i32(FTYPE_F16)?;
        self.put_i32((filters.len() / n_bins) as i32)?;
        self.put_i32(n_bins as i32)?;
        for f in filters {
            self.put(&f.to_le_bytes())?;
        }
        self.put_i32(tokens.len() as i32)?;
        for token in tokens {
            self.put(&(token.len() as u32).to_le_bytes())?;
            self.put(token)?;
        }
        Ok(())
    }

    /// One tensor record. ggml lists dimensions innermost first, the reverse of the
    /// row-major `shape`.
    pub fn write_tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        values: &[f32],
        as_f32: bool,
    ) -> io::Result<()> {
        self.put_i32(shape.len() as i32)?;
        self.put_i32(name.len() as i32)?;
        self.put_i32(if as_f32 { GGML_F32 } else { GGML_F16 })?;
        for d in shape.iter().rev() {
            self.put_i32(*d as i32)?;
        }
        self.put(name.as_bytes())?;
        let mut buf = Vec::with_capacity(values.len() * 4);
        if as_f32 {
            values
                .iter()
                .for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
        } else {
            values
                .iter()
                .for_each(|v| buf.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes()));
        }
        self.put(&buf)
    }

    /// Syncs the file, renames it to `final_path` and returns its SHA-256.
    pub fn finish(mut self, final_path: &Path) -> io::Result<String> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        fs::rename(&self.temp, final_path)?;
        self.finished = true;
        if let Some(dir) = final_path.parent() {
            sync_dir(dir);
        }
        Ok(hex(&self.hash.clone().finalize()))
    }
}

impl Drop for GgmlFile {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: an error is already on its way to the user.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Persists a rename; some filesystems refuse a directory fsync, which is harmless here.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
