//! Reading tensors from PyTorch (`.pth`/`.pt`, zip and legacy pickle) and safetensors files.
//!
//! Nothing in a file is executed: PyTorch pickles are parsed by `pytorch-reader`, which only
//! understands the opcodes of state dicts.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use half::{bf16, f16};

use crate::error::{Error, Result};

/// A tensor read from a weight file.
#[derive(Clone, Debug)]
pub struct FileTensor {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Element type as stored (`F32`, `F16`, `I64`, ...).
    pub dtype: String,
    /// The values converted to `f32`; `None` for integer and boolean tensors.
    pub values: Option<Vec<f32>>,
}

/// The container format of a weight file, recognised from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// PyTorch `torch.save` (zip, or the legacy pre-1.6 pickle format).
    Pytorch,
    /// Hugging Face safetensors.
    Safetensors,
    /// Burn's native burnpack (`.bpk`).
    Burnpack,
}

impl FileFormat {
    /// Recognises the format of `path` from its magic bytes (burnpack by its `.bpk` extension).
    pub fn detect(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 9];
        let n = file.read(&mut head).map_err(io)?;
        let head = &head[..n];
        // safetensors first: its 8-byte header length can begin with 0x80, a pickle's first byte.
        if n == 9 && head[8] == b'{' {
            let header = u64::from_le_bytes([
                head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
            ]);
            if header.saturating_add(8) <= len {
                return Ok(FileFormat::Safetensors);
            }
        }
        if head.starts_with(b"PK\x03\x04") || head.first() == Some(&0x80) {
            return Ok(FileFormat::Pytorch);
        }
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("bpk"))
        {
            return Ok(FileFormat::Burnpack);
        }
        Err(Error::NotACheckpoint {
            path: path.to_path_buf(),
            reason: if len == 0 {
                "the file is empty".into()
            } else {
                "its first bytes are neither a PyTorch (zip or pickle) nor a safetensors header"
                    .into()
            },
        })
    }
}

/// Reads every tensor of a PyTorch or safetensors file, by name.
pub fn read_tensors(path: &Path) -> Result<BTreeMap<String, FileTensor>> {
    match FileFormat::detect(path)? {
        FileFormat::Pytorch => read_pytorch(path),
        FileFormat::Safetensors => read_safetensors(path),
        FileFormat::Burnpack => Err(Error::NotACheckpoint {
            path: path.to_path_buf(),
            reason: "burnpack files load through `load_burnpack`, not as a tensor map".into(),
        }),
    }
}

