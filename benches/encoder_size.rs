//! What a stronger sentence encoder would cost: one 3-minute answer as the meaning stage cuts
//! it (30 sentence windows of 24 word pieces, about 450 words) through BERT-shaped encoders of
//! three sizes, with zero weights (the arithmetic is the same whatever the weights):
//! all-MiniLM-L6-v2's (6 layers of 384, what viva ships), bge-small-en-v1.5's (12 of 384) and
//! all-mpnet-base-v2's (12 of 768, BERT-base). The meaning budget is 300 ms on 2 cores.

use std::hint::black_box;
use std::time::Duration;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use criterion::{criterion_group, criterion_main, Criterion};

const WINDOWS: usize = 30;
const PIECES: usize = 24;

fn encoder(layers: usize, hidden: usize) -> BertModel {
    let config = Config {
        num_hidden_layers: layers,
        hidden_size: hidden,
        num_attention_heads: hidden / 64,
        intermediate_size: 4 * hidden,
        ..Config::default()
    };
    let vb = VarBuilder::zeros(DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).expect("a zero-weight BERT builds")
}

fn bench_sizes(c: &mut Criterion) {
    let ids = Tensor::ones((WINDOWS, PIECES), DType::U32, &Device::Cpu).unwrap();
    let types = ids.zeros_like().unwrap();
    for (name, layers, hidden) in [
        ("all-MiniLM-L6-v2 size (6 x 384)", 6, 384),
        ("bge-small-en-v1.5 size (12 x 384)", 12, 384),
        ("all-mpnet-base-v2 size (12 x 768)", 12, 768),
    ] {
        let model = encoder(layers, hidden);
        c.bench_function(&format!("3-minute answer, {name}"), |b| {
            b.iter(|| black_box(model.forward(&ids, &types, None).unwrap()))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(6));
    targets = bench_sizes
}
criterion_main!(benches);
