//! Filler-word detection: hesitations ("um", "uh") and the verbal tics that are only fillers in
//! some positions ("like", "you know", "I mean").

use super::lexicon;
use super::text::{fold_repeats, Normalizer, Token};

/// A filler found in an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FillerHit {
    /// The filler as listed ("you know"), not as spoken ("You know,").
    pub filler: String,
    pub first_token: usize,
}

/// Finds every filler in `tokens`, earliest first.
pub fn find_fillers(
    tokens: &[Token],
    fillers: &[String],
    normalizer: &Normalizer,
) -> Vec<FillerHit> {
    let lists: Vec<(String, Vec<String>)> = fillers
        .iter()
        .map(|f| {
            let words = normalizer
                .tokenize_text(f)
                .into_iter()
                .map(|t| fold_repeats(&t.norm))
                .collect();
            (f.to_lowercase(), words)
        })
        .filter(|(_, words): &(String, Vec<String>)| !words.is_empty())
        .collect();
    let folded: Vec<String> = tokens.iter().map(|t| fold_repeats(&t.norm)).collect();

    let mut hits = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let found = lists.iter().find(|(_, words)| {
            folded.get(i..i + words.len()) == Some(words.as_slice())
                && is_filler_here(words, tokens, i)
        });
        match found {
            Some((filler, words)) => {
                hits.push(FillerHit {
                    filler: filler.clone(),
                    first_token: i,
                });
                i += words.len();
            }
            None => i += 1,
        }
    }
    hits
}

/// Context rules for the fillers that are also ordinary words.
fn is_filler_here(words: &[String], tokens: &[Token], at: usize) -> bool {
    let before = at.checked_sub(1).map(|b| &tokens[b]);
    let after = tokens.get(at + words.len());
    let joined = words.join(" ");
    match joined.as_str() {
        "like" => like_is_filler(before, &tokens[at], after),
        "you know" => you_know_is_filler(before, &tokens[at + 1], after),
        "i mean" => i_mean_is_filler(before, &tokens[at + 1], after),
        _ => true,
    }
}

fn like_is_filler(before: Option<&Token>, like: &Token, after: Option<&Token>) -> bool {
    let comma_before = before.is_some_and(|b| b.punct_after == Some(','));
    let comma_after = like.punct_after == Some(',');
    // Set off by commas on both sides, it is a hesitation whatever comes around it.
    if comma_before && comma_after {
        return true;
    }
    let Some(before) = before else {
        // Opening the answer: "Like, the first thing..." is a filler; "Like Netflix, we..." is not.
        return comma_after;
    };
    let clause_start = before.punct_after.is_some_and(|p| p != ',');
    if !clause_start
        && (lexicon::LIKE_AS_VERB_AFTER.contains(&before.norm.as_str())
            || lexicon::LIKE_AS_PREPOSITION_AFTER.contains(&before.norm.as_str()))
    {
        return false;
    }
    // "pull back, like a big drop": after a break and straight into a noun phrase, "like"
    // gives an example ("such as"); a hesitation is set off on its own ("like, a").
    if comma_before
        && !comma_after
        && after.is_some_and(|a| lexicon::DETERMINERS.contains(&a.norm.as_str()))
    {
        return false;
    }
    if comma_after || comma_before {
        return true;
    }
    // A hedge before a quantity: "it took like three weeks".
    if after.is_some_and(|a| is_quantity(&a.norm)) {
        return true;
    }
    clause_start || lexicon::LIKE_FILLER_OPENERS.contains(&before.norm.as_str())
}

fn you_know_is_filler(before: Option<&Token>, know: &Token, after: Option<&Token>) -> bool {
    // "do you know", "if you know", "what you know": a real question or clause.
    if before.is_some_and(|b| {
        b.punct_after.is_none()
            && matches!(
                b.norm.as_str(),
                "do" | "did" | "dont" | "if" | "what" | "as" | "whether" | "that" | "how"
            )
    }) {
        return false;
    }
    // "you know the answer": followed by its object, without a pause.
    know.punct_after.is_some() || after.is_none_or(|a| is_hesitation_follow(&a.norm))
}

