//! Shared building blocks of the recpipe stages.
//!
//! - [`schema`]: column names of the tables stages hand to each other.
//! - [`parquet_io`]: deterministic Parquet writing (temp path + rename) and typed column reads.
//! - [`fsutil`]: atomic file writes and content hashing.
//! - [`names`]: "did you mean" suggestions for misspelt names.
//! - [`params`]: a stage's `with:` block read into its typed parameters, errors naming the key.
//! - [`stage`]: what the runner hands a stage (its output folder, its upstream folders, progress).
//! - [`progress`]: progress bars on a terminal, plain lines elsewhere.
//! - [`rng`]: a small seeded RNG whose stream is fixed forever (artifacts depend on it).
//! - [`titles`]: the release year at the end of an item's title.
//! - [`topk`]: blocked top-k scoring with deterministic tie-breaking.
//! - [`error`]: the error type of this crate.

pub mod error;
pub mod fsutil;
pub mod matmul;
pub mod names;
pub mod params;
pub mod parquet_io;
pub mod progress;
pub mod rng;
pub mod schema;
pub mod stage;
pub mod titles;
pub mod topk;

pub use error::{CoreError, Result};
pub use fsutil::{hash_file, write_atomic, write_json_atomic};
pub use parquet_io::{
    ColumnHints, ParquetTable, write_parquet, write_parquet_repeating, write_parquet_windows,
};
pub use progress::Progress;
pub use rng::Rng;
pub use stage::{StageContext, StageOutcome};
