//! The command line: clap types only; each command lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::Override;

/// recpipe turns raw interaction logs into user segments and recommendations,
/// as a pipeline of cached stages driven by pipeline.yaml.
#[derive(Debug, Parser)]
#[command(name = "recpipe", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 a stage failed, 2 configuration error, 3 verify found drift.\n\n\
Start with `recpipe init` (a pipeline.yaml on built-in synthetic data), then `recpipe run`;\n\
`recpipe status` says what is stale and why."
)]
pub struct Cli {
    /// How progress and logs are shown (default: bars on a terminal, plain lines otherwise).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Show nothing but results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Worker threads, 1 to 1024 (default: all cores). Artifacts are the same whatever the count.
    #[arg(
        long,
        global = true,
        env = "RECPIPE_THREADS",
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub threads: Option<u16>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Progress / log formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    /// Progress bars (terminal).
    Bars,
    /// Plain lines.
    Plain,
    /// One JSON object per line, for schedulers.
    Json,
}

/// Where the pipeline file is.
#[derive(Debug, Clone, Args)]
pub struct PipelineArg {
    /// The pipeline file.
    #[arg(short = 'p', long = "pipeline", default_value = "pipeline.yaml")]
    pub pipeline: PathBuf,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter pipeline.yaml: built-in synthetic data, MovieLens, or an events log.
    #[command(
        after_help = "Examples:\n  recpipe init && recpipe run                # synthetic data, no download\n  recpipe init ~/data/ml-1m                  # a MovieLens folder: the movielens template\n  recpipe init logs/events.csv               # an events log: columns guessed, then check them\n  recpipe init --template online-retail online-retail.csv -p retail.yaml\n  recpipe init transactions.csv --items articles.csv --users customers.csv"
    )]
    Init(InitArgs),
    /// Run what is stale, in dependency order.
    #[command(
        after_help = "Examples:\n  recpipe run                       # everything that is stale\n  recpipe run train                 # train and what it needs\n  recpipe run --from features       # features and everything after it\n  recpipe run --set train.factors=32 --dry-run\n  recpipe run --force=train         # rerun train even if cached"
    )]
    Run(RunArgs),
    /// Say which stages are up to date and why the others are stale.
    #[command(
        after_help = "Examples:\n  recpipe status\n  recpipe status --json | jq '.[] | select(.up_to_date | not)'"
    )]
    Status(StatusArgs),
    /// Print the stage graph.
    #[command(
        after_help = "Examples:\n  recpipe dag\n  recpipe dag --format mermaid\n  recpipe dag --format dot | dot -Tsvg > dag.svg"
    )]
    Dag(DagArgs),
    /// Rerun every stage from scratch in a scratch folder and compare every artifact with pipeline.lock.
    #[command(
        after_help = "Exits 3 and lists each differing artifact when a rerun does not reproduce the lock,\nor when a current artifact was altered. Gate CI on it:\n  recpipe run && recpipe verify"
    )]
    Verify(VerifyArgs),
    /// Show a stage's outputs, row counts, metrics and timings.
    #[command(after_help = "Examples:\n  recpipe show ingest\n  recpipe show train --json")]
    Show(ShowArgs),
    /// The runs of a stage the cache holds: their parameters beside the locked run's, and their headlines.
    #[command(
        after_help = "Tuning compares runs: each `recpipe run train --set train.factors=32` leaves one\nin the cache, and rerunning a setting seen before restores it at once.\n\nExamples:\n  recpipe history train\n  recpipe history implicit --json"
    )]
    History(ShowArgs),
    /// What an ingest stage rejected: counts by reason, then the rows with their file, line and reason.
    #[command(
        after_help = "Examples:\n  recpipe rejects\n  recpipe rejects --reason bad_timestamp -n 50\n  recpipe rejects ingest --json"
    )]
    Rejects(RejectsArgs),
    /// Delete cache entries that neither pipeline.lock nor a recent run refers to.
    #[command(
        after_help = "Examples:\n  recpipe gc             # keep what the last 5 runs used\n  recpipe gc --keep 0 --dry-run"
    )]
    Gc(GcArgs),
    /// A user's recommended items, from the export bundle.
    #[command(
        after_help = "Examples:\n  recpipe recommend --user 42\n  recpipe recommend 42                         # the same: the id as first argument\n  recpipe recommend --user 42 --explore 7     # a varied draw from the top candidates\n  recpipe recommend --profile gender=F         # cold start for a new user\n  recpipe recommend --user 42 --json"
    )]
    Recommend(RecommendArgs),
    /// Items similar to an item, by factors or by content.
    #[command(
        after_help = "Examples:\n  recpipe similar --item 1\n  recpipe similar 1                            # the same\n  recpipe similar --item 1 --by content -n 5\n  recpipe similar \"the matrix\"                 # by title, where no id is that text"
    )]
    Similar(SimilarArgs),
    /// "People who liked this also liked".
    #[command(
        name = "also-liked",
        after_help = "Examples:\n  recpipe also-liked --item 50\n  recpipe also-liked 50                        # the same\n  recpipe also-liked \"star wars (1977)\"        # by title"
    )]
    AlsoLiked(AlsoLikedArgs),
    /// A user's segment and its profile summary.
    #[command(
        after_help = "Examples:\n  recpipe segment --user 42\n  recpipe segment 42                           # the same"
    )]
    Segment(SegmentArgs),
    /// The users closest to a seed list of users (a campaign audience).
    #[command(
        after_help = "Example:\n  recpipe lookalike --users seeds.txt -n 1000 --json > audience.json"
    )]
    Lookalike(LookalikeArgs),
    /// Work with export bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// Write a synthetic MovieLens-shaped data set in a real file layout.
    #[command(
        after_help = "Examples:\n  recpipe generate --layout ml-1m --users 6040 --items 3706 --ratings 1000000 --out data/ml-1m-synth\n  recpipe generate --layout csv --ratings 20000000 --users 138000 --items 27000 --out data/ml-20m-synth"
    )]
    Generate(GenerateArgs),
}

