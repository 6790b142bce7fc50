//! `recpipe rejects`: what an ingest stage dropped, read back from its rejects.parquet.

use crate::{Env, stderr};

/// An events log of 12 rows, 3 of them bad in two ways.
const LOG: &str = "user,item,ts\n\
1,a,2024-01-01T00:00:00Z\n\
1,b,2024-01-02T00:00:00Z\n\
2,a,someday\n\
2,b,2024-01-03T00:00:00Z\n\
3,,2024-01-04T00:00:00Z\n\
3,a,2024-01-05T00:00:00Z\n\
4,b,2024-01-06T00:00:00Z\n\
4,a,2024-01-07T00:00:00Z\n\
5,a,never\n\
5,b,2024-01-08T00:00:00Z\n\
6,a,2024-01-09T00:00:00Z\n\
6,b,2024-01-10T00:00:00Z\n";

#[test]
fn rejects_lists_counts_by_reason_and_the_rows_with_their_lines() {
    let env = Env::new(
        "version: 1\nstages:\n  load: {uses: ingest, with: {source: events, path: log.csv, columns: {user: user, item: item, timestamp: ts}}}\n",
    );
    let out = env.run(&["rejects"]);
    assert_eq!(out.status.code(), Some(2), "not run yet: {}", stderr(&out));
    assert!(
        stderr(&out).contains("`recpipe run load`"),
        "{}",
        stderr(&out)
    );
    std::fs::write(env.path().join("log.csv"), LOG).expect("write");
    env.ok(&["run"]);

    let text = env.ok(&["rejects"]);
    assert!(text.contains("3 rows rejected by load"), "{text}");
    assert!(text.contains("bad_timestamp"), "{text}");
    // The first row of each reason, and each row with its file and line.
    assert!(text.contains("first: log.csv:4:"), "{text}");
    assert!(text.contains("log.csv:6  missing_item"), "{text}");
    assert!(text.contains("    5,a,never"), "{text}");

    let doc: serde_json::Value = serde_json::from_str(&env.ok(&[
        "rejects",
        "load",
        "--reason",
        "bad_timestamp",
        "-n",
        "1",
        "--json",
    ]))
    .expect("json");
    assert_eq!(
        (doc["rejected"].as_u64(), doc["stage"].as_str()),
        (Some(3), Some("load"))
    );
    let counts: Vec<(&str, u64, u64)> = doc["by_reason"]
        .as_array()
        .expect("by_reason")
        .iter()
        .map(|c| {
            let n = c["rows"].as_u64().expect("rows");
            let first = c["first"]["line"].as_u64().expect("line");
            (c["reason"].as_str().expect("reason"), n, first)
        })
        .collect();
    assert_eq!(counts, [("bad_timestamp", 2, 4), ("missing_item", 1, 6)]);
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "-n 1");
    assert_eq!(rows[0]["line"], 4);
    assert_eq!(rows[0]["raw"], "2,a,someday");

    // A code no row has is told from one that is no code at all.
    let err = stderr(&env.run(&["rejects", "--reason", "bad_price"]));
    assert!(
        err.contains("no row of load was rejected as `bad_price` (its rows were rejected as bad_timestamp, missing_item)"),
        "{err}"
    );
    let err = stderr(&env.run(&["rejects", "--reason", "missing_itme"]));
    assert!(
        err.contains("`missing_itme` is not a reason code (codes: wrong_field_count, ")
            && err.ends_with("did you mean `missing_item`?\n"),
        "{err}"
    );

    // One row: said as one.
    let one_bad: String = LOG
        .lines()
        .filter(|l| !l.ends_with("never"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(env.path().join("log.csv"), one_bad.replace("3,,", "3,c,")).expect("write");
    env.ok(&["run"]);
    let text = env.ok(&["rejects"]);
    assert!(text.starts_with("1 row rejected by load\n"), "{text}");
}
