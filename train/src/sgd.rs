//! Biased matrix factorisation by stochastic gradient descent, with the
//! semantics of Surprise's `SVD`: factors drawn from N(init_mean, init_std),
//! biases from zero, and per rating
//! `e = r - (mu + b_u + b_i + p_u . q_i)`,
//! `b_u += lr (e - reg b_u)`, `b_i += lr (e - reg b_i)`,
//! `p_u += lr (e q_i - reg p_u)`, `q_i += lr (e p_u - reg q_i)`.
//! Unlike Surprise, the ratings are shuffled every epoch (from the seed), and
//! epochs follow a stratified block schedule that runs on several threads
//! while giving the same result whatever the thread count.

use recpipe_core::Rng;

use crate::data::TrainSet;
use crate::linalg::kernel;
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

/// One pass over `order`, compiled for AVX2+FMA (chosen at run time) or the baseline target.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn epoch_body<const FMA: bool>(
    order: &[(u32, u32, f32)],
    users: &mut [f32],
    items: &mut [f32],
    ub: &mut [f32],
    ib: &mut [f32],
    mu: f32,
    s: Sgd,
    k: usize,
) {
    for &(u, i, r) in order {
        let (u, i) = (u as usize, i as usize);
        let pu = &mut users[u * k..(u + 1) * k];
        let qi = &mut items[i * k..(i + 1) * k];
        let d = kernel::dot::<FMA>(pu, qi);
        let e = r - (mu + ub[u] + ib[i] + d);
        ub[u] += s.lr * (e - s.reg * ub[u]);
        ib[i] += s.lr * (e - s.reg * ib[i]);
        for (p, q) in pu.iter_mut().zip(qi.iter_mut()) {
            let (p0, q0) = (*p, *q);
            *p = kernel::madd::<FMA>(s.lr, e * q0 - s.reg * p0, p0);
            *q = kernel::madd::<FMA>(s.lr, e * p0 - s.reg * q0, q0);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn epoch_avx2(
    order: &[(u32, u32, f32)],
    users: &mut [f32],
    items: &mut [f32],
    ub: &mut [f32],
    ib: &mut [f32],
    mu: f32,
    s: Sgd,
    k: usize,
) {
    epoch_body::<true>(order, users, items, ub, ib, mu, s, k)
}

#[allow(clippy::too_many_arguments)]
fn run_epoch(
    order: &[(u32, u32, f32)],
    users: &mut [f32],
    items: &mut [f32],
    ub: &mut [f32],
    ib: &mut [f32],
    mu: f32,
    s: Sgd,
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if kernel::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            return epoch_avx2(order, users, items, ub, ib, mu, s, k);
        }
    }
    epoch_body::<false>(order, users, items, ub, ib, mu, s, k)
}

/// Blocks per side of the stratified schedule. Fixed, so that the result
/// does not depend on the thread count.
const BLOCKS: usize = 4;

/// Runs `epochs` epochs from `model`, calling `after` after each.
///
/// Stratified schedule (as in distributed SGD): users and items are cut into
/// `BLOCKS` contiguous ranges; an epoch is `BLOCKS` sub-epochs, and in
/// sub-epoch `s` the blocks (b, b + s mod BLOCKS) touch disjoint users and
/// items, so they run in parallel, each in its own shuffled order. Every
/// rating is visited once per epoch.
pub fn sgd(
    train: &TrainSet,
    mut model: Factors,
    s: Sgd,
    epochs: usize,
    mut after: impl FnMut(usize, &Factors) -> bool,
) -> Factors {
    use rayon::prelude::*;
    model.mu = train.mean;
    let k = model.k();
    let (nu, ni) = (model.user.nrows(), model.item.nrows());
    let (usz, isz) = (nu.div_ceil(BLOCKS).max(1), ni.div_ceil(BLOCKS).max(1));
    let by_user = &train.by_user;
    let mut buckets: Vec<Vec<(u32, u32, f32)>> = vec![Vec::new(); BLOCKS * BLOCKS];
    for u in 0..by_user.rows() {
        for (&i, &v) in by_user.cols(u).iter().zip(by_user.vals(u)) {
            let (bu, bi) = (u / usz, i as usize / isz);
            buckets[bu * BLOCKS + bi].push((
                (u - bu * usz) as u32,
                (i as usize - bi * isz) as u32,
                v,
            ));
        }
    }
    let mu = model.mu;
    for epoch in 0..epochs {
        for (b, bucket) in buckets.iter_mut().enumerate() {
            Rng::derive(s.seed, (epoch * BLOCKS * BLOCKS + b) as u64).shuffle(bucket);
        }
        for sub in 0..BLOCKS {
            let users: Vec<&mut [f32]> = model
                .user
                .as_slice_mut()
                .unwrap_or(&mut [])
                .chunks_mut(usz * k)
                .collect();
            let ubias: Vec<&mut [f32]> = model.user_bias.chunks_mut(usz).collect();
            let mut items: Vec<Option<&mut [f32]>> = model
                .item
                .as_slice_mut()
                .unwrap_or(&mut [])
                .chunks_mut(isz * k)
                .map(Some)
                .collect();
            let mut ibias: Vec<Option<&mut [f32]>> =
                model.item_bias.chunks_mut(isz).map(Some).collect();
            let mut tasks = Vec::with_capacity(BLOCKS);
            for (b, (uf, ub)) in users.into_iter().zip(ubias).enumerate() {
                let j = (b + sub) % BLOCKS;
                if let (Some(Some(qf)), Some(Some(qb))) = (
                    items.get_mut(j).map(Option::take),
                    ibias.get_mut(j).map(Option::take),
                ) {
                    tasks.push((&buckets[b * BLOCKS + j], uf, qf, ub, qb));
                }
            }
            tasks
                .into_par_iter()
                .for_each(|(order, uf, qf, ub, qb)| run_epoch(order, uf, qf, ub, qb, mu, s, k));
        }
        if !after(epoch, &model) {
            break;
        }
    }
    model
}
