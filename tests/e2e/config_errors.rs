//! Every bad-config case exits 2 with a message that names the line.

use crate::{Env, stderr, stdout};

fn fails_with(yaml: &str, line: usize, needle: &str) {
    let env = Env::new(yaml);
    let out = env.run(&["status"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pipeline.yaml:{line}:")),
        "line {line} in: {err}"
    );
    assert!(err.contains(needle), "`{needle}` in: {err}");
}

/// Runs `stage` of [`crate::SMALL`] with its `with:` block `with` given as
/// `instead`; asserts that the stage fails (exit 1) and returns what the
/// run printed, stdout then stderr.
fn stage_fails(stage: &str, with: &str, instead: &str) -> String {
    let out = Env::new(&crate::SMALL.replace(with, instead)).run(&["run", stage]);
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{printed}");
    printed
}

#[test]
fn unknown_top_level_key() {
    fails_with(
        "version: 1\nstagse:\n  a: {uses: ingest}\n",
        2,
        "did you mean `stages`",
    );
}

#[test]
fn unknown_stage_key() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest, neds: []}\n",
        3,
        "did you mean `needs`",
    );
}

#[test]
fn unknown_kind() {
    fails_with(
        "version: 1\nstages:\n  a:\n    uses: ingset\n",
        4,
        "did you mean `ingest`",
    );
}

#[test]
fn misspelt_parameter() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest}\n  t:\n    uses: train\n    needs: [a]\n    with:\n      facors: 3\n",
        8,
        "did you mean `factors`",
    );
}

#[test]
fn missing_need() {
    fails_with(
        "version: 1\nstages:\n  ingest: {uses: ingest}\n  f:\n    uses: features\n    needs: [ingets]\n",
        6,
        "did you mean `ingest`",
    );
}

#[test]
fn a_tab_in_the_indentation_is_named_as_such() {
    fails_with(
        "version: 1\nstages:\n\ta: {uses: ingest}\n",
        3,
        "(a tab: YAML indents with spaces only)",
    );
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_key() {
    let env = Env::new("\u{feff}version: 1\nstages:\n  a: {uses: ingest}\n");
    let out = env.run(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("never run"), "{}", stdout(&out));
}

#[test]
fn type_error() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest}\n  f: {uses: features, needs: [a]}\n  c:\n    uses: cluster\n    needs: [f]\n    with:\n      n_runs: many\n",
        9,
        "n_runs",
    );
}

#[test]
fn a_type_error_points_at_its_key_not_at_the_first_key_whose_removal_changes_the_error() {
    // Removing `source` or `users` changes the error too; the error itself
    // names `ratings`.
    fails_with(
        "version: 1\nstages:\n  a:\n    uses: ingest\n    with:\n      source: synthetic\n      users: 50\n      ratings: 1.5\n",
        8,
        "`ratings`: invalid type: floating point `1.5`, expected a whole number, 0 or more",
    );
}

#[test]
fn a_nested_value_is_named_by_its_path_at_its_block_line() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest}\n  f:\n    uses: features\n    needs: [a]\n    with:\n      zip_prefix_digits: 3\n      tfidf:\n        min_df: 2\n        max_features: many\n",
        9,
        "`tfidf.max_features`: invalid type: string \"many\", expected a whole number, 0 or more",
    );
}

#[test]
fn a_split_that_leaves_nothing_to_train_on_fails_the_stage_saying_why() {
    // The summary on stdout gives each failed stage's error.
    let err = stage_fails(
        "train",
        "with: {factors: 8, iterations: 5}",
        "with: {factors: 8, iterations: 5, split: {kind: time_cutoff, cutoff: 1970-01-01}}",
    );
    assert!(
        err.contains(
            "`split` leaves nothing to train on: every one of the 6000 interactions is at or \
             after `cutoff` 1970-01-01"
        ),
        "{err}"
    );
    assert!(!err.contains("panic"), "{err}");
    let yaml = crate::SMALL.replace(
        "with: {factors: 8, iterations: 5}",
        "with: {factors: 8, iterations: 5, min_value: 6}",
    );
    let err = stdout(&Env::new(&yaml).run(&["run", "train"]));
    assert!(
        err.contains("no interactions to train on: `min_value` 6 keeps none of the 6000"),
        "{err}"
    );
}

