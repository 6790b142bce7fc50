//! The runner: caching, reruns, verify, crashes and concurrency.

use std::time::Duration;

use crate::{Env, SMALL, ran, stdout};

#[test]
fn default_pipeline_runs_reruns_nothing_and_verifies() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.yaml"))
        .expect("repo pipeline.yaml");
    let env = Env::new(&yaml);
    let small = [
        "--set",
        "ingest.users=400",
        "--set",
        "ingest.items=250",
        "--set",
        "ingest.ratings=12000",
    ];
    let first = env.ok(&[&["run"][..], &small].concat());
    assert_eq!(
        ran(&first),
        vec![
            "ingest", "features", "cluster", "train", "implicit", "export"
        ]
    );
    let second = env.ok(&[&["run"][..], &small].concat());
    assert!(
        ran(&second).is_empty(),
        "a second run runs nothing:\n{second}"
    );
    // Artifacts exist, with the documented schemas.
    for f in [
        "recommendations.parquet",
        "similar_items.parquet",
        "also_liked.parquet",
        "segment_top_items.parquet",
        "cold_start.parquet",
        "embeddings/user_factors.npy",
        "manifest.json",
    ] {
        assert!(env.out("export").join(f).is_file(), "{f} missing");
    }
    let recs = recpipe_core::ParquetTable::read(&env.out("export").join("recommendations.parquet"))
        .expect("recs");
    let names: Vec<String> = recs
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    for c in [
        "user_idx", "user_id", "rank", "item_idx", "item_id", "score",
    ] {
        assert!(names.contains(&c.to_string()), "{c} in {names:?}");
    }
    assert_eq!(recs.num_rows(), 400 * 10);
    // Metrics within sane bounds: the model beats its bias baseline on data with planted structure.
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.out("train").join("metrics.json")).expect("metrics"),
    )
    .expect("json");
    let (rmse, base) = (
        m["rmse"].as_f64().expect("rmse"),
        m["baseline_rmse"].as_f64().expect("baseline"),
    );
    assert!(
        rmse > 0.3 && rmse < base && rmse < 1.0,
        "rmse {rmse}, baseline {base}"
    );
    // The top-N lists come from the implicit model, which ranks; the
    // explicit one predicts ratings.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.out("export").join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["model"]["model"], "implicit_als", "{manifest}");
    let verify = env.run(&[&["verify"][..], &[]].concat());
    // verify uses pipeline.yaml as written, which differs from the --set run: it must say so.
    assert_eq!(verify.status.code(), Some(3), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("changed since pipeline.lock"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn verify_passes_on_an_honest_run_and_catches_tampering() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let v = env.ok(&["verify"]);
    assert!(v.contains("byte for byte"), "{v}");
    let target = env.out("train").join("metrics.json");
    let mut perm = std::fs::metadata(&target).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&target, perm).expect("chmod");
    std::fs::write(&target, b"{}\n").expect("tamper");
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("train/metrics.json"),
        "{}",
        stdout(&out)
    );
    // run --check notices and rebuilds the altered entry; verify is clean again.
    let fixed = env.ok(&["run", "--check"]);
    assert_eq!(ran(&fixed), vec!["train"], "{fixed}");
    env.ok(&["verify"]);
}

#[test]
fn verify_in_a_workdir_that_never_ran_says_so_once_per_stage() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    // A fresh clone: the lock is there, the workdir is not.
    std::fs::remove_dir_all(env.path().join(".recpipe")).expect("remove workdir");
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let text = stdout(&out);
    let findings: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(findings.len(), 5, "one line per stage: {text}");
    for stage in ["ingest", "features", "cluster", "train", "export"] {
        assert!(
            findings
                .iter()
                .any(|l| l.starts_with(&format!("  {stage}: none of its"))
                    && l.contains("`recpipe run` makes them")),
            "{stage}: {text}"
        );
    }
    // The rerun itself reproduced the lock: nothing else is listed.
    assert!(!text.contains("rerun gives"), "{text}");
    env.ok(&["run"]);
    env.ok(&["verify"]);
}

