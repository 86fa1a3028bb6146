//! Audio in: reads WAV files of any common shape and turns them into the one shape the rest of
//! viva uses, 16 kHz mono `f32` ([`Recording`]), with a real resampler.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// The sample rate Whisper and the voice detector expect.
pub const SAMPLE_RATE: u32 = 16_000;

/// A recording as viva works with it: 16 kHz mono `f32` in [-1, 1].
#[derive(Debug, Clone)]
pub struct Recording {
    pub samples: Vec<f32>,
    /// Where it came from, for messages.
    pub source: PathBuf,
    /// The file's own rate and channels, for reports.
    pub original_rate: u32,
    pub original_channels: u16,
}

impl Recording {
    /// Length in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

/// Why a recording could not be used. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot open: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path}: not a WAV file ({reason}); record again, or convert it with `sox INPUT -r 16000 -c 1 {name}`", name = .path.display())]
    NotWav { path: PathBuf, reason: String },
    #[error("{path}: the WAV data stops early ({read} of {expected} samples); the recording was cut off; recover what is there with `sox --ignore-length {name} fixed.wav`", name = .path.display())]
    Truncated {
        path: PathBuf,
        read: usize,
        expected: usize,
    },
    #[error("{path}: the WAV file holds no audio; record the answer again")]
    Empty { path: PathBuf },
    #[error("{path}: unsupported WAV format ({detail}); convert it with `sox {name} -b 16 -r 16000 -c 1 out.wav`", name = .path.display())]
    Unsupported { path: PathBuf, detail: String },
    #[error("{path}: resampling failed: {detail}")]
    Resample { path: PathBuf, detail: String },
}

/// Reads a WAV file and converts it to 16 kHz mono.
pub fn load_wav(path: &Path) -> Result<Recording, AudioError> {
    let file = std::fs::File::open(path).map_err(|source| AudioError::Open {
        path: path.to_owned(),
        source,
    })?;
    decode_wav(io::BufReader::new(file), path)
}

