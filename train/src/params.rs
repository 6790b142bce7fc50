//! The train stage's parameters, with model-specific defaults.

use serde::{Deserialize, Serialize};

use crate::split::SplitSpec;

/// The model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Biased ALS for explicit ratings.
    #[default]
    ExplicitAls,
    /// Biased MF by SGD (Surprise's SVD).
    Sgd,
    /// Implicit-feedback ALS (Hu, Koren & Volinsky) with conjugate gradient.
    ImplicitAls,
}

/// Implicit confidence scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConfidenceKind {
    /// `1 + alpha * value`.
    #[default]
    Linear,
    /// `1 + alpha * ln(1 + value / epsilon)`.
    Log,
}

/// Which factors are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FinalFit {
    /// Refit on all interactions after evaluation.
    #[default]
    All,
    /// Keep the model of the (first) training split.
    Train,
}

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Cutoffs of the ranking metrics.
    pub k: Vec<usize>,
    /// Test ratings at or above this are relevant (explicit data; default 4). Every test event is relevant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevance_threshold: Option<f32>,
}

impl Default for EvalSpec {
    fn default() -> Self {
        EvalSpec {
            k: vec![10],
            relevance_threshold: None,
        }
    }
}

/// Early stopping on the validation metric (RMSE for explicit, NDCG@k for implicit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Iterations without improvement before stopping.
    pub patience: usize,
}

/// The `with:` block of a train stage. Unset numbers take the model's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainParams {
    /// `explicit_als` (default), `sgd` or `implicit_als`.
    pub model: ModelKind,
    /// Latent factors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factors: Option<usize>,
    /// ALS iterations or SGD epochs.
    #[serde(skip_serializing_if = "Option::is_none", alias = "epochs")]
    pub iterations: Option<usize>,
    /// Regularisation (ALS: lambda, weighted by count for explicit ALS; SGD: reg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regularization: Option<f64>,
    /// Regularisation of biases (explicit ALS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias_regularization: Option<f64>,
    /// Confidence weight (implicit ALS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Confidence scaling (implicit ALS).
    pub confidence: ConfidenceKind,
    /// Epsilon of log confidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// Conjugate-gradient steps (implicit ALS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cg_steps: Option<usize>,
    /// Learning rate (SGD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    /// Standard deviation of the initial factors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_std: Option<f64>,
    /// Seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Train only on interactions with value >= this (e.g. ratings >= 4 as implicit feedback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<f32>,
    /// The evaluation split.
    pub split: SplitSpec,
    /// Evaluation settings.
    pub eval: EvalSpec,
    /// `all` (refit on everything, default) or `train`.
    pub final_fit: FinalFit,
    /// Stop when the validation metric has not improved for `patience` iterations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// Fraction of users held out entirely to evaluate the cold-start mapping (0: no evaluation).
    pub cold_users_fraction: f64,
    /// Fraction of items held out entirely to evaluate the item cold-start
    /// mapping (0: no evaluation).
    pub cold_items_fraction: f64,
    /// Ridge penalty of the cold-start mappings from features to factors.
    pub cold_start_lambda: f64,
    /// TF-IDF terms (the most frequent) among the item cold-start features.
    pub cold_start_terms: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            model: ModelKind::default(),
            factors: None,
            iterations: None,
            regularization: None,
            bias_regularization: None,
            alpha: None,
            confidence: ConfidenceKind::default(),
            epsilon: None,
            cg_steps: None,
            learning_rate: None,
            init_std: None,
            seed: None,
            min_value: None,
            split: SplitSpec::default(),
            eval: EvalSpec::default(),
            final_fit: FinalFit::default(),
            early_stopping: None,
            cold_users_fraction: 0.0,
            cold_items_fraction: 0.0,
            cold_start_lambda: 1.0,
            cold_start_terms: 200,
        }
    }
}

/// The most factors a model may have: far past what matrix factorization
/// is used with (8 to a few hundred), short of what memory cannot hold.
pub const MAX_FACTORS: usize = 4096;

/// Parameters with every default resolved for the chosen model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Resolved {
    /// Factors.
    pub factors: usize,
    /// Iterations / epochs.
    pub iterations: usize,
    /// Regularisation.
    pub regularization: f64,
    /// Bias regularisation.
    pub bias_regularization: f64,
    /// Alpha.
    pub alpha: f64,
    /// Epsilon.
    pub epsilon: f64,
    /// CG steps.
    pub cg_steps: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// Initial std.
    pub init_std: f64,
    /// Seed.
    pub seed: u64,
}

