//! The question bank: prompt and playlist TOML files, read, checked and resolved.
//!
//! A bank is a directory: prompt files (`*.toml`) anywhere in it, playlists under `playlists/`.
//! viva's own bank is compiled into the binary; a user's bank under `$VIVA_HOME/prompts/` is
//! layered on top (a prompt with a shipped id replaces the shipped one). Every problem found is
//! reported as `file:line:col: message`, all of them at once, so a file can be fixed in one go.

mod model;
mod raw;

use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

pub use model::*;

/// viva's own prompts and playlists, compiled in so an installed binary works anywhere.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/prompts");

/// Where a bank's files come from.
#[derive(Debug, Clone)]
pub enum BankSource {
    /// The prompts compiled into viva.
    Builtin,
    /// A directory on disk; a missing one is an empty bank unless `required`.
    Dir { path: PathBuf, required: bool },
}

/// One TOML file of a bank, read into memory.
#[derive(Debug, Clone)]
pub struct BankFile {
    /// The name shown in messages: a real path, or `prompts/...` for the built-in bank.
    pub display: String,
    /// Whether it sits under `playlists/`.
    pub is_playlist: bool,
    pub text: String,
}

/// A problem with the bank at a place in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Everything wrong with a bank. Displays one problem a line.
#[derive(Debug, Clone, PartialEq)]
pub struct BankError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for BankError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BankError {}

/// A checked bank, ready to use.
#[derive(Debug, Clone, Default)]
pub struct Bank {
    pub prompts: Vec<Prompt>,
    pub playlists: Vec<Playlist>,
}

/// Why a lookup in the bank failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no prompt with id `{id}` in the bank{hint}; `viva prompts list` shows them all")]
    UnknownPrompt { id: String, hint: String },
    #[error("no playlist named `{id}`{hint}; `viva prompts list --playlists` shows them all")]
    UnknownPlaylist { id: String, hint: String },
}

impl Bank {
    /// The prompt with this id.
    pub fn prompt(&self, id: &str) -> Result<&Prompt, LookupError> {
        self.prompts
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| LookupError::UnknownPrompt {
                id: id.to_owned(),
                hint: did_you_mean(id, self.prompts.iter().map(|p| p.id.as_str())),
            })
    }

    /// The playlist with this id (its file stem).
    pub fn playlist(&self, id: &str) -> Result<&Playlist, LookupError> {
        self.playlists
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| LookupError::UnknownPlaylist {
                id: id.to_owned(),
                hint: did_you_mean(id, self.playlists.iter().map(|p| p.id.as_str())),
            })
    }
}

/// Suggests known ids that contain, or are contained in, what was typed.
fn did_you_mean<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> String {
    let typed = typed.to_lowercase();
    let close: Vec<&str> = known
        .filter(|k| k.contains(typed.as_str()) || (typed.len() > 3 && typed.contains(k)))
        .take(3)
        .collect();
    if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    }
}

/// Reads the files of every source, in order.
pub fn read_sources(sources: &[BankSource]) -> Result<Vec<Vec<BankFile>>, BankError> {
    sources
        .iter()
        .map(|source| match source {
            BankSource::Builtin => Ok(builtin_files()),
            BankSource::Dir { path, required } => dir_files(path, *required),
        })
        .collect()
}

/// Loads and checks a bank from its sources; later sources override earlier ones by id.
pub fn load(sources: &[BankSource]) -> Result<Bank, BankError> {
    build(&read_sources(sources)?)
}

/// Checks bank files already in memory, layer by layer (later layers override earlier ones by
/// id): `load` after the reading, for callers that hold the text (the fuzz tests).
pub fn build(layers: &[Vec<BankFile>]) -> Result<Bank, BankError> {
    raw::build(layers)
}

fn builtin_files() -> Vec<BankFile> {
    let mut files = Vec::new();
    collect_builtin(&BUILTIN, &mut files);
    files.sort_by(|a, b| a.display.cmp(&b.display));
    files
}

fn collect_builtin(dir: &Dir<'static>, files: &mut Vec<BankFile>) {
    for file in dir.files() {
        let path = file.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(BankFile {
                display: format!("prompts/{}", path.display()),
                is_playlist: path.starts_with("playlists"),
                text: file.contents_utf8().unwrap_or_default().to_owned(),
            });
        }
    }
    for sub in dir.dirs() {
        collect_builtin(sub, files);
    }
}

fn dir_files(root: &Path, required: bool) -> Result<Vec<BankFile>, BankError> {
    let problem = |path: &Path, message: String| BankError {
        problems: vec![Problem {
            file: path.display().to_string(),
            line: 1,
            column: 1,
            message,
        }],
    };
    if !root.exists() {
        return if required {
            Err(problem(root, "no such bank directory".into()))
        } else {
            Ok(Vec::new())
        };
    }
    let mut paths = Vec::new();
    walk(root, &mut paths).map_err(|e| problem(root, format!("cannot read the bank: {e}")))?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| problem(&path, format!("cannot read: {e}")))?;
            Ok(BankFile {
                is_playlist: path
                    .strip_prefix(root)
                    .is_ok_and(|rel| rel.starts_with("playlists")),
                display: path.display().to_string(),
                text,
            })
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Line and column (both from 1, column in characters) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_characters() {
        let text = "a = 1\nbé = [2, 3]\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        let offset = text.find('[').unwrap();
        assert_eq!(line_col(text, offset), (2, 6));
    }

    #[test]
    fn the_builtin_bank_loads_without_problems() {
        let bank = load(&[BankSource::Builtin]).unwrap_or_else(|e| panic!("{e}"));
        let netflix = bank
            .prompts
            .iter()
            .filter(|p| p.tags.iter().any(|t| t == "netflix"))
            .count();
        let behavioral = bank
            .prompts
            .iter()
            .filter(|p| {
                p.tags.iter().any(|t| t == "behavioral") && !p.tags.iter().any(|t| t == "netflix")
            })
            .count();
        assert!(netflix >= 30, "{netflix} netflix prompts");
        assert!(behavioral >= 15, "{behavioral} general behavioral prompts");
    }

    #[test]
    fn every_builtin_concept_says_what_it_means() {
        // Matching by meaning needs a sentence for each concept; user banks may leave it out.
        let bank = load(&[BankSource::Builtin]).unwrap_or_else(|e| panic!("{e}"));
        let without: Vec<String> = bank
            .prompts
            .iter()
            .flat_map(|p| {
                p.rubric
                    .concepts
                    .iter()
                    .filter(|c| c.means.is_none())
                    .map(move |c| format!("{}: {}", p.id, c.name))
            })
            .collect();
        assert!(without.is_empty(), "concepts without `means`: {without:?}");
    }
}
