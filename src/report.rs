//! Terminal rendering: the scorecard and the bank, as a person reads them.

use std::fmt::Write as _;

use crate::bank::Prompt;
use crate::score::delivery::{DeliveryScore, FlagKind};
use crate::score::Scorecard;

/// The readable scorecard: overall, then concepts hit and missed, pace, length, fillers, pauses.
pub fn scorecard(card: &Scorecard, prompt: &Prompt) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}  [{}]", prompt.text, prompt.id);
    let _ = writeln!(w, "Overall {:.0}/100   {}", card.overall, bar(card.overall));
    let _ = writeln!(w);

    let hits = card.coverage.concepts.iter().filter(|c| c.hit).count();
    let _ = writeln!(
        w,
        "Coverage {:>3.0}   {hits} of {} concepts",
        card.coverage.score,
        card.coverage.concepts.len()
    );
    let _ = writeln!(w, "                matched by {}", card.coverage.method);
    for concept in &card.coverage.concepts {
        match (&concept.evidence, concept.at_seconds) {
            (Some(evidence), Some(at)) => {
                let how = match (concept.matched_by, concept.similarity) {
                    (Some(crate::score::coverage::MatchedBy::Meaning), Some(sim)) => {
                        format!("meaning {sim:.2}")
                    }
                    _ => "phrase".to_owned(),
                };
                let backing = match &concept.backed_by {
                    Some(specific) => format!("backed by \"{specific}\""),
                    None => "named only, nothing concrete behind it".to_owned(),
                };
                let mark = if concept.backed_by.is_some() {
                    '+'
                } else {
                    '~'
                };
                let _ = writeln!(
                    w,
                    "  {mark} {:<28} \"{evidence}\" at {} ({how}; {backing})",
                    concept.name,
                    clock(at)
                );
            }
            _ => {
                let _ = writeln!(w, "  - {:<28} missed", concept.name);
            }
        }
        for rejected in &concept.rejected {
            let _ = writeln!(
                w,
                "      not counted: \"{}\" at {} ({})",
                rejected.evidence,
                clock(rejected.at_seconds),
                rejected.why
            );
        }
    }
    let specifics: Vec<String> = card
        .specificity
        .items
        .iter()
        .take(10)
        .map(|s| {
            s.text
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_owned()
        })
        .collect();
    let _ = writeln!(
        w,
        "Specific {:>3.0}   {} concrete details ({:.1} a minute){}{}",
        card.specificity.score,
        card.specificity.count,
        card.specificity.per_minute,
        if specifics.is_empty() { "" } else { ": " },
        specifics.join(", ")
    );
    let [lo, hi] = card.pace.target;
    let _ = writeln!(
        w,
        "Pace     {:>3.0}   {:.0} words a minute (target {lo:.0} to {hi:.0})",
        card.pace.score, card.wpm
    );
    if card.pace.curve.len() > 1 {
        let curve: Vec<String> = card
            .pace
            .curve
            .iter()
            .map(|p| format!("{:.0}", p.wpm))
            .collect();
        let _ = writeln!(w, "                by 15 s: {}", curve.join(" "));
    }
    let [min, max] = card.length.target_seconds;
    let _ = writeln!(
        w,
        "Length   {:>3.0}   {:.0} s of speech, {} words (target {min:.0} to {max:.0} s; recording {:.0} s)",
        card.length.score, card.speaking_seconds, card.word_count, card.duration_seconds
    );
    let _ = writeln!(
        w,
        "Fillers  {:>3.0}   {} ({:.1} a minute)",
        card.fillers.score, card.fillers.count, card.fillers.per_minute
    );
    if !card.fillers.items.is_empty() {
        let items: Vec<String> = card
            .fillers
            .items
            .iter()
            .take(12)
            .map(|f| format!("{} {}", f.word, clock(f.at_seconds)))
            .collect();
        let more = card.fillers.items.len().saturating_sub(12);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let _ = writeln!(w, "                {}{tail}", items.join(", "));
    }
    let hedges: Vec<String> = card
        .hedges
        .items
        .iter()
        .take(12)
        .map(|h| format!("\"{}\" {}", h.text, clock(h.at_seconds)))
        .collect();
    let _ = writeln!(
        w,
        "Hedges   {:>3.0}   {} ({:.1} a minute){}{}",
        card.hedges.score,
        card.hedges.count,
        card.hedges.per_minute,
        if hedges.is_empty() { "" } else { ": " },
        hedges.join(", ")
    );
    delivery(w, &card.delivery);
    if card.pauses.is_empty() {
        let _ = writeln!(w, "Pauses         none long enough to notice");
    } else {
        let pauses: Vec<String> = card
            .pauses
            .iter()
            .map(|p| format!("{:.1} s at {}", p.seconds, clock(p.at_seconds)))
            .collect();
        let _ = writeln!(w, "Pauses         {}", pauses.join(", "));
    }
    for avoided in &card.avoided {
        let _ = writeln!(
            w,
            "Avoid          \"{}\" at {}: {}",
            avoided.evidence,
            clock(avoided.at_seconds),
            avoided.why
        );
    }
    if let Some(structure) = &card.structure {
        let parts: Vec<String> = structure
            .parts
            .iter()
            .map(|p| format!("{} {}", p.name, if p.found { "yes" } else { "no" }))
            .collect();
        let order = if structure.in_order {
            "in order"
        } else {
            "out of order"
        };
        let _ = writeln!(w, "Structure      STAR: {} ({order})", parts.join(", "));
    }
    let _ = writeln!(w);
    for line in &card.feedback {
        let _ = writeln!(w, "* {line}");
    }
    let _ = writeln!(w);
    let _ = writeln!(w, "Transcript ({}):", card.transcript.source);
    let _ = writeln!(
        w,
        "{}",
        wrap(
            if card.transcript.text.is_empty() {
                "(no words)"
            } else {
                &card.transcript.text
            },
            90
        )
    );
    out
}