#[test]
fn verify_names_the_lock_and_the_pipeline_it_checks() {
    let env = Env::new(
        "version: 1\nstages:\n  ingest: {uses: ingest, with: {source: synthetic, users: 60, items: 40, ratings: 600}}\n",
    );
    let pipeline = env.path().join("pipeline.yaml");
    std::fs::rename(&pipeline, env.path().join("nightly.yaml")).expect("rename");
    env.ok(&["run", "-p", "nightly.yaml"]);
    let v = env.ok(&["verify", "-p", "nightly.yaml"]);
    assert!(v.contains("reproduce nightly.lock byte for byte"), "{v}");
    let changed = "version: 1\nstages:\n  ingest: {uses: ingest, with: {source: synthetic, users: 61, items: 40, ratings: 600}}\n";
    std::fs::write(env.path().join("nightly.yaml"), changed).expect("edit");
    let out = stdout(&env.run(&["verify", "-p", "nightly.yaml"]));
    assert!(
        out.contains("nightly.yaml, an input or an upstream changed since nightly.lock"),
        "{out}"
    );
}

#[test]
fn a_param_change_reruns_exactly_that_stage_and_its_dependants() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let out = env.ok(&["run", "--set", "cluster.k=4"]);
    assert_eq!(ran(&out), vec!["cluster", "train", "export"], "{out}");
    let status = env.ok(&["status"]);
    assert!(status.contains("param `cluster.k` 4 -> 3"), "{status}");
    let out = env.ok(&["run", "--set", "export.top_n=3"]);
    // cluster goes back to k = 3: its cached entry is reused, so train is unchanged too.
    assert_eq!(ran(&out), vec!["export"], "{out}");
}

