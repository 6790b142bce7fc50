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
use crate::linalg::{cholesky_solve, kernel};
use crate::model::Factors;

/// Settings of explicit ALS.
#[derive(Debug, Clone, Copy)]
pub struct ExplicitAls {
    /// Regularisation of factors (times the row's count).
    pub lambda: f64,
    /// Regularisation of biases (times the row's count).
    pub lambda_bias: f64,
}

/// The data of one row's ridge system: its ratings and the other side.
struct NormalEquations<'a> {
    cols: &'a [u32],
    vals: &'a [f32],
    other: ArrayView2<'a, f32>,
    other_bias: &'a [f32],
    mu: f32,
}

/// Rows and columns of the tiles in which [`NormalEquations`] sums the
/// outer products: 4 x 8 sums stay in registers (eight AVX2 vectors of
/// four f64) over a run of ratings, instead of the whole (k+1) x (k+1)
/// triangle (34 KB at 64 factors, more than a core's L1 cache) being read
/// and written once per rating. Explicit ALS (64 factors) on ML-100K u1
/// trained in 1.41 s instead of 2.15 (median of 7 interleaved runs), and
/// its 5 folds in 6.6-7.4 s instead of 11.0-11.7 (3 runs each); the
/// factors have the same bits.
const TILE_ROWS: usize = 4;
/// Columns of those tiles: two AVX2 vectors of f64.
const TILE_COLS: usize = 8;
/// Ratings summed into a tile before its sums go back to memory: their
/// factors (576 bytes each at 64 factors) stay in L1 across the tiles.
const TILE_RATINGS: usize = 32;

/// A worker's buffers for [`NormalEquations::solve`].
#[derive(Debug, Default)]
struct Scratch {
    /// The system's matrix (its upper triangle; the rest is left as it
    /// was), then its Cholesky factor.
    a: Vec<f64>,
    /// The right-hand side, then the solution.
    b: Vec<f64>,
    /// The other side's factors of the row's ratings, with a 1 for the
    /// bias, as f64 rows padded with zeros to a multiple of [`TILE_COLS`].
    ys: Vec<f64>,
    /// The sums of the outer products, padded as `ys`.
    sums: Vec<f64>,
}

impl NormalEquations<'_> {
    /// Solves the row's system of `dim` unknowns into `scratch.b` (its
    /// factors, then its bias); false if it is not positive definite.
    /// Compiled for AVX2 where the CPU has it: wider vectors for the same
    /// operations in the same order, so the same bits.
    fn solve(&self, s: ExplicitAls, dim: usize, scratch: &mut Scratch) -> bool {
        #[cfg(target_arch = "x86_64")]
        if kernel::has_avx2_fma() {
            // SAFETY: compiled for AVX2 and FMA, called after checking the CPU has both.
            #[allow(unsafe_code)]
            return unsafe { self.solve_avx2(s, dim, scratch) };
        }
        self.solve_any(s, dim, scratch)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn solve_avx2(&self, s: ExplicitAls, dim: usize, scratch: &mut Scratch) -> bool {
        self.solve_any(s, dim, scratch)
    }

    /// `sum y y^T` into the upper triangle of `a` and `sum t y` into `b`
    /// over the row's ratings, where `y` is the other side's factors with a
    /// 1 for the bias and `t` the rating less the global mean and the other
    /// side's bias; the regularisation on the diagonal; then Cholesky.
    ///
    /// Every entry is the sum of its products in the order of the ratings,
    /// starting from zero, as one rank-1 update per rating would give: the
    /// tiles change which entries are summed together, not any entry's
    /// order, so the bits are those of the plain loop (see the test).
    #[inline(always)]
    fn solve_any(&self, s: ExplicitAls, dim: usize, scratch: &mut Scratch) -> bool {
        let k = dim - 1;
        let width = dim.div_ceil(TILE_COLS) * TILE_COLS;
        let n = self.cols.len();
        let Scratch { a, b, ys, sums } = scratch;
        // Every entry of a row is written below: no zeroing first.
        ys.resize(n * width, 0.0);
        b.clear();
        b.resize(dim, 0.0);
        for ((&c, &v), y) in self
            .cols
            .iter()
            .zip(self.vals)
            .zip(ys.chunks_exact_mut(width))
        {
            let q = self.other.row(c as usize);
            match q.as_slice() {
                // Contiguous (the factors' own layout): converted as a vector.
                Some(q) => y.iter_mut().zip(q).for_each(|(yj, &qj)| *yj = qj as f64),
                None => y.iter_mut().zip(q).for_each(|(yj, &qj)| *yj = qj as f64),
            }
            y[k] = 1.0;
            y[dim..].fill(0.0);
            let t = (v - self.mu - self.other_bias[c as usize]) as f64;
            for (bi, &yi) in b.iter_mut().zip(&y[..dim]) {
                *bi += t * yi;
            }
        }
        sums.clear();
        sums.resize(width * width, 0.0);
        outer_product_sums(ys, width, dim, sums);
        // Only the upper triangle is written, and read.
        a.resize(dim * dim, 0.0);
        for i in 0..dim {
            a[i * dim + i..(i + 1) * dim].copy_from_slice(&sums[i * width + i..i * width + dim]);
        }
        let nr = n as f64;
        for i in 0..k {
            a[i * dim + i] += s.lambda * nr;
        }
        a[k * dim + k] += s.lambda_bias * nr;
        cholesky_solve(a, b, dim)
    }
}

