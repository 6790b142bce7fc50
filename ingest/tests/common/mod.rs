//! Helpers the ingest tests share: parameters from YAML, a stage context,
//! a run that returns the report (on a pool of a chosen size), the rejects
//! it wrote, fixtures, the real data when present, and for the model tests
//! a seeded generator and the dense order of ids.

#![allow(dead_code)] // each test crate uses its own part

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use recpipe_core::progress::Progress;
use recpipe_core::stage::StageContext;
use recpipe_ingest::IngestParams;
use serde_json::Value;

/// The stage's parameters from a `with:` block written as YAML.
pub fn params(yaml: &str) -> IngestParams {
    IngestParams::from_yaml(&serde_yaml::from_str(yaml).expect("yaml")).expect("params")
}

/// A quiet stage context writing into `out` (created).
pub fn ctx(out: &Path) -> StageContext {
    std::fs::create_dir_all(out).expect("mkdir");
    StageContext {
        name: "ingest".into(),
        out_dir: out.to_path_buf(),
        upstream: vec![],
        base_dir: PathBuf::from("/"),
        progress: Progress::quiet(),
        fingerprint: String::new(),
    }
}

/// Runs the stage into `out`; its report.
pub fn run(yaml: &str, out: &Path) -> Result<Value, recpipe_ingest::IngestError> {
    recpipe_ingest::run(&params(yaml), &ctx(out))?;
    let report = std::fs::read(out.join("ingest_report.json")).expect("report");
    Ok(serde_json::from_slice(&report).expect("json"))
}

/// [`run`] on a pool of `threads` threads (the chunking and the side-by-side
/// work depend on the count; the outputs must not).
pub fn run_on(
    threads: usize,
    yaml: &str,
    out: &Path,
) -> Result<Value, recpipe_ingest::IngestError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| run(yaml, out))
}

/// Writes `columns` to `path` as a Parquet log.
pub fn write_parquet_log(path: &Path, columns: Vec<(&str, arrow::array::ArrayRef)>) {
    let batch = recpipe_core::parquet_io::batch(path, columns).expect("batch");
    recpipe_core::write_parquet(path, &batch).expect("write");
}

/// The rejects a run wrote into `out`: (line, reason, raw text), in file order.
pub fn rejects_written(out: &Path) -> Vec<(u64, String, String)> {
    let rejects = recpipe_core::ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    let lines = rejects
        .values::<arrow::datatypes::UInt64Type>("line")
        .expect("line");
    let text = |c: &'static str| {
        let values = rejects.strings(c).expect(c);
        values.into_iter().map(move |s| s.expect(c))
    };
    lines
        .iter()
        .copied()
        .zip(text("reason"))
        .zip(text("raw"))
        .map(|((l, why), raw)| (l, why, raw))
        .collect()
}

/// Writes a fixture file `dir/name` (creating `dir`).
pub fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join(name), bytes).expect("write");
}

/// A file of `../shared/data`, or `None` with a visible SKIPPED line.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent (tests on the real data need ../shared/data)",
            p.display()
        );
        None
    }
}

/// The report's rejected rows by reason.
pub fn reasons(report: &Value) -> std::collections::BTreeMap<String, u64> {
    serde_json::from_value(report["rejected_by_reason"].clone()).expect("reasons")
}

/// A small xorshift generator, for data that depends on a seed only.
pub struct Rng(u64);

impl Rng {
    /// A generator whose output depends on `seed` only.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    /// True `p` times in a hundred.
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// One of `of`.
    pub fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
        &of[self.below(of.len() as u64) as usize]
    }
}

/// Distinct ids in dense order, as the stage orders them: numeric when
/// every id is an unsigned integer, else by bytes.
pub fn dense(ids: impl Iterator<Item = String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.collect::<HashSet<_>>().into_iter().collect();
    let numeric = ids
        .iter()
        .all(|id| !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit()));
    if numeric {
        ids.sort_by_key(|id| (id.parse::<u64>().expect("digits"), id.clone()));
    } else {
        ids.sort();
    }
    ids
}

/// Each id of `dense` ([`dense`]'s order) with its dense index.
pub fn dense_index(dense: &[String]) -> std::collections::HashMap<&str, u32> {
    dense
        .iter()
        .zip(0..)
        .map(|(id, i)| (id.as_str(), i))
        .collect()
}
