//! The query commands and bundle verification.

use crate::{Env, SMALL, stdout};

#[test]
fn queries_answer_from_the_bundle_and_verify_catches_a_flipped_byte() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let recs = env.ok(&["recommend", "--user", "5", "-n", "3"]);
    assert!(
        recs.contains("top items for user 5") && recs.lines().count() == 5,
        "{recs}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["recommend", "--user", "5", "--json"])).expect("json");
    let lines = json["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 5, "top_n is 5");
    let scores: Vec<f64> = lines
        .iter()
        .map(|l| l["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(
        json.get("note").is_none(),
        "the 5 asked for by default: {json}"
    );
    // Asking for more than the bundle keeps says so and names the setting.
    let more: serde_json::Value =
        serde_json::from_str(&env.ok(&["recommend", "--user", "5", "-n", "50", "--json"]))
            .expect("json");
    assert_eq!(more["lines"].as_array().map(Vec::len), Some(5));
    let note = more["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("holds 5 here, fewer than the 50 asked for") && note.contains("`top_n`"),
        "{more}"
    );
    // -n 0 would list nothing: a usage error.
    let zero = env.run(&["recommend", "--user", "5", "-n", "0"]);
    assert_eq!(zero.status.code(), Some(2), "{}", crate::stderr(&zero));
    assert!(crate::stderr(&zero).contains("not a count of 1 or more"));
    // The id may also come as the first argument, but not both ways at once.
    for (flag, positional) in [
        (
            vec!["recommend", "--user", "5", "-n", "3"],
            vec!["recommend", "5", "-n", "3"],
        ),
        (vec!["similar", "--item", "1"], vec!["similar", "1"]),
        (vec!["also-liked", "--item", "1"], vec!["also-liked", "1"]),
        (vec!["segment", "--user", "5"], vec!["segment", "5"]),
    ] {
        assert_eq!(env.ok(&flag), env.ok(&positional), "{positional:?}");
    }
    let both = env.run(&["recommend", "5", "--user", "5"]);
    assert_eq!(both.status.code(), Some(2), "{}", crate::stderr(&both));
    let unknown = env.ok(&["recommend", "--user", "no-such-user"]);
    assert!(
        unknown.contains("not in the bundle") && unknown.contains("cold-start"),
        "{unknown}"
    );
    // An unknown id is named; numeric ids have too many neighbours one
    // typo away for a guess (`likely_meant` has the cases that get one).
    let typo = env.run(&["similar", "--item", "x1"]);
    let err = crate::stderr(&typo);
    assert!(
        !typo.status.success()
            && err.contains("item `x1` is not in the bundle")
            && !err.contains("did you mean"),
        "{err}"
    );
    // The cold-start list is ranked by support (the share of the profile's
    // users who liked the item), with its lift beside it: 1 for everyone.
    let cold: serde_json::Value =
        serde_json::from_str(&env.ok(&["recommend", "--user", "no-such-user", "--json"]))
            .expect("json");
    assert_eq!(
        (&cold["score_name"], &cold["second_name"]),
        (&"support".into(), &"lift".into())
    );
    let figures: Vec<(f64, f64)> = cold["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["score"].as_f64().expect("support"),
                l["second"].as_f64().expect("lift"),
            )
        })
        .collect();
    assert!(!figures.is_empty());
    // The bundle's f32 figures as written, not widened: 0.1, not 0.10000000149.
    let as_stored = |x: f64| (x as f32).to_string().parse::<f64>().ok() == Some(x);
    assert!(
        figures.iter().all(|&(s, l)| as_stored(s) && as_stored(l)),
        "{figures:?}"
    );
    assert!(figures.windows(2).all(|w| w[0].0 >= w[1].0), "{figures:?}");
    assert!(
        figures
            .iter()
            .all(|&(support, lift)| support > 0.0 && support <= 1.0 && (lift - 1.0).abs() < 1e-5),
        "{figures:?}"
    );
    assert!(
        env.ok(&["similar", "--item", "1", "--by", "content"])
            .contains("by content")
    );
    assert!(
        env.ok(&["also-liked", "--item", "1"])
            .contains("also liked")
    );
    let text = env.ok(&["segment", "--user", "5"]);
    assert!(text.contains("is in segment"), "{text}");
    assert!(text.contains("features that differ most"), "{text}");
    let seg: serde_json::Value =
        serde_json::from_str(&env.ok(&["segment", "--user", "5", "--json"])).expect("json");
    let share = seg["share"].as_f64().expect("share");
    assert!(seg["users"].as_u64().expect("users") > 0 && share > 0.0 && share < 1.0);
    let lines = seg["lines"].as_array().expect("lines");
    assert!(lines.iter().any(|l| l["kind"] == "feature"), "{seg}");
    // Every line's lift is its figure in the segment over the overall one
    // (0 where that is 0).
    for l in lines.iter().filter(|l| l["overall"] != 0.0) {
        let (in_segment, overall, lift) = (
            l["segment"].as_f64().expect("segment"),
            l["overall"].as_f64().expect("overall"),
            l["lift"].as_f64().expect("lift"),
        );
        assert!(
            (in_segment - lift * overall).abs() <= 1e-9 * in_segment.abs().max(1.0),
            "{l}"
        );
    }
    std::fs::write(env.path().join("seeds.txt"), "1\n2\n3\n").expect("seeds");
    let look: serde_json::Value =
        serde_json::from_str(&env.ok(&["lookalike", "--users", "seeds.txt", "-n", "7", "--json"]))
            .expect("json");
    let ids = answer_ids(&look);
    assert_eq!(ids.len(), 7);
    assert!(!ids.contains(&"1"), "seeds are not their own lookalikes");
    // Seeds from standard input.
    let mut child = env
        .cmd(&["lookalike", "--users", "-", "-n", "3", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"1\n2\n").expect("write seeds");
    }
    let out = child.wait_with_output().expect("lookalike");
    let piped: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids = answer_ids(&piped);
    assert_eq!(ids.len(), 3);
    assert!(!ids.contains(&"1") && !ids.contains(&"2"), "{ids:?}");
    // Seeds not in the bundle are named, five at most.
    std::fs::write(env.path().join("some.txt"), "1\nx1\n").expect("seeds");
    let note = env.ok(&["lookalike", "--users", "some.txt", "-n", "1"]);
    assert!(
        note.starts_with("users most like 1 seed user\nnote: 1 seed id is not in the bundle: x1\n"),
        "{note}"
    );
    std::fs::write(env.path().join("some.txt"), "x1\n").expect("seeds");
    let err = crate::stderr(&env.run(&["lookalike", "--users", "some.txt"]));
    assert!(err.contains("seed user `x1` is not in the bundle"), "{err}");
    let unknown: Vec<String> = (1..=7).map(|i| format!("x{i}")).collect();
    std::fs::write(
        env.path().join("some.txt"),
        format!("1\n{}\n", unknown.join("\n")),
    )
    .expect("seeds");
    let note = env.ok(&["lookalike", "--users", "some.txt", "-n", "1"]);
    assert!(
        note.contains("note: 7 seed ids are not in the bundle: x1, x2, x3, x4, x5 and 2 more\n"),
        "{note}"
    );
    let missing = env.run(&["lookalike", "--users", "absent.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        crate::stderr(&missing).contains("cannot read the seed users file absent.txt"),
        "{}",
        crate::stderr(&missing)
    );
    std::fs::write(env.path().join("none.txt"), "\n  \n").expect("seeds");
    let empty = env.run(&["lookalike", "--users", "none.txt"]);
    assert!(
        crate::stderr(&empty).contains("none.txt: no user ids"),
        "{}",
        crate::stderr(&empty)
    );

    let bundle = env.out("export");
    let ok = env.ok(&["bundle", "verify", bundle.to_str().expect("utf8")]);
    assert!(ok.contains("bundle ok"), "{ok}");
    // Flip one byte of a copy of the bundle.
    let copy = env.path().join("copy");
    copy_dir(&bundle, &copy);
    let f = copy.join("recommendations.parquet");
    let mut bytes = std::fs::read(&f).expect("read");
    bytes[100] ^= 0xFF;
    std::fs::write(&f, bytes).expect("write");
    let out = env.run(&["bundle", "verify", copy.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).contains("recommendations.parquet: sha256"),
        "{}",
        stdout(&out)
    );

    // Publishing: a bundle that differs from its manifest is not copied;
    // a sound one is, whole, into a new folder only.
    let out = env.run(&["bundle", "publish", "--bundle", "copy", "srv/bad"]);
    assert_eq!(out.status.code(), Some(3), "{}", crate::stderr(&out));
    assert!(crate::stderr(&out).contains("nothing was published"));
    let said = env.ok(&["bundle", "publish", "srv/day-1"]);
    assert!(said.contains("published 12 files"), "{said}");
    let served: Vec<_> = std::fs::read_dir(env.path().join("srv"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(served, ["day-1"], "no half copy nor hidden temp left");
    let ok = env.ok(&["bundle", "verify", "srv/day-1"]);
    assert!(ok.contains("bundle ok: 11 artifacts"), "{ok}");
    assert_eq!(
        env.ok(&["recommend", "5", "--bundle", "srv/day-1"]),
        env.ok(&["recommend", "5"])
    );
    let again = env.run(&["bundle", "publish", "srv/day-1"]);
    assert_eq!(again.status.code(), Some(2), "{}", crate::stderr(&again));
    assert!(crate::stderr(&again).contains("srv/day-1: exists"));
}

/// The ids of a query's JSON answer, in rank order.
fn answer_ids(answer: &serde_json::Value) -> Vec<&str> {
    answer["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["id"].as_str().expect("id"))
        .collect()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("ls").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
            let mut perm = std::fs::metadata(to.join(e.file_name()))
                .expect("meta")
                .permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(to.join(e.file_name()), perm).expect("chmod");
        }
    }
}

#[test]
fn npy_embeddings_load_in_numpy_when_available() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let npy = env.out("export").join("embeddings/item_factors.npy");
    let script = format!(
        "import numpy as np; a = np.load({:?}); print(a.dtype, a.shape)",
        npy.display().to_string()
    );
    match std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
    {
        Ok(o) if o.status.success() => assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "float32 (200, 8)"
        ),
        _ => {
            eprintln!("SKIPPED: numpy not available; checking the .npy header instead");
            let bytes = std::fs::read(&npy).expect("npy");
            assert_eq!(&bytes[..6], b"\x93NUMPY");
            assert!(String::from_utf8_lossy(&bytes[10..128]).contains("'shape': (200, 8)"));
        }
    }
}

