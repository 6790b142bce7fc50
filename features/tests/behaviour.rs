//! The behaviour features of a hand-made data set equal values computed by hand.

use std::path::{Path, PathBuf};

use recpipe_core::ParquetTable;
use recpipe_core::progress::Progress;
use recpipe_core::stage::{StageContext, Upstream};

fn ctx(out: &Path, upstream: Vec<Upstream>) -> StageContext {
    std::fs::create_dir_all(out).expect("mkdir");
    StageContext {
        name: "t".into(),
        out_dir: out.to_path_buf(),
        upstream,
        base_dir: PathBuf::from("/"),
        progress: Progress::quiet(),
        fingerprint: String::new(),
    }
}

#[test]
fn behaviour_event_shares_and_rfm_by_hand() {
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = tmp.path().join("events.csv");
    // Day 0 = 2020-01-01. u1: view A (day 0), purchase B 2 x 5.0 (day 1), cart C (day 1).
    // u2: purchase A 1 x 3.0 (day 3), the last time in the data.
    std::fs::write(
        &csv,
        "user,item,when,kind,qty,price,name\n\
         u1,A,2020-01-01T00:00:00Z,view,1,1.0,red apple\n\
         u1,B,2020-01-02T00:00:00Z,purchase,2,5.0,green pear\n\
         u1,C,2020-01-02T12:00:00Z,cart,1,1.0,red cherry\n\
         u2,A,2020-01-04T00:00:00Z,purchase,1,3.0,red apple\n",
    )
    .expect("write");
    let ingest_out = tmp.path().join("ingest");
    let yaml = format!(
        "{{source: events, path: {}, columns: {{user: user, item: item, timestamp: when, event: kind, quantity: qty, price: price, title: name}}}}",
        csv.display()
    );
    let p = recpipe_ingest::IngestParams::from_yaml(&serde_yaml::from_str(&yaml).expect("yaml"))
        .expect("params");
    recpipe_ingest::run(&p, &ctx(&ingest_out, vec![])).expect("ingest");
    let out = tmp.path().join("features");
    let params = recpipe_features::FeaturesParams {
        standardize: vec![],
        ..Default::default()
    };
    recpipe_features::run(
        &params,
        &ctx(
            &out,
            vec![Upstream {
                name: "ingest".into(),
                kind: "ingest".into(),
                dir: ingest_out,
            }],
        ),
    )
    .expect("features");
    let t = ParquetTable::read(&out.join("user_features.parquet")).expect("features");
    let col = |n: &str| t.f32s(n).unwrap_or_else(|e| panic!("{n}: {e}"));
    // Values are event weights: view 1, purchase 8, cart 4.
    let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-5;
    assert!(close(col("log_count")[0], 3f64.ln_1p()) && close(col("log_count")[1], 2f64.ln()));
    assert!(close(col("mean_value")[0], 13.0 / 3.0));
    let var = ((1.0f64 - 13.0 / 3.0).powi(2)
        + (8.0f64 - 13.0 / 3.0).powi(2)
        + (4.0f64 - 13.0 / 3.0).powi(2))
        / 3.0;
    assert!(close(col("std_value")[0], var.sqrt()), "population std");
    assert!(close(col("recency_days")[0], 1.5) && close(col("recency_days")[1], 0.0));
    assert!(
        close(col("event:view")[0], 1.0 / 3.0)
            && close(col("event:purchase")[0], 1.0 / 3.0)
            && close(col("event:cart")[0], 1.0 / 3.0)
    );
    assert!(close(col("event:purchase")[1], 1.0));
    assert!(
        close(col("rfm:frequency")[0], 2f64.ln_1p()),
        "u1 was active on 2 distinct days"
    );
    assert!(
        close(col("rfm:monetary")[0], (1.0f64 + 10.0 + 1.0).ln_1p())
            && close(col("rfm:monetary")[1], 3f64.ln_1p())
    );
    // Column order is fixed: demographics, behaviour, genres, events, rfm.
    let names: Vec<String> = t
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let pos = |n: &str| names.iter().position(|x| x == n).expect("column");
    assert!(
        pos("log_count") < pos("event:cart")
            && pos("event:cart") < pos("event:purchase")
            && pos("event:view") < pos("rfm:frequency")
    );
    // TF-IDF: "red" is in 2 of 3 item documents.
    let vocab = ParquetTable::read(&out.join("vocabulary.parquet")).expect("vocab");
    let terms = vocab.strings("term").expect("terms");
    let df = vocab.u32s("df").expect("df");
    let red = terms
        .iter()
        .position(|t| t.as_deref() == Some("red"))
        .expect("red");
    assert_eq!(df[red], 2);
}

