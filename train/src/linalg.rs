//! Small dense linear algebra for the per-user / per-item solves.

/// Solves `A x = b` for a symmetric positive-definite `A` (n x n, row-major,
/// only the lower triangle is read) by Cholesky; `A` and `b` are overwritten
/// (`b` holds `x` on return). Returns false if `A` is not positive definite.
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    true
}

/// Small vector kernels, generic over fused multiply-add.
pub mod kernel {
    /// Whether the CPU has AVX2 and FMA (cached by std).
    #[cfg(target_arch = "x86_64")]
    pub fn has_avx2_fma() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    #[inline(always)]
    /// `a * b + c`, fused when `FMA`.
    pub fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }

    /// Dot product with eight accumulators.
    #[inline(always)]
    pub fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
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

    #[test]
    fn solves_a_known_system() {
        // A = [[4, 2], [2, 3]], x = [1, -1] -> b = [2, -1].
        let mut a = vec![4.0, 0.0, 2.0, 3.0];
        let mut b = vec![2.0, -1.0];
        assert!(cholesky_solve(&mut a, &mut b, 2));
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] + 1.0).abs() < 1e-12);
        let mut bad = vec![0.0, 0.0, 0.0, 0.0];
        assert!(!cholesky_solve(&mut bad, &mut [1.0, 1.0], 2));
    }

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((kernel::dot::<false>(&a, &b) - naive).abs() < 1e-4);
        assert!((kernel::dot::<true>(&a, &b) - naive).abs() < 1e-4);
    }
}
