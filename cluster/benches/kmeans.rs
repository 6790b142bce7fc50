//! `cargo bench -p recpipe-cluster --bench kmeans`: one nearest-centroid
//! pass and a full fit (k = 8, 10 restarts) on 100,000 x 52 points.

use ndarray::Array2;
use recpipe_cluster::kmeans::{KMeansSpec, assign, fit};
use recpipe_core::Rng;
use std::time::Instant;

fn main() {
    let (n, d, k) = (100_000, 52, 8);
    let mut rng = Rng::new(1);
    let centers: Vec<f64> = (0..k * d).map(|_| rng.normal() * 2.0).collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| centers[(i % k) * d + j] + rng.normal());
    let c = Array2::from_shape_fn((k, d), |(i, j)| x[[i * 7, j]]);
    let t = Instant::now();
    let reps = 20;
    for _ in 0..reps {
        std::hint::black_box(assign(x.view(), &c));
    }
    println!(
        "assign {n} x {d} to {k} centroids: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    let small = x.slice(ndarray::s![..10_000, ..]);
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(assign(small, &c));
    }
    println!(
        "assign 10000 x {d} (in cache) to {k} centroids: {:.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / reps as f64
    );
    let spec = KMeansSpec {
        k,
        n_runs: 10,
        max_iterations: 300,
        tolerance: 1e-4,
        seed: 42,
    };
    let t = Instant::now();
    let fitted = fit(x.view(), &spec).expect("fit");
    println!(
        "fit k = {k}, 10 restarts: {:.3} s, inertia {:.1}, {} iterations",
        t.elapsed().as_secs_f64(),
        fitted.inertia,
        fitted.iterations
    );
}
