//! Ingest of each source layout, on fixtures written here and on the real
//! files in `../shared/data` when present.

mod common;

use std::path::Path;

use common::{reasons, run, run_on, shared, write, write_parquet_log};
use recpipe_core::ParquetTable;

#[test]
fn ml1m_layout_latin1_titles_and_every_kind_of_bad_row() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("ml");
    write(
        &data,
        "ratings.dat",
        b"1::10::5::978300760\n1::20::3::978300761\n2::10::9::978300762\n2::xx::4::978300763\n2::20::4\n3::10::x::1\n\
          2::10::2::978300770\n2::10::3::978300700\n9::10::4::978300800\n1::99::4::978300800\n",
    );
    write(
        &data,
        "users.dat",
        b"1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n",
    );
    write(&data, "movies.dat", b"10::Cit\xe9 des enfants perdus, La (1995)::Adventure|Sci-Fi\n20::Heat (1995)::Action|Crime|Thriller\n");
    let out = tmp.path().join("out");
    // Mostly bad rows: the limit on their share is off.
    let report = run(
        &format!(
            "{{source: movielens, path: {}, max_rejected_fraction: 1}}",
            data.display()
        ),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["notes"]["layout"], "ml-1m");
    assert_eq!(report["rows_read"], 10);
    let r = reasons(&report);
    assert_eq!(r["rating_out_of_scale"], 1, "{r:?}");
    assert_eq!(r["wrong_field_count"], 1);
    assert_eq!(r["bad_rating"], 1);
    assert_eq!(r["unknown_user"], 1);
    assert_eq!(
        r["duplicate_pair"], 1,
        "user 2 rated item 10 twice: the later one is kept"
    );
    assert_eq!(r["unknown_item"], 2, "`xx` and `99` are not in movies.dat");
    assert_eq!(report["rows_kept"], 3);
    let read = report["rows_read"].as_u64().expect("n");
    assert_eq!(
        read,
        report["rows_kept"].as_u64().expect("n") + report["rows_rejected"].as_u64().expect("n")
    );

    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    let titles = items.strings("title").expect("titles");
    assert_eq!(
        titles[0].as_deref(),
        Some("Cité des enfants perdus, La (1995)")
    );
    assert_eq!(
        items.string_lists("genres").expect("genres")[1],
        vec!["Action", "Crime", "Thriller"]
    );
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    // user 2 / item 10: the latest rating (ts 978300770, value 2) is kept.
    let (u, i, v) = (
        inter.u32s("user_idx").expect("u"),
        inter.u32s("item_idx").expect("i"),
        inter.f32s("value").expect("v"),
    );
    let kept: Vec<(u32, u32, f32)> = (0..u.len()).map(|k| (u[k], i[k], v[k])).collect();
    assert!(kept.contains(&(1, 0, 2.0)), "{kept:?}");
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    let lines = rejects.u64s_for_test();
    assert!(lines.contains(&3) && lines.contains(&5), "{lines:?}");
}

trait Lines {
    fn u64s_for_test(&self) -> Vec<u64>;
}
impl Lines for ParquetTable {
    fn u64s_for_test(&self) -> Vec<u64> {
        use arrow::array::AsArray;
        self.column("line")
            .expect("line")
            .as_primitive::<arrow::datatypes::UInt64Type>()
            .values()
            .to_vec()
    }
}

#[test]
fn on_error_fail_names_file_line_and_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("ml");
    write(
        &data,
        "u.data",
        b"1\t10\t5\t881250949\n1\t11\t7\t881250949\n",
    );
    write(&data, "u.user", b"1|24|M|technician|85711\n");
    let flags = "|0".repeat(19);
    write(
        &data,
        "u.item",
        format!("10|A (1995)|01-Jan-1995||url{flags}\n11|B (1996)|01-Jan-1996||url{flags}\n")
            .as_bytes(),
    );
    let err = run(
        &format!(
            "{{source: movielens, path: {}, on_error: fail}}",
            data.display()
        ),
        &tmp.path().join("out"),
    )
    .expect_err("fails");
    let msg = err.to_string();
    assert!(
        msg.contains("u.data:2") && msg.contains("rating_out_of_scale"),
        "{msg}"
    );
}

#[test]
fn csv_layout_quoted_titles_crlf_half_stars_and_tags() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("ml");
    write(&data, "ratings.csv", b"userId,movieId,rating,timestamp\r\n1,1,4.5,964982703\r\n1,2,0.5,964982704\r\n2,1,5.5,964982705\r\n");
    write(&data, "movies.csv", b"movieId,title,genres\r\n1,\"American President, The (1995)\",Comedy|Drama|Romance\r\n2,\"Say \"\"Hi\"\" (2001)\",(no genres listed)\r\n");
    write(
        &data,
        "tags.csv",
        b"userId,movieId,tag,timestamp\n1,1,\"funny, smart\",1\n2,1,politics,2\n",
    );
    let out = tmp.path().join("out");
    let report = run(
        &format!("{{source: movielens, path: {}}}", data.display()),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["notes"]["layout"], "csv");
    assert_eq!(report["interactions"], 2);
    assert_eq!(reasons(&report)["rating_out_of_scale"], 1);
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("title").expect("t")[0].as_deref(),
        Some("American President, The (1995)")
    );
    assert_eq!(
        items.strings("title").expect("t")[1].as_deref(),
        Some("Say \"Hi\" (2001)")
    );
    assert_eq!(
        items.strings("text").expect("t")[0].as_deref(),
        Some("funny, smart politics")
    );
    assert!(items.string_lists("genres").expect("g")[1].is_empty());
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert!(!users.has("gender"), "the CSV layout has no demographics");
}

#[test]
fn a_share_of_invalid_rows_above_the_limit_fails_naming_the_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("log.csv");
    // Two of four rows invalid, and a duplicate, which is policy and does
    // not count.
    std::fs::write(
        &f,
        "user,item,ts\n\
         1,a,2024-01-01T00:00:00Z\n\
         2,b,yesterday\n\
         3,,2024-01-02T00:00:00Z\n\
         4,c,2024-01-03T00:00:00Z\n\
         4,c,2024-01-03T00:00:00Z\n",
    )
    .expect("write");
    let yaml = |limit: &str| {
        format!(
            "{{source: events, path: {}, drop_duplicate_rows: true{limit}, columns: {{user: user, item: item, timestamp: ts}}}}",
            f.display()
        )
    };
    // 2 of 5 is 40%: within the default 0.5, and exactly at 0.4.
    for limit in ["", ", max_rejected_fraction: 0.4"] {
        let report = run(&yaml(limit), &tmp.path().join("ok")).expect("within the limit");
        assert_eq!(report["rows_rejected"], 3);
    }
    let err = run(
        &yaml(", max_rejected_fraction: 0.3"),
        &tmp.path().join("over"),
    )
    .expect_err("over the limit")
    .to_string();
    for part in [
        "log.csv: 2 of 5 rows are invalid (40.0%), more than max_rejected_fraction 0.3",
        "bad_timestamp 1, missing_item 1",
        "first, line 3: bad_timestamp:",
        "row: 2,b,yesterday",
    ] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    let with = serde_yaml::from_str(&yaml(", max_rejected_fraction: 1.5")).expect("yaml");
    let bad = recpipe_ingest::IngestParams::from_yaml(&with)
        .expect_err("out of range")
        .to_string();
    assert!(bad.contains("between 0 and 1"), "{bad}");
}

#[test]
fn events_with_mapping_weights_and_sum_policy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("ev.csv");
    std::fs::write(
        &f,
        "uid,sku,when,kind,qty,price,name\n\
         u1,A,2020-01-01T00:00:00Z,view,1,2.0,Apple\n\
         u1,A,2020-01-02T00:00:00Z,purchase,2,2.0,Apple\n\
         u2,A,2020-01-02T00:00:00Z,wishlist,1,2.0,Apple\n\
         ,B,2020-01-02T00:00:00Z,view,1,2.0,Pear\n\
         u2,B,not a date,view,1,2.0,Pear\n\
         u2,B,2020-01-03T00:00:00Z,cart,-1,2.0,Pear\n\
         u2,B,1577923200,cart,3,1.5,\"Pear, green\"\n\
         u3,C,1577923200,cart,1e300,1e10,Plum\n\
         u3,C,99999999999999999999,cart,1,2.0,Plum\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    // Mostly bad rows: the limit on their share is off.
    let yaml = format!(
        "{{source: events, path: {}, max_rejected_fraction: 1, columns: {{user: uid, item: sku, timestamp: when, event: kind, quantity: qty, price: price, title: name}}}}",
        f.display()
    );
    let report = run(&yaml, &out).expect("ingest");
    let r = reasons(&report);
    assert_eq!(
        (
            r["unknown_event"],
            r["missing_user"],
            r["bad_timestamp"],
            r["non_positive_quantity"],
            r["bad_price"]
        ),
        (1, 1, 2, 1, 1),
        "a time past i64 seconds is no time, and an amount past f64 no amount"
    );
    assert_eq!(report["rows_read"], 9);
    assert_eq!(report["rows_kept"], 3);
    assert_eq!(report["rows_merged"], 1);
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    assert_eq!(
        inter.f32s("value").expect("v"),
        vec![9.0, 4.0],
        "view 1 + purchase 8; cart 4"
    );
    assert_eq!(inter.f64s("quantity").expect("q"), vec![3.0, 3.0]);
    assert_eq!(inter.f64s("amount").expect("a"), vec![6.0, 4.5]);
    assert_eq!(
        inter.strings("event").expect("e"),
        vec![Some("purchase".into()), Some("cart".into())]
    );
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("title").expect("t"),
        vec![Some("Apple".into()), Some("Pear, green".into())]
    );
}

