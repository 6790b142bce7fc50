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
//! - [`coldstart`]: ridge mappings from user features and item content to factors, and their evaluation.
//! - [`output`]: factors, model.json, metrics.json, history and the split files.
//!
//! Timings are reported to the runner (run reports, `recpipe show`), never
//! written into artifacts, which must be byte-identical from run to run.

pub mod als;
pub mod coldstart;
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

use recpipe_core::progress::Bar;
use recpipe_core::{StageContext, StageOutcome};

pub use params::{ModelKind, TrainParams};

use crate::data::{Data, TrainSet};
use crate::model::Factors;

/// Version of the train stage's output semantics.
pub const VERSION: u32 = 12;

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

/// Trains `params.model` on `train`, recording history; `validate` scores
/// a model on the fold's test set. `bar` advances by one step per
/// iteration, and by the iterations early stopping skipped at the end.
pub fn fit(
    params: &TrainParams,
    data: &Data,
    train: &TrainSet,
    fold: u16,
    history: &mut Vec<HistoryRow>,
    validate: &dyn Fn(&Factors) -> Option<f64>,
    bar: &Bar,
) -> (Factors, f64, usize) {
    let r = params.resolved();
    let init = match params.model {
        // Implicit ALS starts from small positive factors, as `implicit` does.
        ModelKind::ImplicitAls => {
            Factors::uniform(data.n_users, data.n_items, r.factors, r.init_std, r.seed)
        }
        _ => Factors::random(
            data.n_users,
            data.n_items,
            r.factors,
            r.init_std,
            r.seed,
            train.mean,
        ),
    };
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
        bar.inc(1);
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
                lr: r.learning_rate as f32,
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
    bar.inc(r.iterations.saturating_sub(iterations) as u64);
    (model, train_time, iterations)
}

/// Implicit-ALS settings from the parameters.
pub fn implicit_settings(params: &TrainParams) -> als::ImplicitAls {
    let r = params.resolved();
    als::ImplicitAls {
        alpha: r.alpha as f32,
        lambda: r.regularization as f32,
        cg_steps: r.cg_steps,
        confidence: match params.confidence {
            params::ConfidenceKind::Linear => als::Confidence::Linear,
            params::ConfidenceKind::Log => als::Confidence::Log {
                epsilon: r.epsilon as f32,
            },
        },
    }
}

/// Users or items held out entirely, and the model trained without them.
struct HeldOut {
    /// Per id: held out?
    cold: Vec<bool>,
    /// Held-out ids, ascending.
    cold_ids: Vec<usize>,
    /// Kept ids with interactions, ascending.
    warm_ids: Vec<usize>,
    /// The training set without the held-out ids' interactions.
    train: TrainSet,
    /// The model fitted on it.
    model: Factors,
}

/// Holds out `fraction` of the ids (users or items, `ids` per interaction)
/// that have interactions, drawn from the seed and `salt`, and fits the
/// model on the rest.
fn hold_out(
    params: &TrainParams,
    data: &Data,
    ids: &[u32],
    n: usize,
    fraction: f64,
    salt: u64,
    bar: &Bar,
) -> HeldOut {
    let mut active = with_interactions(ids, n);
    recpipe_core::Rng::new(params.resolved().seed ^ salt).shuffle(&mut active);
    let n_cold =
        ((active.len() as f64 * fraction).ceil() as usize).min(active.len().saturating_sub(1));
    let mut cold = vec![false; n];
    for &i in &active[..n_cold] {
        cold[i] = true;
    }
    let warm_rows: Vec<usize> = (0..data.len())
        .filter(|&x| !cold[ids[x] as usize])
        .collect();
    let train = TrainSet::new(data, &warm_rows);
    let (model, _, _) = fit(
        params,
        data,
        &train,
        u16::MAX,
        &mut Vec::new(),
        &|_| None,
        bar,
    );
    let mut cold_ids = active[..n_cold].to_vec();
    cold_ids.sort_unstable();
    let mut warm_ids = active[n_cold..].to_vec();
    warm_ids.sort_unstable();
    HeldOut {
        cold,
        cold_ids,
        warm_ids,
        train,
        model,
    }
}

