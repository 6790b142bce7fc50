//! `recpipe init`: writes a starter pipeline file from the pipelines this
//! repository ships, so that an installed binary can start anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{InitArgs, Template};
use crate::config::ConfigError;

/// The default pipeline: built-in synthetic data, no download.
const SYNTHETIC: &str = include_str!("../../pipeline.yaml");
/// Any MovieLens layout: explicit and implicit ALS, segments, export.
const MOVIELENS: &str = include_str!("../../pipelines/movielens-1m.yaml");
/// An e-commerce log with a column mapping (UCI Online Retail).
const ONLINE_RETAIL: &str = include_str!("../../pipelines/online-retail.yaml");

/// Writes the chosen template to the pipeline path; refuses to replace a
/// file unless `--force`.
pub fn run(args: InitArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let file = &args.pipeline;
    if args.template == Template::Synthetic && args.data.is_some() {
        return Err(ConfigError::at(
            file,
            None,
            "--data is for the movielens and online-retail templates; the synthetic one generates its data",
        )
        .into());
    }
    if file.exists() && !args.force {
        return Err(ConfigError::at(file, None, "already exists; --force replaces it").into());
    }
    let folder = file.parent().filter(|p| !p.as_os_str().is_empty());
    let data = args.data.as_deref().map(|d| data_path(d, folder));
    let text = template_text(args.template, data.as_deref());
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder).map_err(|e| recpipe_core::CoreError::io(folder, e))?;
    }
    recpipe_core::fsutil::write_atomic(file, text.as_bytes())?;
    if !quiet {
        outln!("wrote {} ({})", file.display(), args.template.about())?;
        if let Some(d) = &args.data
            && !d.exists()
        {
            outln!("note: {} does not exist yet", d.display())?;
        }
        let p = if file == Path::new("pipeline.yaml") {
            String::new()
        } else {
            format!(" -p {}", file.display())
        };
        outln!("next: recpipe run{p}, then recpipe status{p}")?;
    }
    Ok(ExitCode::SUCCESS)
}

impl Template {
    /// The comment that opens the written file.
    fn header(self) -> &'static str {
        match self {
            Template::Synthetic => "",
            Template::Movielens => {
                "# A MovieLens folder in any of its three layouts (1M .dat files, 100K u.data\n\
                 # and u.item, or ratings.csv + movies.csv): explicit ALS on a random 10%\n\
                 # split, implicit ALS on ratings >= 4, user segments and the export bundle.\n\
                 # Written by `recpipe init --template movielens`; `recpipe run` builds it.\n"
            }
            Template::OnlineRetail => {
                "# UCI Online Retail (CC BY 4.0): purchases as implicit feedback. Train on\n\
                 # purchases before 2011-11-01, test on the later ones of customers seen before.\n\
                 # Another events log: change `columns` to its column names.\n\
                 # Written by `recpipe init --template online-retail`; `recpipe run` builds it.\n"
            }
        }
    }

    /// What the template reads, for the message after writing it.
    fn about(self) -> &'static str {
        match self {
            Template::Synthetic => "built-in synthetic data",
            Template::Movielens => "a MovieLens folder",
            Template::OnlineRetail => "the Online Retail log",
        }
    }
}

/// The data path as the pipeline file must name it: relative paths in a
/// pipeline resolve against its folder, so a relative `--data` (given from
/// the current folder) is kept as is only when the file is written here.
fn data_path(data: &Path, pipeline_folder: Option<&Path>) -> String {
    let path: PathBuf = match pipeline_folder {
        Some(_) if data.is_relative() => data
            .canonicalize()
            .or_else(|_| std::path::absolute(data))
            .unwrap_or(data.to_path_buf()),
        _ => data.to_path_buf(),
    };
    path.display().to_string()
}

/// The template's text, with its cache in `.recpipe` beside the file and its
/// data at `data` (the synthetic template reads no data).
pub fn template_text(template: Template, data: Option<&str>) -> String {
    let source = match template {
        Template::Synthetic => return SYNTHETIC.to_string(),
        Template::Movielens => MOVIELENS,
        Template::OnlineRetail => ONLINE_RETAIL,
    };
    let mut out = String::with_capacity(source.len());
    out.push_str(template.header());
    // The example's own header describes the example's data.
    for line in source.lines().skip_while(|l| l.starts_with('#')) {
        if line.starts_with("workdir:") {
            out.push_str("workdir: .recpipe");
        } else if let (Some(data), true) = (data, line.starts_with("  data:")) {
            out.push_str("  data: ");
            out.push_str(&yaml_string(data));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `s` as a double-quoted YAML scalar.
fn yaml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_template_loads_as_a_plan_with_its_data_and_cache_beside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        for template in Template::value_variants() {
            // Plans check that their data exists: a folder or a file.
            let data = dir.path().join(format!("{template:?} \"data\""));
            match template {
                Template::Movielens => {
                    std::fs::create_dir(&data).expect("mkdir");
                    std::fs::write(data.join("ratings.csv"), "userId,movieId,rating\n")
                        .expect("write");
                }
                _ => std::fs::write(&data, "x\n").expect("write"),
            }
            let file = dir.path().join("pipeline.yaml");
            let text = template_text(*template, Some(&data.display().to_string()));
            std::fs::write(&file, &text).expect("write");
            let plan = crate::plan::load(&file, &[]).expect("template loads");
            assert!(plan.stages.len() >= 5, "{template:?}");
            assert_eq!(plan.workdir, dir.path().join(".recpipe"), "{template:?}");
            let ingest =
                serde_json::to_string(&plan.stage("ingest").expect("ingest").params).expect("json");
            match template {
                Template::Synthetic => assert!(ingest.contains("synthetic")),
                _ => assert!(
                    ingest.contains(
                        &serde_json::to_string(&data.display().to_string()).expect("json")[1..]
                    ),
                    "{template:?}: {ingest}"
                ),
            }
        }
    }

    #[test]
    fn relative_data_is_made_absolute_only_for_a_file_elsewhere() {
        assert_eq!(data_path(Path::new("data/ml"), None), "data/ml");
        let elsewhere = data_path(Path::new("data/ml"), Some(Path::new("sub")));
        assert!(Path::new(&elsewhere).is_absolute() && elsewhere.ends_with("data/ml"));
        assert_eq!(
            data_path(Path::new("/d/ml"), Some(Path::new("sub"))),
            "/d/ml"
        );
    }
}