/// `recpipe init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The pipeline file to write.
    #[arg(short = 'p', long = "pipeline", default_value = "pipeline.yaml")]
    pub pipeline: PathBuf,
    /// What the pipeline reads (default: guessed from DATA: a folder that
    /// holds a MovieLens layout gets `movielens`, any other data `events`;
    /// without DATA, `synthetic`).
    #[arg(long, value_enum)]
    pub template: Option<Template>,
    /// The data: a MovieLens folder (any of its three layouts), or the events log (CSV, .csv.gz, .csv.zst or Parquet, or a folder of them: its first file is read).
    #[arg(value_name = "DATA")]
    pub data: Option<PathBuf>,
    /// The data, as an option: the same as DATA.
    #[arg(long = "data", value_name = "DATA", conflicts_with = "data")]
    pub data_option: Option<PathBuf>,
    /// Replace an existing pipeline file.
    #[arg(long)]
    pub force: bool,
    /// events: an items file (CSV or Parquet) to read beside the log: its
    /// id, title, genres and text columns are guessed from its header.
    #[arg(long, value_name = "FILE")]
    pub items: Option<PathBuf>,
    /// events: a users file (CSV or Parquet) to read beside the log: its
    /// id, gender, age and country columns are guessed from its header.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
}

/// The pipelines `recpipe init` writes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Template {
    /// Built-in synthetic MovieLens-shaped data with planted segments; no download.
    Synthetic,
    /// A MovieLens folder in any of its three layouts: explicit and implicit ALS.
    Movielens,
    /// The UCI Online Retail log: purchases as implicit feedback, a time split.
    OnlineRetail,
    /// Your events log: columns and event types guessed from its header and first rows.
    Events,
}

