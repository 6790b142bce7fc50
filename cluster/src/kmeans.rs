//! K-means through linfa-clustering, with four things linfa does not do
//! and what we measured them for:
//!
//! - **Parallel runs.** linfa runs `n_runs` restarts one after another; we
//!   start each restart as its own linfa fit (one run, its own seeded RNG)
//!   on the rayon pool and keep the best by inertia (ties: lowest run).
//! - **Lloyd steps of our own.** linfa's update is "m_k-means": the old
//!   centroid counts as one more member of its cluster, so it stops at
//!   points that are not Lloyd fixed points and its inertia ends above
//!   scikit-learn's; and its distance pass (ndarray-stats `sq_l2_dist`, one
//!   point-centroid pair at a time) is slow. linfa takes one step from the
//!   k-means++ start; plain Lloyd steps, with a vectorised nearest-centroid
//!   pass that also sums the clusters (one read of the data per step), run
//!   to a fixed point, measuring only the rows whose distance bounds do not
//!   already show their centroid (Hamerly's; see `lloyd_polish`).
//! - **The k-means++ start, drawn in k passes.** linfa's draws each next
//!   centroid after measuring every row against all centroids so far, k^2/2
//!   passes over the data; `kmeans_plusplus_runs` draws the same centroids
//!   from the same random numbers, measuring each row against the newest
//!   centroid only, and the restarts draw side by side (one read of the
//!   data per draw for all of them).
//! - **scikit-learn's tolerance.** linfa stops when the centroid shift is
//!   below `tolerance` in absolute units; we pass `sqrt(tol x mean feature
//!   variance)`, which is scikit-learn's relative criterion.
//!
//! Labels are then sorted by cluster size (largest first), ties by centroid,
//! so the same data give the same labels.

use linfa::DatasetBase;
use linfa::prelude::*;
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{Array2, ArrayView, ArrayView2, Axis, Dimension};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;

/// Iterations left to linfa's m_k-means update before our Lloyd steps take
/// over. Measured (k = 8, 10 restarts) with 1, 3 and 10: the same inertia on
/// Online Retail RFM (6443.6), ML-100K users (91669.0) and 100,000
/// synthetic users (4093406.5); 100,000 users 2.47 s (10, with the old
/// distance pass) -> 1.28 s (1) -> 0.81 s (1, vectorised pass).
const LINFA_ITERATIONS: u64 = 1;

/// K-means settings.
#[derive(Debug, Clone, Copy)]
pub struct KMeansSpec {
    /// Clusters.
    pub k: usize,
    /// Restarts (best inertia wins).
    pub n_runs: usize,
    /// Iteration cap per run.
    pub max_iterations: u64,
    /// Relative tolerance (scikit-learn's `tol`).
    pub tolerance: f64,
    /// Seed.
    pub seed: u64,
}

/// A fitted clustering.
#[derive(Debug, Clone)]
pub struct Clustering {
    /// Centroids (k x d), in label order.
    pub centroids: Array2<f64>,
    /// Label per row.
    pub labels: Vec<u16>,
    /// Squared distance of each row to its centroid.
    pub sq_dist: Vec<f64>,
    /// Sum of squared distances.
    pub inertia: f64,
    /// Lloyd iterations of the winning run (linfa's plus the polish).
    pub iterations: usize,
}

/// Euclidean distance for linfa's k-means++ start and its first step: the
/// metric of linfa's `L2Dist`, with the squared distance of two contiguous
/// rows summed in eight independent partial sums. `L2Dist` sums through
/// ndarray-stats' `sq_l2_dist`, one element after another in a single
/// chain of additions, and linfa's k-means++ measures every row against
/// every centroid chosen so far: on 100,000 users x 52 columns those
/// distances were 27% of the cluster stage. K-means there took 1.17 s with
/// `L2Dist`, 1.05 s with four partial sums and 1.01 s with eight (median of
/// 6 interleaved runs; sixteen were no faster), 0.93-0.96 s with the lanes
/// added as a tree (median of 5), for the same inertia; AVX2 gained nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContiguousL2;

impl Distance<f64> for ContiguousL2 {
    #[inline]
    fn distance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        self.rdistance(a, b).sqrt()
    }

    #[inline]
    fn rdistance<D: Dimension>(&self, a: ArrayView<f64, D>, b: ArrayView<f64, D>) -> f64 {
        match (a.as_slice(), b.as_slice()) {
            (Some(a), Some(b)) => squared_distance(a, b),
            _ => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
        }
    }

    #[inline]
    fn rdist_to_dist(&self, rdist: f64) -> f64 {
        rdist.sqrt()
    }

    #[inline]
    fn dist_to_rdist(&self, dist: f64) -> f64 {
        dist * dist
    }
}

/// Partial sums of [`squared_distance`]: eight break the chain of
/// dependent additions into chains an eighth as long.
const LANES: usize = 8;

/// The squared Euclidean distance of two rows of equal length, in
/// [`LANES`] partial sums: lane j holds the coordinates j, j + LANES, ...,
/// the last (fewer than LANES) coordinates go to the first lanes, and the
/// lanes are added as a tree (halves, quarters, then the pair), so no
/// chain of dependent additions is longer than the row over LANES.
#[inline]
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let (a_lanes, a_tail) = a.as_chunks::<LANES>();
    let (b_lanes, b_tail) = b.as_chunks::<LANES>();
    let mut acc = [0.0f64; LANES];
    for (x, y) in a_lanes.iter().zip(b_lanes) {
        for lane in 0..LANES {
            let t = x[lane] - y[lane];
            acc[lane] += t * t;
        }
    }
    for ((lane, x), y) in acc.iter_mut().zip(a_tail).zip(b_tail) {
        *lane += (x - y) * (x - y);
    }
    let mut width = LANES / 2;
    while width > 0 {
        for lane in 0..width {
            acc[lane] += acc[lane + width];
        }
        width /= 2;
    }
    acc[0]
}

/// Rows per parallel block of [`assign`].
const ASSIGN_ROWS: usize = 2048;

