//! Whisper model files: which models exist, where they are looked for, and downloading them.
//!
//! The table of known models mirrors whisper.cpp's `models/README.md`
//! (ggml-org/whisper.cpp), which publishes a SHA-1 for every pre-converted
//! `ggml-NAME.bin` hosted on Hugging Face. Downloads are verified against it
//! before they are allowed to replace anything in the model directory.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sha1::{Digest, Sha1};

/// Model used when neither the config nor the command line names one.
pub const DEFAULT_MODEL: &str = "base.en";

/// Where whisper.cpp's pre-converted models are published; a file's URL is `BASE/ggml-NAME.bin`.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

const MIB: u64 = 1024 * 1024;

/// A pre-converted whisper.cpp model that `viva models fetch` knows how to download and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// Short name as used by whisper.cpp, e.g. `base.en`.
    pub name: &'static str,
    /// Approximate size in MiB as published in whisper.cpp's README (GiB figures × 1024).
    pub approx_mib: u64,
    /// Lower-case hex SHA-1 of the published file.
    pub sha1: &'static str,
}

impl KnownModel {
    /// File name on disk and on the download server, e.g. `ggml-base.en.bin`.
    pub fn file_name(&self) -> String {
        file_name_for(self.name)
    }

    /// Approximate size in bytes, good enough for display and progress estimates.
    pub fn approx_bytes(&self) -> u64 {
        self.approx_mib * MIB
    }
}

/// Every model `viva` can download, as published in ggml-org/whisper.cpp `models/README.md`
/// ("Available models"; the older ggerganov/whisper.cpp copy has the same hashes).
///
/// `small.en-tdrz` is left out: it is hosted in a different Hugging Face repository than
/// [`DEFAULT_BASE_URL`].
// One row per model, aligned so it can be checked against the README table by eye.
#[rustfmt::skip]
pub const KNOWN_MODELS: &[KnownModel] = &[
    known("tiny",                  75, "bd577a113a864445d4c299885e0cb97d4ba92b5f"),
    known("tiny.en",               75, "c78c86eb1a8faa21b369bcd33207cc90d64ae9df"),
    known("base",                 142, "465707469ff3a37a2b9b8d8f89f2f99de7299dac"),
    known("base.en",              142, "137c40403d78fd54d454da0f9bd998f78703390c"),
    known("small",                466, "55356645c2b361a969dfd0ef2c5a50d530afd8d5"),
    known("small.en",             466, "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022"),
    known("medium",              1536, "fd9727b6e1217c2f614f9b698455c4ffd82463b4"),
    known("medium.en",           1536, "8c30f0e44ce9560643ebd10bbe50cd20eafd3723"),
    known("large-v1",            2970, "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299"),
    known("large-v2",            2970, "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6"),
    known("large-v2-q5_0",       1126, "00e39f2196344e901b3a2bd5814807a769bd1630"),
    known("large-v3",            2970, "ad82bf6a9043ceed055076d0fd39f5f186ff8062"),
    known("large-v3-q5_0",       1126, "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de"),
    known("large-v3-turbo",      1536, "4af2b29d7ec73d781377bfd1758ca957a807e941"),
    known("large-v3-turbo-q5_0",  547, "e050f7970618a659205450ad97eb95a18d69c9ee"),
];

const fn known(name: &'static str, approx_mib: u64, sha1: &'static str) -> KnownModel {
    KnownModel {
        name,
        approx_mib,
        sha1,
    }
}

