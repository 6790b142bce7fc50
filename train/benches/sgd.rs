//! `cargo bench -p recpipe-train --bench sgd`: 20 epochs of SGD at
//! Surprise's defaults (100 factors, lr 0.005, reg 0.02) on ML-100K's
//! `u1.base` when `../shared/data` is present, else on a synthetic set of
//! the same shape with MovieLens-like popularity skew; one and all threads.

use recpipe_core::Rng;
use recpipe_train::data::{Data, TrainSet};
use recpipe_train::model::Factors;
use recpipe_train::sgd::{Sgd, sgd};
use std::time::Instant;

fn u1_base() -> Option<Data> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/ml-100k/u1.base"
    );
    let text = std::fs::read_to_string(path).ok()?;
    let mut d = Data {
        n_users: 943,
        n_items: 1682,
        ..Data::default()
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        d.users.push(f.first()?.parse::<u32>().ok()? - 1);
        d.items.push(f.get(1)?.parse::<u32>().ok()? - 1);
        d.values.push(f.get(2)?.parse().ok()?);
        d.ts.push(0);
    }
    Some(d)
}

fn synthetic() -> Data {
    let mut rng = Rng::new(3);
    let mut d = Data {
        n_users: 943,
        n_items: 1682,
        ..Data::default()
    };
    for _ in 0..80_000 {
        // Squared uniforms: low ids far more frequent, as in MovieLens.
        let u = (rng.next_f64().powi(2) * 943.0) as u32;
        let i = (rng.next_f64().powi(2) * 1682.0) as u32;
        d.users.push(u);
        d.items.push(i);
        d.values.push((1.0 + (rng.next_f64() * 5.0).floor()) as f32);
        d.ts.push(0);
    }
    d
}

fn main() {
    let data = u1_base().unwrap_or_else(|| {
        println!("../shared/data/ml-100k absent: synthetic 80,000 ratings");
        synthetic()
    });
    let all: Vec<usize> = (0..data.len()).collect();
    let train = TrainSet::new(&data, &all);
    let settings = Sgd {
        lr: 0.005,
        reg: 0.02,
        seed: 42,
    };
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        let Ok(pool) = pool else { continue };
        let mut times = Vec::new();
        for _ in 0..15 {
            let init = Factors::random(data.n_users, data.n_items, 100, 0.1, 42, train.mean);
            let t = Instant::now();
            let m = pool.install(|| sgd(&train, init, settings, 20, |_, _| true));
            times.push(t.elapsed().as_secs_f64());
            std::hint::black_box(m);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "sgd 20 epochs, {} ratings, {threads} thread(s): min {:.4} s, median {:.4} s",
            train.nnz(),
            times[0],
            times[times.len() / 2]
        );
    }
}
