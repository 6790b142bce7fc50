//! NumPy `.npy` files (format 1.0) of float32 matrices.

use std::io::Write;
use std::path::Path;

use crate::{ExportError, Result};

/// Writes a row-major `rows x cols` float32 matrix as `.npy` (little-endian).
pub fn write_f32(path: &Path, values: &[f32], rows: usize, cols: usize) -> Result<()> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // magic (6) + version (2) + header length (2) + header, padded to 64 bytes, ending in \n.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    recpipe_core::fsutil::write_with(path, |w| {
        w.write_all(b"\x93NUMPY\x01\x00")?;
        w.write_all(&(header.len() as u16).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        for v in values {
            w.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Reads a float32 `.npy` matrix written by [`write_f32`]: (values, rows, cols).
pub fn read_f32(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    let bytes = std::fs::read(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    let bad = |m: &str| ExportError::Bundle(format!("{}: {m}", path.display()));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(
        bytes
            .get(10..10 + hlen)
            .ok_or_else(|| bad("truncated header"))?,
    )
    .map_err(|_| bad("header is not text"))?;
    if !header.contains("'<f4'") || header.contains("'fortran_order': True") {
        return Err(bad("expected little-endian float32 in C order"));
    }
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    let (rows, cols) = match dims[..] {
        [r, c] => (r, c),
        [r] => (r, 1),
        _ => return Err(bad("expected a 2-d array")),
    };
    let data = &bytes[10 + hlen..];
    if data.len() != rows * cols * 4 {
        return Err(bad("data size does not match the shape"));
    }
    let values = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((values, rows, cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_aligned_header() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("a.npy");
        write_f32(&p, &[1.0, 2.0, 3.0, 4.5, 5.0, 6.0], 2, 3).expect("write");
        let bytes = std::fs::read(&p).expect("read");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0, "data starts 64-byte aligned");
        assert_eq!(
            read_f32(&p).expect("read"),
            (vec![1.0, 2.0, 3.0, 4.5, 5.0, 6.0], 2, 3)
        );
    }
}