#[test]
fn a_timestamp_format_reads_its_times_and_the_default_reads_the_others() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("ev.csv");
    std::fs::write(
        &f,
        "uid,sku,when\n\
         u1,A,31/12/2010 08:26\n\
         u1,B,1293784020\n\
         u1,C,2010-12-31T08:28:00Z\n\
         u1,D,12/31/2010 08:29\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let yaml = format!(
        "{{source: events, path: {}, timestamp_format: '%d/%m/%Y %H:%M', columns: {{user: uid, item: sku, timestamp: when}}}}",
        f.display()
    );
    let report = run(&yaml, &out).expect("ingest");
    assert_eq!(reasons(&report)["bad_timestamp"], 1);
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    let base = 1_293_783_960; // 2010-12-31 08:26 UTC
    assert_eq!(
        inter.i64s("ts").expect("ts"),
        vec![base, base + 60, base + 120]
    );
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.strings("detail").expect("detail"),
        vec![Some(
            "`when` = `12/31/2010 08:29` matches neither timestamp_format `%d/%m/%Y %H:%M` nor unix seconds or ISO-8601".into()
        )]
    );
}

#[test]
fn identical_rows_are_rejected_before_unknown_users_and_the_first_copy_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("ev.csv");
    // Lines 2 and 4 are the same bytes, so are 5, 6 and 8 (an unknown
    // user); 3 differs from 2 only in its quantity, 7 from 5 in its time.
    std::fs::write(
        &f,
        "uid,sku,when,qty\n\
         u1,A,2020-01-01T00:00:00Z,1\n\
         u1,A,2020-01-01T00:00:00Z,2\n\
         u1,A,2020-01-01T00:00:00Z,1\n\
         u9,B,2020-01-02T00:00:00Z,1\n\
         u9,B,2020-01-02T00:00:00Z,1\n\
         u9,B,2020-01-03T00:00:00Z,1\n\
         u9,B,2020-01-02T00:00:00Z,1\n",
    )
    .expect("write");
    let users = tmp.path().join("users.csv");
    std::fs::write(&users, "id\nu1\n").expect("write");
    let out = tmp.path().join("out");
    let yaml = format!(
        "{{source: events, path: {}, drop_duplicate_rows: true, duplicates: sum, users_file: {{path: {}, id: id}}, columns: {{user: uid, item: sku, timestamp: when, quantity: qty}}}}",
        f.display(),
        users.display()
    );
    let report = run(&yaml, &out).expect("ingest");
    let r = reasons(&report);
    assert_eq!((r["duplicate_row"], r["unknown_user"]), (3, 2));
    assert_eq!(
        (report["rows_kept"].clone(), report["rows_merged"].clone()),
        (2.into(), 1.into())
    );
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    let lines = rejects
        .values::<arrow::datatypes::UInt64Type>("line")
        .expect("line")
        .to_vec();
    let details = rejects.strings("detail").expect("detail");
    let dup: Vec<(u64, String)> = lines
        .iter()
        .zip(&details)
        .zip(rejects.strings("reason").expect("reason"))
        .filter(|(_, reason)| reason.as_deref() == Some("duplicate_row"))
        .map(|((l, d), _)| (*l, d.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        dup,
        vec![
            (4, "same as line 2".to_string()),
            (6, "same as line 5".to_string()),
            (8, "same as line 5".to_string())
        ]
    );
    assert!(lines.is_sorted(), "rejects in line order: {lines:?}");
    for name in ["file", "reason", "detail"] {
        assert!(
            matches!(
                rejects.column(name).expect("column").data_type(),
                arrow::datatypes::DataType::Dictionary(_, _)
            ),
            "{name} is a dictionary column"
        );
    }
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    assert_eq!(
        inter.f64s("quantity").expect("q"),
        vec![3.0],
        "lines 2 and 3 summed"
    );
}

#[test]
fn missing_files_empty_files_and_unknown_layouts_are_clear_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let err = run(
        &format!(
            "{{source: movielens, path: {}}}",
            tmp.path().join("nope").display()
        ),
        &out,
    )
    .expect_err("missing");
    assert!(err.to_string().contains("not found"), "{err}");
    let empty = tmp.path().join("empty");
    write(&empty, "notes.txt", b"hi");
    let err = run(
        &format!("{{source: movielens, path: {}}}", empty.display()),
        &out,
    )
    .expect_err("layout");
    assert!(
        err.to_string().contains("no MovieLens layout") && err.to_string().contains("notes.txt"),
        "{err}"
    );
    write(&empty, "ratings.dat", b"");
    let err = run(
        &format!("{{source: movielens, path: {}}}", empty.display()),
        &out,
    )
    .expect_err("empty");
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn generated_layouts_round_trip_through_the_parsers_and_are_deterministic() {
    use recpipe_ingest::movielens::Layout;
    use recpipe_ingest::params::SyntheticSpec;
    let tmp = tempfile::tempdir().expect("tmp");
    let spec = SyntheticSpec {
        seed: 3,
        users: 200,
        items: 120,
        ratings: 4000,
        segments: 3,
    };
    let data = recpipe_ingest::synthetic::generate(&spec);
    for layout in [Layout::Ml1m, Layout::Ml100k, Layout::Csv] {
        let dir = tmp.path().join(layout.name());
        recpipe_ingest::synthetic::write_layout(&data, layout, &dir).expect("write layout");
        let report = run(
            &format!("{{source: movielens, path: {}}}", dir.display()),
            &tmp.path().join(format!("o-{}", layout.name())),
        )
        .expect("ingest");
        assert_eq!(report["interactions"], 4000, "{layout:?}");
        assert_eq!(report["rows_rejected"], 0, "{layout:?}");
        assert_eq!(report["users"], 200);
        assert_eq!(report["items"], 120);
    }
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    run(
        "{source: synthetic, users: 200, items: 120, ratings: 4000, seed: 3, segments: 3}",
        &a,
    )
    .expect("a");
    run(
        "{source: synthetic, users: 200, items: 120, ratings: 4000, seed: 3, segments: 3}",
        &b,
    )
    .expect("b");
    for f in [
        "interactions.parquet",
        "users.parquet",
        "items.parquet",
        "rejects.parquet",
        "true_segments.parquet",
        "ingest_report.json",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).expect("a"),
            std::fs::read(b.join(f)).expect("b"),
            "{f} differs"
        );
    }
    // The in-memory path and the parsed ML-1M files agree on the interactions.
    let parsed = ParquetTable::read(&tmp.path().join("o-ml-1m/interactions.parquet")).expect("p");
    let direct = ParquetTable::read(&a.join("interactions.parquet")).expect("d");
    assert_eq!(
        parsed.u32s("item_idx").expect("i"),
        direct.u32s("item_idx").expect("i")
    );
    assert_eq!(
        parsed.f32s("value").expect("v"),
        direct.f32s("value").expect("v")
    );
}

#[test]
fn real_ml100k() {
    let Some(dir) = shared("ml-100k") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let report = run(
        &format!("{{source: movielens, path: {}}}", dir.display()),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["interactions"], 100_000);
    assert_eq!(report["users"], 943);
    assert_eq!(report["items"], 1682);
    assert_eq!(report["rows_rejected"], 0);
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("title").expect("t")[0].as_deref(),
        Some("Toy Story (1995)")
    );
    assert_eq!(
        items.string_lists("genres").expect("g")[0],
        vec!["Animation", "Children's", "Comedy"]
    );
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert_eq!(
        users.strings("occupation").expect("o")[0].as_deref(),
        Some("technician")
    );
    // u.data line 1: user 196 rated item 242 with 3 at 881250949.
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("i");
    let (u, i, v, t) = (
        inter.u32s("user_idx").expect("u"),
        inter.u32s("item_idx").expect("i"),
        inter.f32s("value").expect("v"),
        inter.i64s("ts").expect("t"),
    );
    assert!((0..u.len()).any(|k| u[k] == 195 && i[k] == 241 && v[k] == 3.0 && t[k] == 881_250_949));
}

#[test]
fn real_ml1m_users_and_movies() {
    let Some(dir) = shared("ml-1m") else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    // ratings.dat is not shipped: add a tiny one so the layout is complete.
    let data = tmp.path().join("ml-1m");
    for f in ["users.dat", "movies.dat"] {
        std::fs::copy(dir.join(f), data.join(f))
            .or_else(|_| {
                std::fs::create_dir_all(&data)?;
                std::fs::copy(dir.join(f), data.join(f))
            })
            .expect("copy");
    }
    write(
        &data,
        "ratings.dat",
        b"1::1193::5::978300760\n6040::3952::4::978300761\n",
    );
    let out = tmp.path().join("out");
    let report = run(
        &format!("{{source: movielens, path: {}}}", data.display()),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["users"], 6040);
    assert_eq!(report["items"], 3883);
    assert_eq!(report["catalog_rows_rejected"], 0);
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    let titles = items.strings("title").expect("t");
    assert!(
        titles.iter().flatten().any(|t| t.contains('é')),
        "latin-1 titles decoded"
    );
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert_eq!(users.strings("gender").expect("g")[0].as_deref(), Some("F"));
    assert_eq!(
        users.strings("zip").expect("z")[0].as_deref(),
        Some("48067")
    );
}

const RETAIL_YAML: &str = "{source: events, path: PATH, drop_duplicate_rows: true, columns: {user: CustomerID, item: StockCode, timestamp: InvoiceDate, quantity: Quantity, price: UnitPrice, title: Description, country: Country}}";

