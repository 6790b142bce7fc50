//! Alternating least squares.
//!
//! - [`explicit_als`]: biased ALS for ratings with weighted-lambda
//!   regularisation (Zhou et al. 2008): each user's `[p_u, b_u]` solves a
//!   (k+1) x (k+1) ridge system by Cholesky, `lambda * n_u` on the factors
//!   and `lambda_bias * n_u` on the bias; then the same for items.
//! - [`implicit_als`]: Hu, Koren & Volinsky (2008) with confidence
//!   `1 + alpha * value` (or `1 + alpha * ln(1 + value / epsilon)`), solved by a
//!   few conjugate-gradient steps warm-started from the previous factors, as
//!   the `implicit` library does.
//!
//! Users and items are solved in parallel; each solve reads only the other
//! side's factors, so results do not depend on the thread count.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::data::{Csr, TrainSet};
use crate::linalg::{axpy, cholesky_solve, dot};
use crate::model::Factors;

/// Settings of explicit ALS.
#[derive(Debug, Clone, Copy)]
pub struct ExplicitAls {
    /// Regularisation of factors (times the row's count).
    pub lambda: f64,
    /// Regularisation of biases (times the row's count).
    pub lambda_bias: f64,
}

/// One half-step: solves every row of `rows` given the other side's factors and biases.
fn solve_side(
    rows: &Csr,
    other: ArrayView2<f32>,
    other_bias: &[f32],
    mu: f32,
    s: ExplicitAls,
) -> (Array2<f32>, Vec<f32>) {
    let n = rows.rows();
    let k = other.ncols();
    let dim = k + 1;
    let solved: Vec<(Vec<f32>, f32)> = (0..n)
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![0.0f64; dim * dim],
                    vec![0.0f64; dim],
                    vec![0.0f64; dim],
                )
            },
            |(a, b, y), r| {
                let cols = rows.cols(r);
                let vals = rows.vals(r);
                if cols.is_empty() {
                    return (vec![0.0; k], 0.0);
                }
                a.iter_mut().for_each(|x| *x = 0.0);
                b.iter_mut().for_each(|x| *x = 0.0);
                for (&c, &v) in cols.iter().zip(vals) {
                    let q = other.row(c as usize);
                    for (j, qj) in q.iter().enumerate() {
                        y[j] = *qj as f64;
                    }
                    y[k] = 1.0;
                    let t = (v - mu - other_bias[c as usize]) as f64;
                    for i in 0..dim {
                        let yi = y[i];
                        b[i] += t * yi;
                        let row = &mut a[i * dim..i * dim + i + 1];
                        for (j, aij) in row.iter_mut().enumerate() {
                            *aij += yi * y[j];
                        }
                    }
                }
                let nr = cols.len() as f64;
                for i in 0..k {
                    a[i * dim + i] += s.lambda * nr;
                }
                a[k * dim + k] += s.lambda_bias * nr;
                if !cholesky_solve(a, b, dim) {
                    return (vec![0.0; k], 0.0);
                }
                (b[..k].iter().map(|&x| x as f32).collect(), b[k] as f32)
            },
        )
        .collect();
    let mut f = Array2::<f32>::zeros((n, k));
    let mut bias = vec![0.0f32; n];
    for (r, (p, bb)) in solved.into_iter().enumerate() {
        f.row_mut(r).assign(&ndarray::ArrayView1::from(&p[..]));
        bias[r] = bb;
    }
    (f, bias)
}

/// Runs `iterations` of explicit ALS from `init`, calling `after` after each.
pub fn explicit_als(
    train: &TrainSet,
    mut model: Factors,
    s: ExplicitAls,
    iterations: usize,
    mut after: impl FnMut(usize, &Factors) -> bool,
) -> Factors {
    model.mu = train.mean;
    for it in 0..iterations {
        let (u, ub) = solve_side(
            &train.by_user,
            model.item.view(),
            &model.item_bias,
            model.mu,
            s,
        );
        model.user = u;
        model.user_bias = ub;
        let (i, ib) = solve_side(
            &train.by_item,
            model.user.view(),
            &model.user_bias,
            model.mu,
            s,
        );
        model.item = i;
        model.item_bias = ib;
        if !after(it, &model) {
            break;
        }
    }
    model
}

/// How implicit feedback becomes confidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Confidence {
    /// `1 + alpha * value`.
    Linear,
    /// `1 + alpha * ln(1 + value / epsilon)`.
    Log {
        /// Scale inside the log.
        epsilon: f32,
    },
}

/// Settings of implicit ALS.
#[derive(Debug, Clone, Copy)]
pub struct ImplicitAls {
    /// Confidence weight.
    pub alpha: f32,
    /// Regularisation.
    pub lambda: f32,
    /// Conjugate-gradient steps per solve.
    pub cg_steps: usize,
    /// Confidence scaling.
    pub confidence: Confidence,
}