/// Everything that can go wrong finding or downloading a model.
#[derive(thiserror::Error, Debug)]
pub enum ModelError {
    /// `fetch` was asked for a model that is not in [`KNOWN_MODELS`].
    #[error(
        "unknown model '{name}'; known models: {known}; for any other ggml file pass --model PATH"
    )]
    UnknownModel {
        /// The name as given.
        name: String,
        /// Comma-separated known names, so the message is self-contained.
        known: String,
    },

    /// A model name that would escape the model directory if used as a file name.
    #[error("invalid model name '{name}': it must be a plain name like {DEFAULT_MODEL}, not a path; use --model PATH for files elsewhere")]
    InvalidName {
        /// The name as given.
        name: String,
    },

    /// The path given with `--model` / `VIVA_MODEL` is not an existing file.
    #[error("model file {} (from --model or VIVA_MODEL) does not exist or is not a file; fix the path or unset it to search the model directories", path.display())]
    ExplicitNotFound {
        /// The path as given.
        path: PathBuf,
    },

    /// No `ggml-NAME.bin` in any search directory.
    #[error(
        "model '{name}' not found; looked for {}; {}",
        join_paths(tried),
        not_found_fix(name)
    )]
    NotFound {
        /// The model name that was looked up.
        name: String,
        /// Every candidate path, in search order.
        tried: Vec<PathBuf>,
    },

    /// The server answered with an HTTP error status.
    #[error("download of {url} failed with HTTP {status}; check the model name and the download base URL")]
    HttpStatus {
        /// The URL that was requested.
        url: String,
        /// The HTTP status code.
        status: u16,
    },

    /// The request could not be made or answered (DNS, refused connection, TLS, timeout...).
    #[error("could not download {url}: {source}; check the network connection and try again")]
    Http {
        /// The URL that was requested.
        url: String,
        /// What ureq reported.
        #[source]
        source: ureq::Error,
    },

    /// The connection broke while the body was streaming.
    #[error("download of {url} broke off: {source}; run the command again to retry")]
    Interrupted {
        /// The URL being downloaded.
        url: String,
        /// The read error.
        #[source]
        source: io::Error,
    },

    /// The downloaded bytes do not hash to the published SHA-1; nothing was kept.
    #[error("SHA-1 mismatch for {url}: expected {expected}, got {actual}; the download was deleted, run the command again (if it keeps failing, the published file has changed)")]
    ChecksumMismatch {
        /// The URL that was downloaded.
        url: String,
        /// The SHA-1 the table promised.
        expected: String,
        /// The SHA-1 of what actually arrived.
        actual: String,
    },

    /// A local filesystem operation failed.
    #[error("could not {action} {}: {source}; check permissions and free disk space", path.display())]
    Io {
        /// What was being attempted, e.g. "create directory".
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

fn join_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nowhere (no model directories configured)".to_string();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn not_found_fix(name: &str) -> String {
    if find_known(name).is_some() {
        format!("run `viva models fetch {name}`, or point --model / VIVA_MODEL at an existing ggml file")
    } else {
        format!(
            "'{name}' is not a downloadable model (see `viva models list`); \
             put ggml-{name}.bin in one of those directories, or point --model / VIVA_MODEL at it"
        )
    }
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> ModelError {
    ModelError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Accepts both `base.en` and `ggml-base.en.bin` so users can paste either form.
pub fn normalize_name(name: &str) -> &str {
    name.strip_prefix("ggml-")
        .and_then(|rest| rest.strip_suffix(".bin"))
        .unwrap_or(name)
}

/// `ggml-NAME.bin` for a model name (either form accepted, see [`normalize_name`]).
pub fn file_name_for(name: &str) -> String {
    format!("ggml-{}.bin", normalize_name(name))
}

/// The table entry for `name` (either form accepted), if it is a known model.
pub fn find_known(name: &str) -> Option<&'static KnownModel> {
    let name = normalize_name(name);
    KNOWN_MODELS.iter().find(|m| m.name == name)
}

/// Download URL of a model file under `base_url` (a trailing slash is tolerated).
pub fn model_url(base_url: &str, name: &str) -> String {
    format!("{}/{}", base_url.trim_end_matches('/'), file_name_for(name))
}

/// Where to look for model files, in priority order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelSearch {
    /// A file named with `--model` or `VIVA_MODEL`; when set, nothing else is searched.
    pub explicit: Option<PathBuf>,
    /// Directories holding `ggml-NAME.bin` files: `./models`, then `$VIVA_HOME/models`.
    pub dirs: Vec<PathBuf>,
}

/// One row of `viva models list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelStatus {
    /// Short model name, e.g. `base.en`.
    pub name: String,
    /// File name, e.g. `ggml-base.en.bin`.
    pub file_name: String,
    /// Size on disk when installed, otherwise the table's approximate size.
    pub size_bytes: u64,
    /// Published SHA-1; `None` for files that are not in the known-model table.
    pub sha1: Option<String>,
    /// Whether the model is in the known-model table (and so can be fetched).
    pub known: bool,
    /// First matching file in the search directories, if any.
    pub installed: Option<PathBuf>,
    /// Where the installed file was converted from, when `viva models import` wrote it.
    pub imported: Option<crate::import::Provenance>,
    /// Whether this is the file viva transcribes with now (see [`ModelSearch::choose`]).
    pub in_use: bool,
}

