//! Scoring a model and its baselines on a fold.

use std::collections::BTreeMap;

use ndarray::Array2;
use rayon::prelude::*;
use recpipe_core::topk::{top_n, top_n_all};

use crate::data::{Data, TrainSet};
use crate::metrics::{ranking, rmse_mae};
use crate::model::Factors;
use crate::params::ModelKind;
use crate::split::Fold;

/// Sum of squared errors of a model on its training data (per-user terms
/// computed in parallel, added in order: the same bits whatever the thread count).
pub fn train_sse(train: &TrainSet, m: &Factors) -> f64 {
    let per_user: Vec<f64> = (0..train.by_user.rows())
        .into_par_iter()
        .map(|u| {
            train
                .by_user
                .cols(u)
                .iter()
                .zip(train.by_user.vals(u))
                .map(|(&i, &v)| ((m.predict(u, i as usize) - v) as f64).powi(2))
                .sum()
        })
        .collect();
    per_user.iter().sum()
}

/// RMSE of a model on its own training data.
pub fn train_rmse(train: &TrainSet, m: &Factors) -> f64 {
    (train_sse(train, m) / train.nnz().max(1) as f64).sqrt()
}

/// Users the per-iteration validation of implicit models ranks at most
/// (history, early stopping). Ranking every test user each iteration made
/// the validation cost the fit many times over: 99,300 users x 50,000
/// items took 4 s an iteration against 0.21 s of training. Above this, a
/// fixed stride of the test users is ranked; the final metrics rank all.
pub const MAX_VALIDATION_USERS: usize = 10_000;

/// Scores (users x items) the per-iteration validation computes at most:
/// with a large catalogue, [`MAX_VALIDATION_USERS`] alone still cost more
/// than the fit (a 5M-event log of 37,339 items: 15 validations of 10,000
/// users took 7.5 s of its 12 s stage). Past [`MIN_VALIDATION_USERS`], as
/// many users as fit in it.
pub const MAX_VALIDATION_SCORES: usize = 100_000_000;

/// Users the validation ranks at least, however large the catalogue
/// (where there are that many): NDCG@10 over fewer moves too much from
/// one iteration to the next for early stopping to follow.
pub const MIN_VALIDATION_USERS: usize = 1_000;

/// `users` when they are at most the cap (the fewer of
/// [`MAX_VALIDATION_USERS`] and as many as [`MAX_VALIDATION_SCORES`] allows
/// over `items`, but not below [`MIN_VALIDATION_USERS`]), else every n-th
/// of them (the smallest n that keeps at most that many).
fn validation_sample(users: &[usize], items: usize) -> Vec<usize> {
    let cap =
        (MAX_VALIDATION_SCORES / items.max(1)).clamp(MIN_VALIDATION_USERS, MAX_VALIDATION_USERS);
    let stride = users.len().div_ceil(cap).max(1);
    users.iter().copied().step_by(stride).collect()
}

/// Everything needed to score models on one fold.
pub struct Evaluator<'a> {
    data: &'a Data,
    test: &'a [usize],
    train: &'a TrainSet,
    /// Relevant test items per user (sorted).
    relevant: Vec<Vec<u32>>,
    /// Users with at least one relevant test item.
    users: Vec<usize>,
    /// The users the per-iteration validation ranks: all of `users`, or
    /// every n-th of them above [`MAX_VALIDATION_USERS`].
    validation_users: Vec<usize>,
    /// Their relevant items, side by side with them.
    validation_relevant: Vec<Vec<u32>>,
    ks: Vec<usize>,
    range: (f32, f32),
    segments: Option<&'a [u16]>,
}