/// Adds `y y^T` for every row `y` of `ys` (rows of `width`, their first
/// `dim` entries used) into `sums` (`width` x `width`), in the order of the
/// rows, for the entries on and above the diagonal (and some below it,
/// which the caller ignores). A [`TILE_ROWS`] x [`TILE_COLS`] tile is
/// summed in registers over [`TILE_RATINGS`] rows at a time.
#[inline(always)]
fn outer_product_sums(ys: &[f64], width: usize, dim: usize, sums: &mut [f64]) {
    for rows in ys.chunks(TILE_RATINGS * width) {
        for i0 in (0..dim).step_by(TILE_ROWS) {
            for j0 in (i0 / TILE_COLS * TILE_COLS..width).step_by(TILE_COLS) {
                let mut tile = [[0.0f64; TILE_COLS]; TILE_ROWS];
                for (ii, t) in tile.iter_mut().enumerate() {
                    let at = (i0 + ii) * width + j0;
                    t.copy_from_slice(&sums[at..at + TILE_COLS]);
                }
                for y in rows.chunks_exact(width) {
                    let yj = &y[j0..j0 + TILE_COLS];
                    for (ii, t) in tile.iter_mut().enumerate() {
                        let yi = y[i0 + ii];
                        for (x, &q) in t.iter_mut().zip(yj) {
                            *x += yi * q;
                        }
                    }
                }
                for (ii, t) in tile.iter().enumerate() {
                    let at = (i0 + ii) * width + j0;
                    sums[at..at + TILE_COLS].copy_from_slice(t);
                }
            }
        }
    }
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
        .map_init(Scratch::default, |scratch, r| {
            let cols = rows.cols(r);
            let vals = rows.vals(r);
            if cols.is_empty() {
                return (vec![0.0; k], 0.0);
            }
            let system = NormalEquations {
                cols,
                vals,
                other: other.view(),
                other_bias,
                mu,
            };
            if !system.solve(s, dim, scratch) {
                return (vec![0.0; k], 0.0);
            }
            let b = &scratch.b;
            (b[..k].iter().map(|&x| x as f32).collect(), b[k] as f32)
        })
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

/// The explicit-ALS objective each half-step minimises exactly:
/// `sum (r - pred)^2 + sum_u n_u (lambda |p_u|^2 + lambda_bias b_u^2) + (same for items)`.
pub fn explicit_objective(train: &TrainSet, m: &Factors, s: ExplicitAls) -> f64 {
    let side = |rows: &Csr, f: &Array2<f32>, b: &[f32]| -> f64 {
        (0..rows.rows())
            .map(|r| {
                let n = rows.cols(r).len() as f64;
                let norm: f64 = f.row(r).iter().map(|x| (*x as f64).powi(2)).sum();
                n * (s.lambda * norm + s.lambda_bias * (b[r] as f64).powi(2))
            })
            .sum()
    };
    let sse = crate::evaluate::train_sse(train, m);
    sse + side(&train.by_user, &m.user, &m.user_bias) + side(&train.by_item, &m.item, &m.item_bias)
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

/// `out = m . g` for a row-major `m` (n x k) and a k x k `g`, in parallel row blocks
/// (ndarray's GEMM picks AVX/FMA kernels at run time).
fn par_gemm(m: &[f32], g: &Array2<f32>, k: usize, out: &mut [f32]) {
    const ROWS: usize = 512;
    out.par_chunks_mut(ROWS * k)
        .zip(m.par_chunks(ROWS * k))
        .for_each(|(o, a)| {
            let rows = a.len() / k;
            let a = ArrayView2::from_shape((rows, k), a).expect("block shape");
            let prod = a.dot(g);
            o.copy_from_slice(prod.as_slice().expect("contiguous"));
        });
}

/// The sparse part of one CG product for one row: `acc += sum_i w(y_i . v) y_i`
/// with `w(d) = c_i - (c_i - 1) d` for the residual, or `(c_i - 1) d` for `A p`.
/// Compiled twice: for AVX2+FMA (picked at run time) and for the baseline target.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sparse_pass<const FMA: bool>(
    cols: &[u32],
    vals: &[f32],
    ys: &[f32],
    k: usize,
    v: &[f32],
    acc: &mut [f32],
    s: &ImplicitAls,
    residual: bool,
) {
    for (&c, &val) in cols.iter().zip(vals) {
        let yi = &ys[c as usize * k..(c as usize + 1) * k];
        let conf = confidence(val, s);
        let d = kernel::dot::<FMA>(yi, v);
        let w = if residual {
            conf - (conf - 1.0) * d
        } else {
            (conf - 1.0) * d
        };
        kernel::axpy::<FMA>(w, yi, acc);
    }
}

#[target_feature(enable = "avx2,fma")]
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn sparse_pass_avx2(
    cols: &[u32],
    vals: &[f32],
    ys: &[f32],
    k: usize,
    v: &[f32],
    acc: &mut [f32],
    s: &ImplicitAls,
    residual: bool,
) {
    let weight = |n: usize, d: f32| {
        let conf = confidence(vals[n], s);
        if residual {
            conf - (conf - 1.0) * d
        } else {
            (conf - 1.0) * d
        }
    };
    // SAFETY: this function is compiled for AVX2 and FMA and only called
    // after `has_avx2_fma()` returned true.
    #[allow(unsafe_code)]
    let done = unsafe {
        match k {
            32 => kernel::x86::weighted_rows::<4>(cols, ys, v, acc, weight),
            64 => kernel::x86::weighted_rows::<8>(cols, ys, v, acc, weight),
            128 => kernel::x86::weighted_rows::<16>(cols, ys, v, acc, weight),
            _ => false,
        }
    };
    if !done {
        sparse_pass::<true>(cols, vals, ys, k, v, acc, s, residual)
    }
}

#[allow(clippy::too_many_arguments)]
fn sparse(
    cols: &[u32],
    vals: &[f32],
    ys: &[f32],
    k: usize,
    v: &[f32],
    acc: &mut [f32],
    s: &ImplicitAls,
    residual: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if kernel::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            return sparse_pass_avx2(cols, vals, ys, k, v, acc, s, residual);
        }
    }
    sparse_pass::<false>(cols, vals, ys, k, v, acc, s, residual)
}

