//! `recpipe rejects`: what an ingest stage rejected, by reason, and the
//! rejected rows themselves, from its rejects.parquet.

use std::collections::BTreeMap;
use std::process::ExitCode;

use recpipe_core::ParquetTable;

use crate::cli::RejectsArgs;
use crate::config::ConfigError;

/// Prints the counts by reason and the first rejected rows.
pub fn run(args: RejectsArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    let stage = match &args.stage {
        Some(s) => s.clone(),
        None => {
            let ingest: Vec<&str> = plan
                .stages
                .iter()
                .filter(|s| s.kind.name == "ingest")
                .map(|s| s.name.as_str())
                .collect();
            match ingest[..] {
                [one] => one.to_string(),
                _ => {
                    return Err(ConfigError::at(
                        &plan.file,
                        None,
                        format!(
                            "name the ingest stage to read (ingest stages: {})",
                            if ingest.is_empty() {
                                "none".to_string()
                            } else {
                                ingest.join(", ")
                            }
                        ),
                    )
                    .into());
                }
            }
        }
    };
    let run = super::cached_run(&plan, &stage)?;
    let path = run.outputs.join("rejects.parquet");
    if !path.is_file() {
        anyhow::bail!("stage `{stage}` wrote no rejects.parquet (is it an ingest stage?)");
    }
    let t = ParquetTable::read(&path)?;
    let (files, reasons, details, raws) = (
        t.strings("file")?,
        t.strings("reason")?,
        t.strings("detail")?,
        t.strings("raw")?,
    );
    let lines = t.u64s("line")?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // Counts and the first row of each reason, in file order.
    let mut by_reason: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for (i, r) in reasons.iter().enumerate() {
        by_reason.entry(text(r)).or_insert((0, i)).0 += 1;
    }
    if let Some(r) = &args.reason
        && !by_reason.contains_key(r)
    {
        anyhow::bail!(
            "no row of {stage} was rejected as `{r}` (reasons: {})",
            by_reason.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let shown: Vec<usize> = (0..t.num_rows())
        .filter(|&i| args.reason.as_ref().is_none_or(|r| text(&reasons[i]) == *r))
        .take(args.n)
        .collect();
    let row = |i: usize| {
        serde_json::json!({"file": text(&files[i]), "line": lines[i], "reason": text(&reasons[i]),
            "detail": text(&details[i]), "raw": text(&raws[i])})
    };
    if args.json {
        let counts: BTreeMap<&String, u64> = by_reason.iter().map(|(k, v)| (k, v.0)).collect();
        let doc = serde_json::json!({
            "stage": stage, "rejected": t.num_rows(), "by_reason": counts,
            "rows": shown.iter().map(|&i| row(i)).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{} rows rejected by {stage}", t.num_rows())?;
    let mut counts: Vec<(&String, &(u64, usize))> = by_reason.iter().collect();
    counts.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    let width = counts.iter().map(|(r, _)| r.len()).max().unwrap_or(6);
    for &(reason, &(n, first)) in &counts {
        outln!(
            "  {reason:width$}  {n:>9}  first: {}:{}: {}",
            text(&files[first]),
            lines[first],
            text(&details[first])
        )?;
    }
    if shown.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "\n{} {}rows (-n for more, --reason to pick one):",
        if shown.len() < args.n {
            "the"
        } else {
            "the first"
        },
        args.reason
            .as_ref()
            .map(|r| format!("`{r}` "))
            .unwrap_or_default()
    )?;
    for &i in &shown {
        outln!(
            "  {}:{}  {}: {}\n    {}",
            text(&files[i]),
            lines[i],
            text(&reasons[i]),
            text(&details[i]),
            text(&raws[i])
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