#[test]
fn recommendations_exclude_seen_items_and_are_ranked() {
    let env = Env::new(SMALL);
    env.ok(&["run"]);
    let inter = recpipe_core::ParquetTable::read(&env.out("ingest").join("interactions.parquet"))
        .expect("inter");
    let seen: std::collections::HashSet<(u32, u32)> = inter
        .u32s("user_idx")
        .expect("u")
        .into_iter()
        .zip(inter.u32s("item_idx").expect("i"))
        .collect();
    let recs = recpipe_core::ParquetTable::read(&env.out("export").join("recommendations.parquet"))
        .expect("recs");
    let (u, i, rank, score) = (
        recs.u32s("user_idx").expect("u"),
        recs.u32s("item_idx").expect("i"),
        recs.u16s("rank").expect("rank"),
        recs.f32s("score").expect("score"),
    );
    assert_eq!(recs.num_rows(), 300 * 5);
    for r in 0..recs.num_rows() {
        assert!(
            !seen.contains(&(u[r], i[r])),
            "user {} was recommended seen item {}",
            u[r],
            i[r]
        );
        let expected_rank = if r > 0 && u[r - 1] == u[r] {
            rank[r - 1] + 1
        } else {
            1
        };
        assert_eq!(rank[r], expected_rank);
        if rank[r] > 1 {
            assert!(
                score[r - 1] > score[r] || (score[r - 1] == score[r] && i[r - 1] < i[r]),
                "row {r}: non-increasing scores, ties by item id"
            );
        }
    }
}

