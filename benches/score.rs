//! How long scoring a 3-minute answer takes: the pure scorer on a 450-word transcript against
//! a shipped system-design rubric (the bank's largest kind), with fillers and pauses in it.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use viva::bank::{self, BankSource};
use viva::score::{score, Answer, ScoringSettings};
use viva::transcribe::{Transcript, Word};
use viva::vad::SpeechRegion;

const SENTENCES: &[&str] = &[
    "So, um, the first thing I would clarify is who the recommendations are for.",
    "We have members on TV, mobile and web, and the home page is where most viewing starts.",
    "I would, like, pin down the success metric: hours watched per member and retention.",
    "Then candidate generation pulls a few thousand titles from collaborative filtering and embeddings.",
    "A ranking model scores them with context like device, time of day and what you just watched.",
    "You know, the artwork matters too, so we personalize the image per member.",
    "For cold start we lean on onboarding picks and popularity in the member's country.",
    "Offline we train daily on the cloud; online we serve from a cache close to the member.",
    "Uh, I would A/B test every change and watch long term retention, not only clicks.",
    "If a region fails we fall back to a precomputed row so the page still loads.",
];

fn three_minute_transcript() -> (Transcript, Vec<SpeechRegion>) {
    let mut words = Vec::new();
    let mut regions = Vec::new();
    let mut t = 0.5;
    let mut region_start = t;
    let mut sentence = 0;
    while words.len() < 450 {
        for word in SENTENCES[sentence % SENTENCES.len()].split_whitespace() {
            words.push(Word {
                text: word.into(),
                start: t,
                end: t + 0.3,
                by_sound: false,
            });
            t += 0.4;
        }
        sentence += 1;
        if sentence % 4 == 0 {
            // A thinking pause every few sentences.
            regions.push(SpeechRegion {
                start: region_start,
                end: t,
            });
            t += 2.5;
            region_start = t;
        }
    }
    regions.push(SpeechRegion {
        start: region_start,
        end: t,
    });
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    (
        Transcript {
            text,
            words,
            source: "bench".into(),
        },
        regions,
    )
}

fn bench_score(c: &mut Criterion) {
    let bank = bank::load(&[BankSource::Builtin]).expect("built-in bank");
    let prompt = bank
        .prompts
        .iter()
        .filter(|p| p.category == "system-design")
        .max_by_key(|p| p.rubric.concepts.iter().map(|c| c.any.len()).sum::<usize>())
        .expect("a system-design prompt");
    let (transcript, speech) = three_minute_transcript();
    let settings = ScoringSettings::default();
    let seconds = speech.last().unwrap().end;
    println!(
        "scoring {} words over {seconds:.0} s against `{}` ({} concepts)",
        transcript.words.len(),
        prompt.id,
        prompt.rubric.concepts.len()
    );
    c.bench_function("score a 3-minute answer", |b| {
        b.iter(|| {
            let answer = Answer {
                transcript: &transcript,
                duration_seconds: seconds,
                meaning: None,
                prosody: None,
                speech: &speech,
            };
            black_box(score(black_box(prompt), answer, &settings))
        })
    });
}

criterion_group!(benches, bench_score);
criterion_main!(benches);
