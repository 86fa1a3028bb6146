//! Stored sessions as a person reads them: a session answer by answer, tries side by side,
//! progress over time, the session list, and the Markdown export.
//!
//! Pure rendering, like `report`: data from the store in, text out; no database, no files,
//! no clock. Transcripts are marked up from the scorecard alone: `[concept: words]` where a
//! rubric concept was heard, `{um}` around fillers (`uh~` when it was heard in the sound, not
//! written by Whisper), and `(pause 2.4 s)` where a long silence fell between two words.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::DateTime;

use crate::report::clock;
use crate::score::Scorecard;
use crate::store::{AnswerView, HistoryPoint, SessionSummary, SessionView};
use crate::transcribe::Transcript;

/// Narrower than this, columns and rules stop being readable; wider widths are honoured.
const MIN_WIDTH: usize = 40;
/// Sparklines show at most this many of the latest answers.
const SPARKLINE_POINTS: usize = 30;
/// Prompt and category names are cut to this in the history table.
const NAME_WIDTH: usize = 36;
/// Eight levels, lowest first.
const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One session for the terminal, wrapped to `width` columns: the header, then each answer
/// with its scores and marked-up transcript, then every prompt tried more than once with its
/// tries side by side.
pub fn session(view: &SessionView, width: usize) -> String {
    let width = width.max(MIN_WIDTH);
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}", join_wrapped(&session_title(view), " · ", width));
    let _ = writeln!(w, "{}", session_counts(view));

    for answer in &view.answers {
        let _ = writeln!(w);
        let _ = writeln!(w, "{}", rule(&answer_title(answer), width));
        answer_body(w, answer, width);
    }
    for tries in tries_by_prompt(&view.answers) {
        let _ = writeln!(w);
        compare_tries(w, &tries, width);
    }
    out
}

fn session_title(view: &SessionView) -> Vec<String> {
    let mut parts = vec![format!("Session {}", view.id)];
    if let Some(playlist) = &view.playlist {
        parts.push(format!("playlist {playlist}"));
    }
    let mut when = when(&view.started_at);
    if let Some(ended) = &view.ended_at {
        let ended = self::when(ended);
        // Same day: the end needs only its time.
        let ended = match (when.split_once(' '), ended.split_once(' ')) {
            (Some((day, _)), Some((end_day, time))) if day == end_day => time.to_owned(),
            _ => ended,
        };
        when = format!("{when} to {ended}");
    }
    parts.push(when);
    parts.push(view.status.clone());
    parts
}

fn session_counts(view: &SessionView) -> String {
    let total = view.answers.len();
    let scores: Vec<f64> = view
        .answers
        .iter()
        .filter_map(|a| a.scorecard.as_ref().filter(|_| a.complete))
        .map(|c| c.overall)
        .collect();
    let noun = if total == 1 { "answer" } else { "answers" };
    match mean(&scores) {
        Some(mean) => format!(
            "{total} {noun}, {} complete, mean overall {mean:.0}",
            scores.len()
        ),
        None => format!("{total} {noun}, none complete"),
    }
}

fn answer_title(answer: &AnswerView) -> String {
    match &answer.follow_up_of {
        Some(concept) => format!(
            "{} · follow-up on {concept} ({}) · try {}",
            answer.seq, answer.prompt_id, answer.try_number
        ),
        None => format!(
            "{} · {} · try {}",
            answer.seq, answer.prompt_id, answer.try_number
        ),
    }
}

/// What happened to an answer that has no scores.
fn unfinished(answer: &AnswerView) -> Option<String> {
    let audio = answer.audio.display();
    match answer.status.as_str() {
        "complete" if answer.scorecard.is_some() => None,
        "skipped" => Some("skipped".into()),
        "recording" => Some(format!("still recording — audio at {audio}")),
        _ => Some(format!("incomplete — audio kept at {audio}")),
    }
}

fn answer_body(w: &mut String, answer: &AnswerView, width: usize) {
    if let Some(state) = unfinished(answer) {
        let _ = writeln!(w, "{state}");
        return;
    }
    let Some(card) = &answer.scorecard else {
        return;
    };
    let scores = [
        format!("Overall {:.0}/100", card.overall),
        format!("coverage {:.0}", card.coverage.score),
        format!("specific {:.0}", card.specificity.score),
        format!("pace {:.0}", card.pace.score),
        format!("length {:.0}", card.length.score),
        format!("fillers {:.0}", card.fillers.score),
        format!("hedges {:.0}", card.hedges.score),
        card.delivery
            .score
            .map_or_else(|| "delivery -".to_owned(), |s| format!("delivery {s:.0}")),
    ];
    let _ = writeln!(w, "{}", join_wrapped(&scores, " · ", width));
    let _ = writeln!(w, "{}", join_wrapped(&vital_signs(card), " · ", width));
    const HANG: &str = "         ";
    for concept in card.coverage.concepts.iter().filter(|c| c.hit) {
        let evidence = concept.evidence.as_deref().unwrap_or("");
        let at = concept.at_seconds.map(clock).unwrap_or_default();
        let line = format!("{} \"{evidence}\" {at}", concept.name);
        let lines = wrap_words(&line, width - HANG.len());
        let _ = writeln!(w, "{}", indent(&lines, "Covered  ", HANG));
    }
    let missed = missed_concepts(card);
    if !missed.is_empty() {
        let lines = wrap_words(&missed.join(", "), width - HANG.len());
        let _ = writeln!(w, "{}", indent(&lines, "Missed   ", HANG));
    }
    for line in &card.feedback {
        let _ = writeln!(w, "{}", indent(&wrap_words(line, width - 2), "* ", "  "));
    }
    let _ = writeln!(w);
    let transcript = answer.transcript.as_ref().unwrap_or(&card.transcript);
    let units = marked_transcript(transcript, Some(card), plain);
    let lines = if units.is_empty() {
        vec!["(no words)".to_owned()]
    } else {
        wrap_units(&units, width - 2)
    };
    for line in lines {
        let _ = writeln!(w, "  {line}");
    }
}

