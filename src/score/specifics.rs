//! Specifics: the details that show an answer happened or was thought through: numbers, times,
//! named things, results, and actions the speaker took. Reciting a rubric has none of them.

use serde::{Deserialize, Serialize};

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
}

const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "fifteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "billions",
    "percent",
    "half",
    "halved",
    "double",
    "doubled",
    "tripled",
    "dozen",
    "twice",
    "thrice",
];
const TIME_WORDS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "weekend",
    "january",
    "february",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "week",
    "weeks",
    "month",
    "months",
    "quarter",
    "quarters",
    "year",
    "hours",
    "minutes",
    "yesterday",
    "overnight",
    "holiday",
    "holidays",
    "q1",
    "q2",
    "q3",
    "q4",
];
/// Verbs of change, in the past: a result happened.
const RESULT_VERBS: &[&str] = &[
    "increased",
    "decreased",
    "grew",
    "dropped",
    "doubled",
    "halved",
    "reduced",
    "improved",
    "raised",
    "lowered",
    "saved",
    "rose",
    "fell",
    "jumped",
    "climbed",
    "declined",
    "boosted",
    "lifted",
    "recovered",
    "shipped",
    "launched",
    "won",
    "lost",
    "tripled",
    "shrank",
    "cut",
    "beat",
];
/// Past-tense verbs that do not end in -ed.
const IRREGULAR_PAST: &[&str] = &[
    "took", "made", "built", "ran", "told", "wrote", "sent", "set", "led", "gave", "found", "got",
    "went", "spent", "chose", "brought", "kept", "met", "sold", "bought", "drew", "flew", "caught",
    "cut", "split", "shut", "put", "held", "rebuilt", "rewrote", "paid", "dug", "hid", "sat",
    "stood", "threw", "won", "lost", "began", "broke", "drove", "fought", "hit", "laid", "left",
    "let", "sought", "spoke", "taught", "tore", "undid", "withdrew",
];
/// -ed words that are not something done: thoughts, feelings, wants, and adjectives.
const NOT_ACTIONS: &[&str] = &[
    "learned",
    "realized",
    "realised",
    "wanted",
    "needed",
    "liked",
    "loved",
    "hated",
    "believed",
    "hoped",
    "wished",
    "seemed",
    "tried",
    "used",
    "supposed",
    "focused",
    "interested",
    "excited",
    "surprised",
    "tired",
    "involved",
    "based",
    "related",
    "called",
    "need",
    "red",
    "bed",
    "shed",
    "feed",
    "speed",
    "seed",
    "hundred",
];
/// Words that may stand between the doer and the verb: "I then pulled", "we quickly shipped".
const BETWEEN_DOER_AND_VERB: &[&str] = &[
    "then",
    "also",
    "quickly",
    "immediately",
    "personally",
    "finally",
    "just",
    "actually",
    "first",
    "eventually",
    "directly",
    "myself",
    "ourselves",
    "both",
    "all",
    "never",
];
const DOERS: &[&str] = &["i", "we"];

/// Every specific in an answer. `words` are the transcript words as written (their capitals
/// mark names); `tokens` index into them.
pub fn find(tokens: &[Token], words: &[&str]) -> Vec<Specific> {
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let norm = token.norm.as_str();
        let kind = if norm.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&norm) {
            Some(SpecificKind::Number)
        } else if TIME_WORDS.contains(&norm) {
            Some(SpecificKind::Time)
        } else if is_name(tokens, words, i) {
            Some(SpecificKind::Name)
        } else if RESULT_VERBS.contains(&norm) {
            Some(SpecificKind::Result)
        } else if is_action(tokens, i) {
            Some(SpecificKind::Action)
        } else {
            None
        };
        if let Some(kind) = kind {
            found.push(Specific { kind, token: i });
        }
    }
    found
}

/// "I" in its contracted forms, always written with a capital and never a name.
const FIRST_PERSON: &[&str] = &["i", "im", "id", "ive", "ill"];

/// A capitalised word that does not open a sentence, or an acronym; never "I".
fn is_name(tokens: &[Token], words: &[&str], i: usize) -> bool {
    let token = &tokens[i];
    let Some(word) = words.get(token.word_index) else {
        return false;
    };
    let letters: String = word.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 2 || FIRST_PERSON.contains(&token.norm.as_str()) {
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
    let opens_sentence = i == 0
        || matches!(
            tokens[i - 1].punct_after,
            Some('.' | '?' | '!' | ':' | '\u{2014}')
        );
    capitalised && !opens_sentence
}

/// A past-tense verb right after "I" or "we": something the speaker did.
fn is_action(tokens: &[Token], i: usize) -> bool {
    let norm = tokens[i].norm.as_str();
    let past = IRREGULAR_PAST.contains(&norm) || (norm.len() > 4 && norm.ends_with("ed"));
    if !past || NOT_ACTIONS.contains(&norm) {
        return false;
    }
    let mut j = i;
    while j > 0 && BETWEEN_DOER_AND_VERB.contains(&tokens[j - 1].norm.as_str()) && i - j < 2 {
        j -= 1;
    }
    j > 0 && DOERS.contains(&tokens[j - 1].norm.as_str())
}

#[cfg(test)]
mod tests {
    use super::super::text::Normalizer;
    use super::*;

    fn kinds(text: &str) -> Vec<(String, SpecificKind)> {
        let n = Normalizer::default();
        let words: Vec<&str> = text.split_whitespace().collect();
        let tokens = n.tokenize(words.iter().copied());
        find(&tokens, &words)
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
}