/// Bytes of the other side's factors a sparse pass gathers from at a time.
/// The pass reads, for each row, the factors of the row's columns: all over
/// the other side's table, which outgrows the cache (the 103,276 users x 64
/// factors of 20M ratings: 26 MB). So the pass runs once per block of
/// columns of this many bytes, every row taking its nonzeros within the
/// block, and the factors it gathers stay in cache. Each row still adds its
/// nonzeros in ascending column order: the factors keep their bits. Implicit
/// ALS, 64 factors, 2 runs each on the AMD machine: 10M ratings 0.78-0.81 ->
/// 0.53 s per iteration, 20M 2.01-2.07 -> 1.15-1.19 s (one run at 2 / 4 / 8
/// / 16 MB: 1.19 / 1.20 / 1.30 / 1.42 s; Online Retail, one block, as before).
const GATHER_BLOCK_BYTES: usize = 4 << 20;

/// Each row's nonzeros cut by blocks of the columns (see
/// [`GATHER_BLOCK_BYTES`]): one block, or the bounds of every row's part
/// in every block.
struct ColumnBlocks {
    /// Number of blocks.
    count: usize,
    /// `bounds[u * (count + 1) + b]`: where row `u`'s part in block `b`
    /// starts (its nonzeros are sorted by column); empty for one block.
    bounds: Vec<u32>,
}

