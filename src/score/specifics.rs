//! Specifics: the details that show an answer happened or was thought through: numbers, times,
//! named things, results, and actions the speaker took. Reciting a rubric has none of them.

use serde::{Deserialize, Serialize};

use super::lexicon;
use super::text::Token;

/// What kind of detail a specific is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecificKind {
    /// "30 percent", "two weeks", "a million members".
    Number,
    /// "on Friday", "that quarter", "in March".
    Time,
    /// A name: "Netflix", "Open Connect", "CDN" (as Whisper capitalises it).
    Name,
    /// A change that came of it: "churn dropped", "we doubled sign-ups".
    Result,
    /// Something the speaker or the team did: "I pulled the data", "we rebuilt the page".
    Action,
}

/// One specific found in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Specific {
    pub kind: SpecificKind,
    /// The token it sits on (for an action, the verb).
    pub token: usize,
    /// For an action, the first content word after the verb: what was done to. Coverage
    /// refuses an action whose object is the rubric's own wording ("we found common ground").
    pub object: Option<usize>,
}

/// Every specific in an answer. `words` are the transcript words as written (their capitals
/// mark names); `tokens` index into them. `topic` holds the normalised words of the question
/// and its tags: a name the question already gave ("Netflix") is its topic, not a detail.
pub fn find(tokens: &[Token], words: &[&str], topic: &[String]) -> Vec<Specific> {
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let norm = token.norm.as_str();
        let kind = if is_number(norm) && !is_back_reference(tokens, i) {
            Some(SpecificKind::Number)
        } else if lexicon::TIME_WORDS.contains(&norm) || is_pinned_period(tokens, i) {
            Some(SpecificKind::Time)
        } else if is_name(tokens, words, i) && !topic.iter().any(|t| t == norm) {
            Some(SpecificKind::Name)
        } else if lexicon::RESULT_VERBS.contains(&norm) {
            Some(SpecificKind::Result)
        } else if is_action(tokens, i) {
            Some(SpecificKind::Action)
        } else {
            None
        };
        if let Some(kind) = kind {
            let object = (kind == SpecificKind::Action)
                .then(|| action_object(tokens, i))
                .flatten();
            if kind == SpecificKind::Action && object.is_none() {
                continue;
            }
            found.push(Specific {
                kind,
                token: i,
                object,
            });
        }
    }
    found
}

/// A name: an acronym, or a capitalised word that does not open a sentence or a quote. A
/// capital alone is not enough: "OK", "Um" and the other words Whisper capitalises out of
/// habit are no names, and neither is a word the answer also says in lower case elsewhere
/// ("Team" and "team"), since a name keeps its capital every time. Never "I".
fn is_name(tokens: &[Token], words: &[&str], i: usize) -> bool {
    let token = &tokens[i];
    let Some(word) = words.get(token.word_index) else {
        return false;
    };
    let letters: String = word.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 2
        || lexicon::FIRST_PERSON.contains(&token.norm.as_str())
        || lexicon::NOT_NAMES.contains(&token.norm.as_str())
        || lexicon::is_hesitation_spelling(word)
    {
        return false;
    }
    // An acronym is a name even when it spells a small word ("IT", "US").
    if letters.chars().all(|c| c.is_uppercase()) {
        return true;
    }
    if token.stop {
        return false;
    }
    let capitalised = letters.chars().next().is_some_and(char::is_uppercase);
    let opens = i == 0
        || matches!(
            tokens[i - 1].punct_after,
            Some('.' | '?' | '!' | ':' | '\u{2014}')
        )
        || word.starts_with(['"', '\u{201c}', '\'', '(']);
    let said_in_lower_case = tokens.iter().any(|t| {
        t.norm == token.norm
            && words
                .get(t.word_index)
                .and_then(|w| w.chars().find(|c| c.is_alphabetic()))
                .is_some_and(char::is_lowercase)
    });
    capitalised && !opens && !said_in_lower_case
}

/// A length of time with a word or a number before it that makes it one particular stretch.
fn is_pinned_period(tokens: &[Token], i: usize) -> bool {
    lexicon::PERIOD_WORDS.contains(&tokens[i].norm.as_str()) && i > 0 && is_pin(&tokens[i - 1].norm)
}

fn is_pin(norm: &str) -> bool {
    lexicon::PERIOD_ANCHORS.contains(&norm) || is_number(norm)
}

/// "the two perspectives", "those three": a spelled-out number after a determiner points back
/// at things already named rather than counting anything new.
fn is_back_reference(tokens: &[Token], i: usize) -> bool {
    let spelled = !tokens[i].norm.chars().any(|c| c.is_ascii_digit());
    spelled
        && i > 0
        && matches!(
            tokens[i - 1].norm.as_str(),
            "the" | "those" | "these" | "both"
        )
}

fn is_number(norm: &str) -> bool {
    norm.chars().any(|c| c.is_ascii_digit()) || lexicon::NUMBER_WORDS.contains(&norm)
}

/// The first content word after an action's verb, in the same clause: what was acted on.
/// None when the clause ends first or the word is no object ("I made sure", "we went ahead").
fn action_object(tokens: &[Token], verb: usize) -> Option<usize> {
    let mut j = verb;
    while tokens[j].punct_after.is_none() {
        j += 1;
        let token = tokens.get(j)?;
        if !token.stop {
            return (!lexicon::LIGHT_OBJECTS.contains(&token.norm.as_str())).then_some(j);
        }
    }
    None
}

