//! The `recpipe` binary: the YAML-driven runner and the query commands.
//!
//! - [`allocator`]: the allocator's policy for the process.
//! - [`cli`]: clap types.
//! - [`config`]: pipeline.yaml as written, with located errors.
//! - [`plan`]: the validated plan (stages in dependency order, canonical params).
//! - [`stages`]: the stage kinds and how the runner calls each stage crate.
//! - [`cache`]: the work folder, content-addressed cache entries, input hashing.
//! - [`lock`]: the `pipeline.lock` file.
//! - [`runner`]: fingerprints, running stale stages, explaining staleness.
//! - [`commands`]: one module per subcommand.

/// `println!` that returns an error instead of panicking when stdout is a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `print!` that returns an error instead of panicking when stdout is a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod allocator;
mod cache;
mod cli;
mod commands;
mod config;
mod lock;
mod plan;
mod runner;
mod stages;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use recpipe_core::progress::ProgressMode;

use crate::cli::{Cli, Command, LogFormat};

/// glibc's allocator, with huge pages under large blocks (see [`allocator`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static GLOBAL: allocator::HugePages = allocator::HugePages;

/// Exit code: a stage failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the configuration is wrong.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code: verify found drift.
pub const EXIT_DRIFT: u8 = 3;

fn main() -> ExitCode {
    allocator::tune();
    let cli = Cli::parse();
    let json_log = cli.log_format == Some(LogFormat::Json) && !cli.quiet;
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let code = if err
                .chain()
                .any(|e| e.downcast_ref::<config::ConfigError>().is_some())
            {
                EXIT_CONFIG
            } else {
                EXIT_FAILED
            };
            if json_log {
                eprintln!(
                    "{}",
                    serde_json::json!({"event": "error", "message": error_text(&err), "exit_code": code})
                );
            } else {
                eprintln!("error: {}", error_text(&err));
            }
            ExitCode::from(code)
        }
    }
}

/// An error and its causes on one line, `outer: cause: cause`. A cause whose
/// text the message already ends with is left out: many errors (an I/O error
/// with its path, say) print their source and return it as well.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.ends_with(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(n))
            .build_global()?;
    }
    let mode = match (cli.log_format, cli.quiet) {
        (_, true) => ProgressMode::Quiet,
        (Some(LogFormat::Bars), _) => ProgressMode::Bars,
        (Some(LogFormat::Plain), _) => ProgressMode::Plain,
        (Some(LogFormat::Json), _) => ProgressMode::Json,
        (None, false) if std::io::stderr().is_terminal() => ProgressMode::Bars,
        (None, false) => ProgressMode::Plain,
    };
    match cli.command {
        Command::Init(args) => commands::init::run(args, cli.quiet),
        Command::Run(args) => commands::run::run(args, mode),
        Command::Status(args) => commands::status::run(args),
        Command::Dag(args) => commands::dag::run(args),
        Command::Verify(args) => commands::verify::run(args, mode),
        Command::Show(args) => commands::show::run(args),
        Command::History(args) => commands::history::run(args),
        Command::Rejects(args) => commands::rejects::run(args),
        Command::Gc(args) => commands::gc::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Recommend(args) => commands::query::recommend(args),
        Command::Similar(args) => commands::query::similar(args),
        Command::AlsoLiked(args) => commands::query::also_liked(args),
        Command::Segment(args) => commands::query::segment(args),
        Command::Lookalike(args) => commands::query::lookalike(args),
        Command::Bundle(cli::BundleCommand::Verify { dir }) => commands::query::verify_bundle(&dir),
        Command::Bundle(cli::BundleCommand::Publish { bundle, dest }) => {
            commands::query::publish_bundle(&bundle, &dest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[test]
    fn error_text_leaves_out_a_cause_the_message_already_ends_with() {
        let io = || std::io::Error::other("disk full");
        let core = recpipe_core::CoreError::io("a.parquet", io());
        let err = anyhow::Error::new(core).context("stage `ingest`");
        assert_eq!(error_text(&err), "stage `ingest`: a.parquet: disk full");
        let err = anyhow::Error::new(io()).context("writing b.json");
        assert_eq!(error_text(&err), "writing b.json: disk full");
    }
}