fn i_mean_is_filler(before: Option<&Token>, mean: &Token, after: Option<&Token>) -> bool {
    if before.is_some_and(|b| b.punct_after.is_none() && matches!(b.norm.as_str(), "what" | "that"))
    {
        return false;
    }
    if mean.punct_after.is_some() {
        return true;
    }
    !after.is_some_and(|a| matches!(a.norm.as_str(), "it" | "to" | "that" | "what"))
}

/// Words that commonly follow a hesitation "you know" rather than an object of "know".
fn is_hesitation_follow(norm: &str) -> bool {
    matches!(
        norm,
        "and" | "so" | "but" | "we" | "i" | "they" | "it" | "its" | "um" | "uh" | "like"
    )
}

fn is_quantity(norm: &str) -> bool {
    norm.chars().all(|c| c.is_ascii_digit())
        || matches!(
            norm,
            "one"
                | "two"
                | "three"
                | "four"
                | "five"
                | "six"
                | "seven"
                | "eight"
                | "nine"
                | "ten"
                | "twenty"
                | "thirty"
                | "fifty"
                | "hundred"
                | "half"
                | "maybe"
                | "several"
                | "dozen"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_giving_an_example_is_not_a_filler() {
        assert!(fillers_in("we set a line to pull back, like a big drop in retention").is_empty());
        assert_eq!(
            fillers_in("we had some early numbers, like, a few hundred trials"),
            ["like"]
        );
    }

    fn fillers_in(answer: &str) -> Vec<String> {
        let n = Normalizer::default();
        let list: Vec<String> = lexicon::default_fillers().map(str::to_owned).collect();
        find_fillers(&n.tokenize_text(answer), &list, &n)
            .into_iter()
            .map(|h| h.filler)
            .collect()
    }

    #[test]
    fn hesitations_are_fillers_even_drawn_out() {
        assert_eq!(
            fillers_in("Um, so, uhh, I think, hmmm, yes"),
            ["um", "uh", "hmm"]
        );
        assert_eq!(fillers_in("erm and er and ah"), ["erm", "er", "ah"]);
    }

    #[test]
    fn filler_like_between_commas_counts() {
        assert_eq!(fillers_in("we, like, shipped it"), ["like"]);
    }

    #[test]
    fn filler_like_is_not_the_verb_like() {
        assert!(fillers_in("I like this product").is_empty());
        assert!(fillers_in("users would really like a download button").is_empty());
        assert!(fillers_in("we didn't like the first draft").is_empty());
    }

    #[test]
    fn filler_like_is_not_the_preposition_like() {
        assert!(fillers_in("it looks like churn went up").is_empty());
        assert!(fillers_in("companies like Netflix invest in this").is_empty());
        assert!(fillers_in("things like caching and peering").is_empty());
        assert!(fillers_in("Like Netflix, we bet on originals").is_empty());
    }

    #[test]
    fn like_as_a_hedge_or_clause_opener_counts() {
        assert_eq!(fillers_in("it took like three weeks"), ["like"]);
        assert_eq!(fillers_in("so like we decided to ship"), ["like"]);
        assert_eq!(fillers_in("Like, the first thing is scale"), ["like"]);
    }

    #[test]
    fn you_know_and_i_mean_count_only_as_tics() {
        assert_eq!(fillers_in("it was, you know, hard"), ["you know"]);
        assert!(fillers_in("do you know the answer").is_empty());
        assert!(fillers_in("you know the metrics better than me").is_empty());
        assert_eq!(fillers_in("I mean, it worked"), ["i mean"]);
        assert!(fillers_in("that is what I mean by focus").is_empty());
        assert!(fillers_in("I mean it").is_empty());
    }

    #[test]
    fn a_configured_list_replaces_the_default() {
        let n = Normalizer::default();
        let list = vec!["basically".to_string(), "sort of".to_string()];
        let hits = find_fillers(
            &n.tokenize_text("um basically it was sort of fine"),
            &list,
            &n,
        );
        let words: Vec<&str> = hits.iter().map(|h| h.filler.as_str()).collect();
        assert_eq!(words, ["basically", "sort of"]);
    }
}
