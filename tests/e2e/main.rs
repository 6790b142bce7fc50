//! End-to-end tests of the `recpipe` binary: each test works in its own
//! temporary folder through [`Env`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod config_errors;
mod pipeline;
mod queries;
mod rejects;
mod rerun_property;

/// A temporary project folder and a way to run recpipe in it.
pub struct Env {
    dir: tempfile::TempDir,
}

/// A small but complete pipeline: every stage kind, on tiny synthetic data.
pub const SMALL: &str = "version: 1
vars: {seed: 7}
stages:
  ingest: {uses: ingest, with: {source: synthetic, seed: \"${seed}\", users: 300, items: 200, ratings: 6000, segments: 3}}
  features: {uses: features, needs: [ingest]}
  cluster: {uses: cluster, needs: [features], with: {k: 3, n_runs: 3}}
  train: {uses: train, needs: [ingest, features, cluster], with: {factors: 8, iterations: 5}}
  export: {uses: serve-export, needs: [train, cluster], with: {top_n: 5}}
";

impl Env {
    /// A folder holding `pipeline.yaml` with `yaml`.
    pub fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("pipeline.yaml"), yaml).expect("write pipeline");
        Env { dir }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command running recpipe in the folder.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_recpipe"));
        c.current_dir(self.path())
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .env_remove("RECPIPE_THREADS");
        c
    }

    /// Runs recpipe and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run recpipe")
    }

    /// Runs recpipe, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "recpipe {args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Writes a synthetic MovieLens data set of `layout` into `out` with
    /// `recpipe generate`: (users, items, ratings).
    pub fn generate(&self, layout: &str, out: &str, (users, items, ratings): (u32, u32, u32)) {
        let (users, items, ratings) = (users.to_string(), items.to_string(), ratings.to_string());
        self.ok(&[
            "generate",
            "--layout",
            layout,
            "--users",
            &users,
            "--items",
            &items,
            "--ratings",
            &ratings,
            "--out",
            out,
        ]);
    }

    /// The current output folder of a stage.
    pub fn out(&self, stage: &str) -> PathBuf {
        self.path().join(".recpipe/out").join(stage)
    }
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The stages a `recpipe run` printed as `ran`.
pub fn ran(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            (w.next() == Some("ran")).then(|| name.to_string())
        })
        .collect()
}