/// Centroids per group in [`nearest_body`]: one group's distances are two
/// 4-wide vectors.
const GROUP: usize = 8;

/// Nearest centroid (ties: the lower) and squared distance of each row of
/// `rows` (row-major, `d` columns). `groups` holds the centroids by groups
/// of [`GROUP`], each transposed (d x GROUP, padding columns repeat the
/// last centroid), so the inner loop runs across centroids, contiguous and
/// vectorised; fused multiply-adds when compiled for FMA. The sum over
/// coordinates alternates two partial sums (even and odd coordinates).
///
/// Measured on 100,000 x 52 rows, k = 8: 5.5 ms per pass with a plain
/// per-centroid distance (partial sums in a stack array, reloaded every
/// step), 2.2 ms like this. Closures passed to iterator adapters here were
/// not inlined into the AVX2 entry point, and `mul_add` became a libm call:
/// keep the loops plain.
#[inline(always)]
fn nearest_body<const FMA: bool>(
    rows: &[f64],
    groups: &[f64],
    k: usize,
    d: usize,
) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(rows.len() / d);
    for row in rows.chunks_exact(d) {
        let (label, dist, _) = row_nearest::<FMA, false>(row, groups, k, d);
        out.push((label, dist));
    }
    out
}

/// [`nearest_body`] for one row: its nearest centroid and squared
/// distance, and (when `SECOND`) the squared distance of the next nearest
/// (infinite for k = 1). The nearest comes out the same either way.
#[inline(always)]
fn row_nearest<const FMA: bool, const SECOND: bool>(
    row: &[f64],
    groups: &[f64],
    k: usize,
    d: usize,
) -> (usize, f64, f64) {
    let (mut best, mut second) = ((0, f64::INFINITY), f64::INFINITY);
    for (g, group) in groups.chunks_exact(d * GROUP).enumerate() {
        // Two named accumulators (not an array indexed by j): they stay
        // in registers.
        let (mut even, mut odd) = ([0.0f64; GROUP], [0.0f64; GROUP]);
        let step = |acc: &mut [f64; GROUP], xj: f64, cj: &[f64]| {
            for c in 0..GROUP {
                let t = xj - cj[c];
                acc[c] = if FMA {
                    t.mul_add(t, acc[c])
                } else {
                    t * t + acc[c]
                };
            }
        };
        let mut pairs = row.chunks_exact(2).zip(group.chunks_exact(2 * GROUP));
        for (x2, c2) in &mut pairs {
            step(&mut even, x2[0], &c2[..GROUP]);
            step(&mut odd, x2[1], &c2[GROUP..]);
        }
        if d % 2 == 1 {
            step(&mut even, row[d - 1], &group[(d - 1) * GROUP..]);
        }
        for c in 0..GROUP.min(k - g * GROUP) {
            let dist = even[c] + odd[c];
            if dist < best.1 {
                second = best.1;
                best = (g * GROUP + c, dist);
            } else if SECOND && dist < second {
                second = dist;
            }
        }
    }
    (best.0, best.1, second)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn nearest_avx2(rows: &[f64], groups: &[f64], k: usize, d: usize) -> Vec<(usize, f64)> {
    nearest_body::<true>(rows, groups, k, d)
}

fn nearest(rows: &[f64], groups: &[f64], k: usize, d: usize) -> Vec<(usize, f64)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            return nearest_avx2(rows, groups, k, d);
        }
    }
    nearest_body::<false>(rows, groups, k, d)
}

/// Assigns each row to its nearest centroid (ties: the lower); returns
/// labels and squared distances. Rows are cut into fixed blocks, so the
/// result does not depend on the thread count.
pub fn assign(x: ArrayView2<f64>, centroids: &Array2<f64>) -> (Vec<usize>, Vec<f64>) {
    let pass = assign_and_sum(x, centroids, false);
    (pass.labels, pass.dist)
}

/// One pass of [`assign`] that also sums the rows of each cluster (when
/// `with_sums`; [`assign`] alone does not need them): the
/// data are read once per Lloyd step (the pass is memory-bound on large
/// data). Block sums are added in block order: same bits for any thread
/// count.
struct Pass {
    labels: Vec<usize>,
    dist: Vec<f64>,
    sums: Vec<f64>,
    counts: Vec<usize>,
}

/// The centroids as [`nearest_body`] reads them: by groups of [`GROUP`],
/// each transposed (d x GROUP), padding columns repeating the last centroid.
fn centroid_groups(centroids: &Array2<f64>) -> Vec<f64> {
    let (k, d) = centroids.dim();
    let mut groups = vec![0.0; k.div_ceil(GROUP) * d * GROUP];
    for (g, group) in groups.chunks_exact_mut(d * GROUP).enumerate() {
        for j in 0..d {
            for c in 0..GROUP {
                let src = (g * GROUP + c).min(k - 1);
                group[j * GROUP + c] = centroids[[src, j]];
            }
        }
    }
    groups
}

fn assign_and_sum(x: ArrayView2<f64>, centroids: &Array2<f64>, with_sums: bool) -> Pass {
    let (n, d) = x.dim();
    let k = centroids.nrows();
    if d == 0 || k == 0 {
        return Pass {
            labels: vec![0; n],
            dist: vec![0.0; n],
            sums: vec![0.0; k * d],
            counts: vec![n; k.min(1)],
        };
    }
    let groups = centroid_groups(centroids);
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    // Per block: (nearest centroid, distance) per row, and the cluster sums.
    type BlockPass = (Vec<(usize, f64)>, Vec<f64>);
    let blocks: Vec<BlockPass> = xs
        .par_chunks(ASSIGN_ROWS * d)
        .map(|rows| {
            let near = nearest(rows, &groups, k, d);
            let mut sums = Vec::new();
            if with_sums {
                sums = vec![0.0; k * d];
                for (row, &(l, _)) in rows.chunks_exact(d).zip(&near) {
                    for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(row) {
                        *s += v;
                    }
                }
            }
            (near, sums)
        })
        .collect();
    let mut pass = Pass {
        labels: Vec::with_capacity(n),
        dist: Vec::with_capacity(n),
        sums: vec![0.0; k * d],
        counts: vec![0; k],
    };
    for (near, sums) in blocks {
        for (l, dist) in near {
            pass.labels.push(l);
            pass.dist.push(dist);
            pass.counts[l] += 1;
        }
        for (s, v) in pass.sums.iter_mut().zip(sums) {
            *s += v;
        }
    }
    pass
}

