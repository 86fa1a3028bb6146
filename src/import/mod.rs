//! `viva models import`: a CTranslate2 (faster-whisper) Whisper model converted into the
//! ggml file whisper.cpp loads, written atomically with a provenance record beside it.
//!
//! - [`source`]: finds model.bin (or its parts) and the vocabulary in directories and wheels.
//! - [`ct2`]: reads model.bin's variable records as a stream.
//! - [`whisper`]: maps CTranslate2's Whisper variables onto whisper.cpp's tensors.
//! - [`vocab`]: GPT-2 byte-level tokens back to raw bytes.
//! - [`mel`]: the mel filterbank, computed.
//! - [`ggml_out`]: the ggml file, written.
//!
//! model.bin is read twice, both times as a stream: once to learn the model's shape (and keep
//! the small int8 scales), once to convert each variable as it passes. Only one variable is in
//! memory at a time, as `f32`.

pub mod ct2;
mod ggml_out;
pub mod mel;
mod source;
pub mod vocab;
pub mod whisper;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use ct2::{DType, ReadError, VarHeader};
use ggml_out::GgmlFile;
use source::ModelFiles;
use whisper::{Hparams, Mapping, Target};

/// What went wrong, and in which file.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct ImportError {
    /// The file (or `WHEEL!ENTRY`) at fault.
    pub at: String,
    pub problem: String,
}

impl ImportError {
    pub fn new(at: impl Into<String>, problem: impl Into<String>) -> Self {
        ImportError {
            at: at.into(),
            problem: problem.into(),
        }
    }
}

/// Where an imported model came from; kept as `ggml-NAME.bin.json` beside the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The directories and wheels it was converted from.
    pub sources: Vec<SourceFile>,
    /// SHA-256 of the ggml file written.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub sha256: String,
}

/// A model written by [`import`].
#[derive(Debug, Clone)]
pub struct Imported {
    pub path: PathBuf,
    pub name: String,
    pub hparams: Hparams,
    pub provenance: Provenance,
}

/// The provenance record's path for a model file.
pub fn provenance_path(model: &Path) -> PathBuf {
    let mut name = model.file_name().unwrap_or_default().to_os_string();
    name.push(".json");
    model.with_file_name(name)
}

