//! Voice-activity detection: where in a recording someone is speaking.
//!
//! Earshot's neural detector scores each 16 ms frame; this module smooths those scores into
//! [`SpeechRegion`]s (a short dip inside a word is not a pause, a click is not speech) and
//! groups regions into the chunks Whisper transcribes.

use serde::{Deserialize, Serialize};

use crate::audio::SAMPLE_RATE;

/// Samples per detector frame (16 ms at 16 kHz), fixed by earshot.
const FRAME: usize = 256;
const FRAME_SECONDS: f64 = FRAME as f64 / SAMPLE_RATE as f64;

/// One stretch of speech, in seconds from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeechRegion {
    pub start: f64,
    pub end: f64,
}

impl SpeechRegion {
    pub fn seconds(&self) -> f64 {
        self.end - self.start
    }
}

/// How frame scores become regions.
#[derive(Debug, Clone, Copy)]
pub struct VadSettings {
    /// A frame whose voice probability reaches this is voiced.
    pub threshold: f32,
    /// Silence shorter than this inside speech does not end a region.
    pub hangover_seconds: f64,
    /// Regions with less voiced time than this are noise (a click, a cough).
    pub min_voiced_seconds: f64,
    /// Padding added to each side of a region, so word edges are not clipped.
    pub pad_seconds: f64,
    /// A region whose speech-band level varies less than this (standard deviation, dB) is
    /// steady noise. Measured: synthetic brown and pink noise 1.0 to 1.6 dB; espeak-ng,
    /// flite and jfk.wav speech 10 to 13 dB, and 4 dB under brown noise at -15 dBFS.
    pub min_level_spread_db: f64,
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            hangover_seconds: 0.35,
            min_voiced_seconds: 0.08,
            pad_seconds: 0.1,
            min_level_spread_db: 3.0,
        }
    }
}

/// Detects speech regions in 16 kHz mono audio. Regions whose loudness in the speech band
/// hardly moves are steady noise (a fan, a hum, rumble), not a voice, and are dropped: Whisper
/// would otherwise be handed them and write words.
pub fn detect(samples: &[f32], settings: &VadSettings) -> Vec<SpeechRegion> {
    let voiced = frame_verdicts(samples, settings.threshold);
    let duration = samples.len() as f64 / SAMPLE_RATE as f64;
    let band = speech_band_levels(samples);
    regions_from_frames(&voiced, settings, duration)
        .into_iter()
        .filter(|r| level_spread_db(&band, *r) >= settings.min_level_spread_db)
        .collect()
}

/// Each frame's level in the speech band (300 to 3400 Hz), in dB. Speech rises and falls with
/// every syllable; fans and rumble stay level.
pub fn speech_band_levels(samples: &[f32]) -> Vec<f32> {
    let mut high_pass = Biquad::butterworth_high_pass(300.0);
    let mut low_pass = Biquad::butterworth_low_pass(3400.0);
    samples
        .chunks(FRAME)
        .map(|frame| {
            let energy: f32 = frame
                .iter()
                .map(|&x| {
                    let y = low_pass.run(high_pass.run(x));
                    y * y
                })
                .sum::<f32>()
                / frame.len() as f32;
            10.0 * (energy + 1e-10).log10()
        })
        .collect()
}

/// Whether a stretch of audio is steady noise rather than a voice: its speech-band level barely
/// moves. What keeps live segments, which skip [`detect`], from handing noise to Whisper.
pub fn is_steady_noise(samples: &[f32], settings: &VadSettings) -> bool {
    let levels = speech_band_levels(samples);
    let whole = SpeechRegion {
        start: 0.0,
        end: levels.len() as f64 * FRAME_SECONDS,
    };
    level_spread_db(&levels, whole) < settings.min_level_spread_db
}