fn corrupt(path: &Path, reason: impl ToString) -> Error {
    Error::NotACheckpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Modules whose objects a weight pickle may hold besides tensors and plain containers:
/// torch's own (storages, `torch.Size`, dtypes, devices), ordered dicts, numpy scalars (saved
/// metrics), `_codecs` (numpy's byte strings) and the `argparse.Namespace` timm saves its
/// arguments in.
const PICKLE_ALLOWED_MODULES: [&str; 5] = ["torch", "collections", "numpy", "_codecs", "argparse"];

/// Refuses a pickle that holds objects of any other module (`posix.system`, `builtins.eval`,
/// a user class): such an object can only come from a call a malicious file asks the
/// unpickler to make. `pytorch-reader` never makes it (there is no Python here to run it);
/// the file is refused so that it is not mistaken for a checkpoint either.
fn refuse_foreign_objects(path: &Path, value: &pytorch_reader::PickleValue) -> Result<()> {
    use pytorch_reader::PickleValue;
    match value {
        PickleValue::Unsupported(name) => {
            let module = name.split('.').next().unwrap_or_default();
            if PICKLE_ALLOWED_MODULES.contains(&module) {
                Ok(())
            } else {
                Err(corrupt(
                    path,
                    format!(
                        "the pickle holds a `{name}` object, which no state dict contains \
                         (a file built to run code when loaded by Python); refused, nothing \
                         was executed"
                    ),
                ))
            }
        }
        PickleValue::List(items) => items
            .iter()
            .try_for_each(|v| refuse_foreign_objects(path, v)),
        PickleValue::Dict(map) => map
            .values()
            .try_for_each(|v| refuse_foreign_objects(path, v)),
        _ => Ok(()),
    }
}

fn read_pytorch(path: &Path) -> Result<BTreeMap<String, FileTensor>> {
    use pytorch_reader::DType;
    let pickle = pytorch_reader::PytorchReader::read_pickle_data(path, None)
        .map_err(|e| corrupt(path, e))?;
    refuse_foreign_objects(path, &pickle)?;
    let reader = pytorch_reader::PytorchReader::new(path).map_err(|e| corrupt(path, e))?;
    let mut out = BTreeMap::new();
    for (name, tensor) in reader.tensors() {
        let bytes = tensor
            .read()
            .map_err(|e| corrupt(path, format!("tensor `{name}`: {e}")))?;
        if bytes.len() != tensor.byte_len() {
            return Err(corrupt(
                path,
                format!(
                    "tensor `{name}` holds {} bytes, its shape {:?} needs {}",
                    bytes.len(),
                    tensor.shape(),
                    tensor.byte_len()
                ),
            ));
        }
        let dtype = tensor.dtype();
        let values = match dtype {
            // pytorch-reader rejects big-endian files, so the data is little-endian.
            DType::F32 => Some(decode::<4>(&bytes, f32::from_le_bytes)),
            DType::F64 => Some(decode::<8>(&bytes, |b| f64::from_le_bytes(b) as f32)),
            DType::F16 => Some(decode::<2>(&bytes, |b| f16::from_le_bytes(b).to_f32())),
            DType::BF16 => Some(decode::<2>(&bytes, |b| bf16::from_le_bytes(b).to_f32())),
            _ => None,
        };
        out.insert(
            name.clone(),
            FileTensor {
                shape: tensor.shape().to_vec(),
                dtype: format!("{dtype:?}"),
                values,
            },
        );
    }
    Ok(out)
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, FileTensor>> {
    use safetensors::Dtype;
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(path, e))?;
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let data = view.data();
        let values = match view.dtype() {
            Dtype::F32 => Some(decode::<4>(data, f32::from_le_bytes)),
            Dtype::F64 => Some(decode::<8>(data, |b| f64::from_le_bytes(b) as f32)),
            Dtype::F16 => Some(decode::<2>(data, |b| f16::from_le_bytes(b).to_f32())),
            Dtype::BF16 => Some(decode::<2>(data, |b| bf16::from_le_bytes(b).to_f32())),
            _ => None,
        };
        out.insert(
            name,
            FileTensor {
                shape: view.shape().to_vec(),
                dtype: format!("{:?}", view.dtype()),
                values,
            },
        );
    }
    Ok(out)
}

/// Decodes little-endian fixed-size elements to `f32`.
fn decode<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
    bytes
        .chunks_exact(N)
        .map(|chunk| {
            let mut b = [0u8; N];
            b.copy_from_slice(chunk);
            f(b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(bytes: &[u8], name: &str) -> Result<FileFormat> {
        let path = std::env::temp_dir().join(format!("efficientnet-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write");
        let format = FileFormat::detect(&path);
        let _ = std::fs::remove_file(&path);
        format
    }

    #[test]
    fn safetensors_whose_header_length_starts_with_0x80_is_not_a_pickle() {
        let mut bytes = vec![0x80, 0, 0, 0, 0, 0, 0, 0, b'{'];
        bytes.resize(0x80 + 8, b' ');
        assert_eq!(
            detect(&bytes, "st").expect("format"),
            FileFormat::Safetensors
        );
        // A legacy PyTorch pickle: protocol 2, then the magic number.
        let pickle = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20];
        assert_eq!(detect(&pickle, "pt").expect("format"), FileFormat::Pytorch);
        assert_eq!(
            detect(b"PK\x03\x04rest", "zip").expect("format"),
            FileFormat::Pytorch
        );
        assert!(detect(b"", "empty").is_err());
        assert!(detect(b"hello world", "text").is_err());
    }
}