/// Pace, length, fillers and pauses.
fn vital_signs(card: &Scorecard) -> Vec<String> {
    let pauses = match card.pauses.len() {
        0 => "no long pauses".to_owned(),
        1 => "1 long pause".to_owned(),
        n => format!("{n} long pauses"),
    };
    let fillers = match card.fillers.count {
        1 => "1 filler".to_owned(),
        n => format!("{n} fillers"),
    };
    vec![
        format!("{:.0} wpm", card.wpm),
        format!("{:.0} s of speech", card.speaking_seconds),
        format!("{} words", card.word_count),
        fillers,
        pauses,
    ]
}

fn missed_concepts(card: &Scorecard) -> Vec<&str> {
    card.coverage
        .concepts
        .iter()
        .filter(|c| !c.hit)
        .map(|c| c.name.as_str())
        .collect()
}

/// Answers grouped by question (a prompt, or one follow-up of it), in order of first ask,
/// keeping only questions tried more than once.
fn tries_by_prompt(answers: &[AnswerView]) -> Vec<Vec<&AnswerView>> {
    let mut groups: Vec<Vec<&AnswerView>> = Vec::new();
    for answer in answers {
        let key = (&answer.prompt_id, &answer.follow_up_of);
        match groups
            .iter_mut()
            .find(|g| (&g[0].prompt_id, &g[0].follow_up_of) == key)
        {
            Some(group) => group.push(answer),
            None => groups.push(vec![answer]),
        }
    }
    groups.retain(|g| g.len() > 1);
    groups
}

/// The tries of one question: a table of their numbers, then the first and last try's
/// transcripts in two columns.
fn compare_tries(w: &mut String, tries: &[&AnswerView], width: usize) {
    let first = tries[0];
    let title = match &first.follow_up_of {
        Some(concept) => format!("Tries of the follow-up on {concept} ({})", first.prompt_id),
        None => format!("Tries of {}", first.prompt_id),
    };
    let _ = writeln!(w, "{}", rule(&title, width));
    let cards: Vec<Option<&Scorecard>> = tries
        .iter()
        .map(|a| a.scorecard.as_ref().filter(|_| a.complete))
        .collect();
    let row = |label: &str, cell: &dyn Fn(&Scorecard) -> String| {
        let mut line = format!("{label:<10}");
        for card in &cards {
            let text = card.map_or_else(|| "—".to_owned(), cell);
            let _ = write!(line, "{text:>9}");
        }
        line
    };
    let mut header = format!("{:<10}", "");
    for answer in tries {
        let _ = write!(header, "{:>9}", format!("try {}", answer.try_number));
    }
    let _ = writeln!(w, "{}", header.trim_end());
    let _ = writeln!(w, "{}", row("overall", &|c| format!("{:.0}", c.overall)));
    let _ = writeln!(
        w,
        "{}",
        row("coverage", &|c| format!("{:.0}", c.coverage.score))
    );
    let _ = writeln!(w, "{}", row("wpm", &|c| format!("{:.0}", c.wpm)));
    let _ = writeln!(w, "{}", row("fillers", &|c| c.fillers.count.to_string()));
    let _ = writeln!(w, "{}", row("hedges", &|c| c.hedges.count.to_string()));
    let _ = writeln!(
        w,
        "{}",
        row("specifics", &|c| c.specificity.count.to_string())
    );
    let _ = writeln!(
        w,
        "{}",
        row("length", &|c| format!("{:.0} s", c.speaking_seconds))
    );

    let last = tries[tries.len() - 1];
    if let (Some(a), Some(b)) = (cards[0], cards[cards.len() - 1]) {
        let _ = writeln!(
            w,
            "Overall {:+.0} from try {} to try {}.",
            b.overall - a.overall,
            first.try_number,
            last.try_number
        );
    }
    let _ = writeln!(w);
    let column = (width - 3) / 2;
    let side = |answer: &AnswerView| -> Vec<String> {
        let mut lines = vec![format!("try {}", answer.try_number)];
        match (unfinished(answer), &answer.scorecard) {
            (None, Some(card)) => {
                let transcript = answer.transcript.as_ref().unwrap_or(&card.transcript);
                lines.extend(wrap_units(
                    &marked_transcript(transcript, Some(card), plain),
                    column,
                ));
            }
            (state, _) => lines.extend(wrap_words(&state.unwrap_or_default(), column)),
        }
        lines
    };
    let (left, right) = (side(first), side(last));
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or("", String::as_str);
        let r = right.get(i).map_or("", String::as_str);
        let pad = column.saturating_sub(l.chars().count());
        let _ = writeln!(w, "{l}{} │ {r}", " ".repeat(pad).as_str());
    }
}