/// The Whisper model a command transcribes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenModel {
    /// The file to load.
    pub path: PathBuf,
    /// Its short name (`tiny.en`), or the file name for a file given with `--model`.
    pub name: String,
    /// The configured model this one stands in for, when that one is not installed.
    pub instead_of: Option<String>,
}

impl ChosenModel {
    /// The one line that says a stand-in is used, and how to get the configured model.
    pub fn stand_in_note(&self) -> Option<String> {
        let wanted = self.instead_of.as_deref()?;
        let fix = match find_known(wanted) {
            Some(_) => format!("`viva models fetch {wanted}` installs it"),
            None => format!("point --model or VIVA_MODEL at ggml-{wanted}.bin to use it"),
        };
        Some(format!(
            "model {wanted} is not installed; using {} ({}) instead; {fix}",
            self.name,
            self.path.display()
        ))
    }
}

/// How good an installed model is as a stand-in: a larger model transcribes better; a model
/// of the configured one's language family (English-only or not) wins a tie of size; files
/// viva does not know come last.
fn stand_in_rank(name: &str, wanted: &str) -> (u64, bool, usize) {
    let known = KNOWN_MODELS.iter().position(|m| m.name == name);
    let size = known.map_or(0, |i| KNOWN_MODELS[i].approx_mib);
    let same_family = name.ends_with(".en") == normalize_name(wanted).ends_with(".en");
    (size, same_family, known.map_or(0, |i| i + 1))
}

impl ModelSearch {
    /// The standard search order: `explicit`, then `./models`, then `VIVA_HOME/models`.
    pub fn with_home(explicit: Option<PathBuf>, viva_home: &Path) -> Self {
        ModelSearch {
            explicit,
            dirs: vec![PathBuf::from("./models"), viva_home.join("models")],
        }
    }

    /// Path of the model file to load for `name` (either `base.en` or `ggml-base.en.bin`).
    pub fn resolve(&self, name: &str) -> Result<PathBuf, ModelError> {
        if let Some(path) = &self.explicit {
            return if path.is_file() {
                Ok(path.clone())
            } else {
                Err(ModelError::ExplicitNotFound { path: path.clone() })
            };
        }
        let tried: Vec<PathBuf> = self.candidates(name).collect();
        match tried.iter().find(|p| p.is_file()) {
            Some(found) => Ok(found.clone()),
            None => Err(ModelError::NotFound {
                name: normalize_name(name).to_string(),
                tried,
            }),
        }
    }

    /// The model to transcribe with: `name` when it is installed (or the explicit file), and
    /// otherwise the best model that is installed, so a working installation never refuses
    /// to run because the configured default was never downloaded. Only when no model at all
    /// is installed is it [`ModelError::NotFound`] for `name`.
    pub fn choose(&self, name: &str) -> Result<ChosenModel, ModelError> {
        let not_found = match self.resolve(name) {
            Ok(path) => {
                let name = match &self.explicit {
                    Some(_) => path
                        .file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
                    None => normalize_name(name).to_string(),
                };
                return Ok(ChosenModel {
                    path,
                    name,
                    instead_of: None,
                });
            }
            Err(e @ ModelError::NotFound { .. }) => e,
            Err(e) => return Err(e),
        };
        let best = self
            .list()
            .into_iter()
            .filter_map(|m| m.installed.clone().map(|path| (m, path)))
            .max_by_key(|(m, _)| stand_in_rank(&m.name, name));
        match best {
            Some((model, path)) => Ok(ChosenModel {
                path,
                name: model.name,
                instead_of: Some(normalize_name(name).to_string()),
            }),
            None => Err(not_found),
        }
    }

    /// [`ModelSearch::list`] with the model [`ModelSearch::choose`] picks for `name` marked.
    pub fn list_marking(&self, name: &str) -> Vec<ModelStatus> {
        let chosen = self.choose(name).ok().map(|c| c.path);
        let mut rows = self.list();
        for row in &mut rows {
            row.in_use = chosen.is_some() && row.installed == chosen;
        }
        rows
    }

