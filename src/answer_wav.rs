//! An answer's WAV on disk, readable whenever viva dies: written as the samples arrive with
//! its header kept true, and repaired on the next start when a kill left the header behind
//! the data.
//!
//! A WAV header states how much audio follows it. hound writes that as zero and corrects it
//! only when flushed, so a file killed before its first flush reads as empty although its
//! audio is on disk. [`AnswerWav`] puts a true header on disk at once, rewrites it with the
//! first samples and then every second. Between rewrites the data may run ahead of the
//! header (a kill loses nothing written, but readers stop where the header says); [`repair`]
//! sets the sizes from the file's length on the next start.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::audio::SAMPLE_RATE;

/// How often the header is rewritten once samples flow, so a killed process leaves a file
/// that reads to within a second of the end before any repair.
const HEADER_EVERY: Duration = Duration::from_secs(1);
/// How much of a file's start [`repair`] reads looking for the data chunk. viva's own
/// headers are 44 bytes; the room is for a header another writer padded.
const HEADER_SEARCH_BYTES: u64 = 64 * 1024;

/// A 16 kHz mono 16-bit WAV written as samples arrive, its header kept true.
pub struct AnswerWav {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    path: PathBuf,
    /// When the header last covered every sample written; `None` until samples arrive, so
    /// the first ones are covered at once rather than a second later.
    header_written_at: Option<Instant>,
}

impl AnswerWav {
    /// Creates the file with a header for no audio, already on disk: from its first byte the
    /// file is a valid (empty) WAV.
    pub fn create(path: &Path) -> Result<Self> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .with_context(|| format!("{}: cannot create the answer recording", path.display()))?;
        let mut wav = Self {
            writer: Some(writer),
            path: path.to_owned(),
            header_written_at: None,
        };
        wav.flush_header()?;
        Ok(wav)
    }

    /// Appends 16 kHz mono samples; the first ones written also rewrite the header.
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        let writer = self.writer.as_mut().expect("not finalized");
        for &s in samples {
            writer
                .write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16)
                .with_context(|| format!("{}: cannot write the recording", self.path.display()))?;
        }
        if !samples.is_empty() && self.header_written_at.is_none() {
            self.flush_header()?;
            self.header_written_at = Some(Instant::now());
        }
        Ok(())
    }

    /// Rewrites the header when a second has passed since the last rewrite.
    pub fn update_header_on_schedule(&mut self) -> Result<()> {
        if self
            .header_written_at
            .is_some_and(|at| at.elapsed() >= HEADER_EVERY)
        {
            self.flush_header()?;
            self.header_written_at = Some(Instant::now());
        }
        Ok(())
    }

    /// Writes the final header; the file is complete.
    pub fn finalize(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.take() {
            writer
                .finalize()
                .with_context(|| format!("{}: cannot finish the recording", self.path.display()))?;
        }
        Ok(())
    }

    /// Makes the header cover everything written and puts both on disk; hound's flush does
    /// exactly that.
    fn flush_header(&mut self) -> Result<()> {
        if let Some(writer) = self.writer.as_mut() {
            writer
                .flush()
                .with_context(|| format!("{}: cannot write the recording", self.path.display()))?;
        }
        Ok(())
    }
}

/// A WAV whose header [`repair`] made agree with its data.
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    pub path: PathBuf,
    /// Seconds of audio the header claimed before.
    pub claimed_seconds: f64,
    /// Seconds of audio it claims now: every whole sample on disk.
    pub kept_seconds: f64,
}

impl fmt::Display for Repaired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: repaired the header a kill left behind ({:.2} s readable before, {:.2} s now)",
            self.path.display(),
            self.claimed_seconds,
            self.kept_seconds
        )
    }
}

/// Why a WAV that needed repair could not be repaired.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot repair the recording's header ({source}); make the file writable and start viva again, or it reads shorter than it is")]
pub struct RepairFailed {
    pub path: PathBuf,
    pub source: io::Error,
}

/// Where a WAV's sizes live and what they say.
struct Layout {
    /// Offset of the data chunk's size field; the audio starts 4 bytes later.
    data_size_at: u64,
    /// Bytes per sample frame (all channels).
    block_align: u64,
    sample_rate: u32,
    riff_size: u32,
    data_size: u32,
}

impl Layout {
    fn data_start(&self) -> u64 {
        self.data_size_at + 4
    }

    fn seconds(&self, data_bytes: u64) -> f64 {
        (data_bytes / self.block_align) as f64 / self.sample_rate.max(1) as f64
    }
}

/// Makes the RIFF and data sizes of a WAV that viva wrote agree with the file's length,
/// trimmed to whole samples (a torn last sample is cut off). Returns `None` when the header
/// already agrees, and for a file that is missing or not a WAV with a data chunk: there is
/// nothing to repair. Meant for recordings a kill may have left behind; the data chunk is
/// taken to run to the end of the file, as viva writes it.
pub fn repair(path: &Path) -> Result<Option<Repaired>, RepairFailed> {
    let failed = |source| RepairFailed {
        path: path.to_owned(),
        source,
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(e)),
    };
    let len = file.metadata().map_err(failed)?.len();
    let mut head = Vec::new();
    (&mut file)
        .take(HEADER_SEARCH_BYTES)
        .read_to_end(&mut head)
        .map_err(failed)?;
    let Some(layout) = layout(&head) else {
        return Ok(None);
    };
    let data_start = layout.data_start();
    let on_disk = len.saturating_sub(data_start);
    // A RIFF size is 32 bits; audio past that cannot be described, so it is not claimed.
    let describable = u64::from(u32::MAX) - (data_start - 8);
    let whole = on_disk.min(describable) / layout.block_align * layout.block_align;
    let riff_size = data_start - 8 + whole;
    if u64::from(layout.data_size) == whole
        && u64::from(layout.riff_size) == riff_size
        && len == data_start + whole
    {
        return Ok(None);
    }
    if len != data_start + whole {
        file.set_len(data_start + whole).map_err(failed)?;
    }
    file.seek(SeekFrom::Start(4)).map_err(failed)?;
    file.write_all(&(riff_size as u32).to_le_bytes())
        .map_err(failed)?;
    file.seek(SeekFrom::Start(layout.data_size_at))
        .map_err(failed)?;
    file.write_all(&(whole as u32).to_le_bytes())
        .map_err(failed)?;
    file.sync_all().map_err(failed)?;
    Ok(Some(Repaired {
        path: path.to_owned(),
        claimed_seconds: layout.seconds(u64::from(layout.data_size).min(on_disk)),
        kept_seconds: layout.seconds(whole),
    }))
}

