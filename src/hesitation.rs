//! Filled pauses heard from the sound: the "uhhh" and "ummm" Whisper tidies away.
//!
//! Whisper was trained on transcripts that leave hesitations out, so it drops many of them
//! whatever it is prompted with. A filled pause can be heard in the signal instead: a voiced
//! stretch of 0.3 to 1.5 s whose pitch holds still and whose spectrum holds still (one vowel,
//! perhaps closing on a hum), with no hesitation written near it. Ordinary speech changes sound
//! every 50 to 100 ms, so a stretch that stays put for a third of a second is a hesitation.
//! How still is still depends on the voice: some voices' speech changes spectrum barely more
//! than another's "er" does. So a stretch also passes when it is one syllable (its loudness
//! never dips between two peaks) and changes far less than this speaker's own stretches do.
//! Each one found enters the transcript as a filler marked as heard by sound. Whether Whisper
//! wrote that hesitation is read from its word times, which must be the aligned ones
//! (`transcribe`): timestamp-token times drift by seconds, and with them two "uh" in three the
//! detector found on the tune half were ones Whisper had written elsewhere, counted twice. Its
//! word ends still cannot say whether a word lies over the stretch: a word runs on over the
//! filler it dropped.
//!
//! The stage reads the pitch track `prosody` measures and a coarse spectrum of its own, and the
//! words `transcribe` produced; it decides nothing about scoring.

use realfft::RealFftPlanner;

use crate::audio::SAMPLE_RATE;
use crate::prosody::{Prosody, FRAME_SECONDS};
use crate::score::lexicon;
use crate::transcribe::Word;

/// Shortest and longest filled pause: shorter is a long vowel, longer is a held note or a hum.
/// A filled pause lasts from 150 ms, but below 300 ms the held vowels of ordinary words pass
/// for one (on the tune half of the filler set: 5 stretches of speech taken for a filler at
/// 0.25 s and a flux of 2 dB, none at 0.3 s and 1.8 dB).
const MIN_SECONDS: f64 = 0.3;
const MAX_SECONDS: f64 = 1.5;
/// The pitch may move this much (semitones) from one frame to the next, and this much over the
/// whole stretch: a hesitation drifts, a word's intonation jumps.
const PITCH_STEP_SEMITONES: f32 = 0.8;
const PITCH_RANGE_SEMITONES: f32 = 7.0;
/// A frame with no pitch inside a stretch is forgiven once in a row (a detector dropout).
const DROPOUT_FRAMES: usize = 1;
/// The median change of the spectrum from frame to frame (dB, RMS over bands) above which the
/// stretch is moving through speech sounds, not holding one. Set on the tune half: at 1.8 dB
/// live recall of um/uh/er/hmm went from 71% (Whisper alone) to 81% with no filler invented.
const MAX_MEDIAN_FLUX_DB: f32 = 1.8;
/// A stretch that is one syllable (no dip in loudness deeper than `MAX_DIP_DB` between two
/// louder frames) and lasts `MIN_RELATIVE_SECONDS` passes with a median flux up to
/// `RELATIVE_FLUX` of the median over the recording's steady stretches (mostly speech, so the
/// speaker's own rate of change), and never above `MAX_RELATIVE_FLUX_DB`. Set on the tune half:
/// flite slt's and festival's "er" change at 1.9-2.7 dB a frame, their speech at a median of
/// 3.5-4.3 dB (espeak-ng's 5-6 dB). With the rule, um/uh/er/hmm heard whole-file went from 409 to
/// 424 of 460 (slt 80.9% to 89.6%, festival 86.1% to 90.4%), live from 406 to 421, with no more
/// fillers invented (6 whole, 3 live); at 0.3 s, three more short stretches of speech passed.
const RELATIVE_FLUX: f32 = 0.7;
const MAX_RELATIVE_FLUX_DB: f32 = 2.5;
const MAX_DIP_DB: f32 = 1.2;
const MIN_RELATIVE_SECONDS: f64 = 0.36;
/// A hesitation Whisper wrote this close (seconds) is the same one: not counted again. Aligned
/// word times put nine in ten of Whisper's hesitations within 0.65-0.82 s of the sound (tune
/// half, per voice); at 0.8 s, 6 fillers were invented in the 48 filler-heavy answers of the
/// tune half, whole-file, against 14 at 0.4 s, none lost.
const SAME_HESITATION_SECONDS: f64 = 0.8;