impl Resolved {
    /// Each setting the model uses within its range, the first one that is
    /// not named with its value. NaN is outside every range.
    fn check(&self, model: ModelKind, confidence: ConfidenceKind) -> Result<(), String> {
        let implicit = model == ModelKind::ImplicitAls;
        let counts = [
            ("factors", self.factors, true),
            ("iterations", self.iterations, true),
            ("cg_steps", self.cg_steps, implicit),
        ];
        if let Some((name, _, _)) = counts.iter().find(|(_, v, used)| *used && *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        // A typo such as 6400 for 64 would ask for k x k normal equations
        // per thread and k^3 work per user and item: stopped here with its
        // bound, not by the allocator.
        if self.factors > MAX_FACTORS {
            return Err(format!(
                "factors must be at most {MAX_FACTORS} (got {})",
                self.factors
            ));
        }
        let non_negative = [
            ("regularization", self.regularization, true),
            ("bias_regularization", self.bias_regularization, true),
            ("alpha", self.alpha, implicit),
        ];
        let positive = [
            ("learning_rate", self.learning_rate, true),
            ("init_std", self.init_std, true),
            (
                "epsilon",
                self.epsilon,
                implicit && confidence == ConfidenceKind::Log,
            ),
        ];
        for (name, v, used) in non_negative {
            if used && !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} must be a finite number >= 0 (got {v})"));
            }
        }
        for (name, v, used) in positive {
            if used && !(v.is_finite() && v > 0.0) {
                return Err(format!("{name} must be a finite number > 0 (got {v})"));
            }
        }
        Ok(())
    }
}

/// `with` with its `split:` written out in full: a kind alone (`split:
/// none`) is that kind with its defaults, and a `split:` that names no
/// `kind:` is the default kind (`random`), so that `split: {fraction: 0.1}`
/// and `--set train.split.fraction=0.1` change the default split's fraction
/// instead of failing on a missing tag.
fn split_kind_defaulted(with: &serde_yaml::Value) -> serde_yaml::Value {
    let mut with = with.clone();
    let kind = serde_yaml::Value::from("kind");
    if let Some(split) = with.get_mut("split") {
        if split.is_string() {
            let mut full = serde_yaml::Mapping::new();
            full.insert(kind.clone(), split.clone());
            *split = serde_yaml::Value::Mapping(full);
        }
        if let Some(split) = split.as_mapping_mut()
            && !split.contains_key(&kind)
        {
            split.insert(kind, serde_yaml::Value::from("random"));
        }
    }
    with
}

impl TrainParams {
    /// Parses and checks a `with:` block.
    pub fn from_yaml(with: &serde_yaml::Value) -> Result<Self, String> {
        let p: TrainParams = recpipe_core::params::from_with(&split_kind_defaulted(with))?;
        p.split.check()?;
        let r = p.resolved();
        // The canonical form carries every default, so a change of default changes the fingerprint.
        let mut p = p;
        p.factors = Some(r.factors);
        p.iterations = Some(r.iterations);
        p.regularization = Some(r.regularization);
        p.bias_regularization = Some(r.bias_regularization);
        p.learning_rate = Some(r.learning_rate);
        p.init_std = Some(r.init_std);
        p.seed = Some(r.seed);
        if p.model == ModelKind::ImplicitAls {
            p.alpha = Some(r.alpha);
            p.cg_steps = Some(r.cg_steps);
            if p.confidence == ConfidenceKind::Log {
                p.epsilon = Some(r.epsilon);
            }
        }

        r.check(p.model, p.confidence)?;
        if !(0.0..1.0).contains(&p.cold_users_fraction)
            || !(0.0..1.0).contains(&p.cold_items_fraction)
            || p.cold_start_lambda <= 0.0
        {
            return Err(
                "cold_users_fraction and cold_items_fraction must be in [0, 1) and cold_start_lambda positive".into(),
            );
        }
        if p.eval.k.is_empty() || p.eval.k.contains(&0) {
            return Err("eval.k must list positive cutoffs".into());
        }
        Ok(p)
    }

