//! `recpipe generate`.

use std::process::ExitCode;

use recpipe_ingest::movielens::Layout;
use recpipe_ingest::params::SyntheticSpec;

use crate::cli::{GenLayout, GenerateArgs};

/// Writes a synthetic data set in a MovieLens layout.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let spec = SyntheticSpec {
        seed: args.seed,
        users: args.users,
        items: args.items,
        ratings: args.ratings,
        segments: args.segments,
    };
    // (clap has checked that users, items and segments are at least 1.)
    if let Err(why) = spec.check_ratings() {
        // A usage error, as clap's own: exit code 2.
        clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{why}\n")).exit();
    }
    if args.out.exists() && !args.out.is_dir() {
        clap::Error::raw(
            clap::error::ErrorKind::ValueValidation,
            format!(
                "--out {} is a file: it names the folder the layout's files are written to\n",
                args.out.display()
            ),
        )
        .exit();
    }
    let layout = match args.layout {
        GenLayout::Ml1m => Layout::Ml1m,
        GenLayout::Ml100k => Layout::Ml100k,
        GenLayout::Csv => Layout::Csv,
    };
    let t = std::time::Instant::now();
    let data = recpipe_ingest::synthetic::generate(&spec);
    recpipe_ingest::synthetic::write_layout(&data, layout, &args.out)?;
    outln!(
        "wrote {} ratings of {} users x {} items ({} layout) to {} in {:.2}s",
        data.ratings.len(),
        data.users.len(),
        data.items.len(),
        layout.name(),
        args.out.display(),
        t.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}
