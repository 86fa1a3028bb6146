//! Prosody: how the voice sounds over an answer (its pitch and its loudness, frame by frame,
//! and where it clipped), measured once from the recording so that `score` can judge delivery
//! from data without touching audio.
//!
//! Pitch comes from the McLeod pitch method (`pitch-estimate`) on the speech regions only,
//! at a quarter of the rate (4 kHz): a voice's fundamental is below 400 Hz, and a quarter of the
//! samples keeps a 3-minute answer's features inside 50 ms. Level is the RMS of each frame in
//! dBFS over the whole recording.

use pitch_estimate::{McLeodDetector, PitchDetector};
use serde::{Deserialize, Serialize};

use crate::audio::SAMPLE_RATE;
use crate::vad::SpeechRegion;

/// One analysis frame: 20 ms, fine enough to follow a syllable.
pub const FRAME_SECONDS: f64 = 0.02;
const FRAME: usize = (SAMPLE_RATE as f64 * FRAME_SECONDS) as usize;
/// The level reported for digital silence.
pub const SILENCE_DBFS: f32 = -100.0;

/// The rate pitch is measured at, and the window it looks through: 40 ms holds two periods
/// of the lowest voice tracked. At 4 kHz the spreads measured on the calibration voices are
/// those at 8 kHz within 0.05 semitones.
const PITCH_RATE: u32 = SAMPLE_RATE / 4;
const PITCH_WINDOW: usize = (PITCH_RATE as f64 * 0.04) as usize;
/// Voices are tracked from 60 to 400 Hz; the lag range reaches past the lowest period so its
/// peak can close.
const PITCH_MIN_HZ: f32 = 50.0;
const PITCH_MAX_HZ: f32 = 400.0;
const PITCH_MAX_LAG: usize = (PITCH_RATE as f32 / 45.0) as usize;
/// A frame's pitch counts when the NSDF peak is this clear: lower lets breath and fricatives
/// through as pitch.
const PITCH_CLARITY: f32 = 0.7;
/// Frames quieter than this are not searched for pitch.
const PITCH_FLOOR_DBFS: f32 = -65.0;

/// A sample at or above this magnitude is at full scale.
const FULL_SCALE: f32 = 0.99;
/// This many full-scale samples in a row are a clip, not a peak that touched the rail.
const CLIP_RUN: usize = 3;

/// What the voice did over an answer, frame by frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prosody {
    /// Frame length in seconds; frame `i` starts at `i * frame_seconds`.
    pub frame_seconds: f64,
    /// Fundamental frequency of each frame in Hz; 0 where no voiced pitch was found (silence,
    /// consonants, or outside the speech regions).
    pub pitch_hz: Vec<f32>,
    /// RMS level of each frame in dBFS ([`SILENCE_DBFS`] for digital silence).
    pub level_dbfs: Vec<f32>,
    /// Where the signal clipped: the start of each run of full-scale samples, in seconds.
    pub clips: Vec<f64>,
    /// How many samples were part of a clipped run.
    pub clipped_samples: usize,
}

/// Measures pitch over the speech regions and level and clipping over the whole recording
/// (16 kHz mono).
pub fn measure(samples: &[f32], speech: &[SpeechRegion]) -> Prosody {
    let level_dbfs = frame_levels(samples);
    let pitch_hz = pitch_track(samples, speech, &level_dbfs);
    let (clips, clipped_samples) = find_clips(samples);
    Prosody {
        frame_seconds: FRAME_SECONDS,
        pitch_hz,
        level_dbfs,
        clips,
        clipped_samples,
    }
}

/// RMS level of each 20 ms frame in dBFS.
pub fn frame_levels(samples: &[f32]) -> Vec<f32> {
    samples.chunks(FRAME).map(dbfs).collect()
}

/// RMS level of a block of samples in dBFS.
pub fn dbfs(block: &[f32]) -> f32 {
    if block.is_empty() {
        return SILENCE_DBFS;
    }
    let energy = block.iter().map(|x| x * x).sum::<f32>() / block.len() as f32;
    if energy <= 0.0 {
        SILENCE_DBFS
    } else {
        (10.0 * energy.log10()).max(SILENCE_DBFS)
    }
}

/// An RMS amplitude (0 to 1) in dBFS, as the live level meter reports it.
pub fn amplitude_dbfs(rms: f32) -> f32 {
    if rms > 0.0 {
        (20.0 * rms.log10()).max(SILENCE_DBFS)
    } else {
        SILENCE_DBFS
    }
}

