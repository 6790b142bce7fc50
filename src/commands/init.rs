//! `recpipe init`: writes a starter pipeline file from the pipelines this
//! repository ships, so that an installed binary can start anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{InitArgs, Template};
use crate::config::ConfigError;
use recpipe_ingest::params::ColumnList;
use recpipe_ingest::sniff::{SideGuess, SideRole};

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
    let given = args.data.or(args.data_option);
    let (template, guessed) = match (args.template, &given) {
        (Some(template), _) => (template, false),
        (None, None) => (Template::Synthetic, false),
        (None, Some(data)) => (guess_template(file, data)?, true),
    };
    match (template, &given) {
        (Template::Synthetic, Some(_)) => {
            return Err(ConfigError::at(
                file,
                None,
                "DATA is for the movielens, online-retail and events templates; the synthetic one generates its data",
            )
            .into());
        }
        (Template::Synthetic, None) | (_, Some(_)) => {}
        (_, None) => {
            let name = template.name();
            return Err(ConfigError::at(
                file,
                None,
                format!("the {name} template needs the data: recpipe init --template {name} DATA"),
            )
            .into());
        }
    }
    if file.exists() && !args.force {
        return Err(ConfigError::at(file, None, "already exists; --force replaces it").into());
    }
    let folder = file.parent().filter(|p| !p.as_os_str().is_empty());
    let data = given.as_deref().map(|d| data_path(d, folder));
    if template != Template::Events && (args.items.is_some() || args.users.is_some()) {
        let message =
            "--items and --users are for the events template (a MovieLens folder holds its own)";
        return Err(ConfigError::at(file, None, message).into());
    }
    let (text, notes) = match (template, &given, &data) {
        (Template::Events, Some(log), Some(data)) => {
            let guess = recpipe_ingest::sniff::sniff(log)?;
            let mut notes = events_notes(&guess);
            let mut sides = Vec::new();
            let (user_ids, item_ids) = &guess.sampled_ids;
            for (role, side, log_id, log_ids) in [
                (SideRole::Items, &args.items, &guess.columns.item, item_ids),
                (SideRole::Users, &args.users, &guess.columns.user, user_ids),
            ] {
                let Some(side) = side else { continue };
                let found = recpipe_ingest::sniff::sniff_side(side, role, log_id)?;
                notes.extend(side_notes(side, &found, (guess.delimiter, log_ids)));
                sides.push((found, data_path(side, folder)));
            }
            if let Some(layout) = log
                .is_dir()
                .then(|| recpipe_ingest::movielens::detect(log).ok())
                .flatten()
            {
                notes.push(format!(
                    "{} holds the MovieLens {} layout, which --template movielens reads as ratings",
                    log.display(),
                    layout.name()
                ));
            }
            (events_text(&guess, data, &sides), notes)
        }
        // A folder that is there must hold a layout the stage reads (one
        // not there yet is noted below).
        (Template::Movielens, Some(folder), _) if folder.exists() => {
            let layout = recpipe_ingest::movielens::detect(folder)?;
            let note = format!("{} holds the {} layout", folder.display(), layout.name());
            (template_text(template, data.as_deref()), vec![note])
        }
        _ => (template_text(template, data.as_deref()), Vec::new()),
    };
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder).map_err(|e| recpipe_core::CoreError::io(folder, e))?;
    }
    recpipe_core::fsutil::write_atomic(file, text.as_bytes())?;
    if !quiet {
        outln!("wrote {} ({})", file.display(), template.about())?;
        if guessed {
            let name = template.name();
            outln!("note: the {name} template, guessed from the data (--template names another)")?;
        }
        if let Some(d) = &given
            && !d.exists()
        {
            outln!("note: {} does not exist yet", d.display())?;
        }
        for note in notes {
            outln!("note: {note}")?;
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

/// The template for `data` when `--template` is not given: `movielens` for a
/// folder that holds one of its layouts, `events` for any other data (whose
/// sniff then says what it finds). Data that is not there cannot be told.
fn guess_template(file: &Path, data: &Path) -> anyhow::Result<Template> {
    if !data.exists() {
        let message = format!(
            "{} does not exist, so its template cannot be guessed: name it with --template",
            data.display()
        );
        return Err(ConfigError::at(file, None, message).into());
    }
    let movielens = data.is_dir() && recpipe_ingest::movielens::detect(data).is_ok();
    Ok(if movielens {
        Template::Movielens
    } else {
        Template::Events
    })
}

impl Template {
    /// The template's name on the command line.
    fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }

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
            Template::Events => {
                "# An events log (view, click, cart, purchase, ...) as implicit feedback:\n\
                 # implicit ALS tested on each user's last 20% of interactions, customer\n\
                 # segments on behaviour, and the export bundle. Written by `recpipe init\n\
                 # --template events` from the log's header and first rows: check\n\
                 # `columns` and `weights`, then `recpipe run`.\n"
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
            Template::Events => "an events log, columns guessed",
        }
    }
}

