//! The calibration set (`calibration/answers.toml`) is well formed against the bank it labels:
//! every answer names a real prompt, labels every concept of that prompt's rubric and nothing
//! else, and every prompt in the set has all its twins (strong, weak, reciting, plain, gamed,
//! short, off-topic) in one split, and every answer a coach's score.
//! The set is data for measuring the scorer, so these checks never call the scorer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use viva::bank::{self, Bank, BankSource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationSet {
    answer: Vec<Answer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    id: String,
    prompt: String,
    kind: Kind,
    split: Split,
    /// For an off-topic answer: the prompt it really answers.
    #[serde(default)]
    answers: Option<String>,
    /// A coach's holistic score, 0 to 100, given blind to the answer's kind.
    coach: u32,
    text: String,
    /// Concept name to hand label.
    concepts: BTreeMap<String, Label>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Strong,
    Weak,
    Reciting,
    Negated,
    Hedged,
    Plain,
    Gamed,
    Short,
    Offtopic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Split {
    Tune,
    Holdout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Label {
    Backed,
    Mentioned,
    Absent,
}

/// The voices `scripts/calibrate` speaks with; transcript files are named after them.
const VOICES: [&str; 5] = ["espeak", "slt", "rms", "awb", "hts"];

fn calibration_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration")
}

fn calibration_set() -> CalibrationSet {
    let path = calibration_dir().join("answers.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn builtin_bank() -> Bank {
    bank::load(&[BankSource::Builtin]).unwrap_or_else(|e| panic!("the built-in bank: {e}"))
}

#[test]
fn every_answer_names_a_prompt_in_the_bank() {
    let bank = builtin_bank();
    let unknown: Vec<String> = calibration_set()
        .answer
        .iter()
        .filter(|a| bank.prompt(&a.prompt).is_err())
        .map(|a| format!("{} -> {}", a.id, a.prompt))
        .collect();
    assert!(
        unknown.is_empty(),
        "answers name unknown prompts: {unknown:?}"
    );
}

#[test]
fn every_concept_of_the_prompt_is_labelled_and_no_other() {
    let bank = builtin_bank();
    let mut problems = Vec::new();
    for answer in calibration_set().answer {
        let Ok(prompt) = bank.prompt(&answer.prompt) else {
            continue; // reported by every_answer_names_a_prompt_in_the_bank
        };
        let rubric: BTreeSet<&str> = prompt
            .rubric
            .concepts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let labelled: BTreeSet<&str> = answer.concepts.keys().map(String::as_str).collect();
        for missing in rubric.difference(&labelled) {
            problems.push(format!("{}: concept `{missing}` has no label", answer.id));
        }
        for unknown in labelled.difference(&rubric) {
            problems.push(format!(
                "{}: `{unknown}` is not a concept of {}",
                answer.id, answer.prompt
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn answer_ids_are_unique_and_texts_are_not_empty() {
    let set = calibration_set();
    let mut seen = BTreeSet::new();
    for answer in &set.answer {
        assert!(
            seen.insert(&answer.id),
            "answer id `{}` is used twice",
            answer.id
        );
        assert!(
            answer.text.split_whitespace().count() >= 30,
            "answer `{}` is too short to speak as an answer",
            answer.id
        );
    }
}

#[test]
fn every_prompt_has_all_its_twins_in_one_split() {
    let mut by_prompt: HashMap<&str, Vec<&Answer>> = HashMap::new();
    let set = calibration_set();
    for answer in &set.answer {
        by_prompt.entry(&answer.prompt).or_default().push(answer);
    }
    for (prompt, answers) in by_prompt {
        let kinds: BTreeSet<Kind> = answers.iter().map(|a| a.kind).collect();
        for twin in [
            Kind::Strong,
            Kind::Weak,
            Kind::Reciting,
            Kind::Plain,
            Kind::Gamed,
            Kind::Short,
            Kind::Offtopic,
        ] {
            assert!(kinds.contains(&twin), "{prompt} has no {twin:?} answer");
        }
        let splits: BTreeSet<bool> = answers.iter().map(|a| a.split == Split::Tune).collect();
        assert_eq!(splits.len(), 1, "answers to {prompt} are in both splits");
    }
}

#[test]
fn an_off_topic_answer_names_another_prompt_of_the_bank_and_only_it_does() {
    let bank = builtin_bank();
    for answer in &calibration_set().answer {
        match (&answer.answers, answer.kind) {
            (Some(other), Kind::Offtopic) => {
                assert!(
                    bank.prompt(other).is_ok(),
                    "{}: no prompt {other}",
                    answer.id
                );
                assert_ne!(
                    other, &answer.prompt,
                    "{} answers its own prompt",
                    answer.id
                );
            }
            (None, Kind::Offtopic) => panic!("{}: which prompt does it answer?", answer.id),
            (Some(_), _) => panic!(
                "{}: only an off-topic answer answers another prompt",
                answer.id
            ),
            (None, _) => {}
        }
    }
}

#[test]
fn every_answer_has_a_coach_score_and_the_coach_ranks_the_kinds() {
    // A sanity check on the coach's scores, which were given blind to the kinds: if they did
    // not rank strong and plain answers above keyword lists, they could not rank a scorer.
    let set = calibration_set();
    let median = |kind: Kind| {
        let mut scores: Vec<u32> = set
            .answer
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.coach)
            .collect();
        scores.sort_unstable();
        scores[scores.len() / 2]
    };
    assert!(set.answer.iter().all(|a| a.coach <= 100));
    for good in [Kind::Strong, Kind::Plain] {
        for poor in [
            Kind::Weak,
            Kind::Reciting,
            Kind::Gamed,
            Kind::Negated,
            Kind::Offtopic,
        ] {
            assert!(
                median(good) > median(poor) + 40,
                "{good:?} against {poor:?}"
            );
        }
    }
}

#[test]
fn the_set_is_large_and_varied_enough_to_measure_with() {
    let bank = builtin_bank();
    let set = calibration_set();
    let prompts: BTreeSet<&str> = set.answer.iter().map(|a| a.prompt.as_str()).collect();
    let holdout: BTreeSet<&str> = set
        .answer
        .iter()
        .filter(|a| a.split == Split::Holdout)
        .map(|a| a.prompt.as_str())
        .collect();
    let holdout_categories: BTreeSet<&str> = holdout
        .iter()
        .filter_map(|id| bank.prompt(id).ok())
        .map(|p| p.category.as_str())
        .collect();
    let negated_or_hedged = set
        .answer
        .iter()
        .filter(|a| matches!(a.kind, Kind::Negated | Kind::Hedged))
        .count();
    assert!(prompts.len() >= 16, "only {} prompts", prompts.len());
    assert!(set.answer.len() >= 58, "only {} answers", set.answer.len());
    assert!(
        negated_or_hedged >= 10,
        "only {negated_or_hedged} negated or hedged answers"
    );
    let share = holdout.len() as f64 / prompts.len() as f64;
    assert!(
        (0.25..=0.4).contains(&share),
        "holdout is {share:.2} of the prompts"
    );
    assert!(
        holdout_categories.len() >= 4,
        "holdout spans only {holdout_categories:?}"
    );
}

#[test]
fn strong_and_plain_answers_back_more_than_their_poor_twins() {
    // A sanity check on the labels themselves: if a weak twin were labelled as well backed as
    // the strong one, the pair could not tell a scorer anything.
    let set = calibration_set();
    let backed = |a: &Answer| a.concepts.values().filter(|l| **l == Label::Backed).count();
    for strong in set
        .answer
        .iter()
        .filter(|a| matches!(a.kind, Kind::Strong | Kind::Plain))
    {
        for twin in set.answer.iter().filter(|a| {
            a.prompt == strong.prompt
                && matches!(
                    a.kind,
                    Kind::Weak | Kind::Reciting | Kind::Gamed | Kind::Offtopic
                )
        }) {
            assert!(
                backed(twin) < backed(strong),
                "{} backs as many concepts as {}",
                twin.id,
                strong.id
            );
        }
    }
}

/// What `scripts/calibrate` records about the transcripts it made: answer and voice to the
/// voice settings and the SHA-1 prefix of the text it was spoken from.
fn manifest() -> BTreeMap<(String, String), String> {
    let path = calibration_dir().join("asr/manifest.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; make the transcripts with \
             `scripts/calibrate --model PATH/ggml-tiny.en.bin`",
            path.display()
        )
    });
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "{}: bad line `{line}`", path.display());
            ((fields[0].into(), fields[1].into()), fields[3].into())
        })
        .collect()
}

