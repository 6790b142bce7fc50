//! One module per subcommand; each returns the process exit code.

pub mod dag;
pub mod gc;
pub mod generate;
pub mod init;
pub mod query;
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