/// The transcript as units that are never split across lines: each word with any markers
/// opening before it or closing after it, and each pause. `escape` prepares a word's text
/// for the output format.
///
/// Concepts come from their evidence (as many words as it has, from the word nearest its
/// `at_seconds`); concepts whose words overlap share one bracket. Fillers likewise. A pause
/// goes before the first word that starts after the middle of the silence.
fn marked_transcript(
    transcript: &Transcript,
    card: Option<&Scorecard>,
    escape: fn(&str) -> String,
) -> Vec<String> {
    let words = &transcript.words;
    let n = words.len();
    if n == 0 {
        return Vec::new();
    }
    let nearest = |at: f64| {
        (0..n)
            .min_by(|&a, &b| {
                (words[a].start - at)
                    .abs()
                    .total_cmp(&(words[b].start - at).abs())
            })
            .unwrap_or(0)
    };
    let span = |at: f64, text: &str| {
        let first = nearest(at);
        let len = text.split_whitespace().count().max(1);
        (first, (first + len).min(n) - 1)
    };

    // Concept spans, overlapping ones merged: (first word, last word, names).
    let mut concepts: Vec<(usize, usize, Vec<&str>)> = Vec::new();
    let mut fillers: Vec<(usize, usize)> = Vec::new();
    let mut pauses_before: Vec<Vec<f64>> = vec![Vec::new(); n + 1];
    if let Some(card) = card {
        let mut spans: Vec<(usize, usize, &str)> = card
            .coverage
            .concepts
            .iter()
            .filter(|c| c.hit)
            .filter_map(|c| {
                let (first, last) = span(c.at_seconds?, c.evidence.as_deref()?);
                Some((first, last, c.name.as_str()))
            })
            .collect();
        spans.sort_by_key(|&(first, last, _)| (first, last));
        for (first, last, name) in spans {
            match concepts.last_mut() {
                Some(open) if first <= open.1 => {
                    open.1 = open.1.max(last);
                    open.2.push(name);
                }
                _ => concepts.push((first, last, vec![name])),
            }
        }
        for item in &card.fillers.items {
            fillers.push(span(item.at_seconds, &item.word));
        }
        for pause in &card.pauses {
            let middle = pause.at_seconds + pause.seconds / 2.0;
            let at = words.iter().position(|w| w.start >= middle).unwrap_or(n);
            pauses_before[at].push(pause.seconds);
        }
    }
    let mut concept_of: Vec<Option<usize>> = vec![None; n];
    for (k, &(first, last, _)) in concepts.iter().enumerate() {
        concept_of[first..=last].fill(Some(k));
    }
    let mut filler_of: Vec<Option<usize>> = vec![None; n];
    for (k, &(first, last)) in fillers.iter().enumerate() {
        for slot in &mut filler_of[first..=last] {
            slot.get_or_insert(k);
        }
    }

    let mut units: Vec<String> = Vec::new();
    let (mut open_concept, mut open_filler) = (None, None);
    for i in 0..=n {
        let (concept, filler) = match i {
            i if i < n => (concept_of[i], filler_of[i]),
            _ => (None, None),
        };
        // Close inner before outer, so the marks always nest.
        if open_filler.is_some() && (open_filler != filler || open_concept != concept) {
            if let Some(last) = units.last_mut() {
                last.push('}');
            }
            open_filler = None;
        }
        if open_concept.is_some() && open_concept != concept {
            if let Some(last) = units.last_mut() {
                last.push(']');
            }
            open_concept = None;
        }
        for seconds in &pauses_before[i] {
            units.push(format!("(pause {seconds:.1} s)"));
        }
        if i == n {
            break;
        }
        let mut unit = String::new();
        if let Some(k) = concept.filter(|_| open_concept != concept) {
            let _ = write!(unit, "[{}: ", concepts[k].2.join(", "));
            open_concept = concept;
        }
        if filler.is_some() && open_filler != filler {
            unit.push('{');
            open_filler = filler;
        }
        if words[i].by_sound {
            // Heard in the sound, not written by Whisper: shown as such.
            let _ = write!(unit, "{}~", escape(&words[i].text));
        } else {
            unit.push_str(&escape(&words[i].text));
        }
        units.push(unit);
    }
    units
}

fn plain(text: &str) -> String {
    text.to_owned()
}

/// Backslash-escapes the characters Markdown would read as formatting.
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '{' | '}' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Progress over time: one row per prompt and one per category with the number of
/// answers, the first, last and best overall, the trend (last minus first) and a
/// sparkline. With `prompt`, that prompt's answers are listed one by one first.
pub fn history(points: &[HistoryPoint], prompt: Option<&str>) -> String {
    let points: Vec<&HistoryPoint> = points
        .iter()
        .filter(|p| prompt.is_none_or(|id| p.prompt_id == id))
        .collect();
    let mut out = String::new();
    let w = &mut out;
    if points.is_empty() {
        let _ = match prompt {
            Some(id) => writeln!(w, "No completed answers to {id} yet."),
            None => writeln!(w, "No completed answers yet."),
        };
        return out;
    }
    if let Some(id) = prompt {
        let _ = writeln!(w, "History of {id}");
        let _ = writeln!(
            w,
            "{:<16}  {:<20}  {:>7}  {:>4}  {:>8}  {:>8}  {:>5}",
            "when", "session", "overall", "wpm", "coverage", "delivery", "pitch"
        );
        let or_dash = |v: Option<f64>, decimals: usize| {
            v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
        };
        for p in &points {
            let _ = writeln!(
                w,
                "{:<16}  {:<20}  {:>7.0}  {:>4.0}  {:>8.0}  {:>8}  {:>5}",
                when(&p.at),
                p.session_id,
                p.overall,
                p.wpm,
                p.coverage,
                or_dash(p.delivery, 0),
                or_dash(p.pitch_spread, 1)
            );
        }
        let _ = writeln!(w);
    }
    let by_prompt = group(&points, |p| &p.prompt_id);
    history_table(w, "prompt", &by_prompt);
    if prompt.is_none() {
        let _ = writeln!(w);
        let by_category = group(&points, |p| &p.category);
        history_table(w, "category", &by_category);
    }
    voice_trend(w, &points);
    out
}

