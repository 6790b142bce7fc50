//! An events log given as a folder of files (the partitions a scheduled
//! export writes): read as the one log they make.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use common::{rejects_written, run, run_on, write, write_parquet_log};
use recpipe_core::ParquetTable;

const HEADER: &str = "user,item,when,qty,price,name\n";

/// Three days of a shop's log, each day's lines (with a row missing its
/// user, a cancellation and, on day 2, a row repeated from day 1).
fn days() -> [Vec<&'static str>; 3] {
    [
        vec![
            "u1,A,2024-01-01T09:00:00Z,1,2.5,Apple",
            ",B,2024-01-01T09:05:00Z,1,1.0,Pear",
            "u2,B,2024-01-01T10:00:00Z,2,1.0,Pear",
            "u1,C,2024-01-01T11:00:00Z,1,4.0,\"Fig, dried\"",
        ],
        vec![
            "u3,A,2024-01-02T09:00:00Z,3,2.5,Apple",
            "u1,A,2024-01-01T09:00:00Z,1,2.5,Apple",
            "u2,C,2024-01-02T12:00:00Z,-1,4.0,\"Fig, dried\"",
            "u10,D,2024-01-02T13:00:00Z,1,9.0,Date",
        ],
        vec![
            "u2,A,2024-01-03T08:00:00Z,1,2.5,Apple",
            "u3,D,2024-01-03T09:00:00Z,2,9.0,Date",
        ],
    ]
}

fn yaml(path: &Path) -> String {
    format!(
        "{{source: events, path: {}, drop_duplicate_rows: true, columns: {{user: user, item: item, timestamp: when, quantity: qty, price: price, title: name}}}}",
        path.display()
    )
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn a_folder_of_parts_gives_the_tables_of_the_whole_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let [d1, d2, d3] = days();
    let whole: String =
        HEADER.to_string() + &[&d1[..], &d2[..], &d3[..]].concat().join("\n") + "\n";
    write(tmp.path(), "whole.csv", whole.as_bytes());
    // Day 1 plain, day 2 gzip, day 3 Parquet (in a folder whose name polars
    // would read as a date column of its own); beside them the marker and
    // checksum files a Spark or Hadoop export leaves, which are not logs.
    let parts = tmp.path().join("parts");
    let day = |d: &[&str]| HEADER.to_string() + &d.join("\n") + "\n";
    write(
        &parts.join("day=2024-01-01"),
        "part-0.csv",
        day(&d1).as_bytes(),
    );
    write(
        &parts.join("day=2024-01-02"),
        "part-0.csv.gz",
        &gzip(&day(&d2)),
    );
    write(&parts, "_SUCCESS", b"");
    write(
        &parts.join("day=2024-01-01"),
        ".part-0.csv.crc",
        b"\x00\x01crc",
    );
    let column = |i: usize| -> ArrayRef {
        let values: Vec<String> = d3
            .iter()
            .map(|l| l.split(',').nth(i).expect("field").to_string())
            .collect();
        Arc::new(StringArray::from(values))
    };
    std::fs::create_dir_all(parts.join("day=2024-01-03")).expect("mkdir");
    write_parquet_log(
        &parts.join("day=2024-01-03/part-0.parquet"),
        ["user", "item", "when", "qty", "price", "name"]
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, column(i)))
            .collect(),
    );

    let (one, folder) = (tmp.path().join("one"), tmp.path().join("folder"));
    let whole_report = run(&yaml(&tmp.path().join("whole.csv")), &one).expect("whole");
    let report = run(&yaml(&parts), &folder).expect("folder");
    for table in ["interactions.parquet", "users.parquet", "items.parquet"] {
        let bytes = |dir: &Path| std::fs::read(dir.join(table)).expect("read");
        assert!(bytes(&one) == bytes(&folder), "{table} differs");
    }
    for key in [
        "rows_read",
        "rows_kept",
        "rows_rejected",
        "rejected_by_reason",
    ] {
        assert_eq!(report[key], whole_report[key], "{key}");
    }
    assert_eq!(report["rows_read"], 10);
    assert_eq!(report["catalog_rows_rejected"], 0);
    // Rejects name each part by its path in the folder, and its own line.
    let names: Vec<(String, u64)> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let name = f["file"].as_str().expect("name").to_string();
            (name, f["rows_rejected"].as_u64().expect("n"))
        })
        .collect();
    assert_eq!(
        names,
        [
            ("day=2024-01-01/part-0.csv".to_string(), 1),
            ("day=2024-01-02/part-0.csv.gz".to_string(), 2),
            ("day=2024-01-03/part-0.parquet".to_string(), 0),
        ]
    );
    let rejects = ParquetTable::read(&folder.join("rejects.parquet")).expect("rejects");
    let files: Vec<String> = (rejects.strings("file").expect("file").into_iter())
        .map(|f| f.expect("file"))
        .collect();
    assert_eq!(
        files,
        [
            "day=2024-01-01/part-0.csv",
            "day=2024-01-02/part-0.csv.gz",
            "day=2024-01-02/part-0.csv.gz"
        ]
    );
    let lines: Vec<(u64, String)> = rejects_written(&folder)
        .into_iter()
        .map(|(line, reason, _)| (line, reason))
        .collect();
    assert_eq!(
        lines,
        [
            (3, "missing_user".to_string()),
            (3, "duplicate_row".to_string()),
            (4, "non_positive_quantity".to_string()),
        ]
    );
    // A row repeated from another part names the part it repeats.
    let details = rejects.strings("detail").expect("detail");
    assert_eq!(
        details[1].as_deref(),
        Some("same as day=2024-01-01/part-0.csv line 2")
    );
    // Whatever the thread count, the same bytes.
    let single = tmp.path().join("single");
    run_on(1, &yaml(&parts), &single).expect("one thread");
    for table in [
        "interactions.parquet",
        "rejects.parquet",
        "ingest_report.json",
    ] {
        let bytes = |dir: &Path| std::fs::read(dir.join(table)).expect("read");
        assert!(bytes(&single) == bytes(&folder), "{table} differs");
    }
}