#[test]
fn history_lists_a_stages_cached_runs_by_what_they_changed() {
    let env = Env::new(SMALL);
    assert!(
        env.ok(&["history", "train"])
            .contains("no run of `train` is in the cache")
    );
    env.ok(&["run"]);
    env.ok(&[
        "run",
        "--set",
        "train.factors=4",
        "--set",
        "train.iterations=3",
    ]);
    let out = env.ok(&["run", "--set", "cluster.k=2"]);
    assert_eq!(ran(&out), vec!["cluster", "train", "export"], "{out}");
    env.ok(&["run"]); // back to the file's settings: every stage from the cache
    let history = env.ok(&["history", "train"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(
        lines[0].starts_with("train: 3 runs in the cache"),
        "{history}"
    );
    // Newest first; the first run is pipeline.lock's again (*).
    assert!(lines[1].contains("other `cluster` outputs"), "{history}");
    assert!(lines[2].contains("factors 4, iterations 3"), "{history}");
    assert!(
        lines[3].starts_with("* ") && lines[3].contains("(the same)"),
        "{history}"
    );
    assert!(
        lines[2].contains("ExplicitAls k=4: RMSE"),
        "the run's headline: {history}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["history", "train", "--json"])).expect("json");
    let runs = json.as_array().expect("runs");
    assert_eq!(runs.iter().filter(|r| r["locked"] == true).count(), 1);
    assert_eq!(runs[1]["params"]["factors"], 4);
    assert!(runs[1]["metrics"]["rmse"].is_number(), "{json}");
}

#[test]
fn set_overrides_reach_the_lock_and_dry_run_runs_nothing() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let dry = env.ok(&["run", "--set", "train.factors=4", "--dry-run"]);
    assert!(
        dry.contains("would run: param `train.factors` 8 -> 4"),
        "{dry}"
    );
    assert!(ran(&dry).is_empty());
    env.ok(&["run", "--set", "train.factors=4"]);
    let lock = std::fs::read_to_string(env.path().join("pipeline.lock")).expect("lock");
    assert!(lock.contains("factors: 4"), "{lock}");
}

#[test]
fn touching_an_input_reruns_nothing_but_editing_it_does() {
    let env = Env::new(
        "version: 1\nstages:\n  ingest: {uses: ingest, with: {source: movielens, path: data}}\n  features: {uses: features, needs: [ingest]}\n",
    );
    env.generate("ml-100k", "data", (60, 40, 600));
    env.ok(&["run"]);
    let f = env.path().join("data/u.data");
    let bytes = std::fs::read(&f).expect("read");
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&f, &bytes).expect("touch");
    assert!(
        ran(&env.ok(&["run"])).is_empty(),
        "same content, new mtime: nothing reruns"
    );
    let mut edited = bytes.clone();
    edited.extend_from_slice(b"1\t1\t9\t881250949\n");
    std::fs::write(&f, &edited).expect("edit");
    let status = env.ok(&["status"]);
    assert!(status.contains("input `data/u.data` changed"), "{status}");
    let out = env.ok(&["run"]);
    assert_eq!(ran(&out), vec!["ingest", "features"], "{out}");
}

#[test]
fn status_tells_every_stage_when_an_input_is_missing() {
    let env = Env::new(
        "version: 1
stages:
  ingest: {uses: ingest, with: {source: events, path: log.csv, columns: {user: u, item: i, timestamp: t}, users_file: {path: users.csv, id: u}}}
  features: {uses: features, needs: [ingest]}
",
    );
    std::fs::write(env.path().join("log.csv"), "u,i,t\n1,a,5\n2,b,6\n").expect("log");
    // The users file is not delivered yet: the reading stage is stale with
    // the cause, and status still tells the stages after it.
    let status = env.ok(&["status"]);
    assert!(
        status.contains("ingest    stale: input ") && status.contains("users.csv is missing"),
        "{status}"
    );
    assert!(
        status.contains("features  stale: upstream `ingest` is stale"),
        "{status}"
    );
    std::fs::write(env.path().join("users.csv"), "u\n1\n2\n").expect("users");
    env.ok(&["run"]);
    assert!(env.ok(&["status"]).contains("ingest    up to date"));
}

#[test]
fn a_partition_added_to_a_log_folder_makes_ingest_stale_and_is_read() {
    let env = Env::new(
        "version: 1\nstages:\n  ingest:\n    uses: ingest\n    with: {source: events, path: logs, columns: {user: user, item: item, timestamp: ts}}\n  features: {uses: features, needs: [ingest]}\n",
    );
    let day = |d: u64| {
        let mut log = String::from("user,item,ts\n");
        for i in 0..300u64 {
            log.push_str(&format!(
                "u{},p{},{}\n",
                i % 40,
                (i * 7 + d) % 25,
                1_700_000_000 + d * 86_400 + i
            ));
        }
        log
    };
    for d in 1..=2 {
        let dir = env.path().join(format!("logs/day={d}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("part-0.csv"), day(d)).expect("write");
    }
    let out = env.ok(&["run"]);
    assert!(out.contains("600 rows read, 0 rejected"), "{out}");
    let dir = env.path().join("logs/day=3");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("part-0.csv"), day(3)).expect("write");
    let status = env.ok(&["status"]);
    assert!(
        status.contains("input `logs/day=3/part-0.csv` is new"),
        "{status}"
    );
    let out = env.ok(&["run"]);
    assert_eq!(ran(&out), vec!["ingest", "features"], "{out}");
    assert!(out.contains("900 rows read, 0 rejected"), "{out}");
}

#[test]
fn a_killed_run_leaves_no_partial_cache_entry() {
    let env = Env::new(
        "version: 1\nstages:\n  ingest: {uses: ingest, with: {source: synthetic, users: 20000, items: 5000, ratings: 3000000}}\n",
    );
    let mut child = env.cmd(&["run", "-q"]).spawn().expect("spawn");
    std::thread::sleep(Duration::from_millis(400));
    let _ = child.kill();
    let _ = child.wait();
    let cache = env.path().join(".recpipe/cache-v1");
    for e in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
        assert!(
            e.path().join("entry.json").is_file(),
            "incomplete cache entry {}",
            e.path().display()
        );
    }
    // What a kill leaves (planted, as the kill's moment varies): a stage's
    // temporary outputs and a half-made link. The next run removes them.
    let wd = env.path().join(".recpipe");
    let leftover = wd.join("tmp/feedface-1/outputs");
    std::fs::create_dir_all(&leftover).expect("mkdir");
    std::fs::write(leftover.join("interactions.parquet"), vec![0u8; 4096]).expect("write");
    std::os::unix::fs::symlink("../cache-v1/feedface/outputs", wd.join("out/.ingest.1.tmp"))
        .expect("link");
    let run = env.run(&["run", "--log-format", "plain"]);
    let (out, err) = (stdout(&run), crate::stderr(&run));
    assert!(run.status.success(), "{err}");
    assert!(
        ran(&out) == vec!["ingest"] || out.contains("cached"),
        "{out}"
    );
    assert!(
        err.contains("temporary outputs left by interrupted runs"),
        "{err}"
    );
    let left = |dir: &str| std::fs::read_dir(wd.join(dir)).expect(dir).count();
    assert_eq!(left("tmp"), 0);
    assert!(std::fs::symlink_metadata(wd.join("out/.ingest.1.tmp")).is_err());
    assert_eq!(left("out"), 1, "the ingest link alone");
    env.ok(&["verify"]);
}

#[test]
fn concurrent_runs_wait_for_each_other_and_leave_a_valid_workdir() {
    let env = Env::new(SMALL);
    let a = env.cmd(&["run", "-q"]).spawn().expect("a");
    let b = env.cmd(&["run", "-q"]).spawn().expect("b");
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    assert!(a.status.success() && b.status.success());
    env.ok(&["verify"]);
    // --no-wait fails clearly while the lock is held.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env.path().join(".recpipe/lock"))
        .expect("lock file");
    lock.lock().expect("hold the lock");
    let busy = env.run(&["run", "--no-wait"]);
    assert_eq!(busy.status.code(), Some(1));
    assert!(
        crate::stderr(&busy).contains("another recpipe run"),
        "{}",
        crate::stderr(&busy)
    );
}

#[test]
fn a_failed_stage_stops_its_dependants_and_keeps_the_others() {
    let env = Env::new(
        "version: 1\nstages:\n  good: {uses: ingest, with: {source: synthetic, users: 100, items: 50, ratings: 1000}}\n  bad: {uses: ingest, with: {source: movielens, path: missing}}\n  after: {uses: features, needs: [bad]}\n",
    );
    let out = env.run(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing input folder is a configuration error: {}",
        crate::stderr(&out)
    );
    std::fs::create_dir_all(env.path().join("missing")).expect("mkdir");
    std::fs::write(env.path().join("missing/u.data"), "1\t1\t9\t1\n").expect("write");
    let out = env.run(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    let s = stdout(&out);
    assert!(s.contains("good") && s.contains("ran"), "{s}");
    assert!(
        s.contains("bad       FAILED") || s.contains("bad  FAILED") || s.contains("FAILED"),
        "{s}"
    );
    assert!(
        s.contains("after") && s.contains("skipped: upstream `bad` failed"),
        "{s}"
    );
    assert!(
        ran(&env.ok(&["run", "good"])).is_empty(),
        "the good stage stays cached"
    );
}

#[test]
fn dag_formats() {
    let env = Env::new(SMALL);
    let m = env.ok(&["dag", "--format", "mermaid"]);
    assert!(
        m.starts_with("flowchart LR") && m.contains("features --> cluster"),
        "{m}"
    );
    let d = env.ok(&["dag", "--format", "dot"]);
    assert!(d.contains("\"train\" -> \"export\""), "{d}");
}

#[test]
fn gc_keeps_what_the_lock_uses_and_drops_the_rest() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    env.ok(&["run", "--set", "export.top_n=3"]);
    env.ok(&["run"]);
    let entries = || {
        std::fs::read_dir(env.path().join(".recpipe/cache-v1"))
            .expect("cache")
            .count()
    };
    assert_eq!(entries(), 6, "5 stages + the top_n=3 export");
    let dry = env.ok(&["gc", "--keep", "0", "--dry-run"]);
    assert!(dry.contains("would delete 1 cache entries"), "{dry}");
    env.ok(&["gc", "--keep", "0"]);
    assert_eq!(entries(), 5);
    assert!(ran(&env.ok(&["run"])).is_empty());
    env.ok(&["verify"]);
}

#[test]
fn item_cold_start_maps_content_to_factors_and_beats_predicted_popularity() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipeline.yaml"))
        .expect("repo pipeline.yaml");
    let env = Env::new(&yaml);
    env.ok(&[
        "run",
        "train",
        "--set",
        "ingest.users=1500",
        "--set",
        "ingest.items=600",
        "--set",
        "ingest.ratings=60000",
        "--set",
        "train.model=implicit_als",
        "--set",
        "train.cold_items_fraction=0.25",
    ]);
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.out("train").join("metrics.json")).expect("metrics"),
    )
    .expect("json");
    let (cold, base) = (
        m["cold_items_ndcg_at_10"].as_f64().expect("cold"),
        m["cold_items_baseline_ndcg_at_10"]
            .as_f64()
            .expect("baseline"),
    );
    // Titles and genres carry the planted item tastes: content-mapped
    // vectors rank held-out items better than popularity guessed from the
    // same content.
    assert!(cold > base, "cold items NDCG {cold} vs baseline {base}");
    assert_eq!(m["cold_items"].as_f64(), Some(150.0));
    let mapping =
        recpipe_core::ParquetTable::read(&env.out("train").join("item_cold_start.parquet"))
            .expect("item_cold_start.parquet");
    let features = mapping.strings("feature").expect("feature column");
    let has = |p: &str| features.iter().flatten().any(|f| f.starts_with(p));
    assert!(has("genre=") && has("term=") && has("bias"), "{features:?}");
    assert!(!has("popularity"), "a new item has no popularity");
}

