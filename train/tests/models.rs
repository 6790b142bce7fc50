//! Model-level properties: recovery of planted structure, monotone ALS
//! objective, thread-count independence, and awkward data.

use recpipe_core::Rng;
use recpipe_train::als::{self, ExplicitAls, ImplicitAls};
use recpipe_train::data::{Data, TrainSet};
use recpipe_train::metrics::rmse_mae;
use recpipe_train::model::Factors;
use recpipe_train::sgd::{Sgd, sgd};

/// Ratings from a rank-3 model plus N(0, noise) on a random 30% of cells.
fn low_rank(users: usize, items: usize, noise: f64, seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let p: Vec<[f64; 3]> = (0..users)
        .map(|_| [rng.normal(), rng.normal(), rng.normal()])
        .collect();
    let q: Vec<[f64; 3]> = (0..items)
        .map(|_| [rng.normal(), rng.normal(), rng.normal()])
        .collect();
    let mut d = Data {
        n_users: users,
        n_items: items,
        user_ids: (0..users).map(|u| u.to_string()).collect(),
        item_ids: (0..items).map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    for (u, pu) in p.iter().enumerate() {
        for (i, qi) in q.iter().enumerate() {
            if rng.next_f64() < 0.3 {
                let v: f64 =
                    3.0 + (0..3).map(|f| pu[f] * qi[f]).sum::<f64>() * 0.5 + rng.normal() * noise;
                d.users.push(u as u32);
                d.items.push(i as u32);
                d.values.push(v as f32);
                d.ts.push(0);
            }
        }
    }
    d
}

fn split(d: &Data) -> (Vec<usize>, Vec<usize>) {
    (0..d.len()).partition(|r| r % 5 != 0)
}

#[test]
fn explicit_als_recovers_planted_structure_to_the_noise_level() {
    let d = low_rank(300, 200, 0.1, 1);
    let (train, test) = split(&d);
    let ts = TrainSet::new(&d, &train);
    let init = Factors::random(d.n_users, d.n_items, 3, 0.1, 7, ts.mean);
    let m = als::explicit_als(
        &ts,
        init,
        ExplicitAls {
            lambda: 0.01,
            lambda_bias: 0.01,
        },
        15,
        |_, _| true,
    );
    let (p, t): (Vec<f32>, Vec<f32>) = test
        .iter()
        .map(|&r| {
            (
                m.predict(d.users[r] as usize, d.items[r] as usize),
                d.values[r],
            )
        })
        .unzip();
    let (rmse, _) = rmse_mae(&p, &t);
    assert!(
        rmse < 0.15,
        "test RMSE {rmse} should be near the noise level 0.1"
    );
}

#[test]
fn explicit_als_objective_never_increases() {
    let d = low_rank(120, 90, 0.3, 2);
    let ts = TrainSet::new(&d, &(0..d.len()).collect::<Vec<_>>());
    let s = ExplicitAls {
        lambda: 0.05,
        lambda_bias: 0.02,
    };
    let mut losses = Vec::new();
    als::explicit_als(
        &ts,
        Factors::random(d.n_users, d.n_items, 8, 0.1, 3, ts.mean),
        s,
        10,
        |_, m| {
            losses.push(als::explicit_objective(&ts, m, s));
            true
        },
    );
    assert!(
        losses.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)),
        "{losses:?}"
    );
}

