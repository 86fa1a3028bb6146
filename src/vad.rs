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
}

impl Default for VadSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            hangover_seconds: 0.35,
            min_voiced_seconds: 0.08,
            pad_seconds: 0.1,
        }
    }
}

/// Detects speech regions in 16 kHz mono audio.
pub fn detect(samples: &[f32], settings: &VadSettings) -> Vec<SpeechRegion> {
    let voiced = frame_verdicts(samples, settings.threshold);
    let duration = samples.len() as f64 / SAMPLE_RATE as f64;
    regions_from_frames(&voiced, settings, duration)
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
/// window is 30 s).
pub fn transcription_chunks(
    regions: &[SpeechRegion],
    join_gap: f64,
    max_seconds: f64,
) -> Vec<SpeechRegion> {
    let mut chunks: Vec<SpeechRegion> = Vec::new();
    for region in regions {
        let mut start = region.start;
        while region.end - start > max_seconds {
            chunks.push(SpeechRegion {
                start,
                end: start + max_seconds,
            });
            start += max_seconds;
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
        let chunks = transcription_chunks(&[r(0.0, 5.0), r(5.5, 9.0), r(20.0, 85.0)], 1.0, 28.0);
        assert_eq!(chunks[0], r(0.0, 9.0));
        assert_eq!(chunks[1], r(20.0, 48.0));
        assert_eq!(chunks.last().unwrap().end, 85.0);
        assert!(chunks.iter().all(|c| c.seconds() <= 28.0));
    }
}