impl ColumnBlocks {
    /// The blocks of `block_bytes` for `rows` over `cols` columns of `k` factors.
    fn of(rows: &Csr, cols: usize, k: usize, block_bytes: usize) -> Self {
        let per_block = (block_bytes / (4 * k.max(1))).max(1);
        let count = cols.div_ceil(per_block).max(1);
        let bounds = if count == 1 {
            Vec::new()
        } else {
            (0..rows.rows())
                .into_par_iter()
                .flat_map_iter(|u| {
                    let row = rows.cols(u);
                    (0..=count)
                        .map(move |b| row.partition_point(|&c| (c as usize) < b * per_block) as u32)
                })
                .collect()
        };
        ColumnBlocks { count, bounds }
    }

    /// Row `u`'s nonzeros (as positions in the row) in block `b`.
    fn part(&self, rows: &Csr, u: usize, b: usize) -> std::ops::Range<usize> {
        if self.count == 1 {
            return 0..rows.cols(u).len();
        }
        let at = u * (self.count + 1) + b;
        self.bounds[at] as usize..self.bounds[at + 1] as usize
    }
}

/// Conjugate-gradient update of every row of `x` given the other side `y`,
/// all rows in lockstep: the dense `YtY p` products of a step are one
/// blocked GEMM, the sparse corrections run per row in parallel (a block of
/// the other side's columns at a time, see [`GATHER_BLOCK_BYTES`]). Each
/// row follows exactly the steps of a per-row CG (warm-started from `x`).
fn cg_side(rows: &Csr, y: ArrayView2<f32>, x: &mut Array2<f32>, s: &ImplicitAls) {
    cg_side_in_blocks(rows, y, x, s, GATHER_BLOCK_BYTES);
}