#[test]
fn sgd_learns_and_implicit_als_ranks_observed_items_higher() {
    let d = low_rank(200, 150, 0.1, 3);
    let (train, test) = split(&d);
    let ts = TrainSet::new(&d, &train);
    let m = sgd(
        &ts,
        Factors::random(d.n_users, d.n_items, 3, 0.1, 1, ts.mean),
        Sgd {
            lr: 0.01,
            reg: 0.01,
            seed: 1,
        },
        60,
        |_, _| true,
    );
    let (p, t): (Vec<f32>, Vec<f32>) = test
        .iter()
        .map(|&r| {
            (
                m.predict(d.users[r] as usize, d.items[r] as usize),
                d.values[r],
            )
        })
        .unzip();
    let (rmse, _) = rmse_mae(&p, &t);
    let spread = {
        let mean = t.iter().sum::<f32>() / t.len() as f32;
        (t.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / t.len() as f32).sqrt() as f64
    };
    assert!(
        rmse < 0.6 * spread,
        "SGD RMSE {rmse} vs rating spread {spread}"
    );
    let s = ImplicitAls {
        alpha: 5.0,
        lambda: 0.1,
        cg_steps: 3,
        confidence: als::Confidence::Linear,
    };
    // Implicit feedback with planted blocks: user u uses item i mostly when u and i share a group.
    let mut ones = Data {
        n_users: 200,
        n_items: 150,
        user_ids: d.user_ids.clone(),
        item_ids: d.item_ids.clone(),
        ..Default::default()
    };
    let mut rng = Rng::new(5);
    for u in 0..200u32 {
        for i in 0..150u32 {
            if rng.next_f64() < if u % 4 == i % 4 { 0.4 } else { 0.02 } {
                ones.users.push(u);
                ones.items.push(i);
                ones.values.push(1.0);
                ones.ts.push(0);
            }
        }
    }
    let d = ones.clone();
    let ts = TrainSet::new(&ones, &(0..ones.len()).collect::<Vec<_>>());
    let m = als::implicit_als(
        &ts,
        Factors::random(d.n_users, d.n_items, 8, 0.01, 2, 0.0),
        s,
        10,
        |_, _| true,
    );
    let (mut seen, mut unseen, mut ns, mut nu) = (0.0, 0.0, 0, 0);
    let observed: std::collections::HashSet<(u32, u32)> =
        (0..d.len()).map(|r| (d.users[r], d.items[r])).collect();
    for u in 0..50 {
        for i in 0..d.n_items {
            let score = m.predict(u, i) as f64;
            if observed.contains(&(u as u32, i as u32)) {
                seen += score;
                ns += 1;
            } else {
                unseen += score;
                nu += 1;
            }
        }
    }
    assert!(
        seen / ns as f64 > unseen / nu as f64 + 0.3,
        "observed {} vs unobserved {}",
        seen / ns as f64,
        unseen / nu as f64
    );
}

/// The implicit loss, computed without a dense matrix, equals its
/// definition summed over every (user, item) cell, at a width that takes
/// the AVX2 kernels (64) and one that does not (5).
#[test]
fn implicit_loss_equals_the_sum_over_every_cell() {
    let d = low_rank(40, 30, 0.2, 5);
    let all: Vec<usize> = (0..d.len()).collect();
    let ts = TrainSet::new(&d, &all);
    let s = ImplicitAls {
        alpha: 2.0,
        lambda: 0.05,
        cg_steps: 3,
        confidence: als::Confidence::Linear,
    };
    for k in [5, 64] {
        let m = Factors::random(d.n_users, d.n_items, k, 0.3, 3, 0.0);
        let mut value = vec![None; d.n_users * d.n_items];
        for r in 0..d.len() {
            value[d.users[r] as usize * d.n_items + d.items[r] as usize] = Some(d.values[r]);
        }
        let mut want = 0.0f64;
        for u in 0..d.n_users {
            for i in 0..d.n_items {
                let pred: f64 = (0..k)
                    .map(|f| m.user[[u, f]] as f64 * m.item[[i, f]] as f64)
                    .sum();
                let (c, p) = match value[u * d.n_items + i] {
                    Some(v) => (1.0 + 2.0 * v as f64, 1.0),
                    None => (1.0, 0.0),
                };
                want += c * (p - pred).powi(2);
            }
        }
        let squares = |a: &ndarray::Array2<f32>| a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        want += 0.05 * (squares(&m.user) + squares(&m.item));
        let got = als::implicit_loss(&ts, &m, &s);
        assert!(
            (got - want).abs() <= 1e-4 * want,
            "k {k}: {got} against {want}"
        );
    }
}

fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .expect("pool")
        .install(f)
}

