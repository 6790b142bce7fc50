//! One module per subcommand; each returns the process exit code.

pub mod dag;
pub mod gc;
pub mod generate;
pub mod history;
pub mod init;
pub mod query;
pub mod rejects;
pub mod run;
pub mod show;
pub mod status;
pub mod verify;

use crate::config::ConfigError;
use crate::plan::{Override, Plan};

/// Loads the plan; configuration errors keep their type (exit code 2).
pub fn load_plan(pipeline: &std::path::Path, overrides: &[Override]) -> anyhow::Result<Plan> {
    crate::plan::load(pipeline, overrides).map_err(|e: ConfigError| anyhow::Error::new(e))
}

/// A stage's outputs as the last run left them in the cache.
pub struct CachedRun {
    /// The cache entry (outputs, metrics, timings).
    pub entry: Box<crate::cache::Entry>,
    /// The folder holding the outputs.
    pub outputs: std::path::PathBuf,
    /// The stage's `out/<stage>` link to it, for display.
    pub current: std::path::PathBuf,
}

/// The outputs of `stage` as pipeline.lock records them, or an error
/// saying to run it.
pub fn cached_run(plan: &Plan, stage: &str) -> anyhow::Result<CachedRun> {
    use crate::cache::{Lookup, Workdir};
    plan.check_name(stage).map_err(anyhow::Error::new)?;
    let lock = crate::lock::LockFile::read(&crate::lock::lock_path(&plan.file))?;
    let wd = Workdir::new(&plan.workdir);
    let Some(ls) = lock.stages.get(stage) else {
        let message = match crate::runner::last_failure(&wd, stage, None) {
            Some(why) => format!("stage `{stage}` has no outputs: its last run failed: {why}"),
            None => format!("stage `{stage}` has not run yet (`recpipe run {stage}`)"),
        };
        return Err(ConfigError::at(&plan.file, None, message).into());
    };
    let Lookup::Hit(entry) = wd.lookup(&ls.fingerprint, false) else {
        anyhow::bail!(
            "the outputs of `{stage}` are no longer in the cache (`recpipe run {stage}` rebuilds them)"
        );
    };
    Ok(CachedRun {
        entry,
        outputs: wd.outputs_dir(&ls.fingerprint),
        current: wd.current(stage),
    })
}
