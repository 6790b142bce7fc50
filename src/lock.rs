//! `pipeline.lock`: what each stage last ran with and produced, sorted so it
//! diffs well; the record users commit and `verify` checks against.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cache::{Entry, FileHash};

/// Schema version of the lock file.
pub const LOCK_SCHEMA: u32 = 1;

/// One stage's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockStage {
    /// Stage kind.
    pub kind: String,
    /// Implementation version.
    pub version: u32,
    /// Fingerprint of kind, version, params, upstream outputs and inputs.
    pub fingerprint: String,
    /// Canonical parameters.
    pub params: serde_json::Value,
    /// Needed stages and their outputs' digest.
    #[serde(default)]
    pub upstream: BTreeMap<String, String>,
    /// External inputs.
    #[serde(default)]
    pub inputs: Vec<FileHash>,
    /// Outputs with hashes and sizes.
    pub outputs: Vec<FileHash>,
}

impl From<&Entry> for LockStage {
    fn from(e: &Entry) -> Self {
        LockStage {
            kind: e.kind.clone(),
            version: e.version,
            fingerprint: e.fingerprint.clone(),
            params: e.params.clone(),
            upstream: e.upstream.clone(),
            inputs: e.inputs.clone(),
            outputs: e.outputs.clone(),
        }
    }
}

/// The whole lock file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LockFile {
    /// Lock schema version.
    pub schema: u32,
    /// Stages by name.
    pub stages: BTreeMap<String, LockStage>,
}

/// `pipeline.lock` beside `pipeline.yaml` (`x.yaml` -> `x.lock`).
pub fn lock_path(pipeline: &Path) -> PathBuf {
    pipeline.with_extension("lock")
}

impl LockFile {
    /// Reads the lock, or an empty one if there is none.
    pub fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_yaml::from_str(&text).with_context(|| {
                // A lock two branches both changed comes out of a merge so.
                let conflict = text.lines().any(|l| l.starts_with("<<<<<<< "));
                format!(
                    "{} is not a valid lock file{}; `recpipe run` writes it anew from the cache \
                     once it is deleted",
                    path.display(),
                    if conflict {
                        " (it holds git merge conflict markers: resolve them, or delete it)"
                    } else {
                        ""
                    }
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LockFile {
                schema: LOCK_SCHEMA,
                stages: BTreeMap::new(),
            }),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the lock atomically (only if it changed).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut text = String::from(
            "# Written by recpipe: what each stage last ran with and produced. Commit it.\n",
        );
        text.push_str(&serde_yaml::to_string(self)?);
        if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
            return Ok(());
        }
        recpipe_core::write_atomic(path, text.as_bytes())?;
        Ok(())
    }
}
