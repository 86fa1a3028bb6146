//! The validated question bank as the rest of viva sees it: prompts, rubrics, playlists.
//! Everything here has passed `bank::load`'s checks, so consumers never re-validate.

use serde::Serialize;

/// One interview question with the rubric its answer is scored against.
#[derive(Debug, Clone, Serialize)]
pub struct Prompt {
    /// Unique in the bank; what `--prompt`, playlists and history refer to.
    pub id: String,
    pub category: String,
    pub tags: Vec<String>,
    /// The question as viva reads it aloud.
    pub text: String,
    /// Seconds of thinking time before the answer starts, when a drill gives any.
    pub think_seconds: Option<u32>,
    /// An answer shape to check for, such as STAR.
    pub structure: Option<Structure>,
    pub rubric: Rubric,
    /// The file the prompt was defined in, for error messages and `prompts show`.
    pub source: String,
}

/// Answer shapes the scorer can check for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Structure {
    /// Situation, Task, Action, Result, in that order.
    Star,
}

/// What a good answer to one prompt looks like.
#[derive(Debug, Clone, Serialize)]
pub struct Rubric {
    /// Target answer length in seconds of speech, `[min, max]`.
    pub seconds: [f64; 2],
    /// Target pace in words per minute; `None` takes the configured default.
    pub wpm: Option<[f64; 2]>,
    pub weights: Weights,
    pub concepts: Vec<Concept>,
    pub avoid: Vec<AvoidPhrase>,
}

/// How much each part of the scorecard counts toward `overall`; not all zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    #[serde(default = "Weights::default_coverage")]
    pub coverage: f64,
    #[serde(default = "Weights::default_pace")]
    pub pace: f64,
    #[serde(default = "Weights::default_length")]
    pub length: f64,
    #[serde(default = "Weights::default_fillers")]
    pub fillers: f64,
    /// Specifics: numbers, names, results and actions that show the answer is real.
    #[serde(default = "Weights::default_specificity")]
    pub specificity: f64,
    /// Few hedges ("I think maybe…").
    #[serde(default = "Weights::default_hedges")]
    pub hedges: f64,
    /// How it sounds: pitch, level, trailing off, repeated words. Counts only when the audio
    /// was measured.
    #[serde(default = "Weights::default_delivery")]
    pub delivery: f64,
}

impl Weights {
    fn default_coverage() -> f64 {
        0.5
    }
    fn default_pace() -> f64 {
        0.1
    }
    fn default_length() -> f64 {
        0.1
    }
    fn default_fillers() -> f64 {
        0.05
    }
    fn default_specificity() -> f64 {
        0.2
    }
    fn default_hedges() -> f64 {
        0.05
    }
    fn default_delivery() -> f64 {
        0.05
    }

    /// Every weight, in scorecard order, for sums and checks; delivery last.
    pub fn as_array(&self) -> [f64; 7] {
        [
            self.coverage,
            self.specificity,
            self.pace,
            self.length,
            self.fillers,
            self.hedges,
            self.delivery,
        ]
    }

    /// The weights of what the answer says (coverage, specificity), and of how it is said
    /// (pace, length, fillers, hedges).
    pub fn content_and_delivery(&self) -> ([f64; 2], [f64; 4]) {
        (
            [self.coverage, self.specificity],
            [self.pace, self.length, self.fillers, self.hedges],
        )
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            coverage: Self::default_coverage(),
            pace: Self::default_pace(),
            length: Self::default_length(),
            fillers: Self::default_fillers(),
            specificity: Self::default_specificity(),
            hedges: Self::default_hedges(),
            delivery: Self::default_delivery(),
        }
    }
}

/// A key idea a strong answer names, and the phrases that count as naming it.
#[derive(Debug, Clone, Serialize)]
pub struct Concept {
    pub name: String,
    /// Any one of these, matched on stems, counts as covering the concept.
    pub any: Vec<String>,
    pub weight: f64,
    /// What the interviewer asks when an answer misses this concept.
    pub follow_up: Option<String>,
    /// The idea in one sentence, as a candidate would say it: what an answer is compared with
    /// by meaning, so a paraphrase none of the `any` phrases names can still count.
    pub means: Option<String>,
    /// The same idea in other words, as other candidates would say it: a paraphrase close to
    /// any one of them is close to the concept.
    pub also_means: Vec<String>,
}

/// A phrase that marks a weak answer, with the reason shown to the candidate.
#[derive(Debug, Clone, Serialize)]
pub struct AvoidPhrase {
    pub phrase: String,
    pub why: String,
}

/// A scripted drill: a sequence of steps run in order.
#[derive(Debug, Clone, Serialize)]
pub struct Playlist {
    /// The file stem: what `viva drill NAME` takes.
    pub id: String,
    pub name: String,
    pub think_seconds: Option<u32>,
    pub shuffle: bool,
    /// Ask a missed concept's follow-up question as the next step.
    pub follow_ups: bool,
    pub steps: Vec<Step>,
    pub source: String,
}

/// One step of a playlist.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// The interviewer says something; no answer is recorded.
    Say { text: String },
    /// Ask one named prompt.
    Prompt {
        id: String,
        #[serde(flatten)]
        timing: StepTiming,
    },
    /// Ask `count` prompts drawn without repeats from a category or tag.
    Pick {
        category: Option<String>,
        tag: Option<String>,
        count: usize,
        #[serde(flatten)]
        timing: StepTiming,
    },
    /// Ask the `count` prompts most due for practice by the spaced-repetition schedule.
    Due {
        count: usize,
        #[serde(flatten)]
        timing: StepTiming,
    },
}

/// Per-step overrides of timing and repetition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StepTiming {
    pub think_seconds: Option<u32>,
    pub max_seconds: Option<u32>,
    /// Redo the answer until `overall` reaches this, at most `max_tries` times.
    pub repeat_until: Option<f64>,
    pub max_tries: Option<u32>,
}