#[test]
fn real_online_retail_through_configuration_alone() {
    let Some(file) = shared("online-retail/online-retail.csv") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let report = run(
        &RETAIL_YAML.replace("PATH", &file.display().to_string()),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["rows_read"], 541_909);
    assert_eq!(report["raw_users"], 4372);
    let r = reasons(&report);
    assert_eq!(r["missing_user"], 135_080, "{r:?}");
    let read = report["rows_read"].as_u64().expect("n");
    assert_eq!(
        read,
        report["rows_kept"].as_u64().expect("n") + report["rows_rejected"].as_u64().expect("n")
    );
    // The usual cleaning (customer id, quantity > 0, price > 0, no exact duplicates)
    // leaves 392,692 purchase rows of 4,338 customers and 3,665 items.
    assert_eq!(report["rows_kept"], 392_692);
    assert_eq!(report["users"], 4338);
    assert_eq!(report["items"], 3665);
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    let ids = users.strings("user_id").expect("ids");
    assert_eq!(
        ids[0].as_deref(),
        Some("12346"),
        "ids written as 12346.0 are normalised"
    );
}

#[test]
fn events_from_parquet_name_the_row_of_a_bad_record() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "uid",
            Arc::new(StringArray::from(vec![Some("u1"), Some("u2"), None])),
        ),
        ("sku", Arc::new(StringArray::from(vec!["A", "B", "A"]))),
        (
            "when",
            Arc::new(Int64Array::from(vec![
                1_577_836_800,
                1_577_923_200,
                1_577_923_200,
            ])),
        ),
        (
            "kind",
            Arc::new(StringArray::from(vec!["view", "purchase", "view"])),
        ),
    ];
    write_parquet_log(&f, cols);
    let out = tmp.path().join("out");
    let report = run(&format!("{{source: events, path: {}, columns: {{user: uid, item: sku, timestamp: when, event: kind}}}}", f.display()), &out).expect("ingest");
    assert_eq!(report["rows_read"], 3);
    assert_eq!(report["interactions"], 2);
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.u64s_for_test(),
        vec![3],
        "the third row of the Parquet file"
    );
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    assert_eq!(inter.f32s("value").expect("v"), vec![1.0, 8.0]);
}

#[test]
fn a_parquet_row_is_named_by_its_row_number_whatever_its_text_holds() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    // Titles with a newline, a CR, quotes and commas: one row each still.
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "uid",
            Arc::new(StringArray::from(vec![
                Some("u1"),
                Some("u2"),
                Some("u3"),
                None,
            ])),
        ),
        ("sku", Arc::new(StringArray::from(vec!["A", "B", "C", "A"]))),
        (
            "when",
            Arc::new(Int64Array::from(vec![1_577_836_800, 1_577_923_200, 1, 2])),
        ),
        (
            "title",
            Arc::new(StringArray::from(vec![
                "Lamp\nwhite",
                "Mug\r\nblue",
                "12\" plate, large",
                "x",
            ])),
        ),
    ];
    write_parquet_log(&f, cols);
    let out = tmp.path().join("out");
    let report = run(&format!("{{source: events, path: {}, columns: {{user: uid, item: sku, timestamp: when, title: title}}}}", f.display()), &out).expect("ingest");
    assert_eq!(report["rows_read"], 4);
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.u64s_for_test(),
        vec![4],
        "the fourth row of the file"
    );
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    let titles: Vec<String> = items
        .strings("title")
        .expect("t")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(titles, ["Lamp\nwhite", "Mug\r\nblue", "12\" plate, large"]);
}

#[test]
fn duplicate_rows_of_a_parquet_log_are_whole_rows_as_in_its_csv_twin() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    let tmp = tempfile::tempdir().expect("tmp");
    // Rows 2 and 3 differ only in the invoice, which the mapping does not
    // name: not copies. Row 4 repeats row 1 whole: a copy.
    let invoice = ["536365", "536366", "536367", "536365"];
    let (user, item, ts) = (
        ["u1", "u2", "u2", "u1"],
        ["A", "B", "B", "A"],
        [10i64, 20, 20, 10],
    );
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("invoice", Arc::new(StringArray::from(invoice.to_vec()))),
        ("user", Arc::new(StringArray::from(user.to_vec()))),
        ("item", Arc::new(StringArray::from(item.to_vec()))),
        ("ts", Arc::new(Int64Array::from(ts.to_vec()))),
    ];
    let parquet = tmp.path().join("events.parquet");
    write_parquet_log(&parquet, cols);
    let csv = tmp.path().join("events.csv");
    let lines: Vec<String> = (0..4)
        .map(|r| format!("{},{},{},{}", invoice[r], user[r], item[r], ts[r]))
        .collect();
    std::fs::write(
        &csv,
        format!("invoice,user,item,ts\n{}\n", lines.join("\n")),
    )
    .expect("csv");
    for (file, copy_of, copy) in [(&parquet, 1, 4), (&csv, 2, 5)] {
        let out = tmp
            .path()
            .join(format!("out-{}", file.display().to_string().len()));
        let report = run(
            &format!(
                "{{source: events, path: {}, drop_duplicate_rows: true, columns: {{user: user, item: item, timestamp: ts}}}}",
                file.display()
            ),
            &out,
        )
        .expect("ingest");
        assert_eq!(report["rejected_by_reason"]["duplicate_row"], 1, "{file:?}");
        let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
        assert_eq!(rejects.u64s_for_test(), vec![copy], "{file:?}");
        let details = rejects.strings("detail").expect("detail");
        assert_eq!(details, vec![Some(format!("same as line {copy_of}"))]);
    }
}

#[test]
fn integer_and_decimal_columns_read_as_their_values() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Decimal128Array, Int8Array, Int32Array, Int64Array, UInt64Array};
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "user",
            Arc::new(Int32Array::from(vec![-7, 2_000_000_000, -7])),
        ),
        ("item", Arc::new(UInt64Array::from(vec![u64::MAX, 1, 1]))),
        (
            "ts",
            Arc::new(Int64Array::from(vec![-86_400, 1_600_000_000, 5])),
        ),
        (
            "qty",
            Arc::new(Int8Array::from(vec![Some(3), Some(-1), None])),
        ),
        (
            "price",
            Arc::new(
                Decimal128Array::from(vec![150, 199, 5])
                    .with_precision_and_scale(10, 2)
                    .expect("decimal"),
            ),
        ),
    ];
    write_parquet_log(&f, cols);
    let out = tmp.path().join("out");
    let report = run(
        &format!(
            "{{source: events, path: {}, max_rejected_fraction: 1, columns: {{user: user, item: item, timestamp: ts, quantity: qty, price: price}}}}",
            f.display()
        ),
        &out,
    )
    .expect("ingest");
    // The null quantity is not recorded: that row counts one.
    assert_eq!(report["interactions"], 2);
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert_eq!(
        users.strings("user_id").expect("ids"),
        vec![Some("-7".to_string())]
    );
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("item_id").expect("ids"),
        vec![Some("1".to_string()), Some(u64::MAX.to_string())]
    );
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    assert_eq!(inter.i64s("ts").expect("ts"), vec![-86_400, 5]);
    assert_eq!(inter.f64s("quantity").expect("quantity"), vec![3.0, 1.0]);
    assert_eq!(inter.f64s("amount").expect("amount"), vec![4.5, 0.05]);
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.strings("raw").expect("raw"),
        vec![Some("2000000000,1,1600000000,-1,1.99".to_string())]
    );
}

#[test]
fn a_parquet_column_of_a_type_polars_cannot_load_is_a_clear_error() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, FixedSizeListArray, Int32Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    // An embedding column (fixed-size list), which the mapping leaves out:
    // polars panicked on reading the file's schema.
    let embedding = FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Int32, true)),
        2,
        Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
        None,
    )
    .expect("list");
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user", Arc::new(StringArray::from(vec!["u1", "u2"]))),
        ("item", Arc::new(StringArray::from(vec!["a", "b"]))),
        ("ts", Arc::new(Int32Array::from(vec![1, 2]))),
        ("embedding", Arc::new(embedding)),
    ];
    write_parquet_log(&f, cols);
    let err = run(
        &format!(
            "{{source: events, path: {}, columns: {{user: user, item: item, timestamp: ts}}}}",
            f.display()
        ),
        &tmp.path().join("out"),
    )
    .expect_err("an unreadable column")
    .to_string();
    assert!(
        err.contains("column `embedding` is of type FixedSizeList"),
        "{err}"
    );
    assert!(err.contains("events.parquet"), "{err}");
}

#[test]
fn list_columns_are_compared_whole_and_a_column_with_no_text_is_named() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, BinaryArray, Int32Array, ListArray, StringArray};
    use arrow::datatypes::Int32Type;
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    // Rows 1 and 2 differ only in their tags; row 3 repeats row 1 whole.
    let tags = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        Some(vec![Some(1)]),
        Some(vec![Some(1), Some(2)]),
    ]);
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user", Arc::new(StringArray::from(vec!["u1", "u1", "u1"]))),
        ("item", Arc::new(StringArray::from(vec!["a", "a", "a"]))),
        ("ts", Arc::new(Int32Array::from(vec![1, 1, 1]))),
        ("tags", Arc::new(tags)),
    ];
    write_parquet_log(&f, cols);
    let yaml = |f: &Path| {
        format!(
            "{{source: events, path: {}, drop_duplicate_rows: true, columns: {{user: user, item: item, timestamp: ts}}}}",
            f.display()
        )
    };
    let report = run(&yaml(&f), &tmp.path().join("out")).expect("ingest");
    assert_eq!(report["rows_read"], 3);
    assert_eq!(reasons(&report)["duplicate_row"], 1, "{report}");
    let rejects = common::rejects_written(&tmp.path().join("out"));
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].0, 3, "row 3 repeats row 1");
    assert_eq!(
        rejects[0].2, "u1,a,1,1|2",
        "the list's values joined by `|`"
    );

    // Bytes that are not UTF-8 have no text form: named, with what to do.
    let g = tmp.path().join("binary.parquet");
    let blobs: Vec<&[u8]> = vec![b"ok", b"\xff\xfe"];
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user", Arc::new(StringArray::from(vec!["u1", "u2"]))),
        ("item", Arc::new(StringArray::from(vec!["a", "b"]))),
        ("ts", Arc::new(Int32Array::from(vec![1, 2]))),
        ("blob", Arc::new(BinaryArray::from(blobs))),
    ];
    write_parquet_log(&g, cols);
    let err = run(&yaml(&g), &tmp.path().join("out-binary"))
        .expect_err("bytes that are not text")
        .to_string();
    assert!(
        err.contains("column `blob` cannot be read as text"),
        "{err}"
    );
    assert!(
        err.contains("`drop_duplicate_rows` compares rows whole"),
        "{err}"
    );
}

