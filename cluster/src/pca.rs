//! Principal component analysis of the clustered matrix (`dims:`), by the
//! eigen-decomposition of its d x d covariance (linfa-linalg's symmetric
//! solver): O(n d^2 + d^3), never an n x n matrix.
//!
//! Components are sorted by explained variance (ties by position) and their
//! signs fixed as scikit-learn's `svd_flip` does (largest |loading| positive),
//! so the projection is the same from run to run.

use linfa_linalg::eigh::Eigh;
use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A fitted projection onto the first principal components.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Column means of the fitted matrix.
    pub mean: Array1<f64>,
    /// Components (dims x d), one per row.
    pub components: Array2<f64>,
    /// Share of the total variance each component explains.
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    /// Fits `dims` components (at most d) to the rows of `x`.
    pub fn fit(x: ArrayView2<f64>, dims: usize) -> Result<Self, String> {
        let (n, d) = x.dim();
        if n < 2 {
            return Err("PCA needs at least 2 rows".into());
        }
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
        let centered = &x - &mean;
        let cov = centered.t().dot(&centered) / (n - 1) as f64;
        let (values, vectors) = cov
            .eigh()
            .map_err(|e| format!("eigen-decomposition of the covariance: {e}"))?;
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let dims = dims.min(d);
        let mut components = Array2::zeros((dims, d));
        let mut ratio = Vec::with_capacity(dims);
        for (c, &j) in order.iter().take(dims).enumerate() {
            let v = vectors.column(j);
            let pivot = v
                .iter()
                .copied()
                .reduce(|a, b| if b.abs() > a.abs() { b } else { a })
                .unwrap_or(1.0);
            let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
            components.row_mut(c).assign(&v.mapv(|a| a * sign));
            ratio.push(if total > 0.0 {
                values[j].max(0.0) / total
            } else {
                0.0
            });
        }
        Ok(Pca {
            mean,
            components,
            explained_variance_ratio: ratio,
        })
    }

    /// Rows of `x` in component coordinates (n x dims).
    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean).dot(&self.components.t())
    }

    /// Points in component coordinates back in the fitted space (n x d).
    pub fn inverse(&self, z: ArrayView2<f64>) -> Array2<f64> {
        z.dot(&self.components) + &self.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recpipe_core::Rng;

    #[test]
    fn finds_the_direction_of_a_planted_line_and_inverts_it() {
        // Points along (1, 2, 2)/3 plus small noise: one component explains
        // nearly all the variance and points that way.
        let mut rng = Rng::new(3);
        let x = Array2::from_shape_fn((500, 3), |(_, _)| 0.0);
        let mut x = x;
        for mut row in x.rows_mut() {
            let t = rng.normal() * 5.0;
            for (j, w) in [1.0, 2.0, 2.0].iter().enumerate() {
                row[j] = 10.0 + t * w / 3.0 + rng.normal() * 0.01;
            }
        }
        let pca = Pca::fit(x.view(), 2).expect("fit");
        let c = pca.components.row(0);
        for (j, w) in [1.0, 2.0, 2.0].iter().enumerate() {
            assert!((c[j] - w / 3.0).abs() < 1e-3, "{c}");
        }
        assert!(pca.explained_variance_ratio[0] > 0.999);
        let z = pca.transform(x.view());
        assert_eq!(z.dim(), (500, 2));
        let back = pca.inverse(z.view());
        let err = (&back - &x).iter().map(|e| e.abs()).fold(0.0, f64::max);
        assert!(err < 0.1, "reconstruction error {err}");
        // Components are orthonormal.
        let g = pca.components.dot(&pca.components.t());
        for i in 0..2 {
            for j in 0..2 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((g[[i, j]] - want).abs() < 1e-9);
            }
        }
    }
}
