//! CTranslate2's `model.bin`, read as a stream of variable records.
//!
//! Layout (CTranslate2 `python/ctranslate2/specs/model_spec.py`, `_serialize`, and
//! `src/models/model.cc`), little-endian: `u32` binary version; from version 2 the spec name
//! and `u32` spec revision; `u32` variable count, then per variable its name, `u8` rank, one
//! `u32` per dimension, (version 4+) `u8` dtype and `u32` byte count (before: `u8` item size
//! and `u32` element count), and the raw data; from version 3 a `u32` alias count and
//! (alias, target) name pairs. A string is a `u16` length that counts a trailing NUL.

use std::io::{self, Read};

/// The newest binary version this reader knows (CTranslate2's `CURRENT_BINARY_VERSION`).
const NEWEST_VERSION: u32 = 6;
/// Far above any real variable; stops a corrupt record from asking for absurd memory.
const MAX_RANK: usize = 8;

/// CTranslate2's `DataType` enum, in its on-disk order (`include/ctranslate2/types.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    /// Before binary version 4 only the item size was stored (`get_dtype_from_item_size`).
    fn from_item_size(size: u8) -> Option<Self> {
        Some(match size {
            4 => DType::F32,
            2 => DType::I16,
            1 => DType::I8,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable's record, without its data.
#[derive(Debug, Clone, PartialEq)]
pub struct VarHeader {
    /// Scoped name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Row-major shape; empty for a scalar.
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub bytes: usize,
}

impl VarHeader {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

/// Why a model.bin could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The stream ended inside a record.
    Truncated,
    /// A record claims more bytes than the rest of the stream holds (checked before any
    /// allocation): a cut file, or a lying header.
    Short {
        name: String,
        claimed: usize,
        left: u64,
    },
    /// A record makes no sense (bad dtype, sizes that disagree, an unknown version...).
    Corrupt(String),
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Truncated
        } else {
            ReadError::Io(e)
        }
    }
}

/// Reads the records of one model.bin in order; each header must be followed by exactly one
/// [`Reader::read_data`] or [`Reader::skip_data`].
pub struct Reader<R> {
    input: Counted<R>,
    /// The stream's length, when known: no record may claim more bytes than are left.
    length: Option<u64>,
    version: u32,
    /// The spec name, e.g. `WhisperSpec`; empty before binary version 2.
    pub spec: String,
    pub revision: u32,
    remaining: u32,
}

/// A reader that counts what has been read through it.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Read> Reader<R> {
    /// Opens a stream of unknown length: a record's data is still read as it arrives, never
    /// allocated at its claimed size up front.
    pub fn open(input: R) -> Result<Self, ReadError> {
        Self::open_with_length(input, None)
    }

    /// Opens a stream of `length` bytes (model.bin's size, or its parts' sum): a record that
    /// claims more than is left is refused before anything is allocated for it.
    pub fn open_sized(input: R, length: u64) -> Result<Self, ReadError> {
        Self::open_with_length(input, Some(length))
    }

    fn open_with_length(input: R, length: Option<u64>) -> Result<Self, ReadError> {
        let mut input = Counted {
            inner: input,
            read: 0,
        };
        let version = read_u32(&mut input)?;
        if version == 0 || version > NEWEST_VERSION {
            return Err(ReadError::Corrupt(format!(
                "binary version {version} is not one CTranslate2 writes (1-{NEWEST_VERSION})"
            )));
        }
        let (spec, revision) = if version >= 2 {
            (read_string(&mut input)?, read_u32(&mut input)?)
        } else {
            (String::new(), 1)
        };
        let remaining = read_u32(&mut input)?;
        Ok(Reader {
            input,
            length,
            version,
            spec,
            revision,
            remaining,
        })
    }

    /// The next variable's header, or `None` after the last one.
    pub fn next_header(&mut self) -> Result<Option<VarHeader>, ReadError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        let name = read_string(&mut self.input)?;
        let rank = read_u8(&mut self.input)? as usize;
        if rank > MAX_RANK {
            return Err(ReadError::Corrupt(format!(
                "variable {name} has rank {rank}"
            )));
        }
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(read_u32(&mut self.input)? as usize);
        }
        let (dtype, bytes) = if self.version >= 4 {
            let id = read_u8(&mut self.input)?;
            let dtype = DType::from_id(id).ok_or_else(|| {
                ReadError::Corrupt(format!("variable {name} has unknown dtype {id}"))
            })?;
            (dtype, read_u32(&mut self.input)? as usize)
        } else {
            let size = read_u8(&mut self.input)?;
            let dtype = DType::from_item_size(size).ok_or_else(|| {
                ReadError::Corrupt(format!("variable {name} has item size {size}"))
            })?;
            (dtype, read_u32(&mut self.input)? as usize * size as usize)
        };
        let header = VarHeader {
            name,
            dims,
            dtype,
            bytes,
        };
        if header.elements().checked_mul(dtype.size()) != Some(bytes) {
            return Err(ReadError::Corrupt(format!(
                "variable {} has shape {:?} but {bytes} bytes",
                header.name, header.dims
            )));
        }
        if let Some(length) = self.length {
            let left = length.saturating_sub(self.input.read);
            if bytes as u64 > left {
                return Err(ReadError::Short {
                    name: header.name,
                    claimed: bytes,
                    left,
                });
            }
        }
        Ok(Some(header))
    }

    /// The record's data. Read as it arrives rather than allocated at the claimed size
    /// first, so a lying header in a stream of unknown length costs no more memory than the
    /// stream holds.
    pub fn read_data(&mut self, header: &VarHeader) -> Result<Vec<u8>, ReadError> {
        let mut data = Vec::new();
        (&mut self.input)
            .take(header.bytes as u64)
            .read_to_end(&mut data)?;
        if data.len() != header.bytes {
            return Err(ReadError::Truncated);
        }
        Ok(data)
    }

    pub fn skip_data(&mut self, header: &VarHeader) -> Result<(), ReadError> {
        let copied = io::copy(
            &mut (&mut self.input).take(header.bytes as u64),
            &mut io::sink(),
        )?;
        if copied != header.bytes as u64 {
            return Err(ReadError::Truncated);
        }
        Ok(())
    }

    /// The alias table after the last variable: (alias, target) pairs.
    pub fn aliases(mut self) -> Result<Vec<(String, String)>, ReadError> {
        if self.version < 3 {
            return Ok(Vec::new());
        }
        let count = read_u32(&mut self.input)?;
        (0..count)
            .map(|_| Ok((read_string(&mut self.input)?, read_string(&mut self.input)?)))
            .collect()
    }
}

