//! The inference worker: one thread that owns the loaded Whisper model (and its reusable
//! state). Jobs arrive over a channel: whole answers to score, and speech segments to
//! transcribe while the candidate is still talking. The daemon's handlers and every round
//! (in the daemon or the CLI) queue here, so recording never waits on inference and inference
//! never runs on the async runtime's threads.

use std::sync::mpsc;

use anyhow::{anyhow, Result};
use tokio::sync::oneshot;

use crate::audio::Recording;
use crate::bank::Prompt;
use crate::engine::{Engine, Words};
use crate::score::Scorecard;
use crate::transcribe::Word;
use std::path::{Path, PathBuf};

enum Job {
    Score {
        prompt: Box<Prompt>,
        recording: Recording,
        words: Words,
        reply: oneshot::Sender<Result<Scorecard, String>>,
    },
    Segment {
        samples: Vec<f32>,
        start: f64,
        source: PathBuf,
        reply: oneshot::Sender<Result<Vec<Word>, String>>,
    },
}

/// Words of a segment still being transcribed.
pub struct PendingWords(oneshot::Receiver<Result<Vec<Word>, String>>);

impl PendingWords {
    /// The words, if the worker has finished them.
    pub fn try_take(&mut self) -> Option<Result<Vec<Word>>> {
        self.0.try_recv().ok().map(|r| r.map_err(|e| anyhow!(e)))
    }

    /// Waits for the words.
    pub fn wait(self) -> Result<Vec<Word>> {
        self.0
            .blocking_recv()
            .map_err(|_| anyhow!("the inference worker has stopped"))?
            .map_err(|e| anyhow!(e))
    }
}

/// A handle to the worker; cheap to clone, one per caller.
#[derive(Clone)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
    /// The model file the worker loaded, for `/api/health`.
    pub model: String,
}

impl Worker {
    /// Starts the worker and loads the model before returning, so the daemon only announces
    /// itself once it can score.
    pub fn start(mut engine: Engine) -> Result<Worker> {
        let model = engine.model_path()?.display().to_string();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        std::thread::Builder::new()
            .name("viva-inference".into())
            .spawn(move || {
                // Both models load once, here: Whisper and, when installed, the sentence encoder.
                let loaded = engine
                    .transcriber()
                    .map(|_| ())
                    .and_then(|()| engine.encoder().map(|_| ()));
                let failed = loaded.is_err();
                let _ = ready_tx.send(loaded);
                if failed {
                    return;
                }
                for job in queue {
                    match job {
                        Job::Score {
                            prompt,
                            recording,
                            words,
                            reply,
                        } => {
                            let result = engine
                                .score(&prompt, &recording, words)
                                .map_err(|e| format!("{e:#}"));
                            let _ = reply.send(result);
                        }
                        Job::Segment {
                            samples,
                            start,
                            source,
                            reply,
                        } => {
                            let result = engine
                                .transcriber()
                                .and_then(|t| {
                                    Ok(t.transcribe_live_segment(&samples, start, &source)?)
                                })
                                .map_err(|e| format!("{e:#}"));
                            let _ = reply.send(result);
                        }
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| anyhow!("the inference worker stopped while loading the model"))??;
        Ok(Worker { jobs, model })
    }

    fn submit(
        &self,
        prompt: &Prompt,
        recording: Recording,
        words: Words,
    ) -> Result<oneshot::Receiver<Result<Scorecard, String>>> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Score {
                prompt: Box::new(prompt.clone()),
                recording,
                words,
                reply,
            })
            .map_err(|_| anyhow!("the inference worker has stopped"))?;
        Ok(answer)
    }

    /// Queues a speech segment for transcription and returns at once.
    pub fn transcribe_segment(
        &self,
        samples: Vec<f32>,
        start: f64,
        source: &Path,
    ) -> Result<PendingWords> {
        let (reply, words) = oneshot::channel();
        self.jobs
            .send(Job::Segment {
                samples,
                start,
                source: source.to_owned(),
                reply,
            })
            .map_err(|_| anyhow!("the inference worker has stopped"))?;
        Ok(PendingWords(words))
    }

    /// Scores from async code: waits without holding a runtime thread.
    pub async fn score(
        &self,
        prompt: &Prompt,
        recording: Recording,
        words: Words,
    ) -> Result<Scorecard> {
        let answer = self.submit(prompt, recording, words)?;
        answer
            .await
            .map_err(|_| anyhow!("the inference worker has stopped"))?
            .map_err(|e| anyhow!(e))
    }

    /// Scores from a plain thread (a round).
    pub fn score_blocking(
        &self,
        prompt: &Prompt,
        recording: &Recording,
        words: Words,
    ) -> Result<Scorecard> {
        let answer = self.submit(prompt, recording.clone(), words)?;
        answer
            .blocking_recv()
            .map_err(|_| anyhow!("the inference worker has stopped"))?
            .map_err(|e| anyhow!(e))
    }
}
