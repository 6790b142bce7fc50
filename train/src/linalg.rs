//! Small dense linear algebra for the per-user / per-item solves.

/// Solves `A x = b` for a symmetric positive-definite `A` (n x n, row-major,
/// only the upper triangle is read) by Cholesky; `A` and `b` are overwritten
/// (`b` holds `x` on return). Returns false if `A` is not positive definite.
#[inline]
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    if !cholesky_factor(a, n) {
        return false;
    }
    cholesky_substitute(a, b, n);
    true
}

/// Overwrites the upper triangle of a symmetric positive-definite `A` (n x
/// n, row-major) with its Cholesky factor `U` (`A = U^T U`). Returns false
/// if `A` is not positive definite.
///
/// Right-looking, a panel of four rows at a time: once the panel's
/// rows of `U` are known, they are subtracted from every row below it, one
/// contiguous slice at a time, which vectorises, and each entry below is
/// read and written once per panel rather than once per row of `U`. Each
/// entry still receives its subtractions in the order of `j` and its
/// division last, as in the textbook dot-product form, so the factor has
/// the same bits as that form would give. Compiled for AVX2 where the CPU
/// has it (the same operations, wider).
#[inline]
pub fn cholesky_factor(a: &mut [f64], n: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if kernel::has_avx2_fma() {
        // SAFETY: compiled for AVX2 and FMA, called after checking the CPU has both.
        #[allow(unsafe_code)]
        return unsafe { cholesky_factor_avx2(a, n) };
    }
    cholesky_factor_any(a, n)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cholesky_factor_avx2(a: &mut [f64], n: usize) -> bool {
    cholesky_factor_any(a, n)
}

/// Rows of `U` found together before the rows below them take them: each
/// entry below is read once for four subtractions. With the AVX2 build,
/// explicit ALS (64 factors) on ML-100K u1 trained in 1.18 s instead of
/// 1.41 (median of 7 interleaved runs; the same bits).
const PANEL: usize = 4;

#[inline(always)]
fn cholesky_factor_any(a: &mut [f64], n: usize) -> bool {
    for j0 in (0..n).step_by(PANEL) {
        let j1 = (j0 + PANEL).min(n);
        // The panel's rows in turn, each subtracted from the panel's rows
        // below it.
        for j in j0..j1 {
            let d = a[j * n + j];
            if d <= 0.0 || !d.is_finite() {
                return false;
            }
            let d = d.sqrt();
            let (done, rest) = a.split_at_mut((j + 1) * n);
            let row_j = &mut done[j * n..];
            row_j[j] = d;
            for u in &mut row_j[j + 1..] {
                *u /= d;
            }
            for m in j + 1..j1 {
                let f = row_j[m];
                let row_m = &mut rest[(m - j - 1) * n..(m - j) * n];
                for (x, &u) in row_m[m..].iter_mut().zip(&row_j[m..]) {
                    *x -= f * u;
                }
            }
        }
        // Then all of them from each row below, in their order.
        let (done, below) = a.split_at_mut(j1 * n);
        let panel = &done[j0 * n..];
        match j1 - j0 {
            4 => subtract_panel::<4>(panel, below, n, j1),
            3 => subtract_panel::<3>(panel, below, n, j1),
            2 => subtract_panel::<2>(panel, below, n, j1),
            _ => subtract_panel::<1>(panel, below, n, j1),
        }
    }
    true
}

/// Subtracts the `P` rows of `U` in `panel` (rows `j1 - P..j1`) from the
/// rows `below` them (rows `j1..`), on and right of each row's diagonal:
/// entry `(m, x)` less `u[j][m] * u[j][x]` for each `j` in order.
#[inline(always)]
fn subtract_panel<const P: usize>(panel: &[f64], below: &mut [f64], n: usize, j1: usize) {
    for (m, row_m) in (j1..).zip(below.chunks_exact_mut(n)) {
        let f: [f64; P] = std::array::from_fn(|t| panel[t * n + m]);
        let tails: [&[f64]; P] = std::array::from_fn(|t| &panel[t * n + m..(t + 1) * n]);
        let row = &mut row_m[m..];
        for (x, entry) in row.iter_mut().enumerate() {
            let mut v = *entry;
            for t in 0..P {
                v -= f[t] * tails[t][x];
            }
            *entry = v;
        }
    }
}

/// Solves `U^T U x = b` in place for the factor `U` that [`cholesky_factor`]
/// left in `u`, so that one factor serves many right-hand sides.
#[inline]
pub fn cholesky_substitute(u: &[f64], b: &mut [f64], n: usize) {
    // U^T z = b: each z_k, once known, is subtracted from the later entries.
    for k in 0..n {
        let z = b[k] / u[k * n + k];
        b[k] = z;
        for (bi, &uki) in b[k + 1..].iter_mut().zip(&u[k * n + k + 1..(k + 1) * n]) {
            *bi -= uki * z;
        }
    }
    // U x = z, from the last row up.
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= u[i * n + k] * b[k];
        }
        b[i] = s / u[i * n + i];
    }
}