#[test]
fn same_seed_gives_bit_identical_factors_with_one_and_two_threads() {
    let d = low_rank(150, 100, 0.2, 4);
    let all: Vec<usize> = (0..d.len()).collect();
    let ts = TrainSet::new(&d, &all);
    let bits = |m: &Factors| -> Vec<u32> {
        m.user
            .iter()
            .chain(m.item.iter())
            .chain(&m.user_bias)
            .chain(&m.item_bias)
            .map(|x| x.to_bits())
            .collect()
    };
    let runs = |threads: usize| {
        with_threads(threads, || {
            let e = als::explicit_als(
                &ts,
                Factors::random(d.n_users, d.n_items, 16, 0.1, 9, ts.mean),
                ExplicitAls {
                    lambda: 0.1,
                    lambda_bias: 0.05,
                },
                4,
                |_, _| true,
            );
            let s = ImplicitAls {
                alpha: 2.0,
                lambda: 0.05,
                cg_steps: 3,
                confidence: als::Confidence::Linear,
            };
            let mut losses = Vec::new();
            let i = als::implicit_als(
                &ts,
                Factors::random(d.n_users, d.n_items, 16, 0.01, 9, 0.0),
                s,
                4,
                |_, m| {
                    losses.push(als::implicit_loss(&ts, m, &s).to_bits());
                    true
                },
            );
            let g = sgd(
                &ts,
                Factors::random(d.n_users, d.n_items, 16, 0.1, 9, ts.mean),
                Sgd {
                    lr: 0.01,
                    reg: 0.02,
                    seed: 9,
                },
                3,
                |_, _| true,
            );
            (bits(&e), bits(&i), bits(&g), losses)
        })
    };
    let one = runs(1);
    assert_eq!(one, runs(2));
    assert_eq!(one, runs(3));
}

/// SGD at widths that take each kernel on an AVX-512 CPU (20: rows padded
/// to two registers; 136: too wide, AVX2) learns and is thread-count
/// independent.
#[test]
fn sgd_is_thread_count_independent_at_padded_and_wide_rows() {
    let d = low_rank(120, 90, 0.2, 4);
    let all: Vec<usize> = (0..d.len()).collect();
    let ts = TrainSet::new(&d, &all);
    for k in [20, 136] {
        let fit = |threads: usize| {
            with_threads(threads, || {
                sgd(
                    &ts,
                    Factors::random(d.n_users, d.n_items, k, 0.1, 5, ts.mean),
                    Sgd {
                        lr: 0.03,
                        reg: 0.02,
                        seed: 5,
                    },
                    30,
                    |_, _| true,
                )
            })
        };
        let one = fit(1);
        let two = fit(2);
        assert_eq!(one.user, two.user, "k {k}");
        assert_eq!(one.item, two.item, "k {k}");
        assert_eq!(one.user_bias, two.user_bias, "k {k}");
        let start = Factors::random(d.n_users, d.n_items, k, 0.1, 5, ts.mean);
        let (before, after) = (
            recpipe_train::evaluate::train_rmse(&ts, &start),
            recpipe_train::evaluate::train_rmse(&ts, &one),
        );
        assert!(after < 0.7 * before, "k {k}: {before} -> {after}");
    }
}

#[test]
fn single_interactions_items_only_in_test_and_too_many_factors_do_not_panic() {
    let mut d = Data {
        n_users: 4,
        n_items: 5,
        user_ids: (0..4).map(|u| u.to_string()).collect(),
        item_ids: (0..5).map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    for (u, i, v) in [
        (0, 0, 5.0),
        (1, 0, 3.0),
        (1, 1, 4.0),
        (2, 1, 2.0),
        (3, 4, 5.0),
    ] {
        d.users.push(u);
        d.items.push(i);
        d.values.push(v);
        d.ts.push(0);
    }
    // Item 4 appears only in "test" (row 4); items 2 and 3 never appear.
    let ts = TrainSet::new(&d, &[0, 1, 2, 3]);
    let m = als::explicit_als(
        &ts,
        Factors::random(4, 5, 50, 0.1, 1, ts.mean),
        ExplicitAls {
            lambda: 0.1,
            lambda_bias: 0.05,
        },
        3,
        |_, _| true,
    );
    assert!(m.predict(3, 4).is_finite());
    let s = ImplicitAls {
        alpha: 1.0,
        lambda: 0.01,
        cg_steps: 3,
        confidence: als::Confidence::Log { epsilon: 1.0 },
    };
    let m = als::implicit_als(
        &ts,
        Factors::random(4, 5, 50, 0.01, 1, 0.0),
        s,
        3,
        |_, _| true,
    );
    assert!(m.user.iter().chain(m.item.iter()).all(|x| x.is_finite()));
    let m = sgd(
        &ts,
        Factors::random(4, 5, 50, 0.1, 1, ts.mean),
        Sgd {
            lr: 0.005,
            reg: 0.02,
            seed: 1,
        },
        5,
        |_, _| true,
    );
    assert!(m.predict(0, 4).is_finite());
}