#[test]
fn events_from_parquet_with_typed_columns_read_only_the_mapped_ones() {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, Date32Array, Float64Array, StringArray, TimestampMillisecondArray,
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("events.parquet");
    // Customer ids as floats (17850.0), a millisecond timestamp column and a
    // column the mapping does not name.
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "customer",
            Arc::new(Float64Array::from(vec![17850.0, 13047.0, 17850.0])),
        ),
        ("sku", Arc::new(StringArray::from(vec!["A", "B", "C"]))),
        (
            "at",
            Arc::new(TimestampMillisecondArray::from(vec![
                1_291_191_960_000,
                1_291_191_960_500,
                1_291_278_360_000,
            ])),
        ),
        (
            "at_utc",
            Arc::new(
                TimestampMillisecondArray::from(vec![
                    1_291_191_960_000,
                    1_291_191_960_500,
                    1_291_278_360_000,
                ])
                .with_timezone("UTC"),
            ),
        ),
        (
            "day",
            Arc::new(Date32Array::from(vec![14944, 14944, 14945])),
        ),
        (
            "note",
            Arc::new(StringArray::from(vec!["x,\"y\"", "z", "w"])),
        ),
    ];
    write_parquet_log(&f, cols);
    let out = tmp.path().join("out");
    let report = run(
        &format!(
            "{{source: events, path: {}, columns: {{user: customer, item: sku, timestamp: at}}}}",
            f.display()
        ),
        &out,
    )
    .expect("ingest");
    assert_eq!(report["rows_read"], 3);
    assert_eq!(report["interactions"], 3);
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert_eq!(
        users.strings("user_id").expect("ids"),
        vec![Some("13047".to_string()), Some("17850".to_string())]
    );
    let sorted_ts = |out: &Path| {
        let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
        let mut ts = inter.i64s("ts").expect("ts");
        ts.sort_unstable();
        ts
    };
    let instants = vec![1_291_191_960, 1_291_191_960, 1_291_278_360];
    assert_eq!(sorted_ts(&out), instants);
    // The same instants with a time zone; dates are midnights.
    let midnights = vec![14944 * 86_400, 14944 * 86_400, 14945 * 86_400];
    for (column, expected) in [("at_utc", &instants), ("day", &midnights)] {
        let out = tmp.path().join(column);
        run(
            &format!(
                "{{source: events, path: {}, on_error: fail, columns: {{user: customer, item: sku, timestamp: {column}}}}}",
                f.display()
            ),
            &out,
        )
        .expect(column);
        assert_eq!(&sorted_ts(&out), expected, "{column}");
    }
    // A mapped column the file lacks is named, with the columns it has.
    let err = run(
        &format!(
            "{{source: events, path: {}, columns: {{user: customer, item: sku, timestamp: when}}}}",
            f.display()
        ),
        &tmp.path().join("out2"),
    )
    .expect_err("missing column");
    let msg = err.to_string();
    assert!(msg.contains("`when`") && msg.contains("note"), "{msg}");
}

#[test]
fn k_core_filtering_repeats_until_every_user_and_item_has_enough() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("ev.csv");
    // Round 1: c has one interaction, Z one user (b). Round 2: b, left with
    // X only, has one. Then a, d, e x X, Y remain: every count is 3.
    std::fs::write(
        &f,
        "user,item,ts\na,X,1\na,Y,2\nb,X,3\nb,Z,4\nc,Y,5\nd,X,6\nd,Y,7\ne,X,8\ne,Y,9\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let yaml = format!(
        "{{source: events, path: {}, min_user_interactions: 2, min_item_interactions: 2, columns: {{user: user, item: item, timestamp: ts}}}}",
        f.display()
    );
    let report = run(&yaml, &out).expect("ingest");
    let r = reasons(&report);
    assert_eq!((r["k_core_user"], r["k_core_item"]), (2, 1), "{r:?}");
    assert_eq!(
        (
            report["rows_kept"].clone(),
            report["users"].clone(),
            report["items"].clone()
        ),
        (6.into(), 3.into(), 2.into())
    );
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    assert_eq!(
        users.strings("user_id").expect("ids"),
        vec![Some("a".into()), Some("d".into()), Some("e".into())]
    );
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.strings("detail").expect("detail"),
        vec![
            Some("user has 1 interactions, fewer than 2".into()),
            Some("item has 1 interactions, fewer than 2".into()),
            Some("user has 1 interactions, fewer than 2".into()),
        ],
        "lines 4 (b, X: in round 2), 5 (b, Z), 6 (c, Y)"
    );
}

#[test]
fn every_output_is_the_same_bytes_whatever_the_thread_count() {
    // Enough users that the cleaning splits them into parts, with every
    // kind of late reject: identical rows, unknown users, duplicate pairs
    // summed, k-core.
    let tmp = tempfile::tempdir().expect("tmp");
    let f = tmp.path().join("ev.csv");
    let mut csv = String::from("user,item,ts,qty\n");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..4000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (user, item, ts) = (state % 300, (state >> 20) % 60, (state >> 40) % 5);
        csv.push_str(&format!("u{user},i{item},{ts},{}\n", 1 + (state >> 50) % 2));
    }
    std::fs::write(&f, csv).expect("write");
    let users = tmp.path().join("users.csv");
    let known: String = (0..290).map(|u| format!("u{u}\n")).collect();
    std::fs::write(&users, format!("id\n{known}")).expect("write");
    let yaml = format!(
        "{{source: events, path: {}, drop_duplicate_rows: true, duplicates: sum, min_user_interactions: 8, min_item_interactions: 3, users_file: {{path: {}, id: id}}, columns: {{user: user, item: item, timestamp: ts, quantity: qty}}}}",
        f.display(),
        users.display()
    );
    let files = [
        "interactions.parquet",
        "users.parquet",
        "items.parquet",
        "rejects.parquet",
        "ingest_report.json",
    ];
    let outputs: Vec<Vec<Vec<u8>>> = [1, 2, 5]
        .iter()
        .map(|&threads| {
            let out = tmp.path().join(format!("out{threads}"));
            let report = run_on(threads, &yaml, &out).expect("ingest");
            let r = reasons(&report);
            for reason in ["duplicate_row", "unknown_user", "k_core_user"] {
                assert!(r.get(reason).is_some_and(|&n| n > 0), "{reason}: {r:?}");
            }
            assert!(report["rows_merged"].as_u64().expect("n") > 0);
            files
                .iter()
                .map(|name| std::fs::read(out.join(name)).expect("read"))
                .collect()
        })
        .collect();
    for (name, i) in files.iter().zip(0..) {
        assert!(
            outputs[1][i] == outputs[0][i] && outputs[2][i] == outputs[0][i],
            "{name} differs"
        );
    }
}

#[test]
fn parquet_items_and_users_files_give_the_tables_of_their_csv_twins() {
    use std::sync::Arc;

    use arrow::array::{
        ArrayRef, AsArray, Float64Array, Int64Array, ListBuilder, StringArray, StringBuilder,
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "events.csv",
        b"uid,sku,when\n17850,A,1577836800\n13047,B,1577923200\n17850,B,1577923300\n",
    );
    // The same tables twice: CSV, and Parquet with typed ids, a title over
    // two lines, genres as a list, and a column the mapping leaves out.
    write(
        dir,
        "items.csv",
        b"sku,name,desc,tags,price\nA,\"Lamp\nwhite\",\"a lamp, white\",Lighting|Home,2.5\nB,Mug,a mug,,1\n",
    );
    write(
        dir,
        "users.csv",
        b"id,country\n17850,United Kingdom\n13047,France\n",
    );
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("Lighting");
    tags.values().append_value("Home");
    tags.append(true);
    tags.append(true);
    let items: Vec<(&str, ArrayRef)> = vec![
        ("sku", Arc::new(StringArray::from(vec!["A", "B"]))),
        (
            "name",
            Arc::new(StringArray::from(vec!["Lamp\nwhite", "Mug"])),
        ),
        (
            "desc",
            Arc::new(StringArray::from(vec!["a lamp, white", "a mug"])),
        ),
        ("tags", Arc::new(tags.finish())),
        ("price", Arc::new(Float64Array::from(vec![2.5, 1.0]))),
    ];
    write_parquet_log(&dir.join("items.parquet"), items);
    let users: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![17850, 13047]))),
        (
            "country",
            Arc::new(StringArray::from(vec!["United Kingdom", "France"])),
        ),
    ];
    write_parquet_log(&dir.join("users.parquet"), users);
    let yaml = |ext: &str, item_id: &str| {
        format!(
            "{{source: events, path: {events}, columns: {{user: uid, item: sku, timestamp: when}}, \
             items_file: {{path: {items}, id: {item_id}, title: name, text: desc, genres: tags}}, \
             users_file: {{path: {users}, id: id, country: country}}}}",
            events = dir.join("events.csv").display(),
            items = dir.join(format!("items.{ext}")).display(),
            users = dir.join(format!("users.{ext}")).display(),
        )
    };
    let (csv, parquet) = (dir.join("csv"), dir.join("parquet"));
    run(&yaml("csv", "sku"), &csv).expect("csv side files");
    let report = run(&yaml("parquet", "sku"), &parquet).expect("parquet side files");
    assert_eq!(report["rows_kept"], 3);
    for table in ["items.parquet", "users.parquet", "interactions.parquet"] {
        assert_eq!(
            std::fs::read(csv.join(table)).expect("csv"),
            std::fs::read(parquet.join(table)).expect("parquet"),
            "{table}"
        );
    }
    let items = ParquetTable::read(&parquet.join("items.parquet")).expect("items");
    let genres = items.column("genres").expect("genres").as_list::<i32>();
    let first = genres.value(0);
    let first: Vec<&str> = first.as_string::<i32>().iter().flatten().collect();
    assert_eq!(first, ["Lighting", "Home"], "a list reads as genres");
    let users = ParquetTable::read(&parquet.join("users.parquet")).expect("users");
    assert_eq!(
        users.strings("country").expect("country"),
        [
            Some("France".to_string()),
            Some("United Kingdom".to_string())
        ],
        "users in the order of their ids, 13047 then 17850"
    );
    // A column the Parquet file does not have is named with those it has.
    let err = run(&yaml("parquet", "item_id"), &dir.join("bad"))
        .expect_err("no such column")
        .to_string();
    assert!(err.contains("item_id") && err.contains("sku"), "{err}");
}

