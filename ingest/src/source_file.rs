//! A raw source file's bytes, held for the whole stage: parsed in place, and
//! quoted again by `rejects.parquet` (whose `raw` column names spans of it).

use std::fs::File;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::error::{IngestError, Result};

/// Files at least this large are mapped rather than read.
const MAP_AT_LEAST: u64 = 1 << 20;

/// A source file's bytes: mapped from the page cache when it is large, or
/// owned (small files, and text rendered from a Parquet log).
///
/// Mapping a 48 MB log costs hundreds of page faults on pages the kernel
/// already holds (it maps several cached pages a fault), where reading it
/// copies every byte into fresh pages first (12,000 faults; Online Retail's
/// ingest went from about 49,000 faults to 39,000). As with every reader that maps its input
/// (ripgrep, polars), a file truncated by another process while the stage
/// reads it ends the process; inputs are hashed before a stage runs and
/// must not change under it.
#[derive(Debug)]
pub enum SourceBytes {
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
    /// Held in memory.
    Owned(Vec<u8>),
}

impl Deref for SourceBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            SourceBytes::Mapped(map) => map,
            SourceBytes::Owned(bytes) => bytes,
        }
    }
}

/// A file's bytes shared with Arrow without a copy: a buffer whose views
/// (the rejected lines of `rejects.parquet`) point into the file.
pub fn shared_buffer(bytes: &Arc<SourceBytes>) -> arrow::buffer::Buffer {
    struct Owner(Arc<SourceBytes>);
    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    bytes::Bytes::from_owner(Owner(Arc::clone(bytes))).into()
}

impl From<Vec<u8>> for SourceBytes {
    fn from(bytes: Vec<u8>) -> Self {
        SourceBytes::Owned(bytes)
    }
}

/// Reads a source file whole; a missing or empty file is a clear error.
pub fn read_file(path: &Path, what: &str) -> Result<Arc<SourceBytes>> {
    if !path.is_file() {
        return Err(IngestError::MissingFile {
            path: path.to_path_buf(),
            what: what.to_string(),
        });
    }
    let bytes = open(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(Arc::new(bytes))
}

/// Maps a large regular file (falling back to a read where the OS refuses),
/// reads a small one.
fn open(path: &Path) -> std::io::Result<SourceBytes> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() >= MAP_AT_LEAST {
        // SAFETY: the map is read-only; the stage's inputs must not be
        // truncated while it runs (see the type).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) };
        if let Ok(map) = map {
            return Ok(SourceBytes::Mapped(map));
        }
    }
    std::fs::read(path).map(SourceBytes::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_are_mapped_small_ones_read_and_both_read_the_same_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let big: Vec<u8> = (0..(MAP_AT_LEAST as usize + 4099))
            .map(|i| b"0123456789,\n"[i % 12])
            .collect();
        let (large, small) = (dir.path().join("large.csv"), dir.path().join("small.csv"));
        std::fs::write(&large, &big).expect("write");
        std::fs::write(&small, &big[..100]).expect("write");
        let mapped = read_file(&large, "events").expect("mapped");
        assert!(matches!(*mapped, SourceBytes::Mapped(_)));
        assert_eq!(&mapped[..], &big[..]);
        let read = read_file(&small, "events").expect("read");
        assert!(matches!(*read, SourceBytes::Owned(_)));
        assert_eq!(&read[..], &big[..100]);
    }

    #[test]
    fn missing_and_blank_files_are_clear_errors() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blank = dir.path().join("blank.csv");
        std::fs::write(&blank, " \n\r\n").expect("write");
        assert!(matches!(
            read_file(&blank, "events"),
            Err(IngestError::EmptyFile { .. })
        ));
        assert!(matches!(
            read_file(&dir.path().join("absent.csv"), "events"),
            Err(IngestError::MissingFile { .. })
        ));
    }
}
