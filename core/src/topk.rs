//! Top-k selection over dense scores: blocked matrix products (ndarray's
//! GEMM) and partial selection, never a full sort of every row.
//!
//! Ties are broken by the smaller index, so results are deterministic.

use ndarray::{ArrayView2, ArrayViewMut2};
use rayon::prelude::*;

/// Rows scored per block: enough for an efficient GEMM, small enough to
/// keep the score block (`BLOCK` x items) in cache-friendly memory.
pub const BLOCK: usize = 128;

/// The `n` best (index, score) of `scores`, best first, skipping indices
/// for which `skip` is true. Ties: smaller index first.
///
/// Two vectorised passes in the usual case: the maxima of chunks of
/// `CHUNK` (16) scores give a lower bound of the n-th best score (the n-th
/// largest chunk maximum: n chunks each hold a score at least that high),
/// and only the scores at or above that bound are collected and sorted.
/// When skipped or non-finite scores leave fewer than `n` candidates above
/// the bound, the exact one-pass [`top_n_bounded`] decides.
pub fn top_n(scores: &[f32], n: usize, skip: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
    // No list is longer than its scores: a setting of 100,000,000 must not
    // reserve room for that many.
    let n = n.min(scores.len());
    if n == 0 {
        return Vec::new();
    }
    let maxima: Vec<f32> = scores.chunks(CHUNK).map(chunk_max).collect();
    if maxima.len() > n {
        let mut order = maxima.clone();
        order.select_nth_unstable_by(n - 1, |a, b| b.total_cmp(a));
        let bound = order[n - 1];
        if bound.is_finite() {
            // Candidates as one integer key each, ordered as the result is
            // (score descending, then index ascending): integer selection
            // and sorting, no comparison closure.
            let mut keys: Vec<u64> = Vec::with_capacity(4 * n);
            for (c, chunk) in scores.chunks(CHUNK).enumerate() {
                if maxima[c] < bound {
                    continue;
                }
                for (j, &s) in chunk.iter().enumerate() {
                    let i = c * CHUNK + j;
                    if s >= bound && s.is_finite() && !skip(i) {
                        keys.push((u64::from(descending(s)) << 32) | i as u64);
                    }
                }
            }
            if keys.len() >= n {
                if keys.len() > n {
                    keys.select_nth_unstable(n - 1);
                    keys.truncate(n);
                }
                keys.sort_unstable();
                return keys
                    .into_iter()
                    .map(|key| {
                        let i = (key & u64::from(u32::MAX)) as usize;
                        (i as u32, scores[i])
                    })
                    .collect();
            }
        }
    }
    top_n_bounded(scores, n, skip)
}

/// Keeps the `n` first of `items` in the order `cmp`, sorted: a partial
/// selection, then a sort of those `n` only. `cmp` must be a total order
/// with no ties (break them by index), so the result does not depend on
/// the order `items` came in.
pub fn keep_best<T>(items: &mut Vec<T>, n: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if n == 0 {
        items.clear();
        return;
    }
    if items.len() > n {
        items.select_nth_unstable_by(n - 1, &cmp);
        items.truncate(n);
    }
    items.sort_unstable_by(cmp);
}

/// The `n` first, in the order `cmp`, of items pushed in any order, with
/// [`keep_best`]'s result: a buffer of `2n` cut back to its `n` first each
/// time it fills, and an item that is not before the `n`-th of the last cut
/// is not kept (at least `n` items come before it). Choosing 10 neighbours
/// among tens of thousands of candidates then costs a comparison each
/// instead of a vector of them all and a selection over it.
pub struct BestN<T, F> {
    n: usize,
    buf: Vec<T>,
    last: Option<T>,
    cmp: F,
}

impl<T: Copy, F: Fn(&T, &T) -> std::cmp::Ordering> BestN<T, F> {
    /// An empty selection of the `n` first by `cmp` (a total order, ties
    /// broken by index).
    pub fn new(n: usize, cmp: F) -> Self {
        BestN {
            n,
            // Room grows with what is pushed: `n` is a setting, and may be
            // far more than there are candidates.
            buf: Vec::with_capacity(n.saturating_mul(2).min(1 << 12)),
            last: None,
            cmp,
        }
    }

    /// Offers an item.
    pub fn push(&mut self, item: T) {
        if self.n == 0
            || self
                .last
                .is_some_and(|l| (self.cmp)(&item, &l) != std::cmp::Ordering::Less)
        {
            return;
        }
        self.buf.push(item);
        if self.buf.len() == self.n.saturating_mul(2) {
            self.buf.select_nth_unstable_by(self.n - 1, &self.cmp);
            self.buf.truncate(self.n);
            self.last = Some(self.buf[self.n - 1]);
        }
    }

    /// The `n` first items, sorted by `cmp`.
    pub fn finish(self) -> Vec<T> {
        let mut buf = self.buf;
        keep_best(&mut buf, self.n, self.cmp);
        buf
    }
}

