//! `recpipe rejects`: what an ingest stage rejected, by reason, and the
//! rejected rows themselves, from its rejects.parquet.

use std::process::ExitCode;

use recpipe_ingest::rejects::read_rejects;
use recpipe_ingest::rows::Reason;

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
    if let Some(r) = &args.reason {
        check_reason_code(r)?;
    }
    let summary = read_rejects(&path, args.reason.as_deref(), args.n)?;
    if let Some(r) = &args.reason
        && !summary.by_reason.iter().any(|c| c.reason == *r)
    {
        let reasons: Vec<&str> = summary
            .by_reason
            .iter()
            .map(|c| c.reason.as_str())
            .collect();
        anyhow::bail!(
            "no row of {stage} was rejected as `{r}` ({})",
            if reasons.is_empty() {
                "it rejected none".to_string()
            } else {
                format!("its rows were rejected as {}", reasons.join(", "))
            }
        );
    }
    if args.json {
        let mut doc = serde_json::to_value(&summary)?;
        doc["stage"] = serde_json::Value::String(stage);
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = recpipe_core::names::counted(summary.rejected, "row");
    outln!("{rows} rejected by {stage}")?;
    let width = summary
        .by_reason
        .iter()
        .map(|c| c.reason.len())
        .max()
        .unwrap_or(6);
    for c in &summary.by_reason {
        outln!(
            "  {:width$}  {:>9}  first: {}:{}: {}",
            c.reason,
            c.rows,
            c.first.file,
            c.first.line,
            c.first.detail
        )?;
    }
    if summary.rows.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "\n{} {}rows (-n for more, --reason to pick one):",
        if summary.rows.len() < args.n {
            "the"
        } else {
            "the first"
        },
        args.reason
            .as_ref()
            .map(|r| format!("`{r}` "))
            .unwrap_or_default()
    )?;
    for r in &summary.rows {
        outln!(
            "  {}:{}  {}: {}\n    {}",
            r.file,
            r.line,
            r.reason,
            r.detail,
            recpipe_ingest::rows::row_excerpt(&r.raw)
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails unless `reason` is one of the codes rejects are counted by: a
/// misspelt code is named as such, not taken for one no row has.
fn check_reason_code(reason: &str) -> anyhow::Result<()> {
    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    if codes.contains(&reason) {
        return Ok(());
    }
    let hint = recpipe_core::names::likely_meant(reason, &codes)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    anyhow::bail!(
        "`{reason}` is not a reason code (codes: {}){hint}",
        codes.join(", ")
    )
}
