//! Executing a plan: fingerprints, cache lookups, running stale stages in
//! dependency order, and explaining why a stage is stale.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use recpipe_core::progress::{Progress, ProgressMode};
use recpipe_core::stage::{StageContext, Upstream};
use serde::Serialize;

use crate::cache::{
    Entry, FileHash, InputState, Lookup, Workdir, WorkdirLock, hash_tree, peak_rss_mib,
    reset_peak_rss,
};
use crate::lock::{LockFile, LockStage, lock_path};
use crate::plan::{Plan, PlannedStage};

/// Which stages to force.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Force {
    /// None: only stale stages run.
    #[default]
    None,
    /// Every selected stage.
    All,
    /// These stages.
    Stages(Vec<String>),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Stages to bring up to date (with what they need); empty = all.
    pub targets: Vec<String>,
    /// Only this stage and its descendants.
    pub from: Option<String>,
    /// Only this stage and its ancestors.
    pub until: Option<String>,
    /// Stages to rerun even when cached.
    pub force: Force,
    /// Say what would run, run nothing.
    pub dry_run: bool,
    /// Re-hash cached outputs and rebuild any that were altered.
    pub check: bool,
    /// Wait for another run's lock instead of failing.
    pub wait: bool,
    /// How progress is shown.
    pub progress: ProgressMode,
    /// Write pipeline.lock (off for verify's scratch runs).
    pub write_lock: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            targets: Vec::new(),
            from: None,
            until: None,
            force: Force::None,
            dry_run: false,
            check: false,
            wait: true,
            progress: ProgressMode::Plain,
            write_lock: true,
        }
    }
}

/// What happened to one stage.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It ran and succeeded.
    Ran,
    /// Its outputs came from the cache.
    Cached,
    /// It would run (dry run).
    WouldRun,
    /// It failed.
    Failed,
    /// It did not run because a stage it needs failed or is stale.
    Skipped,
    /// Not selected.
    NotSelected,
}

/// One stage's result in a run.
#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why it ran (or why it was skipped / failed).
    pub reasons: Vec<String>,
    /// Fingerprint, when known.
    pub fingerprint: Option<String>,
    /// Seconds the stage itself took (0 for cache hits).
    pub seconds: f64,
    /// Peak resident memory of the stage, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Headline metrics.
    pub metrics: BTreeMap<String, serde_json::Value>,
    /// Summary lines.
    #[serde(skip)]
    pub summary: Vec<String>,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// When it started (UTC, RFC 3339).
    pub started: String,
    /// Total seconds.
    pub seconds: f64,
    /// pipeline.yaml.
    pub pipeline: String,
    /// Per-stage results in run order.
    pub stages: Vec<StageResult>,
}

impl RunReport {
    /// Whether any stage failed.
    pub fn failed(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s.outcome, Outcome::Failed | Outcome::Skipped))
    }
}

/// The fingerprint key of a stage: everything its outputs depend on.
#[derive(Debug, Clone, Serialize)]
pub struct Key {
    /// Stage kind.
    pub kind: String,
    /// Implementation version.
    pub version: u32,
    /// Canonical parameters.
    pub params: serde_json::Value,
    /// Needed stage name -> digest of its outputs.
    pub upstream: BTreeMap<String, String>,
    /// External inputs with hashes.
    pub inputs: Vec<FileHash>,
}