/// [`top_n`] in one pass with a bounded buffer: once `n` candidates are
/// held, an item must beat the current n-th best to be looked at (items come
/// in index order, so an equal score never displaces an earlier item).
pub fn top_n_bounded(scores: &[f32], n: usize, skip: impl Fn(usize) -> bool) -> Vec<(u32, f32)> {
    let n = n.min(scores.len());
    if n == 0 {
        return Vec::new();
    }
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let mut buf: Vec<(u32, f32)> = Vec::with_capacity(2 * n);
    let mut threshold = f32::NEG_INFINITY;
    let mut full = false;
    for (i, &s) in scores.iter().enumerate() {
        if !s.is_finite() || (full && s <= threshold) || skip(i) {
            continue;
        }
        buf.push((i as u32, s));
        if buf.len() == 2 * n {
            buf.select_nth_unstable_by(n - 1, better);
            buf.truncate(n);
            threshold = buf.iter().map(|e| e.1).fold(f32::INFINITY, f32::min);
            full = true;
        }
    }
    buf.sort_unstable_by(better);
    buf.truncate(n);
    buf
}

/// A key whose ascending order is the descending order of `s` (finite;
/// -0.0 after +0.0, as `total_cmp` has them).
fn descending(s: f32) -> u32 {
    let bits = s.to_bits();
    let ascending = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 0x8000_0000
    };
    !ascending
}

/// Scores per chunk in [`top_n`]'s bound: small enough that the n-th
/// largest chunk maximum is close to the n-th best score.
const CHUNK: usize = 16;

/// The largest value of `chunk` (NaN ignored), in 8 independent lanes so the
/// compiler emits vector max instructions.
fn chunk_max(chunk: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut parts = chunk.chunks_exact(8);
    for part in &mut parts {
        for (m, &x) in lanes.iter_mut().zip(part) {
            *m = if x > *m { x } else { *m };
        }
    }
    for &x in parts.remainder() {
        lanes[0] = if x > lanes[0] { x } else { lanes[0] };
    }
    lanes
        .into_iter()
        .fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a })
}