    fn candidates<'a>(&'a self, name: &str) -> impl Iterator<Item = PathBuf> + 'a {
        let file_name = file_name_for(name);
        self.dirs.iter().map(move |dir| dir.join(&file_name))
    }

    fn find_installed(&self, name: &str) -> Option<PathBuf> {
        self.candidates(name).find(|p| p.is_file())
    }

    /// Every known model plus any other `ggml-*.bin` found in the search directories.
    ///
    /// The explicit path is deliberately ignored: it is a one-off override, not a library.
    pub fn list(&self) -> Vec<ModelStatus> {
        let mut rows: Vec<ModelStatus> = KNOWN_MODELS
            .iter()
            .map(|model| {
                let installed = self.find_installed(model.name);
                let size_bytes = installed
                    .as_deref()
                    .and_then(|p| fs::metadata(p).ok())
                    .map_or(model.approx_bytes(), |meta| meta.len());
                ModelStatus {
                    name: model.name.to_string(),
                    file_name: model.file_name(),
                    size_bytes,
                    sha1: Some(model.sha1.to_string()),
                    known: true,
                    imported: installed.as_deref().and_then(crate::import::provenance),
                    installed,
                    in_use: false,
                }
            })
            .collect();

        let mut custom: Vec<ModelStatus> = Vec::new();
        for dir in &self.dirs {
            // A missing or unreadable directory just contributes nothing to a listing.
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let file_name = entry.file_name().to_string_lossy().into_owned();
                let Some(name) = file_name
                    .strip_prefix("ggml-")
                    .and_then(|rest| rest.strip_suffix(".bin"))
                else {
                    continue;
                };
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                let already_listed =
                    find_known(name).is_some() || custom.iter().any(|c| c.name == name);
                if !meta.is_file() || already_listed {
                    continue;
                }
                custom.push(ModelStatus {
                    name: name.to_string(),
                    file_name: file_name.clone(),
                    size_bytes: meta.len(),
                    sha1: None,
                    known: false,
                    imported: crate::import::provenance(&entry.path()),
                    installed: Some(entry.path()),
                    in_use: false,
                });
            }
        }
        custom.sort_by(|a, b| a.name.cmp(&b.name));
        rows.extend(custom);
        rows
    }
}

/// A human-readable table of `list()` output: name, size in MiB, and where it is installed.
pub fn render_list(models: &[ModelStatus]) -> String {
    let labels: Vec<String> = models
        .iter()
        .map(|m| {
            let mut label = m.name.clone();
            if m.name == DEFAULT_MODEL {
                label.push_str(" (default)");
            }
            if m.imported.is_some() {
                label.push_str(" (imported)");
            } else if !m.known {
                label.push_str(" (custom)");
            }
            if m.in_use {
                label.push_str(" (in use)");
            }
            label
        })
        .collect();
    let name_width = labels.iter().map(String::len).chain([4]).max().unwrap_or(4);

    let mut out = String::new();
    // Writing into a String cannot fail, so the fmt::Result is safely ignored.
    let _ = writeln!(out, "{:<name_width$}  {:>9}  LOCATION", "NAME", "SIZE");
    for (model, label) in models.iter().zip(&labels) {
        let size = format!("{} MiB", (model.size_bytes + MIB / 2) / MIB);
        let location = model
            .installed
            .as_ref()
            .map_or_else(|| "not installed".to_string(), |p| p.display().to_string());
        let _ = writeln!(out, "{label:<name_width$}  {size:>9}  {location}");
    }
    out
}

