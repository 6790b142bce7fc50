//! Biased matrix factorisation by stochastic gradient descent, with the
//! semantics of Surprise's `SVD`: factors drawn from N(init_mean, init_std),
//! biases from zero, and per rating
//! `e = r - (mu + b_u + b_i + p_u . q_i)`,
//! `b_u += lr (e - reg b_u)`, `b_i += lr (e - reg b_i)`,
//! `p_u += lr (e q_i - reg p_u)`, `q_i += lr (e p_u - reg q_i)`.
//! Unlike Surprise, the ratings are shuffled every epoch (from the seed), and
//! epochs follow a stratified block schedule that runs on several threads
//! while giving the same result whatever the thread count. On AVX-512 CPUs
//! a step keeps both rows in registers from load to store (rows are padded
//! to whole registers in the working copies); elsewhere an AVX2/FMA or a
//! portable loop does the same arithmetic.

use ndarray::Array2;
use recpipe_core::Rng;
use std::sync::{Barrier, Mutex};

use crate::data::TrainSet;
use crate::linalg::kernel::{self, SgdRating};
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

/// One task of an epoch: ratings to visit in order (local row indices),
/// the rows and biases of their user and item blocks (`k` floats a row),
/// the global mean and the settings.
struct Pass<'a> {
    order: &'a [(u32, u32, f32)],
    users: &'a mut [f32],
    items: &'a mut [f32],
    ub: &'a mut [f32],
    ib: &'a mut [f32],
    mu: f32,
    s: Sgd,
    k: usize,
}

impl Pass<'_> {
    /// Hands `step` each rating of the pass in order, with its user's and
    /// item's rows and biases.
    #[inline(always)]
    fn each(self, mut step: impl FnMut(SgdRating<'_>)) {
        let k = self.k;
        for &(u, i, r) in self.order {
            let (u, i) = (u as usize, i as usize);
            step(SgdRating {
                p: &mut self.users[u * k..(u + 1) * k],
                q: &mut self.items[i * k..(i + 1) * k],
                bu: &mut self.ub[u],
                bi: &mut self.ib[i],
                r,
            });
        }
    }
}