#[test]
fn a_compressed_log_gives_the_tables_of_the_plain_one() {
    use std::io::Write;
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let text = b"uid,sku,when,qty\n17850.0,A,2010-12-01 08:26:00,6\n,B,2010-12-01 08:27:00,2\n13047.0,B,2010-12-01 08:28:00,-1\n13047.0,A,2010-12-01 08:29:00,3\n";
    write(dir, "log.csv", text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text).expect("gzip");
    write(dir, "log.csv.gz", &gz.finish().expect("gzip"));
    write(
        dir,
        "log.csv.zst",
        &zstd::encode_all(&text[..], 3).expect("zstd"),
    );
    let yaml = |name: &str| {
        format!(
            "{{source: events, path: {}, max_rejected_fraction: 1, columns: {{user: uid, item: sku, timestamp: when, quantity: qty}}}}",
            dir.join(name).display()
        )
    };
    let plain = dir.join("plain");
    run(&yaml("log.csv"), &plain).expect("plain");
    for name in ["log.csv.gz", "log.csv.zst"] {
        let out = dir.join(name.replace('.', "-"));
        let report = run(&yaml(name), &out).expect(name);
        assert_eq!(report["rows_read"], 4, "{name}");
        for table in ["interactions.parquet", "users.parquet", "items.parquet"] {
            assert_eq!(
                std::fs::read(plain.join(table)).expect("plain"),
                std::fs::read(out.join(table)).expect(name),
                "{name}: {table}"
            );
        }
        assert_eq!(
            common::rejects_written(&out),
            common::rejects_written(&plain),
            "{name}: the same lines, reasons and raw text"
        );
    }
}

#[test]
fn times_in_milliseconds_read_as_the_seconds_they_fall_in() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampSecondArray};
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let seconds = [1_433_221_332i64, 1_433_224_214, 1_433_221_999];
    let millis = [1_433_221_332_117i64, 1_433_224_214_164, 1_433_221_999_827];
    let (users, items) = (["u1", "u2", "u1"], ["a", "b", "b"]);
    let csv = |times: &[i64]| {
        let mut text = String::from("user,item,ts\n");
        for ((u, i), t) in users.iter().zip(items).zip(times) {
            text.push_str(&format!("{u},{i},{t}\n"));
        }
        text
    };
    write(dir, "seconds.csv", csv(&seconds).as_bytes());
    write(dir, "millis.csv", csv(&millis).as_bytes());
    let parquet = |name: &str, ts: ArrayRef| {
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("user", Arc::new(StringArray::from(users.to_vec()))),
            ("item", Arc::new(StringArray::from(items.to_vec()))),
            ("ts", ts),
        ];
        write_parquet_log(&dir.join(name), cols);
    };
    parquet("int.parquet", Arc::new(Int64Array::from(millis.to_vec())));
    let floats: Vec<f64> = millis.iter().map(|&t| t as f64).collect();
    parquet("float.parquet", Arc::new(Float64Array::from(floats)));
    // A typed time carries its own unit: `timestamp_unit` leaves it be.
    parquet(
        "typed.parquet",
        Arc::new(TimestampSecondArray::from(seconds.to_vec())),
    );
    let yaml = |name: &str, unit: &str| {
        format!(
            "{{source: events, path: {}, {unit} columns: {{user: user, item: item, timestamp: ts}}}}",
            dir.join(name).display()
        )
    };
    let expected = dir.join("expected");
    run(&yaml("seconds.csv", ""), &expected).expect("seconds");
    let interactions = |out: &Path| std::fs::read(out.join("interactions.parquet")).expect("read");
    for name in [
        "millis.csv",
        "int.parquet",
        "float.parquet",
        "typed.parquet",
    ] {
        let out = dir.join(name.replace('.', "-"));
        run(&yaml(name, "timestamp_unit: ms,"), &out).expect(name);
        assert_eq!(interactions(&out), interactions(&expected), "{name}");
    }
    // Without the unit, the milliseconds read as seconds: far in the future.
    let out = dir.join("unitless");
    let report = run(&yaml("millis.csv", ""), &out).expect("unitless");
    assert!(report["max_ts"].as_i64().expect("ts") > 100_000_000_000);
    let both = yaml(
        "millis.csv",
        "timestamp_unit: ms, timestamp_format: \"%s\",",
    );
    let err = recpipe_ingest::IngestParams::from_yaml(&serde_yaml::from_str(&both).expect("yaml"))
        .expect_err("a unit and a format");
    assert!(err.to_string().contains("set one"), "{err}");
}

#[test]
fn a_log_without_a_header_reads_its_first_line_as_a_row() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "UserBehavior.csv",
        b"1,2268318,2520377,pv,1511544070\n1,2333346,2520771,fav,1511561733\n2,4365585,2520377,buy,1511596146\n",
    );
    let yaml = |header: &str| {
        format!(
            "{{source: events, path: {}, {header} max_rejected_fraction: 1, weights: {{pv: 1, buy: 8}}, columns: {{user: column_1, item: column_2, timestamp: column_5, event: column_4}}}}",
            dir.join("UserBehavior.csv").display()
        )
    };
    let out = dir.join("out");
    let report = run(&yaml("header: false,"), &out).expect("ingest");
    assert_eq!(report["rows_read"], 3, "the first line is a row");
    assert_eq!(report["interactions"], 2);
    let rejects = common::rejects_written(&out);
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        (rejects[0].0, rejects[0].1.as_str()),
        (2, "unknown_event"),
        "lines counted from the first"
    );
    // With a header expected, the first line's values are taken for names.
    let err = run(&yaml(""), &dir.join("named"))
        .expect_err("no such columns")
        .to_string();
    assert!(err.contains("no column `column_1`"), "{err}");
}

#[test]
fn a_rating_column_gives_each_row_its_rating_and_the_last_rating_wins() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // u1 rates a twice (the later, 2.0, stands); 9 is off the scale.
    write(
        dir,
        "ratings.csv",
        b"user,item,stars,ts\nu1,a,5.0,100\nu2,a,4,101\nu1,a,2.0,200\nu2,b,9,102\nu2,c,x,103\n",
    );
    let yaml = |extra: &str| {
        format!(
            "{{source: events, path: {}, max_rejected_fraction: 1, {extra} columns: {{user: user, item: item, timestamp: ts, rating: stars}}}}",
            dir.join("ratings.csv").display()
        )
    };
    let out = dir.join("out");
    let report = run(&yaml(""), &out).expect("ingest");
    let r = reasons(&report);
    assert_eq!(r["rating_out_of_scale"], 1, "{r:?}");
    assert_eq!(r["bad_rating"], 1);
    assert_eq!(r["duplicate_pair"], 1, "an earlier rating of the same pair");
    let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
    assert_eq!(inter.f32s("value").expect("value"), vec![2.0, 4.0]);
    let events = inter.column("event").expect("event");
    assert_eq!(events.null_count(), 2, "ratings have no event type");
    // A wider scale keeps the 9.
    let report = run(&yaml("rating_scale: [0, 10],"), &dir.join("wide")).expect("wide");
    assert_eq!(report["interactions"], 3);
    // A rating and event weights are two values for one row.
    let both = yaml("event_type: view,");
    let err = recpipe_ingest::IngestParams::from_yaml(&serde_yaml::from_str(&both).expect("yaml"))
        .expect_err("a rating and an event type");
    assert!(err.to_string().contains("do not apply"), "{err}");
}