/// `recpipe run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// Stages to bring up to date (with the stages they need); default: all.
    pub stages: Vec<String>,
    /// Only this stage and the stages after it.
    #[arg(long)]
    pub from: Option<String>,
    /// Only this stage and the stages before it.
    #[arg(long)]
    pub until: Option<String>,
    /// Rerun even if cached: all selected stages, or the one named (--force=STAGE).
    #[arg(long, num_args = 0..=1, default_missing_value = "*", require_equals = true, value_name = "STAGE")]
    pub force: Option<Vec<String>>,
    /// Override a parameter for this run: stage.key=value (part of the fingerprint).
    #[arg(long = "set", value_name = "STAGE.KEY=VALUE")]
    pub set: Vec<Override>,
    /// Say what would run and why; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-hash cached outputs and rebuild any that were altered on disk.
    #[arg(long)]
    pub check: bool,
    /// Fail at once if another run holds the work folder, instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
}

/// `recpipe status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Parameter overrides to evaluate, as for `run`.
    #[arg(long = "set", value_name = "STAGE.KEY=VALUE")]
    pub set: Vec<Override>,
}

/// Output formats of `dag`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DagFormat {
    /// Indented text.
    Text,
    /// Mermaid flowchart.
    Mermaid,
    /// Graphviz dot.
    Dot,
}

/// `recpipe dag`.
#[derive(Debug, Args)]
pub struct DagArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DagFormat::Text)]
    pub format: DagFormat,
}

/// `recpipe verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// Keep the scratch folder (its path is printed) to inspect a drift.
    #[arg(long)]
    pub keep: bool,
}

/// `recpipe show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// The stage.
    pub stage: String,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `recpipe rejects`.
#[derive(Debug, Args)]
pub struct RejectsArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// The ingest stage (default: the pipeline's only one).
    pub stage: Option<String>,
    /// Only rows rejected for this reason (a code such as `missing_user`).
    #[arg(long)]
    pub reason: Option<String>,
    /// How many rejected rows to list.
    #[arg(short, default_value_t = 10)]
    pub n: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `recpipe gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub pipeline: PipelineArg,
    /// Also keep what the last N runs used.
    #[arg(long, default_value_t = 5)]
    pub keep: usize,
    /// Say what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// File layouts `generate` writes.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GenLayout {
    /// ratings.dat, users.dat, movies.dat (`::`, ISO-8859-1).
    #[value(name = "ml-1m")]
    Ml1m,
    /// u.data, u.user, u.item, u.genre.
    #[value(name = "ml-100k")]
    Ml100k,
    /// ratings.csv, movies.csv, tags.csv (latest/25M style).
    Csv,
}

/// `recpipe generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// File layout.
    #[arg(long, value_enum, default_value_t = GenLayout::Ml1m)]
    pub layout: GenLayout,
    /// Users.
    #[arg(long, default_value_t = 6040, value_parser = clap::value_parser!(u32).range(1..))]
    pub users: u32,
    /// Items.
    #[arg(long, default_value_t = 3706, value_parser = clap::value_parser!(u32).range(1..))]
    pub items: u32,
    /// Ratings: at least one per user, at most half of the items per user (pairs do not repeat).
    #[arg(long, default_value_t = 1_000_000)]
    pub ratings: u64,
    /// Planted segments.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(1..))]
    pub segments: u16,
    /// RNG seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// Where the export bundle is.
