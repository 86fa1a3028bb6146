//! The engine: walks one recorded answer through the pipeline (listen → transcribe → score).
//! The CLI and, later, the daemon are doors into this; neither holds logic of its own.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::audio::Recording;
use crate::bank::Prompt;
use crate::config::Env;
use crate::hesitation;
use crate::meaning::MeaningMatches;
use crate::prosody::{self, Prosody};
use crate::score::{self, Answer, Scorecard};
use crate::transcribe::{self, Transcriber, Transcript};
use crate::vad::{self, SpeechRegion, VadSettings};

/// Where an answer's words come from.
pub enum Words {
    /// Transcribe the audio with Whisper.
    Whisper,
    /// A written (corrected) transcript; Whisper is not loaded.
    Text(String),
    /// Words Whisper already transcribed while the answer was being spoken.
    Live(Vec<crate::transcribe::Word>),
}

/// Everything the scorer takes from the audio of one answer: its length, where the voice was,
/// and the words. Saved as JSON, it lets scoring be replayed without audio or a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeardAnswer {
    pub duration_seconds: f64,
    pub speech: Vec<SpeechRegion>,
    pub transcript: Transcript,
}

impl HeardAnswer {
    /// The scorer's view of it, with what the meaning stage found, if it ran.
    pub fn answer<'a>(&'a self, meaning: Option<&'a MeaningMatches>) -> Answer<'a> {
        Answer {
            transcript: &self.transcript,
            duration_seconds: self.duration_seconds,
            speech: &self.speech,
            meaning,
            prosody: None,
        }
    }
}