/// Every stage on a small events log, `log.csv` (user, item, ts), with one
/// segment.
const LOG_PIPELINE: &str = "version: 1
stages:
  ingest: {uses: ingest, with: {source: events, path: log.csv, columns: {user: user, item: item, timestamp: ts}}}
  features: {uses: features, needs: [ingest]}
  cluster: {uses: cluster, needs: [features], with: {k: 1}}
  train: {uses: train, needs: [ingest], with: {model: implicit_als, factors: 4}}
  export: {uses: serve-export, needs: [train, cluster, features]}
";

#[test]
fn a_one_item_log_answers_every_query_saying_why_a_list_is_empty() {
    let env = Env::new(LOG_PIPELINE);
    std::fs::write(
        env.path().join("log.csv"),
        "user,item,ts\nu1,i1,2020-01-01\nu2,i1,2020-01-02\n",
    )
    .expect("log");
    env.ok(&["run"]);
    // u1 has the only item: known, with nothing left to recommend.
    let recs = env.ok(&["recommend", "u1"]);
    assert!(
        recs.contains("user `u1` is in the bundle but has no recommended items"),
        "{recs}"
    );
    let recs = env.ok(&["recommend", "u9"]);
    assert!(recs.contains("user `u9` is not in the bundle"), "{recs}");
    let err = crate::stderr(&env.run(&["similar", "i1"]));
    assert!(
        err.contains(
            "item `i1` is in the bundle but has no similar items: it is the bundle's only item"
        ),
        "{err}"
    );
    let err = crate::stderr(&env.run(&["similar", "i1", "--by", "content"]));
    assert!(err.contains("it is the bundle's only item"), "{err}");
    let err = crate::stderr(&env.run(&["similar", "i2"]));
    assert!(err.contains("item `i2` is not in the bundle"), "{err}");
    let also = env.ok(&["also-liked", "i1"]);
    assert!(also.contains("too few users liked this item"), "{also}");
    // Three items without a title or text: factor neighbours, no content ones.
    std::fs::write(
        env.path().join("log.csv"),
        "user,item,ts\nu1,i1,2020-01-01\nu2,i2,2020-01-02\nu3,i3,2020-01-03\n",
    )
    .expect("log");
    env.ok(&["run"]);
    env.ok(&["similar", "i1"]);
    let err = crate::stderr(&env.run(&["similar", "i1", "--by", "content"]));
    assert!(
        err.contains("this bundle has no `content` neighbours")
            && err.contains("the items have no title or text"),
        "{err}"
    );
}

