//! The bank's TOML as written, with source spans, and the checks that turn it into the model.
//! Only this file knows the TOML layout of prompts and playlists.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::model::*;
use super::{line_col, Bank, BankError, BankFile, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    #[serde(default)]
    prompt: Vec<RawPrompt>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompt {
    id: Spanned<String>,
    category: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    text: Spanned<String>,
    think_seconds: Option<u32>,
    structure: Option<Spanned<String>>,
    rubric: RawRubric,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRubric {
    seconds: Spanned<Vec<f64>>,
    wpm: Option<Spanned<Vec<f64>>>,
    weights: Option<Spanned<Weights>>,
    #[serde(default)]
    concept: Vec<RawConcept>,
    #[serde(default)]
    avoid: Vec<RawAvoid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConcept {
    name: Spanned<String>,
    any: Spanned<Vec<String>>,
    weight: Option<Spanned<f64>>,
    follow_up: Option<String>,
    means: Option<Spanned<String>>,
    #[serde(default)]
    also_means: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAvoid {
    phrase: Spanned<String>,
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaylistFile {
    name: String,
    think_seconds: Option<u32>,
    #[serde(default)]
    shuffle: bool,
    #[serde(default = "default_follow_ups")]
    follow_ups: bool,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

fn default_follow_ups() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    say: Option<String>,
    prompt: Option<Spanned<String>>,
    pick: Option<Spanned<RawPick>>,
    due: Option<Spanned<usize>>,
    think_seconds: Option<u32>,
    max_seconds: Option<u32>,
    repeat_until: Option<Spanned<f64>>,
    max_tries: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPick {
    category: Option<String>,
    tag: Option<String>,
    #[serde(default = "default_pick_count")]
    count: usize,
}

fn default_pick_count() -> usize {
    1
}

/// The longest `means` sentence, in words: the sentence model reads about 128 word pieces, and
/// one plain sentence compares better with a short stretch of speech than a paragraph does.
const MEANS_MAX_WORDS: usize = 30;

/// Collects problems against one file.
struct Reporter<'a> {
    file: &'a BankFile,
    problems: &'a mut Vec<Problem>,
}

impl Reporter<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(&self.file.text, span.start);
        self.problems.push(Problem {
            file: self.file.display.clone(),
            line,
            column,
            message: message.into(),
        });
    }

    fn toml_error(&mut self, error: toml::de::Error) {
        let span = error.span().unwrap_or(0..0);
        // toml's message repeats the position and the source line; keep the first line only.
        let message = error
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned();
        self.at(span, message);
    }
}

/// Parses and checks every layer; a later layer's prompt replaces an earlier one with its id.
pub(super) fn build(layers: &[Vec<BankFile>]) -> Result<Bank, BankError> {
    let mut problems = Vec::new();
    let mut prompts: Vec<Prompt> = Vec::new();
    let mut playlist_files: Vec<(&BankFile, PlaylistFile)> = Vec::new();

    for layer in layers {
        let mut layer_prompts: Vec<Prompt> = Vec::new();
        let mut seen: HashMap<String, (String, usize, usize)> = HashMap::new();
        for file in layer {
            let mut report = Reporter {
                file,
                problems: &mut problems,
            };
            if file.is_playlist {
                match toml::from_str::<PlaylistFile>(&file.text) {
                    Ok(playlist) => playlist_files.push((file, playlist)),
                    Err(e) => report.toml_error(e),
                }
                continue;
            }
            let parsed = match toml::from_str::<PromptFile>(&file.text) {
                Ok(parsed) => parsed,
                Err(e) => {
                    report.toml_error(e);
                    continue;
                }
            };
            for raw in parsed.prompt {
                let id_span = raw.id.span();
                let (line, column) = line_col(&file.text, id_span.start);
                let id = raw.id.get_ref().clone();
                if let Some((f, l, c)) = seen.get(&id) {
                    report.at(
                        id_span,
                        format!("duplicate prompt id `{id}` (first defined at {f}:{l}:{c})"),
                    );
                    continue;
                }
                seen.insert(id, (file.display.clone(), line, column));
                if let Some(prompt) = check_prompt(raw, &mut report) {
                    layer_prompts.push(prompt);
                }
            }
        }
        for prompt in layer_prompts {
            match prompts.iter_mut().find(|p| p.id == prompt.id) {
                Some(existing) => *existing = prompt,
                None => prompts.push(prompt),
            }
        }
    }

    let mut playlists: Vec<Playlist> = Vec::new();
    for (file, raw) in playlist_files {
        let mut report = Reporter {
            file,
            problems: &mut problems,
        };
        let playlist = check_playlist(file, raw, &prompts, &mut report);
        match playlists.iter_mut().find(|p| p.id == playlist.id) {
            Some(existing) => *existing = playlist,
            None => playlists.push(playlist),
        }
    }

    if problems.is_empty() {
        Ok(Bank { prompts, playlists })
    } else {
        Err(BankError { problems })
    }
}

/// Checks a `[min, max]` pair: two positive numbers, min below max.
fn check_range(value: &Spanned<Vec<f64>>, what: &str, report: &mut Reporter) -> Option<[f64; 2]> {
    match value.get_ref().as_slice() {
        [min, max] if *min > 0.0 && min < max => Some([*min, *max]),
        [min, max] if min >= max => {
            report.at(
                value.span(),
                format!("{what} range [{min}, {max}] is inverted or empty: the first number must be smaller"),
            );
            None
        }
        [_, _] => {
            report.at(value.span(), format!("{what} range must be above zero"));
            None
        }
        other => {
            report.at(
                value.span(),
                format!(
                    "{what} must be [min, max], two numbers; found {} numbers",
                    other.len()
                ),
            );
            None
        }
    }
}

fn check_prompt(raw: RawPrompt, report: &mut Reporter) -> Option<Prompt> {
    let before = report.problems.len();
    let id = raw.id.get_ref();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        report.at(
            raw.id.span(),
            format!("prompt id `{id}` must be letters, digits, `-` or `_`"),
        );
    }
    for (field, value) in [("category", &raw.category), ("text", &raw.text)] {
        if value.get_ref().trim().is_empty() {
            report.at(value.span(), format!("`{field}` is empty"));
        }
    }
    let structure = match raw
        .structure
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        None => None,
        Some(("star", _)) => Some(Structure::Star),
        Some((other, span)) => {
            report.at(
                span,
                format!("unknown structure `{other}`; the one known is `star`"),
            );
            None
        }
    };
    let rubric = raw.rubric;
    let seconds = check_range(&rubric.seconds, "seconds", report);
    let wpm = rubric
        .wpm
        .as_ref()
        .and_then(|w| check_range(w, "wpm", report));
    let weights = match rubric.weights {
        None => Weights::default(),
        Some(spanned) => {
            let span = spanned.span();
            let weights = spanned.into_inner();
            let values = weights.as_array();
            if values.iter().any(|w| *w < 0.0 || !w.is_finite()) {
                report.at(span, "weights must not be negative");
            } else if values[..6].iter().sum::<f64>() <= 0.0 {
                // Delivery alone is not enough: it counts only when the audio was measured.
                report.at(span, "weights sum to zero: at least one must be above zero");
            }
            weights
        }
    };
    let mut concepts = Vec::new();
    for concept in rubric.concept {
        let name = concept.name.get_ref();
        if name.trim().is_empty() {
            report.at(concept.name.span(), "concept `name` is empty");
        }
        let phrases: Vec<String> = concept.any.get_ref().clone();
        if phrases.iter().all(|p| p.trim().is_empty()) {
            report.at(
                concept.any.span(),
                format!("concept `{name}` has no phrases: list at least one in `any`"),
            );
        }
        let weight = match &concept.weight {
            None => 1.0,
            Some(w) if *w.get_ref() > 0.0 && w.get_ref().is_finite() => *w.get_ref(),
            Some(w) => {
                report.at(
                    w.span(),
                    format!("concept `{name}` weight must be above zero"),
                );
                1.0
            }
        };
        let means = concept.means.and_then(|m| check_means(name, m, report));
        let also_means = concept
            .also_means
            .into_iter()
            .filter_map(|m| check_means(name, m, report))
            .collect();
        concepts.push(Concept {
            name: name.clone(),
            any: phrases
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .collect(),
            weight,
            follow_up: concept.follow_up,
            means,
            also_means,
        });
    }
    let avoid = rubric
        .avoid
        .into_iter()
        .filter_map(|a| {
            if a.phrase.get_ref().trim().is_empty() {
                report.at(a.phrase.span(), "avoid `phrase` is empty");
                return None;
            }
            Some(AvoidPhrase {
                phrase: a.phrase.into_inner(),
                why: a.why,
            })
        })
        .collect();
    if report.problems.len() > before {
        return None;
    }
    Some(Prompt {
        id: raw.id.into_inner(),
        category: raw.category.into_inner(),
        tags: raw.tags,
        text: raw.text.into_inner(),
        think_seconds: raw.think_seconds,
        structure,
        rubric: Rubric {
            seconds: seconds?,
            wpm,
            weights,
            concepts,
            avoid,
        },
        source: report.file.display.clone(),
    })
}

/// Checks a concept's `means`: one sentence with words in it, short enough to compare with a
/// stretch of speech.
fn check_means(concept: &str, means: Spanned<String>, report: &mut Reporter) -> Option<String> {
    let words = means.get_ref().split_whitespace().count();
    if words == 0 {
        report.at(
            means.span(),
            format!("concept `{concept}` has an empty `means`: write the idea as one sentence, or drop the key"),
        );
        return None;
    }
    if words > MEANS_MAX_WORDS {
        report.at(
            means.span(),
            format!("concept `{concept}` `means` has {words} words; keep it to one sentence of at most {MEANS_MAX_WORDS}"),
        );
        return None;
    }
    Some(means.into_inner().trim().to_owned())
}

fn check_playlist(
    file: &BankFile,
    raw: PlaylistFile,
    prompts: &[Prompt],
    report: &mut Reporter,
) -> Playlist {
    let id = std::path::Path::new(&file.display)
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let mut steps = Vec::new();
    for spanned in raw.step {
        let span = spanned.span();
        let step = spanned.into_inner();
        let timing = StepTiming {
            think_seconds: step.think_seconds,
            max_seconds: step.max_seconds,
            repeat_until: step.repeat_until.as_ref().map(|r| *r.get_ref()),
            max_tries: step.max_tries,
        };
        if let Some(r) = &step.repeat_until {
            if !(0.0..=100.0).contains(r.get_ref()) {
                report.at(r.span(), "repeat_until is an overall score, from 0 to 100");
            }
        }
        let kinds = [
            step.say.is_some(),
            step.prompt.is_some(),
            step.pick.is_some(),
            step.due.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            report.at(
                span,
                "a step needs exactly one of `say`, `prompt`, `pick` or `due`",
            );
            continue;
        }
        if let Some(text) = step.say {
            steps.push(Step::Say { text });
        } else if let Some(prompt) = step.prompt {
            if !prompts.iter().any(|p| &p.id == prompt.get_ref()) {
                report.at(
                    prompt.span(),
                    format!("playlist names unknown prompt `{}`", prompt.get_ref()),
                );
            }
            steps.push(Step::Prompt {
                id: prompt.into_inner(),
                timing,
            });
        } else if let Some(due) = step.due {
            if *due.get_ref() == 0 {
                report.at(due.span(), "`due` count must be at least 1");
            }
            steps.push(Step::Due {
                count: due.into_inner(),
                timing,
            });
        } else if let Some(pick) = step.pick {
            let span = pick.span();
            let pick = pick.into_inner();
            let available = prompts
                .iter()
                .filter(|p| {
                    pick.category.as_ref().is_none_or(|c| &p.category == c)
                        && pick.tag.as_ref().is_none_or(|t| p.tags.contains(t))
                })
                .count();
            if pick.category.is_none() && pick.tag.is_none() {
                report.at(span, "`pick` needs a `category` or a `tag`");
            } else if pick.count == 0 {
                report.at(span, "`pick` count must be at least 1");
            } else if available < pick.count {
                report.at(
                    span,
                    format!(
                        "`pick` wants {} prompts but the bank has {available} that match",
                        pick.count
                    ),
                );
            }
            steps.push(Step::Pick {
                category: pick.category,
                tag: pick.tag,
                count: pick.count,
                timing,
            });
        }
    }
    Playlist {
        id,
        name: raw.name,
        think_seconds: raw.think_seconds,
        shuffle: raw.shuffle,
        follow_ups: raw.follow_ups,
        steps,
        source: file.display.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> BankFile {
        BankFile {
            display: name.into(),
            is_playlist: name.starts_with("playlists/"),
            text: text.into(),
        }
    }

    fn problems(files: Vec<BankFile>) -> Vec<String> {
        match build(&[files]) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    const GOOD: &str = r#"
[[prompt]]
id = "p1"
category = "culture"
tags = ["netflix"]
text = "Tell me about a decision."
structure = "star"

[prompt.rubric]
seconds = [60, 120]
wpm = [120, 165]
weights = { coverage = 0.5, pace = 0.2, length = 0.2, fillers = 0.1 }

[[prompt.rubric.concept]]
name = "ownership"
any = ["took ownership", "my call"]
means = "I made the decision myself and answered for how it turned out"
weight = 2
follow_up = "What did you decide alone?"

[[prompt.rubric.avoid]]
phrase = "use more servers"
why = "Generic."
"#;

    #[test]
    fn a_good_prompt_file_loads_with_every_field() {
        let bank = build(&[vec![file("a.toml", GOOD)]]).unwrap();
        let p = &bank.prompts[0];
        assert_eq!(p.id, "p1");
        assert_eq!(p.structure, Some(Structure::Star));
        assert_eq!(p.rubric.seconds, [60.0, 120.0]);
        assert_eq!(p.rubric.concepts[0].weight, 2.0);
        assert_eq!(
            p.rubric.concepts[0].means.as_deref(),
            Some("I made the decision myself and answered for how it turned out")
        );
        assert_eq!(p.rubric.avoid[0].phrase, "use more servers");
        assert_eq!(p.source, "a.toml");
    }

    #[test]
    fn toml_syntax_errors_name_file_line_and_column() {
        let found = problems(vec![file(
            "bad.toml",
            "[[prompt]]\nid = \"x\ncategory = 1\n",
        )]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("bad.toml:2:"), "{found:?}");
    }

    #[test]
    fn unknown_keys_are_rejected_where_they_stand() {
        let text = GOOD.replace("structure = \"star\"", "structur = \"star\"");
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("a.toml:7:1: unknown field `structur`"),
            "{found:?}"
        );
    }

    #[test]
    fn inverted_ranges_are_rejected_at_the_value() {
        let text = GOOD.replace("seconds = [60, 120]", "seconds = [120, 60]");
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("a.toml:10:11: seconds range [120, 60] is inverted"),
            "{found:?}"
        );
        let text = GOOD.replace("wpm = [120, 165]", "wpm = [150, 150]");
        assert!(problems(vec![file("a.toml", &text)])[0]
            .contains("wpm range [150, 150] is inverted or empty"));
    }

    #[test]
    fn duplicate_ids_point_at_both_places() {
        let text = format!("{GOOD}\n{GOOD}");
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("duplicate prompt id `p1` (first defined at a.toml:3:6)"),
            "{found:?}"
        );
        let across = problems(vec![file("a.toml", GOOD), file("b.toml", GOOD)]);
        assert!(
            across[0].starts_with("b.toml:3:6: duplicate prompt id"),
            "{across:?}"
        );
    }

    #[test]
    fn a_concept_without_phrases_is_rejected() {
        let text = GOOD.replace(r#"any = ["took ownership", "my call"]"#, "any = []");
        let found = problems(vec![file("a.toml", &text)]);
        assert!(
            found[0].contains("concept `ownership` has no phrases"),
            "{found:?}"
        );
    }

    #[test]
    fn negative_or_zero_weights_are_rejected() {
        let neg = GOOD.replace("pace = 0.2,", "pace = -0.2,");
        assert!(problems(vec![file("a.toml", &neg)])[0].contains("weights must not be negative"));
        let zero = GOOD.replace(
            "{ coverage = 0.5, pace = 0.2, length = 0.2, fillers = 0.1 }",
            "{ coverage = 0, pace = 0, length = 0, fillers = 0, specificity = 0, hedges = 0 }",
        );
        assert!(problems(vec![file("a.toml", &zero)])[0].contains("weights sum to zero"));
        // Delivery alone counts only when the audio was measured: not enough on its own.
        let only_delivery = GOOD.replace(
            "{ coverage = 0.5, pace = 0.2, length = 0.2, fillers = 0.1 }",
            "{ coverage = 0, pace = 0, length = 0, fillers = 0, specificity = 0, hedges = 0, delivery = 1 }",
        );
        assert!(problems(vec![file("a.toml", &only_delivery)])[0].contains("weights sum to zero"));
        let concept = GOOD.replace("weight = 2", "weight = -1");
        assert!(problems(vec![file("a.toml", &concept)])[0].contains("weight must be above zero"));
    }

    #[test]
    fn playlists_naming_unknown_prompts_are_rejected() {
        let playlist = "name = \"x\"\n[[step]]\nsay = \"hi\"\n[[step]]\nprompt = \"nope\"\n";
        let found = problems(vec![
            file("a.toml", GOOD),
            file("playlists/x.toml", playlist),
        ]);
        assert_eq!(
            found,
            ["playlists/x.toml:5:10: playlist names unknown prompt `nope`"]
        );
    }

    #[test]
    fn a_user_prompt_replaces_a_shipped_one_with_its_id() {
        let mine = GOOD.replace("Tell me about a decision.", "My own wording.");
        let bank = build(&[vec![file("a.toml", GOOD)], vec![file("mine.toml", &mine)]]).unwrap();
        assert_eq!(bank.prompts.len(), 1);
        assert_eq!(bank.prompts[0].text, "My own wording.");
    }

    #[test]
    fn every_problem_in_a_file_is_reported_at_once() {
        let text = GOOD
            .replace("seconds = [60, 120]", "seconds = [120, 60]")
            .replace("weight = 2", "weight = 0");
        assert_eq!(problems(vec![file("a.toml", &text)]).len(), 2);
    }

    #[test]
    fn a_concept_without_means_loads_with_none() {
        let text = GOOD.replace(
            "means = \"I made the decision myself and answered for how it turned out\"\n",
            "",
        );
        let bank = build(&[vec![file("a.toml", &text)]]).unwrap();
        assert_eq!(bank.prompts[0].rubric.concepts[0].means, None);
    }

    #[test]
    fn a_blank_means_is_rejected_at_the_value() {
        let text = GOOD.replace(
            "I made the decision myself and answered for how it turned out",
            "   ",
        );
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("a.toml:17:9: concept `ownership` has an empty `means`"),
            "{found:?}"
        );
    }

    #[test]
    fn a_means_longer_than_one_sentence_is_rejected_at_the_value() {
        let long = "and then I decided ".repeat(8);
        let text = GOOD.replace(
            "I made the decision myself and answered for how it turned out",
            long.trim(),
        );
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("a.toml:17:9: concept `ownership` `means` has 32 words"),
            "{found:?}"
        );
    }

    #[test]
    fn a_means_of_thirty_words_is_accepted() {
        let thirty = "we shipped it ".repeat(10);
        let text = GOOD.replace(
            "I made the decision myself and answered for how it turned out",
            thirty.trim(),
        );
        assert_eq!(problems(vec![file("a.toml", &text)]), Vec::<String>::new());
    }

    #[test]
    fn a_misspelled_means_key_is_rejected() {
        let text = GOOD.replace("means = ", "meaning = ");
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("a.toml:17:1: unknown field `meaning`"),
            "{found:?}"
        );
    }

    #[test]
    fn a_means_that_is_not_a_string_is_rejected() {
        let text = GOOD.replace(
            "\"I made the decision myself and answered for how it turned out\"",
            "[\"two\", \"sentences\"]",
        );
        let found = problems(vec![file("a.toml", &text)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("a.toml:17:9:"), "{found:?}");
    }
}
