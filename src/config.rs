//! `pipeline.yaml`: the raw document as written (strict), and its errors with
//! file, line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The document as written. Unknown keys are errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Schema version of the file; only 1 exists.
    pub version: u32,
    /// Where the cache, current outputs and run reports live (default `.recpipe`).
    #[serde(default)]
    pub workdir: Option<String>,
    /// Variables referenced as `${name}` in stage parameters.
    #[serde(default)]
    pub vars: BTreeMap<String, serde_yaml::Value>,
    /// The stages, by name, in the order written.
    pub stages: serde_yaml::Mapping,
}

/// One stage as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStage {
    /// The stage kind: ingest, features, cluster, train or serve-export.
    pub uses: String,
    /// Stages whose outputs this one reads.
    #[serde(default)]
    pub needs: Vec<String>,
    /// The kind's parameters.
    #[serde(default)]
    pub with: serde_yaml::Value,
    /// A human description.
    #[serde(default)]
    pub desc: Option<String>,
}

/// A configuration error, located in the file where possible.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error at a known place.
    pub fn at(path: &Path, location: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            location,
            message: message.into(),
        }
    }
}

pub use recpipe_core::names::nearest;

/// Adds "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`".
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match nearest(field, candidates.iter().copied()) {
        Some(n) => format!("{message}; did you mean `{n}`?"),
        None => message.to_string(),
    }
}

/// Finds where `key:` is written inside the block of stage `stage`: the line
/// and column of the first occurrence after the stage's own line.
pub fn locate_key(text: &str, stage: &str, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let stage_line = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with(&format!("{stage}:")) || t.starts_with(&format!("\"{stage}\":"))
    })?;
    let stage_indent = lines[stage_line].len() - lines[stage_line].trim_start().len();
    for (i, l) in lines.iter().enumerate().skip(stage_line) {
        if i > stage_line && !l.trim().is_empty() {
            let indent = l.len() - l.trim_start().len();
            if indent <= stage_indent {
                break;
            }
        }
        let start = if i == stage_line {
            stage_indent + stage.len() + 1
        } else {
            0
        };
        let hay = l.get(start..).unwrap_or("");
        for pat in [format!("{key}:"), format!("{key} :")] {
            if let Some(pos) = hay.find(&pat) {
                let before = hay[..pos].chars().last();
                if before.is_none_or(|c| c == ' ' || c == '{' || c == ',') {
                    return Some((i + 1, start + pos + 1));
                }
            }
        }
    }
    Some((stage_line + 1, stage_indent + 1))
}

/// Parses the document; a YAML or shape error carries its location.
pub fn parse(path: &Path, text: &str) -> Result<RawPipeline, ConfigError> {
    serde_yaml::from_str::<RawPipeline>(text).map_err(|e| {
        let loc = e.location().map(|l| (l.line(), l.column()));
        let mut message = with_suggestion(&e.to_string());
        // YAML refuses tabs in indentation with a scanner's words.
        let line = loc.and_then(|(line, _)| text.lines().nth(line.saturating_sub(1)));
        if line.is_some_and(|l| l.trim_start_matches(' ').starts_with('\t')) {
            message.push_str(" (a tab: YAML indents with spaces only)");
        }
        ConfigError::at(path, loc, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let m = "stages.train: unknown field `facors`, expected one of `factors`, `model`";
        assert!(with_suggestion(m).ends_with("did you mean `factors`?"));
        assert_eq!(nearest("trian", ["train", "ingest"]), Some("train"));
        assert_eq!(nearest("zzzzzz", ["train", "ingest"]), None);
    }

    #[test]
    fn locates_keys_in_block_and_flow_style() {
        let text = "stages:\n  ingest: {uses: ingest, with: {sourse: x}}\n  train:\n    uses: train\n    with:\n      facors: 3\n";
        assert_eq!(locate_key(text, "ingest", "sourse"), Some((2, 33)));
        assert_eq!(locate_key(text, "train", "facors"), Some((6, 7)));
    }

    #[test]
    fn unknown_top_level_key_has_a_location() {
        let err = parse(Path::new("p.yaml"), "version: 1\nstagse: {}\n").expect_err("unknown");
        assert_eq!(err.location.map(|l| l.0), Some(2));
        assert!(err.message.contains("did you mean `stages`"), "{err}");
    }
}
