//! Word error rate: how far a transcript is from what was said, for the benches and the tests.

/// Lower-case words without punctuation, for comparing transcripts.
pub fn normalised_words(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A transcript's words for scoring it against a reference: lower case, hyphenated words split
/// ("sign-ups" is "sign ups"), punctuation dropped.
pub fn wer_words(text: &str) -> Vec<String> {
    normalised_words(&text.replace('-', " "))
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate, in percent: the fewest words substituted, deleted or inserted to turn the
/// reference into the hypothesis, per reference word.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let reference = wer_words(reference);
    let errors: usize = errors_per_reference_word(&reference, &wer_words(hypothesis))
        .iter()
        .sum();
    100.0 * errors as f64 / reference.len().max(1) as f64
}

/// The word errors of one best alignment of `hypothesis` with `reference`, charged to reference
/// words: a substitution or deletion to its own word, an insertion to the reference word
/// before it (the first word for insertions at the start). Lets one long transcript be scored
/// part by part.
pub fn errors_per_reference_word(reference: &[String], hypothesis: &[String]) -> Vec<usize> {
    let (n, m) = (reference.len(), hypothesis.len());
    // distance[i][j]: edits between the first i reference words and the first j hypothesis words.
    let mut distance = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in distance.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in distance[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let substitution = usize::from(reference[i - 1] != hypothesis[j - 1]);
            distance[i][j] = (distance[i - 1][j - 1] + substitution)
                .min(distance[i - 1][j] + 1)
                .min(distance[i][j - 1] + 1);
        }
    }
    let mut charged = vec![0usize; n];
    let charge = |charged: &mut Vec<usize>, i: usize| {
        if n > 0 {
            charged[i.min(n - 1)] += 1;
        }
    };
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 {
            let substitution = usize::from(reference[i - 1] != hypothesis[j - 1]);
            if distance[i][j] == distance[i - 1][j - 1] + substitution {
                if substitution == 1 {
                    charge(&mut charged, i - 1);
                }
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && distance[i][j] == distance[i - 1][j] + 1 {
            charge(&mut charged, i - 1);
            i -= 1;
        } else {
            charge(&mut charged, i.saturating_sub(1));
            j -= 1;
        }
    }
    charged
}