/// Decodes raw little-endian data of a float dtype to `f32`; `None` for integer dtypes.
pub fn to_f32(dtype: DType, data: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        DType::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F16 => data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::BF16 => data
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::I8 | DType::I16 | DType::I32 => return None,
    })
}

/// The value of an integer or float scalar, e.g. `encoder/num_heads`.
pub fn scalar(dtype: DType, data: &[u8]) -> Option<f64> {
    Some(match dtype {
        DType::I8 => *data.first()? as i8 as f64,
        DType::I16 => i16::from_le_bytes(data.get(..2)?.try_into().ok()?) as f64,
        DType::I32 => i32::from_le_bytes(data.get(..4)?.try_into().ok()?) as f64,
        _ => *to_f32(dtype, data)?.first()? as f64,
    })
}

fn read_u8(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_string(r: &mut impl Read) -> Result<String, ReadError> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len)?;
    let len = u16::from_le_bytes(len) as usize;
    let mut bytes = vec![0u8; len];
    r.read_exact(&mut bytes)?;
    if bytes.pop() != Some(0) {
        return Err(ReadError::Corrupt(
            "a name is not NUL-terminated".to_owned(),
        ));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::Corrupt("a name is not UTF-8".to_owned()))
}

/// Writes model.bin records; the tests build synthetic models with it.
#[cfg(test)]
pub mod write {
    use super::DType;

    pub fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    pub fn header(out: &mut Vec<u8>, variables: u32) {
        out.extend_from_slice(&6u32.to_le_bytes());
        string(out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&variables.to_le_bytes());
    }

