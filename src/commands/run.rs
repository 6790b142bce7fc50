//! `recpipe run`.

use std::process::ExitCode;

use recpipe_core::progress::ProgressMode;

use crate::cli::RunArgs;
use crate::runner::{self, Force, Outcome, RunOptions};

/// Runs what is stale and prints what happened.
pub fn run(args: RunArgs, mode: ProgressMode) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &args.set)?;
    let force = match args.force {
        None => Force::None,
        Some(v) if v.iter().any(|s| s == "*") => Force::All,
        Some(v) => Force::Stages(v),
    };
    let opts = RunOptions {
        targets: args.stages,
        from: args.from,
        until: args.until,
        force,
        dry_run: args.dry_run,
        check: args.check,
        wait: !args.no_wait,
        progress: mode,
        write_lock: true,
    };
    let report = runner::run(&plan, &opts).map_err(|e| {
        match e.downcast::<crate::config::ConfigError>() {
            Ok(c) => anyhow::Error::new(c),
            Err(e) => e,
        }
    })?;
    if mode == ProgressMode::Json {
        return json_lines(&report, &plan, args.dry_run);
    }
    let width = report
        .stages
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(5);
    for s in &report.stages {
        let line = match s.outcome {
            Outcome::NotSelected => continue,
            Outcome::Ran => format!(
                "{:width$}  ran      {:>7.2}s  {}",
                s.name,
                s.seconds,
                s.summary.join("; ")
            ),
            Outcome::Cached => format!(
                "{:width$}  cached             {}",
                s.name,
                s.summary.join("; ")
            ),
            Outcome::WouldRun => format!("{:width$}  would run: {}", s.name, s.reasons.join("; ")),
            Outcome::Failed => format!("{:width$}  FAILED: {}", s.name, s.reasons.join("; ")),
            Outcome::Skipped => format!("{:width$}  skipped: {}", s.name, s.reasons.join("; ")),
        };
        outln!("{line}")?;
    }
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if report.failed() {
        eprintln!(
            "error: the pipeline did not complete; fix the failed stage and run again (finished stages stay cached)"
        );
        return Ok(ExitCode::from(crate::EXIT_FAILED));
    }
    if !args.pipeline.pipeline.as_os_str().is_empty() && mode != ProgressMode::Quiet {
        outln!(
            "artifacts: {}/out/<stage>/  ({:.2}s)",
            plan.workdir.display(),
            report.seconds
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's result as JSON lines on stdout, for schedulers that read
/// `--log-format json` logs: one `stage` event per selected stage (its
/// outcome, reasons, seconds, peak memory, metrics and summary), then one
/// `run` event; the exit code is as in the other formats.
fn json_lines(
    report: &runner::RunReport,
    plan: &crate::plan::Plan,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    for s in &report.stages {
        if s.outcome == Outcome::NotSelected {
            continue;
        }
        let mut event = serde_json::to_value(s)?;
        if let Some(fields) = event.as_object_mut() {
            // `stage`, as the progress events name it.
            if let Some(name) = fields.remove("name") {
                fields.insert("stage".into(), name);
            }
            fields.insert("event".into(), "stage".into());
            fields.insert("summary".into(), s.summary.join("; ").into());
        }
        outln!("{event}")?;
    }
    let ok = !report.failed();
    outln!(
        "{}",
        serde_json::json!({"event": "run", "ok": ok, "dry_run": dry_run, "seconds": report.seconds,
            "pipeline": report.pipeline, "artifacts": plan.workdir.join("out")})
    )?;
    Ok(if ok || dry_run {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_FAILED)
    })
}