/// One pass over `order`, compiled for AVX2+FMA (chosen at run time) or the baseline target.
#[inline(always)]
fn epoch_body<const FMA: bool>(pass: Pass<'_>) {
    let (mu, s) = (pass.mu, pass.s);
    // p += lr (e q - reg p), written as p (1 - lr reg) + (lr e) q: the same
    // update in half the arithmetic.
    let keep = 1.0 - s.lr * s.reg;
    pass.each(|x| {
        let e = x.r - (mu + *x.bu + *x.bi + kernel::dot::<FMA>(x.p, x.q));
        *x.bu += s.lr * (e - s.reg * *x.bu);
        *x.bi += s.lr * (e - s.reg * *x.bi);
        let le = s.lr * e;
        for (p, q) in x.p.iter_mut().zip(x.q.iter_mut()) {
            let (p0, q0) = (*p, *q);
            *p = kernel::madd::<FMA>(le, q0, p0 * keep);
            *q = kernel::madd::<FMA>(le, p0, q0 * keep);
        }
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn epoch_avx2(pass: Pass<'_>) {
    epoch_body::<true>(pass)
}

/// One pass over `order` with each rating's two rows held in AVX-512
/// registers from load to store; rows are `16 L` wide (zero padded).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn epoch_avx512<const L: usize>(pass: Pass<'_>) {
    let scalars = (pass.mu, pass.s.lr, pass.s.reg);
    pass.each(|rating| {
        // SAFETY: this function runs only after `has_avx512()` returned true.
        #[allow(unsafe_code)]
        unsafe {
            kernel::x86_512::sgd_step::<L>(rating, scalars);
        }
    });
}

/// Registers per row of `k` factors for the AVX-512 step, when the CPU has
/// AVX-512F and rows fit in 8 registers.
fn avx512_registers(k: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if kernel::has_avx512() && (1..=8).contains(&k.div_ceil(16)) {
        return Some(k.div_ceil(16));
    }
    None
}

/// One pass over `order` (rows `k` wide) with the widest kernel the CPU and
/// `k` allow: AVX-512 when `k` is a whole number of registers (see
/// [`avx512_registers`]), else AVX2/FMA, else portable code.
fn run_epoch(pass: Pass<'_>) {
    let k = pass.k;
    #[cfg(target_arch = "x86_64")]
    if avx512_registers(k).is_some_and(|l| l * 16 == k) {
        macro_rules! registers {
            ($($l:literal)*) => {
                match k / 16 {
                    $($l => epoch_avx512::<$l>(pass),)*
                    _ => epoch_avx512::<8>(pass),
                }
            };
        }
        // SAFETY: the CPU supports AVX-512F (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            registers!(1 2 3 4 5 6 7)
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kernel::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
        #[allow(unsafe_code)]
        unsafe {
            return epoch_avx2(pass);
        }
    }
    epoch_body::<false>(pass)
}

/// Blocks per side of the stratified schedule. Fixed, so that the result
/// does not depend on the thread count.
const BLOCKS: usize = 4;

/// Rows (users or items) grouped into [`BLOCKS`] blocks of about equal
/// rating counts, so that the parallel tasks of a sub-epoch are balanced
/// even when ids are ordered by popularity.
struct Blocks {
    /// Rows in block order (new position -> original row).
    order: Vec<usize>,
    /// Position of each original row in `order`.
    position: Vec<usize>,
    /// Start of each block in `order` (`BLOCKS + 1` entries).
    starts: Vec<usize>,
}

impl Blocks {
    /// Greedy longest-first assignment: the busiest row goes to the least
    /// loaded block (ties: lower row, lower block); rows keep their order
    /// inside a block.
    fn balanced(counts: &[usize]) -> Self {
        let mut by_count: Vec<usize> = (0..counts.len()).collect();
        by_count.sort_by_key(|&r| (std::cmp::Reverse(counts[r]), r));
        let mut load = [0usize; BLOCKS];
        let mut block = vec![0usize; counts.len()];
        for r in by_count {
            let b = (0..BLOCKS).min_by_key(|&b| (load[b], b)).unwrap_or(0);
            load[b] += counts[r].max(1);
            block[r] = b;
        }
        let mut order = Vec::with_capacity(counts.len());
        let mut starts = vec![0];
        for b in 0..BLOCKS {
            order.extend((0..counts.len()).filter(|&r| block[r] == b));
            starts.push(order.len());
        }
        let mut position = vec![0; counts.len()];
        for (p, &r) in order.iter().enumerate() {
            position[r] = p;
        }
        Blocks {
            order,
            position,
            starts,
        }
    }

    /// Block of the row at `position`, and the position inside it.
    fn locate(&self, position: usize) -> (usize, usize) {
        let b = self.starts.partition_point(|&s| s <= position) - 1;
        (b, position - self.starts[b])
    }

    /// `rows` (rows x k, original order) in block order, each row padded
    /// with zeros to `width` (>= k).
    fn permute(&self, rows: &Array2<f32>, width: usize) -> Vec<f32> {
        debug_assert!(width >= rows.ncols());
        let mut out = vec![0f32; self.order.len() * width];
        for (to, &r) in out.chunks_exact_mut(width.max(1)).zip(&self.order) {
            for (t, f) in to.iter_mut().zip(rows.row(r)) {
                *t = *f;
            }
        }
        out
    }

    /// `values` (one per row, original order) in block order.
    fn permute_vec(&self, values: &[f32]) -> Vec<f32> {
        self.order.iter().map(|&r| values[r]).collect()
    }

    /// Writes `rows` (block order, `width` apart) and `values` (block
    /// order) back into `out_rows` and `out_values` (original order);
    /// whole-row copies, as this runs after every epoch.
    fn restore(
        &self,
        rows: &[f32],
        width: usize,
        values: &[f32],
        out_rows: &mut Array2<f32>,
        out_values: &mut [f32],
    ) {
        let k = out_rows.ncols();
        let from_rows = rows.chunks_exact(width.max(1)).zip(&self.order);
        if let Some(dst) = out_rows.as_slice_mut() {
            for (from, &r) in from_rows {
                dst[r * k..(r + 1) * k].copy_from_slice(&from[..k]);
            }
        } else {
            for (from, &r) in from_rows {
                for (t, f) in out_rows.row_mut(r).iter_mut().zip(from) {
                    *t = *f;
                }
            }
        }
        for (&v, &r) in values.iter().zip(&self.order) {
            out_values[r] = v;
        }
    }

    /// `data` (rows x `width`, block order) cut into one slice per block.
    fn split<'a>(&self, mut data: &'a mut [f32], width: usize) -> Vec<&'a mut [f32]> {
        let mut parts = Vec::with_capacity(BLOCKS);
        for b in 0..BLOCKS {
            let len = ((self.starts[b + 1] - self.starts[b]) * width).min(data.len());
            let (head, tail) = std::mem::take(&mut data).split_at_mut(len);
            parts.push(head);
            data = tail;
        }
        parts
    }
}