/// The provenance of `model`, if it was imported (and its record is readable).
pub fn provenance(model: &Path) -> Option<Provenance> {
    let text = fs::read_to_string(provenance_path(model)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Converts the model in `paths` into `dir/ggml-NAME.bin`, `NAME` defaulting to whisper.cpp's
/// name for the model's size and language (e.g. `tiny.en`).
pub fn import(paths: &[PathBuf], name: Option<&str>, dir: &Path) -> Result<Imported, ImportError> {
    let files = ModelFiles::locate(paths)?;
    let index = Index::read(&files)?;
    let hparams = Hparams::from_variables(&index.shapes, &index.scalars).map_err(|problem| {
        ImportError::new(
            files.model_label(),
            format!("is not a Whisper model: {problem}"),
        )
    })?;
    let plan = plan(&files, &index, &hparams)?;
    let tokens = ggml_vocabulary(&files, &hparams)?;
    let name = match name {
        Some(name) => checked_name(name)?,
        None => hparams.default_name().ok_or_else(|| {
            ImportError::new(
                files.model_label(),
                "is not a Whisper size this importer can name; give one with --name",
            )
        })?,
    };

    fs::create_dir_all(dir).map_err(|e| {
        ImportError::new(dir.display().to_string(), format!("cannot create it: {e}"))
    })?;
    let path = dir.join(format!("ggml-{name}.bin"));
    let write_error = |e: std::io::Error| {
        ImportError::new(
            path.display().to_string(),
            format!("cannot write it: {e}; check permissions and free disk space"),
        )
    };
    let mut out = GgmlFile::create(&path).map_err(write_error)?;
    out.write_header(
        &hparams,
        &mel::filters(hparams.n_mels),
        mel::N_BINS,
        &tokens,
    )
    .map_err(write_error)?;
    convert(&files, &index, &plan, &mut out).map_err(|e| match e {
        Converted::Read(e) => e,
        Converted::Write(e) => write_error(e),
    })?;
    let sha256 = out.finish(&path).map_err(write_error)?;

    let provenance = Provenance {
        sources: hash_sources(&files)?,
        sha256,
    };
    write_provenance(&path, &provenance)?;
    Ok(Imported {
        path,
        name,
        hparams,
        provenance,
    })
}

/// What the first pass learns: every variable's header, the aliases, the scalars, and the
/// int8 scales (small: one value per row).
struct Index {
    headers: Vec<VarHeader>,
    shapes: BTreeMap<String, Vec<usize>>,
    aliases: Vec<(String, String)>,
    scalars: BTreeMap<String, f64>,
    scales: HashMap<String, Vec<f32>>,
}

impl Index {
    fn read(files: &ModelFiles) -> Result<Index, ImportError> {
        let mut bin = files.open_model_bin()?;
        let length = bin.len().map_err(|e| read_error(files, ReadError::Io(e)))?;
        let stream = bin
            .stream()
            .map_err(|e| read_error(files, ReadError::Io(e)))?;
        let mut reader =
            ct2::Reader::open_sized(stream, length).map_err(|e| read_error(files, e))?;
        if !reader.spec.is_empty() && reader.spec != "WhisperSpec" {
            return Err(ImportError::new(
                files.model_label(),
                format!("is a CTranslate2 {} model, not Whisper", reader.spec),
            ));
        }
        let mut index = Index {
            headers: Vec::new(),
            shapes: BTreeMap::new(),
            aliases: Vec::new(),
            scalars: BTreeMap::new(),
            scales: HashMap::new(),
        };
        while let Some(header) = reader.next_header().map_err(|e| read_error(files, e))? {
            let keep = header.dims.is_empty() || header.name.ends_with("_scale");
            if keep {
                let data = reader
                    .read_data(&header)
                    .map_err(|e| read_error(files, e))?;
                if header.dims.is_empty() {
                    if let Some(v) = ct2::scalar(header.dtype, &data) {
                        index.scalars.insert(header.name.clone(), v);
                    }
                } else if let Some(values) = ct2::to_f32(header.dtype, &data) {
                    index.scales.insert(header.name.clone(), values);
                }
            } else {
                reader
                    .skip_data(&header)
                    .map_err(|e| read_error(files, e))?;
            }
            index
                .shapes
                .insert(header.name.clone(), header.dims.clone());
            index.headers.push(header);
        }
        index.aliases = reader.aliases().map_err(|e| read_error(files, e))?;
        Ok(index)
    }
}

fn read_error(files: &ModelFiles, e: ReadError) -> ImportError {
    let problem = match e {
        ReadError::Truncated if files.is_split() => {
            "ends early: a part is cut short or missing; give every model.bin part, each whole"
                .to_owned()
        }
        ReadError::Truncated => "ends early (a cut download?); get the model again".to_owned(),
        ReadError::Short {
            name,
            claimed,
            left,
        } => format!(
            "ends early: variable {name} claims {claimed} bytes, but only {left} are left (a cut download, or a damaged file?); get the model again"
        ),
        ReadError::Corrupt(m) => format!("is not a valid CTranslate2 model.bin: {m}"),
        ReadError::Io(e) => format!("cannot read it: {e}"),
    };
    ImportError::new(files.model_label(), problem)
}

/// For each variable to read, the whisper.cpp tensors cut from it (aliases included), after
/// checking that the model maps onto exactly the tensors whisper.cpp expects, in the shapes
/// it expects, from dtypes this importer can decode.
fn plan(
    files: &ModelFiles,
    index: &Index,
    hparams: &Hparams,
) -> Result<HashMap<String, Vec<Target>>, ImportError> {
    let bad = |problem: String| ImportError::new(files.model_label(), problem);
    let expected = hparams.expected_tensors();
    let by_name: HashMap<&str, &VarHeader> =
        index.headers.iter().map(|h| (h.name.as_str(), h)).collect();
    let names = index
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.name.as_str()))
        .chain(
            index
                .aliases
                .iter()
                .map(|(alias, target)| (alias.as_str(), target.as_str())),
        );

    let mut plan: HashMap<String, Vec<Target>> = HashMap::new();
    let mut covered = BTreeSet::new();
    for (name, stored_as) in names {
        let header = by_name.get(stored_as).ok_or_else(|| {
            bad(format!(
                "alias {name} points to a missing variable {stored_as}"
            ))
        })?;
        let targets = match whisper::map(name, &header.dims) {
            Some(Mapping::Unused) => continue,
            Some(Mapping::Tensors(targets)) => targets,
            None => {
                return Err(bad(format!(
                    "is not a Whisper model this importer knows: unexpected variable {name} {:?}",
                    header.dims
                )))
            }
        };
        check_dtype(index, header).map_err(&bad)?;
        for target in targets {
            match expected.get(&target.name) {
                Some(shape) if *shape == target.shape => {}
                Some(shape) => {
                    return Err(bad(format!(
                        "{name} gives {} the shape {:?}, but whisper.cpp expects {shape:?} for this model",
                        target.name, target.shape
                    )))
                }
                None => return Err(bad(format!("{name} maps to {}, which whisper.cpp does not know", target.name))),
            }
            if !covered.insert(target.name.clone()) {
                return Err(bad(format!(
                    "{} comes from more than one variable",
                    target.name
                )));
            }
            plan.entry(stored_as.to_owned()).or_default().push(target);
        }
    }
    if let Some(missing) = expected.keys().find(|t| !covered.contains(*t)) {
        return Err(bad(format!(
            "is not a whole Whisper model: nothing gives whisper.cpp's {missing}"
        )));
    }
    Ok(plan)
}

