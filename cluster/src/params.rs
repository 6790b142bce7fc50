//! The cluster stage's parameters.

use serde::{Deserialize, Serialize};

/// A fixed k, or `auto` (best mean silhouette over `k_range`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged, expecting = "expected a number of segments or `auto`")]
pub enum KChoice {
    /// This many segments.
    Fixed(usize),
    /// The word `auto`.
    Auto(AutoWord),
}

/// The literal `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoWord {
    /// Pick k by silhouette.
    Auto,
}

/// The `with:` block of a cluster stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterParams {
    /// Number of segments, or `auto`.
    pub k: KChoice,
    /// Range searched by `k: auto` (inclusive).
    pub k_range: [usize; 2],
    /// Restarts; the lowest inertia wins.
    pub n_runs: usize,
    /// Iteration cap per restart.
    pub max_iterations: u64,
    /// Relative tolerance (scikit-learn's `tol`: squared centroid shift / mean feature variance).
    pub tolerance: f64,
    /// Seed of the k-means++ initialisation.
    pub seed: u64,
    /// User feature groups clustered on.
    pub groups: Vec<String>,
    /// Columns left out by name prefix (high-cardinality one-hots).
    pub exclude_prefixes: Vec<String>,
    /// z-score every clustered column first.
    pub standardize: bool,
    /// Project onto this many principal components before clustering
    /// (after standardizing); `null` clusters on the columns themselves.
    pub dims: Option<usize>,
    /// Users sampled (deterministically) for the silhouette.
    pub silhouette_sample: usize,
    /// Over-represented items listed per segment.
    pub profile_items: usize,
    /// Top TF-IDF terms listed per segment.
    pub profile_terms: usize,
    /// Feature columns that differ most, listed per segment.
    pub profile_features: usize,
}

impl Default for ClusterParams {
    fn default() -> Self {
        ClusterParams {
            k: KChoice::Fixed(8),
            k_range: [2, 16],
            n_runs: 10,
            max_iterations: 300,
            tolerance: 1e-4,
            seed: 42,
            groups: vec!["demographics".into(), "genres".into(), "behaviour".into()],
            exclude_prefixes: vec!["zip=".into()],
            standardize: true,
            dims: None,
            silhouette_sample: 5000,
            profile_items: 10,
            profile_terms: 10,
            profile_features: 6,
        }
    }
}

impl ClusterParams {
    /// Parses and checks a `with:` block.
    pub fn from_yaml(with: &serde_yaml::Value) -> Result<Self, String> {
        let p: ClusterParams = recpipe_core::params::from_with(with)?;
        if let KChoice::Fixed(k) = p.k
            && (k < 1 || k > u16::MAX as usize)
        {
            return Err(format!("k must be from 1 to {} (got {k})", u16::MAX));
        }
        if p.exclude_prefixes.iter().any(String::is_empty) {
            return Err(
                "`exclude_prefixes` holds an empty prefix, which every column starts with".into(),
            );
        }
        if p.k_range[0] < 2 || p.k_range[1] < p.k_range[0] || p.k_range[1] > u16::MAX as usize {
            return Err(format!(
                "k_range must be [min, max] with 2 <= min <= max <= {}",
                u16::MAX
            ));
        }
        let least = [
            ("n_runs", p.n_runs as u64, 1),
            ("max_iterations", p.max_iterations, 1),
            // A silhouette compares each user with the others.
            ("silhouette_sample", p.silhouette_sample as u64, 2),
        ];
        if let Some((name, got, min)) = least.iter().find(|(_, v, min)| v < min) {
            return Err(format!("{name} must be at least {min} (got {got})"));
        }
        if p.tolerance.is_nan() || p.tolerance < 0.0 {
            return Err(format!(
                "tolerance must be a number >= 0 (got {})",
                p.tolerance
            ));
        }
        if p.dims == Some(0) {
            return Err("dims must be at least 1 (or null for no projection)".into());
        }
        if p.groups.is_empty() {
            return Err("groups must name at least one user feature group".into());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ClusterParams, String> {
        ClusterParams::from_yaml(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn settings_out_of_range_are_named_with_their_bounds() {
        assert_eq!(parse("k: 8").map(|p| p.k), Ok(KChoice::Fixed(8)));
        assert_eq!(
            parse("k: auto").map(|p| p.k),
            Ok(KChoice::Auto(AutoWord::Auto))
        );
        for (yaml, says) in [
            ("k: 0", "k must be from 1 to 65535 (got 0)"),
            ("k: 100000", "k must be from 1 to 65535 (got 100000)"),
            (
                "k_range: [1, 8]",
                "k_range must be [min, max] with 2 <= min",
            ),
            (
                "k_range: [9, 8]",
                "k_range must be [min, max] with 2 <= min",
            ),
            ("k_range: [2, 70000]", "<= max <= 65535"),
            ("n_runs: 0", "n_runs must be at least 1 (got 0)"),
            (
                "max_iterations: 0",
                "max_iterations must be at least 1 (got 0)",
            ),
            (
                "silhouette_sample: 1",
                "silhouette_sample must be at least 2 (got 1)",
            ),
            (
                "tolerance: -0.1",
                "tolerance must be a number >= 0 (got -0.1)",
            ),
        ] {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.contains(says), "{yaml}: {err}");
        }
    }
}