#[test]
fn more_principal_components_than_columns_fail_the_cluster_stage_naming_both() {
    let err = stage_fails(
        "cluster",
        "with: {k: 3, n_runs: 3}",
        "with: {k: 3, n_runs: 3, dims: 500}",
    );
    let columns = err
        .split("`dims` 500 is more than the ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no column count in: {err}"));
    assert!((1..500).contains(&columns), "{err}");
    // The count it names is one that runs.
    let yaml = crate::SMALL.replace(
        "with: {k: 3, n_runs: 3}",
        &format!("with: {{k: 3, n_runs: 3, dims: {columns}}}"),
    );
    let out = Env::new(&yaml).run(&["run", "cluster"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_event_type_without_a_weight_is_a_configuration_error_at_its_line() {
    let yaml = "version: 1\nstages:\n  a:\n    uses: ingest\n    with:\n      source: events\n      path: log.csv\n      columns: {user: u, item: i, timestamp: t}\n      weights: {view: 1}\n";
    fails_with(
        yaml,
        9,
        "`weights` gives no weight to `purchase`, the type of every row when `event_type` is not set",
    );
    fails_with(
        &yaml.replace("{view: 1}\n", "{view: 1}\n      event_type: zzz\n"),
        10,
        "`event_type` `zzz` has no weight in `weights` (weights: view)",
    );
}

#[test]
fn an_empty_exclude_prefix_is_refused_at_its_line() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest}\n  f: {uses: features, needs: [a]}\n  c:\n    uses: cluster\n    needs: [f]\n    with:\n      k: 2\n      exclude_prefixes: [\"zip=\", \"\"]\n",
        10,
        "`exclude_prefixes` holds an empty prefix, which every column starts with",
    );
}

#[test]
fn a_parameter_refused_for_its_value_is_found_by_its_name() {
    // Removing `source` changes this error too: the key it names is the one.
    fails_with(
        "version: 1\nstages:\n  a:\n    uses: ingest\n    with:\n      source: events\n      path: log.csv\n      columns: {user: u, item: i, timestamp: t}\n      timestamp_format: \"?\"\n",
        9,
        "`timestamp_format` `?` has no `%` field",
    );
}

