//! Errors of the ingest stage.

use std::path::PathBuf;

/// The most files an events log folder may hold: rows name their file in
/// 16 bits, and the items and users files take two more.
pub const MAX_LOG_FILES: usize = u16::MAX as usize - 2;

/// Why ingest failed. Each variant names the file (and line) involved.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A shared helper (I/O, Parquet) failed.
    #[error(transparent)]
    Core(#[from] recpipe_core::CoreError),
    /// polars failed to read a Parquet source.
    #[error("{path}: {source}")]
    Polars {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: polars::error::PolarsError,
    },
    /// A file the source needs is missing.
    #[error("{path}: file not found ({what})")]
    MissingFile {
        /// The path that was expected.
        path: PathBuf,
        /// What the file should have held.
        what: String,
    },
    /// An events log folder holds no log file.
    #[error(
        "{path}: the folder holds no log file (every file in it and its sub-folders is read, but those whose names start with `.` or `_`)"
    )]
    NoLogFiles {
        /// The folder.
        path: PathBuf,
    },
    /// An events log folder holds more files than rows can number.
    #[error("{path}: {files} log files; a log folder may hold at most {max}", max = MAX_LOG_FILES)]
    TooManyLogFiles {
        /// The folder.
        path: PathBuf,
        /// The files it holds.
        files: usize,
    },
    /// A folder holds none of the known MovieLens layouts.
    #[error(
        "{path}: no MovieLens layout found: expected ratings.dat (1M), u.data (100K) or ratings.csv (latest/25M); found: {found}"
    )]
    UnknownLayout {
        /// The folder.
        path: PathBuf,
        /// What the folder holds.
        found: String,
    },
    /// A file meant to be a CSV log does not start with a line of text.
    #[error(
        "{path}: the first line holds control bytes, so it is no CSV header (a binary or compressed file?)"
    )]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A compressed source file could not be decompressed.
    #[error("{path}: cannot decompress it ({format}): {source}")]
    Decompress {
        /// The file.
        path: PathBuf,
        /// `gzip` or `zstd`.
        format: &'static str,
        /// What the decoder said.
        source: std::io::Error,
    },
    /// A source file is a zip archive, such as an Excel workbook.
    #[error(
        "{path}: this is a zip archive (an Excel .xlsx workbook?), not a CSV or Parquet table: export the sheet as CSV, or unzip it"
    )]
    Archive {
        /// The file.
        path: PathBuf,
    },
    /// A file is empty (not even a header).
    #[error("{path}: file is empty")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A row was bad and `on_error: fail` is set.
    #[error("{path}:{line}: {reason}: {detail}\n  row: {raw}")]
    BadRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The reason code.
        reason: String,
        /// What exactly is wrong.
        detail: String,
        /// The row as written.
        raw: String,
    },
    /// More interaction rows were invalid than `max_rejected_fraction` allows.
    #[error(
        "{path}: {rejected} of {read} rows are invalid ({share:.1}%), more than max_rejected_fraction {limit} allows: {reasons}\n  first, {first}\n  (fix the data or the column mapping, or raise max_rejected_fraction; 1 turns the check off)",
        share = *rejected as f64 * 100.0 / (*read).max(1) as f64
    )]
    TooManyRejected {
        /// The interaction file.
        path: PathBuf,
        /// Invalid rows.
        rejected: u64,
        /// Rows read.
        read: u64,
        /// The configured limit.
        limit: f64,
        /// Invalid rows by reason, `code count, ...`, most first.
        reasons: String,
        /// The first invalid row: `line N: reason: detail`, then the row.
        first: String,
    },
    /// An interaction file has more lines than rows can number.
    #[error(
        "{path}: {lines} lines; interaction files may have at most {max} lines (rows number them in 32 bits)",
        max = u32::MAX
    )]
    TooManyLines {
        /// The file.
        path: PathBuf,
        /// Its lines.
        lines: u64,
    },
    /// A header is missing a column the configuration maps.
    #[error("{path}: no column `{column}` in the header (columns: {available}){hint}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The configured column name.
        column: String,
        /// The columns the header has.
        available: String,
        /// A "did you mean" hint, possibly empty.
        hint: String,
    },
    /// A Parquet log holds a column of a type the reader cannot load.
    #[error(
        "{path}: column `{column}` is of type {kind}, which recpipe cannot read (cast it, or leave it out of the file)"
    )]
    UnreadableColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its Arrow type.
        kind: String,
    },
    /// A column of a Parquet log has no text form for the validation.
    #[error("{path}: column `{column}` cannot be read as text: {reason}{hint}")]
    ColumnAsText {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// polars' reason (not a `source`: the message says it once).
        reason: polars::error::PolarsError,
        /// What to do about it, possibly empty.
        hint: String,
    },
    /// The parameters are inconsistent.
    #[error("invalid ingest parameters: {0}")]
    Params(String),
    /// Nothing was left after cleaning.
    #[error("no interaction survived cleaning ({0})")]
    NothingKept(String),
}

/// Result alias for the ingest stage.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// A Parquet error on `path`, as ingest reports it.
pub(crate) fn parquet_error(
    path: &std::path::Path,
    source: parquet::errors::ParquetError,
) -> IngestError {
    IngestError::Core(recpipe_core::CoreError::Parquet {
        path: path.to_path_buf(),
        source,
    })
}
