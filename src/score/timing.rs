//! Pace, length and pauses: the scores that come from when words and silences happen.

use serde::{Deserialize, Serialize};

use crate::transcribe::Word;
use crate::vad::SpeechRegion;

/// A silence inside the answer long enough to notice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    /// When the silence starts, seconds from the start of the recording.
    pub at_seconds: f64,
    pub seconds: f64,
}

/// Words per minute over one window of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PaceWindow {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub wpm: f64,
}

/// From the first speech to the last, in seconds: the answer's own length, without the
/// silence before the candidate starts and after they stop.
pub fn speaking_span(regions: &[SpeechRegion]) -> Option<(f64, f64)> {
    Some((regions.first()?.start, regions.last()?.end))
}

/// Silent gaps of at least `threshold` seconds between speech regions.
pub fn pauses(regions: &[SpeechRegion], threshold: f64) -> Vec<Pause> {
    regions
        .windows(2)
        .filter_map(|pair| {
            let gap = pair[1].start - pair[0].end;
            (gap >= threshold).then_some(Pause {
                at_seconds: pair[0].end,
                seconds: gap,
            })
        })
        .collect()
}

/// Words per minute over consecutive windows of `window` seconds across the speaking span.
/// A trailing window shorter than half a window is folded into the one before it, so one
/// word in a two-second tail does not read as a burst or a stall.
pub fn pace_curve(words: &[Word], span: (f64, f64), window: f64) -> Vec<PaceWindow> {
    let (start, end) = span;
    if end <= start || window <= 0.0 {
        return Vec::new();
    }
    let mut edges = vec![start];
    let mut edge = start + window;
    while edge < end {
        edges.push(edge);
        edge += window;
    }
    edges.push(end);
    if edges.len() > 2 && end - edges[edges.len() - 2] < window / 2.0 {
        edges.remove(edges.len() - 2);
    }
    edges
        .windows(2)
        .map(|w| {
            let (from, to) = (w[0], w[1]);
            let last = to >= end;
            let count = words
                .iter()
                .filter(|word| {
                    word.start >= from && (word.start < to || (last && word.start <= to))
                })
                .count();
            PaceWindow {
                start_seconds: from,
                end_seconds: to,
                wpm: count as f64 * 60.0 / (to - from),
            }
        })
        .collect()
}

/// 100 inside `[min, max]`, falling linearly to 0 at `falloff` times the range's nearer end
/// outside it (below `min * (1 - falloff)` or above `max * (1 + falloff)`).
pub fn range_score(value: f64, [min, max]: [f64; 2], falloff: f64) -> f64 {
    let score = if value < min {
        100.0 * (1.0 - (min - value) / (min * falloff))
    } else if value > max {
        100.0 * (1.0 - (value - max) / (max * falloff))
    } else {
        100.0
    };
    score.clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start: f64, end: f64) -> SpeechRegion {
        SpeechRegion { start, end }
    }

    fn words_every(step: f64, until: f64) -> Vec<Word> {
        let mut words = Vec::new();
        let mut t = 0.0;
        while t < until {
            words.push(Word {
                text: "word".into(),
                start: t,
                end: t + step * 0.8,
                by_sound: false,
            });
            t += step;
        }
        words
    }

    #[test]
    fn pauses_are_gaps_at_or_over_the_threshold() {
        let regions = [region(0.5, 4.0), region(5.0, 9.0), region(11.5, 14.0)];
        assert_eq!(
            pauses(&regions, 2.0),
            [Pause {
                at_seconds: 9.0,
                seconds: 2.5
            }]
        );
        assert_eq!(pauses(&regions, 0.9).len(), 2);
    }

    #[test]
    fn speaking_span_runs_from_first_speech_to_last() {
        assert_eq!(
            speaking_span(&[region(1.0, 2.0), region(3.0, 7.5)]),
            Some((1.0, 7.5))
        );
        assert_eq!(speaking_span(&[]), None);
    }

    #[test]
    fn pace_curve_counts_words_per_window() {
        // Two words a second for 30 seconds, then one a second for 15.
        let mut words = words_every(0.5, 30.0);
        words.extend(words_every(1.0, 15.0).into_iter().map(|mut w| {
            w.start += 30.0;
            w
        }));
        let curve = pace_curve(&words, (0.0, 45.0), 15.0);
        let wpm: Vec<f64> = curve.iter().map(|w| w.wpm.round()).collect();
        assert_eq!(wpm, [120.0, 120.0, 60.0]);
    }

    #[test]
    fn a_short_tail_window_folds_into_the_one_before() {
        let words = words_every(0.5, 32.0);
        let curve = pace_curve(&words, (0.0, 32.0), 15.0);
        assert_eq!(curve.len(), 2);
        assert_eq!(curve[1].end_seconds, 32.0);
        assert!((curve[1].wpm - 120.0).abs() < 5.0);
    }

    #[test]
    fn range_score_is_full_inside_and_falls_off_outside() {
        assert_eq!(range_score(140.0, [120.0, 165.0], 0.5), 100.0);
        assert_eq!(range_score(60.0, [120.0, 165.0], 0.5), 0.0);
        assert!((range_score(90.0, [120.0, 165.0], 0.5) - 50.0).abs() < 1e-9);
        assert!((range_score(206.25, [120.0, 165.0], 0.5) - 50.0).abs() < 1e-9);
    }
}