/// Downloads a known model into `dest_dir` and verifies it against the published SHA-1.
///
/// Returns the path of `dest_dir/ggml-NAME.bin`. If that file already exists with the right
/// hash it is kept, nothing is downloaded, and a note saying so goes to stderr; an existing
/// file with the wrong hash is replaced (also noted on stderr).
pub fn fetch(
    name: &str,
    dest_dir: &Path,
    base_url: &str,
    show_progress: bool,
) -> Result<PathBuf, ModelError> {
    let model = find_known(name).ok_or_else(|| ModelError::UnknownModel {
        name: name.to_string(),
        known: KNOWN_MODELS
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    fetch_with(model.name, model.sha1, dest_dir, base_url, show_progress)
}

/// [`fetch`] with the expected SHA-1 supplied by the caller instead of taken from the table.
///
/// Streams `BASE/ggml-NAME.bin` into a hidden temporary file in `dest_dir` (so the final
/// rename never crosses filesystems), hashing as it writes, and only renames it into place
/// once the hash matches. On any failure the temporary file is removed.
pub fn fetch_with(
    name: &str,
    expected_sha1: &str,
    dest_dir: &Path,
    base_url: &str,
    show_progress: bool,
) -> Result<PathBuf, ModelError> {
    let name = normalize_name(name);
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(ModelError::InvalidName {
            name: name.to_string(),
        });
    }
    let expected = expected_sha1.trim().to_ascii_lowercase();
    let file_name = file_name_for(name);
    let final_path = dest_dir.join(&file_name);

    fs::create_dir_all(dest_dir).map_err(|e| io_error("create directory", dest_dir, e))?;

    if final_path.is_file() {
        let existing = sha1_of_file(&final_path).map_err(|e| io_error("read", &final_path, e))?;
        if existing == expected {
            eprintln!(
                "{} is already present and its SHA-1 matches; not downloading again",
                final_path.display()
            );
            return Ok(final_path);
        }
        eprintln!(
            "{} exists but its SHA-1 is {existing}, not {expected}; downloading a fresh copy",
            final_path.display()
        );
    }

    let url = model_url(base_url, name);
    let agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        // Per-read rather than global: a 3 GB model may legitimately take an hour,
        // but a connection that stays silent for a minute is dead.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .new_agent();
    let mut response = agent.get(url.as_str()).call().map_err(|err| match err {
        ureq::Error::StatusCode(status) => ModelError::HttpStatus {
            url: url.clone(),
            status,
        },
        source => ModelError::Http {
            url: url.clone(),
            source,
        },
    })?;
    let total_len = response.body().content_length();

    // The pid keeps two concurrent fetches of the same model from writing into one file.
    let partial =
        PartialFile::new(dest_dir.join(format!(".{file_name}.{}.partial", std::process::id())));
    let mut file = File::create(&partial.path).map_err(|e| io_error("create", &partial.path, e))?;

    let progress = progress_bar(total_len, show_progress);
    let mut hasher = Sha1::new();
    let mut reader = response.body_mut().as_reader();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                progress.abandon();
                return Err(ModelError::Interrupted { url, source });
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| io_error("write", &partial.path, e))?;
        progress.inc(n as u64);
    }
    progress.finish_and_clear();

    // Flush before the rename so a crash cannot leave a truncated file under the final name.
    file.sync_all()
        .map_err(|e| io_error("sync", &partial.path, e))?;
    drop(file);

    let actual = to_hex(&hasher.finalize());
    if actual != expected {
        return Err(ModelError::ChecksumMismatch {
            url,
            expected,
            actual,
        });
    }
    fs::rename(&partial.path, &final_path)
        .map_err(|e| io_error("rename download to", &final_path, e))?;
    partial.keep();
    sync_dir(dest_dir);
    Ok(final_path)
}

/// Removes the temporary download on drop unless it was renamed into place, so every
/// early return (and a panic) cleans up without each path having to remember to.
struct PartialFile {
    path: PathBuf,
    renamed: bool,
}

impl PartialFile {
    fn new(path: PathBuf) -> Self {
        PartialFile {
            path,
            renamed: false,
        }
    }