/// The ridge map `w` applied to the feature rows `ids` of `x`, as f32
/// (one row per id: factors, then any extra targets).
fn predict(
    x: &ndarray::Array2<f64>,
    w: &ndarray::Array2<f64>,
    ids: &[usize],
) -> ndarray::Array2<f32> {
    x.select(ndarray::Axis(0), ids).dot(w).mapv(|v| v as f32)
}

/// Ranking metrics of `recs` and of the baseline lists `base` against
/// `relevant`, under `{prefix}_ndcg_at_k`, `{prefix}_baseline_ndcg_at_k`,
/// `{prefix}_recall_at_k` and `{prefix}_baseline_recall_at_k`.
fn cold_metrics(
    prefix: &str,
    params: &TrainParams,
    recs: &[Vec<u32>],
    base: &[Vec<u32>],
    relevant: &[Vec<u32>],
    n_items: usize,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for &kk in &params.eval.k {
        let m = metrics::ranking(recs, relevant, kk, n_items);
        let b = metrics::ranking(base, relevant, kk, n_items);
        out.insert(format!("{prefix}_ndcg_at_{kk}"), m.ndcg);
        out.insert(format!("{prefix}_baseline_ndcg_at_{kk}"), b.ndcg);
        out.insert(format!("{prefix}_recall_at_{kk}"), m.recall);
        out.insert(format!("{prefix}_baseline_recall_at_{kk}"), b.recall);
    }
    out
}

/// Holds out a fraction of users entirely, trains on the others, maps the
/// held-out users' features to factors and scores their interactions against
/// the most-popular baseline.
fn evaluate_cold_users(
    params: &TrainParams,
    data: &Data,
    uf: &coldstart::FeatureMatrix,
    relevance: f32,
    bar: &Bar,
) -> BTreeMap<String, f64> {
    let HeldOut {
        cold,
        cold_ids: cold_users,
        warm_ids: warm_users,
        train,
        model,
    } = hold_out(
        params,
        data,
        &data.users,
        data.n_users,
        params.cold_users_fraction,
        0xC01D,
        bar,
    );
    let w = coldstart::ridge(
        &uf.x,
        &coldstart::targets(&model.user, &model.user_bias),
        &warm_users,
        params.cold_start_lambda,
    );
    let k = model.k();
    let vectors = predict(&uf.x, &w, &cold_users).slice_move(ndarray::s![.., ..k]);
    let implicit = params.model == ModelKind::ImplicitAls;
    let n = params.eval.k.iter().copied().max().unwrap_or(10);
    let bias = (!implicit).then_some(model.item_bias.as_slice());
    let lists = recpipe_core::topk::top_n_all(vectors.view(), model.item.view(), bias, n, &|_| &[]);
    let counts: Vec<f32> = (0..data.n_items)
        .map(|i| (train.by_item.offsets[i + 1] - train.by_item.offsets[i]) as f32)
        .collect();
    let popular: Vec<u32> = recpipe_core::topk::top_n(&counts, n, |_| false)
        .into_iter()
        .map(|e| e.0)
        .collect();
    let mut recs = vec![Vec::new(); data.n_users];
    let mut pop = vec![Vec::new(); data.n_users];
    for (row, &u) in cold_users.iter().enumerate() {
        recs[u] = lists[row].iter().map(|e| e.0).collect();
        pop[u].clone_from(&popular);
    }
    let mut relevant = vec![Vec::new(); data.n_users];
    for i in 0..data.len() {
        let u = data.users[i] as usize;
        if cold[u] && data.values[i] >= relevance {
            relevant[u].push(data.items[i]);
        }
    }
    for rel in &mut relevant {
        rel.sort_unstable();
        rel.dedup();
    }
    let mut out = cold_metrics("cold_users", params, &recs, &pop, &relevant, data.n_items);
    out.insert("cold_users".to_string(), cold_users.len() as f64);
    out
}