/// [`cg_side`] gathering from blocks of `block_bytes` of `y`.
fn cg_side_in_blocks(
    rows: &Csr,
    y: ArrayView2<f32>,
    x: &mut Array2<f32>,
    s: &ImplicitAls,
    block_bytes: usize,
) {
    let k = y.ncols();
    let n = x.nrows();
    let yty = gram(y, s.lambda);
    let ys = y.as_slice().expect("contiguous factors");
    let xs = x.as_slice_mut().expect("contiguous factors");
    let blocks = ColumnBlocks::of(rows, y.nrows(), k, block_bytes);
    // acc_u += the sparse part for v_u, for every row (or every active one).
    let sparse_rows = |v: &[f32], acc: &mut [f32], residual: bool, active: Option<&[bool]>| {
        for b in 0..blocks.count {
            acc.par_chunks_mut(k)
                .zip(v.par_chunks(k))
                .enumerate()
                .for_each(|(u, (accu, vu))| {
                    if active.is_some_and(|a| !a[u]) {
                        return;
                    }
                    let part = blocks.part(rows, u, b);
                    let (cols, vals) = (&rows.cols(u)[part.clone()], &rows.vals(u)[part]);
                    sparse(cols, vals, ys, k, vu, accu, s, residual);
                });
        }
    };
    // r = b - A x = -YtY x + sum_i (c_i - (c_i - 1) y_i.x) y_i
    let mut r = vec![0f32; n * k];
    par_gemm(xs, &yty, k, &mut r);
    r.par_iter_mut().for_each(|v| *v = -*v);
    sparse_rows(xs, &mut r, true, None);
    let mut p = r.clone();
    let mut rsold: Vec<f32> = r
        .par_chunks(k)
        .map(|ru| kernel::dot::<false>(ru, ru))
        .collect();
    let mut active: Vec<bool> = rsold.iter().map(|&v| v >= 1e-20).collect();
    let mut ap = vec![0f32; n * k];
    for _ in 0..s.cg_steps {
        par_gemm(&p, &yty, k, &mut ap);
        sparse_rows(&p, &mut ap, false, Some(&active));
        xs.par_chunks_mut(k)
            .zip(r.par_chunks_mut(k))
            .zip(p.par_chunks_mut(k))
            .zip(ap.par_chunks(k))
            .zip(rsold.par_iter_mut().zip(active.par_iter_mut()))
            .for_each(|((((xu, ru), pu), apu), (rs, act))| {
                if !*act {
                    return;
                }
                let alpha = *rs / kernel::dot::<false>(pu, apu);
                kernel::axpy::<false>(alpha, pu, xu);
                kernel::axpy::<false>(-alpha, apu, ru);
                let rsnew = kernel::dot::<false>(ru, ru);
                if rsnew < 1e-20 {
                    *act = false;
                    return;
                }
                let beta = rsnew / *rs;
                for (pj, rj) in pu.iter_mut().zip(ru.iter()) {
                    *pj = rj + beta * *pj;
                }
                *rs = rsnew;
            });
    }
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
///
/// The products run through the training's kernels (X YtY as one blocked
/// GEMM, the dots in AVX2 when the CPU has it): with ndarray's matrix-vector
/// product and dot per row, this loss, computed after every iteration for
/// history.parquet, took 11% of a 10M-rating train stage.
pub fn implicit_loss(train: &TrainSet, model: &Factors, s: &ImplicitAls) -> f64 {
    let k = model.item.ncols();
    let yty = model.item.t().dot(&model.item);
    let (xs, ys) = (
        model.user.as_slice().expect("contiguous factors"),
        model.item.as_slice().expect("contiguous factors"),
    );
    // x^T YtY x covers every (u, i) with c = 1 and p = 0.
    let mut xg = vec![0f32; xs.len()];
    par_gemm(xs, &yty, k, &mut xg);
    fn row(m: &[f32], r: usize, k: usize) -> &[f32] {
        &m[r * k..(r + 1) * k]
    }
    let per_user: f64 = (0..train.by_user.rows())
        .into_par_iter()
        .map(|u| {
            let xu = row(xs, u, k);
            let mut l = kernel::dot_auto(row(&xg, u, k), xu) as f64;
            for (&c, &v) in train.by_user.cols(u).iter().zip(train.by_user.vals(u)) {
                let pred = kernel::dot_auto(xu, row(ys, c as usize, k)) as f64;
                let conf = confidence(v, s) as f64;
                l += conf * (1.0 - pred).powi(2) - pred * pred;
            }
            l
        })
        .collect::<Vec<f64>>()
        // A sequential sum of per-user terms: the same bits whatever the thread count.
        .iter()
        .sum();
    let reg = s.lambda as f64
        * (model.user.iter().map(|x| (*x as f64).powi(2)).sum::<f64>()
            + model.item.iter().map(|x| (*x as f64).powi(2)).sum::<f64>());
    per_user + reg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The system as one rank-1 update per rating gives it, solved.
    fn solve_by_rank_one_updates(e: &NormalEquations, s: ExplicitAls, dim: usize) -> Vec<f64> {
        let k = dim - 1;
        let (mut a, mut b) = (vec![0.0f64; dim * dim], vec![0.0f64; dim]);
        for (&c, &v) in e.cols.iter().zip(e.vals) {
            let mut y: Vec<f64> = e.other.row(c as usize).iter().map(|&q| q as f64).collect();
            y.push(1.0);
            let t = (v - e.mu - e.other_bias[c as usize]) as f64;
            for i in 0..dim {
                b[i] += t * y[i];
                for j in i..dim {
                    a[i * dim + j] += y[i] * y[j];
                }
            }
        }
        let nr = e.cols.len() as f64;
        for i in 0..k {
            a[i * dim + i] += s.lambda * nr;
        }
        a[k * dim + k] += s.lambda_bias * nr;
        assert!(cholesky_solve(&mut a, &mut b, dim), "positive definite");
        b
    }

    #[test]
    fn tiled_normal_equations_have_the_bits_of_one_update_per_rating() {
        let mut rng = recpipe_core::Rng::new(11);
        let s = ExplicitAls {
            lambda: 0.05,
            lambda_bias: 0.01,
        };
        let n_cols = 200;
        // Factor counts around the tiles' widths; rating counts around
        // the run of ratings summed in registers.
        for k in [1usize, 3, 7, 8, 16, 20, 64] {
            let other = Array2::from_shape_fn((n_cols, k), |_| (rng.next_f64() - 0.5) as f32);
            let other_bias: Vec<f32> = (0..n_cols).map(|_| (rng.next_f64() - 0.5) as f32).collect();
            for n in [1usize, 5, 31, 32, 33, 100] {
                let cols: Vec<u32> = (0..n).map(|_| rng.below(n_cols as u64) as u32).collect();
                let vals: Vec<f32> = (0..n).map(|_| 1.0 + rng.below(5) as f32).collect();
                let e = NormalEquations {
                    cols: &cols,
                    vals: &vals,
                    other: other.view(),
                    other_bias: &other_bias,
                    mu: 3.5,
                };
                let want = solve_by_rank_one_updates(&e, s, k + 1);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let mut scratch = Scratch::default();
                assert!(e.solve(s, k + 1, &mut scratch));
                assert_eq!(bits(&scratch.b), bits(&want), "k = {k}, {n} ratings");
                // Again on the same buffers, and through the generic path.
                assert!(e.solve_any(s, k + 1, &mut scratch));
                assert_eq!(bits(&scratch.b), bits(&want), "k = {k}, {n} ratings");
            }
        }
    }

    #[test]
    fn gathering_by_column_blocks_keeps_every_bit() {
        // 40 rows over 300 columns (k = 64, the AVX2 kernel's width, and
        // k = 20, the generic one), 4 KiB blocks: 16 or 51 columns a block.
        let (n_rows, n_cols) = (40usize, 300usize);
        let mut rng = 7u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as u32
        };
        let (mut rows, mut cols, mut vals) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..n_rows as u32 {
            for _ in 0..(5 + next() % 60) {
                rows.push(u);
                cols.push(next() % n_cols as u32);
                vals.push(1.0 + (next() % 5) as f32);
            }
        }
        let select: Vec<usize> = (0..rows.len()).collect();
        let csr = Csr::build(n_rows, &rows, &cols, &vals, &select);
        let s = ImplicitAls {
            alpha: 2.0,
            lambda: 0.1,
            cg_steps: 3,
            confidence: Confidence::Linear,
        };
        for k in [64usize, 20] {
            let factor = |i: usize| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.1;
            let y = Array2::from_shape_fn((n_cols, k), |(i, j)| factor(i * k + j));
            let x0 = Array2::from_shape_fn((n_rows, k), |(i, j)| factor(i * k + j + 17));
            let mut whole = x0.clone();
            cg_side_in_blocks(&csr, y.view(), &mut whole, &s, usize::MAX);
            let mut blocked = x0.clone();
            cg_side_in_blocks(&csr, y.view(), &mut blocked, &s, 4096);
            assert!(ColumnBlocks::of(&csr, n_cols, k, 4096).count > 5);
            let bits = |m: &Array2<f32>| m.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&whole), bits(&blocked), "k = {k}");
            assert_ne!(bits(&whole), bits(&x0), "the rows were updated");
        }
    }
}
