//! The train stage: matrix factorisation for ratings and implicit feedback,
//! with honest evaluation.
//!
//! - [`params`]: models, defaults, evaluation settings.
//! - [`data`]: interactions and sparse rows.
//! - [`split`]: random, per-user temporal, time cutoff, file and k-fold splits.
//! - [`als`]: explicit (biased, weighted-lambda) and implicit (CG) ALS.
//! - [`sgd`]: biased MF by SGD with Surprise's semantics.
//! - [`metrics`]: RMSE/MAE and ranking metrics.
//! - [`evaluate`]: scoring a model and its baselines on a fold.
//! - [`output`]: factors, model.json, metrics.json, history and the split files.
//!
//! Timings are reported to the runner (run reports, `recpipe show`), never
//! written into artifacts, which must be byte-identical from run to run.

pub mod als;
pub mod data;
pub mod evaluate;
pub mod linalg;
pub mod metrics;
pub mod model;
pub mod output;
pub mod params;
pub mod sgd;
pub mod split;

use std::collections::BTreeMap;
use std::time::Instant;

use recpipe_core::{StageContext, StageOutcome};

pub use params::{ModelKind, TrainParams};

use crate::data::{Data, TrainSet};
use crate::model::Factors;

/// Version of the train stage's output semantics.
pub const VERSION: u32 = 2;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Reading or writing failed.
    #[error(transparent)]
    Core(#[from] recpipe_core::CoreError),
    /// A needed upstream stage is missing.
    #[error("the train stage needs an `{0}` stage upstream")]
    MissingUpstream(&'static str),
    /// Bad parameters or split files.
    #[error("{0}")]
    Params(String),
}

/// Result alias for the train stage.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// One row of history.parquet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRow {
    /// Fold (0 for single splits; the final refit is fold = number of folds).
    pub fold: u16,
    /// Iteration (0-based).
    pub iteration: u32,
    /// Training loss (explicit: RMSE on train; implicit: the weighted loss).
    pub train_loss: f64,
    /// Validation metric (explicit: test RMSE; implicit: NDCG@k), NaN without a test set.
    pub validation: f64,
}

/// Trains `params.model` on `train`, recording history; `validate` scores a model on the fold's test set.
pub fn fit(
    params: &TrainParams,
    data: &Data,
    train: &TrainSet,
    fold: u16,
    history: &mut Vec<HistoryRow>,
    validate: &dyn Fn(&Factors) -> Option<f64>,
) -> (Factors, f64, usize) {
    let r = params.resolved();
    let init = Factors::random(
        data.n_users,
        data.n_items,
        r.factors,
        r.init_std,
        r.seed,
        train.mean,
    );
    let lower_is_better = params.model != ModelKind::ImplicitAls;
    let mut best = f64::NAN;
    let mut since_best = 0usize;
    let mut train_time = 0.0;
    let mut tick = Instant::now();
    let mut iterations = 0;
    let mut after = |it: usize, m: &Factors| -> bool {
        train_time += tick.elapsed().as_secs_f64();
        iterations = it + 1;
        let loss = match params.model {
            ModelKind::ImplicitAls => als::implicit_loss(train, m, &implicit_settings(params)),
            _ => evaluate::train_rmse(train, m),
        };
        let v = validate(m).unwrap_or(f64::NAN);
        history.push(HistoryRow {
            fold,
            iteration: it as u32,
            train_loss: loss,
            validation: v,
        });
        let improved =
            best.is_nan() || (lower_is_better && v < best) || (!lower_is_better && v > best);
        if improved {
            best = v;
            since_best = 0;
        } else {
            since_best += 1;
        }
        let go_on = params
            .early_stopping
            .is_none_or(|e| v.is_nan() || since_best < e.patience);
        tick = Instant::now();
        go_on
    };
    let model = match params.model {
        ModelKind::ExplicitAls => als::explicit_als(
            train,
            init,
            als::ExplicitAls {
                lambda: r.regularization,
                lambda_bias: r.bias_regularization,
            },
            r.iterations,
            &mut after,
        ),
        ModelKind::Sgd => sgd::sgd(
            train,
            init,
            sgd::Sgd {
                lr: r.learning_rate,
                reg: r.regularization as f32,
                seed: r.seed,
            },
            r.iterations,
            &mut after,
        ),
        ModelKind::ImplicitAls => als::implicit_als(
            train,
            init,
            implicit_settings(params),
            r.iterations,
            &mut after,
        ),
    };
    (model, train_time, iterations)
}

/// Implicit-ALS settings from the parameters.
pub fn implicit_settings(params: &TrainParams) -> als::ImplicitAls {
    let r = params.resolved();
    als::ImplicitAls {
        alpha: r.alpha,
        lambda: r.regularization as f32,
        cg_steps: r.cg_steps,
        confidence: match params.confidence {
            params::ConfidenceKind::Linear => als::Confidence::Linear,
            params::ConfidenceKind::Log => als::Confidence::Log { epsilon: r.epsilon },
        },
    }
}