fn text_sha1(text: &str) -> String {
    use sha1::{Digest, Sha1};
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let digest = Sha1::digest(one_line.as_bytes());
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_owned()
}

#[test]
fn every_transcript_is_current_and_from_one_of_its_answers_voices() {
    let set = calibration_set();
    let made = manifest();
    let mut problems = Vec::new();
    let mut found = 0;
    for (i, answer) in set.answer.iter().enumerate() {
        for k in 0..3 {
            let voice = VOICES[(3 * i + k) % VOICES.len()];
            let path = calibration_dir().join(format!("asr/{}.{voice}.json", answer.id));
            let Ok(text) = std::fs::read_to_string(&path) else {
                problems.push(format!("{}: missing", path.display()));
                continue;
            };
            found += 1;
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let heard = json["transcript"]["text"].as_str().unwrap_or("");
            let seconds = json["duration_seconds"].as_f64().unwrap_or(0.0);
            if heard.split_whitespace().count() < 10 || seconds < 5.0 {
                problems.push(format!("{}: no real transcript", path.display()));
            }
            let key = (answer.id.clone(), voice.to_owned());
            if made.get(&key) != Some(&text_sha1(&answer.text)) {
                problems.push(format!("{}: made from an older text", path.display()));
            }
        }
    }
    let files = std::fs::read_dir(calibration_dir().join("asr"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(
        files, found,
        "a transcript in asr/ belongs to no answer's voices"
    );
    assert_eq!(
        found,
        3 * set.answer.len(),
        "every answer has a transcript in each of its three voices"
    );
    assert!(
        problems.is_empty(),
        "{}\nremake them with `scripts/calibrate --model PATH/ggml-tiny.en.bin`",
        problems.join("\n")
    );
}