/// The rows (users or items) that have at least one interaction, ascending.
fn with_interactions(ids: &[u32], n: usize) -> Vec<usize> {
    let mut has = vec![false; n];
    for &r in ids {
        has[r as usize] = true;
    }
    (0..n).filter(|&r| has[r]).collect()
}

/// Holds out a fraction of items entirely, trains on the rest, maps the
/// held-out items' content to factors and ranks them for the users who
/// interacted with them. The candidates are the held-out items; the
/// baseline ranks them by popularity as predicted from the same content
/// (a new item has no count of its own), the most-popular list of a
/// catalogue of new items.
fn evaluate_cold_items(
    params: &TrainParams,
    data: &Data,
    itf: &coldstart::FeatureMatrix,
    relevance: f32,
    bar: &Bar,
) -> BTreeMap<String, f64> {
    let HeldOut {
        cold,
        cold_ids: cold_items,
        warm_ids: warm_items,
        train,
        model,
    } = hold_out(
        params,
        data,
        &data.items,
        data.n_items,
        params.cold_items_fraction,
        0xC01D_17E5,
        bar,
    );
    // Targets: factors, bias, and log(1 + count) for the baseline.
    let k = model.k();
    let mut targets = ndarray::Array2::<f64>::zeros((data.n_items, k + 2));
    targets
        .slice_mut(ndarray::s![.., ..k + 1])
        .assign(&coldstart::targets(&model.item, &model.item_bias));
    for i in 0..data.n_items {
        let count = train.by_item.offsets[i + 1] - train.by_item.offsets[i];
        targets[[i, k + 1]] = (count as f64).ln_1p();
    }
    let w = coldstart::ridge(&itf.x, &targets, &warm_items, params.cold_start_lambda);
    let pred = predict(&itf.x, &w, &cold_items);
    let vectors = pred.slice(ndarray::s![.., ..k]);
    let bias = pred.column(k).to_vec();
    let popularity = pred.column(k + 1).to_vec();
    // Users with a relevant interaction on a held-out item.
    let mut relevant = vec![Vec::new(); data.n_users];
    for x in 0..data.len() {
        let i = data.items[x] as usize;
        if cold[i] && data.values[x] >= relevance {
            relevant[data.users[x] as usize].push(data.items[x]);
        }
    }
    for rel in &mut relevant {
        rel.sort_unstable();
        rel.dedup();
    }
    let users: Vec<usize> = (0..data.n_users)
        .filter(|&u| !relevant[u].is_empty())
        .collect();
    let n = params.eval.k.iter().copied().max().unwrap_or(10);
    let implicit = params.model == ModelKind::ImplicitAls;
    let lists = recpipe_core::topk::top_n_all(
        model.user.select(ndarray::Axis(0), &users).view(),
        vectors.view(),
        (!implicit).then_some(bias.as_slice()),
        n,
        &|_| &[],
    );
    let popular: Vec<u32> = recpipe_core::topk::top_n(&popularity, n, |_| false)
        .into_iter()
        .map(|e| cold_items[e.0 as usize] as u32)
        .collect();
    let mut recs = vec![Vec::new(); data.n_users];
    let mut pop = vec![Vec::new(); data.n_users];
    for (row, &u) in users.iter().enumerate() {
        recs[u] = lists[row]
            .iter()
            .map(|e| cold_items[e.0 as usize] as u32)
            .collect();
        pop[u].clone_from(&popular);
    }
    let mut out = cold_metrics("cold_items", params, &recs, &pop, &relevant, data.n_items);
    out.insert("cold_items".to_string(), cold_items.len() as f64);
    out.insert("cold_items_users".to_string(), users.len() as f64);
    out
}