/// Relative slack on the distance bounds of [`bounded_pass`]: far above
/// the rounding of a computed distance (about 1e-14 of it for rows of 52
/// numbers) and of the bounds' own updates, so that a row is only skipped
/// where its nearest centroid is nearer than the next by more than either.
const BOUND_SLACK: f64 = 1e-9;

/// What [`bounded_pass`] knows of a row between passes: its centroid, an
/// upper bound on its distance to it and a lower bound on its distance to
/// any other (Euclidean distances, not squared).
#[derive(Debug, Clone, Copy)]
struct RowBounds {
    label: usize,
    upper: f64,
    lower: f64,
}

/// Lloyd steps from `centroids` until the centroids move less than
/// `tol_sq` (squared) in a step, or `max_iter` steps: the centroids, and
/// each row's nearest centroid and squared distance to them.
///
/// Each step assigns the rows through Hamerly's bounds (G. Hamerly, "Making
/// k-means even faster", SDM 2010): a row whose upper bound to its centroid
/// is below half the distance from that centroid to the nearest other one,
/// or below its lower bound to every other centroid, keeps its centroid
/// without being measured. Every bound is loosened by [`BOUND_SLACK`], so a
/// kept row is one that the full pass would give the same centroid; the
/// others are measured as the full pass measures them. The cluster sums
/// are then those of the full pass, in the same order: the same bits as
/// plain Lloyd steps (a test compares them), for a fraction of the
/// distances once the centroids settle.
fn lloyd_polish(
    x: ArrayView2<f64>,
    centroids: Array2<f64>,
    tol_sq: f64,
    max_iter: usize,
) -> (Array2<f64>, Vec<usize>, Vec<f64>, usize) {
    let (k, d) = centroids.dim();
    if d == 0 || k == 0 || x.nrows() == 0 {
        return lloyd_plain(x, centroids, tol_sq, max_iter);
    }
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let unknown = RowBounds {
        label: 0,
        upper: f64::INFINITY,
        lower: 0.0,
    };
    let mut bounds = vec![unknown; x.nrows()];
    lloyd_steps(x.view(), centroids, tol_sq, max_iter, |centroids, moved| {
        bounded_pass(xs, d, centroids, moved, &mut bounds)
    })
}

/// [`lloyd_polish`] with every row measured against every centroid at
/// every step: for shapes the bounds have nothing to say of (no rows, no
/// columns, no centroids), and the tests' reference.
fn lloyd_plain(
    x: ArrayView2<f64>,
    centroids: Array2<f64>,
    tol_sq: f64,
    max_iter: usize,
) -> (Array2<f64>, Vec<usize>, Vec<f64>, usize) {
    lloyd_steps(x, centroids, tol_sq, max_iter, |centroids, _| {
        let pass = assign_and_sum(x, centroids, true);
        (pass.sums, pass.counts)
    })
}

/// The Lloyd loop of [`lloyd_polish`] around `pass`, which assigns the
/// rows to the centroids (told how far each moved in the last step) and
/// returns the cluster sums (k x d) and sizes; then the final assignment.
fn lloyd_steps(
    x: ArrayView2<f64>,
    mut centroids: Array2<f64>,
    tol_sq: f64,
    max_iter: usize,
    mut pass: impl FnMut(&Array2<f64>, &[f64]) -> (Vec<f64>, Vec<usize>),
) -> (Array2<f64>, Vec<usize>, Vec<f64>, usize) {
    let (k, d) = centroids.dim();
    // How far each centroid moved in the last step.
    let mut moved = vec![0.0; k];
    let mut iters = 0;
    loop {
        let (sums, counts) = pass(&centroids, &moved);
        if iters >= max_iter {
            let (labels, dist) = assign(x, &centroids);
            return (centroids, labels, dist, iters);
        }
        let mut shift = 0.0;
        for c in 0..k {
            moved[c] = 0.0;
            let Some(&n) = counts.get(c).filter(|&&n| n > 0) else {
                continue; // an empty cluster keeps its centroid
            };
            let mut moved_sq = 0.0;
            for j in 0..d {
                let v = sums[c * d + j] / n as f64;
                let step = (v - centroids[[c, j]]).powi(2);
                shift += step;
                moved_sq += step;
                centroids[[c, j]] = v;
            }
            moved[c] = moved_sq.sqrt();
        }
        iters += 1;
        if shift <= tol_sq {
            let (labels, dist) = assign(x, &centroids);
            return (centroids, labels, dist, iters);
        }
    }
}

