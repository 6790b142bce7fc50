//! Progress reporting: bars on a terminal, plain lines elsewhere, JSON for schedulers.

use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// indicatif bars on stderr (a terminal).
    Bars,
    /// One plain line per phase on stderr (logs, CI).
    Plain,
    /// One JSON object per line on stderr (schedulers).
    Json,
    /// Nothing.
    Quiet,
}

/// A stage's progress reporter; cheap to clone.
#[derive(Debug, Clone)]
pub struct Progress {
    stage: Arc<str>,
    mode: ProgressMode,
    start: Instant,
}

impl Progress {
    /// A reporter for `stage`.
    pub fn new(stage: &str, mode: ProgressMode) -> Self {
        Progress {
            stage: stage.into(),
            mode,
            start: Instant::now(),
        }
    }

    /// A reporter that shows nothing (tests, library use).
    pub fn quiet() -> Self {
        Progress::new("", ProgressMode::Quiet)
    }

    /// Announces a phase of the stage's work.
    pub fn phase(&self, message: &str) {
        let secs = self.start.elapsed().as_secs_f64();
        match self.mode {
            ProgressMode::Bars | ProgressMode::Plain => {
                eprintln!("  [{}] {message} ({secs:.2}s)", self.stage)
            }
            ProgressMode::Json => eprintln!(
                "{}",
                serde_json::json!({"stage": &*self.stage, "event": "phase", "message": message, "seconds": secs})
            ),
            ProgressMode::Quiet => {}
        }
    }

    /// A bar of `len` steps (hidden unless on a terminal).
    pub fn bar(&self, len: u64, message: &str) -> Bar {
        if self.mode != ProgressMode::Bars {
            self.phase(message);
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "  [{prefix}] {msg:24} {bar:30.cyan/blue} {pos}/{len} {elapsed_precise} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(self.stage.to_string());
        bar.set_message(message.to_string());
        Bar(Some(bar))
    }
}

/// A progress bar handle; does nothing when bars are off.
#[derive(Debug)]
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// Advances by `n` steps.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Sets the message shown beside the bar.
    pub fn set_message(&self, message: String) {
        if let Some(b) = &self.0 {
            b.set_message(message);
        }
    }

    /// Finishes and clears the bar.
    pub fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}