/// The data path as the pipeline file must name it: relative paths in a
/// pipeline resolve against its folder, so a relative DATA path (given from
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
        Template::Events => {
            return events_text(
                &recpipe_ingest::sniff::LogGuess::default(),
                data.unwrap_or(""),
                &[],
            );
        }
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

/// The weight a known event type name gets: the default weights' four
/// types under the names logs give them (RetailRocket's `addtocart` and
/// `transaction`, Taobao's `pv`, `fav` and `buy`).
fn known_weight(event: &str) -> Option<f32> {
    let name: String = event
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    Some(match name.as_str() {
        "view" | "pv" | "pageview" | "detail" | "impression" => 1.0,
        "click" | "fav" | "favorite" | "favourite" | "like" | "wishlist" => 2.0,
        "cart" | "addtocart" | "basket" => 4.0,
        "purchase" | "buy" | "transaction" | "order" | "checkout" => 8.0,
        _ => return None,
    })
}

/// A pipeline for the events log `guess` describes, read from `data`.
fn events_text(
    guess: &recpipe_ingest::sniff::LogGuess,
    data: &str,
    sides: &[(SideGuess, String)],
) -> String {
    use std::fmt::Write;
    let c = &guess.columns;
    let mut out = String::from(Template::Events.header());
    out.push_str("version: 1\nworkdir: .recpipe\nvars:\n");
    let _ = writeln!(out, "  data: {}\n  seed: 42", yaml_string(data));
    out.push_str(
        "stages:\n  ingest:\n    uses: ingest\n    with:\n      source: events\n      path: \"${data}\"\n",
    );
    if guess.headerless {
        out.push_str("      # The first line holds values, not names: the columns are\n      # column_1, column_2, ..., their roles guessed from their values.\n      header: false\n");
    }
    if let Some(d) = guess.delimiter.filter(|&d| d != ',') {
        let _ = writeln!(out, "      delimiter: {}", yaml_string(&d.to_string()));
    }
    if guess.decimal_comma {
        out.push_str(
            "      # The sampled numbers write a decimal comma (2,55).\n      decimal: \",\"\n",
        );
    }
    if let Some(t) = guess.thousands {
        let example = if guess.decimal_comma {
            format!("1{t}234,50")
        } else {
            format!("1{t}234.50")
        };
        let _ = writeln!(
            out,
            "      # The sampled numbers group digits in thousands ({example}).\n      thousands: {}",
            yaml_string(&t.to_string())
        );
    }
    out.push_str("      columns:\n");
    for (key, value, what) in [
        ("user", &c.user, "user id"),
        ("item", &c.item, "item id"),
        ("timestamp", &c.timestamp, "time"),
    ] {
        if value.is_empty() {
            let _ = writeln!(
                out,
                "        {key}: \"?\"  # no column looked like the {what}: name it"
            );
        } else {
            let _ = writeln!(out, "        {key}: {}", yaml_string(value));
        }
    }
    for (key, value) in [
        ("event", &c.event),
        ("rating", &c.rating),
        ("quantity", &c.quantity),
        ("price", &c.price),
        ("title", &c.title),
        ("genres", &c.genres),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "        {key}: {}", yaml_string(v));
        }
    }
    if let Some(text) = &c.text {
        let joined = matches!(text, ColumnList::Many(_)).then_some("  # joined, a space between");
        let _ = writeln!(
            out,
            "        text: {}{}",
            yaml_columns(text),
            joined.unwrap_or("")
        );
    }
    if let Some(v) = &c.country {
        let _ = writeln!(out, "        country: {}", yaml_string(v));
    }
    if c.rating.is_some() {
        out.push_str("      # Explicit ratings: each row's value is its rating, which must lie\n      # within rating_scale.\n      rating_scale: [1, 5]\n");
    } else if c.event.is_none() {
        out.push_str("      # No event type column: every row counts as a purchase.\n      event_type: purchase\n");
    } else if !guess.event_types.is_empty() {
        out.push_str("      # The event types of the first rows; rows of a type not listed are\n      # rejected as unknown_event. Guessed weights: view 1, click 2, cart 4,\n      # purchase 8; types of other names get 1.\n      weights:\n");
        for e in &guess.event_types {
            let w = known_weight(e);
            let _ = write!(out, "        {}: {}", yaml_string(e), w.unwrap_or(1.0));
            out.push_str(if w.is_none() {
                "  # a type of its own: set its weight\n"
            } else {
                "\n"
            });
        }
    }
    // A price on every row (REES46's views too): only the purchase types
    // count as spending, RFM's monetary value.
    let purchases: Vec<&String> = (guess.event_types.iter())
        .filter(|e| known_weight(e) == known_weight("purchase"))
        .collect();
    if c.price.is_some() && !purchases.is_empty() && purchases.len() < guess.event_types.len() {
        let names: Vec<String> = purchases.iter().map(|e| yaml_string(e)).collect();
        let _ = writeln!(
            out,
            "      # Only purchases count as spending (RFM's monetary value), not the\n      # prices of the other event types' rows.\n      amount_events: [{}]",
            names.join(", ")
        );
    }
    if let Some(unit) = guess.timestamp_unit {
        let _ = writeln!(
            out,
            "      # The sampled times are numbers too large for seconds.\n      timestamp_unit: {unit}"
        );
    }
    if let Some(t) = &guess.unread_timestamp {
        match &guess.time_format {
            Some(f) => writeln!(
                out,
                "      # `{t}` is neither unix seconds nor ISO-8601; this format reads the\n      # sampled times (check day and month order).\n      timestamp_format: {}",
                yaml_string(f)
            ),
            None => writeln!(
                out,
                "      # `{t}` is neither unix seconds nor ISO-8601: give its chrono format.\n      timestamp_format: \"?\""
            ),
        }
        .unwrap_or(());
    }
    for (side, path) in sides {
        let key = side.role.key();
        let _ = writeln!(out, "      {key}:\n        path: {}", yaml_string(path));
        match side.id.is_empty() {
            true => out.push_str("        id: \"?\"  # no column looked like the id: name it\n"),
            false => writeln!(out, "        id: {}", yaml_string(&side.id)).unwrap_or(()),
        }
        for (field, columns) in &side.fields {
            let _ = writeln!(out, "        {field}: {}", yaml_columns(columns));
        }
    }
    // Category paths: segments are profiled on their first level; an
    // items file's genres win over the log's, so its separator does too.
    let path = (sides.iter())
        .find_map(|(s, _)| s.genre_separator)
        .or(guess.genre_separator);
    if let Some(sep) = path {
        let _ = writeln!(
            out,
            "      # The sampled categories are paths (`a{sep}b{sep}c`): each genre is cut to\n      # its first level, so that segments show a few broad categories.\n      # Raise it for finer ones, or remove it to keep whole paths.\n      genre_levels: 1"
        );
        if sep != "." {
            let _ = writeln!(out, "      genre_separator: {}", yaml_string(sep));
        }
    }
    let mut groups = vec!["behaviour"];
    if c.event.is_some() {
        groups.push("events");
    }
    if c.price.is_some() {
        groups.push("rfm");
    }
    if c.genres.is_some()
        || sides
            .iter()
            .any(|(s, _)| s.fields.iter().any(|f| f.0 == "genres"))
    {
        groups.push("genres");
    }
    if sides
        .iter()
        .any(|(s, _)| s.role == SideRole::Users && !s.fields.is_empty())
    {
        groups.insert(0, "demographics");
    }
    let _ = write!(
        out,
        "  features:\n    uses: features\n    needs: [ingest]\n  cluster:\n    desc: customer segments on behaviour{}\n    uses: cluster\n    needs: [features]\n    with: {{k: 8, groups: [{}], seed: \"${{seed}}\"}}\n",
        if groups.contains(&"genres") {
            " and the categories they buy"
        } else {
            ""
        },
        groups.join(", ")
    );
    // Ratings are predicted (explicit ALS, RMSE); events are ranked.
    let model = if c.rating.is_some() {
        "explicit_als"
    } else {
        "implicit_als"
    };
    let _ = write!(
        out,
        "  train:\n    uses: train\n    needs: [ingest, cluster]\n    with:\n      model: {model}\n      factors: 64\n      iterations: 15\n      split: {{kind: user_temporal, fraction: 0.2}}\n  export:\n    uses: serve-export\n    needs: [train, cluster, features]\n"
    );
    out
}