/// Spectrum bands: log-spaced from 100 Hz to 5 kHz, over a 512-sample window.
const BANDS: usize = 18;
const FFT_SIZE: usize = 512;
const BAND_LOW_HZ: f32 = 100.0;
const BAND_HIGH_HZ: f32 = 5000.0;

/// A filled pause, in seconds from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilledPause {
    pub start: f64,
    pub end: f64,
}

/// A steady voiced stretch and what was measured on it: what the detector accepts or not, and
/// what its bench prints to tune it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Stretch {
    pub start: f64,
    pub end: f64,
    pub pitch_range_semitones: f32,
    pub median_flux_db: f32,
    /// The deepest fall in loudness between two louder frames (dB): a syllable boundary.
    pub dip_db: f32,
    /// A hesitation Whisper wrote lies this close: the stretch is that one.
    pub near_written: bool,
    pub accepted: bool,
}

/// Every steady voiced stretch of the recording, with the detector's verdict.
pub fn stretches(samples: &[f32], prosody: &Prosody, words: &[Word]) -> Vec<Stretch> {
    let frame_seconds = prosody.frame_seconds.max(FRAME_SECONDS);
    let runs = steady_pitch_runs(&prosody.pitch_hz);
    if runs.is_empty() {
        return Vec::new();
    }
    let mut spectra = SpectrumFrames::new(samples);
    let mut found: Vec<Stretch> = runs
        .into_iter()
        .filter_map(|(from, to)| {
            let (start, end) = (from as f64 * frame_seconds, to as f64 * frame_seconds);
            if !(MIN_SECONDS..=MAX_SECONDS).contains(&(end - start)) {
                return None;
            }
            Some(Stretch {
                start,
                end,
                pitch_range_semitones: pitch_range(&prosody.pitch_hz[from..to]),
                median_flux_db: spectra.median_flux(from, to),
                dip_db: deepest_dip(prosody.level_dbfs.get(from..to).unwrap_or_default()),
                near_written: hesitation_written_near(words, start, end),
                accepted: false,
            })
        })
        .collect();
    let typical_flux = median(found.iter().map(|s| s.median_flux_db).collect());
    for stretch in &mut found {
        stretch.accepted = is_filled_pause(stretch, typical_flux);
    }
    found
}

/// A stretch is a filled pause when its pitch drifts no more than a hesitation's, it holds its
/// sound (absolutely, or as one long syllable changing far less than the speaker's
/// `typical_flux`), and Whisper wrote no hesitation near it.
fn is_filled_pause(stretch: &Stretch, typical_flux: f32) -> bool {
    let one_long_syllable =
        stretch.dip_db <= MAX_DIP_DB && stretch.end - stretch.start >= MIN_RELATIVE_SECONDS;
    let held = stretch.median_flux_db <= MAX_MEDIAN_FLUX_DB
        || (one_long_syllable
            && stretch.median_flux_db <= (RELATIVE_FLUX * typical_flux).min(MAX_RELATIVE_FLUX_DB));
    stretch.pitch_range_semitones <= PITCH_RANGE_SEMITONES && held && !stretch.near_written
}

/// Whether Whisper wrote a hesitation within `SAME_HESITATION_SECONDS` of `start..end`.
/// Not "no word over it": Whisper's word times stretch over the filler it dropped (a cover of
/// 1.0 for nearly every stretch on the tune half), so only a hesitation it wrote nearby rules a
/// stretch out.
fn hesitation_written_near(words: &[Word], start: f64, end: f64) -> bool {
    words.iter().any(|w| {
        lexicon::is_hesitation_spelling(&w.text)
            && w.start < end + SAME_HESITATION_SECONDS
            && w.end > start - SAME_HESITATION_SECONDS
    })
}

