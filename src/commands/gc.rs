//! `recpipe gc`.

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::cache::{Workdir, dir_size};
use crate::cli::GcArgs;
use crate::lock::{LockFile, lock_path};

/// Deletes cache entries that neither the lock, the current outputs nor the last `keep` runs use.
pub fn run(args: GcArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    let wd = Workdir::new(&plan.workdir);
    let _guard = crate::cache::WorkdirLock::acquire(&wd, true)?;
    let lock = LockFile::read(&lock_path(&plan.file))?;
    let mut keep: BTreeSet<String> = lock
        .stages
        .values()
        .map(|s| s.fingerprint.clone())
        .collect();
    if let Ok(rd) = std::fs::read_dir(wd.root().join("out")) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path())
                && let Some(fp) = t.parent().and_then(|p| p.file_name())
            {
                keep.insert(fp.to_string_lossy().into_owned());
            }
        }
    }
    for report in wd.recent_runs(args.keep) {
        for s in report["stages"].as_array().into_iter().flatten() {
            if let Some(fp) = s["fingerprint"].as_str() {
                keep.insert(fp.to_string());
            }
        }
    }
    let (mut removed, mut freed, mut kept) = (0, 0u64, 0);
    for fp in wd.entries() {
        if keep.contains(&fp) {
            kept += 1;
            continue;
        }
        let dir = wd.entry_dir(&fp);
        freed += dir_size(&dir);
        removed += 1;
        if args.dry_run {
            outln!("would delete {}", dir.display())?;
        } else {
            wd.evict(&fp)?;
        }
    }
    if !args.dry_run {
        wd.clear_leftovers()?;
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    outln!(
        "{verb} {removed} cache entries ({:.1} MiB); kept {kept}",
        freed as f64 / (1u64 << 20) as f64
    )?;
    Ok(ExitCode::SUCCESS)
}
