//! The ingest stage: raw MovieLens files, e-commerce event logs, or the
//! built-in synthetic generator, to validated Parquet with dense ids.
//!
//! - [`params`]: the stage's `with:` parameters and their defaults.
//! - [`source_file`]: a raw file's bytes, mapped when large; a log folder's files.
//! - [`hits`]: where delimiters, newlines and quotes lie, 64 bytes a step.
//! - [`records`]: parallel, line-accurate splitting of files into records and fields.
//! - [`movielens`]: the 1M, 100K and latest/25M CSV layouts.
//! - [`events`]: behaviour logs (CSV, compressed or not, or Parquet; a file or a
//!   folder of them) through a column mapping.
//! - [`parquet_table`]: Parquet tables rendered as CSV text for the same validation.
//! - [`sniff`]: a log's columns and event types guessed, for `recpipe init`.
//! - [`synthetic`]: the seeded generator with planted structure.
//! - [`clean`]: unknown references, duplicates, k-core, dense ids.
//! - [`output`]: the Parquet tables and `ingest_report.json`.
//! - [`rejects`]: rejects.parquet read back, for `recpipe rejects`.
//!
//! Outputs: `interactions.parquet`, `users.parquet`, `items.parquet`,
//! `rejects.parquet`, `ingest_report.json` (and `true_segments.parquet` for
//! synthetic data).

pub mod clean;
pub mod error;
pub mod events;
pub mod hits;
pub mod ids;
pub mod movielens;
pub mod output;
pub mod params;
pub mod parquet_table;
pub mod records;
pub mod rejects;
pub mod rows;
pub mod sniff;
pub mod source_file;
pub mod synthetic;
pub mod text;

use std::path::PathBuf;

pub use error::{IngestError, Result};
pub use output::IngestReport;
pub use params::{IngestParams, SourceKind};
use recpipe_core::{StageContext, StageOutcome};

/// Version of the ingest stage's output semantics; bump it when the same
/// inputs and parameters would give different artifacts.
pub const VERSION: u32 = 21;

/// Unix seconds past which a time is taken for a slip of units: the year
/// 5138 in seconds is 1973-03-03 in milliseconds.
const FAR_FUTURE: i64 = 100_000_000_000;

/// The files outside the pipeline that this stage reads, for input hashing.
pub fn external_inputs(
    params: &IngestParams,
    resolve: impl Fn(&std::path::Path) -> PathBuf,
) -> Result<Vec<PathBuf>> {
    match params.source {
        SourceKind::Synthetic => Ok(Vec::new()),
        SourceKind::Movielens => {
            let dir = resolve(params.path.as_deref().unwrap_or(std::path::Path::new("")));
            movielens::input_files(&dir)
        }
        SourceKind::Events => events::input_files(params, resolve),
    }
}

/// Runs the stage: reads the source, cleans it and writes the outputs to `ctx.out_dir`.
pub fn run(params: &IngestParams, ctx: &StageContext) -> Result<StageOutcome> {
    let progress = &ctx.progress;
    let started = std::time::Instant::now();
    let (source_name, data) = match params.source {
        SourceKind::Synthetic => {
            let spec = params.synthetic();
            progress.phase(&format!(
                "generating {} ratings for {} users x {} items",
                spec.ratings, spec.users, spec.items
            ));
            (
                "synthetic",
                synthetic::to_source(synthetic::generate(&spec)),
            )
        }
        SourceKind::Movielens => {
            let dir = ctx.resolve(params.path.as_deref().unwrap_or(std::path::Path::new("")));
            progress.phase(&format!("reading MovieLens folder {}", dir.display()));
            ("movielens", movielens::read(&dir, params)?)
        }
        SourceKind::Events => {
            progress.phase("reading events");
            ("events", events::read(params, |p| ctx.resolve(p))?)
        }
    };
    let meta = output::SourceMeta {
        source: source_name,
        file_names: (0..data.interactions.files.len())
            .map(|f| data.interactions.file_name(f as u16))
            .collect(),
        log_files: data.interactions.log_file_count(),
        event_names: data.interactions.event_names.clone(),
        has_quantity: data.interactions.has_quantity,
        has_amount: data.interactions.has_amount,
        columns: data.columns,
        notes: data.notes.clone(),
        raw_users: data.interactions.raw_users,
    };
    let read_seconds = started.elapsed().as_secs_f64();
    progress.phase(&format!("cleaning {} rows", data.interactions.rows_read));
    let started = std::time::Instant::now();
    let mut cleaned = clean::clean(data, params)?;
    let clean_seconds = started.elapsed().as_secs_f64();
    progress.phase("writing parquet");
    let started = std::time::Instant::now();
    let report = output::write(&ctx.out_dir, &cleaned, meta)?;
    let write_seconds = started.elapsed().as_secs_f64();
    let unmatched_exclusions = std::mem::take(&mut cleaned.unmatched_exclusions);
    // Freeing ~100 MB of rows and rejects takes 4-5 ms: a helper thread
    // does it while the runner hashes and commits the outputs.
    rows::free_later(cleaned);
    let mut outcome = StageOutcome::default();
    outcome
        .metric("rows_read", report.rows_read)
        .metric("rows_kept", report.rows_kept)
        .metric("rows_rejected", report.rows_rejected)
        .metric("interactions", report.interactions as u64)
        .metric("users", report.users as u64)
        .metric("items", report.items as u64)
        .seconds("seconds_read", read_seconds)
        .seconds("seconds_clean", clean_seconds)
        .seconds("seconds_write", write_seconds)
        .line(format!(
            "{}, {}, {} ({} read, {} rejected)",
            recpipe_core::names::counted(report.interactions as u64, "interaction"),
            recpipe_core::names::counted(report.users as u64, "user"),
            recpipe_core::names::counted(report.items as u64, "item"),
            recpipe_core::names::counted(report.rows_read, "row"),
            report.rows_rejected
        ));
    for unmatched in unmatched_exclusions {
        outcome.line(format!("note: {unmatched}"));
    }
    if report.max_ts > FAR_FUTURE {
        outcome.line(format!(
            "note: the latest time is {}: if the log counts milliseconds, set `timestamp_unit: ms` (or us, ns)",
            report.max_time
        ));
    }
    Ok(outcome)
}