#[test]
fn decimal_commas_read_as_the_points_of_the_same_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "points.csv",
        b"user,item,ts,qty,price\nu1,a,1,2,2.55\nu2,b,2,0.5,10\nu1,b,3,1,0.85\n",
    );
    // A European spreadsheet's export: `;` between fields, `,` for decimals.
    write(
        dir,
        "commas.csv",
        b"user;item;ts;qty;price\nu1;a;1;2;2,55\nu2;b;2;0,5;10\nu1;b;3;1;\"0,85\"\n",
    );
    let yaml = |name: &str, extra: &str| {
        format!(
            "{{source: events, path: {}, {extra} columns: {{user: user, item: item, timestamp: ts, quantity: qty, price: price}}}}",
            dir.join(name).display()
        )
    };
    let points = dir.join("points");
    run(&yaml("points.csv", ""), &points).expect("points");
    let commas = dir.join("commas");
    run(
        &yaml("commas.csv", "delimiter: \";\", decimal: \",\","),
        &commas,
    )
    .expect("commas");
    assert_eq!(
        std::fs::read(points.join("interactions.parquet")).expect("points"),
        std::fs::read(commas.join("interactions.parquet")).expect("commas")
    );
    // Without `decimal`, `2,55` is no number: every row is rejected.
    let err = run(
        &yaml("commas.csv", "delimiter: \";\", max_rejected_fraction: 1,"),
        &dir.join("unset"),
    )
    .expect_err("no row kept")
    .to_string();
    assert!(err.contains("2 bad_price, 1 bad_quantity"), "{err}");
    let report = run(
        &yaml("commas.csv", "delimiter: \";\", on_error: fail,"),
        &dir.join("fail"),
    );
    let err = report.expect_err("the first bad row").to_string();
    assert!(err.contains("set `decimal: \",\"`"), "{err}");
}

#[test]
fn thousands_separators_read_as_the_plain_numbers_of_the_same_log() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "plain.csv",
        b"user,item,ts,qty,price\nu1,a,1,1200,2.55\nu2,b,2,3,1234567.5\nu1,b,3,1,0.85\n",
    );
    // A US report with grouped digits (quoted, as they hold the delimiter),
    // and a European one with `.` between groups and `,` for decimals.
    write(
        dir,
        "grouped.csv",
        b"user,item,ts,qty,price\nu1,a,1,\"1,200\",2.55\nu2,b,2,3,\"1,234,567.5\"\nu1,b,3,1,0.85\n",
    );
    write(
        dir,
        "european.csv",
        b"user;item;ts;qty;price\nu1;a;1;1.200;2,55\nu2;b;2;3;1.234.567,5\nu1;b;3;1;0,85\n",
    );
    let yaml = |name: &str, extra: &str| {
        format!(
            "{{source: events, path: {}, {extra} columns: {{user: user, item: item, timestamp: ts, quantity: qty, price: price}}}}",
            dir.join(name).display()
        )
    };
    let plain = dir.join("plain");
    run(&yaml("plain.csv", ""), &plain).expect("plain");
    let expected = std::fs::read(plain.join("interactions.parquet")).expect("plain");
    for (name, extra) in [
        ("grouped.csv", "thousands: \",\","),
        (
            "european.csv",
            "delimiter: \";\", decimal: \",\", thousands: \".\",",
        ),
    ] {
        let out = dir.join(name.replace('.', "_"));
        run(&yaml(name, extra), &out).expect(name);
        let got = std::fs::read(out.join("interactions.parquet")).expect(name);
        assert!(got == expected, "{name} gives other interactions");
    }
    // Unset, the grouped numbers are rejected with a hint naming the setting.
    let err = run(&yaml("grouped.csv", "on_error: fail,"), &dir.join("unset"))
        .expect_err("the first bad row")
        .to_string();
    assert!(err.contains("`1,200` is not a number"), "{err}");
    assert!(err.contains("`thousands: \",\"`"), "{err}");
    // A separator that is the decimal mark, or no separator, is refused.
    for extra in [
        "thousands: \".\",",
        "decimal: \",\", thousands: \",\",",
        "thousands: x,",
    ] {
        let text = yaml("plain.csv", extra);
        let err =
            recpipe_ingest::IngestParams::from_yaml(&serde_yaml::from_str(&text).expect("yaml"))
                .expect_err(extra);
        assert!(err.to_string().contains("`thousands`"), "{err}");
    }
}

#[test]
fn side_files_without_a_header_give_the_tables_of_their_named_twins() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "events.csv",
        b"uid,sku,when\n17850,A,1577836800\n13047,B,1577923200\n17850,B,1577923300\n",
    );
    write(
        dir,
        "items.csv",
        b"sku,name,tags\nA,Lamp,Lighting|Home\nB,Mug,\n",
    );
    write(
        dir,
        "users.csv",
        b"id,country\n17850,United Kingdom\n13047,France\n",
    );
    // Exports with no header line: their first row is data.
    write(dir, "items_bare.csv", b"A,Lamp,Lighting|Home\nB,Mug,\n");
    write(
        dir,
        "users_bare.csv",
        b"17850,United Kingdom\n13047,France\n",
    );
    let yaml = |items: &str, users: &str| {
        format!(
            "{{source: events, path: {}, columns: {{user: uid, item: sku, timestamp: when}}, \
             items_file: {{{items}}}, users_file: {{{users}}}}}",
            dir.join("events.csv").display(),
        )
    };
    let file = |name: &str| dir.join(name).display().to_string();
    let named = dir.join("named");
    let items = format!(
        "path: {}, id: sku, title: name, genres: tags",
        file("items.csv")
    );
    let users = format!("path: {}, id: id, country: country", file("users.csv"));
    run(&yaml(&items, &users), &named).expect("named");
    let bare = dir.join("bare");
    let bare_items = |header: &str| {
        format!(
            "path: {}, {header} id: column_1, title: column_2, genres: column_3",
            file("items_bare.csv")
        )
    };
    let bare_users = format!(
        "path: {}, header: false, id: column_1, country: column_2",
        file("users_bare.csv")
    );
    run(&yaml(&bare_items("header: false,"), &bare_users), &bare).expect("bare");
    for table in ["items.parquet", "users.parquet", "interactions.parquet"] {
        let a = ParquetTable::read(&named.join(table)).expect("named");
        let b = ParquetTable::read(&bare.join(table)).expect("bare");
        assert!(a.num_rows() >= 2, "{table}");
        assert!(a.batch() == b.batch(), "{table} differs");
    }
    // With a header assumed, the first row is taken for names: no `column_1`.
    let err = run(&yaml(&bare_items(""), &bare_users), &dir.join("assumed"))
        .expect_err("no column_1")
        .to_string();
    assert!(err.contains("column_1"), "{err}");
}

#[test]
fn numbers_of_a_parquet_log_read_as_the_text_of_its_csv_twin() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    let tmp = tempfile::tempdir().expect("tmp");
    // Floats and integers a parse must read as their text reads: NaN,
    // infinities, nulls, -0, the shortest texts of 0.1 + 0.2 and of the
    // smallest subnormal, and an integer past 2^53.
    let floats = [
        Some(2.0),
        Some(f64::NAN),
        None,
        Some(f64::INFINITY),
        Some(-0.0),
        Some(1e20),
        Some(0.1 + 0.2),
        Some(5e-324),
        Some(2.55),
        Some(-3.5),
        Some(f64::NEG_INFINITY),
        Some(12_345_678_901_234_567.0),
    ];
    let ints = [
        Some(1),
        Some((1i64 << 53) + 1),
        Some(-2),
        None,
        Some(0),
        Some(i64::MAX),
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        Some(7),
        Some(8),
    ];
    let prices = [
        1.5, 2.0, 0.25, 1.0, 1.0, 1e-7, 7.0, 3.0, 2.55, 1.0, 1.0, 0.1,
    ];
    let n = floats.len();
    let users: Vec<String> = (0..n).map(|r| format!("u{}", r % 4)).collect();
    let items: Vec<String> = (0..n).map(|r| format!("i{}", r % 5)).collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("user", Arc::new(StringArray::from(users.clone()))),
        ("item", Arc::new(StringArray::from(items.clone()))),
        ("ts", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        ("qf", Arc::new(Float64Array::from(floats.to_vec()))),
        ("qi", Arc::new(Int64Array::from(ints.to_vec()))),
        ("price", Arc::new(Float64Array::from(prices.to_vec()))),
    ];
    let parquet = tmp.path().join("events.parquet");
    write_parquet_log(&parquet, cols);
    let text = |v: Option<String>| v.unwrap_or_default();
    let lines: Vec<String> = (0..n)
        .map(|r| {
            let (qf, qi) = (
                text(floats[r].map(|v| v.to_string())),
                text(ints[r].map(|v| v.to_string())),
            );
            format!("{},{},{r},{qf},{qi},{}", users[r], items[r], prices[r])
        })
        .collect();
    let csv = tmp.path().join("events.csv");
    let body = format!("user,item,ts,qf,qi,price\n{}\n", lines.join("\n"));
    std::fs::write(&csv, body).expect("csv");
    for quantity in ["qf", "qi"] {
        let ingest = |file: &Path, name: &str| {
            let out = tmp.path().join(format!("{quantity}-{name}"));
            run(
                &format!(
                    "{{source: events, path: {}, max_rejected_fraction: 1, columns: {{user: user, item: item, timestamp: ts, quantity: {quantity}, price: price}}}}",
                    file.display()
                ),
                &out,
            )
            .expect("ingest");
            out
        };
        let (from_parquet, from_csv) = (ingest(&parquet, "parquet"), ingest(&csv, "csv"));
        // The same interactions, to the byte, and the same rows rejected
        // for the same reasons with the same details.
        let bytes = |dir: &Path| std::fs::read(dir.join("interactions.parquet")).expect("read");
        assert!(bytes(&from_parquet) == bytes(&from_csv), "{quantity}");
        let rejects = |dir: &Path| {
            let t = ParquetTable::read(&dir.join("rejects.parquet")).expect("rejects");
            (
                t.u64s_for_test(),
                t.strings("reason").expect("reason"),
                t.strings("detail").expect("detail"),
            )
        };
        let (mut parquet_rejects, csv_rejects) = (rejects(&from_parquet), rejects(&from_csv));
        // (A Parquet row is named by its number, a CSV line counts the header.)
        parquet_rejects.0.iter_mut().for_each(|line| *line += 1);
        assert_eq!(parquet_rejects, csv_rejects, "{quantity}");
        // (A null or empty quantity is not recorded, and not rejected.)
        assert!(
            parquet_rejects.0.len() >= 2,
            "{quantity}: {parquet_rejects:?}"
        );
    }
}