fn confidence(v: f32, s: &ImplicitAls) -> f32 {
    match s.confidence {
        Confidence::Linear => 1.0 + s.alpha * v,
        Confidence::Log { epsilon } => 1.0 + s.alpha * (1.0 + v / epsilon).ln(),
    }
}

/// `Y^T Y + lambda I` (k x k).
fn gram(y: ArrayView2<f32>, lambda: f32) -> Array2<f32> {
    let mut g = y.t().dot(&y);
    for j in 0..g.nrows() {
        g[[j, j]] += lambda;
    }
    g
}

/// Conjugate-gradient update of every row of `x` given the other side `y`.
fn cg_side(rows: &Csr, y: ArrayView2<f32>, x: &mut Array2<f32>, s: &ImplicitAls) {
    let k = y.ncols();
    let yty = gram(y, s.lambda);
    let yty = yty.as_slice().unwrap_or(&[]);
    let ys = y.as_slice().unwrap_or(&[]);
    x.as_slice_mut()
        .unwrap_or(&mut [])
        .par_chunks_mut(k)
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; k], vec![0.0f32; k], vec![0.0f32; k]),
            |(r, p, ap), (u, xu)| {
                let cols = rows.cols(u);
                let vals = rows.vals(u);
                // r = b - A x, with A = YtY + sum (c - 1) y y^T and b = sum c y.
                for j in 0..k {
                    r[j] = -dot(&yty[j * k..(j + 1) * k], xu);
                }
                for (&c, &v) in cols.iter().zip(vals) {
                    let yi = &ys[c as usize * k..(c as usize + 1) * k];
                    let conf = confidence(v, s);
                    let w = conf - (conf - 1.0) * dot(yi, xu);
                    axpy(w, yi, r);
                }
                p.copy_from_slice(r);
                let mut rsold = dot(r, r);
                if rsold < 1e-20 {
                    return;
                }
                for _ in 0..s.cg_steps {
                    for j in 0..k {
                        ap[j] = dot(&yty[j * k..(j + 1) * k], p);
                    }
                    for (&c, &v) in cols.iter().zip(vals) {
                        let yi = &ys[c as usize * k..(c as usize + 1) * k];
                        let conf = confidence(v, s);
                        axpy((conf - 1.0) * dot(yi, p), yi, ap);
                    }
                    let alpha = rsold / dot(p, ap);
                    axpy(alpha, p, xu);
                    axpy(-alpha, ap, r);
                    let rsnew = dot(r, r);
                    if rsnew < 1e-20 {
                        break;
                    }
                    let beta = rsnew / rsold;
                    for j in 0..k {
                        p[j] = r[j] + beta * p[j];
                    }
                    rsold = rsnew;
                }
            },
        );
}

/// Runs `iterations` of implicit ALS from `model`, calling `after` after each.
pub fn implicit_als(
    train: &TrainSet,
    mut model: Factors,
    s: ImplicitAls,
    iterations: usize,
    mut after: impl FnMut(usize, &Factors) -> bool,
) -> Factors {
    model.mu = 0.0;
    for it in 0..iterations {
        let item = model.item.clone();
        cg_side(&train.by_user, item.view(), &mut model.user, &s);
        let user = model.user.clone();
        cg_side(&train.by_item, user.view(), &mut model.item, &s);
        if !after(it, &model) {
            break;
        }
    }
    model
}

/// The implicit-ALS loss: sum over all (u, i) of c_ui (p_ui - x_u . y_i)^2 + lambda (|X|^2 + |Y|^2),
/// computed in O(nnz k + (users + items) k^2) without a dense matrix.
pub fn implicit_loss(train: &TrainSet, model: &Factors, s: &ImplicitAls) -> f64 {
    let yty = model.item.t().dot(&model.item);
    let per_user: f64 = (0..train.by_user.rows())
        .into_par_iter()
        .map(|u| {
            let xu = model.user.row(u);
            // x^T YtY x covers every (u, i) with c = 1 and p = 0.
            let xyx: f64 = yty.dot(&xu).dot(&xu) as f64;
            let mut l = xyx;
            for (&c, &v) in train.by_user.cols(u).iter().zip(train.by_user.vals(u)) {
                let pred = xu.dot(&model.item.row(c as usize)) as f64;
                let conf = confidence(v, s) as f64;
                l += conf * (1.0 - pred).powi(2) - pred * pred;
            }
            l
        })
        .sum();
    let reg = s.lambda as f64
        * (model.user.iter().map(|x| (*x as f64).powi(2)).sum::<f64>()
            + model.item.iter().map(|x| (*x as f64).powi(2)).sum::<f64>());
    per_user + reg
}