/// The delivery lines: score, pitch, level, then what was flagged.
fn delivery(w: &mut String, d: &DeliveryScore) {
    let score = d
        .score
        .map_or_else(|| "  -".to_owned(), |s| format!("{s:>3.0}"));
    let mut heard = Vec::new();
    if let Some(p) = &d.pitch {
        heard.push(format!(
            "pitch {:.0} Hz, moves {:.1} semitones",
            p.median_hz, p.spread_semitones
        ));
    }
    if let Some(l) = &d.level {
        heard.push(format!("level {:.0} dBFS", l.speech_dbfs));
        if l.clipped_percent > 0.0 {
            heard.push(format!("{:.2}% clipped", l.clipped_percent));
        }
        if l.phrases > 0 {
            heard.push(format!(
                "{} of {} phrases trail off",
                l.trailing.len(),
                l.phrases
            ));
        }
    }
    if d.score.is_none() {
        heard.push("audio not measured".into());
    }
    let _ = writeln!(w, "Delivery {score}   {}", heard.join(", "));
    if let Some(p) = d.pitch.as_ref().filter(|p| p.windows.len() > 1) {
        let by: Vec<String> = p
            .windows
            .iter()
            .map(|x| x.spread_semitones.map_or("-".into(), |s| format!("{s:.1}")))
            .collect();
        let _ = writeln!(w, "                pitch by 15 s: {}", by.join(" "));
    }
    for r in &d.repeated {
        let times: Vec<String> = r.times.iter().take(6).map(|&t| clock(t)).collect();
        let _ = writeln!(
            w,
            "                \"{}\" {} times: {}",
            r.text,
            r.count,
            times.join(", ")
        );
    }
    for flag in &d.flags {
        let _ = writeln!(w, "                ! {}", flag_name(flag.kind));
    }
}

fn flag_name(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Monotone => "monotone",
        FlagKind::TooQuiet => "too quiet",
        FlagKind::Clipping => "clipping",
        FlagKind::TrailingOff => "trailing off",
        FlagKind::Repeated => "repeated words",
    }
}