/// The standard deviation, in dB, of the speech-band level over a region's frames.
fn level_spread_db(levels: &[f32], region: SpeechRegion) -> f64 {
    let first = (region.start / FRAME_SECONDS) as usize;
    let last = ((region.end / FRAME_SECONDS) as usize).min(levels.len());
    let frames = &levels[first.min(last)..last];
    if frames.len() < 2 {
        return 0.0;
    }
    let n = frames.len() as f64;
    let mean = frames.iter().map(|&l| f64::from(l)).sum::<f64>() / n;
    let var = frames
        .iter()
        .map(|&l| (f64::from(l) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt()
}

/// A second-order filter section (RBJ cookbook form), enough to isolate the speech band.
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl Biquad {
    fn butterworth_high_pass(cutoff: f32) -> Self {
        let (cos, alpha) = Self::warp(cutoff);
        let b0 = (1.0 + cos) / 2.0;
        Self::normalised(
            [b0, -(1.0 + cos), b0],
            [1.0 + alpha, -2.0 * cos, 1.0 - alpha],
        )
    }

    fn butterworth_low_pass(cutoff: f32) -> Self {
        let (cos, alpha) = Self::warp(cutoff);
        let b0 = (1.0 - cos) / 2.0;
        Self::normalised([b0, 1.0 - cos, b0], [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    fn warp(cutoff: f32) -> (f32, f32) {
        let w0 = 2.0 * std::f32::consts::PI * cutoff / SAMPLE_RATE as f32;
        (w0.cos(), w0.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2))
    }

    fn normalised(b: [f32; 3], a: [f32; 3]) -> Self {
        Self {
            b: [b[0] / a[0], b[1] / a[0], b[2] / a[0]],
            a: [a[1] / a[0], a[2] / a[0]],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// Whether each 16 ms frame is voiced, the last one padded with silence.
pub fn frame_verdicts(samples: &[f32], threshold: f32) -> Vec<bool> {
    let mut detector = earshot::Detector::default();
    samples
        .chunks(FRAME)
        .map(|chunk| {
            if chunk.len() == FRAME {
                detector.predict_f32(chunk) >= threshold
            } else {
                let mut padded = [0.0f32; FRAME];
                padded[..chunk.len()].copy_from_slice(chunk);
                detector.predict_f32(&padded) >= threshold
            }
        })
        .collect()
}

/// Turns per-frame decisions into padded regions, merging across short silences.
fn regions_from_frames(
    voiced: &[bool],
    settings: &VadSettings,
    duration: f64,
) -> Vec<SpeechRegion> {
    let hangover = (settings.hangover_seconds / FRAME_SECONDS).ceil() as usize;
    let mut raw: Vec<(usize, usize, usize)> = Vec::new(); // first frame, end frame, voiced frames
    let mut current: Option<(usize, usize, usize)> = None;
    for (i, &is_voiced) in voiced.iter().enumerate() {
        match (&mut current, is_voiced) {
            (None, true) => current = Some((i, i + 1, 1)),
            (Some((_, end, count)), true) => {
                *end = i + 1;
                *count += 1;
            }
            (Some((_, end, _)), false) if i - *end >= hangover => {
                raw.extend(current.take());
            }
            _ => {}
        }
    }
    raw.extend(current);
    let min_voiced = (settings.min_voiced_seconds / FRAME_SECONDS).ceil() as usize;
    let mut regions: Vec<SpeechRegion> = Vec::new();
    for (first, end, _) in raw.into_iter().filter(|r| r.2 >= min_voiced) {
        let start = (first as f64 * FRAME_SECONDS - settings.pad_seconds).max(0.0);
        let end = (end as f64 * FRAME_SECONDS + settings.pad_seconds).min(duration);
        match regions.last_mut() {
            Some(last) if start <= last.end => last.end = end,
            _ => regions.push(SpeechRegion { start, end }),
        }
    }
    regions
}

/// Groups regions into chunks for transcription: regions closer than `join_gap` seconds share a
/// chunk (Whisper does better with context), and no chunk is longer than `max_seconds` (Whisper's
/// window is 30 s). A region longer than that is cut at its quietest moment in the second half
/// of the window, between words, never at a fixed time that may fall inside one.
pub fn transcription_chunks(
    regions: &[SpeechRegion],
    levels: &[f32],
    join_gap: f64,
    max_seconds: f64,
) -> Vec<SpeechRegion> {
    let mut chunks: Vec<SpeechRegion> = Vec::new();
    for region in regions {
        let mut start = region.start;
        while region.end - start > max_seconds {
            let cut = quietest_moment(levels, start + max_seconds / 2.0, start + max_seconds);
            chunks.push(SpeechRegion { start, end: cut });
            start = cut;
        }
        let piece = SpeechRegion {
            start,
            end: region.end,
        };
        match chunks.last_mut() {
            Some(last)
                if piece.start - last.end < join_gap && piece.end - last.start <= max_seconds =>
            {
                last.end = piece.end;
            }
            _ => chunks.push(piece),
        }
    }
    chunks
}

/// Frames averaged when looking for a gap between words: 80 ms.
const QUIET_WINDOW_FRAMES: usize = 5;

/// The middle of the quietest 80 ms between `from` and `to` seconds (`to` when the levels do not
/// reach that far).
pub fn quietest_moment(levels: &[f32], from: f64, to: f64) -> f64 {
    let first = (from / FRAME_SECONDS) as usize;
    let last = ((to / FRAME_SECONDS) as usize).min(levels.len());
    if last < first + QUIET_WINDOW_FRAMES {
        return to;
    }
    let quietest = (first..=last - QUIET_WINDOW_FRAMES)
        .min_by(|&a, &b| {
            let sum = |i: usize| levels[i..i + QUIET_WINDOW_FRAMES].iter().sum::<f32>();
            sum(a).total_cmp(&sum(b))
        })
        .unwrap_or(first);
    (quietest as f64 + QUIET_WINDOW_FRAMES as f64 / 2.0) * FRAME_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(pattern: &[(bool, usize)]) -> Vec<bool> {
        pattern
            .iter()
            .flat_map(|&(v, n)| std::iter::repeat_n(v, n))
            .collect()
    }

    #[test]
    fn a_short_dip_inside_speech_does_not_split_a_region() {
        let settings = VadSettings::default();
        let voiced = frames(&[
            (false, 10),
            (true, 50),
            (false, 5),
            (true, 50),
            (false, 100),
        ]);
        let regions = regions_from_frames(&voiced, &settings, 10.0);
        assert_eq!(regions.len(), 1);
    }

    #[test]
    fn a_long_silence_splits_regions_and_keeps_its_length() {
        let settings = VadSettings {
            pad_seconds: 0.0,
            ..VadSettings::default()
        };
        // 125 silent frames are two seconds.
        let voiced = frames(&[(true, 60), (false, 125), (true, 60)]);
        let regions = regions_from_frames(&voiced, &settings, 10.0);
        assert_eq!(regions.len(), 2);
        let gap = regions[1].start - regions[0].end;
        assert!((gap - 2.0).abs() < 0.01, "gap {gap}");
    }

    #[test]
    fn a_click_is_not_speech() {
        let voiced = frames(&[(false, 50), (true, 2), (false, 50)]);
        assert!(regions_from_frames(&voiced, &VadSettings::default(), 5.0).is_empty());
    }

    #[test]
    fn silence_has_no_speech() {
        let silence = vec![0.0f32; SAMPLE_RATE as usize * 2];
        assert!(detect(&silence, &VadSettings::default()).is_empty());
    }

    #[test]
    fn chunks_join_close_regions_and_split_long_ones() {
        let r = |start, end| SpeechRegion { start, end };
        let level = vec![-20.0f32; (90.0 / FRAME_SECONDS) as usize];
        let chunks = transcription_chunks(
            &[r(0.0, 5.0), r(5.5, 9.0), r(20.0, 85.0)],
            &level,
            1.0,
            28.0,
        );
        assert_eq!(chunks[0], r(0.0, 9.0));
        assert_eq!(chunks[1].start, 20.0);
        assert_eq!(chunks.last().unwrap().end, 85.0);
        assert!(chunks.iter().all(|c| c.seconds() <= 28.0));
        assert!(chunks.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn a_long_region_is_cut_at_its_quietest_moment() {
        let r = |start, end| SpeechRegion { start, end };
        let mut level = vec![-20.0f32; (60.0 / FRAME_SECONDS) as usize];
        // A gap between words 21 s in.
        let gap = (21.0 / FRAME_SECONDS) as usize;
        level[gap..gap + 6].fill(-60.0);
        let chunks = transcription_chunks(&[r(0.0, 40.0)], &level, 1.0, 28.0);
        assert!((chunks[0].end - 21.05).abs() < 0.05, "{chunks:?}");
        assert_eq!(chunks[1].start, chunks[0].end);
    }

    #[test]
    fn steady_noise_is_not_speech_but_a_varying_level_is() {
        let second = SAMPLE_RATE as usize;
        let mut rng = fastrand::Rng::with_seed(7);
        // Low-passed white noise: a steady rumble.
        let mut last = 0.0f32;
        let rumble: Vec<f32> = (0..4 * second)
            .map(|_| {
                last = 0.98 * last + 0.02 * (rng.f32() - 0.5);
                last * 20.0
            })
            .collect();
        let band = speech_band_levels(&rumble);
        let whole = SpeechRegion {
            start: 0.0,
            end: 4.0,
        };
        assert!(level_spread_db(&band, whole) < 3.0);
        // The same rumble switched on and off four times a second, as syllables are.
        let pulsed: Vec<f32> = rumble
            .iter()
            .enumerate()
            .map(|(i, x)| {
                if (i / (second / 8)).is_multiple_of(2) {
                    x * 30.0
                } else {
                    *x
                }
            })
            .collect();
        assert!(level_spread_db(&speech_band_levels(&pulsed), whole) > 3.0);
    }
}