/// The spread of the voiced pitches in semitones.
fn pitch_range(pitch: &[f32]) -> f32 {
    let voiced = pitch.iter().copied().filter(|&f| f > 0.0);
    let low = voiced.clone().fold(f32::MAX, f32::min);
    let high = voiced.fold(0.0, f32::max);
    semitones(low, high)
}

/// The deepest fall of `levels` below the lower of the loudest frame before it and the loudest
/// after it: the gap between two syllables, 0 in a single held sound.
fn deepest_dip(levels: &[f32]) -> f32 {
    let mut loudest_after = vec![f32::MIN; levels.len() + 1];
    for i in (0..levels.len()).rev() {
        loudest_after[i] = loudest_after[i + 1].max(levels[i]);
    }
    let mut loudest_before = f32::MIN;
    let mut deepest = 0.0f32;
    for (i, &level) in levels.iter().enumerate() {
        let walls = loudest_before.min(loudest_after[i + 1]);
        if walls > f32::MIN {
            deepest = deepest.max(walls - level);
        }
        loudest_before = loudest_before.max(level);
    }
    deepest
}

/// The middle value (the upper one of an even count); `f32::MAX` for none, so no relative
/// threshold is set without stretches to set it.
fn median(mut values: Vec<f32>) -> f32 {
    if values.is_empty() {
        return f32::MAX;
    }
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

/// The filled pauses Whisper's `words` left out.
pub fn find(samples: &[f32], prosody: &Prosody, words: &[Word]) -> Vec<FilledPause> {
    stretches(samples, prosody, words)
        .into_iter()
        .filter(|s| s.accepted)
        .map(|s| FilledPause {
            start: s.start,
            end: s.end,
        })
        .collect()
}

/// `words` with each filled pause put in its place as a hesitation heard by sound.
pub fn with_filled_pauses(mut words: Vec<Word>, pauses: &[FilledPause]) -> Vec<Word> {
    for pause in pauses {
        let at = words.partition_point(|w| w.start <= pause.start);
        words.insert(
            at,
            Word {
                text: lexicon::HEARD_HESITATION.to_owned(),
                start: pause.start,
                end: pause.end,
                by_sound: true,
            },
        );
    }
    words
}

/// Runs of frames (`from..to`) where the pitch is found and moves by small steps.
fn steady_pitch_runs(pitch: &[f32]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_voiced = 0usize;
    let mut last_pitch = 0.0f32;
    for (i, &f) in pitch.iter().enumerate() {
        let continues = f > 0.0
            && start.is_some()
            && i - last_voiced <= DROPOUT_FRAMES + 1
            && semitones(last_pitch, f) <= PITCH_STEP_SEMITONES;
        if f > 0.0 && !continues {
            if let Some(s) = start {
                runs.push((s, last_voiced + 1));
            }
            start = Some(i);
        } else if f <= 0.0 && start.is_some() && i - last_voiced > DROPOUT_FRAMES {
            runs.push((start.take().unwrap_or(i), last_voiced + 1));
        }
        if f > 0.0 {
            last_voiced = i;
            last_pitch = f;
        }
    }
    if let Some(s) = start {
        runs.push((s, last_voiced + 1));
    }
    runs
}

/// The distance between two pitches in semitones, whichever is higher.
fn semitones(a: f32, b: f32) -> f32 {
    if a <= 0.0 || b <= 0.0 {
        return f32::MAX;
    }
    (12.0 * (b / a).log2()).abs()
}

/// Coarse log spectra of 20 ms frames, computed when first asked for.
struct SpectrumFrames<'a> {
    samples: &'a [f32],
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    window: Vec<f32>,
    band_of_bin: Vec<Option<usize>>,
}

