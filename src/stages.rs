//! The stage kinds the runner knows, and how it talks to each stage crate.

use std::path::{Path, PathBuf};

use anyhow::Context;
use recpipe_core::{StageContext, StageOutcome};
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

/// A stage kind: its version, how it validates its parameters, which external
/// files it reads, and how it runs.
pub struct Kind {
    /// The name used in `uses:`.
    pub name: &'static str,
    /// One line for `--help` and `dag`.
    pub about: &'static str,
    /// Implementation version (part of every fingerprint).
    pub version: u32,
    /// Kinds this one must `need`.
    pub requires: &'static [&'static str],
    /// Validates `with:` and returns the canonical parameters (defaults filled in).
    pub params: fn(&Yaml) -> Result<Json, String>,
    /// The files outside the pipeline it reads, resolved against the pipeline's folder.
    pub inputs: fn(&Json, &Path) -> Result<Vec<PathBuf>, String>,
    /// Runs the stage.
    pub run: fn(&Json, &StageContext) -> anyhow::Result<StageOutcome>,
}

fn canonical<T: serde::Serialize>(p: &T) -> Result<Json, String> {
    serde_json::to_value(p).map_err(|e| e.to_string())
}

fn from_canonical<T: serde::de::DeserializeOwned>(p: &Json) -> anyhow::Result<T> {
    serde_json::from_value(p.clone()).context("canonical parameters do not parse back")
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn no_inputs(_: &Json, _: &Path) -> Result<Vec<PathBuf>, String> {
    Ok(Vec::new())
}

/// Every stage kind, in pipeline order.
pub static KINDS: &[Kind] = &[
    Kind {
        name: "ingest",
        about: "raw MovieLens / event logs / synthetic data to validated Parquet with dense ids",
        version: recpipe_ingest::VERSION,
        requires: &[],
        params: |with| {
            canonical(&recpipe_ingest::IngestParams::from_yaml(with).map_err(|e| e.to_string())?)
        },
        inputs: |p, base| {
            let params: recpipe_ingest::IngestParams =
                serde_json::from_value(p.clone()).map_err(|e| e.to_string())?;
            recpipe_ingest::external_inputs(&params, |x| resolve(base, x))
                .map_err(|e| e.to_string())
        },
        run: |p, ctx| {
            let params: recpipe_ingest::IngestParams = from_canonical(p)?;
            Ok(recpipe_ingest::run(&params, ctx)?)
        },
    },
    Kind {
        name: "features",
        about: "one-hot / multi-hot user and item features, behaviour profiles, TF-IDF text vectors",
        version: recpipe_features::VERSION,
        requires: &["ingest"],
        params: |with| {
            canonical(
                &recpipe_features::FeaturesParams::from_yaml(with).map_err(|e| e.to_string())?,
            )
        },
        inputs: no_inputs,
        run: |p, ctx| {
            let params: recpipe_features::FeaturesParams = from_canonical(p)?;
            Ok(recpipe_features::run(&params, ctx)?)
        },
    },
    Kind {
        name: "cluster",
        about: "K-means user segmentation (linfa-clustering) with segment profiles",
        version: recpipe_cluster::VERSION,
        requires: &["features", "ingest"],
        params: |with| canonical(&recpipe_cluster::ClusterParams::from_yaml(with)?),
        inputs: no_inputs,
        run: |p, ctx| {
            let params: recpipe_cluster::ClusterParams = from_canonical(p)?;
            Ok(recpipe_cluster::run(&params, ctx)?)
        },
    },
    Kind {
        name: "train",
        about: "matrix factorization (explicit ALS, SGD, implicit ALS) with evaluation",
        version: recpipe_train::VERSION,
        requires: &["ingest"],
        params: |with| canonical(&recpipe_train::TrainParams::from_yaml(with)?),
        inputs: |p, base| {
            let params: recpipe_train::TrainParams =
                serde_json::from_value(p.clone()).map_err(|e| e.to_string())?;
            Ok(params
                .split
                .files()
                .iter()
                .map(|f| resolve(base, f))
                .collect())
        },
        run: |p, ctx| {
            let params: recpipe_train::TrainParams = from_canonical(p)?;
            Ok(recpipe_train::run(&params, ctx)?)
        },
    },
    Kind {
        name: "serve-export",
        about: "top-N, similar items, also-liked, segment lists, embeddings and a manifest",
        version: recpipe_serve_export::VERSION,
        requires: &["train", "ingest"],
        params: |with| canonical(&recpipe_serve_export::ExportParams::from_yaml(with)?),
        inputs: no_inputs,
        run: |p, ctx| {
            let params: recpipe_serve_export::ExportParams = from_canonical(p)?;
            Ok(recpipe_serve_export::run(&params, ctx)?)
        },
    },
];

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// The names of all kinds.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}