/// Small vector kernels, generic over fused multiply-add.
pub mod kernel {
    /// Whether the CPU has AVX2 and FMA (cached by std).
    #[cfg(target_arch = "x86_64")]
    pub fn has_avx2_fma() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    /// `a . b` with the AVX2/FMA kernel when the CPU has it, for callers
    /// outside a compiled-for-AVX2 loop (scoring one prediction at a time).
    pub fn dot_auto(a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            #[target_feature(enable = "avx2,fma")]
            fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
                dot::<true>(a, b)
            }
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            #[allow(unsafe_code)]
            return unsafe { dot_avx2(a, b) };
        }
        dot::<false>(a, b)
    }

    #[inline(always)]
    /// `a * b + c`, fused when `FMA`.
    pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }

    /// Dot product with eight accumulators.
    ///
    /// With `FMA`, written with AVX intrinsics: for this loop LLVM split the
    /// eight lanes into 2- or 4-wide pieces with a shuffle per step (about
    /// half the speed of one 8-wide register), whatever the order of the
    /// final sum.
    #[inline(always)]
    pub fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if FMA {
            // SAFETY: `FMA` is true only inside functions compiled for AVX2
            // and FMA, which run only after `has_avx2_fma()` returned true.
            #[allow(unsafe_code)]
            return unsafe { x86::dot(a, b) };
        }
        let mut acc = [0f32; 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for l in 0..8 {
                acc[l] = madd::<FMA>(x[l], y[l], acc[l]);
            }
        }
        let mut s =
            ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (x, y) in ra.iter().zip(rb) {
            s = madd::<FMA>(*x, *y, s);
        }
        s
    }

    /// AVX2/FMA kernels written with intrinsics, where LLVM's own
    /// vectorisation of the generic loops was measured to be poor. Callers
    /// must have checked [`has_avx2_fma`].
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    pub mod x86 {
        use std::arch::x86_64::{
            _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_fmadd_ps, _mm_loadu_ps, _mm_movehl_ps,
            _mm_shuffle_ps, _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps,
            _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
        };

        /// `acc += sum_n weight(n, y_n . v) y_n` over the rows `y_n` of `ys`
        /// (width `8 L`) listed in `cols`, with `acc` held in `L` registers
        /// for the whole pass instead of being loaded and stored for every
        /// row. Rows out of range are skipped; short `v` or `acc` leave
        /// `acc` unchanged and return false.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[inline(always)]
        pub unsafe fn weighted_rows<const L: usize>(
            cols: &[u32],
            ys: &[f32],
            v: &[f32],
            acc: &mut [f32],
            weight: impl Fn(usize, f32) -> f32,
        ) -> bool {
            let k = 8 * L;
            if v.len() < k || acc.len() < k {
                return false;
            }
            // SAFETY: loads and stores touch v[..k], acc[..k] (checked just
            // above) and ys[c k .. c k + k] (checked per row below); the
            // caller guarantees AVX2/FMA.
            unsafe {
                let mut r = [_mm256_setzero_ps(); L];
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj = _mm256_loadu_ps(acc.as_ptr().add(8 * j));
                }
                for (n, &c) in cols.iter().enumerate() {
                    let start = c as usize * k;
                    if start + k > ys.len() {
                        continue;
                    }
                    let y = ys.as_ptr().add(start);
                    let d = dot(&ys[start..start + k], &v[..k]);
                    let w = _mm256_set1_ps(weight(n, d));
                    for (j, rj) in r.iter_mut().enumerate() {
                        *rj = _mm256_fmadd_ps(w, _mm256_loadu_ps(y.add(8 * j)), *rj);
                    }
                }
                for (j, rj) in r.iter().enumerate() {
                    _mm256_storeu_ps(acc.as_mut_ptr().add(8 * j), *rj);
                }
            }
            true
        }

        /// `a . b` over the shorter length: two 8-wide FMA accumulators
        /// (alternate blocks of 8), added, then reduced high half onto low
        /// half, then pairwise.
        ///
        /// # Safety
        /// The CPU must support AVX2 and FMA.
        #[inline(always)]
        pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
            let n = a.len().min(b.len());
            let full = n / 8 * 8;
            // SAFETY: every 8-wide load reads at offset i with i + 8 <= full,
            // the 4-wide one at full with full + 4 <= n; n is at most the
            // length of both slices; the caller guarantees AVX2/FMA.
            unsafe {
                // Two accumulators: half the dependent chain of FMAs.
                let (mut acc, mut acc2) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                let mut i = 0;
                while i + 16 <= full {
                    let x = _mm256_loadu_ps(a.as_ptr().add(i));
                    let y = _mm256_loadu_ps(b.as_ptr().add(i));
                    acc = _mm256_fmadd_ps(x, y, acc);
                    let x2 = _mm256_loadu_ps(a.as_ptr().add(i + 8));
                    let y2 = _mm256_loadu_ps(b.as_ptr().add(i + 8));
                    acc2 = _mm256_fmadd_ps(x2, y2, acc2);
                    i += 16;
                }
                if i < full {
                    let x = _mm256_loadu_ps(a.as_ptr().add(i));
                    let y = _mm256_loadu_ps(b.as_ptr().add(i));
                    acc = _mm256_fmadd_ps(x, y, acc);
                }
                let acc = _mm256_add_ps(acc, acc2);
                let mut four =
                    _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
                // A block of 4 left (100 factors, Surprise's default) goes
                // into the 4-wide sum rather than a serial tail.
                let mut tail = full;
                if n - full >= 4 {
                    four = _mm_fmadd_ps(
                        _mm_loadu_ps(a.as_ptr().add(full)),
                        _mm_loadu_ps(b.as_ptr().add(full)),
                        four,
                    );
                    tail += 4;
                }
                let two = _mm_add_ps(four, _mm_movehl_ps(four, four));
                let mut s = _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
                for j in tail..n {
                    s = a[j].mul_add(b[j], s);
                }
                s
            }
        }
    }

    /// Whether the CPU has AVX-512F (cached by std).
    #[cfg(target_arch = "x86_64")]
    pub fn has_avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
    }

    /// AVX-512 kernels, for CPUs where [`has_avx512`] is true.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    pub mod x86_512 {
        use std::arch::x86_64::{
            __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps,
            _mm512_reduce_add_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
        };

        /// One SGD step on a rating whose user and item rows, of width
        /// `16 L` (callers pad with zeros, which stay zero), are held in
        /// `2 L` registers from load to store:
        /// `e = r - (mu + bu + bi + p . q)`, `bu += lr (e - reg bu)`,
        /// `bi += lr (e - reg bi)`, `p <- p (1 - lr reg) + lr e q` and
        /// `q <- q (1 - lr reg) + lr e p` (old values on the right).
        /// Returns false, touching nothing, if a row is shorter than `16 L`.
        ///
        /// # Safety
        /// The CPU must support AVX-512F.
        #[inline(always)]
        pub unsafe fn sgd_step<const L: usize>(
            x: super::SgdRating<'_>,
            (mu, lr, reg): (f32, f32, f32),
        ) -> bool {
            if x.p.len() < 16 * L || x.q.len() < 16 * L {
                return false;
            }
            // SAFETY: register j covers lanes 16 j .. 16 j + 16 < 16 L, and
            // both rows hold at least 16 L lanes (checked above). The caller
            // guarantees AVX-512F.
            unsafe {
                let mut pr = [_mm512_setzero_ps(); L];
                let mut qr = [_mm512_setzero_ps(); L];
                let mut acc: [__m512; 2] = [_mm512_setzero_ps(); 2];
                for j in 0..L {
                    pr[j] = _mm512_loadu_ps(x.p.as_ptr().add(16 * j));
                    qr[j] = _mm512_loadu_ps(x.q.as_ptr().add(16 * j));
                    acc[j % 2] = _mm512_fmadd_ps(pr[j], qr[j], acc[j % 2]);
                }
                let d = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
                let e = x.r - (mu + *x.bu + *x.bi + d);
                *x.bu += lr * (e - reg * *x.bu);
                *x.bi += lr * (e - reg * *x.bi);
                let (g, keep) = (_mm512_set1_ps(lr * e), _mm512_set1_ps(1.0 - lr * reg));
                for j in 0..L {
                    let np = _mm512_fmadd_ps(g, qr[j], _mm512_mul_ps(keep, pr[j]));
                    let nq = _mm512_fmadd_ps(g, pr[j], _mm512_mul_ps(keep, qr[j]));
                    _mm512_storeu_ps(x.p.as_mut_ptr().add(16 * j), np);
                    _mm512_storeu_ps(x.q.as_mut_ptr().add(16 * j), nq);
                }
            }
            true
        }
    }

    /// One rating seen by an SGD step: its value, and the user's and the
    /// item's rows and biases.
    pub struct SgdRating<'a> {
        /// User row.
        pub p: &'a mut [f32],
        /// Item row.
        pub q: &'a mut [f32],
        /// User bias.
        pub bu: &'a mut f32,
        /// Item bias.
        pub bi: &'a mut f32,
        /// The rating.
        pub r: f32,
    }

    /// `y += alpha x`.
    #[inline(always)]
    pub fn axpy<const FMA: bool>(alpha: f32, x: &[f32], y: &mut [f32]) {
        for (yi, xi) in y.iter_mut().zip(x) {
            *yi = madd::<FMA>(alpha, *xi, *yi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `M M^T + ridge I` for a random n x n `M`: symmetric positive definite.
    fn spd(n: usize, ridge: f64, seed: u64) -> Vec<f64> {
        let mut r = recpipe_core::Rng::new(seed);
        let m: Vec<f64> = (0..n * n).map(|_| r.next_f64() - 0.5).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| m[i * n + k] * m[j * n + k]).sum::<f64>()
                    + if i == j { ridge } else { 0.0 };
            }
        }
        a
    }

    #[test]
    fn one_factor_solves_each_right_hand_side_as_a_fresh_solve_does() {
        let n = 7;
        let a = spd(n, 1.0, 3);
        let mut l = a.clone();
        assert!(cholesky_factor(&mut l, n));
        for c in 0..4 {
            let b: Vec<f64> = (0..n).map(|i| (i * (c + 2)) as f64 - 3.0).collect();
            let (mut fresh, mut x) = (a.clone(), b.clone());
            assert!(cholesky_solve(&mut fresh, &mut x, n));
            let mut y = b.clone();
            cholesky_substitute(&l, &mut y, n);
            assert_eq!(x, y, "rhs {c}");
            // And it solves the system.
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[i * n + j] * y[j]).sum();
                assert!((ax - b[i]).abs() < 1e-9, "row {i}: {ax} vs {}", b[i]);
            }
        }
        let mut not_pd = vec![1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_factor(&mut not_pd, 2));
    }

    #[test]
    fn the_right_looking_factor_has_the_bits_of_the_dot_product_form() {
        for n in [1usize, 2, 3, 4, 5, 6, 8, 9, 17, 64, 65] {
            let a = spd(n, 0.1, n as u64);
            // The textbook form: l_ij = (a_ij - sum_k l_ik l_jk) / l_jj.
            let mut l = a.clone();
            for j in 0..n {
                let mut d = l[j * n + j];
                for k in 0..j {
                    d -= l[j * n + k] * l[j * n + k];
                }
                let d = d.sqrt();
                l[j * n + j] = d;
                for i in j + 1..n {
                    let mut s = l[i * n + j];
                    for k in 0..j {
                        s -= l[i * n + k] * l[j * n + k];
                    }
                    l[i * n + j] = s / d;
                }
            }
            let mut u = a.clone();
            assert!(cholesky_factor(&mut u, n));
            for i in 0..n {
                for j in 0..=i {
                    assert_eq!(
                        u[j * n + i].to_bits(),
                        l[i * n + j].to_bits(),
                        "n {n} ({i}, {j})"
                    );
                }
            }
        }
    }

    #[test]
    fn solves_a_known_system() {
        // A = [[4, 2], [2, 3]] (upper triangle only), x = [1, -1] -> b = [2, -1].
        let mut a = vec![4.0, 2.0, 0.0, 3.0];
        let mut b = vec![2.0, -1.0];
        assert!(cholesky_solve(&mut a, &mut b, 2));
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] + 1.0).abs() < 1e-12);
        let mut bad = vec![0.0, 0.0, 0.0, 0.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0], 2));
    }

    /// The AVX-512 step against the update written out in f64, for widths
    /// that fill, miss and just spill over a 16-lane register.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_sgd_step_matches_the_scalar_update() {
        if !kernel::has_avx512() {
            eprintln!("SKIPPED: this CPU has no AVX-512F");
            return;
        }
        for k in [1usize, 15, 16, 17, 64, 100, 128] {
            let p0: Vec<f32> = (0..k).map(|j| ((j * 7 % 11) as f32 - 5.0) * 0.03).collect();
            let q0: Vec<f32> = (0..k).map(|j| ((j * 5 % 13) as f32 - 6.0) * 0.02).collect();
            let (mu, lr, reg, r, bu0, bi0) = (3.5f64, 0.05f64, 0.1f64, 4.0f64, 0.2f64, -0.3f64);
            let d: f64 = p0.iter().zip(&q0).map(|(a, b)| *a as f64 * *b as f64).sum();
            let e = r - (mu + bu0 + bi0 + d);
            let want_p: Vec<f64> = (0..k)
                .map(|j| p0[j] as f64 + lr * (e * q0[j] as f64 - reg * p0[j] as f64))
                .collect();
            let want_q: Vec<f64> = (0..k)
                .map(|j| q0[j] as f64 + lr * (e * p0[j] as f64 - reg * q0[j] as f64))
                .collect();
            // Rows padded with zeros to whole registers, plus one lane
            // past them that must stay untouched.
            let width = k.div_ceil(16) * 16;
            let (mut p, mut q) = (p0.clone(), q0.clone());
            p.resize(width, 0.0);
            q.resize(width, 0.0);
            p.push(9.0);
            q.push(9.0);
            let (mut bu, mut bi) = (bu0 as f32, bi0 as f32);
            let x = kernel::SgdRating {
                p: &mut p,
                q: &mut q,
                bu: &mut bu,
                bi: &mut bi,
                r: r as f32,
            };
            let scalars = (mu as f32, lr as f32, reg as f32);
            #[allow(unsafe_code)]
            // SAFETY: AVX-512F checked at the top of the test.
            let done = unsafe {
                match width / 16 {
                    1 => kernel::x86_512::sgd_step::<1>(x, scalars),
                    2 => kernel::x86_512::sgd_step::<2>(x, scalars),
                    4 => kernel::x86_512::sgd_step::<4>(x, scalars),
                    7 => kernel::x86_512::sgd_step::<7>(x, scalars),
                    _ => kernel::x86_512::sgd_step::<8>(x, scalars),
                }
            };
            assert!(done, "k {k}");
            for j in 0..k {
                assert!((p[j] as f64 - want_p[j]).abs() < 1e-6, "k {k} p[{j}]");
                assert!((q[j] as f64 - want_q[j]).abs() < 1e-6, "k {k} q[{j}]");
            }
            assert!(
                p[k..width].iter().chain(&q[k..width]).all(|&v| v == 0.0),
                "k {k}: padding"
            );
            assert_eq!(
                (p[width], q[width]),
                (9.0, 9.0),
                "k {k}: wrote past the row"
            );
            assert!((bu as f64 - (bu0 + lr * (e - reg * bu0))).abs() < 1e-6);
            assert!((bi as f64 - (bi0 + lr * (e - reg * bi0))).abs() < 1e-6);
        }
    }

    #[test]
    fn dot_matches_naive() {
        for n in [0, 3, 8, 19, 40, 64, 100] {
            let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 * 0.1).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let tol = 1e-5 * (1.0 + naive.abs());
            assert!(
                (kernel::dot::<false>(&a, &b) as f64 - naive).abs() < tol,
                "n {n}"
            );
            #[cfg(target_arch = "x86_64")]
            if kernel::has_avx2_fma() {
                assert!(
                    (kernel::dot::<true>(&a, &b) as f64 - naive).abs() < tol,
                    "n {n}"
                );
            }
        }
    }

    /// The register-held accumulation equals a plain f64 computation.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn weighted_rows_matches_a_plain_sum() {
        if !kernel::has_avx2_fma() {
            eprintln!("SKIPPED: this CPU has no AVX2/FMA");
            return;
        }
        fn check<const L: usize>() {
            let k = 8 * L;
            let mut rng = recpipe_core::Rng::new(L as u64);
            let ys: Vec<f32> = (0..20 * k).map(|_| rng.normal() as f32).collect();
            let v: Vec<f32> = (0..k).map(|_| rng.normal() as f32).collect();
            let start: Vec<f32> = (0..k).map(|_| rng.normal() as f32).collect();
            // Row 25 is out of range and must be skipped.
            let cols = [3u32, 0, 19, 7, 7, 25, 12];
            let weight = |n: usize, d: f32| 0.5 + n as f32 * 0.1 - 0.3 * d;
            let mut acc = start.clone();
            // SAFETY: AVX2 and FMA were checked above.
            #[allow(unsafe_code)]
            let done = unsafe { kernel::x86::weighted_rows::<L>(&cols, &ys, &v, &mut acc, weight) };
            assert!(done);
            let mut want: Vec<f64> = start.iter().map(|&x| x as f64).collect();
            for (n, &c) in cols.iter().enumerate() {
                let Some(y) = ys.get(c as usize * k..(c as usize + 1) * k) else {
                    continue;
                };
                let d: f64 = y.iter().zip(&v).map(|(a, b)| *a as f64 * *b as f64).sum();
                let w = weight(n, d as f32) as f64;
                for (o, &yj) in want.iter_mut().zip(y) {
                    *o += w * yj as f64;
                }
            }
            for (g, w) in acc.iter().zip(&want) {
                assert!(
                    (*g as f64 - w).abs() < 1e-3 * (1.0 + w.abs()),
                    "L {L}: {g} vs {w}"
                );
            }
            // Too short a vector: nothing happens.
            let mut short = vec![0f32; k - 1];
            #[allow(unsafe_code)]
            let done =
                unsafe { kernel::x86::weighted_rows::<L>(&cols, &ys, &v, &mut short, weight) };
            assert!(!done && short.iter().all(|&x| x == 0.0));
        }
        check::<4>();
        check::<8>();
        check::<16>();
    }
}