/// Is the monotone going away? The pitch spread of every measured answer, oldest first.
fn voice_trend(w: &mut String, points: &[&HistoryPoint]) {
    let spreads: Vec<f64> = points.iter().filter_map(|p| p.pitch_spread).collect();
    let (Some(first), Some(last)) = (spreads.first(), spreads.last()) else {
        return;
    };
    // Drawn on the sparkline's 0 to 100 scale: 3 semitones and more fill the bar.
    let scaled: Vec<f64> = spreads.iter().map(|s| s / 3.0 * 100.0).collect();
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Pitch movement (semitones; below {:.1} is a monotone): first {first:.1}, last {last:.1}, trend {:+.1}  {}",
        crate::score::delivery::MONOTONE_SEMITONES,
        last - first,
        sparkline(&scaled[scaled.len().saturating_sub(SPARKLINE_POINTS)..])
    );
}

/// Overall scores grouped by a key, in the order they were given (oldest first).
fn group<'a>(
    points: &[&'a HistoryPoint],
    key: fn(&HistoryPoint) -> &String,
) -> BTreeMap<&'a str, Vec<f64>> {
    let mut groups: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for p in points {
        groups.entry(key(p).as_str()).or_default().push(p.overall);
    }
    groups
}

fn history_table(w: &mut String, kind: &str, groups: &BTreeMap<&str, Vec<f64>>) {
    let names: Vec<String> = groups.keys().map(|k| truncate(k, NAME_WIDTH)).collect();
    let name_width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(kind.len());
    let _ = writeln!(
        w,
        "{kind:<name_width$}  {:>7}  {:>5}  {:>4}  {:>4}  {:>5}  over time",
        "answers", "first", "last", "best", "trend"
    );
    for (name, scores) in names.iter().zip(groups.values()) {
        let first = scores[0];
        let last = scores[scores.len() - 1];
        let best = scores.iter().copied().fold(f64::MIN, f64::max);
        let _ = writeln!(
            w,
            "{name:<name_width$}  {:>7}  {first:>5.0}  {last:>4.0}  {best:>4.0}  {:>5}  {}",
            scores.len(),
            format!("{:+.0}", last - first),
            sparkline(&scores[scores.len().saturating_sub(SPARKLINE_POINTS)..])
        );
    }
}

/// Scores from 0 to 100 as a line of block characters, on a fixed scale so lines compare
/// across prompts: eight equal bands, `▁` below 12.5 up to `█` from 87.5.
pub fn sparkline(scores: &[f64]) -> String {
    scores
        .iter()
        .map(|s| {
            let band = (s.clamp(0.0, 100.0) / 12.5).floor();
            SPARKS[if band.is_nan() { 0 } else { band as usize }.min(7)]
        })
        .collect()
}

/// The sessions list, newest first as given.
pub fn sessions(list: &[SessionSummary]) -> String {
    if list.is_empty() {
        return "No sessions yet.\n".to_owned();
    }
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "{:<20}  {:<16}  {:>7}  {:>4}  {:<11}  playlist",
        "session", "started", "answers", "mean", "status"
    );
    for s in list {
        let answers = if s.completed == s.answers {
            s.answers.to_string()
        } else {
            format!("{}/{}", s.completed, s.answers)
        };
        let mean = s
            .mean_overall
            .map_or_else(|| "—".to_owned(), |m| format!("{m:.0}"));
        let _ = writeln!(
            w,
            "{:<20}  {:<16}  {answers:>7}  {mean:>4}  {:<11}  {}",
            s.id,
            when(&s.started_at),
            s.status,
            s.playlist.as_deref().unwrap_or("—")
        );
    }
    out
}

