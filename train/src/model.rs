//! Factor models: what every trainer produces.

use ndarray::Array2;
use recpipe_core::Rng;

/// A biased factor model: `r = mu + b_u + b_i + p_u . q_i` (explicit), or
/// `score = p_u . q_i` (implicit, biases zero).
#[derive(Debug, Clone)]
pub struct Factors {
    /// Global mean (0 for implicit models).
    pub mu: f32,
    /// User factors (users x k).
    pub user: Array2<f32>,
    /// Item factors (items x k).
    pub item: Array2<f32>,
    /// User biases.
    pub user_bias: Vec<f32>,
    /// Item biases.
    pub item_bias: Vec<f32>,
}

impl Factors {
    /// Factors whose every entry is `draw(rng)`, each row from its own RNG
    /// sub-stream of `seed` (so rows do not depend on each other), zero biases.
    fn drawn(
        n_users: usize,
        n_items: usize,
        k: usize,
        seed: u64,
        mu: f32,
        draw: impl Fn(&mut Rng) -> f64,
    ) -> Self {
        let fill = |n: usize, stream: u64| {
            let mut a = Array2::<f32>::zeros((n, k));
            for (r, mut row) in a.rows_mut().into_iter().enumerate() {
                let mut rng = Rng::derive(seed, stream << 32 | r as u64);
                for x in row.iter_mut() {
                    *x = draw(&mut rng) as f32;
                }
            }
            a
        };
        Factors {
            mu,
            user: fill(n_users, 1),
            item: fill(n_items, 2),
            user_bias: vec![0.0; n_users],
            item_bias: vec![0.0; n_items],
        }
    }

    /// Random factors, uniform in [0, scale) (as `implicit` starts implicit ALS), zero biases.
    pub fn uniform(n_users: usize, n_items: usize, k: usize, scale: f64, seed: u64) -> Self {
        Self::drawn(n_users, n_items, k, seed, 0.0, |rng| rng.next_f64() * scale)
    }

    /// Random factors ~ N(0, std), zero biases.
    pub fn random(n_users: usize, n_items: usize, k: usize, std: f64, seed: u64, mu: f32) -> Self {
        Self::drawn(n_users, n_items, k, seed, mu, |rng| rng.normal() * std)
    }

    /// Number of factors.
    pub fn k(&self) -> usize {
        self.user.ncols()
    }

    /// The predicted value of (u, i).
    pub fn predict(&self, u: usize, i: usize) -> f32 {
        let dot = match (self.user.row(u).to_slice(), self.item.row(i).to_slice()) {
            (Some(p), Some(q)) => crate::linalg::kernel::dot_auto(p, q),
            _ => self.user.row(u).dot(&self.item.row(i)),
        };
        self.mu + self.user_bias[u] + self.item_bias[i] + dot
    }
}