/// One column as a YAML string, several as a YAML list of them.
fn yaml_columns(columns: &ColumnList) -> String {
    match columns {
        ColumnList::One(name) => yaml_string(name),
        ColumnList::Many(names) => {
            let names: Vec<String> = names.iter().map(|n| yaml_string(n)).collect();
            format!("[{}]", names.join(", "))
        }
    }
}

/// Sampled ids of a log, fewer of which cannot tell that none of a side
/// file's ids match.
const IDS_TO_COMPARE: usize = 20;

/// What the user should look at in the side file `path` found as `side`,
/// read with the log's `delimiter`, beside the log's sampled ids.
fn side_notes(
    path: &Path,
    side: &SideGuess,
    (delimiter, log_ids): (Option<char>, &[String]),
) -> Vec<String> {
    let mut notes = Vec::new();
    if side.id.is_empty() {
        notes.push(format!(
            "no column of {} looked like the id: name it under `{}` (its columns: {})",
            path.display(),
            side.role.key(),
            short_header(&side.header)
        ));
    }
    // None of the log's first ids among the file's first ones: written
    // otherwise (`0108775015` against `108775015`, `17850` against `C17850`).
    let known: std::collections::HashSet<&str> =
        side.sampled_ids.iter().map(String::as_str).collect();
    if log_ids.len() >= IDS_TO_COMPARE
        && !known.is_empty()
        && !log_ids.iter().any(|id| known.contains(id.as_str()))
    {
        notes.push(format!(
            "none of the log's first {} ids is among the first {} of {} (the log has `{}`, the file `{}`): are they written alike?",
            log_ids.len(),
            known.len(),
            path.display(),
            log_ids[0],
            side.sampled_ids[0]
        ));
    }
    if let (Some(d), Some(log)) = (side.delimiter, delimiter)
        && d != log
    {
        notes.push(format!(
            "{} is `{d}`-separated and the log `{log}`-separated: side files are read with the log's `delimiter`",
            path.display()
        ));
    }
    notes
}

