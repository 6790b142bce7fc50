//! `recpipe verify`: the reproducibility check users gate CI on.

use std::process::ExitCode;

use recpipe_core::progress::ProgressMode;

use crate::cache::{Entry, Workdir};
use crate::cli::VerifyArgs;
use crate::config::ConfigError;
use crate::lock::{LockFile, lock_path};
use crate::runner::{self, Force, RunOptions};

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

/// Checks current artifacts against the pipeline's lock, then reruns everything
/// from scratch and compares every output hash with the lock.
pub fn run(args: VerifyArgs, mode: ProgressMode) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    let lock_file = lock_path(&plan.file);
    let lock = LockFile::read(&lock_file)?;
    // Messages name the files as the user has them (`pipelines/x.lock`).
    let file_name = |p: &std::path::Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let (lock_name, pipeline_name) = (file_name(&lock_file), file_name(&plan.file));
    if lock.stages.is_empty() {
        return Err(ConfigError::at(
            &lock_file,
            None,
            format!("no {lock_name} to verify against: run `recpipe run` first"),
        )
        .into());
    }
    let mut drift = Vec::new();
    let wd = Workdir::new(&plan.workdir);
    for (name, ls) in &lock.stages {
        let dir = wd.outputs_dir(&ls.fingerprint);
        let mut missing = Vec::new();
        for o in &ls.outputs {
            match recpipe_core::hash_file(&dir.join(&o.path)) {
                Ok(h) if h == o.hash => {}
                Ok(h) => drift.push(format!("{name}/{}: the current artifact ({}) differs from {lock_name} ({}): altered on disk", o.path, short(&h), short(&o.hash))),
                Err(_) => missing.push(format!("{name}/{}: the current artifact is missing", o.path)),
            }
        }
        // A stage with none of its artifacts was not run in this workdir
        // (a fresh clone with a committed lock): one line, not one per file.
        if missing.len() > 1 && missing.len() == ls.outputs.len() {
            drift.push(format!(
                "{name}: none of its {} artifacts is in {} (a fresh clone, or a cleaned workdir): `recpipe run` makes them",
                missing.len(),
                plan.workdir.display()
            ));
        } else {
            drift.extend(missing);
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("recpipe-verify-")
        .tempdir()?;
    let mut fresh = plan.clone();
    fresh.workdir = scratch.path().join("work");
    match mode {
        ProgressMode::Quiet => {}
        ProgressMode::Json => eprintln!(
            "{}",
            serde_json::json!({"event": "verify_start", "scratch": fresh.workdir})
        ),
        ProgressMode::Bars | ProgressMode::Plain => eprintln!(
            "rerunning every stage from scratch in {}",
            fresh.workdir.display()
        ),
    }
    let opts = RunOptions {
        force: Force::All,
        write_lock: false,
        progress: mode,
        ..RunOptions::default()
    };
    let report = runner::run(&fresh, &opts)?;
    if report.failed() {
        let failed: Vec<String> = report
            .stages
            .iter()
            .filter(|s| !s.reasons.is_empty() && s.outcome != runner::Outcome::Ran)
            .map(|s| format!("{}: {}", s.name, s.reasons.join("; ")))
            .collect();
        anyhow::bail!(
            "a stage failed during the rerun:\n  {}",
            failed.join("\n  ")
        );
    }
    let fresh_wd = Workdir::new(&fresh.workdir);
    let mut checked = 0;
    for s in &report.stages {
        let Some(fp) = &s.fingerprint else { continue };
        let entry: Entry =
            recpipe_core::fsutil::read_json(&fresh_wd.entry_dir(fp).join("entry.json"))?;
        let Some(ls) = lock.stages.get(&s.name) else {
            drift.push(format!(
                "{}: not in {lock_name} (run `recpipe run` first)",
                s.name
            ));
            continue;
        };
        if ls.fingerprint != *fp {
            drift.push(format!("{}: {pipeline_name}, an input or an upstream changed since {lock_name} was written (run `recpipe run` first)", s.name));
        }
        let old: std::collections::BTreeMap<&str, &str> = ls
            .outputs
            .iter()
            .map(|o| (o.path.as_str(), o.hash.as_str()))
            .collect();
        for o in &entry.outputs {
            checked += 1;
            match old.get(o.path.as_str()) {
                Some(h) if *h == o.hash => {}
                Some(h) => drift.push(format!(
                    "{}/{}: rerun gives {}, {lock_name} has {}",
                    s.name,
                    o.path,
                    short(&o.hash),
                    short(h)
                )),
                None => drift.push(format!(
                    "{}/{}: produced by the rerun but not in {lock_name}",
                    s.name, o.path
                )),
            }
        }
        for path in old.keys() {
            if !entry.outputs.iter().any(|o| o.path == *path) {
                drift.push(format!(
                    "{}/{path}: in {lock_name} but not produced by the rerun",
                    s.name
                ));
            }
        }
    }
    let kept = args.keep.then(|| scratch.keep());
    if mode == ProgressMode::Json {
        outln!(
            "{}",
            serde_json::json!({"event": "verify", "ok": drift.is_empty(), "artifacts": checked,
                "stages": report.stages.len(), "lock": lock_name, "drift": drift, "kept": kept})
        )?;
        return Ok(if drift.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(crate::EXIT_DRIFT)
        });
    }
    if let Some(kept) = &kept {
        eprintln!("scratch run kept in {}", kept.display());
    }
    if drift.is_empty() {
        outln!(
            "verified: {checked} artifacts of {} stages reproduce {lock_name} byte for byte",
            report.stages.len()
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("drift: {} finding(s) against {lock_name}", drift.len())?;
        for d in &drift {
            outln!("  {d}")?;
        }
        Ok(ExitCode::from(crate::EXIT_DRIFT))
    }
}
