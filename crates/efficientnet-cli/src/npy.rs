//! `.npy` float32 arrays in and out (the raw parity path of `predict`).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use npyz::WriterBuilder;

use crate::error::{CliError, Result};

/// Reads an `.npy` float32 array: `(shape, values)` in C order.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let file = File::open(path).map_err(|e| CliError::io(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| CliError::npy(path, format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(CliError::npy(
            path,
            "Fortran-ordered arrays are not supported",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let values = npy
        .into_vec::<f32>()
        .map_err(|e| CliError::npy(path, format!("expected float32 data: {e}")))?;
    Ok((shape, values))
}

/// Writes a float32 array as `.npy` (C order).
pub fn write_f32(path: &Path, shape: &[usize], values: &[f32]) -> Result<()> {
    let err = |e: std::io::Error| CliError::io(path, e);
    let file = File::create(path).map_err(err)?;
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape.iter().map(|&d| d as u64).collect::<Vec<_>>())
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(err)?;
    writer.extend(values.iter().copied()).map_err(err)?;
    writer.finish().map_err(err)
}
