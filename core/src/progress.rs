//! Progress reporting: bars on a terminal, plain lines elsewhere, JSON for schedulers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
        self.emit(
            message,
            serde_json::json!({"event": "phase", "message": message}),
        );
    }

    /// Writes a progress line, `  [stage] text (at 1.25s)`: the time since
    /// the stage began, when the phase begins; or in JSON mode
    /// `fields` with the stage and the seconds.
    fn emit(&self, text: &str, mut fields: serde_json::Value) {
        let secs = self.start.elapsed().as_secs_f64();
        match self.mode {
            ProgressMode::Bars | ProgressMode::Plain => {
                eprintln!("  [{}] {text} (at {secs:.2}s)", self.stage)
            }
            ProgressMode::Json => {
                fields["stage"] = serde_json::json!(&*self.stage);
                fields["seconds"] = serde_json::json!(secs);
                eprintln!("{fields}")
            }
            ProgressMode::Quiet => {}
        }
    }

    /// A bar of `len` steps: drawn on a terminal; in plain or JSON logs, a
    /// line with the count at most every [`LINE_EVERY`], so a long stage in a
    /// batch job's log shows it is moving.
    pub fn bar(&self, len: u64, message: &str) -> Bar {
        match self.mode {
            ProgressMode::Quiet => Bar(Shown::Hidden),
            ProgressMode::Plain | ProgressMode::Json => {
                self.phase(message);
                Bar(Shown::Lines(Box::new(Lines {
                    progress: self.clone(),
                    len,
                    state: Mutex::new(LineState {
                        pos: 0,
                        message: message.to_string(),
                        last: Instant::now(),
                    }),
                })))
            }
            ProgressMode::Bars => {
                let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "  [{prefix}] {msg:24} {bar:30.cyan/blue} {pos}/{len} {elapsed_precise} eta {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(self.stage.to_string());
                bar.set_message(message.to_string());
                Bar(Shown::Drawn(bar))
            }
        }
    }

    /// A bar's count as a progress line: `[stage] message: pos/len (at 12.50s)`.
    fn count(&self, message: &str, pos: u64, len: u64) {
        self.emit(
            &format!("{message}: {pos}/{len}"),
            serde_json::json!({"event": "progress", "message": message, "position": pos, "length": len}),
        );
    }
}

/// How often a bar in plain or JSON logs prints its count.
pub const LINE_EVERY: Duration = Duration::from_secs(10);

/// A progress bar handle; does nothing when progress is off.
#[derive(Debug)]
pub struct Bar(Shown);

#[derive(Debug)]
enum Shown {
    Hidden,
    Drawn(ProgressBar),
    Lines(Box<Lines>),
}

/// A bar written as log lines.
#[derive(Debug)]
struct Lines {
    progress: Progress,
    len: u64,
    state: Mutex<LineState>,
}

#[derive(Debug)]
struct LineState {
    pos: u64,
    message: String,
    /// When the last line (or the phase line) was written.
    last: Instant,
}

impl Lines {
    fn state(&self) -> std::sync::MutexGuard<'_, LineState> {
        // A panic elsewhere cannot leave a counter inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LineState {
    /// Advances by `n` of `len` steps; true when a line is due: `every`
    /// has passed since the last one and the bar is not at its end (the
    /// stage's next phase line says that).
    fn advance(&mut self, n: u64, len: u64, every: Duration) -> bool {
        self.pos = (self.pos + n).min(len);
        let due = self.pos < len && self.last.elapsed() >= every;
        if due {
            self.last = Instant::now();
        }
        due
    }
}

impl Bar {
    /// Advances by `n` steps.
    pub fn inc(&self, n: u64) {
        match &self.0 {
            Shown::Hidden => {}
            Shown::Drawn(b) => b.inc(n),
            Shown::Lines(l) => {
                let mut s = l.state();
                if s.advance(n, l.len, LINE_EVERY) {
                    l.progress.count(&s.message, s.pos, l.len);
                }
            }
        }
    }

    /// Sets the message shown beside the bar (and in the next log line).
    pub fn set_message(&self, message: String) {
        match &self.0 {
            Shown::Hidden => {}
            Shown::Drawn(b) => b.set_message(message),
            Shown::Lines(l) => l.state().message = message,
        }
    }

    /// Finishes and clears the bar.
    pub fn finish(self) {
        if let Shown::Drawn(b) = self.0 {
            b.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> LineState {
        LineState {
            pos: 0,
            message: String::new(),
            last: Instant::now(),
        }
    }

    #[test]
    fn a_logged_bar_writes_a_line_when_due_and_never_at_its_end() {
        let mut s = state();
        // Due at every step: a line for each but the last.
        let due: Vec<bool> = (0..4).map(|_| s.advance(1, 4, Duration::ZERO)).collect();
        assert_eq!(due, [true, true, true, false]);
        // Steps beyond the length stop at it.
        assert!(!s.advance(3, 4, Duration::ZERO));
        assert_eq!(s.pos, 4);
        // Not yet due: no line, but the count moves.
        let mut s = state();
        assert!(!s.advance(2, 10, Duration::from_secs(3600)));
        assert_eq!(s.pos, 2);
    }

    #[test]
    fn quiet_bars_are_hidden_and_logged_ones_count() {
        assert!(matches!(Progress::quiet().bar(5, "x").0, Shown::Hidden));
        let bar = Progress::new("s", ProgressMode::Plain).bar(5, "x");
        bar.inc(2);
        bar.set_message("y".into());
        let Shown::Lines(l) = &bar.0 else {
            panic!("plain progress is logged")
        };
        let s = l.state();
        assert_eq!((s.pos, s.message.as_str()), (2, "y"));
        drop(s);
        bar.finish();
    }
}