/// The sentence-embedding model for matching by meaning, when one is installed. Absent, viva
/// scores by phrases and the scorecard says so; present but broken, it is an error that names
/// the file and the fix.
pub fn load_encoder(env: &Env) -> Result<Option<Box<dyn crate::meaning::Encode>>> {
    let explicit = std::env::var_os("VIVA_EMBEDDER").map(PathBuf::from);
    let Some(dir) = crate::meaning::encoder_dir(explicit.as_deref(), &env.model_search().dirs)
    else {
        return Ok(None);
    };
    let encoder = crate::embed::SentenceEncoder::load(&dir)?;
    // The bank's vectors are kept per model, in VIVA_VECTOR_CACHE (a directory several homes
    // may share, as the tests' sandboxes do) or $VIVA_HOME/cache.
    let cache_dir = std::env::var_os("VIVA_VECTOR_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.home.join("cache"));
    let file = cache_dir.join(format!("{}.vectors", crate::embed::MODEL_DIR_NAME));
    Ok(Some(Box::new(crate::meaning::RecurringTexts::with_cache(
        encoder, file,
    ))))
}

/// Holds what is expensive to set up (the Whisper model) across answers.
pub struct Engine {
    env: Env,
    transcriber: Option<Transcriber>,
    /// The sentence-embedding model, loaded on the first answer; `Some(None)` when none is
    /// installed.
    encoder: Option<Option<Box<dyn crate::meaning::Encode>>>,
    /// The bank's questions, which an answer is compared with to tell whether it answers its
    /// own; loaded with the encoder.
    questions: Vec<Prompt>,
}

impl Engine {
    pub fn new(env: Env) -> Self {
        Self {
            env,
            transcriber: None,
            encoder: None,
            questions: Vec::new(),
        }
    }

    /// Loads the Whisper model now rather than on the first answer.
    pub fn transcriber(&mut self) -> Result<&mut Transcriber> {
        if self.transcriber.is_none() {
            let model = self.model_path()?;
            let loaded = Transcriber::load(&model, self.env.config.transcribe.clone())?;
            self.transcriber = Some(loaded);
        }
        Ok(self.transcriber.as_mut().expect("loaded just above"))
    }

    /// The model file `--model`, `VIVA_MODEL` or the search directories point to; when the
    /// configured model is not installed, the best one that is (`Env::whisper_model`).
    pub fn model_path(&self) -> Result<PathBuf> {
        Ok(self.env.whisper_model()?.path)
    }

    /// Detects speech and transcribes it: what `viva transcribe` prints, and what the scoring
    /// bench replays without a model.
    pub fn hear(&mut self, recording: &Recording) -> Result<HeardAnswer> {
        let speech = vad::detect(&recording.samples, &VadSettings::default());
        let prosody = prosody::measure(&recording.samples, &speech);
        let transcript = self.transcript(recording, &speech, &prosody, Words::Whisper)?;
        Ok(HeardAnswer {
            duration_seconds: recording.seconds(),
            speech,
            transcript,
        })
    }

    /// As [`Engine::hear`], but the words come segment by segment, cut as live transcription
    /// cuts them while the candidate speaks.
    pub fn hear_live(&mut self, recording: &Recording) -> Result<HeardAnswer> {
        let speech = vad::detect(&recording.samples, &VadSettings::default());
        let transcriber = self.transcriber()?;
        let mut words = Vec::new();
        for segment in crate::listen::live_segments(&recording.samples) {
            words.extend(transcriber.transcribe_live_segment(
                &recording.samples[segment.from..segment.to],
                segment.from as f64 / crate::audio::SAMPLE_RATE as f64,
                &recording.source,
            )?);
        }
        let prosody = prosody::measure(&recording.samples, &speech);
        let transcript = self.transcript(recording, &speech, &prosody, Words::Live(words))?;
        Ok(HeardAnswer {
            duration_seconds: recording.seconds(),
            speech,
            transcript,
        })
    }

    /// Detects speech, transcribes (or spreads the given words), and scores one answer.
    pub fn score(
        &mut self,
        prompt: &Prompt,
        recording: &Recording,
        words: Words,
    ) -> Result<Scorecard> {
        let speech = vad::detect(&recording.samples, &VadSettings::default());
        let prosody = prosody::measure(&recording.samples, &speech);
        let transcript = self.transcript(recording, &speech, &prosody, words)?;
        let meaning = self.meaning(prompt, &transcript)?;
        let answer = Answer {
            transcript: &transcript,
            duration_seconds: recording.seconds(),
            speech: &speech,
            meaning: meaning.as_ref(),
            prosody: Some(&prosody),
        };
        Ok(score::score(prompt, answer, &self.env.config.score))
    }

    /// Loads the sentence-embedding model now rather than on the first answer.
    pub fn encoder(&mut self) -> Result<Option<&dyn crate::meaning::Encode>> {
        if self.encoder.is_none() {
            self.encoder = Some(load_encoder(&self.env)?);
            // Without the bank an answer is still scored; only the question check is skipped.
            self.questions = crate::bank::load(&self.env.bank_sources())
                .map(|bank| bank.prompts)
                .unwrap_or_default();
        }

        Ok(self.encoder.as_ref().and_then(|e| e.as_deref()))
    }

    /// How close each window of the answer comes to each concept, when the model is there.
    fn meaning(
        &mut self,
        prompt: &Prompt,
        transcript: &Transcript,
    ) -> Result<Option<MeaningMatches>> {
        self.encoder()?;
        match self.encoder.as_ref().and_then(|e| e.as_deref()) {
            Some(encoder) => Ok(Some(crate::meaning::match_concepts(
                encoder,
                prompt,
                &self.questions,
                transcript,
            )?)),
            None => Ok(None),
        }
    }

    fn transcript(
        &mut self,
        recording: &Recording,
        speech: &[SpeechRegion],
        prosody: &Prosody,
        words: Words,
    ) -> Result<Transcript> {
        let heard = match words {
            Words::Text(text) => {
                return Ok(transcribe::transcript_from_text(
                    &text,
                    speech,
                    recording.seconds(),
                ))
            }
            Words::Live(words) => words,
            Words::Whisper => {
                // Load the model even when no speech was heard, so a missing model is reported
                // the same way whatever the recording holds.
                let transcriber = self.transcriber()?;
                transcriber
                    .transcribe(recording, speech)
                    .with_context(|| format!("transcribing {}", recording.source.display()))?
                    .words
            }
        };
        // What Whisper left out: the filled pauses the sound holds.
        let pauses = hesitation::find(&recording.samples, prosody, &heard);
        Ok(Transcript::from_words(
            hesitation::with_filled_pauses(heard, &pauses),
            "whisper",
        ))
    }
}