#[test]
fn an_items_file_with_a_text_column_gathers_the_texts_of_an_ids_rows() {
    // A live stream's comments, a row each: an item's text gathers each
    // distinct one in line order; its title and genres are its first
    // non-empty ones. A row without an id is still rejected.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "events.csv",
        b"uid,sku,when\n1,A,1577836800\n2,B,1577923200\n",
    );
    write(
        dir,
        "comments.csv",
        "sku,name,cat,comment\nA,,,so cheap!\nB,Mug,Kitchen,\nA,Lamp,Home|Light,\"wow, bright\"\n\
         A,Lamp 2,Garden,so cheap!\n,Nameless,,orphan\nA,,,\"ask \"\"price\"\"\nagain\"\n"
            .as_bytes(),
    );
    let out = dir.join("out");
    let yaml = format!(
        "{{source: events, path: {}, items_file: {{path: {}, id: sku, title: name, genres: cat, text: comment}}, columns: {{user: uid, item: sku, timestamp: when}}}}",
        dir.join("events.csv").display(),
        dir.join("comments.csv").display()
    );
    run(&yaml, &out).expect("ingest");
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("item_id").expect("ids"),
        [Some("A".to_string()), Some("B".to_string())]
    );
    assert_eq!(
        items.strings("title").expect("title"),
        [Some("Lamp".to_string()), Some("Mug".to_string())]
    );
    assert_eq!(
        items.strings("text").expect("text"),
        [
            Some("so cheap!\nwow, bright\nask \"price\"\nagain".to_string()),
            None
        ]
    );
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(rejects.u64s_for_test(), [6], "only the row without an id");
}

#[test]
fn several_text_columns_are_joined_in_a_log_its_parquet_twin_and_an_items_file() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    // REES46's category path and brand, either of which may be empty: a
    // row's text is the non-empty ones joined by a space, in the order
    // the list names them.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write(
        dir,
        "events.csv",
        b"user_id,product_id,event_time,category_code,brand\n\
          1,A,1577836800,electronics.smartphone,samsung\n\
          2,B,1577923200,,lg\n\
          2,C,1577923300,apparel.shoes,\n\
          3,D,1577923400,,\n",
    );
    let text = |v: [&str; 4]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    write_parquet_log(
        &dir.join("events.parquet"),
        vec![
            (
                "user_id",
                Arc::new(Int64Array::from(vec![1, 2, 2, 3])) as ArrayRef,
            ),
            ("product_id", text(["A", "B", "C", "D"])),
            (
                "event_time",
                Arc::new(Int64Array::from(vec![
                    1577836800, 1577923200, 1577923300, 1577923400,
                ])),
            ),
            (
                "category_code",
                text(["electronics.smartphone", "", "apparel.shoes", ""]),
            ),
            ("brand", text(["samsung", "lg", "", ""])),
        ],
    );
    let want = [
        Some("electronics.smartphone samsung".to_string()),
        Some("lg".to_string()),
        Some("apparel.shoes".to_string()),
        None,
    ];
    for log in ["events.csv", "events.parquet"] {
        let out = dir.join(format!("out-{log}"));
        let yaml = format!(
            "{{source: events, path: {}, event_type: view, columns: {{user: user_id, item: product_id, timestamp: event_time, text: [category_code, brand]}}}}",
            dir.join(log).display()
        );
        run(&yaml, &out).expect("ingest");
        let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
        assert_eq!(items.strings("text").expect("text"), want, "{log}");
    }
    // An items file's text columns join the same way, and its rows' texts
    // are then gathered per item as one column's are.
    write(
        dir,
        "items.csv",
        b"sku,desc,comment\nA,a phone,so fast\nB,,\"wow, a tv\"\nA,a phone,so fast\nC,shoes,\n",
    );
    let out = dir.join("out-items");
    let yaml = format!(
        "{{source: events, path: {}, event_type: view, items_file: {{path: {}, id: sku, text: [desc, comment]}}, columns: {{user: user_id, item: product_id, timestamp: event_time}}}}",
        dir.join("events.csv").display(),
        dir.join("items.csv").display()
    );
    run(&yaml, &out).expect("ingest");
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("text").expect("text"),
        [
            Some("a phone so fast".to_string()),
            Some("wow, a tv".to_string()),
            Some("shoes".to_string()),
        ],
        "`D`, which the items file lacks, is rejected as unknown"
    );
    // A column the list names that the file lacks is named in the error.
    let yaml = format!(
        "{{source: events, path: {}, event_type: view, columns: {{user: user_id, item: product_id, timestamp: event_time, text: [category_code, brnd]}}}}",
        dir.join("events.csv").display()
    );
    let err = run(&yaml, &dir.join("out-bad")).expect_err("no such column");
    assert!(err.to_string().contains("`brnd`"), "{err}");
}

#[test]
fn a_price_alone_makes_an_amount_and_amount_events_keep_it_to_purchases() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // REES46: a price on every row, views and carts included, and no
    // quantity; user 1 views, carts and buys item A, then views B.
    write(
        dir,
        "events.csv",
        b"user,item,ts,type,price\n1,A,1577836800,view,10.5\n1,A,1577836801,cart,10.5\n\
          1,A,1577836802,purchase,10.5\n1,B,1577836803,view,99\n",
    );
    let amounts = |extra: &str| {
        let out = dir.join(format!("out{}", extra.len()));
        let yaml = format!(
            "{{source: events, path: {}, {extra} columns: {{user: user, item: item, timestamp: ts, event: type, price: price}}}}",
            dir.join("events.csv").display()
        );
        run(&yaml, &out).expect("ingest");
        let inter = ParquetTable::read(&out.join("interactions.parquet")).expect("inter");
        assert!(!inter.has("quantity"), "no quantity column, none written");
        inter.f64s("amount").expect("amount")
    };
    // Every row's price, one unit each, summed per (user, item).
    assert_eq!(amounts(""), [31.5, 99.0]);
    assert_eq!(amounts("amount_events: purchase,"), [10.5, 0.0]);
    assert_eq!(amounts("amount_events: [purchase, cart],"), [21.0, 0.0]);
}

#[test]
fn a_time_range_or_the_last_days_keep_their_rows_and_reject_the_rest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // One row a day from 2019-10-01 to 2019-10-10, users and items apart.
    let mut log = String::from("user,item,ts\n");
    for day in 0..10 {
        log.push_str(&format!("u{day},i{day},2019-10-{:02}T12:00:00Z\n", day + 1));
    }
    write(dir, "events.csv", log.as_bytes());
    let kept = |extra: &str| {
        let out = dir.join(format!(
            "out-{}",
            extra.replace(|c: char| !c.is_alphanumeric(), "_")
        ));
        let yaml = format!(
            "{{source: events, path: {}, on_error: fail, {extra} columns: {{user: user, item: item, timestamp: ts}}}}",
            dir.join("events.csv").display()
        );
        let report = run(&yaml, &out).expect("ingest");
        let read = report["rows_read"].as_u64().expect("read");
        let rejected = report["rows_rejected"].as_u64().expect("rejected");
        assert_eq!(read, report["rows_kept"].as_u64().expect("kept") + rejected);
        assert_eq!(
            reasons(&report)
                .get("outside_time_range")
                .copied()
                .unwrap_or(0),
            rejected
        );
        let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
        let details = rejects.strings("detail").expect("detail");
        (
            report["min_time"].as_str().map(str::to_string),
            report["max_time"].as_str().map(str::to_string),
            rejected,
            details.first().cloned().flatten(),
        )
    };
    // `time_to` is excluded, `time_from` included; a date is its midnight.
    let (min, max, rejected, why) = kept("time_from: 2019-10-03, time_to: 2019-10-06T12:00:00Z,");
    assert_eq!(
        (min.as_deref(), max.as_deref()),
        (Some("2019-10-03T12:00:00Z"), Some("2019-10-05T12:00:00Z"))
    );
    assert_eq!(rejected, 7);
    assert_eq!(
        why.as_deref(),
        Some("before `time_from` 2019-10-03T00:00:00Z")
    );
    // The last 3 days before the latest time: rows less than 72 hours
    // before 2019-10-10T12:00 (so not 2019-10-07T12:00 itself).
    let (min, _, rejected, why) = kept("last_days: 3,");
    assert_eq!(
        (min.as_deref(), rejected),
        (Some("2019-10-08T12:00:00Z"), 7)
    );
    assert_eq!(
        why.as_deref(),
        Some("more than 3 days (`last_days`) before the latest time, 2019-10-10T12:00:00Z")
    );
    // With `time_to`, the latest time is the latest before it.
    let (min, max, _, _) = kept("last_days: 2, time_to: 2019-10-05,");
    assert_eq!(
        (min.as_deref(), max.as_deref()),
        (Some("2019-10-03T12:00:00Z"), Some("2019-10-04T12:00:00Z"))
    );
}

/// The items' genres after ingesting `dir`'s `events.csv`, whose `cat`
/// column is the genres, with the `extra` settings (ending in a comma).
fn log_genres(dir: &Path, extra: &str) -> Vec<Vec<String>> {
    // A folder of its own for each setting.
    let out = dir.join(format!(
        "out-{}",
        extra.replace(|c: char| !c.is_alphanumeric(), "_")
    ));
    let yaml = format!(
        "{{source: events, path: {}, event_type: view, {extra} columns: {{user: user, item: item, timestamp: ts, genres: cat}}}}",
        dir.join("events.csv").display()
    );
    run(&yaml, &out).expect("ingest");
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    items.string_lists("genres").expect("genres")
}

