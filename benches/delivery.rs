//! How long the delivery features of a 3-minute answer take: pitch, level and clipping
//! (`prosody::measure`) on jfk.wav looped to 180 s, then the pure delivery judgement. The
//! budget is 50 ms for the features.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;

use viva::prosody;
use viva::score::delivery::{self, DeliveryInput, KeyTerms};
use viva::score::text::Normalizer;
use viva::vad::{self, VadSettings};

const SECONDS: usize = 180;

fn bench_delivery(c: &mut Criterion) {
    let clip = viva::audio::load_wav(Path::new("tests/fixtures/jfk.wav")).expect("jfk.wav");
    let want = SECONDS * viva::audio::SAMPLE_RATE as usize;
    let samples: Vec<f32> = clip.samples.iter().copied().cycle().take(want).collect();
    let speech = vad::detect(&samples, &VadSettings::default());
    c.bench_function("delivery features of a 3-minute answer", |b| {
        b.iter(|| black_box(prosody::measure(black_box(&samples), &speech)))
    });
    let measured = prosody::measure(&samples, &speech);
    let normalizer = Normalizer::default();
    let key_terms = KeyTerms::new([], &normalizer);
    c.bench_function("delivery judgement of a 3-minute answer", |b| {
        b.iter(|| {
            black_box(delivery::judge(&DeliveryInput {
                prosody: Some(&measured),
                words: &[],
                tokens: &[],
                key_terms: &key_terms,
                counted_elsewhere: &[],
                windows: &[],
            }))
        })
    });
}

criterion_group!(benches, bench_delivery);
criterion_main!(benches);