/// Runs the stage.
pub fn run(params: &TrainParams, ctx: &StageContext) -> Result<StageOutcome> {
    let ingest = ctx
        .upstream_dir("ingest")
        .ok_or(TrainError::MissingUpstream("ingest"))?;
    let mut data = Data::read(ingest)?;
    if let Some(m) = params.min_value {
        data.keep_min_value(m);
    }
    if data.is_empty() {
        return Err(TrainError::Params("no interactions to train on".into()));
    }
    let segments = match ctx.upstream_dir("cluster") {
        Some(dir) => {
            Some(recpipe_core::ParquetTable::read(&dir.join("segments.parquet"))?.u16s("segment")?)
        }
        None => None,
    };
    let folds = split::split(&data, &params.split, &|p| ctx.resolve(p))?;
    let evaluating = !matches!(params.split, split::SplitSpec::None);
    let relevance = params
        .eval
        .relevance_threshold
        .unwrap_or(if data.is_events { f32::MIN } else { 4.0 });
    let mut history = Vec::new();
    let mut fold_metrics: Vec<BTreeMap<String, f64>> = Vec::new();
    let mut first_model = None;
    let (mut train_seconds, mut iterations) = (0.0, 0usize);
    let bar = ctx
        .progress
        .bar(folds.len() as u64 + u64::from(evaluating), "training");
    for (f, fold) in folds.iter().enumerate() {
        if !evaluating {
            break;
        }
        let train = TrainSet::new(&data, &fold.train);
        let eval = evaluate::Evaluator::new(
            &data,
            fold,
            &train,
            relevance,
            &params.eval.k,
            segments.as_deref(),
        );
        let validate = |m: &Factors| Some(eval.validation(m, params.model));
        let (model, secs, iters) = fit(params, &data, &train, f as u16, &mut history, &validate);
        train_seconds += secs;
        iterations += iters;
        let mut m = eval.metrics(&model, params.model);
        m.insert("n_train".into(), fold.train.len() as f64);
        m.insert("n_test".into(), fold.test.len() as f64);
        m.insert("unmatched_split_lines".into(), fold.unmatched as f64);
        fold_metrics.push(m);
        if first_model.is_none() {
            first_model = Some(model);
        }
        bar.inc(1);
    }
    let final_model = if !evaluating || params.final_fit == params::FinalFit::All {
        let all: Vec<usize> = (0..data.len()).collect();
        let train = TrainSet::new(&data, &all);
        let (model, secs, iters) = fit(
            params,
            &data,
            &train,
            folds.len() as u16 * u16::from(evaluating),
            &mut history,
            &|_| None,
        );
        if !evaluating {
            train_seconds += secs;
            iterations += iters;
        }
        model
    } else {
        first_model.ok_or_else(|| TrainError::Params("no fold to keep the model of".into()))?
    };
    bar.finish();
    let metrics = evaluate::aggregate(&fold_metrics);
    output::write(
        ctx,
        params,
        &data,
        &final_model,
        &metrics,
        &history,
        &folds,
        evaluating,
    )?;
    let mut outcome = StageOutcome::default();
    for key in [
        "rmse",
        "mae",
        "ndcg_at_10",
        "baseline_rmse",
        "baseline_ndcg_at_10",
        "precision_at_10",
        "recall_at_10",
    ] {
        if let Some(v) = metrics.get(key) {
            outcome.metric(key, *v);
        }
    }
    outcome.metric("train_seconds", (train_seconds * 1000.0).round() / 1000.0);
    outcome.metric(
        "seconds_per_iteration",
        if iterations > 0 {
            (train_seconds / iterations as f64 * 1e5).round() / 1e5
        } else {
            0.0
        },
    );
    let headline = match (metrics.get("rmse"), metrics.get("ndcg_at_10")) {
        (Some(r), Some(n)) if params.model != ModelKind::ImplicitAls => format!(
            "RMSE {r:.4} (baseline {:.4}), NDCG@10 {n:.4}",
            metrics.get("baseline_rmse").copied().unwrap_or(f64::NAN)
        ),
        (_, Some(n)) => format!(
            "NDCG@10 {n:.4} (most-popular {:.4})",
            metrics
                .get("baseline_ndcg_at_10")
                .copied()
                .unwrap_or(f64::NAN)
        ),
        _ => "no evaluation (split: none)".to_string(),
    };
    outcome.line(format!(
        "{:?} k={}: {headline}; {:.3}s training",
        params.model,
        params.resolved().factors,
        train_seconds
    ));
    Ok(outcome)
}