/// Walks the chunks of a RIFF/WAVE header to the data chunk, reading the format on the way.
fn layout(head: &[u8]) -> Option<Layout> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?))
    };
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?))
    };
    if head.get(0..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let riff_size = u32_at(4)?;
    let mut format: Option<(u32, u16)> = None;
    let mut at = 12usize;
    loop {
        let id = head.get(at..at + 4)?;
        let size = u32_at(at + 4)?;
        let body = at + 8;
        match id {
            b"fmt " => format = Some((u32_at(body + 4)?, u16_at(body + 12)?)),
            b"data" => {
                let (sample_rate, block_align) = format?;
                if block_align == 0 {
                    return None;
                }
                return Some(Layout {
                    data_size_at: (at + 4) as u64,
                    block_align: u64::from(block_align),
                    sample_rate,
                    riff_size,
                    data_size: size,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body
            .checked_add(size as usize)?
            .checked_add(size as usize & 1)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i % 200) as f32 / 200.0) - 0.5).collect()
    }

    fn read_i16(path: &Path) -> Vec<i16> {
        hound::WavReader::open(path)
            .unwrap()
            .into_samples::<i16>()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A finished answer WAV of `n` samples, in a directory of its own.
    fn finished_wav(n: usize) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut wav = AnswerWav::create(&path).unwrap();
        wav.write(&samples(n)).unwrap();
        wav.finalize().unwrap();
        (dir, path)
    }

    /// Makes the header claim `data_bytes` of audio, as a kill between rewrites leaves it.
    fn claim(path: &Path, data_bytes: u32) {
        let mut bytes = std::fs::read(path).unwrap();
        bytes[4..8].copy_from_slice(&(36 + data_bytes).to_le_bytes());
        bytes[40..44].copy_from_slice(&data_bytes.to_le_bytes());
        std::fs::write(path, &bytes).unwrap();
    }

    /// The sizes the header states: (RIFF size, data size).
    fn sizes(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        let at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        (at(4), at(40))
    }

    #[test]
    fn a_new_answer_wav_is_a_valid_empty_wav_on_disk_before_any_sample() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let wav = AnswerWav::create(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 44);
        assert_eq!(sizes(&path), (36, 0));
        assert!(read_i16(&path).is_empty());
        std::mem::forget(wav); // as a kill would: no drop, no finalize
    }

    #[test]
    fn the_first_samples_written_are_covered_by_the_header_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut wav = AnswerWav::create(&path).unwrap();
        let first = samples(1600);
        wav.write(&first).unwrap();
        // More, still in the buffer and not yet covered: the file on disk reads the first.
        wav.write(&samples(800)).unwrap();
        assert_eq!(sizes(&path), (36 + 3200, 3200));
        assert_eq!(read_i16(&path).len(), first.len());
        std::mem::forget(wav);
    }

    #[test]
    fn a_header_lagging_its_data_is_repaired_and_the_audio_kept() {
        let (_dir, path) = finished_wav(16_000);
        let whole = read_i16(&path);
        // What a kill between rewrites leaves: the header claims a tenth of the data, and the
        // last sample is torn in half.
        claim(&path, 3200);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(read_i16(&path).len(), 1600);

        let repaired = repair(&path).unwrap().expect("the header lagged");
        assert_eq!(repaired.claimed_seconds, 0.1);
        assert_eq!(repaired.kept_seconds, 15_999.0 / 16_000.0);
        assert_eq!(read_i16(&path), whole[..15_999]);
        assert_eq!(sizes(&path), (36 + 2 * 15_999, 2 * 15_999));
        // Repairing again finds nothing to do.
        assert_eq!(repair(&path).unwrap(), None);
    }

    #[test]
    fn a_header_claiming_zero_bytes_is_repaired() {
        let (_dir, path) = finished_wav(4000);
        let whole = read_i16(&path);
        claim(&path, 0);

        let repaired = repair(&path).unwrap().unwrap();
        assert_eq!(repaired.claimed_seconds, 0.0);
        assert_eq!(read_i16(&path), whole);
    }

    #[test]
    fn files_that_are_not_wavs_or_are_missing_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let notes = dir.path().join("notes.wav");
        std::fs::write(&notes, "my notes, not audio").unwrap();
        assert_eq!(repair(&notes).unwrap(), None);
        assert_eq!(
            std::fs::read_to_string(&notes).unwrap(),
            "my notes, not audio"
        );
        assert_eq!(repair(&dir.path().join("gone.wav")).unwrap(), None);
        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(repair(&empty).unwrap(), None);
    }

    #[test]
    fn a_finished_recording_needs_no_repair() {
        let (_dir, path) = finished_wav(1234);
        let before = std::fs::read(&path).unwrap();
        assert_eq!(repair(&path).unwrap(), None);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
