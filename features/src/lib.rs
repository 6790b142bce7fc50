//! The features stage: user and item feature matrices and TF-IDF text vectors.
//!
//! - [`params`]: the stage's parameters.
//! - [`onehot`]: one-hot encoding with stable column names.
//! - [`users`]: demographics one-hot, behaviour profile, genre affinity, event shares, RFM.
//! - [`items`]: multi-hot genres, decade, popularity, mean value.
//! - [`tfidf`]: TF-IDF with scikit-learn's semantics.
//! - [`stop_words`]: scikit-learn's English stop-word list.
//! - [`output`]: the Parquet files and the report.
//!
//! Outputs: `user_features.parquet` (+ `user_feature_names.json`),
//! `item_features.parquet` (+ `item_feature_names.json`), `item_tfidf.parquet`,
//! `vocabulary.parquet`, `user_tfidf.parquet`, `features_report.json`.

pub mod error;
pub mod items;
pub mod onehot;
pub mod output;
pub mod params;
pub mod stop_words;
pub mod tfidf;
pub mod users;

pub use error::{FeaturesError, Result};
pub use params::FeaturesParams;

use std::time::Instant;

use recpipe_core::schema::{INTERACTIONS_FILE, ITEMS_FILE, USERS_FILE};
use recpipe_core::{ParquetTable, StageContext, StageOutcome};

/// Version of the features stage's output semantics.
pub const VERSION: u32 = 7;

/// The columns of a feature matrix: names, groups, and z-score parameters.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct FeatureColumn {
    /// Column name, e.g. `gender=F`, `genre:Comedy`, `log_count`.
    pub name: String,
    /// The group it belongs to.
    pub group: String,
    /// Mean subtracted when standardized (0 otherwise).
    pub mean: f64,
    /// Standard deviation divided by when standardized (1 otherwise).
    pub std: f64,
    /// Whether the column is standardized.
    pub standardized: bool,
}

/// A dense feature matrix (rows = users or items; few columns), stored by
/// column: columns are built, standardized and written one at a time.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    /// Columns.
    pub columns: Vec<FeatureColumn>,
    /// Values, one `rows`-long vector per column.
    pub values: Vec<Vec<f64>>,
    /// Number of rows.
    pub rows: usize,
}

impl Matrix {
    /// A matrix of `rows` rows and no columns.
    pub fn with_rows(rows: usize) -> Self {
        Matrix {
            columns: Vec::new(),
            values: Vec::new(),
            rows,
        }
    }

    /// Appends columns (each `rows` long; shorter ones are padded with zeros).
    pub fn push_columns(&mut self, cols: Vec<(FeatureColumn, Vec<f64>)>) {
        for (c, mut v) in cols {
            v.resize(self.rows, 0.0);
            self.columns.push(c);
            self.values.push(v);
        }
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.columns.len()
    }
}

/// Runs `f`, with the seconds it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64())
}

/// Runs the stage.
pub fn run(params: &FeaturesParams, ctx: &StageContext) -> Result<StageOutcome> {
    let ingest = ctx
        .upstream_dir("ingest")
        .ok_or(FeaturesError::MissingUpstream("ingest"))?;
    let mut timings = std::collections::BTreeMap::new();
    ctx.progress.phase("reading tables, fitting tf-idf");
    let t = Instant::now();
    // The interactions are decoded while the items' text is fitted: neither
    // needs the other, and each alone leaves a core idle part of the time.
    let (inter, catalog) = rayon::join(
        || users::Interactions::read(&ingest.join(INTERACTIONS_FILE)),
        || -> Result<_> {
            let user_table = ParquetTable::read(&ingest.join(USERS_FILE))?;
            let item_table = ParquetTable::read(&ingest.join(ITEMS_FILE))?;
            let item_info = items::ItemInfo::read(&item_table)?;
            let (tfidf, seconds) = timed(|| {
                tfidf::fit_transform(
                    &items::documents(&item_info, &params.text_fields),
                    &params.tfidf,
                )
            });
            let tfidf = tfidf.map_err(FeaturesError::Params)?;
            Ok((user_table, item_info, tfidf, seconds))
        },
    );
    let inter = inter?;
    let (user_table, mut item_info, tfidf, fit_seconds) = catalog?;
    let pooled = item_info.keep_top_genres(&inter, params.max_genres);
    timings.insert("read", t.elapsed().as_secs_f64());
    timings.insert("tfidf_fit", fit_seconds);

    // User features, item features and user TF-IDF profiles read the same
    // tables and nothing of each other: computed side by side.
    ctx.progress
        .phase("user and item features, tf-idf user profiles");
    let threshold = params
        .profile_min_value
        .unwrap_or(if inter.has_events { 0.0 } else { 4.0 });
    let ((user_matrix, item_matrix), profiles) = rayon::join(
        || {
            rayon::join(
                || timed(|| users::user_features(params, &inter, &user_table, &item_info)),
                || timed(|| items::item_features(&inter, &item_info)),
            )
        },
        || timed(|| users::tfidf_profiles(&inter, &tfidf, threshold, params.profile_terms)),
    );
    let (user_matrix, seconds) = user_matrix;
    let user_matrix = user_matrix?;
    timings.insert("user_features", seconds);
    let (item_matrix, seconds) = item_matrix;
    timings.insert("item_features", seconds);
    let (profiles, seconds) = profiles;
    timings.insert("tfidf_profiles", seconds);

    ctx.progress.phase("writing");
    let t = Instant::now();
    let report = output::write(ctx, &user_matrix, &item_matrix, &tfidf, &profiles)?;
    timings.insert("write", t.elapsed().as_secs_f64());
    // Timings go to the runner (run reports), not into artifacts, which must be reproducible.
    let mut outcome = StageOutcome::default();
    for (part, secs) in timings {
        outcome.seconds(&format!("seconds_{part}"), secs);
    }
    outcome
        .metric("user_features", report.user_features as u64)
        .metric("item_features", report.item_features as u64)
        .metric("vocabulary", report.vocabulary as u64)
        .metric("item_tfidf_nnz", report.item_tfidf_nnz as u64)
        .line(format!(
            "{} users x {} features, {} items x {} features, vocabulary {} ({} nnz)",
            report.users,
            report.user_features,
            report.items,
            report.item_features,
            report.vocabulary,
            report.item_tfidf_nnz
        ));
    if let Some(genres) = pooled {
        outcome.metric("genres", genres as u64).line(format!(
            "note: {genres} genres: the {} of the most interactions are columns, the others pooled as `{}` (raise `max_genres`, or cut category paths to broad ones with ingest's `genre_levels`)",
            params.max_genres - 1,
            items::OTHER_GENRES
        ));
    }
    Ok(outcome)
}