impl<'a> SpectrumFrames<'a> {
    fn new(samples: &'a [f32]) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let window = (0..FFT_SIZE)
            .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / FFT_SIZE as f32).cos())
            .collect();
        let bin_hz = SAMPLE_RATE as f32 / FFT_SIZE as f32;
        let ratio = (BAND_HIGH_HZ / BAND_LOW_HZ).ln();
        let band_of_bin = (0..=FFT_SIZE / 2)
            .map(|bin| {
                let hz = bin as f32 * bin_hz;
                (BAND_LOW_HZ..BAND_HIGH_HZ)
                    .contains(&hz)
                    .then(|| ((hz / BAND_LOW_HZ).ln() / ratio * BANDS as f32) as usize)
                    .map(|b| b.min(BANDS - 1))
            })
            .collect();
        Self {
            samples,
            fft,
            window,
            band_of_bin,
        }
    }

    /// Band levels (dB) of frame `frame`, their mean taken out so loudness does not count.
    fn bands(&self, frame: usize) -> [f32; BANDS] {
        let frame_len = (SAMPLE_RATE as f64 * FRAME_SECONDS) as usize;
        let centre = frame * frame_len + frame_len / 2;
        let mut input: Vec<f32> = (0..FFT_SIZE)
            .map(|i| {
                let at = (centre + i).checked_sub(FFT_SIZE / 2);
                at.and_then(|a| self.samples.get(a)).copied().unwrap_or(0.0) * self.window[i]
            })
            .collect();
        let mut spectrum = self.fft.make_output_vec();
        let mut energy = [1e-10f32; BANDS];
        if self.fft.process(&mut input, &mut spectrum).is_ok() {
            for (bin, value) in spectrum.iter().enumerate() {
                if let Some(band) = self.band_of_bin[bin] {
                    energy[band] += value.norm_sqr();
                }
            }
        }
        let mut db = energy.map(|e| 10.0 * e.log10());
        let mean = db.iter().sum::<f32>() / BANDS as f32;
        db.iter_mut().for_each(|d| *d -= mean);
        db
    }

    /// The median change of the spectrum from one frame to the next in `from..to` (dB, RMS
    /// over the bands). Smoothing the spectra over neighbouring frames, or comparing frames
    /// 80 ms apart, separated filled pauses from speech less well on the tune half.
    fn median_flux(&mut self, from: usize, to: usize) -> f32 {
        let spectra: Vec<[f32; BANDS]> = (from..to).map(|f| self.bands(f)).collect();
        let flux: Vec<f32> = spectra
            .windows(2)
            .map(|pair| {
                let sum: f32 = pair[0]
                    .iter()
                    .zip(&pair[1])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (sum / BANDS as f32).sqrt()
            })
            .collect();
        median(flux)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vad::SpeechRegion;

    /// A voiced sound at `hz` with a vowel-like spread of harmonics.
    fn vowel(hz: f32, seconds: f64) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f64) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                (1..=12)
                    .map(|h| {
                        let formant = if (500..=900).contains(&(h * hz as usize)) {
                            1.0
                        } else {
                            0.25
                        };
                        formant / h as f32 * (std::f32::consts::TAU * h as f32 * hz * t).sin()
                    })
                    .sum::<f32>()
                    * 0.1
            })
            .collect()
    }

    /// Speech-like: the pitch and the vowel change every 80 ms.
    fn syllables(seconds: f64) -> Vec<f32> {
        let mut out = Vec::new();
        let mut k = 0;
        while (out.len() as f64) < seconds * SAMPLE_RATE as f64 {
            let hz = [120.0, 150.0, 105.0, 170.0, 135.0][k % 5];
            out.extend(vowel(hz, 0.08));
            out.extend(vec![0.0; 320]);
            k += 1;
        }
        out
    }

    fn prosody_of(samples: &[f32]) -> Prosody {
        let speech = [SpeechRegion {
            start: 0.0,
            end: samples.len() as f64 / SAMPLE_RATE as f64,
        }];
        crate::prosody::measure(samples, &speech)
    }

    fn word(text: &str, start: f64, end: f64) -> Word {
        Word {
            text: text.into(),
            start,
            end,
            by_sound: false,
        }
    }

    #[test]
    fn a_held_vowel_with_no_word_over_it_is_a_filled_pause() {
        let mut samples = syllables(1.0);
        samples.extend(vowel(220.0, 0.5));
        samples.extend(syllables(1.0));
        let words = [word("so", 0.0, 0.9), word("then", 1.6, 2.4)];
        let found = find(&samples, &prosody_of(&samples), &words);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].start < 1.1 && found[0].end > 1.4, "{found:?}");
    }

    #[test]
    fn changing_speech_and_a_hesitation_already_written_are_not_filled_pauses() {
        let samples = syllables(3.0);
        assert!(find(&samples, &prosody_of(&samples), &[]).is_empty());
        let mut held = syllables(1.0);
        held.extend(vowel(220.0, 0.5));
        assert_eq!(find(&held, &prosody_of(&held), &[]).len(), 1);
        let written = [word("so", 0.0, 0.9), word("Um,", 1.1, 1.2)];
        assert!(find(&held, &prosody_of(&held), &written).is_empty());
    }

    #[test]
    fn a_dip_in_loudness_between_two_louder_frames_is_a_syllable_boundary() {
        assert_eq!(deepest_dip(&[-20.0, -21.0, -30.0, -24.0, -22.0]), 8.0);
        assert_eq!(deepest_dip(&[-10.0, -12.0, -15.0, -19.0]), 0.0);
        assert_eq!(deepest_dip(&[-19.0, -12.0, -10.0, -15.0]), 0.0);
        assert_eq!(deepest_dip(&[]), 0.0);
    }

    fn stretch(median_flux_db: f32, dip_db: f32) -> Stretch {
        Stretch {
            start: 1.0,
            end: 1.4,
            pitch_range_semitones: 2.0,
            median_flux_db,
            dip_db,
            near_written: false,
            accepted: false,
        }
    }

    #[test]
    fn one_syllable_changing_far_less_than_the_speakers_speech_is_a_filled_pause() {
        // Held absolutely still: a filled pause whatever the loudness does.
        assert!(is_filled_pause(&stretch(1.5, 6.0), 4.0));
        // A voice whose speech changes at 4 dB a frame: a 2.3-dB syllable is held for it...
        assert!(is_filled_pause(&stretch(2.3, 0.3), 4.0));
        // ...but not with a syllable boundary inside,
        assert!(!is_filled_pause(&stretch(2.3, 3.0), 4.0));
        // nor for a voice whose speech changes at 3 dB,
        assert!(!is_filled_pause(&stretch(2.3, 0.3), 3.0));
        // nor above the ceiling, however lively the speech,
        assert!(!is_filled_pause(&stretch(2.7, 0.3), 6.0));
        // nor when it is too short to tell from a long vowel in a word.
        let short = Stretch {
            end: 1.3,
            ..stretch(2.3, 0.3)
        };
        assert!(!is_filled_pause(&short, 4.0));
        assert!(is_filled_pause(
            &Stretch {
                end: 1.3,
                ..stretch(1.5, 0.3)
            },
            4.0
        ));
        let written = Stretch {
            near_written: true,
            ..stretch(1.5, 0.0)
        };
        assert!(!is_filled_pause(&written, 4.0));
    }

    #[test]
    fn a_filled_pause_goes_into_the_words_in_time_order() {
        let words = vec![word("so", 0.0, 0.5), word("then", 2.0, 2.4)];
        let merged = with_filled_pauses(
            words,
            &[FilledPause {
                start: 0.8,
                end: 1.3,
            }],
        );
        let texts: Vec<&str> = merged.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["so", "uh", "then"]);
        assert!(merged[1].by_sound);
    }
}
