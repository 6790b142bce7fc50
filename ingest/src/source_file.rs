//! A raw source file's bytes, held for the whole stage: parsed in place, and
//! quoted again by `rejects.parquet` (whose `raw` column names spans of it).

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::{Path, PathBuf};
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

/// What a file holds, told by its first bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Text, or anything else not below.
    Plain,
    /// gzip (`.gz`): decompressed whole on reading.
    Gzip,
    /// Zstandard (`.zst`): decompressed whole on reading.
    Zstd,
    /// A Parquet file.
    Parquet,
    /// A zip archive (an Excel `.xlsx` workbook is one).
    Zip,
}

impl Container {
    /// The container whose magic number `head` starts with.
    pub fn of(head: &[u8]) -> Container {
        match head {
            [0x1f, 0x8b, ..] => Container::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Container::Zstd,
            [b'P', b'A', b'R', b'1', ..] => Container::Parquet,
            [b'P', b'K', 3, 4, ..] => Container::Zip,
            _ => Container::Plain,
        }
    }

    /// The compression's name, for a compressed container.
    pub fn compression(self) -> Option<&'static str> {
        match self {
            Container::Gzip => Some("gzip"),
            Container::Zstd => Some("zstd"),
            _ => None,
        }
    }

    /// The container of the file at `path` (`Plain` when it cannot be read:
    /// reading it whole then names the problem).
    pub fn of_file(path: &Path) -> Container {
        let mut head = [0u8; 4];
        let n = File::open(path)
            .and_then(|f| f.take(4).read(&mut head))
            .unwrap_or(0);
        Container::of(&head[..n])
    }
}

/// Whether `path` is a Parquet file: by its `.parquet` extension, or by
/// its magic number whatever its name.
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        || Container::of_file(path) == Container::Parquet
}

/// The log files `path` names: itself when it is a file (or does not
/// exist: reading it then says so); for a folder, every file in it and its
/// sub-folders (the partitions a scheduled export writes, `day=2024-01-01/
/// part-0.parquet`), in the order of their paths, but those whose names
/// start with `.` or `_` (`_SUCCESS`, `.part-0.crc`), as pyarrow and
/// polars skip them.
pub fn log_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |p: &Path, e| IngestError::Core(recpipe_core::CoreError::io(p, e));
    let mut files = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    // Each folder once, by its real path: a link back up is no loop.
    let mut seen = std::collections::HashSet::new();
    while let Some(folder) = folders.pop() {
        if !seen.insert(std::fs::canonicalize(&folder).map_err(|e| io(&folder, e))?) {
            continue;
        }
        for entry in std::fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let entry = entry.map_err(|e| io(&folder, e))?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(['.', '_']) {
                continue;
            }
            let p = entry.path();
            if p.is_dir() {
                folders.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(IngestError::NoLogFiles {
            path: path.to_path_buf(),
        });
    }
    if files.len() > crate::error::MAX_LOG_FILES {
        return Err(IngestError::TooManyLogFiles {
            path: path.to_path_buf(),
            files: files.len(),
        });
    }
    Ok(files)
}