/// One assignment of the rows of `xs` (row-major, `d` columns) to
/// `centroids`, which moved by `moved` since the bounds were last set (see
/// [`lloyd_polish`]): updates the bounds, and returns the cluster sums (k x
/// d) and sizes, summed by blocks of [`ASSIGN_ROWS`] rows added in block
/// order as [`assign_and_sum`] does.
fn bounded_pass(
    xs: &[f64],
    d: usize,
    centroids: &Array2<f64>,
    moved: &[f64],
    bounds: &mut [RowBounds],
) -> (Vec<f64>, Vec<usize>) {
    let k = centroids.nrows();
    let groups = centroid_groups(centroids);
    let flat = centroids.as_standard_layout();
    let flat = flat.as_slice().unwrap_or(&[]);
    // Half the distance from each centroid to the nearest other one.
    let half_gap: Vec<f64> = (0..k)
        .map(|a| {
            let row = &flat[a * d..(a + 1) * d];
            (0..k)
                .filter(|&b| b != a)
                .map(|b| plain_distance(row, &flat[b * d..(b + 1) * d]))
                .fold(f64::INFINITY, f64::min)
                * 0.5
                * (1.0 - BOUND_SLACK)
        })
        .collect();
    let moved_most = moved.iter().copied().fold(0.0, f64::max);
    let shared = BoundedShared {
        groups: &groups,
        centroids: flat,
        half_gap: &half_gap,
        moved,
        moved_most,
        k,
        d,
    };
    let blocks: Vec<(Vec<f64>, Vec<usize>)> = xs
        .par_chunks(ASSIGN_ROWS * d)
        .zip(bounds.par_chunks_mut(ASSIGN_ROWS))
        .map(|(rows, bounds)| {
            let (mut sums, mut counts) = (vec![0.0; k * d], vec![0; k]);
            bounded_block(rows, bounds, &shared, &mut sums, &mut counts);
            (sums, counts)
        })
        .collect();
    let (mut sums, mut counts) = (vec![0.0; k * d], vec![0; k]);
    for (block_sums, block_counts) in blocks {
        for (s, v) in sums.iter_mut().zip(block_sums) {
            *s += v;
        }
        for (c, n) in counts.iter_mut().zip(block_counts) {
            *c += n;
        }
    }
    (sums, counts)
}

/// What every block of [`bounded_pass`] reads.
struct BoundedShared<'a> {
    groups: &'a [f64],
    centroids: &'a [f64],
    half_gap: &'a [f64],
    moved: &'a [f64],
    moved_most: f64,
    k: usize,
    d: usize,
}

/// The Euclidean distance of two rows, for the bounds (through the
/// partial sums of [`squared_distance`] rather than one chain of additions).
#[inline]
fn plain_distance(a: &[f64], b: &[f64]) -> f64 {
    squared_distance(a, b).sqrt()
}

/// The bounds of one block's rows brought up to date, the rows they cannot
/// vouch for measured against every centroid, and each row added to its
/// cluster's sum (`sums`, k x d) and size while it is at hand.
#[inline(always)]
fn bounded_block_body<const FMA: bool>(
    rows: &[f64],
    bounds: &mut [RowBounds],
    s: &BoundedShared,
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let d = s.d;
    for (row, b) in rows.chunks_exact(d).zip(bounds.iter_mut()) {
        row_bounds::<FMA>(row, b, s);
        counts[b.label] += 1;
        for (sum, v) in sums[b.label * d..(b.label + 1) * d].iter_mut().zip(row) {
            *sum += v;
        }
    }
}

/// One row's bounds brought up to date, and the row measured against every
/// centroid where they cannot vouch for its centroid.
#[inline(always)]
fn row_bounds<const FMA: bool>(row: &[f64], b: &mut RowBounds, s: &BoundedShared) {
    let d = s.d;
    // The centroids moved: the bounds widen by as much, and a little.
    let up = b.upper + s.moved[b.label];
    b.upper = up + BOUND_SLACK * up;
    let slack = BOUND_SLACK * (b.lower.abs() + s.moved_most);
    b.lower = b.lower - s.moved_most - slack;
    let keep_below = s.half_gap[b.label].max(b.lower);
    if b.upper < keep_below {
        return;
    }
    let own = plain_distance(row, &s.centroids[b.label * d..(b.label + 1) * d]);
    b.upper = own * (1.0 + BOUND_SLACK);
    if b.upper < keep_below {
        return;
    }
    let (label, nearest, next) = row_nearest::<FMA, true>(row, s.groups, s.k, d);
    *b = RowBounds {
        label,
        upper: nearest.sqrt() * (1.0 + BOUND_SLACK),
        lower: next.sqrt() * (1.0 - BOUND_SLACK),
    };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn bounded_block_avx2(
    rows: &[f64],
    bounds: &mut [RowBounds],
    shared: &BoundedShared,
    sums: &mut [f64],
    counts: &mut [usize],
) {
    bounded_block_body::<true>(rows, bounds, shared, sums, counts)
}

/// [`bounded_block_body`] with the distances [`nearest`] would compute on
/// this CPU.
fn bounded_block(
    rows: &[f64],
    bounds: &mut [RowBounds],
    shared: &BoundedShared,
    sums: &mut [f64],
    counts: &mut [usize],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            return bounded_block_avx2(rows, bounds, shared, sums, counts);
        }
    }
    bounded_block_body::<false>(rows, bounds, shared, sums, counts)
}

/// Mean of the per-feature variances (scikit-learn scales `tol` by it).
pub fn mean_variance(x: ArrayView2<f64>) -> f64 {
    if x.nrows() == 0 {
        return 0.0;
    }
    x.var_axis(Axis(0), 0.0).mean().unwrap_or(0.0)
}

/// Rows per parallel task of [`kmeans_plusplus_runs`]'s distance updates.
const SEEDING_BLOCK: usize = 4096;

/// The k-means++ start (Arthur and Vassilvitskii, 2007) that linfa's
/// `KMeansInit::KMeansPlusPlus` draws, the same centroids from the same
/// `rng`: see [`kmeans_plusplus_runs`].
#[cfg(test)]
fn kmeans_plusplus(x: ArrayView2<f64>, k: usize, rng: &mut Xoshiro256Plus) -> Array2<f64> {
    let mut starts = kmeans_plusplus_runs(x, k, std::slice::from_mut(rng));
    starts
        .pop()
        .unwrap_or_else(|| Array2::zeros((k, x.ncols())))
}