/// The session as Markdown, for `viva export SESSION --format md`: a heading per answer
/// with its scores, concepts, feedback and marked-up transcript.
pub fn markdown(view: &SessionView) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Session {}\n", view.id);
    if let Some(playlist) = &view.playlist {
        let _ = writeln!(w, "- Playlist: {}", markdown_escape(playlist));
    }
    let _ = writeln!(w, "- Started: {}", when(&view.started_at));
    if let Some(ended) = &view.ended_at {
        let _ = writeln!(w, "- Ended: {}", when(ended));
    }
    let _ = writeln!(w, "- Status: {}", view.status);
    let _ = writeln!(w, "- {}", session_counts(view));

    for answer in &view.answers {
        let _ = writeln!(w, "\n## {}\n", markdown_escape(&answer_title(answer)));
        if let Some(state) = unfinished(answer) {
            let _ = writeln!(w, "_{}_", markdown_escape(&state));
            continue;
        }
        let Some(card) = &answer.scorecard else {
            continue;
        };
        let hits = card.coverage.concepts.iter().filter(|c| c.hit).count();
        let [lo, hi] = card.pace.target;
        let [min, max] = card.length.target_seconds;
        let _ = writeln!(w, "**Overall {:.0}/100**\n", card.overall);
        let _ = writeln!(w, "| Part | Score | Detail |\n| --- | ---: | --- |");
        let _ = writeln!(
            w,
            "| Coverage | {:.0} | {hits} of {} concepts |",
            card.coverage.score,
            card.coverage.concepts.len()
        );
        let _ = writeln!(
            w,
            "| Pace | {:.0} | {:.0} words a minute (target {lo:.0} to {hi:.0}) |",
            card.pace.score, card.wpm
        );
        let _ = writeln!(
            w,
            "| Length | {:.0} | {:.0} s of speech, {} words (target {min:.0} to {max:.0} s) |",
            card.length.score, card.speaking_seconds, card.word_count
        );
        let _ = writeln!(
            w,
            "| Fillers | {:.0} | {} ({:.1} a minute) |",
            card.fillers.score, card.fillers.count, card.fillers.per_minute
        );
        let _ = writeln!(
            w,
            "| Specificity | {:.0} | {} concrete details ({:.1} a minute) |",
            card.specificity.score, card.specificity.count, card.specificity.per_minute
        );
        let _ = writeln!(
            w,
            "| Hedges | {:.0} | {} ({:.1} a minute) |",
            card.hedges.score, card.hedges.count, card.hedges.per_minute
        );
        let _ = writeln!(
            w,
            "| Delivery | {} | {} |",
            card.delivery
                .score
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.0}")),
            markdown_escape(&delivery_detail(&card.delivery))
        );
        if !card.coverage.concepts.is_empty() {
            let _ = writeln!(w, "\n### Concepts\n");
            for c in &card.coverage.concepts {
                match (&c.evidence, c.at_seconds) {
                    (Some(evidence), Some(at)) if c.hit => {
                        let _ = writeln!(
                            w,
                            "- ✓ {}: \"{}\" at {}",
                            markdown_escape(&c.name),
                            markdown_escape(evidence),
                            clock(at)
                        );
                    }
                    _ => {
                        let _ = writeln!(w, "- ✗ {} (missed)", markdown_escape(&c.name));
                    }
                }
            }
        }
        if !card.feedback.is_empty() {
            let _ = writeln!(w, "\n### Feedback\n");
            for line in &card.feedback {
                let _ = writeln!(w, "- {}", markdown_escape(line));
            }
        }
        let transcript = answer.transcript.as_ref().unwrap_or(&card.transcript);
        let units = marked_transcript(transcript, Some(card), markdown_escape);
        let _ = writeln!(w, "\n### Transcript\n");
        if units.is_empty() {
            let _ = writeln!(w, "_(no words)_");
        } else {
            let _ = writeln!(w, "> {}", units.join(" "));
        }
    }
    out
}