#[test]
fn a_segments_items_without_titles_are_named_by_their_ids() {
    let env = Env::new(LOG_PIPELINE);
    // 12 users, each with two or three of three items, none with a title.
    let mut log = String::from("user,item,ts\n");
    for u in 0..12 {
        for i in 0..3 {
            if (u + i) % 4 != 0 {
                log.push_str(&format!("u{u},sku-{i},2020-01-{:02}\n", u + 1));
            }
        }
    }
    std::fs::write(env.path().join("log.csv"), log).expect("log");
    env.ok(&["run"]);
    let answer: serde_json::Value =
        serde_json::from_str(&env.ok(&["segment", "--user", "u1", "--json"])).expect("json");
    let mut items: Vec<&str> = answer["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["kind"] == "item")
        .map(|l| l["name"].as_str().expect("name"))
        .collect();
    items.sort_unstable();
    assert_eq!(items, ["sku-0", "sku-1", "sku-2"], "{answer}");
}

#[test]
fn an_item_that_is_no_id_is_found_by_its_title() {
    let env = Env::new(&LOG_PIPELINE.replace("timestamp: ts}", "timestamp: ts, title: title}"));
    let titles = [
        "Matrix, The (1999)",
        "Matrix Reloaded, The (2003)",
        "Heat (1995)",
        "Fish Called Wanda, A (1988)",
        "Casino (1995)",
    ];
    let mut log = String::from("user,item,title,ts\n");
    for u in 0..30 {
        for (i, title) in titles.iter().enumerate() {
            if (u + i) % 3 != 0 {
                log.push_str(&format!(
                    "u{u},m{i},\"{title}\",2020-01-{:02}\n",
                    u % 28 + 1
                ));
            }
        }
    }
    std::fs::write(env.path().join("log.csv"), log).expect("log");
    env.ok(&["run"]);
    let json = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&env.ok(&[args, &["--json"]].concat())).expect("json")
    };
    for (command, list) in [("similar", "more like item m3"), ("also-liked", "liked m3")] {
        let by_id = json(&[command, "m3"]);
        assert!(by_id.get("note").is_none(), "{by_id}");
        // The title with or without its year, its article first, any case.
        for text in [
            "Fish Called Wanda, A (1988)",
            "a fish called wanda",
            "WANDA",
        ] {
            let by_title = json(&[command, text]);
            assert_eq!(by_title["lines"], by_id["lines"], "{command} {text}");
            assert!(by_title["title"].as_str().is_some_and(|t| t.contains(list)));
            let note = by_title["note"].as_str().unwrap_or_default();
            assert_eq!(
                note,
                format!("`{text}` is taken as the title of item m3: Fish Called Wanda, A (1988)"),
                "{by_title}"
            );
        }
    }
    // A title equal to the text wins over those that contain it.
    let matrix = json(&["similar", "the matrix"]);
    assert!(
        matrix["note"]
            .as_str()
            .is_some_and(|n| n.contains("item m0:")),
        "{matrix}"
    );
    // Text in several titles is an error that lists them; in none, the
    // unknown id's error.
    let out = env.run(&["similar", "matrix reloaded, the (2003"]);
    assert_eq!(out.status.code(), Some(0), "a unique part of a title");
    let out = env.run(&["similar", "(1995)"]);
    let err = crate::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`(1995)` is no item's id and matches the titles of 2 items: `m2` Heat (1995), `m4` Casino (1995); give the id"),
        "{err}"
    );
    let err = crate::stderr(&env.run(&["also-liked", "Titanic"]));
    assert!(err.contains("item `Titanic` is not in the bundle"), "{err}");
}