/// The k-means++ starts (Arthur and Vassilvitskii, 2007) of several runs,
/// one per generator in `rngs`, each the start that linfa's
/// `KMeansInit::KMeansPlusPlus` draws from that generator: the first row
/// drawn uniformly, each next one with probability proportional to its
/// squared distance to the nearest centroid chosen so far, through rand's
/// `WeightedIndex` as linfa samples.
///
/// linfa measures every row against every centroid chosen so far before
/// each draw, k^2/2 distances per row; here each row keeps its nearest
/// distance and meets only the newest centroid. The minimum of the same
/// distances is the same number whichever order they come in, so the
/// draws are too (see the test against linfa). The runs advance side by
/// side, so that one read of a row serves every run's newest centroid: the
/// data are read k times in all, not k times per run.
fn kmeans_plusplus_runs(
    x: ArrayView2<f64>,
    k: usize,
    rngs: &mut [Xoshiro256Plus],
) -> Vec<Array2<f64>> {
    use rand::distributions::{Distribution, WeightedIndex};
    let (n, runs) = (x.nrows(), rngs.len());
    let mut starts: Vec<Array2<f64>> = rngs
        .iter_mut()
        .map(|rng| {
            let mut centroids = Array2::zeros((k, x.ncols()));
            let first = WeightedIndex::new(std::iter::repeat_n(1.0f64, n))
                .map_or(0, |uniform| uniform.sample(rng));
            centroids.row_mut(0).assign(&x.row(first));
            centroids
        })
        .collect();
    // Row i's squared distance to run r's nearest centroid: `nearest[i * runs + r]`.
    let mut nearest = vec![f64::INFINITY; n * runs];
    for chosen in 1..k {
        let newest: Vec<_> = starts.iter().map(|c| c.row(chosen - 1)).collect();
        nearest
            .par_chunks_mut(SEEDING_BLOCK * runs)
            .enumerate()
            .for_each(|(b, block)| {
                for (i, near) in block.chunks_exact_mut(runs).enumerate() {
                    let row = x.row(b * SEEDING_BLOCK + i);
                    for (d, centroid) in near.iter_mut().zip(&newest) {
                        let to_newest = ContiguousL2.rdistance(*centroid, row);
                        // linfa's `closest_centroid`: a strictly smaller distance wins.
                        if to_newest < *d {
                            *d = to_newest;
                        }
                    }
                }
            });
        (starts.par_iter_mut().zip(rngs.par_iter_mut()).enumerate()).for_each(
            |(r, (start, rng))| {
                let weights = nearest.iter().skip(r).step_by(runs);
                // All zero (every row on a centroid): linfa takes row 0.
                let next = WeightedIndex::new(weights).map_or(0, |w| w.sample(rng));
                start.row_mut(chosen).assign(&x.row(next));
            },
        );
    }
    starts
}

/// How many distinct rows `x` has, counted up to `limit` (enough to say
/// whether `limit` clusters fit).
pub fn distinct_rows(x: ArrayView2<f64>, limit: usize) -> usize {
    let mut seen: Vec<ndarray::ArrayView1<f64>> = Vec::with_capacity(limit.min(x.nrows()));
    for row in x.outer_iter() {
        if seen.len() >= limit {
            break;
        }
        if !seen.contains(&row) {
            seen.push(row);
        }
    }
    seen.len()
}

/// Fits k-means; `x` has one row per observation.
pub fn fit(x: ArrayView2<f64>, spec: &KMeansSpec) -> Result<Clustering, String> {
    let n = x.nrows();
    let distinct = distinct_rows(x, spec.k);
    if spec.k == 0 || spec.k > distinct {
        return Err(format!(
            "k = {} but the data have only {distinct} distinct users ({n} rows): choose k <= {distinct}",
            spec.k
        ));
    }
    let tol_sq = spec.tolerance * mean_variance(x);
    let dataset = DatasetBase::from(x.to_owned());
    let mut rngs: Vec<Xoshiro256Plus> = (0..spec.n_runs.max(1))
        .map(|run| Xoshiro256Plus::seed_from_u64(spec.seed.wrapping_add(run as u64 * 0x9E37_79B9)))
        .collect();
    let starts = kmeans_plusplus_runs(dataset.records().view(), spec.k, &mut rngs);
    let runs: Vec<Result<(f64, usize, Clustering), String>> = (rngs.into_par_iter().zip(starts))
        .enumerate()
        .map(|(run, (rng, start))| {
            let model = KMeans::params_with(spec.k, rng, ContiguousL2)
                .n_runs(1)
                .max_n_iterations(spec.max_iterations.min(LINFA_ITERATIONS))
                .tolerance(tol_sq.sqrt().max(f64::MIN_POSITIVE))
                .init_method(KMeansInit::Precomputed(start))
                .fit(&dataset)
                .map_err(|e| e.to_string())?;
            let (centroids, labels, dist, iters) = lloyd_polish(
                x,
                model.centroids().clone(),
                tol_sq,
                spec.max_iterations as usize,
            );
            let inertia = dist.iter().sum::<f64>();
            let labels = labels.into_iter().map(|l| l as u16).collect();
            Ok((
                inertia,
                run,
                Clustering {
                    centroids,
                    labels,
                    sq_dist: dist,
                    inertia,
                    iterations: iters,
                },
            ))
        })
        .collect();
    let mut best: Option<(f64, usize, Clustering)> = None;
    for r in runs {
        let r = r?;
        if best.as_ref().is_none_or(|b| (r.0, r.1) < (b.0, b.1)) {
            best = Some(r);
        }
    }
    let (_, _, c) = best.ok_or("no run")?;
    Ok(relabel(c))
}