impl<'a> Evaluator<'a> {
    /// Prepares the relevant sets of `fold`'s test part.
    pub fn new(
        data: &'a Data,
        fold: &'a Fold,
        train: &'a TrainSet,
        relevance: f32,
        ks: &[usize],
        segments: Option<&'a [u16]>,
    ) -> Self {
        let mut relevant = vec![Vec::new(); data.n_users];
        for &r in &fold.test {
            if data.values[r] >= relevance {
                relevant[data.users[r] as usize].push(data.items[r]);
            }
        }
        for rel in &mut relevant {
            rel.sort_unstable();
            rel.dedup();
        }
        let users: Vec<usize> = (0..data.n_users)
            .filter(|&u| !relevant[u].is_empty())
            .collect();
        let validation_users = validation_sample(&users, data.n_items);
        let validation_relevant = validation_users
            .iter()
            .map(|&u| relevant[u].clone())
            .collect();
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in &train.by_user.val {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        Evaluator {
            data,
            test: &fold.test,
            train,
            relevant,
            users,
            validation_users,
            validation_relevant,
            ks: ks.to_vec(),
            range: (lo, hi),
            segments,
        }
    }

    fn predictions(&self, m: &Factors) -> (Vec<f32>, Vec<f32>) {
        self.test
            .iter()
            .map(|&r| {
                (
                    m.predict(self.data.users[r] as usize, self.data.items[r] as usize)
                        .clamp(self.range.0, self.range.1),
                    self.data.values[r],
                )
            })
            .unzip()
    }

    /// Top lists (length max k) for the evaluated users, by the model,
    /// indexed by user.
    fn recommend(&self, m: &Factors, with_bias: bool) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); self.data.n_users];
        for (&u, l) in self
            .users
            .iter()
            .zip(self.top_lists(&self.users, m, with_bias))
        {
            out[u] = l;
        }
        out
    }

    /// Top lists (length max k) for `users`, in their order.
    fn top_lists(&self, users: &[usize], m: &Factors, with_bias: bool) -> Vec<Vec<u32>> {
        let n = self.ks.iter().copied().max().unwrap_or(10);
        let k = m.k();
        let mut sub = Array2::<f32>::zeros((users.len(), k));
        for (row, &u) in users.iter().enumerate() {
            sub.row_mut(row).assign(&m.user.row(u));
        }
        let bias = with_bias.then_some(m.item_bias.as_slice());
        top_n_all(sub.view(), m.item.view(), bias, n, &|row| {
            self.train.by_user.cols(users[row])
        })
        .into_iter()
        .map(|l| l.into_iter().map(|e| e.0).collect())
        .collect()
    }

    /// Most-popular baseline lists.
    fn popular(&self) -> Vec<Vec<u32>> {
        let n = self.ks.iter().copied().max().unwrap_or(10);
        let counts: Vec<f32> = (0..self.data.n_items)
            .map(|i| (self.train.by_item.offsets[i + 1] - self.train.by_item.offsets[i]) as f32)
            .collect();
        let mut out = vec![Vec::new(); self.data.n_users];
        let lists: Vec<Vec<u32>> = self
            .users
            .par_iter()
            .map(|&u| {
                let seen = self.train.by_user.cols(u);
                top_n(&counts, n, |i| seen.binary_search(&(i as u32)).is_ok())
                    .into_iter()
                    .map(|e| e.0)
                    .collect()
            })
            .collect();
        for (&u, l) in self.users.iter().zip(lists) {
            out[u] = l;
        }
        out
    }

    /// The metric early stopping and history follow: test RMSE (explicit) or NDCG@k (implicit).
    pub fn validation(&self, m: &Factors, kind: ModelKind) -> f64 {
        if kind == ModelKind::ImplicitAls {
            ranking(
                &self.top_lists(&self.validation_users, m, false),
                &self.validation_relevant,
                self.ks[0],
                self.data.n_items,
            )
            .ndcg
        } else {
            let (p, t) = self.predictions(m);
            rmse_mae(&p, &t).0
        }
    }

    /// Every metric of the model and its baselines, flat.
    pub fn metrics(&self, m: &Factors, kind: ModelKind) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let explicit_model = kind != ModelKind::ImplicitAls;
        if explicit_model && !self.data.is_events {
            let (p, t) = self.predictions(m);
            let (rmse, mae) = rmse_mae(&p, &t);
            out.insert("rmse".into(), rmse);
            out.insert("mae".into(), mae);
            let base = bias_baseline(self.train);
            let (p, t): (Vec<f32>, Vec<f32>) = self
                .test
                .iter()
                .map(|&r| {
                    (
                        base.predict(self.data.users[r] as usize, self.data.items[r] as usize)
                            .clamp(self.range.0, self.range.1),
                        self.data.values[r],
                    )
                })
                .unzip();
            out.insert("baseline_rmse".into(), rmse_mae(&p, &t).0);
        }
        let recs = self.recommend(m, explicit_model);
        let pop = self.popular();
        for &k in &self.ks {
            let r = ranking(&recs, &self.relevant, k, self.data.n_items);
            let b = ranking(&pop, &self.relevant, k, self.data.n_items);
            for (name, v, bv) in [
                ("precision", r.precision, b.precision),
                ("recall", r.recall, b.recall),
                ("ndcg", r.ndcg, b.ndcg),
                ("map", r.map, b.map),
                ("hit_rate", r.hit_rate, b.hit_rate),
                ("coverage", r.coverage, b.coverage),
            ] {
                out.insert(format!("{name}_at_{k}"), v);
                out.insert(format!("baseline_{name}_at_{k}"), bv);
            }
            out.insert("users_evaluated".into(), r.users as f64);
            if let Some(seg) = self.segments {
                let n_seg = seg.iter().copied().max().map_or(0, |m| m as usize + 1);
                for s in 0..n_seg {
                    let rel: Vec<Vec<u32>> = (0..self.data.n_users)
                        .map(|u| {
                            if seg.get(u) == Some(&(s as u16)) {
                                self.relevant[u].clone()
                            } else {
                                Vec::new()
                            }
                        })
                        .collect();
                    let r = ranking(&recs, &rel, k, self.data.n_items);
                    if r.users > 0 {
                        out.insert(format!("ndcg_at_{k}_segment_{s}"), r.ndcg);
                    }
                }
            }
        }
        out
    }
}