/// How rejects and the report name file `path`: by its path within the
/// log folder `root` (`day=2024-01-01/part-0.csv`, `/` between folders)
/// when it lies in it, else by its file name.
pub fn file_name(path: &Path, root: Option<&Path>) -> String {
    if let Some(inner) = root.and_then(|r| path.strip_prefix(r).ok()) {
        let parts: Vec<_> = inner.iter().map(|p| p.to_string_lossy()).collect();
        if !parts.is_empty() {
            return parts.join("/");
        }
    }
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads a source file whole: a gzip or Zstandard file decompressed (as
/// polars, pandas and DuckDB read `.csv.gz`); a missing or empty file, a
/// zip archive, or one whose first line is not text is a clear error.
pub fn read_file(path: &Path, what: &str) -> Result<Arc<SourceBytes>> {
    if !path.is_file() {
        return Err(IngestError::MissingFile {
            path: path.to_path_buf(),
            what: what.to_string(),
        });
    }
    let mut bytes = open(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    let container = Container::of(&bytes);
    if let Some(format) = container.compression() {
        let mut text = Vec::new();
        text_reader(path, container, &bytes[..])?
            .read_to_end(&mut text)
            .map_err(|e| decompress_error(path, format, e))?;
        bytes = SourceBytes::Owned(text);
    } else if container == Container::Zip {
        return Err(IngestError::Archive {
            path: path.to_path_buf(),
        });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    if !first_line_is_text(&bytes) {
        return Err(IngestError::NotText {
            path: path.to_path_buf(),
        });
    }
    Ok(Arc::new(bytes))
}

/// The first `limit` bytes of a file's text, decompressed as
/// [`read_file`] would (a zip archive is an error).
pub fn read_head(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    let container = Container::of_file(path);
    let mut head = Vec::new();
    text_reader(path, container, file)?
        .take(limit as u64)
        .read_to_end(&mut head)
        .map_err(|e| match container.compression() {
            Some(format) => decompress_error(path, format, e),
            None => IngestError::Core(recpipe_core::CoreError::io(path, e)),
        })?;
    Ok(head)
}

/// A reader of the text `input` holds: decompressed where `container`
/// says it is compressed; a zip archive is an error.
fn text_reader<'a>(
    path: &Path,
    container: Container,
    input: impl Read + 'a,
) -> Result<Box<dyn Read + 'a>> {
    Ok(match container {
        Container::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Container::Zstd => Box::new(
            zstd::stream::read::Decoder::new(input)
                .map_err(|e| decompress_error(path, "zstd", e))?,
        ),
        Container::Zip => {
            return Err(IngestError::Archive {
                path: path.to_path_buf(),
            });
        }
        Container::Plain | Container::Parquet => Box::new(input),
    })
}

/// The error of a `format` file that does not decompress.
fn decompress_error(path: &Path, format: &'static str, source: std::io::Error) -> IngestError {
    IngestError::Decompress {
        path: path.to_path_buf(),
        format,
        source,
    }
}

/// Whether the first line of `bytes` holds no control bytes but tabs and
/// carriage returns: a CSV header or MovieLens row does not; a binary file
/// (a Parquet file, UTF-16 text, an image) does, and would otherwise show
/// up as a header of garbage.
pub fn first_line_is_text(bytes: &[u8]) -> bool {
    let line = &bytes[..memchr::memchr(b'\n', bytes).unwrap_or(bytes.len())];
    !line.iter().any(|&b| b < 0x20 && b != b'\t' && b != b'\r')
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
    fn a_log_folder_lists_its_files_in_path_order_once_each() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for f in [
            "b/2.csv",
            "b/10.csv",
            "a.csv",
            "_SUCCESS",
            ".a.csv.crc",
            "_tmp/x.csv",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "x\n").expect("write");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root, root.join("b/up")).expect("link");
        let names: Vec<String> = (log_files(root).expect("files").iter())
            .map(|p| file_name(p, Some(root)))
            .collect();
        assert_eq!(names, ["a.csv", "b/10.csv", "b/2.csv"]);
        assert_eq!(
            log_files(&root.join("a.csv")).expect("one"),
            [root.join("a.csv")]
        );
        std::fs::create_dir(root.join("empty")).expect("mkdir");
        assert!(matches!(
            log_files(&root.join("empty")),
            Err(IngestError::NoLogFiles { .. })
        ));
    }

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
    fn gzip_and_zstd_files_read_as_their_text_and_archives_or_binary_are_named() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("temp dir");
        let text = b"user,item,ts\nu1,a,1\nu2,b,2\n".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let zst = zstd::encode_all(&text[..], 3).expect("zstd");
        for (name, bytes) in [("log.csv.gz", &gz), ("log.csv.zst", &zst)] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            assert_eq!(&read_file(&path, "events").expect(name)[..], &text[..]);
            assert_eq!(read_head(&path, 13).expect(name), b"user,item,ts\n");
        }
        // Two gzip members one after the other (as `cat a.gz b.gz` makes).
        let twice = dir.path().join("twice.csv.gz");
        std::fs::write(&twice, [&gz[..], &gz[..]].concat()).expect("write");
        assert_eq!(
            read_file(&twice, "events").expect("two members").len(),
            2 * text.len()
        );
        // A cut gzip file is an error, not a short table.
        let cut = dir.path().join("cut.csv.gz");
        std::fs::write(&cut, &gz[..gz.len() / 2]).expect("write");
        let err = read_file(&cut, "events").expect_err("cut");
        assert!(
            matches!(err, IngestError::Decompress { format: "gzip", .. }),
            "{err}"
        );
        let xlsx = dir.path().join("Online Retail.xlsx");
        std::fs::write(&xlsx, b"PK\x03\x04\x14\x00rest of a workbook").expect("write");
        assert!(matches!(
            read_file(&xlsx, "events"),
            Err(IngestError::Archive { .. })
        ));
        assert!(matches!(
            read_head(&xlsx, 10),
            Err(IngestError::Archive { .. })
        ));
        let utf16 = dir.path().join("utf16.csv");
        std::fs::write(&utf16, b"\xff\xfeu\x00s\x00e\x00r\x00\n\x00").expect("write");
        assert!(matches!(
            read_file(&utf16, "events"),
            Err(IngestError::NotText { .. })
        ));
        assert_eq!(Container::of(b"PAR1\x15\x04"), Container::Parquet);
        assert_eq!(Container::of(b"PA"), Container::Plain);
        assert_eq!(
            Container::of_file(&dir.path().join("absent")),
            Container::Plain
        );
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