#[test]
fn a_logs_genres_column_gives_each_item_its_first_non_empty_genres() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // `A`'s first genres win over its later ones; `B`'s first row has
    // none; `C` has none at all. An items file's genres win over the log's.
    write(
        dir,
        "events.csv",
        b"user,item,ts,cat\n1,A,1577836800,Kitchen | Mugs\n2,B,1577836801,\n\
          2,A,1577836802,Toys\n3,B,1577836803,Garden\n3,C,1577836804,\n",
    );
    write(dir, "items.csv", b"sku,cats\nA,Books\nB,\nC,\n");
    let genres_of = |extra: &str| log_genres(dir, extra);
    let s = |v: &[&str]| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
    assert_eq!(
        genres_of(""),
        [s(&["Kitchen", "Mugs"]), s(&["Garden"]), s(&[])]
    );
    let items_file = format!(
        "items_file: {{path: {}, id: sku, genres: cats}},",
        dir.join("items.csv").display()
    );
    assert_eq!(
        genres_of(&items_file),
        [s(&["Books"]), s(&["Garden"]), s(&[])]
    );
}

#[test]
fn genre_levels_cut_category_paths_in_a_log_and_in_an_items_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // REES46 writes a category path on every row; an items file may write
    // `Home > Kitchen` paths, several to an item.
    write(
        dir,
        "events.csv",
        b"user,item,ts,cat\n1,A,1577836800,electronics.audio.headphone\n\
          2,B,1577836801,appliances.kitchen.washer\n3,C,1577836802,electronics\n",
    );
    write(
        dir,
        "items.csv",
        b"sku,cats\nA,Home > Kitchen|Home > Bath|Garden\nB,\nC,\n",
    );
    let genres_of = |extra: &str| log_genres(dir, extra);
    let s = |v: &[&str]| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
    assert_eq!(
        genres_of(""),
        [
            s(&["electronics.audio.headphone"]),
            s(&["appliances.kitchen.washer"]),
            s(&["electronics"])
        ]
    );
    assert_eq!(
        genres_of("genre_levels: 1,"),
        [s(&["electronics"]), s(&["appliances"]), s(&["electronics"])]
    );
    assert_eq!(
        genres_of("genre_levels: 2,"),
        [
            s(&["electronics.audio"]),
            s(&["appliances.kitchen"]),
            s(&["electronics"])
        ]
    );
    // The items file's genres win, cut at its own separator; the two
    // `Home` paths become one genre.
    let items_file = format!(
        "genre_levels: 1, genre_separator: '>', items_file: {{path: {}, id: sku, genres: cats}},",
        dir.join("items.csv").display()
    );
    assert_eq!(
        genres_of(&items_file),
        [
            s(&["Home", "Garden"]),
            s(&["appliances.kitchen.washer"]),
            s(&["electronics"])
        ]
    );
}

#[test]
fn side_file_rows_that_repeat_an_id_lack_one_or_tag_no_movie_are_rejected() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // An events log with an items file: `A` twice (the first describes
    // it; `17850.0` is `17850` as ids are read), one row without an id.
    write(
        dir,
        "events.csv",
        b"uid,sku,when\n1,A,1577836800\n2,17850,1577923200\n",
    );
    write(
        dir,
        "items.csv",
        b"sku,name\nA,Lamp\n17850,Mug\nA,Lamp again\n,Nameless\n17850.0,Mug again\n",
    );
    let out = dir.join("out");
    let yaml = format!(
        "{{source: events, path: {}, items_file: {{path: {}, id: sku, title: name}}, columns: {{user: uid, item: sku, timestamp: when}}}}",
        dir.join("events.csv").display(),
        dir.join("items.csv").display()
    );
    run(&yaml, &out).expect("ingest");
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    let lines = rejects.u64s_for_test();
    let why = rejects.strings("detail").expect("detail");
    assert_eq!(lines, [4, 5, 6]);
    assert_eq!(
        why,
        [
            Some("id `A` is given by line 2 already".to_string()),
            Some("empty `sku`".to_string()),
            Some("id `17850` is given by line 3 already".to_string()),
        ]
    );
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("title").expect("title"),
        [Some("Mug".to_string()), Some("Lamp".to_string())],
        "the first row of each id; numeric ids sort first"
    );

    // MovieLens' CSV layout: a movie listed twice, a tag of a movie that
    // movies.csv does not list.
    let ml = dir.join("ml");
    std::fs::create_dir(&ml).expect("dir");
    write(
        &ml,
        "movies.csv",
        b"movieId,title,genres\n1,Heat (1995),Action\n1,Heat again (1995),Drama\n",
    );
    write(
        &ml,
        "ratings.csv",
        b"userId,movieId,rating,timestamp\n1,1,4.5,978300760\n",
    );
    write(
        &ml,
        "tags.csv",
        b"userId,movieId,tag,timestamp\n1,1,noir,1\n1,9,orphan,1\n",
    );
    let out = dir.join("ml-out");
    run(
        &format!("{{source: movielens, path: {}}}", ml.display()),
        &out,
    )
    .expect("ingest");
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    assert_eq!(
        rejects.strings("reason").expect("reason"),
        [
            Some("duplicate_id".to_string()),
            Some("unknown_item".to_string())
        ]
    );
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    assert_eq!(
        items.strings("title").expect("t"),
        [Some("Heat (1995)".to_string())]
    );
    assert_eq!(
        items.strings("text").expect("text"),
        [Some("noir".to_string())]
    );
}

#[test]
fn excluded_users_and_items_go_to_rejects_and_out_of_the_catalog() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // POST (postage) is no product; `bot` is no customer. Line 6 repeats
    // line 5's pair, line 7 has no user: invalid, not excluded.
    write(
        dir,
        "events.csv",
        b"uid,sku,qty,when\n1,A,2,1577836800\n1,POST,1,1577836800\nbot,A,9,1577836900\n\
          2,B,1,1577923200\n2,B,1,1577923300\n,A,1,1577923400\n3.0,POST,1,1577923500\n",
    );
    write(
        dir,
        "items.csv",
        b"sku,name\nA,Lamp\nB,Mug\nPOST,Postage\nC,Vase\n",
    );
    let yaml = |extra: &str| {
        format!(
            "{{source: events, path: {}, duplicates: last, {extra} items_file: {{path: {}, id: sku, title: name}}, columns: {{user: uid, item: sku, timestamp: when, quantity: qty}}}}",
            dir.join("events.csv").display(),
            dir.join("items.csv").display()
        )
    };
    let excluding = yaml("exclude_users: [bot, nobody], exclude_items: [POST],");
    let out = dir.join("out");
    let outcome =
        recpipe_ingest::run(&common::params(&excluding), &common::ctx(&out)).expect("ingest");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ingest_report.json")).expect("report"))
            .expect("json");
    let by_reason = reasons(&report);
    assert_eq!(by_reason.get("excluded_item"), Some(&2), "{by_reason:?}");
    assert_eq!(by_reason.get("excluded_user"), Some(&1), "{by_reason:?}");
    assert_eq!(by_reason.get("duplicate_pair"), Some(&1), "{by_reason:?}");
    assert_eq!(report["rows_read"], 7);
    let rejects = ParquetTable::read(&out.join("rejects.parquet")).expect("rejects");
    let lines = rejects.u64s_for_test();
    let details = rejects.strings("detail").expect("detail");
    let detail_of = |line: u64| {
        let at = lines.iter().position(|&l| l == line).expect("rejected");
        details[at].clone().unwrap_or_default()
    };
    assert_eq!(detail_of(3), "item `POST` is in `exclude_items`");
    assert_eq!(
        detail_of(8),
        "item `POST` is in `exclude_items`",
        "`3.0` is `3`"
    );
    assert_eq!(detail_of(4), "user `bot` is in `exclude_users`");
    // Out of items.parquet too, though the items file lists it; the
    // catalogue's other unrated item stays.
    let items = ParquetTable::read(&out.join("items.parquet")).expect("items");
    let ids: Vec<String> = items
        .strings("item_id")
        .expect("ids")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["A", "B", "C"]);
    let users = ParquetTable::read(&out.join("users.parquet")).expect("users");
    let ids: Vec<String> = users
        .strings("user_id")
        .expect("ids")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["1", "2"]);
    // A name that matches no valid row is said, not silently ignored.
    assert!(
        outcome
            .summary
            .iter()
            .any(|l| l == "note: `exclude_users` matched no valid row for nobody"),
        "{:?}",
        outcome.summary
    );
    assert!(!outcome.summary.iter().any(|l| l.contains("exclude_items")));

    // Exclusions and duplicates are what the configuration asked for, not
    // errors: `on_error: fail` goes past them, and stops at an invalid row
    // (here an item the items file does not list).
    let strict = |log: &[u8], out: &str| {
        write(dir, "events.csv", log);
        run(
            &yaml("on_error: fail, exclude_users: [bot], exclude_items: [POST],"),
            &dir.join(out),
        )
    };
    let log = b"uid,sku,qty,when\n1,A,2,1577836800\n1,POST,1,1577836800\nbot,A,9,1577836900\n\
                2,B,1,1577923200\n2,B,1,1577923300\n";
    let report = strict(log, "strict").expect("nothing invalid");
    assert_eq!(report["rows_rejected"], 3, "{report}");
    let err = strict(&[&log[..], b"2,Z,1,1577923400\n"].concat(), "stops")
        .expect_err("Z is in no items file");
    assert!(
        err.to_string().contains("events.csv:7: unknown_item"),
        "{err}"
    );
}
