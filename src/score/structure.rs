//! Answer-shape checks: whether a story answer walks through Situation, Task, Action and Result,
//! in that order, judged by the cue phrases speakers use to open each part.

use serde::{Deserialize, Serialize};

use super::lexicon;
use super::phrase::Phrase;
use super::text::{Normalizer, Token};

/// How one STAR part fared in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructurePart {
    pub name: String,
    pub found: bool,
    /// When its first cue was spoken.
    pub at_seconds: Option<f64>,
    /// The cue that was heard.
    pub cue: Option<String>,
}

/// The STAR check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureCheck {
    pub kind: String,
    pub parts: Vec<StructurePart>,
    /// Whether the parts that were found came in STAR order.
    pub in_order: bool,
}

/// Looks for each STAR part's earliest cue. `time_of` maps a token index to seconds.
pub fn check_star(
    tokens: &[Token],
    normalizer: &Normalizer,
    time_of: impl Fn(usize) -> f64,
) -> StructureCheck {
    let parts: Vec<StructurePart> = lexicon::STAR_CUES
        .iter()
        .map(|(name, cues)| {
            let earliest = cues
                .iter()
                .filter_map(|cue| {
                    Phrase::new(cue, normalizer)
                        .find(tokens)
                        .map(|m| (m.first_token, *cue))
                })
                .min_by_key(|(token, _)| *token);
            StructurePart {
                name: (*name).to_owned(),
                found: earliest.is_some(),
                at_seconds: earliest.map(|(token, _)| time_of(token)),
                cue: earliest.map(|(_, cue)| cue.to_owned()),
            }
        })
        .collect();
    let times: Vec<f64> = parts.iter().filter_map(|p| p.at_seconds).collect();
    let in_order = times.windows(2).all(|w| w[0] <= w[1]);
    StructureCheck {
        kind: "star".into(),
        parts,
        in_order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(answer: &str) -> StructureCheck {
        let n = Normalizer::default();
        check_star(&n.tokenize_text(answer), &n, |i| i as f64)
    }

    #[test]
    fn a_full_story_finds_all_four_parts_in_order() {
        let c = check(
            "At the time our churn was rising. My goal was to win back lapsed members. \
             So I built a win-back campaign with the data team. As a result churn fell two percent.",
        );
        assert!(c.parts.iter().all(|p| p.found), "{c:?}");
        assert!(c.in_order);
    }

    #[test]
    fn a_missing_result_is_reported() {
        let c = check("At the time we had no roadmap. I decided to write one.");
        let result = c.parts.iter().find(|p| p.name == "result").unwrap();
        assert!(!result.found);
        assert!(
            c.parts
                .iter()
                .find(|p| p.name == "situation")
                .unwrap()
                .found
        );
    }

    #[test]
    fn a_result_told_before_the_situation_is_out_of_order() {
        let c = check("In the end we doubled signups. At the time nobody believed in the idea.");
        assert!(!c.in_order);
    }
}