impl Key {
    /// blake3 of the canonical JSON of the key.
    pub fn fingerprint(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Builds a stage's key from its upstream digests; None if an upstream has none.
pub fn key_of(
    plan: &Plan,
    stage: &PlannedStage,
    digests: &BTreeMap<String, String>,
    inputs: &mut InputState,
) -> Result<Option<Key>> {
    // Every ancestor counts, not only direct needs: stages may read any ancestor's outputs.
    let mut upstream = BTreeMap::new();
    let ancestors = plan.ancestors_of(std::slice::from_ref(&stage.name));
    for n in ancestors.iter().filter(|n| **n != stage.name) {
        match digests.get(n) {
            Some(d) => {
                upstream.insert(n.clone(), d.clone());
            }
            None => return Ok(None),
        }
    }
    let mut files = Vec::new();
    for f in &stage.inputs {
        let (hash, size) = inputs
            .hash(f)
            .with_context(|| format!("stage `{}`", stage.name))?;
        files.push(FileHash {
            path: relative(f, &plan.base_dir),
            hash,
            size,
        });
    }
    files.sort();
    Ok(Some(Key {
        kind: stage.kind.name.to_string(),
        version: stage.kind.version,
        params: stage.params.clone(),
        upstream,
        inputs: files,
    }))
}

/// Flattens JSON into `a.b.c -> value` for readable diffs.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        serde_json::Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Why `key` differs from what the lock recorded for `stage`.
pub fn explain(stage: &str, key: &Key, lock: Option<&LockStage>) -> Vec<String> {
    let Some(old) = lock else {
        return vec!["never run".to_string()];
    };
    let mut why = Vec::new();
    if old.kind != key.kind {
        why.push(format!("kind changed ({} -> {})", old.kind, key.kind));
    }
    if old.version != key.version {
        why.push(format!(
            "implementation version of `{}` bumped ({} -> {})",
            key.kind, old.version, key.version
        ));
    }
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &old.params, &mut a);
    flatten("", &key.params, &mut b);
    for k in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x != y => why.push(format!("param `{stage}.{k}` {x} -> {y}")),
            (Some(x), None) => why.push(format!("param `{stage}.{k}` {x} removed")),
            (None, Some(y)) => why.push(format!("param `{stage}.{k}` added ({y})")),
            _ => {}
        }
    }
    let old_in: BTreeMap<&str, &str> = old
        .inputs
        .iter()
        .map(|f| (f.path.as_str(), f.hash.as_str()))
        .collect();
    let new_in: BTreeMap<&str, &str> = key
        .inputs
        .iter()
        .map(|f| (f.path.as_str(), f.hash.as_str()))
        .collect();
    for p in old_in.keys().chain(new_in.keys()).collect::<BTreeSet<_>>() {
        match (old_in.get(p), new_in.get(p)) {
            (Some(x), Some(y)) if x != y => why.push(format!("input `{p}` changed")),
            (Some(_), None) => why.push(format!("input `{p}` no longer read")),
            (None, Some(_)) => why.push(format!("input `{p}` is new")),
            _ => {}
        }
    }
    for (n, d) in &key.upstream {
        if old.upstream.get(n) != Some(d) {
            why.push(format!("upstream `{n}` changed"));
        }
    }
    for n in old.upstream.keys() {
        if !key.upstream.contains_key(n) {
            why.push(format!("no longer needs `{n}`"));
        }
    }
    why
}

/// The stages a run selects.
pub fn select(plan: &Plan, opts: &RunOptions) -> Result<BTreeSet<String>> {
    for n in opts.targets.iter().chain(&opts.from).chain(&opts.until) {
        plan.check_name(n)?;
    }
    if let Force::Stages(s) = &opts.force {
        for n in s {
            plan.check_name(n)?;
        }
    }
    let mut selected: BTreeSet<String> = if opts.targets.is_empty() {
        plan.stages.iter().map(|s| s.name.clone()).collect()
    } else {
        plan.ancestors_of(&opts.targets)
    };
    if let Some(f) = &opts.from {
        let d = plan.descendants_of(std::slice::from_ref(f));
        selected.retain(|s| d.contains(s));
    }
    if let Some(u) = &opts.until {
        let a = plan.ancestors_of(std::slice::from_ref(u));
        selected.retain(|s| a.contains(s));
    }
    if selected.is_empty() && !plan.stages.is_empty() {
        // Only --from and --until (with targets) can leave nothing: say which.
        let mut asked = Vec::new();
        if !opts.targets.is_empty() {
            asked.push(format!("{} (and what it needs)", opts.targets.join(", ")));
        }
        if let Some(f) = &opts.from {
            asked.push(format!("--from {f} (it and the stages that need it)"));
        }
        if let Some(u) = &opts.until {
            asked.push(format!("--until {u} (it and the stages it needs)"));
        }
        return Err(crate::config::ConfigError::at(
            &plan.file,
            None,
            format!(
                "{} select no stage in common; `recpipe dag` shows the order",
                asked.join(" and ")
            ),
        )
        .into());
    }
    Ok(selected)
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Runs a stage into a temporary entry and commits it to the cache.
fn execute(
    plan: &Plan,
    wd: &Workdir,
    stage: &PlannedStage,
    key: &Key,
    fp: &str,
    upstream_fps: &BTreeMap<String, String>,
    mode: ProgressMode,
) -> Result<Entry> {
    let temp = wd.temp_entry(fp)?;
    let out_dir = temp.join("outputs");
    // Direct needs first (in the order written), then the other ancestors in run order.
    let ancestors = plan.ancestors_of(std::slice::from_ref(&stage.name));
    let mut order: Vec<&String> = stage.needs.iter().collect();
    for s in &plan.stages {
        if ancestors.contains(&s.name) && s.name != stage.name && !order.contains(&&s.name) {
            order.push(&s.name);
        }
    }
    let upstream = order
        .into_iter()
        .map(|n| {
            let s = plan.stage(n).expect("validated need");
            Upstream {
                name: n.clone(),
                kind: s.kind.name.to_string(),
                dir: wd.outputs_dir(&upstream_fps[n]),
            }
        })
        .collect();
    let ctx = StageContext {
        name: stage.name.clone(),
        out_dir,
        upstream,
        base_dir: plan.base_dir.clone(),
        progress: Progress::new(&stage.name, mode),
        fingerprint: fp.to_string(),
    };
    // The previous stage's freed memory back to the system, so that this
    // stage's peak is its own.
    crate::allocator::release_free_memory();
    reset_peak_rss();
    let start = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        (stage.kind.run)(&stage.params, &ctx)
    }));
    let seconds = start.elapsed().as_secs_f64();
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(e);
        }
        Err(panic) => {
            let _ = std::fs::remove_dir_all(&temp);
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            anyhow::bail!("internal error (panic): {msg}");
        }
    };
    let outputs = hash_tree(&temp.join("outputs"))?;
    let entry = Entry {
        stage: stage.name.clone(),
        kind: key.kind.clone(),
        version: key.version,
        fingerprint: fp.to_string(),
        params: key.params.clone(),
        upstream: key.upstream.clone(),
        inputs: key.inputs.clone(),
        outputs,
        seconds: (seconds * 1000.0).round() / 1000.0,
        peak_rss_mib: peak_rss_mib(),
        metrics: outcome.metrics,
        summary: outcome.summary,
    };
    wd.commit(&temp, &entry)?;
    Ok(entry)
}