/// One line of `viva bench delivery`: a recording's delivery measures and how long they took.
pub fn delivery_figures(f: &crate::bench::DeliveryFigures) -> String {
    let d = &f.delivery;
    let pitch = d.pitch.as_ref().map_or("pitch -".to_owned(), |p| {
        format!(
            "pitch {:.0} Hz spread {:.2} st",
            p.median_hz, p.spread_semitones
        )
    });
    let level = d.level.as_ref().map_or("level -".to_owned(), |l| {
        format!(
            "level {:.1} dBFS clipped {:.2}% tail drop {:.1} dB ({} of {} phrases trail)",
            l.speech_dbfs,
            l.clipped_percent,
            l.tail_drop_db,
            l.trailing.len(),
            l.phrases
        )
    });
    let flags: Vec<&str> = d.flags.iter().map(|x| flag_name(x.kind)).collect();
    format!(
        "{}: {:.1} s, speech {:.1} s, voiced {:.1} s; {pitch}; {level}; flags [{}]; features {:.1} ms (vad {:.0} ms)",
        f.file,
        f.audio_seconds,
        f.speech_seconds,
        f.voiced_seconds,
        flags.join(", "),
        f.features_ms,
        f.vad_ms
    )
}

/// One prompt with its rubric, for `viva prompts show`.
pub fn prompt(p: &Prompt) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}  ({}; {})", p.id, p.category, p.tags.join(", "));
    let _ = writeln!(w, "{}", wrap(&p.text, 90));
    let _ = writeln!(w);
    let [min, max] = p.rubric.seconds;
    let _ = writeln!(w, "Answer length: {min:.0} to {max:.0} s");
    if let Some([lo, hi]) = p.rubric.wpm {
        let _ = writeln!(w, "Pace: {lo:.0} to {hi:.0} words a minute");
    }
    if let Some(t) = p.think_seconds {
        let _ = writeln!(w, "Think time: {t} s");
    }
    if p.structure.is_some() {
        let _ = writeln!(w, "Structure: STAR (situation, task, action, result)");
    }
    let ws = p.rubric.weights;
    let _ = writeln!(
        w,
        "Weights: coverage {} pace {} length {} fillers {}",
        ws.coverage, ws.pace, ws.length, ws.fillers
    );
    let _ = writeln!(w, "\nConcepts:");
    for c in &p.rubric.concepts {
        let _ = writeln!(
            w,
            "  {} (weight {}): {}",
            c.name,
            c.weight,
            c.any.join(" | ")
        );
        if let Some(m) = &c.means {
            let _ = writeln!(w, "      means: {m}");
        }
        if let Some(f) = &c.follow_up {
            let _ = writeln!(w, "      follow-up: {f}");
        }
    }
    if !p.rubric.avoid.is_empty() {
        let _ = writeln!(w, "\nAvoid:");
        for a in &p.rubric.avoid {
            let _ = writeln!(w, "  \"{}\": {}", a.phrase, a.why);
        }
    }
    let _ = writeln!(w, "\nDefined in {}", p.source);
    out
}

/// Seconds as `m:ss`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn bar(score: f64) -> String {
    let filled = (score / 5.0).round() as usize;
    format!(
        "[{}{}]",
        "#".repeat(filled),
        ".".repeat(20 - filled.min(20))
    )
}

/// Wraps text at word boundaries.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_shows_minutes_and_seconds() {
        assert_eq!(clock(75.4), "1:15");
        assert_eq!(clock(5.0), "0:05");
    }

    #[test]
    fn prompt_view_shows_a_concepts_means_under_its_phrases() {
        use crate::bank::{Concept, Rubric, Weights};
        let p = Prompt {
            id: "p".into(),
            category: "culture".into(),
            tags: vec![],
            text: "Tell me about a decision.".into(),
            think_seconds: None,
            structure: None,
            rubric: Rubric {
                seconds: [60.0, 120.0],
                wpm: None,
                weights: Weights::default(),
                concepts: vec![Concept {
                    name: "ownership".into(),
                    any: vec!["my call".into()],
                    weight: 1.0,
                    follow_up: None,
                    means: Some("I made the decision myself".into()),
                    also_means: Vec::new(),
                }],
                avoid: vec![],
            },
            source: "a.toml".into(),
        };
        let shown = prompt(&p);
        assert!(
            shown.contains(
                "  ownership (weight 1): my call\n      means: I made the decision myself\n"
            ),
            "{shown}"
        );
    }

    #[test]
    fn wrap_breaks_at_word_boundaries() {
        assert_eq!(wrap("one two three four", 9), "one two\nthree\nfour");
    }
}
