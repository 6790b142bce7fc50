//! Biased matrix factorisation by stochastic gradient descent, with the
//! semantics of Surprise's `SVD`: factors drawn from N(init_mean, init_std),
//! biases from zero, and per rating
//! `e = r - (mu + b_u + b_i + p_u . q_i)`,
//! `b_u += lr (e - reg b_u)`, `b_i += lr (e - reg b_i)`,
//! `p_u += lr (e q_i - reg p_u)`, `q_i += lr (e p_u - reg q_i)`.
//! Unlike Surprise, the ratings are shuffled every epoch (from the seed).
//! Single-threaded, so the result is the same whatever the thread count.

use recpipe_core::Rng;

use crate::data::TrainSet;
use crate::model::Factors;

/// SGD settings.
#[derive(Debug, Clone, Copy)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Regularisation.
    pub reg: f32,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
}

/// Runs `epochs` epochs from `model`, calling `after` after each.
pub fn sgd(
    train: &TrainSet,
    mut model: Factors,
    s: Sgd,
    epochs: usize,
    mut after: impl FnMut(usize, &Factors) -> bool,
) -> Factors {
    model.mu = train.mean;
    let k = model.k();
    let by_user = &train.by_user;
    let mut order: Vec<(u32, u32, f32)> = Vec::with_capacity(train.nnz());
    for u in 0..by_user.rows() {
        for (&i, &v) in by_user.cols(u).iter().zip(by_user.vals(u)) {
            order.push((u as u32, i, v));
        }
    }
    let mu = model.mu;
    for epoch in 0..epochs {
        Rng::derive(s.seed, epoch as u64).shuffle(&mut order);
        let users = model.user.as_slice_mut().unwrap_or(&mut []);
        let items = model.item.as_slice_mut().unwrap_or(&mut []);
        for &(u, i, r) in &order {
            let (u, i) = (u as usize, i as usize);
            let pu = &mut users[u * k..(u + 1) * k];
            let qi = &mut items[i * k..(i + 1) * k];
            let d = crate::linalg::dot(pu, qi);
            let e = r - (mu + model.user_bias[u] + model.item_bias[i] + d);
            model.user_bias[u] += s.lr * (e - s.reg * model.user_bias[u]);
            model.item_bias[i] += s.lr * (e - s.reg * model.item_bias[i]);
            for f in 0..k {
                let (p, q) = (pu[f], qi[f]);
                pu[f] += s.lr * (e * q - s.reg * p);
                qi[f] += s.lr * (e * p - s.reg * q);
            }
        }
        if !after(epoch, &model) {
            break;
        }
    }
    model
}