/// For every row `u` of `users` (rows x k), the `n` items with the highest
/// `users[u] . items[i] + item_bias[i]`, excluding `seen(u)` (sorted item
/// indices). Returns one list per user, best first.
pub fn top_n_all<'a>(
    users: ArrayView2<f32>,
    items: ArrayView2<f32>,
    item_bias: Option<&[f32]>,
    n: usize,
    seen: &(dyn Fn(usize) -> &'a [u32] + Sync),
) -> Vec<Vec<(u32, f32)>> {
    let (n_users, n_items, k) = (users.nrows(), items.nrows(), users.ncols());
    let (users, items) = (users.as_standard_layout(), items.as_standard_layout());
    let (us, is) = (
        users.as_slice().unwrap_or(&[]),
        items.as_slice().unwrap_or(&[]),
    );
    let blocks: Vec<usize> = (0..n_users).step_by(BLOCK).collect();
    let per_block: Vec<Vec<Vec<(u32, f32)>>> = blocks
        .par_iter()
        // One score buffer per worker, reused block after block: a fresh
        // BLOCK x items allocation per block costs its page faults each time.
        .map_init(Vec::new, |buf: &mut Vec<f32>, &start| {
            let end = (start + BLOCK).min(n_users);
            buf.resize((end - start) * n_items, 0.0);
            crate::matmul::a_bt(&us[start * k..end * k], is, buf, end - start, n_items, k);
            let Ok(mut scores) = ArrayViewMut2::from_shape((end - start, n_items), &mut buf[..])
            else {
                return Vec::new();
            };
            if let Some(b) = item_bias {
                for mut row in scores.rows_mut() {
                    for (x, bi) in row.iter_mut().zip(b) {
                        *x += bi;
                    }
                }
            }
            // Seen items are masked in the score row (non-finite scores are
            // never selected): the chunk bound then holds among the rest.
            (start..end)
                .zip(scores.rows_mut())
                .map(|(u, mut row)| {
                    let Some(row) = row.as_slice_mut() else {
                        return Vec::new();
                    };
                    for &i in seen(u) {
                        if let Some(x) = row.get_mut(i as usize) {
                            *x = f32::NEG_INFINITY;
                        }
                    }
                    top_n(row, n, |_| false)
                })
                .collect()
        })
        .collect();
    per_block.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn an_n_past_the_scores_lists_them_all_and_reserves_no_more() {
        let scores: Vec<f32> = (0..100).map(|i| ((i * 37) % 100) as f32).collect();
        let all = top_n(&scores, usize::MAX, |i| i == 5);
        assert_eq!(all.len(), 99);
        assert!(all.windows(2).all(|w| w[0].1 > w[1].1), "{all:?}");
        assert_eq!(top_n_bounded(&scores, usize::MAX, |i| i == 5), all);
        let mut best = BestN::new(usize::MAX, |a: &(u32, f32), b: &(u32, f32)| {
            b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
        });
        for (i, &s) in scores.iter().enumerate() {
            best.push((i as u32, s));
        }
        assert_eq!(best.finish().len(), 100);
    }

    #[test]
    fn top_n_equals_a_full_sort_with_ties_by_index() {
        let scores = [0.5, 0.9, 0.5, 0.1, 0.9, 0.7];
        let got = top_n(&scores, 4, |i| i == 5);
        assert_eq!(got, vec![(1, 0.9), (4, 0.9), (0, 0.5), (2, 0.5)]);
        assert_eq!(top_n(&scores, 10, |_| false).len(), 6);
        assert!(top_n(&scores, 0, |_| false).is_empty());
    }

    #[test]
    fn bounded_selection_equals_a_full_sort_on_many_ties() {
        let mut rng = crate::Rng::new(11);
        for n in [1, 3, 10, 50] {
            let scores: Vec<f32> = (0..2000).map(|_| (rng.below(20) as f32) * 0.5).collect();
            let skip = |i: usize| i % 7 == 3;
            let mut all: Vec<(u32, f32)> = scores
                .iter()
                .enumerate()
                .filter(|(i, _)| !skip(*i))
                .map(|(i, &s)| (i as u32, s))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(n);
            assert_eq!(top_n(&scores, n, skip), all, "n = {n}");
        }
    }

    proptest::proptest! {
        /// The chunk-bound path, the bounded one-pass path and a full sort
        /// agree, whatever ties, skips and non-finite scores there are.
        #[test]
        fn both_selections_equal_a_full_sort(
            raw in proptest::collection::vec(0u8..40, 0..700),
            n in 1usize..60,
            skip_mod in 1usize..9,
        ) {
            let scores: Vec<f32> = raw
                .iter()
                .map(|&r| match r {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    r => f32::from(r % 13) * 0.25,
                })
                .collect();
            let skip = |i: usize| skip_mod > 1 && i % skip_mod == 1;
            let mut all: Vec<(u32, f32)> = scores
                .iter()
                .enumerate()
                .filter(|(i, s)| s.is_finite() && !skip(*i))
                .map(|(i, &s)| (i as u32, s))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(n);
            proptest::prop_assert_eq!(&top_n(&scores, n, skip), &all);
            proptest::prop_assert_eq!(&top_n_bounded(&scores, n, skip), &all);
        }
    }

    #[test]
    fn blocked_scoring_equals_brute_force() {
        let mut rng = crate::Rng::new(5);
        let (nu, ni, k) = (300, 57, 4);
        let users = Array2::from_shape_fn((nu, k), |_| rng.normal() as f32);
        let items = Array2::from_shape_fn((ni, k), |_| rng.normal() as f32);
        let bias: Vec<f32> = (0..ni).map(|i| (i % 3) as f32 * 0.1).collect();
        let seen: Vec<Vec<u32>> = (0..nu).map(|u| vec![(u % ni) as u32]).collect();
        let got = top_n_all(users.view(), items.view(), Some(&bias), 5, &|u| &seen[u]);
        for u in [0, 137, 299] {
            let mut all: Vec<(u32, f32)> = (0..ni)
                .filter(|&i| i != u % ni)
                .map(|i| (i as u32, users.row(u).dot(&items.row(i)) + bias[i]))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let want: Vec<u32> = all.iter().take(5).map(|e| e.0).collect();
            assert_eq!(
                got[u].iter().map(|e| e.0).collect::<Vec<_>>(),
                want,
                "user {u}"
            );
        }
    }

    #[test]
    fn best_n_equals_keep_best_whatever_the_push_order() {
        let mut rng = crate::Rng::new(5);
        for n in [0usize, 1, 3, 10] {
            for len in [0usize, 5, 37, 400] {
                // Few distinct scores, so that ties are broken by index.
                let items: Vec<(u32, f32)> =
                    (0..len as u32).map(|i| (i, rng.below(7) as f32)).collect();
                let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                let mut want = items.clone();
                keep_best(&mut want, n, cmp);
                let mut shuffled = items.clone();
                rng.shuffle(&mut shuffled);
                let mut best = BestN::new(n, cmp);
                for &x in &shuffled {
                    best.push(x);
                }
                assert_eq!(best.finish(), want, "n {n}, len {len}");
            }
        }
    }

    #[test]
    fn keep_best_equals_a_full_sort_cut_to_n() {
        let mut r = crate::Rng::new(5);
        for len in [0usize, 1, 7, 50, 300] {
            // Few distinct scores, so ties must fall to the index.
            let items: Vec<(u32, f32)> = (0..len as u32)
                .map(|i| (i, (r.next_u64() % 5) as f32))
                .collect();
            let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            for n in [0usize, 1, 3, 10, 400] {
                let mut full = items.clone();
                full.sort_by(cmp);
                full.truncate(n);
                let mut kept = items.clone();
                kept.reverse();
                keep_best(&mut kept, n, cmp);
                assert_eq!(kept, full, "len {len}, n {n}");
            }
        }
    }
}