#[derive(Debug, Clone, Args)]
pub struct BundleArg {
    /// The bundle folder (default: the current outputs of the pipeline's serve-export stage).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// The pipeline file used to find the default bundle.
    #[arg(short = 'p', long = "pipeline", default_value = "pipeline.yaml")]
    pub pipeline: PathBuf,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `recpipe recommend`.
#[derive(Debug, Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The user's id as in the source data.
    #[arg(long, required_unless_present_any = ["profile", "user_arg"])]
    pub user: Option<String>,
    /// The user's id, given without `--user`.
    #[arg(value_name = "USER", conflicts_with_all = ["user", "profile"])]
    pub user_arg: Option<String>,
    /// A cold-start profile instead of a user: all, segment=N, gender=F, age=25, ...
    #[arg(long, conflicts_with = "user")]
    pub profile: Option<String>,
    /// How many items [default: 10]; asking for more than the bundle keeps
    /// says so.
    #[arg(short, value_parser = at_least_one)]
    pub n: Option<usize>,
    /// Sample from the top candidates in proportion to score, with this seed.
    #[arg(long, value_name = "SEED")]
    pub explore: Option<u64>,
}

/// Neighbour kinds of `similar`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SimilarBy {
    /// Cosine of the item factors.
    Factors,
    /// Cosine of TF-IDF and genre vectors ("more of the same type").
    Content,
}

/// `recpipe similar`.
#[derive(Debug, Args)]
pub struct SimilarArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The item's id as in the source data, or else its title (or a part
    /// of it that only its title holds).
    #[arg(long, required_unless_present = "item_arg")]
    pub item: Option<String>,
    /// The item's id or title, given without `--item`.
    #[arg(value_name = "ITEM", conflicts_with = "item")]
    pub item_arg: Option<String>,
    /// How many items [default: 10]; asking for more than the bundle keeps
    /// says so.
    #[arg(short, value_parser = at_least_one)]
    pub n: Option<usize>,
    /// Similar by factors or by content.
    #[arg(long, value_enum, default_value_t = SimilarBy::Factors)]
    pub by: SimilarBy,
}

/// `recpipe also-liked`.
#[derive(Debug, Args)]
pub struct AlsoLikedArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The item's id as in the source data, or else its title (or a part
    /// of it that only its title holds).
    #[arg(long, required_unless_present = "item_arg")]
    pub item: Option<String>,
    /// The item's id or title, given without `--item`.
    #[arg(value_name = "ITEM", conflicts_with = "item")]
    pub item_arg: Option<String>,
    /// How many items [default: 10]; asking for more than the bundle keeps
    /// says so.
    #[arg(short, value_parser = at_least_one)]
    pub n: Option<usize>,
}

/// `recpipe segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// The user's id as in the source data.
    #[arg(long, required_unless_present = "user_arg")]
    pub user: Option<String>,
    /// The user's id, given without `--user`.
    #[arg(value_name = "USER", conflicts_with = "user")]
    pub user_arg: Option<String>,
}

/// `recpipe lookalike`.
#[derive(Debug, Args)]
pub struct LookalikeArgs {
    #[command(flatten)]
    pub bundle: BundleArg,
    /// A file with one seed user id per line (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub users: PathBuf,
    /// How many users.
    #[arg(short, default_value_t = 1000, value_parser = at_least_one)]
    pub n: usize,
}

/// `recpipe bundle ...`.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Re-hash every artifact of a bundle against its manifest.json; exits 3 on any difference.
    Verify {
        /// The bundle folder.
        dir: PathBuf,
    },
    /// Copy a bundle, checked against its manifest, into a new folder, whole or not at all.
    #[command(
        after_help = "The copy is made in a hidden folder beside DEST and renamed to DEST last, so a\nserver reading DEST never sees half a bundle; a DEST that exists is refused. The\npipeline's own outputs live in its cache, which `recpipe gc` prunes: serve a copy.\n\nExamples:\n  recpipe bundle publish /srv/recs/2026-12-02 && ln -sfn 2026-12-02 /srv/recs/current\n  recpipe bundle publish --bundle old/export backup/export"
    )]
    Publish {
        #[command(flatten)]
        bundle: BundleArg,
        /// The folder to create.
        dest: PathBuf,
    },
}

/// A count of lines to list: 1 or more (`-n 0` would list nothing).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a count of 1 or more")),
    }
}
