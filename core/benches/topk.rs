//! `cargo bench -p recpipe-core --bench topk`: top-10 for every user of
//! random factor matrices at the sizes the issues name (Online Retail,
//! ML-1M and ML-20M scale), with the GEMM and the selection timed apart.

use ndarray::Array2;
use rayon::prelude::*;
use recpipe_core::Rng;
use recpipe_core::matmul::a_bt;
use recpipe_core::topk::top_n_all;
use std::time::Instant;

fn main() {
    for (users, items) in [(4338usize, 3665usize), (6040, 3706), (138_000, 27_000)] {
        let mut rng = Rng::new(7);
        let k = 64;
        let u = Array2::from_shape_fn((users, k), |_| rng.normal() as f32);
        let v = Array2::from_shape_fn((items, k), |_| rng.normal() as f32);
        let seen: Vec<Vec<u32>> = (0..users)
            .map(|x| {
                let mut s: Vec<u32> = (0..20)
                    .map(|j| ((x * 31 + j * 97) % items) as u32)
                    .collect();
                s.sort_unstable();
                s.dedup();
                s
            })
            .collect();
        let t = Instant::now();
        top_n_all(u.view(), v.view(), None, 50, &|x| &seen[x]);
        let first = t.elapsed().as_secs_f64();
        let reps = if users > 100_000 { 1 } else { 5 };
        let mut best = [f64::INFINITY; 2];
        for _ in 0..reps {
            for (b, n) in best.iter_mut().zip([10, 50]) {
                let t = Instant::now();
                let out = top_n_all(u.view(), v.view(), None, n, &|x| &seen[x]);
                *b = b.min(t.elapsed().as_secs_f64());
                assert_eq!(out.len(), users);
            }
        }
        let t = Instant::now();
        let (us, vs) = (u.as_slice().unwrap_or(&[]), v.as_slice().unwrap_or(&[]));
        let sum: f32 = (0..users)
            .step_by(256)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|s| {
                let e = (s + 256).min(users);
                let mut out = vec![0f32; (e - s) * items];
                a_bt(&us[s * k..e * k], vs, &mut out, e - s, items, k);
                out[0]
            })
            .sum();
        let gemm = t.elapsed().as_secs_f64();
        println!(
            "top-10 for {users} users x {items} items x {k} factors: top-10 {:.4} s, top-50 {:.4} s, first call {first:.4} s (GEMM alone {gemm:.4} s, checksum {sum})",
            best[0], best[1]
        );
    }
}
