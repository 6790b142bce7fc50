//! The query commands: they read an export bundle, never the pipeline's cache.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use recpipe_core::names::counted;
use recpipe_serve_export::bundle::{Answer, Bundle};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::cli::{
    AlsoLikedArgs, BundleArg, LookalikeArgs, RecommendArgs, SegmentArgs, SimilarArgs, SimilarBy,
};

/// The bundle named by --bundle, or the current outputs of the pipeline's serve-export stage.
fn bundle(arg: &BundleArg) -> anyhow::Result<Bundle> {
    let dir: PathBuf = match &arg.bundle {
        Some(d) => d.clone(),
        None => {
            let plan = super::load_plan(&arg.pipeline, &[]).map_err(|e| {
                anyhow::anyhow!(
                    "{}\n(pass --bundle DIR to read a bundle directly)",
                    crate::error_text(&e)
                )
            })?;
            let stage = plan
                .stages
                .iter()
                .find(|s| s.kind.name == "serve-export")
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} has no serve-export stage; pass --bundle DIR",
                        plan.file.display()
                    )
                })?;
            plan.workdir.join("out").join(&stage.name)
        }
    };
    Ok(Bundle::open(&dir)?)
}

fn print(answer: &Answer, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(answer)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}", answer.title)?;
    if let Some(note) = &answer.note {
        outln!("note: {note}")?;
    }
    let idw = answer
        .lines
        .iter()
        .map(|l| l.id.width())
        .max()
        .unwrap_or(2)
        .max(2);
    let second = answer.lines.iter().any(|l| l.second.is_some()).then(|| {
        let name = answer.second_name.as_deref().unwrap_or("second");
        format!("  {name:>9}")
    });
    // Logs without item names leave the column out rather than blank.
    let titled = answer.lines.iter().any(|l| !l.title.is_empty());
    let header = format!(
        "{:>4}  {}  {:>10}{}{}",
        "rank",
        padded("id", idw),
        answer.score_name,
        second.unwrap_or_default(),
        if titled { "  title" } else { "" }
    );
    outln!("{}", header.trim_end())?;
    for l in &answer.lines {
        let second = l
            .second
            .map(|s| format!("  {:>9.4}", four_places(f64::from(s))))
            .unwrap_or_default();
        let line = format!(
            "{:>4}  {}  {:>10.4}{second}  {}",
            l.rank,
            padded(&l.id, idw),
            four_places(f64::from(l.score)),
            l.title
        );
        outln!("{}", line.trim_end())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` cut to at most `width` terminal columns and padded to exactly
/// that many: a CJK character takes two columns, a combining mark none.
fn padded(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + width);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
    out
}

/// An id given as `--user ID` / `--item ID` or as the first argument (clap
/// lets only one of them through).
fn either<'a>(flag: &'a Option<String>, positional: &'a Option<String>) -> Option<&'a str> {
    flag.as_deref().or(positional.as_deref())
}

/// [`either`] where the id is required.
fn given<'a>(flag: &'a Option<String>, positional: &'a Option<String>) -> anyhow::Result<&'a str> {
    either(flag, positional).ok_or_else(|| anyhow::anyhow!("no id given"))
}

/// How many items a query lists when `-n` is not given.
const DEFAULT_N: usize = 10;

/// `answer`, with a note when its list is shorter than the `-n` given and
/// nothing else was said: the bundle keeps as many as the export's
/// `settings` allowed, and a reader who asked for 50 and got 10 should know
/// that more takes a rerun, not another flag.
fn short_of(mut answer: Answer, asked: Option<usize>, settings: &str) -> Answer {
    let len = answer.lines.len();
    if let Some(n) = asked
        && answer.note.is_none()
        && len > 0
        && len < n
    {
        answer.note = Some(format!(
            "the bundle holds {len} here, fewer than the {n} asked for \
             (how many it keeps is set by the serve-export stage's {settings})"
        ));
    }
    answer
}

/// `recpipe recommend`.
pub fn recommend(args: RecommendArgs) -> anyhow::Result<ExitCode> {
    let b = bundle(&args.bundle)?;
    let n = args.n.unwrap_or(DEFAULT_N);
    let answer = match (either(&args.user, &args.user_arg), &args.profile) {
        (Some(u), _) => {
            let settings = match args.explore {
                Some(_) => "`candidates_n`",
                None => "`top_n`",
            };
            short_of(b.recommend(u, n, args.explore)?, args.n, settings)
        }
        (None, Some(p)) => short_of(b.cold_start(p, n)?, args.n, "`cold_start_n`"),
        (None, None) => anyhow::bail!("give --user ID or --profile KEY=VALUE"),
    };
    print(&answer, args.bundle.json)
}

/// `recpipe similar`.
pub fn similar(args: SimilarArgs) -> anyhow::Result<ExitCode> {
    let by = match args.by {
        SimilarBy::Factors => "factors",
        SimilarBy::Content => "content",
    };
    let n = args.n.unwrap_or(DEFAULT_N);
    let answer = bundle(&args.bundle)?.similar(given(&args.item, &args.item_arg)?, n, by)?;
    print(&short_of(answer, args.n, "`similar_n`"), args.bundle.json)
}

/// `recpipe also-liked`.
pub fn also_liked(args: AlsoLikedArgs) -> anyhow::Result<ExitCode> {
    let n = args.n.unwrap_or(DEFAULT_N);
    let answer = bundle(&args.bundle)?.also_liked(given(&args.item, &args.item_arg)?, n)?;
    let settings = "`also_liked_n` and `also_liked_min_users`";
    print(&short_of(answer, args.n, settings), args.bundle.json)
}

/// `recpipe segment`: the segment's size, then its profile by kind, each
/// line's figure in the segment, over all users, and their ratio.
pub fn segment(args: SegmentArgs) -> anyhow::Result<ExitCode> {
    let answer = bundle(&args.bundle)?.segment(given(&args.user, &args.user_arg)?)?;
    if args.bundle.json {
        outln!("{}", serde_json::to_string_pretty(&answer)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "user {} is in segment {}: {}, {:.1}% of all",
        answer.user,
        answer.segment,
        counted(answer.users, "user"),
        answer.share * 100.0
    )?;
    const KINDS: [(&str, &str); 4] = [
        ("feature", "features that differ most (mean)"),
        ("genre", "genres (share of interactions)"),
        ("item", "items (share of users who liked it)"),
        ("term", "terms (mean TF-IDF weight)"),
    ];
    let width = KINDS
        .iter()
        .map(|(_, heading)| heading.width())
        .chain(answer.lines.iter().map(|l| l.name.width() + 2))
        .max()
        .unwrap_or(0)
        .min(60);
    for (kind, heading) in KINDS {
        let mut lines = answer.lines.iter().filter(|l| l.kind == kind).peekable();
        if lines.peek().is_none() {
            continue;
        }
        outln!(
            "\n{}  {:>9}  {:>9}  {:>7}",
            padded(heading, width),
            "segment",
            "all",
            "lift"
        )?;
        for l in lines {
            outln!(
                "  {}  {:>9.4}  {:>9.4}  {:>7.2}",
                padded(&l.name, width - 2),
                l.segment,
                l.overall,
                l.lift,
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `recpipe lookalike`.
pub fn lookalike(args: LookalikeArgs) -> anyhow::Result<ExitCode> {
    let text = if args.users.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| anyhow::anyhow!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(&args.users).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the seed users file {}: {e} (--users takes a file \
                 with one user id per line, or - for standard input)",
                args.users.display()
            )
        })?
    };
    let seeds: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if seeds.is_empty() {
        anyhow::bail!("{}: no user ids (one per line)", args.users.display());
    }
    print(
        &bundle(&args.bundle)?.lookalike(&seeds, args.n)?,
        args.bundle.json,
    )
}

/// `recpipe bundle verify`.
pub fn verify_bundle(dir: &Path) -> anyhow::Result<ExitCode> {
    let v = recpipe_serve_export::manifest::verify(dir)?;
    if v.problems.is_empty() {
        outln!("bundle ok: {} artifacts match manifest.json", v.checked)?;
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "bundle differs from its manifest in {} of {} artifacts:",
            v.problems.len(),
            v.checked
        )?;
        for p in &v.problems {
            outln!("  {p}")?;
        }
        Ok(ExitCode::from(crate::EXIT_DRIFT))
    }
}

/// `recpipe bundle publish`: the bundle checked against its manifest
/// (drift exits 3 and copies nothing), then copied into `dest`.
pub fn publish_bundle(arg: &BundleArg, dest: &Path) -> anyhow::Result<ExitCode> {
    if dest.exists() {
        let why = recpipe_serve_export::manifest::DEST_EXISTS;
        return Err(crate::config::ConfigError::at(dest, None, why).into());
    }
    let src = bundle(arg)?.dir().to_path_buf();
    let v = recpipe_serve_export::manifest::verify(&src)?;
    if !v.problems.is_empty() {
        eprintln!(
            "error: {} differs from its manifest in {} of {} artifacts; nothing was published:",
            src.display(),
            v.problems.len(),
            v.checked
        );
        for p in &v.problems {
            eprintln!("  {p}");
        }
        return Ok(ExitCode::from(crate::EXIT_DRIFT));
    }
    let published = recpipe_serve_export::manifest::publish(&src, dest)?;
    if arg.json {
        let doc = serde_json::json!({
            "published": dest, "from": src, "files": published.files, "bytes": published.bytes,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        outln!(
            "published {} ({:.1} MiB, checked against manifest.json) to {}",
            counted(published.files as u64, "file"),
            published.bytes as f64 / (1u64 << 20) as f64,
            dest.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `x` rounded to the four places a table shows, a value that rounds to
/// zero from below as 0 (a cosine of -5e-8 prints 0.0000, not -0.0000).
fn four_places(x: f64) -> f64 {
    (x * 1e4).round() / 1e4 + 0.0
}

#[cfg(test)]
mod tests {
    use super::{four_places, padded};

    #[test]
    fn padded_counts_terminal_columns_not_characters() {
        assert_eq!(padded("ab", 4), "ab  ");
        // Two columns a character: "테스트" is 6 wide.
        assert_eq!(padded("테스트", 8), "테스트  ");
        // Cut before a wide character that would not fit.
        assert_eq!(padded("테스트", 5), "테스 ");
        assert_eq!(padded("abcdef", 3), "abc");
        // A combining accent takes no column.
        assert_eq!(padded("e\u{301}", 2), "e\u{301} ");
    }

    #[test]
    fn four_places_never_prints_a_negative_zero() {
        assert_eq!(format!("{:.4}", four_places(-5e-8)), "0.0000");
        assert_eq!(format!("{:.4}", four_places(-0.0)), "0.0000");
        assert_eq!(format!("{:.4}", four_places(-0.00006)), "-0.0001");
        assert_eq!(format!("{:.4}", four_places(0.12345)), "0.1235");
    }
}