#[test]
fn json_logs_are_json_lines_on_both_streams_with_stage_and_run_events() {
    let env = Env::new(crate::SMALL);
    let out = env.run(&["--log-format", "json", "run", "--until", "features"]);
    assert!(out.status.success(), "{}", crate::stderr(&out));
    let events = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
            .collect()
    };
    let (stdout, stderr) = (events(&crate::stdout(&out)), events(&crate::stderr(&out)));
    let kinds: Vec<&str> = stderr
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "stage_start").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"phase"), "{kinds:?}");
    let stages: Vec<(&str, &str)> = stdout
        .iter()
        .filter(|e| e["event"] == "stage")
        .map(|e| {
            (
                e["stage"].as_str().expect("stage"),
                e["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(stages, [("ingest", "ran"), ("features", "ran")]);
    let last = stdout.last().expect("a run event");
    assert_eq!(
        (last["event"].as_str(), last["ok"].as_bool()),
        (Some("run"), Some(true))
    );

    // verify ends with its own event.
    env.ok(&["-q", "run"]);
    let out = env.run(&["--log-format", "json", "verify"]);
    assert!(out.status.success(), "{}", crate::stderr(&out));
    let verdict = events(&crate::stdout(&out));
    assert_eq!(verdict.len(), 1, "{verdict:?}");
    assert_eq!(
        (verdict[0]["event"].as_str(), verdict[0]["ok"].as_bool()),
        (Some("verify"), Some(true))
    );
    assert!(!events(&crate::stderr(&out)).is_empty());

    // An error outside a stage: one JSON line, and the configuration exit code.
    let out = env.run(&["--log-format", "json", "run", "-p", "absent.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = events(&crate::stderr(&out));
    assert_eq!(err.len(), 1);
    assert_eq!(
        (err[0]["event"].as_str(), err[0]["exit_code"].as_u64()),
        (Some("error"), Some(2))
    );
}

#[test]
fn k_auto_stops_at_the_distinct_users_and_says_so() {
    // 300 users: k = 299 and 300 fit, 301 and 302 cannot.
    let env = Env::new(&crate::SMALL.replace(
        "with: {k: 3, n_runs: 3}",
        "with: {k: auto, k_range: [299, 302], n_runs: 1}",
    ));
    let out = env.ok(&["run", "cluster"]);
    assert!(
        out.contains("k tried from 299 to 300, not 302: the data have only 300 distinct users"),
        "{out}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.path().join(".recpipe/out/cluster/cluster_report.json"))
            .expect("report"),
    )
    .expect("json");
    let ks: Vec<u64> = (report["curve"].as_array().expect("curve").iter())
        .map(|p| p["k"].as_u64().expect("k"))
        .collect();
    assert_eq!(ks, [299, 300]);
    // A range that starts past them still fails, saying why.
    std::fs::write(
        env.path().join("pipeline.yaml"),
        crate::SMALL.replace(
            "with: {k: 3, n_runs: 3}",
            "with: {k: auto, k_range: [301, 302]}",
        ),
    )
    .expect("edit");
    let out = env.run(&["run", "cluster"]);
    assert_eq!(out.status.code(), Some(1));
    let said = crate::stdout(&out) + &crate::stderr(&out);
    assert!(
        said.contains("k = 301 but the data have only 300 distinct users"),
        "{said}"
    );
}

#[test]
fn status_and_show_tell_a_stage_whose_last_run_failed_why() {
    let env = Env::new(&crate::SMALL.replace("with: {k: 3, n_runs: 3}", "with: {k: 400}"));
    let out = env.run(&["run", "cluster"]);
    assert_eq!(out.status.code(), Some(1));
    let status = env.ok(&["status"]);
    assert!(
        status.contains(
            "cluster   stale: its last run with these settings failed: k-means: k = 400 but the \
             data have only 300 distinct users"
        ),
        "{status}"
    );
    let err = crate::stderr(&env.run(&["show", "cluster"]));
    assert!(
        err.contains("stage `cluster` has no outputs: its last run failed: k-means: k = 400"),
        "{err}"
    );
    // Other settings: the old failure is not theirs.
    std::fs::write(
        env.path().join("pipeline.yaml"),
        crate::SMALL.replace("with: {k: 3, n_runs: 3}", "with: {k: 4}"),
    )
    .expect("edit");
    let status = env.ok(&["status"]);
    assert!(!status.contains("failed"), "{status}");
}