/// A WAV file's samples as stored: interleaved `f32` in [-1, 1] at the file's own rate and
/// channel count. What a microphone would deliver, for feeding `--input` recordings live.
#[derive(Debug, Clone)]
pub struct Interleaved {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

/// Reads a WAV file without converting it; errors name the file and what to do.
pub fn read_interleaved(path: &Path) -> Result<Interleaved, AudioError> {
    let file = std::fs::File::open(path).map_err(|source| AudioError::Open {
        path: path.to_owned(),
        source,
    })?;
    decode_interleaved(io::BufReader::new(file), path)
}

/// Checks a WAV file's header only: cheap, for refusing a bad recording before work starts.
pub fn check_wav(path: &Path) -> Result<(), AudioError> {
    let file = std::fs::File::open(path).map_err(|source| AudioError::Open {
        path: path.to_owned(),
        source,
    })?;
    open_wav(io::BufReader::new(file), path).map(drop)
}

/// Reads the header and refuses what viva cannot use.
fn open_wav<R: Read>(reader: R, path: &Path) -> Result<hound::WavReader<R>, AudioError> {
    let wav = hound::WavReader::new(reader).map_err(|e| AudioError::NotWav {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let spec = wav.spec();
    if spec.channels == 0 || !(4_000..=384_000).contains(&spec.sample_rate) {
        return Err(AudioError::Unsupported {
            path: path.to_owned(),
            detail: format!("{} Hz, {} channels", spec.sample_rate, spec.channels),
        });
    }
    Ok(wav)
}

fn decode_interleaved<R: Read>(reader: R, path: &Path) -> Result<Interleaved, AudioError> {
    let wav = open_wav(reader, path)?;
    let spec = wav.spec();
    let expected = wav.len() as usize;
    let samples = read_samples(wav, path, expected)?;
    if samples.len() < spec.channels as usize {
        return Err(AudioError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Interleaved {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        samples,
    })
}

/// Decodes WAV bytes from any reader; `path` is only used in messages.
pub fn decode_wav<R: Read>(reader: R, path: &Path) -> Result<Recording, AudioError> {
    let wav = decode_interleaved(reader, path)?;
    let channels = wav.channels as usize;
    let mono: Vec<f32> = wav
        .samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    let samples = resample(&mono, wav.sample_rate, path)?;
    Ok(Recording {
        samples,
        source: path.to_owned(),
        original_rate: wav.sample_rate,
        original_channels: wav.channels,
    })
}

/// Reads every sample as `f32` in [-1, 1], whatever the stored format.
fn read_samples<R: Read>(
    wav: hound::WavReader<R>,
    path: &Path,
    expected: usize,
) -> Result<Vec<f32>, AudioError> {
    let spec = wav.spec();
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            let samples = drain(wav.into_samples::<f32>(), |s| s, path, expected)?;
            // A NaN or infinity would poison the resampler's FFT (rubato panics on it); a
            // float beyond full scale is clipped, as any player would.
            if samples.iter().any(|s| !s.is_finite()) {
                return Err(AudioError::Unsupported {
                    path: path.to_owned(),
                    detail: "float samples that are not numbers (NaN or infinity)".into(),
                });
            }
            samples.into_iter().map(|s| s.clamp(-1.0, 1.0)).collect()
        }
        (hound::SampleFormat::Int, bits @ 8..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            drain(
                wav.into_samples::<i32>(),
                |s| s as f32 * scale,
                path,
                expected,
            )?
        }
        (format, bits) => {
            return Err(AudioError::Unsupported {
                path: path.to_owned(),
                detail: format!("{bits}-bit {format:?}"),
            })
        }
    };
    if samples.len() < expected {
        return Err(AudioError::Truncated {
            path: path.to_owned(),
            read: samples.len(),
            expected,
        });
    }
    Ok(samples)
}

/// Collects converted samples until the data ends, telling a cut-off file from a corrupt one.
fn drain<S>(
    samples: impl Iterator<Item = Result<S, hound::Error>>,
    convert: impl Fn(S) -> f32,
    path: &Path,
    expected: usize,
) -> Result<Vec<f32>, AudioError> {
    // The header's count is only a claim: a corrupt one must not reserve gigabytes.
    let mut out = Vec::with_capacity(expected.min(1 << 22));
    for sample in samples {
        match sample {
            Ok(s) => out.push(convert(s)),
            // hound reports data that ends mid-file as an I/O error ("Failed to read enough
            // bytes"), whatever its kind.
            Err(hound::Error::IoError(_)) => {
                return Err(AudioError::Truncated {
                    path: path.to_owned(),
                    read: out.len(),
                    expected,
                })
            }
            Err(other) => {
                return Err(AudioError::Unsupported {
                    path: path.to_owned(),
                    detail: other.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// Resamples mono audio to 16 kHz with rubato's FFT resampler (band-limited, not sample dropping).
pub fn resample(mono: &[f32], rate: u32, path: &Path) -> Result<Vec<f32>, AudioError> {
    resample_to(mono, rate, SAMPLE_RATE).map_err(|e| AudioError::Resample {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// Resamples mono audio from one rate to another, keeping its exact duration.
pub fn resample_to(mono: &[f32], from: u32, to: u32) -> anyhow::Result<Vec<f32>> {
    if from == to || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let mut resampler = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)?;
    let input = InterleavedSlice::new(mono, 1, mono.len())?;
    let output = resampler.process_all(&input, mono.len(), None)?;
    let expected = (mono.len() as f64 * to as f64 / from as f64).round() as usize;
    let mut samples = output.take_data();
    samples.truncate(expected);
    // A band-limited resampler overshoots full-scale input a little; later stages (the voice
    // detector among them) take [-1, 1] only.
    clamp_full_scale(&mut samples);
    Ok(samples)
}

/// Keeps samples within [-1, 1], the range every stage after `audio` relies on.
pub fn clamp_full_scale(samples: &mut [f32]) {
    for s in samples {
        *s = s.clamp(-1.0, 1.0);
    }
}

/// Writes 16 kHz mono `f32` samples as a 16-bit WAV file.
pub fn write_wav(path: &Path, samples: &[f32]) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &s in samples {
        writer.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16)?;
    }
    writer.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav_bytes(spec: hound::WavSpec, frames: usize, value: impl Fn(usize) -> f64) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..frames {
            for _ in 0..spec.channels {
                let v = value(i);
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => writer.write_sample(v as f32).unwrap(),
                    (_, 16) => writer.write_sample((v * 32767.0) as i16).unwrap(),
                    (_, bits) => writer
                        .write_sample((v * ((1i64 << (bits - 1)) - 1) as f64) as i32)
                        .unwrap(),
                }
            }
        }
        writer.finalize().unwrap();
        cursor.into_inner()
    }

    fn spec(rate: u32, channels: u16, bits: u16, float: bool) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    /// A 440 Hz tone at 0.5 amplitude.
    fn tone(rate: u32) -> impl Fn(usize) -> f64 {
        move |i| 0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin()
    }

    fn rms(samples: &[f32]) -> f64 {
        (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    #[test]
    fn every_common_format_becomes_16k_mono_of_the_same_length() {
        for (rate, channels, bits, float) in [
            (8_000, 1, 16, false),
            (22_050, 2, 16, false),
            (44_100, 2, 24, false),
            (48_000, 1, 32, false),
            (48_000, 2, 32, true),
            (16_000, 1, 16, false),
        ] {
            let bytes = wav_bytes(
                spec(rate, channels, bits, float),
                rate as usize * 2,
                tone(rate),
            );
            let rec = decode_wav(Cursor::new(bytes), Path::new("t.wav")).unwrap();
            assert_eq!(
                rec.samples.len(),
                32_000,
                "{rate} Hz {channels} ch {bits} bit"
            );
            // A resampled 0.5-amplitude sine keeps its energy (RMS 0.354), away from the edges.
            let middle = &rec.samples[4_000..28_000];
            assert!(
                (rms(middle) - 0.3536).abs() < 0.01,
                "{rate} Hz: rms {}",
                rms(middle)
            );
        }
    }

    #[test]
    fn resampling_does_not_alias_a_tone_above_the_new_nyquist() {
        // 12 kHz is above 8 kHz, the Nyquist frequency of 16 kHz audio: a resampler filters it
        // out; dropping samples would fold it back as a loud 4 kHz tone.
        let rate = 48_000;
        let high =
            |i: usize| 0.5 * (2.0 * std::f64::consts::PI * 12_000.0 * i as f64 / 48_000.0).sin();
        let bytes = wav_bytes(spec(rate, 1, 16, false), rate as usize, high);
        let rec = decode_wav(Cursor::new(bytes), Path::new("t.wav")).unwrap();
        assert!(rms(&rec.samples[2_000..14_000]) < 0.01);
    }

    #[test]
    fn a_text_file_is_not_a_wav() {
        let err = decode_wav(
            Cursor::new(b"hello, I am text".to_vec()),
            Path::new("a.wav"),
        )
        .unwrap_err();
        assert!(matches!(err, AudioError::NotWav { .. }), "{err}");
        assert!(err.to_string().starts_with("a.wav: not a WAV file"));
    }

    #[test]
    fn a_truncated_wav_says_so() {
        let mut bytes = wav_bytes(spec(16_000, 1, 16, false), 16_000, tone(16_000));
        bytes.truncate(bytes.len() / 2);
        let err = decode_wav(Cursor::new(bytes), Path::new("cut.wav")).unwrap_err();
        assert!(matches!(err, AudioError::Truncated { .. }), "{err}");
        assert!(err.to_string().contains("cut.wav"));
    }

    #[test]
    fn an_empty_wav_says_so() {
        let bytes = wav_bytes(spec(16_000, 1, 16, false), 0, tone(16_000));
        let err = decode_wav(Cursor::new(bytes), Path::new("empty.wav")).unwrap_err();
        assert!(matches!(err, AudioError::Empty { .. }), "{err}");
    }
}
