//! `recpipe status`.

use std::process::ExitCode;

use crate::cli::StatusArgs;

/// Prints each stage as up to date or stale, with why.
pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &args.set)?;
    let statuses = crate::runner::status(&plan)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&statuses)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = statuses.iter().map(|s| s.name.len()).max().unwrap_or(5);
    for s in &statuses {
        if s.up_to_date {
            outln!("{:width$}  up to date", s.name)?;
        } else {
            outln!("{:width$}  stale: {}", s.name, s.reasons.join("; "))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
