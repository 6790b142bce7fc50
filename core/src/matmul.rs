//! `out = a b^T` for row-major single-precision matrices: the one product
//! that scores a block of users against every item. Through the `gemm`
//! crate (run-time choice of AVX-512, AVX2 or portable kernels), single
//! threaded: callers parallelise over fixed row blocks, so results do not
//! depend on the thread count.

/// `out[i][j] = sum_p a[i][p] b[j][p]` for `a` (`rows` x `k`), `b`
/// (`cols` x `k`) and `out` (`rows` x `cols`), all row-major and dense.
///
/// # Panics
/// If a slice is shorter than its shape says (a caller's bug, never data).
pub fn a_bt(a: &[f32], b: &[f32], out: &mut [f32], rows: usize, cols: usize, k: usize) {
    assert!(
        a.len() >= rows * k && b.len() >= cols * k && out.len() >= rows * cols,
        "a_bt: slices shorter than {rows} x {k}, {cols} x {k}, {rows} x {cols}"
    );
    if rows == 0 || cols == 0 {
        return;
    }
    if k == 0 {
        out[..rows * cols].fill(0.0);
        return;
    }
    // SAFETY: the lengths were checked above; each pointer with its
    // strides addresses only elements inside its slice: out (i, j) at
    // i cols + j, a (i, p) at i k + p, b^T (p, j) at j k + p. `read_dst`
    // is false, so `out` is written, never read.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            rows,
            cols,
            k,
            out.as_mut_ptr(),
            1,
            cols as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            k as isize,
            1,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_naive_product() {
        let mut rng = crate::Rng::new(2);
        for (rows, cols, k) in [
            (1, 1, 1),
            (7, 13, 3),
            (300, 57, 64),
            (33, 200, 100),
            (5, 4, 0),
        ] {
            let a: Vec<f32> = (0..rows * k).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..cols * k).map(|_| rng.normal() as f32).collect();
            let mut out = vec![f32::NAN; rows * cols];
            a_bt(&a, &b, &mut out, rows, cols, k);
            for i in 0..rows {
                for j in 0..cols {
                    let want: f64 = (0..k)
                        .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                        .sum();
                    let got = out[i * cols + j] as f64;
                    assert!(
                        (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                        "({i}, {j}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
