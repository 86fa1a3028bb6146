//! Latency from the end of an answer to its scorecard, batch and streaming, on espeak-ng speech
//! through a weightless Whisper model (real encoder work at tiny.en's shapes; the decoder,
//! having no weights, emits no words). Prints one JSON line per answer length, to show the
//! streaming figure does not grow with the answer. Run: `cargo bench --bench latency`.

#[path = "../tests/common/mod.rs"]
mod common;

use viva::bank::{self, BankSource};
use viva::config::Env;
use viva::engine::Engine;

const SENTENCE: &str = "I would start with the member and the success metric, then candidate \
    generation and ranking, then the artwork, cold start, offline training and online serving.";

fn main() {
    let sandbox = common::Sandbox::new();
    let model = sandbox.weightless_model();
    let bank = bank::load(&[BankSource::Builtin]).expect("built-in bank");
    let prompt = bank
        .prompt("system-design-recommendation-clarify")
        .expect("prompt");
    std::env::set_var("VIVA_HOME", sandbox.home());
    let env = Env::resolve(None, Some(model)).expect("environment");
    let mut engine = Engine::new(env);
    for (label, repeats) in [("30s", 3), ("2min", 11)] {
        let text = vec![SENTENCE; repeats].join(" ");
        let wav = sandbox.speak(&format!("{label}.wav"), &text, 150);
        let recording = viva::audio::load_wav(&wav).expect("speech");
        let latency = viva::bench::latency(&mut engine, prompt, &recording).expect("latency");
        println!(
            "latency {label}: {}",
            serde_json::to_string(&latency).unwrap()
        );
    }
}