#[test]
fn a_log_folder_without_logs_is_named_before_anything_runs() {
    let env = Env::new(
        "version: 1\nstages:\n  ingest:\n    uses: ingest\n    with: {source: events, path: logs, columns: {user: u, item: i, timestamp: t}}\n",
    );
    std::fs::create_dir_all(env.path().join("logs/day=1")).expect("mkdir");
    std::fs::write(env.path().join("logs/_SUCCESS"), "").expect("write");
    let out = env.run(&["status"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pipeline.yaml:5:") && err.contains("logs: the folder holds no log file"),
        "{err}"
    );
}

#[test]
fn cycle() {
    let env = Env::new(
        "version: 1\nstages:\n  a: {uses: ingest}\n  f: {uses: features, needs: [a, g]}\n  g: {uses: features, needs: [f]}\n",
    );
    let out = env.run(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cycle"), "{}", stderr(&out));
    // The shortest cycle, at its line.
    fails_with(
        "version: 1\nstages:\n  a:\n    uses: ingest\n    needs: [a]\n",
        5,
        "stage `a` needs itself",
    );
}

#[test]
fn a_folder_given_as_the_pipeline_points_at_the_file_in_it() {
    let env = Env::new(crate::SMALL);
    let out = env.run(&["status", "-p", "."]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is a folder; -p names the pipeline file (./pipeline.yaml)"),
        "{err}"
    );
}

#[test]
fn missing_required_upstream_kind() {
    fails_with(
        "version: 1\nstages:\n  a: {uses: ingest}\n  t:\n    uses: serve-export\n    needs: [a]\n",
        6,
        "must need a `train` stage",
    );
}

#[test]
fn unknown_stage_on_the_command_line() {
    let env = Env::new("version: 1\nstages:\n  ingest: {uses: ingest}\n");
    let out = env.run(&["run", "ingset"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("did you mean `ingest`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn generate_refuses_impossible_sizes_as_a_usage_error() {
    let env = Env::new(crate::SMALL);
    let args = |users: &'static str, ratings: &'static str| {
        [
            "generate",
            "--users",
            users,
            "--items",
            "4",
            "--ratings",
            ratings,
            "--out",
            "data",
        ]
    };
    let out = env.run(&args("5", "11"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`ratings` 11 is more than `users` 5 x half of `items` 4 (10)"),
        "{err}"
    );
    let out = env.run(&args("0", "1"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--users"), "{}", stderr(&out));
    assert!(!env.path().join("data").exists(), "nothing written");
    env.ok(&args("5", "10"));
    // --out names a folder: a file there is a usage error, left as it was.
    let mut to_a_file = args("5", "10");
    to_a_file[8] = "pipeline.yaml";
    let out = env.run(&to_a_file);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--out pipeline.yaml is a file"), "{err}");
    let kept = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    assert_eq!(kept, crate::SMALL);
}

#[test]
fn an_io_error_names_its_path_and_its_cause_once() {
    // A work folder under a plain file cannot be made.
    let env =
        Env::new(&crate::SMALL.replace("version: 1", "version: 1\nworkdir: pipeline.yaml/work"));
    let out = env.run(&["run", "ingest"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("pipeline.yaml/work"), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn a_folder_without_a_pipeline_is_pointed_to_init_which_writes_one_and_keeps_it() {
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    let out = env.run(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("`recpipe init`"), "{}", stderr(&out));

    assert!(env.ok(&["init"]).contains("next: recpipe run"));
    let status = env.ok(&["status"]);
    for stage in ["ingest", "features", "cluster", "train", "export"] {
        assert!(status.contains(stage), "{status}");
    }
    std::fs::write(env.path().join("pipeline.yaml"), crate::SMALL).expect("write");
    let out = env.run(&["init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    let kept = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    assert_eq!(
        kept,
        crate::SMALL,
        "a refused init leaves the file as it was"
    );

    let out = env.run(&["init", "--template", "movielens"]);
    assert_eq!(out.status.code(), Some(2), "the data is required");
    assert!(
        stderr(&out).contains("recpipe init --template movielens DATA"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["init", "--force", "--template", "synthetic", "--data", "ml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the synthetic template reads no data"
    );
    assert!(
        stderr(&out).contains("generates its data"),
        "{}",
        stderr(&out)
    );
    env.ok(&[
        "init",
        "--template",
        "movielens",
        "--data",
        "ml",
        "-p",
        "sub/p.yaml",
    ]);
    let text = std::fs::read_to_string(env.path().join("sub/p.yaml")).expect("read");
    let data = env.path().join("ml");
    assert!(
        text.contains(&format!("data: \"{}\"", data.display())),
        "{text}"
    );
    env.ok(&["init", "--force"]);
}

#[test]
fn init_movielens_checks_a_folder_that_is_there_for_a_layout() {
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    std::fs::create_dir(env.path().join("notml")).expect("dir");
    std::fs::write(env.path().join("notml/readme.txt"), "hello").expect("file");
    let init = |data| env.run(&["init", "--template", "movielens", "--data", data]);
    let out = init("notml");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no MovieLens layout found") && err.contains("found: readme.txt"),
        "{err}"
    );
    assert!(
        !env.path().join("pipeline.yaml").exists(),
        "nothing written"
    );
    env.generate("ml-100k", "ml", (20, 10, 60));
    let out = init("ml");
    let said = crate::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(said.contains("holds the ml-100k layout"), "{said}");
}

#[test]
fn init_without_a_template_takes_it_from_the_data() {
    let env = Env::new(crate::SMALL);
    env.generate("csv", "ml", (20, 10, 60));
    std::fs::write(
        env.path().join("events.csv"),
        "user_id,item_id,event_type,event_time\nu1,i1,view,1433221332\nu1,i2,purchase,1433221392\n",
    )
    .expect("write");
    let written = |file: &str| std::fs::read_to_string(env.path().join(file)).expect("read");

    // A MovieLens folder (its ratings.csv could pass for a log).
    let said = env.ok(&["init", "ml", "-p", "ml.yaml"]);
    assert!(
        said.contains("the movielens template, guessed from the data"),
        "{said}"
    );
    assert!(written("ml.yaml").contains("source: movielens"));
    // Any other data: an events log, its columns guessed.
    let said = env.ok(&["init", "--data", "events.csv", "-p", "events.yaml"]);
    assert!(said.contains("the events template, guessed"), "{said}");
    let text = written("events.yaml");
    assert!(
        text.contains("source: events") && text.contains("user: \"user_id\""),
        "{text}"
    );
    // A template named is taken as named, and told what the folder holds.
    let said = env.ok(&["init", "--template", "events", "ml", "-p", "forced.yaml"]);
    assert!(!said.contains("guessed from the data"), "{said}");
    assert!(
        said.contains("holds the MovieLens csv layout, which --template movielens reads"),
        "{said}"
    );
    assert!(written("forced.yaml").contains("source: events"));
    // Data not there yet cannot tell its template; nothing is written.
    let out = env.run(&["init", "later", "-p", "later.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "later does not exist, so its template cannot be guessed: name it with --template"
        ),
        "{err}"
    );
    assert!(!env.path().join("later.yaml").exists());
    let out = env.run(&["init", "ml", "--data", "ml", "-p", "twice.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "DATA and --data are one argument"
    );
}

#[test]
fn from_and_until_that_select_nothing_are_a_usage_error() {
    let env = Env::new(crate::SMALL);
    let out = env.run(&["run", "--from", "export", "--until", "ingest"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--from export (it and the stages that need it) and --until ingest (it and the stages it needs) select no stage in common"),
        "{err}"
    );
    let out = env.run(&["run", "cluster", "--from", "train"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn init_where_its_folder_cannot_be_made_names_the_cause_once() {
    let env = Env::new(crate::SMALL);
    let out = env.run(&["init", "-p", "pipeline.yaml/p.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn init_reads_an_events_log_header_and_the_pipeline_it_writes_runs() {
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    // A RetailRocket-shaped log: `;`-separated, its own names for the
    // columns and the event types, one type of no known name; with
    // REES46's category path and brand as the items' text.
    let types = ["view", "addtocart", "transaction", "remove"];
    let mut log = String::from("visitor_id;product_id;event_type;event_time;category_code;brand\n");
    for i in 0..4000u64 {
        let (user, item) = (i * 7 % 150, (i * 13 + i / 150) % 90);
        let kind = types[(i * 31 % 17 % 4) as usize];
        log.push_str(&format!(
            "{user};p{item};{kind};{};kitchen.mug;b{}\n",
            1_433_221_332 + i * 60,
            item % 3
        ));
    }
    std::fs::write(env.path().join("events.csv"), log).expect("write");
    let out = env.ok(&["init", "--template", "events", "--data", "events.csv"]);
    assert!(
        out.contains("weighted 1 for want of a known name: remove"),
        "{out}"
    );
    let text = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    for line in [
        "delimiter: \";\"",
        "user: \"visitor_id\"",
        "item: \"product_id\"",
        "timestamp: \"event_time\"",
        "event: \"event_type\"",
        "\"addtocart\": 4",
        "\"transaction\": 8",
        "genres: \"category_code\"",
        "genre_levels: 1",
        "text: \"brand\"",
        "groups: [behaviour, events, genres]",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let run = env.ok(&["run"]);
    assert!(run.contains("4000 rows read, 0 rejected"), "{run}");
    assert!(env.ok(&["recommend", "--user", "7"]).contains("top items"));

    // A log whose columns say nothing: the file names what to fill in.
    std::fs::write(env.path().join("x.csv"), "a,b,c\n1,2,3\n").expect("write");
    let out = env.ok(&[
        "init",
        "--template",
        "events",
        "--data",
        "x.csv",
        "-p",
        "x.yaml",
    ]);
    assert!(
        out.contains("no column looked like user, item, timestamp"),
        "{out}"
    );
}

#[test]
fn init_reads_items_and_users_files_beside_the_log_and_its_pipeline_runs() {
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    // H&M's three files: transactions (a day column of no known name),
    // articles and customers.
    let mut log = String::from("t_dat,customer_id,article_id,price,sales_channel_id\n");
    for i in 0..3000u64 {
        let (user, item) = (i * 7 % 120, (i * 13 + i / 120) % 60);
        log.push_str(&format!(
            "2018-09-{:02},c{user:04},0{:09},0.05,2\n",
            1 + i % 28,
            108775015 + item
        ));
    }
    std::fs::write(env.path().join("transactions.csv"), log).expect("write");
    let mut articles = String::from("article_id,prod_name,product_type_name,detail_desc\n");
    for item in 0..60u64 {
        let kind = ["Vest top", "Trousers", "Sweater"][(item % 3) as usize];
        articles.push_str(&format!(
            "0{:09},{kind} {item},{kind},\"A soft {kind}, with pockets.\"\n",
            108775015 + item
        ));
    }
    std::fs::write(env.path().join("articles.csv"), articles).expect("write");
    let mut customers = String::from("customer_id,FN,age\n");
    for user in 0..120u64 {
        customers.push_str(&format!("c{user:04},1,{}\n", 20 + user % 50));
    }
    std::fs::write(env.path().join("customers.csv"), customers).expect("write");
    let out = env.ok(&[
        "init",
        "transactions.csv",
        "--items",
        "articles.csv",
        "--users",
        "customers.csv",
    ]);
    assert!(out.contains("`t_dat` is the time"), "{out}");
    let text = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    for line in [
        "timestamp: \"t_dat\"",
        "items_file:\n        path: \"articles.csv\"\n        id: \"article_id\"\n        title: \"prod_name\"\n        genres: \"product_type_name\"\n        text: \"detail_desc\"",
        "users_file:\n        path: \"customers.csv\"\n        id: \"customer_id\"\n        age: \"age\"",
        "groups: [demographics, behaviour, rfm, genres]",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let run = env.ok(&["run"]);
    assert!(run.contains("3000 rows read, 0 rejected"), "{run}");
    // The items file's titles: an item is found by its own.
    let similar = env.ok(&["similar", "Trousers 1"]);
    assert!(similar.contains("more like item 0108775016"), "{similar}");

    // Ids a spreadsheet stripped of their leading zero: noted.
    let articles = std::fs::read_to_string(env.path().join("articles.csv")).expect("read");
    let stripped = articles.replace("\n0", "\n");
    std::fs::write(env.path().join("excel.csv"), stripped).expect("write");
    let out = env.ok(&[
        "init",
        "transactions.csv",
        "--items",
        "excel.csv",
        "-p",
        "excel.yaml",
    ]);
    assert!(
        out.contains("(the log has `0108775015`, the file `108775015`): are they written alike?"),
        "{out}"
    );

    // They belong to the events template only.
    let out = env.run(&[
        "init",
        "--template",
        "synthetic",
        "--items",
        "articles.csv",
        "-p",
        "s.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::stderr(&out).contains("--items and --users are for the events template"));
}

#[test]
fn init_reads_a_compressed_log_without_a_header_and_its_pipeline_runs() {
    use std::io::Write;
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    // A Taobao-shaped log (user, item, category, behaviour, time; no
    // header), gzip-compressed, its times in milliseconds.
    let types = ["pv", "pv", "pv", "cart", "fav", "buy"];
    let mut log = String::new();
    for i in 0..4000u64 {
        let (user, item) = (i * 7 % 150 + 1, (i * 13 + i / 150) % 90 + 1000);
        let kind = types[(i * 31 % 17 % 6) as usize];
        let ms = (1_511_544_070 + i * 60) * 1000 + i % 1000;
        log.push_str(&format!("{user},{item},{},{kind},{ms}\n", item % 7));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(log.as_bytes()).expect("gzip");
    std::fs::write(
        env.path().join("UserBehavior.csv.gz"),
        gz.finish().expect("gzip"),
    )
    .expect("write");
    let out = env.ok(&[
        "init",
        "--template",
        "events",
        "--data",
        "UserBehavior.csv.gz",
    ]);
    assert!(out.contains("`header: false`"), "{out}");
    assert!(out.contains("`timestamp_unit: ms`"), "{out}");
    let text = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    for line in [
        "header: false",
        "user: \"column_1\"",
        "item: \"column_2\"",
        "timestamp: \"column_5\"",
        "event: \"column_4\"",
        "timestamp_unit: ms",
        "\"buy\": 8",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let run = env.ok(&["run"]);
    assert!(run.contains("4000 rows read, 0 rejected"), "{run}");
    assert!(!run.contains("note: the latest time"), "{run}");
    let report = std::fs::read_to_string(env.path().join(".recpipe/out/ingest/ingest_report.json"))
        .expect("report");
    assert!(
        report.contains("\"min_time\": \"2017-11-24T17:21:10Z\""),
        "{report}"
    );
    assert!(env.ok(&["recommend", "--user", "8"]).contains("top items"));
}

#[test]
fn init_reads_a_report_with_grouped_digits_and_its_pipeline_keeps_every_row() {
    let env = Env::new(crate::SMALL);
    std::fs::remove_file(env.path().join("pipeline.yaml")).expect("remove");
    // A US sales report: quoted quantities and prices with digits grouped.
    let mut log = String::from("customer,product,date,units,price\n");
    for i in 0..300u64 {
        let (units, price) = (1 + i % 4 * 700, 2 + i % 5 * 613);
        let grouped = |n: u64, cents: &str| match n {
            1000.. => format!("\"{},{:03}{cents}\"", n / 1000, n % 1000),
            _ => format!("{n}{cents}"),
        };
        log.push_str(&format!(
            "c{},p{},2024-01-{:02} 10:00:00,{},{}\n",
            i % 40,
            i % 25,
            1 + i % 28,
            grouped(units, ""),
            grouped(price, ".50")
        ));
    }
    std::fs::write(env.path().join("sales.csv"), log).expect("write");
    let out = env.ok(&["init", "--template", "events", "--data", "sales.csv"]);
    assert!(out.contains("`thousands: \",\"`"), "{out}");
    let text = std::fs::read_to_string(env.path().join("pipeline.yaml")).expect("read");
    assert!(text.contains("thousands: \",\""), "{text}");
    assert!(!text.contains("decimal:"), "{text}");
    let run = env.ok(&["run", "ingest"]);
    assert!(run.contains("300 rows read, 0 rejected"), "{run}");
}

#[test]
fn a_lock_left_with_merge_conflict_markers_is_named_with_the_way_out() {
    let env = Env::new(crate::SMALL);
    std::fs::write(
        env.path().join("pipeline.lock"),
        "<<<<<<< HEAD\nschema: 1\n=======\nschema: 1\n>>>>>>> other\n",
    )
    .expect("lock");
    let out = env.run(&["run", "ingest"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("pipeline.lock is not a valid lock file (it holds git merge conflict markers"),
        "{err}"
    );
    std::fs::remove_file(env.path().join("pipeline.lock")).expect("remove");
    env.ok(&["run", "ingest"]);
}

#[test]
fn a_thread_count_out_of_range_is_a_usage_error_before_any_thread_starts() {
    let env = Env::new(crate::SMALL);
    for n in ["0", "100000"] {
        let out = env.run(&["--threads", n, "status"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("is not in 1..=1024"), "{err}");
    }
    env.ok(&["--threads", "3", "status"]);
}
