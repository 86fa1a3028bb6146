//! viva: a local voice mock-interviewer.
//!
//! A question goes one way through the pipeline, one module per stage:
//!
//! ```text
//! bank ──▶ audio ──▶ vad ──▶ transcribe ──▶ score ──▶ report
//! (TOML)   (WAV in,  (speech  (whisper-rs)   (pure     (terminal)
//!           16 kHz)   regions)                functions)
//! ```
//!
//! - [`bank`]: prompts, rubrics and playlists from TOML, checked with `file:line:col` errors.
//! - [`audio`]: any common WAV to 16 kHz mono `f32`, resampled with rubato.
//! - [`vad`]: where someone is speaking (earshot), and the chunks Whisper transcribes.
//! - [`transcribe`]: Whisper through whisper-rs, words with times.
//! - [`prosody`]: pitch and level frame by frame, measured once for the delivery check.
//! - [`score`]: transcript + timing + rubric in, [`score::Scorecard`] out; no I/O.
//! - [`report`]: the scorecard and bank as a person reads them.
//! - [`embed`]: sentence embeddings (all-MiniLM-L6-v2) for comparing answers by meaning.
//! - [`engine`]: walks one answer through the stages; the CLI is a door into it.
//! - [`ggml`]: checks a model file is whole before whisper.cpp loads it.
//! - [`models`]: which Whisper models exist, where they are, downloading them.
//! - [`import`]: converts a CTranslate2 (faster-whisper) Whisper model into a ggml file.
//! - [`config`]: `VIVA_HOME`, `config.toml`, search paths.
//! - [`doctor`]: `viva doctor`, every part of a working installation checked, with the fixes.
//! - [`quiet`]: the sound libraries' own error printing kept off the terminal.
//! - [`cli`]: the `viva` command line.

pub mod answer_wav;
pub mod audio;
pub mod bank;
pub mod bench;
pub mod browser;
pub mod calibration;
pub mod cli;
pub mod config;
pub mod devices;
pub mod doctor;
pub mod embed;
pub mod engine;
pub mod ggml;
pub mod hesitation;
pub mod import;
pub mod listen;
pub mod meaning;
pub mod models;
pub mod prosody;
pub mod quiet;
pub mod report;
pub mod review;
pub mod round;
pub mod schedule;
pub mod score;
pub mod serve;
pub mod speak;
pub mod store;
pub mod transcribe;
pub mod vad;
pub mod wer;
pub mod worker;