/// A past-tense verb right after "I" or "we": something the speaker did.
fn is_action(tokens: &[Token], i: usize) -> bool {
    let norm = tokens[i].norm.as_str();
    let past = lexicon::IRREGULAR_PAST.contains(&norm) || (norm.len() > 4 && norm.ends_with("ed"));
    if !past || lexicon::NOT_ACTIONS.contains(&norm) {
        return false;
    }
    let mut j = i;
    while j > 0 && lexicon::ADVERBS_BEFORE_VERB.contains(&tokens[j - 1].norm.as_str()) && i - j < 2
    {
        j -= 1;
    }
    j > 0 && lexicon::DOERS.contains(&tokens[j - 1].norm.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::text::Normalizer;
    use super::*;

    fn kinds(text: &str) -> Vec<(String, SpecificKind)> {
        let n = Normalizer::default();
        let words: Vec<&str> = text.split_whitespace().collect();
        let tokens = n.tokenize(words.iter().copied());
        find(&tokens, &words, &["netflix".to_string()])
            .into_iter()
            .map(|s| (tokens[s.token].norm.clone(), s.kind))
            .collect()
    }

    #[test]
    fn numbers_times_and_names_are_specific() {
        let k = kinds("We launched in Brazil on Friday and churn fell 12 percent in two weeks");
        assert!(k.contains(&("brazil".into(), SpecificKind::Name)), "{k:?}");
        assert!(k.contains(&("friday".into(), SpecificKind::Time)));
        assert!(k.contains(&("12".into(), SpecificKind::Number)));
        assert!(k.contains(&("fell".into(), SpecificKind::Result)));
        assert!(k.contains(&("launched".into(), SpecificKind::Result)));
        assert!(k.contains(&("weeks".into(), SpecificKind::Time)));
    }

    #[test]
    fn a_capital_that_opens_a_sentence_is_not_a_name() {
        let k = kinds("Honestly it went fine. Communication matters.");
        assert!(
            k.iter().all(|(_, kind)| *kind != SpecificKind::Name),
            "{k:?}"
        );
    }

    #[test]
    fn a_capital_is_not_enough_for_a_name() {
        assert!(kinds("and then, OK, we moved on").is_empty());
        assert!(kinds("so Um we waited").is_empty());
        let k = kinds("we asked the Team and the team said yes");
        assert!(
            k.iter().all(|(_, kind)| *kind != SpecificKind::Name),
            "{k:?}"
        );
        let k = kinds("we asked Priya and Priya said yes");
        assert!(k.contains(&("priya".into(), SpecificKind::Name)), "{k:?}");
    }

    #[test]
    fn every_number_word_counts() {
        for word in [
            "zero",
            "thirteen",
            "fourteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ] {
            let k = kinds(&format!("it took {word} attempts"));
            assert_eq!(k, [(word.to_string(), SpecificKind::Number)], "{word}");
        }
    }

    #[test]
    fn an_acronym_is_a_name() {
        let k = kinds("so the CDN serves the file");
        assert_eq!(k, [("cdn".to_string(), SpecificKind::Name)]);
        let k = kinds("then IT approved it");
        assert_eq!(k, [("it".to_string(), SpecificKind::Name)]);
        assert!(kinds("and then I'm sure I'd say").is_empty());
    }

    #[test]
    fn a_past_verb_after_i_is_an_action_but_a_feeling_is_not() {
        let k = kinds("I then pulled the refund data and I learned a lot and I wanted more");
        assert_eq!(k, [("pulled".to_string(), SpecificKind::Action)]);
        assert!(
            kinds("I think it made me better").is_empty(),
            "made is not the speaker's"
        );
    }

    #[test]
    fn generic_talk_has_no_specifics() {
        assert!(kinds("my biggest weakness is that I work too hard and I care a lot").is_empty());
    }

    #[test]
    fn a_length_of_time_is_specific_only_when_pinned_down() {
        let k = kinds("that quarter we cut it and a year later churn was flat");
        assert!(k.contains(&("quarter".into(), SpecificKind::Time)), "{k:?}");
        assert!(k.contains(&("year".into(), SpecificKind::Time)), "{k:?}");
        let k = kinds("there was pressure to hit the number for the quarter and trust over years");
        assert!(
            k.iter().all(|(_, kind)| *kind != SpecificKind::Time),
            "{k:?}"
        );
    }

    #[test]
    fn an_action_needs_an_object_of_its_own() {
        let k =
            kinds("I made sure to listen and I just went ahead, then I rebuilt the pricing page");
        assert_eq!(k, [("rebuilt".to_string(), SpecificKind::Action)]);
        assert!(
            kinds("and so I reversed it.").is_empty(),
            "nothing acted on"
        );
    }

    #[test]
    fn a_name_the_question_gave_is_its_topic_not_a_detail() {
        let k = kinds("I would do it at Netflix with Open Connect");
        assert!(!k.iter().any(|(w, _)| w == "netflix"), "{k:?}");
        assert!(k.contains(&("open".into(), SpecificKind::Name)), "{k:?}");
    }

    #[test]
    fn the_two_of_them_counts_nothing() {
        assert!(kinds("a balance between the two perspectives").is_empty());
        let k = kinds("the 2 plans and two quotes");
        assert_eq!(
            k,
            [
                ("2".to_string(), SpecificKind::Number),
                ("two".to_string(), SpecificKind::Number)
            ]
        );
    }
}