    /// The defaults of the chosen model filled in (see the README for why these values).
    pub fn resolved(&self) -> Resolved {
        let (factors, iterations, reg) = match self.model {
            ModelKind::ExplicitAls => (64, 15, 0.12),
            ModelKind::Sgd => (100, 20, 0.02),
            ModelKind::ImplicitAls => (64, 15, 0.01),
        };
        Resolved {
            factors: self.factors.unwrap_or(factors),
            iterations: self.iterations.unwrap_or(iterations),
            regularization: self.regularization.unwrap_or(reg),
            bias_regularization: self.bias_regularization.unwrap_or(0.05),
            alpha: self.alpha.unwrap_or(1.0),
            epsilon: self.epsilon.unwrap_or(1.0),
            cg_steps: self.cg_steps.unwrap_or(3),
            learning_rate: self.learning_rate.unwrap_or(0.005),
            init_std: self.init_std.unwrap_or(match self.model {
                ModelKind::ImplicitAls => 0.01,
                _ => 0.1,
            }),
            seed: self.seed.unwrap_or(42),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TrainParams, String> {
        TrainParams::from_yaml(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn a_split_without_a_kind_is_the_default_kind_and_a_kind_alone_has_its_defaults() {
        let p = parse("split: {fraction: 0.1}").expect("parses");
        assert_eq!(
            p.split,
            SplitSpec::Random {
                fraction: 0.1,
                seed: 42
            }
        );
        // A named kind is kept, and a setting of another kind still fails.
        let p = parse("split: {kind: user_temporal, fraction: 0.3}").expect("parses");
        assert_eq!(p.split, SplitSpec::UserTemporal { fraction: 0.3 });
        let e = parse("split: {cutoff: 2000-01-01}").expect_err("a setting of another kind");
        assert!(e.contains("unknown field `cutoff`"), "{e}");
        // A kind alone is that kind with its defaults.
        assert_eq!(parse("split: none").expect("parses").split, SplitSpec::None);
        assert_eq!(
            parse("split: user_temporal").expect("parses").split,
            SplitSpec::UserTemporal { fraction: 0.2 }
        );
        let e = parse("split: holdout").expect_err("no such kind");
        assert!(e.contains("unknown variant `holdout`"), "{e}");
    }

    #[test]
    fn the_canonical_form_writes_decimal_settings_as_given() {
        // The runner keeps the parameters as a JSON value (for the lock and
        // model.json): held as f32, 0.005 became 0.004999999888241291.
        let canonical = |p: TrainParams| {
            let value = serde_json::to_value(&p).expect("json value");
            serde_yaml::to_string(&value).expect("yaml")
        };
        let text = canonical(parse("{model: sgd, learning_rate: 0.005}").expect("parses"));
        assert!(text.contains("learning_rate: 0.005\n"), "{text}");
        let p = parse("{model: implicit_als, alpha: 0.3, confidence: log, epsilon: 0.1}");
        let text = canonical(p.expect("parses"));
        assert!(
            text.contains("alpha: 0.3\n") && text.contains("epsilon: 0.1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_setting_out_of_its_range_is_named_with_its_value() {
        assert!(parse("model: implicit_als").is_ok());
        assert!(parse("{model: implicit_als, confidence: log, epsilon: 0.5}").is_ok());
        for (yaml, says) in [
            ("factors: 0", "factors must be at least 1"),
            (
                "factors: 100000",
                "factors must be at most 4096 (got 100000)",
            ),
            (
                "{model: implicit_als, cg_steps: 0}",
                "cg_steps must be at least 1",
            ),
            (
                "init_std: 0",
                "init_std must be a finite number > 0 (got 0)",
            ),
            // (NaN and infinities are refused while the block is read.)
            (
                "regularization: .nan",
                "`regularization`: NaN is not a finite number",
            ),
            (
                "bias_regularization: -0.1",
                "bias_regularization must be a finite number >= 0",
            ),
            (
                "{model: implicit_als, alpha: .inf}",
                "`alpha`: inf is not a finite number",
            ),
            (
                "{model: implicit_als, confidence: log, epsilon: 0}",
                "epsilon must be a finite number > 0 (got 0)",
            ),
            (
                "learning_rate: -1",
                "learning_rate must be a finite number > 0",
            ),
        ] {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.contains(says), "{yaml}: {err}");
        }
        // Settings a model does not use are not its errors.
        assert!(parse("{model: explicit_als, cg_steps: 0, alpha: -1}").is_ok());
        assert!(
            parse("{model: implicit_als, epsilon: 0}").is_ok(),
            "linear confidence"
        );
    }
}