/// Runs the stage.
pub fn run(params: &TrainParams, ctx: &StageContext) -> Result<StageOutcome> {
    let ingest = ctx
        .upstream_dir("ingest")
        .ok_or(TrainError::MissingUpstream("ingest"))?;
    let mut data = Data::read(ingest)?;
    let read = data.len();
    if let Some(m) = params.min_value {
        data.keep_min_value(m);
    }
    if data.is_empty() {
        let why = match params.min_value {
            Some(m) if read > 0 => format!(": `min_value` {m} keeps none of the {read}"),
            _ => String::new(),
        };
        return Err(TrainError::Params(format!(
            "no interactions to train on{why}"
        )));
    }
    let segments = match ctx.upstream_dir("cluster") {
        Some(dir) => {
            Some(recpipe_core::ParquetTable::read(&dir.join("segments.parquet"))?.u16s("segment")?)
        }
        None => None,
    };
    let folds = split::split(&data, &params.split, &|p| ctx.resolve(p))?;
    split::check_training_left(&folds, &params.split, data.len())?;
    let evaluating = !matches!(params.split, split::SplitSpec::None);
    let relevance = params
        .eval
        .relevance_threshold
        .unwrap_or(if data.is_events { f32::MIN } else { 4.0 });
    let mut history = Vec::new();
    let mut fold_metrics: Vec<BTreeMap<String, f64>> = Vec::new();
    let mut first_model = None;
    let (mut train_seconds, mut iterations) = (0.0, 0usize);
    // One bar over every iteration of every fit: the folds, the final fit
    // on all interactions, and the cold-start evaluations' own fits.
    let refit = !evaluating || params.final_fit == params::FinalFit::All;
    let fits = if evaluating { folds.len() } else { 0 }
        + usize::from(refit)
        + usize::from(params.cold_users_fraction > 0.0)
        + usize::from(params.cold_items_fraction > 0.0);
    let bar = ctx.progress.bar(
        (fits * params.resolved().iterations) as u64,
        "training (iterations)",
    );
    for (f, fold) in folds.iter().enumerate() {
        if !evaluating {
            break;
        }
        bar.set_message(format!("fold {} of {}", f + 1, folds.len()));
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
        let (model, secs, iters) = fit(
            params,
            &data,
            &train,
            f as u16,
            &mut history,
            &validate,
            &bar,
        );
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
    }
    let final_model = if refit {
        bar.set_message("final fit on all".into());
        let all: Vec<usize> = (0..data.len()).collect();
        let train = TrainSet::new(&data, &all);
        let (model, secs, iters) = fit(
            params,
            &data,
            &train,
            folds.len() as u16 * u16::from(evaluating),
            &mut history,
            &|_| None,
            &bar,
        );
        if !evaluating {
            train_seconds += secs;
            iterations += iters;
        }
        model
    } else {
        first_model.ok_or_else(|| TrainError::Params("no fold to keep the model of".into()))?
    };
    let mut metrics = evaluate::aggregate(&fold_metrics);
    let user_features = match ctx.upstream_dir("features") {
        Some(dir) => coldstart::user_features(dir, segments.as_deref())?,
        None => None,
    };
    if params.cold_users_fraction > 0.0 {
        let uf = user_features.as_ref().ok_or_else(|| TrainError::Params("cold_users_fraction needs a features stage upstream (with demographics or segments)".into()))?;
        bar.set_message("cold-start users".into());
        metrics.extend(evaluate_cold_users(params, &data, uf, relevance, &bar));
    }
    let item_features = match ctx.upstream_dir("features") {
        Some(dir) => coldstart::item_features(dir, data.n_items, params.cold_start_terms)?,
        None => None,
    };
    if params.cold_items_fraction > 0.0 {
        let itf = item_features.as_ref().ok_or_else(|| TrainError::Params("cold_items_fraction needs a features stage upstream (with genres, decades or item text)".into()))?;
        bar.set_message("cold-start items".into());
        metrics.extend(evaluate_cold_items(params, &data, itf, relevance, &bar));
    }
    bar.finish();
    ctx.progress.phase("writing");
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
    if let Some(uf) = &user_features {
        let w = coldstart::ridge(
            &uf.x,
            &coldstart::targets(&final_model.user, &final_model.user_bias),
            &with_interactions(&data.users, data.n_users),
            params.cold_start_lambda,
        );
        output::write_cold_start(ctx, "user_cold_start.parquet", &uf.names, &w)?;
    }
    if let Some(itf) = &item_features {
        let w = coldstart::ridge(
            &itf.x,
            &coldstart::targets(&final_model.item, &final_model.item_bias),
            &with_interactions(&data.items, data.n_items),
            params.cold_start_lambda,
        );
        output::write_cold_start(ctx, "item_cold_start.parquet", &itf.names, &w)?;
    }
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
    if let Some(note) = worse_than_baseline(params, &metrics, data.n_users, data.n_items) {
        outcome.line(note);
    }
    Ok(outcome)
}

