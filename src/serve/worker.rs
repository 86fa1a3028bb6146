//! The inference worker: one thread that owns the loaded Whisper model (and its reusable
//! state) for the daemon's whole life. Scoring jobs arrive over a channel, from HTTP handlers
//! and from round threads alike; inference never runs on the async runtime's threads.

use std::sync::mpsc;

use anyhow::{anyhow, Result};
use tokio::sync::oneshot;

use crate::audio::Recording;
use crate::bank::Prompt;
use crate::engine::{Engine, Scorer, Words};
use crate::score::Scorecard;

struct Job {
    prompt: Prompt,
    recording: Recording,
    words: Words,
    reply: oneshot::Sender<Result<Scorecard, String>>,
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
                let loaded = engine.transcriber().map(|_| ());
                let failed = loaded.is_err();
                let _ = ready_tx.send(loaded);
                if failed {
                    return;
                }
                for job in queue {
                    let result = engine
                        .score(&job.prompt, &job.recording, job.words)
                        .map_err(|e| format!("{e:#}"));
                    let _ = job.reply.send(result);
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
            .send(Job {
                prompt: prompt.clone(),
                recording,
                words,
                reply,
            })
            .map_err(|_| anyhow!("the inference worker has stopped"))?;
        Ok(answer)
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
}

/// Round threads score through the worker like the CLI scores through its own engine.
impl Scorer for Worker {
    fn prepare(&mut self) -> Result<()> {
        Ok(())
    }

    fn score(&mut self, prompt: &Prompt, recording: &Recording, words: Words) -> Result<Scorecard> {
        let answer = self.submit(prompt, recording.clone(), words)?;
        answer
            .blocking_recv()
            .map_err(|_| anyhow!("the inference worker has stopped"))?
            .map_err(|e| anyhow!(e))
    }
}