fn check_dtype(index: &Index, header: &VarHeader) -> Result<(), String> {
    match header.dtype {
        DType::F32 | DType::F16 | DType::BF16 => Ok(()),
        DType::I8 if index.scales.contains_key(&scale_name(&header.name)) => Ok(()),
        DType::I8 => Err(format!("{} is int8 but has no {}", header.name, scale_name(&header.name))),
        other => Err(format!(
            "{} is stored as {other:?}; only float32, float16, bfloat16 and int8 models can be imported",
            header.name
        )),
    }
}

fn scale_name(weight: &str) -> String {
    format!("{weight}_scale")
}

/// The vocabulary as whisper.cpp reads it, after checking it fits the model.
fn ggml_vocabulary(files: &ModelFiles, hparams: &Hparams) -> Result<Vec<Vec<u8>>, ImportError> {
    let (label, text) = files.read_vocabulary()?;
    let tokens = vocab::parse(&label, &text).map_err(|p| ImportError::new(&label, p))?;
    if tokens.len() != hparams.n_vocab {
        return Err(ImportError::new(
            &label,
            format!(
                "has {} tokens but the model has {}; it belongs to another model",
                tokens.len(),
                hparams.n_vocab
            ),
        ));
    }
    vocab::ggml_tokens(&tokens).map_err(|p| ImportError::new(&label, p))
}

fn checked_name(name: &str) -> Result<String, ImportError> {
    let name = crate::models::normalize_name(name);
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(ImportError::new(
            name,
            "is not a model name; use a plain name like tiny.en",
        ));
    }
    Ok(name.to_owned())
}