/// A note for a model that its own baseline beats on the figure that
/// matters for its kind (the headline gives both figures): NDCG@10 against
/// the most popular items for implicit ALS, RMSE against the biases alone
/// for rating models. On small data that is mostly too many factors (64
/// implicit factors for 500 users x 300 items ranked at 0.11 against 0.25
/// for popularity, 8 at 0.33).
fn worse_than_baseline(
    params: &TrainParams,
    metrics: &BTreeMap<String, f64>,
    users: usize,
    items: usize,
) -> Option<String> {
    let figures = |ours: &str, theirs: &str| Some((*metrics.get(ours)?, *metrics.get(theirs)?));
    let (baseline, remedy) = if params.model == ModelKind::ImplicitAls {
        let (ours, theirs) = figures("ndcg_at_10", "baseline_ndcg_at_10")?;
        (ours < theirs).then_some(("most-popular", "try fewer"))?
    } else {
        let (ours, theirs) = figures("rmse", "baseline_rmse")?;
        (ours > theirs).then_some(("the baseline", "try fewer, or more `regularization`"))?
    };
    Some(format!(
        "note: worse than {baseline}; {} factors may be too many for {users} users x {items} items: {remedy}",
        params.resolved().factors
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_its_baseline_beats_gets_a_note_on_its_own_figure() {
        let metrics = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
            pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
        };
        let implicit = TrainParams {
            model: ModelKind::ImplicitAls,
            factors: Some(64),
            ..TrainParams::default()
        };
        let explicit = TrainParams {
            model: ModelKind::ExplicitAls,
            ..TrainParams::default()
        };
        let ranks_worse = metrics(&[
            ("ndcg_at_10", 0.11),
            ("baseline_ndcg_at_10", 0.25),
            ("rmse", 0.9),
            ("baseline_rmse", 1.0),
        ]);
        assert_eq!(
            worse_than_baseline(&implicit, &ranks_worse, 500, 300).as_deref(),
            Some(
                "note: worse than most-popular; 64 factors may be too many for 500 users x 300 items: try fewer"
            )
        );
        // A rating model is judged on RMSE, not on ranking.
        assert_eq!(worse_than_baseline(&explicit, &ranks_worse, 500, 300), None);
        let predicts_worse = metrics(&[("rmse", 1.1), ("baseline_rmse", 1.0)]);
        let note = worse_than_baseline(&explicit, &predicts_worse, 500, 300).unwrap_or_default();
        assert!(
            note.contains("worse than the baseline") && note.contains("`regularization`"),
            "{note}"
        );
        let ranks_better = metrics(&[("ndcg_at_10", 0.3), ("baseline_ndcg_at_10", 0.25)]);
        assert_eq!(
            worse_than_baseline(&implicit, &ranks_better, 500, 300),
            None
        );
        // No evaluation (split: none): nothing to compare.
        assert_eq!(
            worse_than_baseline(&implicit, &BTreeMap::new(), 500, 300),
            None
        );
    }
}
