//! `recpipe dag`.

use std::process::ExitCode;

use crate::cli::{DagArgs, DagFormat};

/// Prints the stage graph as text, mermaid or dot.
pub fn run(args: DagArgs) -> anyhow::Result<ExitCode> {
    let plan = super::load_plan(&args.pipeline.pipeline, &[])?;
    let mut out = String::new();
    match args.format {
        DagFormat::Text => {
            for s in &plan.stages {
                let needs = if s.needs.is_empty() {
                    String::new()
                } else {
                    format!(" <- {}", s.needs.join(", "))
                };
                let about = s.desc.as_deref().unwrap_or(s.kind.about);
                out.push_str(&format!(
                    "{} ({}){needs}\n    {about}\n",
                    s.name, s.kind.name
                ));
            }
        }
        DagFormat::Mermaid => {
            out.push_str("flowchart LR\n");
            for s in &plan.stages {
                out.push_str(&format!(
                    "  {}[\"{}<br/><small>{}</small>\"]\n",
                    s.name, s.name, s.kind.name
                ));
            }
            for s in &plan.stages {
                for n in &s.needs {
                    out.push_str(&format!("  {n} --> {}\n", s.name));
                }
            }
        }
        DagFormat::Dot => {
            out.push_str("digraph recpipe {\n  rankdir=LR;\n");
            for s in &plan.stages {
                out.push_str(&format!(
                    "  \"{}\" [label=\"{}\\n({})\"];\n",
                    s.name, s.name, s.kind.name
                ));
            }
            for s in &plan.stages {
                for n in &s.needs {
                    out.push_str(&format!("  \"{n}\" -> \"{}\";\n", s.name));
                }
            }
            out.push_str("}\n");
        }
    }
    out!("{out}")?;
    Ok(ExitCode::SUCCESS)
}