    pub fn variable(out: &mut Vec<u8>, name: &str, dims: &[usize], dtype: DType, data: &[u8]) {
        string(out, name);
        out.push(dims.len() as u8);
        for d in dims {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(dtype as u8);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }

    pub fn aliases(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
        out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
        for (alias, target) in pairs {
            string(out, alias);
            string(out, target);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Vec<u8> {
        let mut out = Vec::new();
        write::header(&mut out, 2);
        write::variable(
            &mut out,
            "a/num_heads",
            &[],
            DType::I16,
            &6i16.to_le_bytes(),
        );
        let data: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        write::variable(&mut out, "a/w", &[2], DType::F32, &data);
        write::aliases(&mut out, &[("b/w", "a/w")]);
        out
    }

    #[test]
    fn reads_every_record_and_the_aliases() {
        let bytes = model();
        let mut r = Reader::open(&bytes[..]).unwrap();
        assert_eq!((r.spec.as_str(), r.revision), ("WhisperSpec", 3));
        let heads = r.next_header().unwrap().unwrap();
        assert_eq!(heads.dims, Vec::<usize>::new());
        let data = r.read_data(&heads).unwrap();
        assert_eq!(scalar(heads.dtype, &data), Some(6.0));
        let w = r.next_header().unwrap().unwrap();
        assert_eq!((w.name.as_str(), w.dims.as_slice()), ("a/w", &[2][..]));
        assert_eq!(
            to_f32(w.dtype, &r.read_data(&w).unwrap()),
            Some(vec![1.5, -2.0])
        );
        assert!(r.next_header().unwrap().is_none());
        assert_eq!(r.aliases().unwrap(), vec![("b/w".into(), "a/w".into())]);
    }

    #[test]
    fn a_cut_anywhere_is_truncation_not_garbage() {
        let bytes = model();
        for cut in 0..bytes.len() {
            let result = (|| {
                let mut r = Reader::open(&bytes[..cut])?;
                while let Some(h) = r.next_header()? {
                    r.skip_data(&h)?;
                }
                r.aliases()
            })();
            assert!(
                matches!(result, Err(ReadError::Truncated)),
                "cut at {cut}: {result:?}"
            );
        }
    }

    #[test]
    fn sizes_that_disagree_with_the_shape_are_corrupt() {
        let mut out = Vec::new();
        write::header(&mut out, 1);
        write::variable(&mut out, "w", &[3], DType::F32, &[0u8; 8]);
        let mut r = Reader::open(&out[..]).unwrap();
        assert!(matches!(r.next_header(), Err(ReadError::Corrupt(m)) if m.contains("w")));
    }

    /// A model.bin whose one variable claims 1 GiB (shape and size agree) and holds 8 bytes.
    fn lying_model() -> Vec<u8> {
        let mut out = Vec::new();
        write::header(&mut out, 1);
        write::string(&mut out, "huge");
        out.push(1);
        out.extend_from_slice(&(1u32 << 28).to_le_bytes());
        out.push(DType::F32 as u8);
        out.extend_from_slice(&(1u32 << 30).to_le_bytes());
        out.extend_from_slice(&[0u8; 8]);
        out
    }

    #[test]
    fn a_size_beyond_the_file_is_refused_before_anything_is_allocated() {
        let bytes = lying_model();
        let mut r = Reader::open_sized(&bytes[..], bytes.len() as u64).unwrap();
        match r.next_header() {
            Err(ReadError::Short {
                name,
                claimed,
                left,
            }) => assert_eq!((name.as_str(), claimed, left), ("huge", 1 << 30, 8)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_of_unknown_length_is_read_as_it_comes_not_allocated_as_claimed() {
        let bytes = lying_model();
        let mut r = Reader::open(&bytes[..]).unwrap();
        let header = r.next_header().unwrap().unwrap();
        assert_eq!(header.bytes, 1 << 30);
        // Truncated after the 8 bytes there are, with no 1 GiB buffer on the way.
        assert!(matches!(r.read_data(&header), Err(ReadError::Truncated)));
    }

    #[test]
    fn float_dtypes_decode_exactly() {
        let f16 = half::f16::from_f32(0.333).to_le_bytes();
        assert_eq!(
            to_f32(DType::F16, &f16),
            Some(vec![half::f16::from_f32(0.333).to_f32()])
        );
        let bf16 = half::bf16::from_f32(-3.0).to_le_bytes();
        assert_eq!(to_f32(DType::BF16, &bf16), Some(vec![-3.0]));
        assert_eq!(to_f32(DType::I8, &[1]), None);
    }
}
