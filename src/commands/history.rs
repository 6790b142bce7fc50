//! `recpipe history STAGE`: the runs of a stage that the cache still holds,
//! newest first, each with the parameters it ran with where they differ from
//! pipeline.lock's, and its headline: what tuning a stage compares.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;

use crate::cache::{Entry, Lookup, Workdir};
use crate::cli::ShowArgs;

/// One cached run of the stage.
struct Run {
    entry: Box<Entry>,
    /// When its outputs were committed to the cache (UTC).
    made: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether pipeline.lock records it.
    locked: bool,
    /// How it differs from the reference run: `factors 8`, `other ingest outputs`.
    differs: Vec<String>,
}

/// Lists the cached runs of a stage.
pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    plan.check_name(&args.stage).map_err(anyhow::Error::new)?;
    let lock = crate::lock::LockFile::read(&crate::lock::lock_path(&plan.file))?;
    let locked = lock.stages.get(&args.stage);
    let wd = Workdir::new(&plan.workdir);
    let mut runs: Vec<Run> = wd
        .entries()
        .iter()
        .filter_map(|fingerprint| match wd.lookup(fingerprint, false) {
            Lookup::Hit(entry) if entry.stage == args.stage => Some(entry),
            _ => None,
        })
        .map(|entry| {
            let made = std::fs::metadata(wd.entry_dir(&entry.fingerprint).join("entry.json"))
                .and_then(|m| m.modified())
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from);
            let locked = locked.is_some_and(|l| l.fingerprint == entry.fingerprint);
            Run {
                entry,
                made,
                locked,
                differs: Vec::new(),
            }
        })
        .collect();
    // Newest first; the fingerprint orders runs made in the same instant.
    runs.sort_by(|a, b| (b.made, &b.entry.fingerprint).cmp(&(a.made, &a.entry.fingerprint)));
    // Each run against the locked one (or, never locked, the newest).
    let reference = locked
        .map(|l| (l.version, l.params.clone(), l.upstream.clone()))
        .or_else(|| {
            runs.first().map(|r| {
                (
                    r.entry.version,
                    r.entry.params.clone(),
                    r.entry.upstream.clone(),
                )
            })
        });
    if let Some((version, params, upstream)) = &reference {
        for run in &mut runs {
            run.differs = differences(&run.entry, *version, params, upstream);
        }
    }
    if args.json {
        let doc: Vec<Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "fingerprint": r.entry.fingerprint,
                    "made": r.made.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    "locked": r.locked,
                    "differs": r.differs,
                    "params": r.entry.params,
                    "metrics": r.entry.metrics,
                    "seconds": r.entry.seconds,
                    "summary": r.entry.summary,
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        outln!(
            "no run of `{}` is in the cache (`recpipe run {}`)",
            args.stage,
            args.stage
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let against = if locked.is_some() {
        "pipeline.lock's run (*)"
    } else {
        "the newest"
    };
    outln!(
        "{}: {} in the cache, newest first; parameters as they differ from {against}",
        args.stage,
        recpipe_core::names::counted(runs.len() as u64, "run")
    )?;
    let said: Vec<String> = runs
        .iter()
        .map(|r| match r.differs.is_empty() {
            true => "(the same)".to_string(),
            false => r.differs.join(", "),
        })
        .collect();
    let width = said.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for (run, said) in runs.iter().zip(&said) {
        let made = run.made.map_or_else(
            || "?".repeat(19),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        outln!(
            "{} {made}  {}  {said:width$}  {}",
            if run.locked { '*' } else { ' ' },
            &run.entry.fingerprint[..8],
            run.entry.summary.join("; ")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How `entry` differs from a run of `version` with `params` on the
/// upstream outputs `upstream`: each parameter whose value differs, with the
/// entry's value (`factors 8`), then a changed version, then the upstream
/// stages whose outputs differ.
fn differences(
    entry: &Entry,
    version: u32,
    params: &Value,
    upstream: &BTreeMap<String, String>,
) -> Vec<String> {
    let (ours, theirs) = (flatten(&entry.params), flatten(params));
    let mut out: Vec<String> = ours
        .iter()
        .filter(|(key, value)| theirs.get(*key) != Some(*value))
        .map(|(key, value)| format!("{key} {}", short(value)))
        .collect();
    out.extend(
        theirs
            .keys()
            .filter(|key| !ours.contains_key(*key))
            .map(|key| format!("{key} unset")),
    );
    if entry.version != version {
        out.push(format!("version {}", entry.version));
    }
    let changed: Vec<String> = (entry.upstream.iter())
        .filter(|&(stage, digest)| upstream.get(stage) != Some(digest))
        .map(|(stage, _)| format!("`{stage}`"))
        .collect();
    if !changed.is_empty() {
        out.push(format!("other {} outputs", changed.join(", ")));
    }
    out
}

/// The leaves of a JSON object by dotted path (`split.fraction`); lists
/// and scalars are leaves.
fn flatten(value: &Value) -> BTreeMap<String, &Value> {
    fn walk<'a>(prefix: &str, value: &'a Value, out: &mut BTreeMap<String, &'a Value>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = match prefix {
                        "" => key.clone(),
                        _ => format!("{prefix}.{key}"),
                    };
                    walk(&path, value, out);
                }
            }
            leaf => {
                out.insert(prefix.to_string(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

/// A value as a parameter line shows it: strings without quotes.
fn short(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_differs_by_its_changed_leaves_version_and_upstream() {
        let entry = |params: Value, version: u32, ingest: &str| Entry {
            stage: "train".into(),
            kind: "train".into(),
            version,
            fingerprint: "f".repeat(64),
            params,
            upstream: [("ingest".to_string(), ingest.to_string())].into(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            seconds: 0.0,
            peak_rss_mib: None,
            metrics: BTreeMap::new(),
            summary: Vec::new(),
        };
        let locked = serde_json::json!({"factors": 64, "model": "implicit_als",
            "split": {"kind": "user_random", "fraction": 0.2}, "min_value": 4});
        let upstream: BTreeMap<String, String> = [("ingest".to_string(), "a".to_string())].into();
        let same = entry(locked.clone(), 3, "a");
        assert!(differences(&same, 3, &locked, &upstream).is_empty());
        let tuned = entry(
            serde_json::json!({"factors": 8, "model": "implicit_als",
                "split": {"kind": "user_random", "fraction": 0.3}}),
            2,
            "b",
        );
        assert_eq!(
            differences(&tuned, 3, &locked, &upstream),
            [
                "factors 8",
                "split.fraction 0.3",
                "min_value unset",
                "version 2",
                "other `ingest` outputs"
            ]
        );
    }
}