/// The second pass: each planned variable decoded to `f32`, cut into its tensors, written.
fn convert(
    files: &ModelFiles,
    index: &Index,
    plan: &HashMap<String, Vec<Target>>,
    out: &mut GgmlFile,
) -> Result<(), Converted> {
    let mut bin = files.open_model_bin()?;
    let length = bin.len().map_err(|e| read_error(files, ReadError::Io(e)))?;
    let stream = bin
        .stream()
        .map_err(|e| read_error(files, ReadError::Io(e)))?;
    let mut reader = ct2::Reader::open_sized(stream, length).map_err(|e| read_error(files, e))?;
    while let Some(header) = reader.next_header().map_err(|e| read_error(files, e))? {
        let Some(targets) = plan.get(&header.name) else {
            reader
                .skip_data(&header)
                .map_err(|e| read_error(files, e))?;
            continue;
        };
        let data = reader
            .read_data(&header)
            .map_err(|e| read_error(files, e))?;
        let values =
            decode(index, &header, &data).map_err(|p| ImportError::new(files.model_label(), p))?;
        let row_len = header.elements() / header.dims[0].max(1);
        for target in targets {
            let rows = &values[target.rows.start * row_len..target.rows.end * row_len];
            out.write_tensor(
                &target.name,
                &target.shape,
                rows,
                whisper::stays_f32(&target.name, &target.shape),
            )
            .map_err(Converted::Write)?;
        }
    }
    Ok(())
}

/// Why the second pass stopped: the model could not be read, or the output not written.
enum Converted {
    Read(ImportError),
    Write(std::io::Error),
}

impl From<ImportError> for Converted {
    fn from(e: ImportError) -> Self {
        Converted::Read(e)
    }
}

/// A variable's values as `f32`; int8 ones divided by their scales (CTranslate2 stores
/// `round(value * scale)`, one scale per output row).
fn decode(index: &Index, header: &VarHeader, data: &[u8]) -> Result<Vec<f32>, String> {
    if let Some(values) = ct2::to_f32(header.dtype, data) {
        return Ok(values);
    }
    let scale = &index.scales[&scale_name(&header.name)];
    dequantize(data, &header.dims, scale).ok_or_else(|| {
        format!(
            "{}'s scale has {} values, which fits no row layout of {:?}",
            header.name,
            scale.len(),
            header.dims
        )
    })
}

/// `q / scale`, the scale per row (`[rows]`), or for a 3-D conv weight possibly per row and
/// kernel tap (`[rows, taps]`, CTranslate2 reducing over axis 1).
pub fn dequantize(data: &[u8], dims: &[usize], scale: &[f32]) -> Option<Vec<f32>> {
    let rows = *dims.first()?;
    let row_len = dims.iter().skip(1).product::<usize>();
    let taps = if dims.len() == 3 { dims[2] } else { 1 };
    let scale_of: Box<dyn Fn(usize) -> f32> = if scale.len() == rows {
        Box::new(|i| scale[i / row_len])
    } else if dims.len() == 3 && scale.len() == rows * taps {
        Box::new(|i| scale[(i / row_len) * taps + i % taps])
    } else {
        return None;
    };
    Some(
        data.iter()
            .enumerate()
            .map(|(i, &q)| q as i8 as f32 / scale_of(i))
            .collect(),
    )
}

/// SHA-256 of each wheel given, and of each model.bin piece inside each directory given.
fn hash_sources(files: &ModelFiles) -> Result<Vec<SourceFile>, ImportError> {
    let mut hashed = Vec::new();
    for source in &files.sources {
        let inside: Vec<PathBuf> = if source.is_dir() {
            files
                .pieces
                .iter()
                .filter_map(|p| match p {
                    source::Location::File(f) if f.starts_with(source) => Some(f.clone()),
                    _ => None,
                })
                .collect()
        } else {
            vec![source.clone()]
        };
        for path in inside {
            let sha256 = source::sha256_of(&path).map_err(|e| {
                ImportError::new(path.display().to_string(), format!("cannot read it: {e}"))
            })?;
            let path = fs::canonicalize(&path).unwrap_or(path);
            hashed.push(SourceFile { path, sha256 });
        }
    }
    Ok(hashed)
}

fn write_provenance(model: &Path, provenance: &Provenance) -> Result<(), ImportError> {
    let path = provenance_path(model);
    let temp = path.with_extension(format!("json.{}.partial", std::process::id()));
    let text = serde_json::to_string_pretty(provenance).expect("provenance serialises");
    let result = fs::write(&temp, text + "\n").and_then(|()| fs::rename(&temp, &path));
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        ImportError::new(
            path.display().to_string(),
            format!("cannot write the provenance record: {e}"),
        )
    })
}

#[cfg(test)]
mod tests;