#[test]
fn genres_beyond_max_genres_are_pooled_and_shares_still_sum_to_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (csv, items) = (tmp.path().join("events.csv"), tmp.path().join("items.csv"));
    // Interactions per item: A 3, B 1, C 1, D 1; so by genre: Kitchen 3
    // (A), Garden 2 (B, D), Toys 1 (B), Books 1 (C).
    std::fs::write(
        &csv,
        "user,item,when\nu1,A,1577836800\nu1,B,1577836801\nu1,C,1577836802\n\
         u2,A,1577836803\nu2,D,1577836804\nu3,A,1577836805\n",
    )
    .expect("write");
    std::fs::write(
        &items,
        "id,cats\nA,Kitchen\nB,Garden|Toys\nC,Books\nD,Garden\n",
    )
    .expect("write");
    let ingest_out = tmp.path().join("ingest");
    let yaml = format!(
        "{{source: events, path: {}, event_type: purchase, items_file: {{path: {}, id: id, genres: cats}}, columns: {{user: user, item: item, timestamp: when}}}}",
        csv.display(),
        items.display()
    );
    let p = recpipe_ingest::IngestParams::from_yaml(&serde_yaml::from_str(&yaml).expect("yaml"))
        .expect("params");
    recpipe_ingest::run(&p, &ctx(&ingest_out, vec![])).expect("ingest");
    let features = |max_genres: usize| {
        let out = tmp.path().join(format!("features-{max_genres}"));
        let params = recpipe_features::FeaturesParams {
            standardize: vec![],
            max_genres,
            ..Default::default()
        };
        let upstream = vec![Upstream {
            name: "ingest".into(),
            kind: "ingest".into(),
            dir: ingest_out.clone(),
        }];
        let outcome = recpipe_features::run(&params, &ctx(&out, upstream)).expect("features");
        let users = ParquetTable::read(&out.join("user_features.parquet")).expect("users");
        let items = ParquetTable::read(&out.join("item_features.parquet")).expect("items");
        (outcome.summary.join("; "), users, items)
    };
    let genre_columns = |t: &ParquetTable, prefix: &str| -> Vec<String> {
        let schema = t.schema();
        (schema.fields().iter())
            .map(|f| f.name().clone())
            .filter(|n| n.starts_with(prefix))
            .collect()
    };
    // Every genre a column by default.
    let (summary, users, _) = features(50);
    assert_eq!(
        genre_columns(&users, "genre:"),
        ["genre:Books", "genre:Garden", "genre:Kitchen", "genre:Toys"]
    );
    assert!(!summary.contains("pooled"), "{summary}");
    // Two kept (the most interactions), the others pooled.
    let (summary, users, items) = features(3);
    assert_eq!(
        genre_columns(&users, "genre:"),
        ["genre:Garden", "genre:Kitchen", "genre:(other)"]
    );
    assert!(
        summary.contains("note: 4 genres: the 2 of the most interactions are columns"),
        "{summary}"
    );
    let col = |n: &str| users.f32s(n).unwrap_or_else(|e| panic!("{n}: {e}"));
    let close = |a: &[f32], b: &[f64]| a.iter().zip(b).all(|(a, b)| (*a as f64 - b).abs() < 1e-6);
    // u1: A (Kitchen), B (half Garden, half Toys), C (Books) over 3 rows.
    assert!(close(&col("genre:Kitchen"), &[1.0 / 3.0, 0.5, 1.0]));
    assert!(close(&col("genre:Garden"), &[1.0 / 6.0, 0.5, 0.0]));
    assert!(close(&col("genre:(other)"), &[0.5, 0.0, 0.0]));
    let multi_hot = |n: &str| items.f32s(n).unwrap_or_else(|e| panic!("{n}: {e}"));
    assert_eq!(multi_hot("genre=(other)"), [0.0, 1.0, 1.0, 0.0]);
    assert_eq!(multi_hot("genre=Garden"), [0.0, 1.0, 0.0, 1.0]);
}