/// A header as a short list for a note: the first columns, long names cut.
fn short_header(header: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut columns: Vec<String> = (header.iter().take(SHOWN))
        .map(|h| match h.char_indices().nth(40) {
            Some((at, _)) => format!("{}...", &h[..at]),
            None => h.clone(),
        })
        .collect();
    if header.len() > SHOWN {
        columns.push(format!("and {} more", header.len() - SHOWN));
    }
    columns.join(", ")
}

/// What the user should look at in a pipeline written for `guess`.
fn events_notes(guess: &recpipe_ingest::sniff::LogGuess) -> Vec<String> {
    let c = &guess.columns;
    let mut notes = Vec::new();
    let missing: Vec<&str> = [
        ("user", &c.user),
        ("item", &c.item),
        ("timestamp", &c.timestamp),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(k, _)| k)
    .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "no column looked like {}: name {} under `columns` (the log's columns: {})",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" },
            short_header(&guess.header)
        ));
    }
    if guess.timestamp_by_values {
        notes.push(format!(
            "`{}` is the time: no name said so, its values are dates; check `timestamp`",
            c.timestamp
        ));
    }
    let (times, read) = guess.timestamps;
    if let Some(t) = &guess.unread_timestamp {
        notes.push(format!(
            "{} of {times} sampled times are not unix seconds or ISO-8601 (such as `{t}`): {}",
            times - read,
            match &guess.time_format {
                Some(f) => format!("`timestamp_format: {f}` reads them; check it"),
                None => "set `timestamp_format`".to_string(),
            }
        ));
    }
    if guess.headerless {
        notes.push(
            "the first line holds values, so the log has no header (`header: false`): the columns were guessed from their values; check them".to_string(),
        );
    }
    let mut number_settings = Vec::new();
    if guess.decimal_comma {
        number_settings.push("`decimal: \",\"`".to_string());
    }
    if let Some(t) = guess.thousands {
        number_settings.push(format!("`thousands: \"{t}\"`"));
    }
    if !number_settings.is_empty() {
        notes.push(format!(
            "the sampled quantities, prices or ratings are read with {}; check it",
            number_settings.join(" and ")
        ));
    }
    if let Some(unit) = guess.timestamp_unit {
        notes.push(format!(
            "the sampled times are numbers too large for seconds: read as `timestamp_unit: {unit}`; check it"
        ));
    }
    let unknown: Vec<&str> = guess
        .event_types
        .iter()
        .filter(|e| known_weight(e).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "event types weighted 1 for want of a known name: {}; check `weights`",
            unknown.join(", ")
        ));
    }
    notes
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

    /// The guess for a log of `name` and `text`, and the plan of the
    /// pipeline `init` writes for it (which must load).
    fn events_plan(name: &str, text: &str) -> (recpipe_ingest::sniff::LogGuess, crate::plan::Plan) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join(name);
        std::fs::write(&log, text).expect("write");
        let guess = recpipe_ingest::sniff::sniff(&log).expect("sniff");
        let file = dir.path().join("pipeline.yaml");
        std::fs::write(&file, events_text(&guess, name, &[])).expect("write");
        let plan = crate::plan::load(&file, &[]).expect("the pipeline loads");
        (guess, plan)
    }

    #[test]
    fn an_events_pipeline_carries_the_guesses_and_loads() {
        let (guess, plan) = events_plan(
            "log.csv",
            "user_id\titem_id\tbehavior\tts\tprice\tqty\n1\ta\tpv\t05/01/2024\t2\t1\n1\tb\tfav\t1700000000\t3\t1\n",
        );
        let ingest =
            serde_json::to_value(&plan.stage("ingest").expect("ingest").params).expect("json");
        let with = &ingest;
        assert_eq!(with["delimiter"], "\t", "{ingest}");
        assert_eq!(with["columns"]["event"], "behavior");
        assert_eq!(with["weights"]["pv"], 1.0);
        assert_eq!(with["weights"]["fav"], 2.0);
        assert_eq!(with["timestamp_format"], "%m/%d/%Y");
        let cluster =
            serde_json::to_value(&plan.stage("cluster").expect("cluster").params).expect("json");
        assert!(cluster.to_string().contains("rfm"), "{cluster}");
        let notes = events_notes(&guess);
        assert!(
            notes.iter().any(|n| n.contains("1 of 2 sampled times")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_log_of_ratings_without_a_header_gets_explicit_als_and_loads() {
        let (guess, plan) = events_plan(
            "ratings_Books.csv",
            "A2SUAM1J3GNN3B,0000013714,5.0,1203897600\nA18C1F2A2BJ7L6,0000013714,4.0,1389312000\n",
        );
        let with =
            serde_json::to_value(&plan.stage("ingest").expect("ingest").params).expect("json");
        assert_eq!(with["header"], false, "{with}");
        assert_eq!(with["columns"]["rating"], "column_3", "{with}");
        assert!(with.get("event_type").is_none(), "{with}");
        let train =
            serde_json::to_value(&plan.stage("train").expect("train").params).expect("json");
        assert_eq!(train["model"], "explicit_als", "{train}");
        let notes = events_notes(&guess);
        assert!(
            notes.iter().any(|n| n.contains("header: false")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_time_told_by_its_values_is_named_in_the_notes() {
        let mut guess = recpipe_ingest::sniff::LogGuess::default();
        guess.columns.user = "customer_id".into();
        guess.columns.item = "article_id".into();
        guess.columns.timestamp = "t_dat".into();
        assert_eq!(events_notes(&guess), Vec::<String>::new());
        guess.timestamp_by_values = true;
        let notes = events_notes(&guess);
        assert!(
            notes.iter().any(|n| n.starts_with("`t_dat` is the time")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_side_file_without_an_id_or_with_another_delimiter_is_noted() {
        let side = SideGuess {
            role: SideRole::Items,
            header: vec!["a".into(), "b".into()],
            delimiter: Some(';'),
            ..Default::default()
        };
        let notes = side_notes(Path::new("items.csv"), &side, (Some(','), &[]));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("no column of items.csv looked like the id: name it under `items_file` (its columns: a, b)"));
        assert!(notes[1].contains("`;`-separated and the log `,`-separated"));
        let named = SideGuess {
            id: "a".into(),
            delimiter: Some(','),
            ..side
        };
        assert!(side_notes(Path::new("items.csv"), &named, (Some(','), &[])).is_empty());
        // Ids written otherwise than the log's: noted once enough are sampled.
        let ids =
            |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
        let with_ids = SideGuess {
            sampled_ids: ids("0", 50),
            ..named
        };
        let log =
            |ids: &[String]| side_notes(Path::new("items.csv"), &with_ids, (Some(','), ids)).len();
        assert_eq!(log(&ids("", 19)), 0, "too few to tell");
        assert_eq!(log(&ids("", 20)), 1, "`0` against `00`: {:?}", ids("", 1));
        assert_eq!(log(&ids("0", 20)), 0, "the same ids");
    }

    #[test]
    fn category_paths_get_genre_levels_with_the_items_files_separator_first() {
        let mut guess = recpipe_ingest::sniff::LogGuess::default();
        guess.columns.genres = Some("category_code".into());
        let text = |guess: &recpipe_ingest::sniff::LogGuess, sides: &[(SideGuess, String)]| {
            events_text(guess, "log.csv", sides)
        };
        assert!(!text(&guess, &[]).contains("genre_levels"), "flat genres");
        guess.genre_separator = Some(".");
        let log = text(&guess, &[]);
        assert!(log.contains("      genre_levels: 1\n"), "{log}");
        assert!(
            !log.contains("genre_separator"),
            "`.` is the default: {log}"
        );
        let items = SideGuess {
            genre_separator: Some(">"),
            ..Default::default()
        };
        let both = text(&guess, &[(items, "items.csv".into())]);
        assert!(both.contains("genre_separator: \">\""), "{both}");
    }

    #[test]
    fn a_price_on_every_event_type_counts_only_purchases_and_gives_rfm() {
        let mut guess = recpipe_ingest::sniff::LogGuess::default();
        guess.columns.event = Some("event_type".into());
        guess.columns.price = Some("price".into());
        guess.event_types = vec!["view".into(), "cart".into(), "purchase".into()];
        let text = events_text(&guess, "log.csv", &[]);
        assert!(text.contains("amount_events: [\"purchase\"]"), "{text}");
        assert!(text.contains("groups: [behaviour, events, rfm]"), "{text}");
        // A log of purchases alone, or with no purchase type: no setting.
        guess.event_types = vec!["purchase".into()];
        assert!(!events_text(&guess, "log.csv", &[]).contains("amount_events"));
        guess.event_types = vec!["view".into(), "cart".into()];
        assert!(!events_text(&guess, "log.csv", &[]).contains("amount_events"));
    }

    #[test]
    fn a_wide_header_is_listed_short_in_the_notes() {
        let guess = recpipe_ingest::sniff::LogGuess {
            header: (0..20).map(|i| format!("c{i}{}", "x".repeat(60))).collect(),
            ..Default::default()
        };
        let notes = events_notes(&guess);
        let [note] = &notes[..] else {
            panic!("one note: {notes:?}")
        };
        assert!(note.contains("user, item, timestamp"), "{note}");
        assert!(note.contains("and 8 more"), "{note}");
        assert!(!note.contains(&"x".repeat(45)), "{note}");
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