#[test]
fn a_folder_without_logs_and_a_part_without_a_mapped_column_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let empty = tmp.path().join("empty");
    write(&empty, "_SUCCESS", b"");
    let err = run(&yaml(&empty), &tmp.path().join("o1")).expect_err("no logs");
    assert!(err.to_string().contains("holds no log file"), "{err}");

    // Too many invalid rows: the error names the folder, and the file of
    // the first bad row with its line.
    let bad = tmp.path().join("bad");
    let good = format!("{HEADER}u1,A,1704099600,1,2.5,Apple\n");
    write(&bad, "a.csv", good.as_bytes());
    let rows = "u1,A,soon,1,2.5,Apple\nu2,A,later,1,2.5,Apple\n";
    write(
        &bad.join("b"),
        "c.csv",
        format!("{HEADER}{rows}").as_bytes(),
    );
    let err = run(&yaml(&bad), &tmp.path().join("o3")).expect_err("too many");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}: 2 of 3 rows are invalid", bad.display()))
            && text.contains("first, b/c.csv line 2: bad_timestamp"),
        "{text}"
    );

    let parts = tmp.path().join("parts");
    write(
        &parts,
        "a.csv",
        format!("{HEADER}u1,A,1704099600,1,2.5,Apple\n").as_bytes(),
    );
    write(
        &parts,
        "b.csv",
        b"user,item,when,price,name\nu1,A,1704099600,2.5,Apple\n",
    );
    let err = run(&yaml(&parts), &tmp.path().join("o2")).expect_err("no qty");
    let text = err.to_string();
    assert!(
        text.contains("b.csv") && text.contains("no column `qty`"),
        "{text}"
    );
}
