//! `recpipe show STAGE`.

use std::process::ExitCode;

use crate::cli::ShowArgs;

fn parquet_rows(path: &std::path::Path) -> Option<i64> {
    use parquet::file::reader::FileReader;
    let file = std::fs::File::open(path).ok()?;
    let reader = parquet::file::reader::SerializedFileReader::new(file).ok()?;
    Some(reader.metadata().file_metadata().num_rows())
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Prints a stage's outputs (size, rows), metrics and timings.
pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    let super::CachedRun {
        entry,
        outputs: files,
        current: dir,
    } = super::cached_run(&plan, &args.stage)?;
    let outputs: Vec<serde_json::Value> = entry
        .outputs
        .iter()
        .map(|o| {
            let rows = o
                .path
                .ends_with(".parquet")
                .then(|| parquet_rows(&files.join(&o.path)))
                .flatten();
            serde_json::json!({"path": o.path, "size": o.size, "rows": rows, "hash": o.hash})
        })
        .collect();
    if args.json {
        let doc = serde_json::json!({
            "stage": args.stage, "kind": entry.kind, "fingerprint": entry.fingerprint, "dir": dir,
            "outputs": outputs, "metrics": entry.metrics, "seconds": entry.seconds, "peak_rss_mib": entry.peak_rss_mib,
            "params": entry.params,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} ({}), fingerprint {}",
        args.stage,
        entry.kind,
        &entry.fingerprint[..16]
    )?;
    outln!("outputs in {}/:", dir.display())?;
    for o in &outputs {
        let rows = o["rows"]
            .as_i64()
            .map(|r| format!("{r:>10} rows"))
            .unwrap_or_default();
        outln!(
            "  {:32} {:>10}  {rows}",
            o["path"].as_str().unwrap_or(""),
            human(o["size"].as_u64().unwrap_or(0))
        )?;
    }
    if !entry.metrics.is_empty() {
        outln!("metrics:")?;
        for (k, v) in &entry.metrics {
            outln!("  {k}: {v}")?;
        }
    }
    let peak = entry
        .peak_rss_mib
        .map(|m| format!(", peak memory {m:.0} MiB"))
        .unwrap_or_default();
    outln!("ran in {:.2}s{peak}", entry.seconds)?;
    for line in &entry.summary {
        outln!("{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}
