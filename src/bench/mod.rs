//! `viva bench`: how long a candidate waits for the scorecard, measured the way a live answer
//! feels it.
//!
//! Batch: the whole answer is transcribed and scored after it ends. Streaming: the answer is
//! cut into speech segments as it would arrive, each segment reaches the worker when its last
//! sample would have been spoken, and segments queue behind one another on the one worker; the
//! inference times are measured for real, only the arrival is simulated. Streaming latency is
//! the time from the last sample to the scorecard.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::audio::{Recording, SAMPLE_RATE};
use crate::bank::Prompt;
use crate::engine::{Engine, Words};
use crate::listen::live_segments;

/// What `viva bench latency --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub audio_seconds: f64,
    /// Transcribe and score the whole answer after it ends.
    pub batch_seconds: f64,
    /// From the last sample arriving at real-time speed to the scorecard.
    pub streaming_seconds: f64,
    /// Inference time over audio time, for the streaming path: below 1 keeps pace.
    pub realtime_factor: f64,
    pub segments: usize,
    /// The longest a segment waited for the worker: grows without bound if it cannot keep pace.
    pub max_queue_seconds: f64,
}

/// Measures batch and streaming latency for one recording.
pub fn latency(engine: &mut Engine, prompt: &Prompt, recording: &Recording) -> Result<Latency> {
    engine.transcriber()?;
    let audio_seconds = recording.seconds();

    let started = Instant::now();
    engine.score(prompt, recording, Words::Whisper)?;
    let batch_seconds = started.elapsed().as_secs_f64();

    let ready = live_segments(&recording.samples);
    let transcriber = engine.transcriber()?;
    let (mut worker_free_at, mut busy, mut max_queue) = (0.0f64, 0.0f64, 0.0f64);
    let mut words = Vec::new();
    for segment in &ready {
        let start = worker_free_at.max(segment.arrives_at);
        max_queue = max_queue.max(start - segment.arrives_at);
        let began = Instant::now();
        words.extend(transcriber.transcribe_live_segment(
            &recording.samples[segment.from..segment.to],
            segment.from as f64 / SAMPLE_RATE as f64,
            &recording.source,
        )?);
        let took = began.elapsed().as_secs_f64();
        busy += took;
        worker_free_at = start + took;
    }
    let began = Instant::now();
    engine.score(prompt, recording, Words::Live(words))?;
    let scoring = began.elapsed().as_secs_f64();
    Ok(Latency {
        audio_seconds,
        batch_seconds,
        streaming_seconds: (worker_free_at - audio_seconds).max(0.0) + scoring,
        realtime_factor: busy / audio_seconds,
        segments: ready.len(),
        max_queue_seconds: max_queue,
    })
}

/// One installed model's speed on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpeed {
    pub model: String,
    pub path: String,
    /// Seconds of inference per second of audio, on a 10-second segment.
    pub realtime_factor: f64,
    /// Fast enough to transcribe while the candidate speaks, with room to spare.
    pub live: bool,
}

/// A model keeps pace live when a segment takes at most half its length to transcribe.
const LIVE_FACTOR: f64 = 0.5;

/// Times one 10-second segment on a model: the same work live transcription gives it. The
/// audio is a quiet hum, so the figure is the encoder's, which dominates and does not depend
/// on what is said.
pub fn model_speed(
    path: &Path,
    settings: crate::transcribe::TranscribeSettings,
) -> Result<ModelSpeed> {
    let mut transcriber = crate::transcribe::Transcriber::load(path, settings)?;
    let seconds = 10.0;
    let samples: Vec<f32> = (0..(seconds * SAMPLE_RATE as f64) as usize)
        .map(|i| 0.01 * (2.0 * std::f32::consts::PI * 150.0 * i as f32 / SAMPLE_RATE as f32).sin())
        .collect();
    // Once to warm up caches and allocations, once to measure.
    transcriber.transcribe_segment(&samples, 0.0, path)?;
    let began = Instant::now();
    transcriber.transcribe_segment(&samples, 0.0, path)?;
    let factor = began.elapsed().as_secs_f64() / seconds;
    Ok(ModelSpeed {
        model: crate::models::normalize_name(
            &path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        )
        .to_owned(),
        path: path.display().to_string(),
        realtime_factor: factor,
        live: factor <= LIVE_FACTOR,
    })
}

/// What `viva bench delivery` prints for one recording: the delivery measures (for
/// calibrating the thresholds) and the time the audio features take.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryFigures {
    pub file: String,
    pub audio_seconds: f64,
    /// Measuring pitch, level and clipping (`prosody::measure`), the best of five runs.
    pub features_ms: f64,
    /// The voice detector on the same audio, for scale: it runs for transcription anyway.
    pub vad_ms: f64,
    /// Seconds the voice detector heard as speech, and of them, seconds with a voiced pitch.
    pub speech_seconds: f64,
    pub voiced_seconds: f64,
    pub delivery: crate::score::delivery::DeliveryScore,
}

/// Measures one recording's delivery features, looped to `seconds` when given (a long answer
/// from a short clip), and times them.
pub fn delivery(recording: &Recording, seconds: Option<f64>) -> DeliveryFigures {
    use crate::score::delivery;
    let mut samples = recording.samples.clone();
    if let Some(seconds) = seconds {
        let want = (seconds * SAMPLE_RATE as f64) as usize;
        while samples.len() < want && !recording.samples.is_empty() {
            samples.extend_from_slice(&recording.samples);
        }
        samples.truncate(want);
    }
    let began = Instant::now();
    let speech = crate::vad::detect(&samples, &crate::vad::VadSettings::default());
    let vad_ms = began.elapsed().as_secs_f64() * 1000.0;
    let mut features_ms = f64::INFINITY;
    let mut prosody = None;
    for _ in 0..5 {
        let began = Instant::now();
        let measured = crate::prosody::measure(&samples, &speech);
        features_ms = features_ms.min(began.elapsed().as_secs_f64() * 1000.0);
        prosody = Some(measured);
    }
    let normalizer = crate::score::text::Normalizer::default();
    let key_terms = delivery::KeyTerms::new([], &normalizer);
    let mut judged = delivery::judge(&delivery::DeliveryInput {
        prosody: prosody.as_ref(),
        words: &[],
        tokens: &[],
        key_terms: &key_terms,
        counted_elsewhere: &[],
        windows: &[],
    });
    judged.strip = None;
    let voiced = prosody
        .as_ref()
        .map_or(0, |p| p.pitch_hz.iter().filter(|&&f| f > 0.0).count());
    DeliveryFigures {
        speech_seconds: speech.iter().map(|r| r.seconds()).sum(),
        voiced_seconds: voiced as f64 * crate::prosody::FRAME_SECONDS,
        file: recording.source.display().to_string(),
        audio_seconds: samples.len() as f64 / SAMPLE_RATE as f64,
        features_ms,
        vad_ms,
        delivery: judged,
    }
}
pub mod fillers;