/// Pitch movement, level and flags, in one line.
fn delivery_detail(d: &crate::score::delivery::DeliveryScore) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &d.pitch {
        parts.push(format!("pitch moves {:.1} semitones", p.spread_semitones));
    }
    if let Some(l) = &d.level {
        parts.push(format!("voice at {:.0} dBFS", l.speech_dbfs));
    }
    for flag in &d.flags {
        parts.push(flag.advice.clone());
    }
    if parts.is_empty() {
        parts.push("audio not measured".into());
    }
    parts.join("; ")
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM` in the offset it was recorded with; anything
/// else unchanged.
fn when(text: &str) -> String {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| text.to_owned())
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// `parts` joined by `separator`, starting a new line instead where a part would run past
/// `width`.
fn join_wrapped(parts: &[String], separator: &str, width: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for part in parts {
        let part_len = part.chars().count();
        if len > 0 && len + separator.chars().count() + part_len > width {
            out.push('\n');
            len = 0;
        } else if len > 0 {
            out.push_str(separator);
            len += separator.chars().count();
        }
        out.push_str(part);
        len += part_len;
    }
    out
}

/// `── title ───…` filling `width` columns.
fn rule(title: &str, width: usize) -> String {
    let head = format!("── {} ", truncate(title, width.saturating_sub(5)));
    let fill = width.saturating_sub(head.chars().count());
    format!("{head}{}", "─".repeat(fill))
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The first line with `first` before it, the rest with `rest`.
fn indent(lines: &[String], first: &str, rest: &str) -> String {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{}{line}", if i == 0 { first } else { rest }))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let units: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    wrap_units(&units, width)
}

/// Lays units out in lines of at most `width` characters, a space between units; a unit
/// longer than a line is cut so columns stay aligned.
fn wrap_units(units: &[String], width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for unit in units {
        let chars: Vec<char> = unit.chars().collect();
        for piece in chars.chunks(width) {
            if len > 0 && len + 1 + piece.len() > width {
                lines.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            line.extend(piece);
            len += piece.len();
        }
    }
    if len > 0 {
        lines.push(line);
    }
    lines
}

/// Scorecards and sessions built by hand, for this module's tests and the store's.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    use crate::bank::Weights;
    use crate::score::{
        ConceptResult, CoverageScore, FillerItem, FillerScore, LengthScore, PaceScore, Pause,
        Scorecard,
    };
    use crate::store::AnswerView;
    use crate::transcribe::{Transcript, Word};

    /// Words with explicit start times, each lasting 0.3 s.
    pub fn transcript(words: &[(&str, f64)]) -> Transcript {
        let words: Vec<Word> = words
            .iter()
            .map(|&(text, start)| Word {
                text: text.into(),
                start,
                end: start + 0.3,
                by_sound: false,
            })
            .collect();
        Transcript {
            text: words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            words,
            source: "whisper".into(),
        }
    }

    /// Words half a second apart from 0.
    pub fn evenly(text: &str) -> Transcript {
        let words: Vec<(&str, f64)> = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| (w, i as f64 * 0.5))
            .collect();
        transcript(&words)
    }

    pub fn concept(name: &str, hit: Option<(&str, f64)>) -> ConceptResult {
        ConceptResult {
            name: name.into(),
            hit: hit.is_some(),
            evidence: hit.map(|(e, _)| e.into()),
            phrase: hit.map(|(e, _)| e.to_lowercase()),
            at_seconds: hit.map(|(_, at)| at),
            weight: 1.0,
            follow_up: None,
            credit: if hit.is_some() { 1.0 } else { 0.0 },
            matched_by: hit.map(|_| crate::score::coverage::MatchedBy::Phrase),
            similarity: None,
            backed_by: None,
            rejected: Vec::new(),
        }
    }

    pub fn card(
        prompt_id: &str,
        transcript: &Transcript,
        overall: f64,
        concepts: Vec<ConceptResult>,
        fillers: &[(&str, f64)],
        pauses: &[(f64, f64)],
    ) -> Scorecard {
        let speaking = transcript.words.last().map_or(0.0, |w| w.end);
        let hit = concepts.iter().filter(|c| c.hit).count();
        let coverage = if concepts.is_empty() {
            100.0
        } else {
            100.0 * hit as f64 / concepts.len() as f64
        };
        let wpm = if speaking > 0.0 {
            transcript.words.len() as f64 * 60.0 / speaking
        } else {
            0.0
        };
        Scorecard {
            prompt_id: prompt_id.into(),
            duration_seconds: speaking + 1.0,
            speaking_seconds: speaking,
            word_count: transcript.words.len(),
            wpm,
            pace: PaceScore {
                wpm,
                target: [120.0, 165.0],
                score: 90.0,
                curve: Vec::new(),
            },
            length: LengthScore {
                speaking_seconds: speaking,
                word_count: transcript.words.len(),
                target_seconds: [60.0, 120.0],
                score: 50.0,
            },
            coverage: CoverageScore {
                score: coverage,
                concepts,
                method: "phrases only".into(),
            },
            specificity: Default::default(),
            hedges: Default::default(),
            delivery: Default::default(),
            substance: Default::default(),
            topic: None,
            fillers: FillerScore {
                count: fillers.len(),
                per_minute: 1.5,
                score: 100.0,
                items: fillers
                    .iter()
                    .map(|&(word, at_seconds)| FillerItem {
                        word: word.into(),
                        at_seconds,
                        by_sound: false,
                    })
                    .collect(),
            },
            pauses: pauses
                .iter()
                .map(|&(at_seconds, seconds)| Pause {
                    at_seconds,
                    seconds,
                })
                .collect(),
            avoided: Vec::new(),
            structure: None,
            weights: Weights::default(),
            overall,
            feedback: vec!["Say more: you spoke for 5 seconds; aim for 60 to 120.".into()],
            findings: Vec::new(),
            transcript: transcript.clone(),
        }
    }

    pub fn answer(
        seq: u32,
        prompt_id: &str,
        try_number: u32,
        card: Option<Scorecard>,
    ) -> AnswerView {
        AnswerView {
            seq,
            prompt_id: prompt_id.into(),
            category: "culture".into(),
            follow_up_of: None,
            try_number,
            audio: PathBuf::from(format!("/home/me/.local/share/viva/sessions/s/{seq}.wav")),
            question_audio: None,
            started_at: "2025-03-01T09:30:05.000+01:00".into(),
            status: if card.is_some() {
                "complete"
            } else {
                "interrupted"
            }
            .into(),
            complete: card.is_some(),
            transcript: card.as_ref().map(|c| c.transcript.clone()),
            scorecard: card,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    fn view(answers: Vec<AnswerView>) -> SessionView {
        SessionView {
            id: "20250301-093000".into(),
            playlist: Some("netflix-culture".into()),
            started_at: "2025-03-01T09:30:00.000+01:00".into(),
            ended_at: Some("2025-03-01T09:52:10.000+01:00".into()),
            status: "complete".into(),
            answers,
        }
    }

    fn marked(card: &Scorecard) -> String {
        marked_transcript(&card.transcript, Some(card), plain).join(" ")
    }

    #[test]
    fn concept_and_filler_markers_land_on_their_words() {
        let t = evenly("So um I took full ownership of the launch");
        let c = card(
            "p",
            &t,
            70.0,
            vec![concept("ownership", Some(("took full ownership", 1.5)))],
            &[("um", 0.5)],
            &[],
        );
        assert_eq!(
            marked(&c),
            "So {um} I [ownership: took full ownership] of the launch"
        );
    }

    #[test]
    fn a_pause_lands_between_the_words_either_side_of_the_silence() {
        let t = transcript(&[
            ("we", 0.0),
            ("shipped", 0.4),
            ("it.", 0.8),
            ("Then", 3.6),
            ("sales", 4.0),
        ]);
        let c = card("p", &t, 70.0, vec![], &[], &[(1.1, 2.4)]);
        assert_eq!(marked(&c), "we shipped it. (pause 2.4 s) Then sales");
    }

    #[test]
    fn a_filler_inside_a_concept_nests_and_a_two_word_filler_is_braced_whole() {
        let t = evenly("you know I took um ownership there");
        let c = card(
            "p",
            &t,
            70.0,
            vec![concept("ownership", Some(("took um ownership", 1.5)))],
            &[("you know", 0.0), ("um", 2.0)],
            &[],
        );
        assert_eq!(
            marked(&c),
            "{you know} I [ownership: took {um} ownership] there"
        );
    }

    #[test]
    fn overlapping_concepts_share_one_bracket() {
        let t = evenly("I owned the outcome and the risk today");
        let c = card(
            "p",
            &t,
            70.0,
            vec![
                concept("ownership", Some(("owned the outcome", 0.5))),
                concept("risk", Some(("outcome and the risk", 1.5))),
            ],
            &[],
            &[],
        );
        assert_eq!(
            marked(&c),
            "I [ownership, risk: owned the outcome and the risk] today"
        );
    }

    #[test]
    fn the_session_shows_scores_missed_concepts_and_the_marked_transcript() {
        let t = evenly("So um I took full ownership");
        let c = card(
            "culture-decision",
            &t,
            68.0,
            vec![
                concept("ownership", Some(("took full ownership", 1.5))),
                concept("impact", None),
            ],
            &[("um", 0.5)],
            &[],
        );
        let text = session(&view(vec![answer(1, "culture-decision", 1, Some(c))]), 80);
        assert!(
            text.starts_with(
                "Session 20250301-093000 · playlist netflix-culture · 2025-03-01 09:30 to 09:52\n\
                 complete\n1 answer, 1 complete, mean overall 68\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("── 1 · culture-decision · try 1 ──"),
            "{text}"
        );
        assert!(
            text.contains(
                "Overall 68/100 · coverage 50 · specific 0 · pace 90 · length 50 · fillers 100\n"
            ),
            "{text}"
        );
        assert!(text.contains("Missed   impact\n"), "{text}");
        assert!(
            text.contains("  So {um} I [ownership: took full ownership]\n"),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
    }

    #[test]
    fn an_interrupted_answer_says_where_its_audio_is_kept() {
        let text = session(&view(vec![answer(2, "culture-decision", 1, None)]), 80);
        assert!(
            text.contains("incomplete — audio kept at /home/me/.local/share/viva/sessions/s/2.wav"),
            "{text}"
        );
        assert!(text.contains("1 answer, none complete"), "{text}");
    }

    #[test]
    fn tries_of_one_prompt_are_compared_side_by_side() {
        let first = evenly("um I waited for approval");
        let second = evenly("I took full ownership and shipped");
        let answers = vec![
            answer(
                1,
                "p",
                1,
                Some(card("p", &first, 55.0, vec![], &[("um", 0.0)], &[])),
            ),
            answer(
                2,
                "p",
                2,
                Some(card(
                    "p",
                    &second,
                    72.0,
                    vec![concept("ownership", Some(("took full ownership", 0.5)))],
                    &[],
                    &[],
                )),
            ),
        ];
        let text = session(&view(answers), 60);
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("── Tries of p"))
            .collect();
        assert_eq!(table[1], "              try 1    try 2");
        assert_eq!(table[2], "overall          55       72");
        assert_eq!(table[5], "fillers           1        0");
        assert!(text.contains("Overall +17 from try 1 to try 2."), "{text}");
        // The transcripts in two columns of (60 - 3) / 2 = 28 characters.
        let columns: Vec<&str> = text.lines().filter(|l| l.contains(" │ ")).collect();
        assert_eq!(columns[0], format!("{:<28} │ try 2", "try 1"));
        assert_eq!(
            columns[1],
            format!(
                "{:<28} │ I [ownership: took full",
                "{um} I waited for approval"
            )
        );
        assert_eq!(columns[2], format!("{:<28} │ ownership] and shipped", ""));
    }

    #[test]
    fn a_prompt_answered_once_gets_no_comparison() {
        let t = evenly("I took full ownership");
        let answers = vec![
            answer(1, "a", 1, Some(card("a", &t, 60.0, vec![], &[], &[]))),
            answer(2, "b", 1, Some(card("b", &t, 60.0, vec![], &[], &[]))),
        ];
        assert!(!session(&view(answers), 80).contains("Tries of"));
    }

    #[test]
    fn the_sparkline_of_0_50_100_is_low_middle_full() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0]), "▁▅█");
        assert_eq!(sparkline(&[12.4, 12.5, 87.4, 150.0, -3.0]), "▁▂▇█▁");
    }

    fn point(prompt: &str, category: &str, overall: f64) -> HistoryPoint {
        HistoryPoint {
            session_id: "20250301-093000".into(),
            prompt_id: prompt.into(),
            category: category.into(),
            at: "2025-03-01T09:30:05.000+01:00".into(),
            overall,
            wpm: 140.0,
            coverage: 50.0,
            delivery: None,
            pitch_spread: None,
        }
    }

    #[test]
    fn history_shows_whether_the_monotone_is_going_away() {
        let mut points = [
            point("a", "culture", 40.0),
            point("a", "culture", 60.0),
            point("a", "culture", 70.0),
        ];
        for (p, spread) in points.iter_mut().zip([0.5, 1.2, 2.4]) {
            p.pitch_spread = Some(spread);
            p.delivery = Some(if spread < 0.9 { 70.0 } else { 100.0 });
        }
        let text = history(&points, Some("a"));
        assert!(
            text.contains("first 0.5, last 2.4, trend +1.9  ▂▄▇"),
            "{text}"
        );
        assert!(text.contains("      70    0.5\n"), "{text}");
        // Answers scored without their audio show no voice figures and no trend line.
        let unmeasured = history(&[point("a", "culture", 40.0)], Some("a"));
        assert!(!unmeasured.contains("Pitch movement"), "{unmeasured}");
        assert!(unmeasured.contains("        -      -\n"), "{unmeasured}");
    }

    #[test]
    fn history_summarises_each_prompt_and_category_with_trend_and_sparkline() {
        let points = [
            point("a", "culture", 40.0),
            point("b", "vision", 90.0),
            point("a", "culture", 80.0),
            point("a", "culture", 70.0),
        ];
        let text = history(&points, None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "prompt  answers  first  last  best  trend  over time"
        );
        assert_eq!(lines[1], "a             3     40    70    80    +30  ▄▇▆");
        assert_eq!(lines[2], "b             1     90    90    90     +0  █");
        assert_eq!(lines[4].split_whitespace().next(), Some("category"));
        assert!(lines[5].starts_with("culture "), "{text}");
        assert!(lines[5].ends_with("+30  ▄▇▆"), "{text}");
    }

    #[test]
    fn history_of_one_prompt_lists_its_answers_and_leaves_others_out() {
        let points = [point("a", "culture", 40.0), point("b", "vision", 90.0)];
        let text = history(&points, Some("a"));
        assert!(text.starts_with("History of a\n"), "{text}");
        assert!(text.contains("2025-03-01 09:30  20250301-093000"), "{text}");
        assert!(!text.contains("\nb "), "{text}");
        assert_eq!(
            history(&points, Some("zzz")),
            "No completed answers to zzz yet.\n"
        );
    }

    #[test]
    fn the_sessions_list_shows_partial_counts_and_missing_means() {
        let list = [
            SessionSummary {
                id: "20250301-093000-2".into(),
                playlist: None,
                started_at: "2025-03-01T09:30:00.000+01:00".into(),
                status: "interrupted".into(),
                answers: 3,
                completed: 2,
                mean_overall: Some(71.6),
            },
            SessionSummary {
                id: "20250228-180000".into(),
                playlist: Some("netflix-culture".into()),
                started_at: "2025-02-28T18:00:00.000+01:00".into(),
                status: "quit".into(),
                answers: 0,
                completed: 0,
                mean_overall: None,
            },
        ];
        let text = sessions(&list);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "20250301-093000-2     2025-03-01 09:30      2/3    72  interrupted  —"
        );
        assert_eq!(
            lines[2],
            "20250228-180000       2025-02-28 18:00        0     —  quit         netflix-culture"
        );
        assert_eq!(sessions(&[]), "No sessions yet.\n");
    }

    #[test]
    fn markdown_gives_the_delivery_score_and_its_flags() {
        let t = evenly("So I shipped it");
        let mut c = card("culture-decision", &t, 68.0, vec![], &[], &[]);
        c.delivery.score = Some(70.0);
        c.delivery.flags.push(crate::score::delivery::DeliveryFlag {
            kind: crate::score::delivery::FlagKind::Monotone,
            advice: "Vary your voice.".into(),
        });
        let md = markdown(&view(vec![answer(1, "culture-decision", 1, Some(c))]));
        assert!(md.contains("| Delivery | 70 | Vary your voice. |"), "{md}");
    }

    #[test]
    fn markdown_has_a_heading_scores_and_transcript_per_answer() {
        let t = evenly("So um I took full_ownership");
        let c = card(
            "culture-decision",
            &t,
            68.0,
            vec![
                concept("ownership", Some(("took full_ownership", 1.5))),
                concept("impact", None),
            ],
            &[("um", 0.5)],
            &[],
        );
        let md = markdown(&view(vec![
            answer(1, "culture-decision", 1, Some(c)),
            answer(2, "culture-decision", 2, None),
        ]));
        assert!(md.starts_with("# Session 20250301-093000\n"), "{md}");
        assert!(md.contains("\n## 1 · culture-decision · try 1\n"), "{md}");
        assert!(md.contains("**Overall 68/100**"), "{md}");
        assert!(md.contains("| Coverage | 50 | 1 of 2 concepts |"), "{md}");
        assert!(md.contains("- ✗ impact (missed)"), "{md}");
        assert!(md.contains("| Delivery | - | audio not measured |"), "{md}");
        assert!(
            md.contains("> So {um} I [ownership: took full\\_ownership]\n"),
            "{md}"
        );
        assert!(
            md.contains("\n## 2 · culture-decision · try 2\n\n_incomplete — audio kept at"),
            "{md}"
        );
    }

    #[test]
    fn wrapping_cuts_a_unit_longer_than_the_line() {
        let units = ["abcdefgh".to_owned(), "ij".to_owned()];
        assert_eq!(wrap_units(&units, 5), ["abcde", "fgh", "ij"]);
    }
}