/// Runs a plan.
pub fn run(plan: &Plan, opts: &RunOptions) -> Result<RunReport> {
    let started = now_rfc3339();
    let t0 = Instant::now();
    let selected = select(plan, opts)?;
    let wd = Workdir::new(&plan.workdir);
    let _guard = if opts.dry_run && !wd.root().exists() {
        None
    } else {
        Some(WorkdirLock::acquire(&wd, opts.wait)?)
    };
    if !opts.dry_run {
        wd.create()?;
        // A run killed mid-stage (a scheduler's timeout) leaves its
        // temporary outputs; the lock says none is still being written.
        // One that cannot be removed is in no run's way (each run writes
        // under its own name): said, and the run goes on.
        let said = match wd.clear_leftovers() {
            Ok((0, _)) => None,
            Ok((removed, bytes)) => Some((
                serde_json::json!({"event": "leftovers_removed", "removed": removed, "bytes": bytes}),
                format!(
                    "removed {removed} temporary outputs left by interrupted runs ({:.1} MiB)",
                    bytes as f64 / (1u64 << 20) as f64
                ),
            )),
            Err(e) => {
                let message = format!("warning: {}", crate::error_text(&e));
                Some((
                    serde_json::json!({"event": "warning", "message": &message}),
                    message,
                ))
            }
        };
        match (said, opts.progress) {
            (None, _) | (_, ProgressMode::Quiet) => {}
            (Some((json, _)), ProgressMode::Json) => eprintln!("{json}"),
            (Some((_, text)), ProgressMode::Bars | ProgressMode::Plain) => eprintln!("{text}"),
        }
    }
    let lock_file = lock_path(&plan.file);
    let mut lock = LockFile::read(&lock_file)?;
    let mut inputs = InputState::load(&wd);
    // stage name -> digest of its outputs; stage name -> fingerprint of its entry.
    let mut digests: BTreeMap<String, String> = BTreeMap::new();
    let mut fps: BTreeMap<String, String> = BTreeMap::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut results = Vec::new();
    for stage in &plan.stages {
        let mut res = StageResult {
            name: stage.name.clone(),
            kind: stage.kind.name.to_string(),
            outcome: Outcome::NotSelected,
            reasons: Vec::new(),
            fingerprint: None,
            seconds: 0.0,
            peak_rss_mib: None,
            metrics: BTreeMap::new(),
            summary: Vec::new(),
        };
        let is_selected = selected.contains(&stage.name);
        if let Some(bad) = stage.needs.iter().find(|n| failed.contains(*n)) {
            if is_selected {
                res.outcome = Outcome::Skipped;
                res.reasons.push(format!("upstream `{bad}` failed"));
            }
            failed.insert(stage.name.clone());
            results.push(res);
            continue;
        }
        let Some(key) = key_of(plan, stage, &digests, &mut inputs)? else {
            if is_selected {
                let ancestors = plan.ancestors_of(std::slice::from_ref(&stage.name));
                let missing: Vec<&String> = ancestors
                    .iter()
                    .filter(|n| **n != stage.name && !digests.contains_key(*n))
                    .collect();
                res.outcome = if opts.dry_run {
                    Outcome::WouldRun
                } else {
                    Outcome::Skipped
                };
                res.reasons.push(format!(
                    "upstream `{}` is stale and not selected (drop --from, or run it first)",
                    missing.first().map_or("?", |s| s.as_str())
                ));
                if opts.dry_run {
                    res.reasons = vec![format!(
                        "upstream `{}` will change",
                        missing.first().map_or("?", |s| s.as_str())
                    )];
                } else {
                    failed.insert(stage.name.clone());
                }
            }
            results.push(res);
            continue;
        };
        let fp = key.fingerprint();
        res.fingerprint = Some(fp.clone());
        let forced = match &opts.force {
            Force::None => false,
            Force::All => true,
            Force::Stages(s) => s.contains(&stage.name),
        };
        let lookup = wd.lookup(&fp, opts.check && is_selected);
        let corrupt = opts.check
            && is_selected
            && matches!(lookup, Lookup::Miss)
            && wd.entry_dir(&fp).join("entry.json").exists();
        match lookup {
            Lookup::Hit(entry) if !(forced && is_selected) => {
                digests.insert(stage.name.clone(), entry.outputs_digest());
                fps.insert(stage.name.clone(), fp.clone());
                if is_selected {
                    res.outcome = Outcome::Cached;
                    res.metrics = entry.metrics.clone();
                    res.summary = entry.summary.clone();
                    if !opts.dry_run {
                        wd.set_current(&stage.name, &fp)?;
                    }
                    if opts.write_lock && !opts.dry_run {
                        lock.stages
                            .insert(stage.name.clone(), LockStage::from(entry.as_ref()));
                    }
                }
            }
            _ if !is_selected => {}
            _ => {
                let mut why = if forced {
                    vec!["forced".to_string()]
                } else {
                    explain(&stage.name, &key, lock.stages.get(&stage.name))
                };
                if corrupt {
                    why.insert(0, "cached outputs were altered on disk: rebuilding".into());
                    if !opts.dry_run {
                        wd.evict(&fp)?;
                    }
                }
                if why.is_empty() {
                    why.push("cached outputs are missing or were altered".into());
                }
                res.reasons = why;
                if opts.dry_run {
                    res.outcome = Outcome::WouldRun;
                    results.push(res);
                    continue;
                }
                match opts.progress {
                    ProgressMode::Quiet => {}
                    ProgressMode::Json => eprintln!(
                        "{}",
                        serde_json::json!({"event": "stage_start", "stage": &stage.name,
                            "kind": stage.kind.name, "reasons": &res.reasons})
                    ),
                    ProgressMode::Bars | ProgressMode::Plain => eprintln!(
                        "running {} ({}): {}",
                        stage.name,
                        stage.kind.name,
                        res.reasons.join("; ")
                    ),
                }
                match execute(plan, &wd, stage, &key, &fp, &fps, opts.progress) {
                    Ok(entry) => {
                        digests.insert(stage.name.clone(), entry.outputs_digest());
                        fps.insert(stage.name.clone(), fp.clone());
                        wd.set_current(&stage.name, &fp)?;
                        res.outcome = Outcome::Ran;
                        res.seconds = entry.seconds;
                        res.peak_rss_mib = entry.peak_rss_mib;
                        res.metrics = entry.metrics.clone();
                        res.summary = entry.summary.clone();
                        if opts.write_lock {
                            lock.stages
                                .insert(stage.name.clone(), LockStage::from(&entry));
                        }
                    }
                    Err(e) => {
                        res.outcome = Outcome::Failed;
                        res.reasons = vec![crate::error_text(&e)];
                        failed.insert(stage.name.clone());
                    }
                }
            }
        }
        results.push(res);
    }
    let report = RunReport {
        started,
        seconds: (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        pipeline: plan.file.display().to_string(),
        stages: results,
    };
    if !opts.dry_run {
        inputs.save(&wd)?;
        if opts.write_lock {
            let names: BTreeSet<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
            lock.stages.retain(|n, _| names.contains(n.as_str()));
            lock.schema = crate::lock::LOCK_SCHEMA;
            lock.write(&lock_file)?;
        }
        let any_work = report
            .stages
            .iter()
            .any(|s| matches!(s.outcome, Outcome::Ran | Outcome::Failed));
        if any_work {
            let name = format!(
                "{}-{}.json",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                std::process::id()
            );
            recpipe_core::write_json_atomic(&wd.root().join("runs").join(name), &report)?;
        }
    }
    Ok(report)
}

/// Run reports read back for a stage's last outcome: the newest ones only
/// (each is a file of `<workdir>/runs`).
const RECENT_RUNS: usize = 20;

/// Why the last run of `stage` failed, when the newest run report that ran
/// it (among the last [`RECENT_RUNS`]) says it failed, with fingerprint
/// `fingerprint` if one is given (a failure with other settings is old news).
pub fn last_failure(wd: &Workdir, stage: &str, fingerprint: Option<&str>) -> Option<String> {
    for report in wd.recent_runs(RECENT_RUNS) {
        let stages = report["stages"].as_array().into_iter().flatten();
        let Some(s) = stages
            .filter(|s| s["name"] == stage)
            .find(|s| !matches!(s["outcome"].as_str(), Some("skipped") | Some("cached")))
        else {
            continue;
        };
        let same = fingerprint.is_none_or(|fp| s["fingerprint"] == fp);
        if s["outcome"] != "failed" || !same {
            return None;
        }
        let why = s["reasons"].as_array().into_iter().flatten();
        return Some(
            why.filter_map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    None
}

/// A stage's status.
#[derive(Debug, Clone, Serialize)]
pub struct StageStatus {
    /// Stage name.
    pub name: String,
    /// Stage kind.
    pub kind: String,
    /// Up to date with pipeline.yaml, its inputs and the cache.
    pub up_to_date: bool,
    /// Why not.
    pub reasons: Vec<String>,
    /// A cached result for the current fingerprint exists (a run restores it without work).
    pub cached: bool,
    /// The current fingerprint, when computable.
    pub fingerprint: Option<String>,
}

/// Every stage's status, without running anything.
pub fn status(plan: &Plan) -> Result<Vec<StageStatus>> {
    let wd = Workdir::new(&plan.workdir);
    let lock = LockFile::read(&lock_path(&plan.file))?;
    let mut inputs = InputState::load(&wd);
    let mut digests = BTreeMap::new();
    let mut out = Vec::new();
    for stage in &plan.stages {
        let mut st = StageStatus {
            name: stage.name.clone(),
            kind: stage.kind.name.to_string(),
            up_to_date: false,
            reasons: Vec::new(),
            cached: false,
            fingerprint: None,
        };
        // An input that cannot be read (a log not delivered yet) makes its
        // stage stale, with the cause; the other stages are still told.
        let key = match key_of(plan, stage, &digests, &mut inputs) {
            Ok(key) => key,
            Err(e) => {
                // (Its causes, without the stage's name the line starts with.)
                let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
                st.reasons.push(match causes.is_empty() {
                    true => e.to_string(),
                    false => causes.join(": "),
                });
                out.push(st);
                continue;
            }
        };
        match key {
            None => {
                let stale: Vec<String> = stage
                    .needs
                    .iter()
                    .filter(|n| !digests.contains_key(*n))
                    .map(|n| format!("upstream `{n}` is stale"))
                    .collect();
                let stale = if stale.is_empty() {
                    vec!["an upstream stage is stale".to_string()]
                } else {
                    stale
                };
                st.reasons = stale;
            }
            Some(key) => {
                let fp = key.fingerprint();
                st.fingerprint = Some(fp.clone());
                let locked = lock.stages.get(&stage.name);
                match wd.lookup(&fp, false) {
                    Lookup::Hit(entry) => {
                        digests.insert(stage.name.clone(), entry.outputs_digest());
                        st.cached = true;
                        if locked.is_some_and(|l| l.fingerprint == fp) {
                            st.up_to_date = true;
                        } else {
                            st.reasons = explain(&stage.name, &key, locked);
                            st.reasons.push("a cached result exists: `recpipe run` restores it without recomputing".into());
                        }
                    }
                    Lookup::Miss => {
                        st.reasons = explain(&stage.name, &key, locked);
                        if let Some(why) = last_failure(&wd, &stage.name, Some(&fp)) {
                            // (Run, and failed: not "never run".)
                            st.reasons.retain(|r| r != "never run");
                            st.reasons
                                .push(format!("its last run with these settings failed: {why}"));
                        }
                        if st.reasons.is_empty() {
                            st.reasons.push(
                                "cached outputs are missing or were altered: a run rebuilds them"
                                    .into(),
                            );
                        }
                    }
                }
            }
        }
        out.push(st);
    }
    // Saving refreshed input hashes keeps the next status fast; ignore a read-only workdir.
    if wd.root().exists() {
        let _ = inputs.save(&wd);
    }
    Ok(out)
}