/// The pitch of each frame inside a speech region, 0 elsewhere.
fn pitch_track(samples: &[f32], speech: &[SpeechRegion], levels: &[f32]) -> Vec<f32> {
    let mut track = vec![0.0; levels.len()];
    let Ok(detector) = McLeodDetector::<f32>::new(PITCH_WINDOW, PITCH_MAX_LAG) else {
        return track;
    };
    let mut detector = detector
        .with_clarity_threshold(PITCH_CLARITY)
        .with_power_threshold(0.0);
    let low_rate = halve_rate(&halve_rate(samples));
    let half_window = PITCH_WINDOW / 2;
    for region in speech {
        let first = (region.start / FRAME_SECONDS).floor().max(0.0) as usize;
        let last = ((region.end / FRAME_SECONDS).ceil() as usize).min(levels.len());
        for frame in first..last {
            if levels[frame] < PITCH_FLOOR_DBFS {
                continue;
            }
            // The window is centred on the frame's centre.
            let centre = (frame * FRAME + FRAME / 2) / 4;
            let Some(from) = centre.checked_sub(half_window) else {
                continue;
            };
            let Some(window) = low_rate.get(from..from + PITCH_WINDOW) else {
                continue;
            };
            if let Some(pitch) = detector.detect(window, PITCH_RATE) {
                if (PITCH_MIN_HZ..=PITCH_MAX_HZ).contains(&pitch.frequency) {
                    track[frame] = pitch.frequency;
                }
            }
        }
    }
    track
}

/// The signal at half the rate, through a [1 3 3 1] low-pass so the top of the band does not
/// fold down onto the pitch range (applied twice, 16 kHz to 4 kHz).
fn halve_rate(samples: &[f32]) -> Vec<f32> {
    let at = |i: isize| {
        if i < 0 {
            0.0
        } else {
            samples.get(i as usize).copied().unwrap_or(0.0)
        }
    };
    (0..samples.len() / 2)
        .map(|k| {
            let i = 2 * k as isize;
            (at(i - 1) + 3.0 * at(i) + 3.0 * at(i + 1) + at(i + 2)) / 8.0
        })
        .collect()
}

/// Runs of full-scale samples: where each starts (seconds), and how many samples they hold.
fn find_clips(samples: &[f32]) -> (Vec<f64>, usize) {
    let mut starts = Vec::new();
    let mut clipped = 0;
    let mut run = 0;
    for (i, x) in samples.iter().enumerate() {
        if x.abs() >= FULL_SCALE {
            run += 1;
            if run == CLIP_RUN {
                starts.push((i + 1 - CLIP_RUN) as f64 / SAMPLE_RATE as f64);
                clipped += CLIP_RUN;
            } else if run > CLIP_RUN {
                clipped += 1;
            }
        } else {
            run = 0;
        }
    }
    (starts, clipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f64, amplitude: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f64) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                // A fundamental with two harmonics, like a voiced vowel.
                amplitude
                    * (0.6 * (std::f32::consts::TAU * hz * t).sin()
                        + 0.3 * (std::f32::consts::TAU * 2.0 * hz * t).sin()
                        + 0.1 * (std::f32::consts::TAU * 3.0 * hz * t).sin())
            })
            .collect()
    }

    fn everywhere(samples: &[f32]) -> Vec<SpeechRegion> {
        vec![SpeechRegion {
            start: 0.0,
            end: samples.len() as f64 / SAMPLE_RATE as f64,
        }]
    }

    #[test]
    fn a_steady_vowel_has_its_pitch_in_every_inner_frame() {
        for hz in [90.0, 140.0, 220.0, 330.0] {
            let samples = tone(hz, 1.0, 0.3);
            let p = measure(&samples, &everywhere(&samples));
            let inner = &p.pitch_hz[3..p.pitch_hz.len() - 3];
            assert!(
                inner.iter().all(|f| (f - hz).abs() < hz * 0.02),
                "{hz} Hz: {inner:?}"
            );
        }
    }

    #[test]
    fn pitch_is_only_searched_inside_speech() {
        let samples = tone(150.0, 1.0, 0.3);
        let p = measure(
            &samples,
            &[SpeechRegion {
                start: 0.5,
                end: 1.0,
            }],
        );
        assert!(p.pitch_hz[..24].iter().all(|&f| f == 0.0));
        assert!(p.pitch_hz[28..47].iter().all(|&f| f > 0.0));
    }

    #[test]
    fn level_is_rms_in_dbfs() {
        // A full-scale sine's RMS is 1/sqrt(2): -3 dBFS.
        let sine: Vec<f32> = (0..FRAME * 4)
            .map(|i| (std::f32::consts::TAU * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin())
            .collect();
        let levels = frame_levels(&sine);
        assert_eq!(levels.len(), 4);
        assert!(levels.iter().all(|l| (l + 3.01).abs() < 0.05), "{levels:?}");
        assert_eq!(dbfs(&[0.0; 320]), SILENCE_DBFS);
        let tenth: Vec<f32> = sine.iter().map(|x| x * 0.1).collect();
        assert!((frame_levels(&tenth)[0] + 23.01).abs() < 0.05);
    }

    #[test]
    fn runs_at_full_scale_are_clips_and_single_peaks_are_not() {
        let mut samples = vec![0.1; 16_000];
        samples[100] = 1.0; // one sample at the rail: a peak
        for x in &mut samples[8_000..8_010] {
            *x = -1.0;
        }
        let p = measure(&samples, &[]);
        assert_eq!(p.clips, vec![0.5]);
        assert_eq!(p.clipped_samples, 10);
    }
}