    fn keep(mut self) {
        self.renamed = true;
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.renamed {
            // Best effort: the file may never have been created, and a failed delete
            // must not mask the error that got us here.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Persists the rename itself; without it a power loss could forget the new directory entry.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        // Best effort: the data is already synced, and some filesystems refuse directory fsync.
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn progress_bar(total_len: Option<u64>, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total_len, ProgressDrawTarget::stderr());
    let template = if total_len.is_some() {
        "{bar:40.cyan/blue} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}"
    } else {
        "{spinner} {binary_bytes} {binary_bytes_per_sec}"
    };
    // The templates are constants; if one were malformed the default style still shows progress.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn sha1_of_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::{TcpListener, TcpStream};
    use std::thread::JoinHandle;

    /// Serves `responses` in order, one per connection, then exits.
    fn serve(responses: Vec<(u16, Vec<u8>)>) -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let handle = std::thread::spawn(move || {
            for (status, body) in responses {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                answer(stream, status, &body);
            }
        });
        (base, handle)
    }

    fn answer(stream: TcpStream, status: u16, body: &[u8]) {
        let mut reader = io::BufReader::new(stream);
        let mut line = String::new();
        // Consume the request head so the client never sees a reset mid-write.
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        let mut stream = reader.into_inner();
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
        let _ = stream.flush();
    }

    fn sha1_hex(bytes: &[u8]) -> String {
        to_hex(&Sha1::digest(bytes))
    }

    fn dir_entries(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn table_has_required_models_with_well_formed_hashes() {
        for name in [
            "tiny",
            "tiny.en",
            "base",
            "base.en",
            "small",
            "small.en",
            "medium",
            "medium.en",
            "large-v3-turbo",
        ] {
            assert!(
                find_known(name).is_some(),
                "{name} missing from KNOWN_MODELS"
            );
        }
        assert!(find_known(DEFAULT_MODEL).is_some());
        for model in KNOWN_MODELS {
            assert_eq!(model.sha1.len(), 40, "{}", model.name);
            assert!(model
                .sha1
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        assert_eq!(
            model_url(DEFAULT_BASE_URL, "base.en"),
            "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin"
        );
        assert_eq!(
            find_known("ggml-tiny.en.bin").map(|m| m.name),
            Some("tiny.en")
        );
    }

    #[test]
    fn model_error_can_travel_inside_anyhow() {
        fn assert_send_sync_static<T: Send + Sync + 'static>() {}
        assert_send_sync_static::<ModelError>();
    }

    #[test]
    fn sha1_hex_matches_known_vector() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn fetch_with_matching_hash_installs_exact_bytes() {
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (base, server) = serve(vec![(200, body.clone())]);
        let dest = tempfile::tempdir().expect("tempdir");
        let dest_dir = dest.path().join("nested/models");

        let path =
            fetch_with("tiny", &sha1_hex(&body), &dest_dir, &base, true).expect("fetch succeeds");

        assert_eq!(path, dest_dir.join("ggml-tiny.bin"));
        assert_eq!(fs::read(&path).expect("read model"), body);
        assert_eq!(dir_entries(&dest_dir), vec!["ggml-tiny.bin".to_string()]);
        server.join().expect("server thread");
    }

    #[test]
    fn fetch_skips_download_when_existing_file_matches() {
        let dest = tempfile::tempdir().expect("tempdir");
        let body = b"already here".to_vec();
        fs::write(dest.path().join("ggml-tiny.bin"), &body).expect("seed file");
        // Nothing listens on this URL, so any download attempt would fail the test.
        let base = closed_port_url();

        let path = fetch_with("tiny", &sha1_hex(&body), dest.path(), &base, false)
            .expect("no download needed");
        assert_eq!(fs::read(path).expect("read"), body);
    }

    #[test]
    fn fetch_replaces_existing_file_with_wrong_hash() {
        let dest = tempfile::tempdir().expect("tempdir");
        fs::write(dest.path().join("ggml-tiny.bin"), b"stale").expect("seed file");
        let body = b"fresh model bytes".to_vec();
        let (base, server) = serve(vec![(200, body.clone())]);

        let path = fetch_with("tiny", &sha1_hex(&body), dest.path(), &base, false)
            .expect("fetch succeeds");
        assert_eq!(fs::read(path).expect("read"), body);
        assert_eq!(dir_entries(dest.path()), vec!["ggml-tiny.bin".to_string()]);
        server.join().expect("server thread");
    }

    #[test]
    fn fetch_with_mismatching_hash_leaves_nothing_behind() {
        let (base, server) = serve(vec![(200, b"definitely not a whisper model".to_vec())]);
        let dest = tempfile::tempdir().expect("tempdir");
        let expected = find_known("tiny").expect("tiny known").sha1;

        let err = fetch_with("tiny", expected, dest.path(), &base, false)
            .expect_err("hash must not match");

        let msg = err.to_string();
        assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{msg}");
        assert!(msg.contains("SHA-1 mismatch"), "{msg}");
        assert!(msg.contains(expected), "{msg}");
        assert!(
            msg.contains(&sha1_hex(b"definitely not a whisper model")),
            "{msg}"
        );
        assert!(msg.contains(&format!("{base}/ggml-tiny.bin")), "{msg}");
        assert!(
            dir_entries(dest.path()).is_empty(),
            "left behind: {:?}",
            dir_entries(dest.path())
        );
        server.join().expect("server thread");
    }

    #[test]
    fn fetch_404_names_url_and_leaves_nothing_behind() {
        let (base, server) = serve(vec![(404, b"Entry not found".to_vec())]);
        let dest = tempfile::tempdir().expect("tempdir");

        let err = fetch("base.en", dest.path(), &base, false).expect_err("404 is an error");

        let msg = err.to_string();
        assert!(
            matches!(err, ModelError::HttpStatus { status: 404, .. }),
            "{msg}"
        );
        assert!(msg.contains(&format!("{base}/ggml-base.en.bin")), "{msg}");
        assert!(dir_entries(dest.path()).is_empty());
        server.join().expect("server thread");
    }

    fn closed_port_url() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        drop(listener);
        format!("http://{addr}")
    }

    #[test]
    fn fetch_connection_refused_names_url_and_leaves_nothing_behind() {
        let base = closed_port_url();
        let dest = tempfile::tempdir().expect("tempdir");

        let err = fetch("tiny.en", dest.path(), &base, false).expect_err("nothing listens there");

        let msg = err.to_string();
        assert!(matches!(err, ModelError::Http { .. }), "{msg}");
        assert!(msg.contains(&format!("{base}/ggml-tiny.en.bin")), "{msg}");
        assert!(dir_entries(dest.path()).is_empty());
    }

    #[test]
    fn fetch_unknown_model_lists_known_ones() {
        let dest = tempfile::tempdir().expect("tempdir");
        let err = fetch("gigantic", dest.path(), &closed_port_url(), false).expect_err("unknown");
        let msg = err.to_string();
        assert!(matches!(err, ModelError::UnknownModel { .. }), "{msg}");
        assert!(
            msg.contains("gigantic") && msg.contains("base.en") && msg.contains("large-v3-turbo"),
            "{msg}"
        );
        assert!(dir_entries(dest.path()).is_empty());
    }

    #[test]
    fn fetch_with_rejects_path_like_names() {
        let dest = tempfile::tempdir().expect("tempdir");
        let err = fetch_with("../evil", "00", dest.path(), &closed_port_url(), false)
            .expect_err("path name");
        assert!(matches!(err, ModelError::InvalidName { .. }), "{err}");
    }

    #[test]
    fn resolve_searches_dirs_in_order() {
        let root = tempfile::tempdir().expect("tempdir");
        let first = root.path().join("first");
        let second = root.path().join("second");
        fs::create_dir_all(&first).expect("mkdir");
        fs::create_dir_all(&second).expect("mkdir");
        let search = ModelSearch {
            explicit: None,
            dirs: vec![first.clone(), second.clone()],
        };

        fs::write(second.join("ggml-tiny.bin"), b"2").expect("write");
        assert_eq!(
            search.resolve("tiny").expect("found in second"),
            second.join("ggml-tiny.bin")
        );

        fs::write(first.join("ggml-tiny.bin"), b"1").expect("write");
        assert_eq!(
            search.resolve("tiny").expect("found in first"),
            first.join("ggml-tiny.bin")
        );
        assert_eq!(
            search.resolve("ggml-tiny.bin").expect("file-name form"),
            first.join("ggml-tiny.bin")
        );
    }

    /// A search over one fresh directory holding `ggml-NAME.bin` for each of `names`.
    fn search_with(names: &[&str]) -> (tempfile::TempDir, ModelSearch) {
        let root = tempfile::tempdir().expect("tempdir");
        for name in names {
            fs::write(root.path().join(file_name_for(name)), b"m").expect("write");
        }
        let search = ModelSearch {
            explicit: None,
            dirs: vec![root.path().to_owned()],
        };
        (root, search)
    }

    #[test]
    fn the_configured_model_is_chosen_when_installed_with_no_note() {
        let (_root, search) = search_with(&["tiny.en", "base.en"]);
        let chosen = search.choose("base.en").expect("installed");
        assert_eq!(
            (chosen.name.as_str(), chosen.instead_of.as_deref()),
            ("base.en", None)
        );
        assert_eq!(chosen.stand_in_note(), None);
    }

    #[test]
    fn the_largest_installed_model_stands_in_and_says_how_to_get_the_configured_one() {
        let (_root, search) = search_with(&["tiny.en", "base", "mine"]);
        let chosen = search.choose("base.en").expect("a stand-in");
        assert_eq!(chosen.name, "base");
        assert_eq!(chosen.instead_of.as_deref(), Some("base.en"));
        let note = chosen.stand_in_note().expect("a note");
        assert!(
            note.starts_with("model base.en is not installed; using base ("),
            "{note}"
        );
        assert!(
            note.contains("`viva models fetch base.en` installs it"),
            "{note}"
        );
    }

    #[test]
    fn a_stand_in_of_the_same_language_family_wins_a_tie_of_size() {
        let (_root, search) = search_with(&["tiny", "tiny.en"]);
        assert_eq!(search.choose("base.en").unwrap().name, "tiny.en");
        assert_eq!(search.choose("base").unwrap().name, "tiny");
    }

    #[test]
    fn with_nothing_installed_the_configured_model_is_not_found() {
        let (_root, search) = search_with(&[]);
        assert!(matches!(
            search.choose("base.en"),
            Err(ModelError::NotFound { name, .. }) if name == "base.en"
        ));
    }

    #[test]
    fn a_missing_explicit_file_is_never_replaced_by_a_stand_in() {
        let (root, mut search) = search_with(&["tiny.en"]);
        search.explicit = Some(root.path().join("gone.bin"));
        assert!(matches!(
            search.choose("base.en"),
            Err(ModelError::ExplicitNotFound { .. })
        ));
        let rows = search.list_marking("base.en");
        assert!(rows.iter().all(|r| !r.in_use));
    }

    #[test]
    fn resolve_explicit_path_wins_and_must_exist() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("models");
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("ggml-base.en.bin"), b"x").expect("write");
        let explicit = root.path().join("my-model.bin");
        fs::write(&explicit, b"mine").expect("write");

        let search = ModelSearch {
            explicit: Some(explicit.clone()),
            dirs: vec![dir.clone()],
        };
        assert_eq!(search.resolve("base.en").expect("explicit"), explicit);

        let missing = root.path().join("nope.bin");
        let search = ModelSearch {
            explicit: Some(missing.clone()),
            dirs: vec![dir],
        };
        let err = search
            .resolve("base.en")
            .expect_err("missing explicit is an error, not a fallback");
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn resolve_not_found_lists_every_path_and_the_fix() {
        let root = tempfile::tempdir().expect("tempdir");
        let dirs = vec![
            root.path().join("a"),
            root.path().join("b"),
            root.path().join("c"),
        ];
        let search = ModelSearch {
            explicit: None,
            dirs: dirs.clone(),
        };

        let msg = search
            .resolve("small.en")
            .expect_err("nothing installed")
            .to_string();

        for dir in &dirs {
            let tried = dir.join("ggml-small.en.bin");
            assert!(msg.contains(&tried.display().to_string()), "{msg}");
        }
        assert!(msg.contains("viva models fetch small.en"), "{msg}");
        assert!(
            msg.contains("--model") && msg.contains("VIVA_MODEL"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one-line message: {msg}");
    }

    #[test]
    fn list_reports_installed_known_and_custom_models() {
        let root = tempfile::tempdir().expect("tempdir");
        let first = root.path().join("first");
        let second = root.path().join("second");
        fs::create_dir_all(&first).expect("mkdir");
        fs::create_dir_all(&second).expect("mkdir");
        fs::write(second.join("ggml-base.en.bin"), vec![0u8; 3 * MIB as usize]).expect("write");
        fs::write(first.join("ggml-my-finetune.bin"), vec![0u8; 1024]).expect("write");
        fs::write(first.join("notes.txt"), b"ignored").expect("write");
        let search = ModelSearch {
            explicit: None,
            dirs: vec![first.clone(), second.clone()],
        };

        let rows = search.list();

        assert_eq!(rows.len(), KNOWN_MODELS.len() + 1);
        let base_en = rows
            .iter()
            .find(|r| r.name == "base.en")
            .expect("base.en row");
        assert_eq!(
            base_en.installed.as_deref(),
            Some(second.join("ggml-base.en.bin").as_path())
        );
        assert_eq!(base_en.size_bytes, 3 * MIB);
        let tiny = rows.iter().find(|r| r.name == "tiny").expect("tiny row");
        assert_eq!(tiny.installed, None);
        assert_eq!(tiny.size_bytes, 75 * MIB);
        let custom = rows
            .iter()
            .find(|r| r.name == "my-finetune")
            .expect("custom row");
        assert!(!custom.known);
        assert_eq!(custom.sha1, None);
        assert_eq!(custom.size_bytes, 1024);

        let table = render_list(&rows);
        assert!(table.contains("base.en (default)"), "{table}");
        assert!(
            table.contains(&second.join("ggml-base.en.bin").display().to_string()),
            "{table}"
        );
        assert!(table.contains("not installed"), "{table}");
        assert!(table.contains("my-finetune (custom)"), "{table}");
        assert!(table.contains("75 MiB"), "{table}");

        let json = serde_json::to_string(&rows).expect("serializes");
        assert!(json.contains("\"installed\":null"), "{json}");
    }
}