/// Damped bias baseline `mu + b_u + b_i` (b_i shrunk by 25, b_u by 10; Koren 2010).
pub fn bias_baseline(train: &TrainSet) -> Factors {
    let (nu, ni) = (train.by_user.rows(), train.by_item.rows());
    let mu = train.mean;
    let item_bias: Vec<f32> = (0..ni)
        .map(|i| {
            train.by_item.vals(i).iter().map(|v| v - mu).sum::<f32>()
                / (25.0 + train.by_item.vals(i).len() as f32)
        })
        .collect();
    let user_bias: Vec<f32> = (0..nu)
        .map(|u| {
            let s: f32 = train
                .by_user
                .cols(u)
                .iter()
                .zip(train.by_user.vals(u))
                .map(|(&i, v)| v - mu - item_bias[i as usize])
                .sum();
            s / (10.0 + train.by_user.cols(u).len() as f32)
        })
        .collect();
    Factors {
        mu,
        user: Array2::zeros((nu, 1)),
        item: Array2::zeros((ni, 1)),
        user_bias,
        item_bias,
    }
}

/// Mean over folds (and `_std` when there are several).
pub fn aggregate(folds: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Some(first) = folds.first() else {
        return out;
    };
    for key in first.keys() {
        let vals: Vec<f64> = folds.iter().filter_map(|f| f.get(key).copied()).collect();
        let mean = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
        out.insert(key.clone(), mean);
        if folds.len() > 1 {
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            out.insert(format!("{key}_std"), var.sqrt());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_ranks_every_user_up_to_the_cap_and_a_stride_above_it() {
        let items = 5_000;
        let few: Vec<usize> = (0..MAX_VALIDATION_USERS).map(|u| 3 * u).collect();
        assert_eq!(validation_sample(&few, items), few);
        let many: Vec<usize> = (0..2 * MAX_VALIDATION_USERS + 1).collect();
        let sample = validation_sample(&many, items);
        assert!(sample.len() <= MAX_VALIDATION_USERS && sample.len() > MAX_VALIDATION_USERS / 2);
        assert_eq!(&sample[..3], &[0, 3, 6]);
        assert!(sample.windows(2).all(|w| w[1] - w[0] == 3));
    }

    #[test]
    fn a_large_catalogue_gets_fewer_validation_users_but_never_too_few() {
        let users: Vec<usize> = (0..30_000).collect();
        // Up to 10,000 items the user cap binds; above, the score budget.
        assert_eq!(
            validation_sample(&users, 10_000).len(),
            MAX_VALIDATION_USERS
        );
        let big = validation_sample(&users, 40_000);
        assert!(big.len() * 40_000 <= MAX_VALIDATION_SCORES, "{}", big.len());
        assert!(
            big.len() > MAX_VALIDATION_SCORES / 40_000 / 2,
            "{}",
            big.len()
        );
        // A huge catalogue still ranks a thousand users.
        let huge = validation_sample(&users, 10_000_000);
        assert!(huge.len() >= MIN_VALIDATION_USERS, "{}", huge.len());
        assert!(huge.len() < 2 * MIN_VALIDATION_USERS, "{}", huge.len());
    }
}