/// Renumbers clusters by size (largest first), ties by centroid coordinates.
pub fn relabel(c: Clustering) -> Clustering {
    let k = c.centroids.nrows();
    let mut sizes = vec![0usize; k];
    for &l in &c.labels {
        sizes[l as usize] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            c.centroids
                .row(a)
                .iter()
                .zip(c.centroids.row(b).iter())
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_of = vec![0u16; k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new as u16;
    }
    let centroids = ndarray::stack(
        Axis(0),
        &order
            .iter()
            .map(|&o| c.centroids.row(o))
            .collect::<Vec<_>>(),
    )
    .unwrap_or(c.centroids.clone());
    Clustering {
        labels: c.labels.iter().map(|&l| new_of[l as usize]).collect(),
        centroids,
        ..c
    }
}

/// Rows laid out for distance computations: one contiguous vector per
/// feature (d x m), so that the distances from one row to all others run
/// feature by feature over contiguous slices, which vectorises. Each
/// pair's squared differences are still summed in feature order, so the
/// distances have the bits of a row-by-row sum.
pub struct ByFeature {
    xt: Array2<f64>,
}

impl ByFeature {
    /// The rows of `x` (m x d), transposed.
    pub fn new(x: ArrayView2<f64>) -> Self {
        ByFeature {
            xt: x.t().as_standard_layout().into_owned(),
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.xt.ncols()
    }

    /// Euclidean distances from row `i` to every row, rounded to f32, into
    /// `out`; `acc` (one f64 per row) is scratch.
    fn distances_from(&self, i: usize, out: &mut [f32], acc: &mut [f64]) {
        acc.fill(0.0);
        for feature in self.xt.outer_iter() {
            let a = feature[i];
            let column = feature.as_slice().expect("standard layout");
            for (s, &q) in acc.iter_mut().zip(column) {
                *s += (a - q) * (a - q);
            }
        }
        for (d, s) in out.iter_mut().zip(acc.iter()) {
            *d = s.sqrt() as f32;
        }
    }
}

/// Where a silhouette reads its distances: a matrix made once and shared by
/// every k tried, or the rows themselves, one row of distances at a time
/// (no m x m matrix, for a single k). Both give the same bits.
pub enum Distances<'a> {
    /// The m x m matrix of [`pairwise`].
    Matrix(&'a [f32]),
    /// The rows, distances computed as needed.
    Rows(&'a ByFeature),
}

impl Distances<'_> {
    /// The distances from row `i` to each of the `buf.len()` rows: a row of
    /// the matrix, or `buf` filled (with `acc` as scratch).
    fn row<'b>(&'b self, i: usize, buf: &'b mut [f32], acc: &mut [f64]) -> &'b [f32] {
        let m = buf.len();
        match self {
            Distances::Matrix(dist) => &dist[i * m..(i + 1) * m],
            Distances::Rows(x) => {
                x.distances_from(i, buf, acc);
                buf
            }
        }
    }
}

/// Mean silhouette of `m` labelled rows (scikit-learn's definition: a
/// singleton cluster scores 0).
pub fn silhouette(dist: Distances<'_>, m: usize, labels: &[u16], k: usize) -> f64 {
    let total: f64 = (0..m)
        .into_par_iter()
        .map_init(
            || (vec![0f32; m], vec![0f64; m]),
            |(buf, acc), i| {
                let row = dist.row(i, buf, acc);
                let mut sum = vec![0.0f64; k];
                let mut cnt = vec![0usize; k];
                for (j, &d) in row.iter().enumerate() {
                    if i != j {
                        sum[labels[j] as usize] += d as f64;
                        cnt[labels[j] as usize] += 1;
                    }
                }
                let own = labels[i] as usize;
                if cnt[own] == 0 {
                    return 0.0;
                }
                let a = sum[own] / cnt[own] as f64;
                let b = (0..k)
                    .filter(|&c| c != own && cnt[c] > 0)
                    .map(|c| sum[c] / cnt[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                if !b.is_finite() {
                    0.0
                } else {
                    (b - a) / a.max(b).max(f64::MIN_POSITIVE)
                }
            },
        )
        .collect::<Vec<f64>>()
        // A sequential sum: the same bits whatever the thread count.
        .iter()
        .sum();
    total / m.max(1) as f64
}

/// Euclidean distances between all pairs of rows (m x m, f32), each row of
/// the matrix written in place by one task.
pub fn pairwise(x: &ByFeature) -> Vec<f32> {
    let m = x.rows();
    let mut dist = vec![0f32; m * m];
    dist.par_chunks_mut(m.max(1)).enumerate().for_each_init(
        || vec![0f64; m],
        |acc, (i, row)| x.distances_from(i, row, acc),
    );
    dist
}

/// Adjusted Rand index between two labelings.
pub fn adjusted_rand_index(a: &[u16], b: &[u16]) -> f64 {
    let n = a.len() as f64;
    let ka = a.iter().map(|&x| x as usize + 1).max().unwrap_or(0);
    let kb = b.iter().map(|&x| x as usize + 1).max().unwrap_or(0);
    let mut table = vec![vec![0f64; kb]; ka];
    for (&x, &y) in a.iter().zip(b) {
        table[x as usize][y as usize] += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let sum_ij: f64 = table.iter().flatten().map(|&v| c2(v)).sum();
    let sum_a: f64 = table.iter().map(|r| c2(r.iter().sum())).sum();
    let sum_b: f64 = (0..kb).map(|j| c2(table.iter().map(|r| r[j]).sum())).sum();
    let expected = sum_a * sum_b / c2(n);
    let max = (sum_a + sum_b) / 2.0;
    if (max - expected).abs() < 1e-12 {
        1.0
    } else {
        (sum_ij - expected) / (max - expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recpipe_core::Rng;

    fn blobs(k: usize, per: usize, d: usize, seed: u64) -> (Array2<f64>, Vec<u16>) {
        let mut r = Rng::new(seed);
        let centers: Vec<Vec<f64>> = (0..k)
            .map(|_| (0..d).map(|_| r.normal() * 6.0).collect())
            .collect();
        let mut x = Array2::zeros((k * per, d));
        let mut truth = Vec::new();
        for i in 0..k * per {
            let c = i % k;
            for j in 0..d {
                x[[i, j]] = centers[c][j] + r.normal();
            }
            truth.push(c as u16);
        }
        (x, truth)
    }

    /// The bits of a run of floats, to compare results exactly.
    fn bits<'a>(values: impl IntoIterator<Item = &'a f64>) -> Vec<u64> {
        values.into_iter().map(|v| v.to_bits()).collect()
    }

    fn spec(k: usize) -> KMeansSpec {
        KMeansSpec {
            k,
            n_runs: 4,
            max_iterations: 300,
            tolerance: 1e-4,
            seed: 7,
        }
    }

    /// The centroids after one linfa step from the k-means++ start of
    /// `seed`: linfa's own start (`ours` false; it is private, so it is
    /// seen through the step) or [`kmeans_plusplus`]'s.
    fn one_linfa_step(x: &Array2<f64>, k: usize, seed: u64, ours: bool) -> Array2<f64> {
        let mut rng = Xoshiro256Plus::seed_from_u64(seed);
        let init = if ours {
            KMeansInit::Precomputed(kmeans_plusplus(x.view(), k, &mut rng))
        } else {
            KMeansInit::KMeansPlusPlus
        };
        let model = KMeans::params_with(k, rng, ContiguousL2)
            .n_runs(1)
            .max_n_iterations(1)
            .init_method(init)
            .fit(&DatasetBase::from(x.clone()))
            .expect("linfa fits the test data");
        model.centroids().clone()
    }

    #[test]
    fn bounded_steps_are_plain_lloyd_steps_bit_for_bit() {
        // Overlapping blobs (rows near two centroids), separated ones,
        // repeated rows (ties, empty clusters), k = 1 and k past a group of
        // eight; from k-means++ starts and from poor ones; run to the end
        // and cut short.
        let (overlap, _) = blobs(5, 700, 9, 11);
        let overlap = overlap.mapv(|v| v / 4.0);
        let (apart, _) = blobs(4, 300, 17, 12);
        let repeated = Array2::from_shape_fn((60, 3), |(i, j)| ((i % 5) * (j + 2)) as f64);
        for (x, ks) in [
            (&overlap, &[1usize, 3, 9, 13][..]),
            (&apart, &[4, 10][..]),
            (&repeated, &[2, 5][..]),
        ] {
            for &k in ks {
                for seed in [0u64, 5] {
                    let mut rng = Xoshiro256Plus::seed_from_u64(seed);
                    let start = kmeans_plusplus(x.view(), k, &mut rng);
                    // A poor start: the first k rows.
                    let first_rows = x.slice(ndarray::s![..k, ..]).to_owned();
                    for start in [start, first_rows] {
                        for max_iter in [0, 2, 300] {
                            let tol = 1e-4 * mean_variance(x.view());
                            let ours = lloyd_polish(x.view(), start.clone(), tol, max_iter);
                            let theirs = lloyd_plain(x.view(), start.clone(), tol, max_iter);
                            let what =
                                format!("k = {k}, seed {seed}, max_iter {max_iter}, {:?}", x.dim());
                            assert_eq!(bits(&ours.0), bits(&theirs.0), "{what}");
                            assert_eq!(ours.1, theirs.1, "{what}");
                            assert_eq!(bits(&ours.2), bits(&theirs.2), "{what}");
                            assert_eq!(ours.3, theirs.3, "{what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn seeding_draws_linfas_kmeans_plusplus_start() {
        // Blobs of several widths (a row longer than the distance's eight
        // lanes, one shorter), more rows than a parallel block, and rows
        // repeated so that many distances are zero (then k = the distinct
        // rows, where the last draws have few rows to pick from).
        let (wide, _) = blobs(6, 900, 13, 3);
        let (narrow, _) = blobs(3, 50, 3, 4);
        let repeated = Array2::from_shape_fn((40, 5), |(i, j)| ((i % 7) * (j + 1)) as f64);
        for (x, ks) in [
            (&wide, &[1usize, 2, 6, 11][..]),
            (&narrow, &[3, 8][..]),
            (&repeated, &[2, 7][..]),
        ] {
            for &k in ks {
                for seed in [0u64, 1, 99] {
                    let theirs = one_linfa_step(x, k, seed, false);
                    let ours = one_linfa_step(x, k, seed, true);
                    assert_eq!(
                        bits(&ours),
                        bits(&theirs),
                        "k = {k}, seed {seed}, {:?}",
                        x.dim()
                    );
                }
                // Runs drawn side by side draw what each draws alone.
                let seeds = [3u64, 4, 5];
                let mut rngs = seeds.map(Xoshiro256Plus::seed_from_u64);
                let together = kmeans_plusplus_runs(x.view(), k, &mut rngs);
                for (seed, start) in seeds.into_iter().zip(&together) {
                    let alone =
                        kmeans_plusplus(x.view(), k, &mut Xoshiro256Plus::seed_from_u64(seed));
                    assert_eq!(start, &alone, "k = {k}, seed {seed} among {seeds:?}");
                }
            }
        }
    }

    #[test]
    fn recovers_planted_blobs() {
        let (x, truth) = blobs(5, 200, 6, 1);
        let c = fit(x.view(), &spec(5)).expect("fit");
        let ari = adjusted_rand_index(&c.labels, &truth);
        assert!(ari > 0.9, "ARI {ari}");
    }

    #[test]
    fn assign_equals_brute_force_for_any_k_and_width() {
        let mut r = Rng::new(4);
        for (n, d, k) in [(5000, 7, 11), (300, 1, 3), (4100, 52, 8), (10, 4, 17)] {
            let x = Array2::from_shape_fn((n, d), |_| (r.below(5) as f64) * 0.5);
            let c = Array2::from_shape_fn((k, d), |_| (r.below(5) as f64) * 0.5);
            let (labels, dist) = assign(x.view(), &c);
            for i in 0..n {
                let all: Vec<f64> = (0..k)
                    .map(|j| (0..d).map(|t| (x[[i, t]] - c[[j, t]]).powi(2)).sum())
                    .collect();
                // Exact halves: distances are exact, so ties are real ties.
                let want = (0..k).fold(0, |b, j| if all[j] < all[b] { j } else { b });
                assert_eq!(labels[i], want, "row {i} (n {n}, d {d}, k {k})");
                assert_eq!(dist[i], all[want]);
            }
        }
    }

    #[test]
    fn contiguous_l2_is_linfas_l2_on_rows_and_on_strided_views() {
        use linfa_nn::distance::L2Dist;
        let mut r = Rng::new(9);
        // Every tail length around the lanes, and a long row.
        for d in (0..=2 * LANES + 1).chain([52, 301]) {
            let m = Array2::from_shape_fn((2, d), |_| r.normal() * 3.0);
            let (a, b) = (m.row(0), m.row(1));
            let ours = ContiguousL2.rdistance(a, b);
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((ours - naive).abs() <= 1e-12 * naive.max(1.0), "d {d}");
            // (linfa's panics on empty rows; ours gives 0.)
            if d > 0 {
                let theirs = L2Dist.rdistance(a, b);
                assert!((ours - theirs).abs() <= 1e-12 * theirs.max(1.0), "d {d}");
            }
            assert_eq!(ContiguousL2.distance(a, b), ours.sqrt());
            // Columns of a row-major matrix are strided: the general path.
            let t = Array2::from_shape_fn((d, 2), |(i, j)| m[[j, i]]);
            let (ca, cb) = (t.column(0), t.column(1));
            assert!(d < 2 || ca.as_slice().is_none());
            assert!((ContiguousL2.rdistance(ca, cb) - naive).abs() <= 1e-12 * naive.max(1.0));
        }
    }

    #[test]
    fn recovers_planted_blobs_through_pca() {
        // Five centres span four dimensions: four components keep them apart.
        let (x, truth) = blobs(5, 200, 12, 3);
        let p = crate::pca::Pca::fit(x.view(), 4).expect("pca");
        let z = p.transform(x.view());
        assert_eq!(z.ncols(), 4);
        let c = fit(z.view(), &spec(5)).expect("fit");
        let ari = adjusted_rand_index(&c.labels, &truth);
        assert!(ari > 0.9, "ARI {ari}");
    }

    #[test]
    fn deterministic_labels_sorted_by_size() {
        let (x, _) = blobs(4, 150, 3, 2);
        let a = fit(x.view(), &spec(4)).expect("a");
        let b = fit(x.view(), &spec(4)).expect("b");
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
        let mut sizes = vec![0; 4];
        for &l in &a.labels {
            sizes[l as usize] += 1;
        }
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    }

    #[test]
    fn polish_reaches_a_lloyd_fixed_point() {
        let (x, _) = blobs(3, 100, 2, 3);
        let c = fit(x.view(), &spec(3)).expect("fit");
        // Every centroid is the mean of its members.
        for k in 0..3 {
            let members: Vec<usize> = (0..x.nrows())
                .filter(|&i| c.labels[i] as usize == k)
                .collect();
            for j in 0..2 {
                let mean = members.iter().map(|&i| x[[i, j]]).sum::<f64>() / members.len() as f64;
                assert!((mean - c.centroids[[k, j]]).abs() < 1e-6);
            }
        }
        let direct: f64 = c.sq_dist.iter().sum();
        assert!((direct - c.inertia).abs() < 1e-9);
    }

    #[test]
    fn k_above_distinct_rows_is_a_clear_error() {
        let x = Array2::from_shape_vec((4, 1), vec![1.0, 1.0, 2.0, 2.0]).expect("shape");
        let err = fit(x.view(), &spec(3)).expect_err("too many clusters");
        assert!(err.contains("2 distinct users"), "{err}");
    }

    #[test]
    fn ari_and_silhouette_on_known_cases() {
        assert!((adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]) - 1.0).abs() < 1e-12);
        let ari = adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]);
        assert!((ari - (-0.5)).abs() < 1e-12, "{ari}");
        // Two tight pairs far apart: silhouette near 1.
        let x = Array2::from_shape_vec((4, 1), vec![0.0, 0.1, 10.0, 10.1]).expect("shape");
        let s = silhouette(
            Distances::Matrix(&pairwise(&ByFeature::new(x.view()))),
            4,
            &[0, 0, 1, 1],
            2,
        );
        assert!((s - (1.0 - 0.1 / 10.0)).abs() < 1e-3, "{s}");
    }

    #[test]
    fn silhouette_from_rows_is_the_same_bits_as_from_the_matrix_and_the_definition() {
        let mut r = Rng::new(11);
        let (m, d, k) = (97, 5, 4);
        let x = Array2::from_shape_fn((m, d), |_| r.normal());
        let labels: Vec<u16> = (0..m).map(|i| ((i * 7) % k) as u16).collect();
        let by_feature = ByFeature::new(x.view());
        let dist = pairwise(&by_feature);
        let from_matrix = silhouette(Distances::Matrix(&dist), m, &labels, k);
        let from_rows = silhouette(Distances::Rows(&by_feature), m, &labels, k);
        assert_eq!(from_matrix.to_bits(), from_rows.to_bits());
        // Each distance has the bits of a row-by-row sum in feature order.
        for i in 0..m {
            for j in 0..m {
                let sum: f64 = x
                    .row(i)
                    .iter()
                    .zip(x.row(j))
                    .map(|(p, q)| (p - q) * (p - q))
                    .sum();
                assert_eq!(dist[i * m + j].to_bits(), (sum.sqrt() as f32).to_bits());
            }
        }
        // The definition, row by row: b - a over max(a, b).
        let mean_to = |i: usize, c: u16| {
            let js: Vec<usize> = (0..m).filter(|&j| j != i && labels[j] == c).collect();
            js.iter().map(|&j| dist[i * m + j] as f64).sum::<f64>() / js.len() as f64
        };
        let naive = (0..m)
            .map(|i| {
                let a = mean_to(i, labels[i]);
                let b = (0..k as u16)
                    .filter(|&c| c != labels[i])
                    .map(|c| mean_to(i, c))
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .sum::<f64>()
            / m as f64;
        assert!((from_rows - naive).abs() < 1e-12, "{from_rows} vs {naive}");
        // Distances are symmetric with a zero diagonal.
        for i in 0..m {
            assert_eq!(dist[i * m + i], 0.0);
            for j in 0..i {
                assert_eq!(dist[i * m + j], dist[j * m + i]);
            }
        }
    }
}
