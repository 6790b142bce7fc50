//! What the runner hands a stage, and what a stage hands back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::progress::Progress;

/// An upstream stage whose outputs this stage reads.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The stage's name in pipeline.yaml.
    pub name: String,
    /// Its kind (`ingest`, `features`, ...).
    pub kind: String,
    /// The folder holding its outputs.
    pub dir: PathBuf,
}

/// Everything a stage may touch while it runs.
#[derive(Debug, Clone)]
pub struct StageContext {
    /// The stage's name in pipeline.yaml.
    pub name: String,
    /// Where the stage writes its outputs (a fresh, empty folder).
    pub out_dir: PathBuf,
    /// The outputs of the stages it `needs`, in the order listed.
    pub upstream: Vec<Upstream>,
    /// The folder relative paths in the config are resolved against.
    pub base_dir: PathBuf,
    /// Progress reporting.
    pub progress: Progress,
    /// The stage's fingerprint: a digest of its kind, version, parameters,
    /// inputs and every upstream output (empty outside the runner).
    pub fingerprint: String,
}

impl StageContext {
    /// The output folder of the first needed stage of `kind`, if any.
    pub fn upstream_dir(&self, kind: &str) -> Option<&Path> {
        self.upstream
            .iter()
            .find(|u| u.kind == kind)
            .map(|u| u.dir.as_path())
    }

    /// A path for an output file of this stage.
    pub fn out(&self, file: &str) -> PathBuf {
        self.out_dir.join(file)
    }

    /// Resolves a path from the config against the pipeline's folder (a
    /// pipeline in the current folder leaves it as written: errors name
    /// `../data/u.data`, not `./../data/u.data`).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.base_dir == Path::new(".") {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// What a stage reports once it succeeded: headline metrics and lines for humans.
#[derive(Debug, Clone, Default)]
pub struct StageOutcome {
    /// Flat metrics (`rmse`, `rows_kept`, ...), recorded in the run report.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// A few lines summarising the result for the terminal.
    pub summary: Vec<String>,
}

impl StageOutcome {
    /// Adds a metric.
    pub fn metric(&mut self, key: &str, value: impl Into<serde_json::Value>) -> &mut Self {
        self.metrics.insert(key.to_string(), value.into());
        self
    }

    /// Adds a timing in seconds, rounded to 0.1 ms (timings go to the run
    /// report, never into artifacts).
    pub fn seconds(&mut self, key: &str, seconds: f64) -> &mut Self {
        self.metric(key, (seconds * 1e4).round() / 1e4)
    }

    /// Adds a summary line.
    pub fn line(&mut self, line: impl Into<String>) -> &mut Self {
        self.summary.push(line.into());
        self
    }
}