/// The item block that user block `b` meets in sub-epoch `sub`: `b` xor a
/// fixed order of the offsets (a Latin square), chosen so that blocks
/// {0, 2} and {1, 3} meet only each other in the first two sub-epochs and
/// only the other pair in the last two.
fn item_block(b: usize, sub: usize) -> usize {
    const OFFSETS: [usize; BLOCKS] = [0, 2, 1, 3];
    b ^ OFFSETS[sub]
}

/// One worker's share of an epoch: a user block, its factors and biases,
/// and its ratings cut by item block.
struct UserBlock<'a> {
    block: usize,
    factors: &'a mut [f32],
    bias: &'a mut [f32],
    orders: &'a mut [Vec<(u32, u32, f32)>],
}

/// Runs `epochs` epochs from `model`, calling `after` after each.
///
/// Stratified schedule (as in distributed SGD): users and items are cut into
/// `BLOCKS` blocks of balanced rating counts; an epoch is `BLOCKS`
/// sub-epochs, and in sub-epoch `s` the blocks (b, `item_block(b, s)`)
/// touch disjoint users and items, so they run in parallel, each shuffling its own
/// ratings (from the seed) and visiting them once. Which thread runs a block
/// changes nothing in the result.
pub fn sgd(
    train: &TrainSet,
    mut model: Factors,
    s: Sgd,
    epochs: usize,
    mut after: impl FnMut(usize, &Factors) -> bool,
) -> Factors {
    model.mu = train.mean;
    let k = model.k();
    let counts = |c: &crate::data::Csr| -> Vec<usize> {
        (0..c.rows())
            .map(|r| c.offsets[r + 1] - c.offsets[r])
            .collect()
    };
    let (ublocks, iblocks) = (
        Blocks::balanced(&counts(&train.by_user)),
        Blocks::balanced(&counts(&train.by_item)),
    );
    let by_user = &train.by_user;
    let mut buckets: Vec<Vec<(u32, u32, f32)>> = vec![Vec::new(); BLOCKS * BLOCKS];
    for u in 0..by_user.rows() {
        let (bu, lu) = ublocks.locate(ublocks.position[u]);
        for (&i, &v) in by_user.cols(u).iter().zip(by_user.vals(u)) {
            let (bi, li) = iblocks.locate(iblocks.position[i as usize]);
            buckets[bu * BLOCKS + bi].push((lu as u32, li as u32, v));
        }
    }
    let mu = model.mu;
    // Rows padded to whole AVX-512 registers where that kernel runs: the
    // zero lanes add nothing to a dot product and stay zero.
    let width = avx512_registers(k).map_or(k, |l| 16 * l);
    let mut user = ublocks.permute(&model.user, width);
    let mut item = iblocks.permute(&model.item, width);
    let mut user_bias = ublocks.permute_vec(&model.user_bias);
    let mut item_bias = iblocks.permute_vec(&model.item_bias);
    // One OS thread per worker and epoch, each owning fixed user blocks;
    // item blocks pass between workers at the barrier that ends a sub-epoch
    // (the locks are never contended: the schedule keeps the blocks of a
    // sub-epoch disjoint). Far cheaper than a dispatch per sub-epoch when a
    // sub-epoch lasts a fraction of a millisecond. Not rayon tasks: a task
    // blocked at the barrier would hold a pool thread, and two fits sharing
    // a pool could wait on each other for ever (measured within 1 ms of
    // rayon tasks on ML-100K).
    let workers = rayon::current_num_threads().clamp(1, BLOCKS);
    // Worker w owns the user blocks b with b % workers == w. A barrier is
    // needed after a sub-epoch only where an item block changes owner for
    // the next one: with two workers, once per epoch instead of three times.
    let wait_after: Vec<bool> = (0..BLOCKS)
        .map(|sub| {
            sub + 1 < BLOCKS
                && (0..BLOCKS).any(|b| {
                    let j = item_block(b, sub);
                    let next_owner = (0..BLOCKS).find(|&c| item_block(c, sub + 1) == j);
                    next_owner.is_some_and(|c| c % workers != b % workers)
                })
        })
        .collect();
    for epoch in 0..epochs {
        let items: Vec<Mutex<&mut [f32]>> = iblocks
            .split(&mut item, width)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let ibias: Vec<Mutex<&mut [f32]>> = iblocks
            .split(&mut item_bias, 1)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let mut owned: Vec<Vec<UserBlock>> = (0..workers).map(|_| Vec::new()).collect();
        let users = ublocks.split(&mut user, width);
        let ubias = ublocks.split(&mut user_bias, 1);
        for (b, ((factors, bias), orders)) in users
            .into_iter()
            .zip(ubias)
            .zip(buckets.chunks_mut(BLOCKS))
            .enumerate()
        {
            owned[b % workers].push(UserBlock {
                block: b,
                factors,
                bias,
                orders,
            });
        }
        let barrier = Barrier::new(workers);
        let work = |mut mine: Vec<UserBlock>| {
            for (sub, &wait) in wait_after.iter().enumerate() {
                for ub in mine.iter_mut() {
                    let j = item_block(ub.block, sub);
                    let mut qf = items[j].lock().unwrap_or_else(|e| e.into_inner());
                    let mut qb = ibias[j].lock().unwrap_or_else(|e| e.into_inner());
                    let order = &mut ub.orders[j];
                    let stream = epoch * BLOCKS * BLOCKS + ub.block * BLOCKS + j;
                    Rng::derive(s.seed, stream as u64).shuffle(order);
                    run_epoch(Pass {
                        order,
                        users: ub.factors,
                        items: &mut qf,
                        ub: ub.bias,
                        ib: &mut qb,
                        mu,
                        s,
                        k: width,
                    });
                }
                if wait {
                    barrier.wait();
                }
            }
        };
        std::thread::scope(|scope| {
            let mut owned = owned.into_iter();
            let first = owned.next();
            for mine in owned {
                scope.spawn(|| work(mine));
            }
            if let Some(mine) = first {
                work(mine);
            }
        });
        ublocks.restore(
            &user,
            width,
            &user_bias,
            &mut model.user,
            &mut model.user_bias,
        );
        iblocks.restore(
            &item,
            width,
            &item_bias,
            &mut model.item,
            &mut model.item_bias,
        );
        if !after(epoch, &model) {
            break;
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_a_latin_square() {
        for sub in 0..BLOCKS {
            let mut items: Vec<usize> = (0..BLOCKS).map(|b| item_block(b, sub)).collect();
            items.sort_unstable();
            assert_eq!(items, (0..BLOCKS).collect::<Vec<_>>(), "sub-epoch {sub}");
        }
        for b in 0..BLOCKS {
            let mut met: Vec<usize> = (0..BLOCKS).map(|sub| item_block(b, sub)).collect();
            met.sort_unstable();
            assert_eq!(met, (0..BLOCKS).collect::<Vec<_>>(), "user block {b}");
        }
    }

    #[test]
    fn balanced_blocks_hold_every_row_once_with_even_loads() {
        // Popularity falling with the id, as in MovieLens: contiguous ranges
        // would put most ratings in the first block.
        let counts: Vec<usize> = (0..400).map(|r| 4000 / (r + 1)).collect();
        let b = Blocks::balanced(&counts);
        let mut seen = b.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..400).collect::<Vec<_>>());
        let loads: Vec<usize> = (0..BLOCKS)
            .map(|k| {
                b.order[b.starts[k]..b.starts[k + 1]]
                    .iter()
                    .map(|&r| counts[r])
                    .sum()
            })
            .collect();
        let (lo, hi) = (loads.iter().min(), loads.iter().max());
        assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 4000), "{loads:?}");
        for (p, &r) in b.order.iter().enumerate() {
            assert_eq!(b.position[r], p);
            let (blk, local) = b.locate(p);
            assert_eq!(b.starts[blk] + local, p);
        }
    }
}
