//! The events ingest checked against a model: logs generated with every kind
//! of bad row, exact copies of earlier rows, repeated (user, item) pairs,
//! ids written several ways, quoted titles with commas and newlines and blank
//! lines, whose meaning the generator knows row by row. The model applies the
//! documented rules to those meanings one row at a time, under a duplicate
//! policy, k-core thresholds and users file chosen from the seed; the stage's
//! five outputs (or, when it keeps nothing, its error) must say the same.
//! Large logs are parsed in several chunks, so the merging of chunks
//! (interned ids, first titles, gathered texts, last countries, line
//! numbers, rejects) is checked too. The same logs also go in as Parquet (the rows a table can
//! hold), whose rows are named by row number.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use common::{Rng, dense, dense_index, rejects_written, run_on};
use proptest::prelude::*;
use recpipe_core::ParquetTable;

const HEADER: &str = "user,item,ts,event,qty,price,title,country,text";
/// Event types and their default weights.
const EVENTS: [(&str, f32); 4] = [
    ("view", 1.0),
    ("click", 2.0),
    ("cart", 4.0),
    ("purchase", 8.0),
];
/// Unit prices that are exact in binary, so that sums do not depend on order.
const PRICES: [(&str, f64); 4] = [("0.5", 0.5), ("1.25", 1.25), ("2", 2.0), ("3.75", 3.75)];
const COUNTRIES: [&str; 3] = ["United Kingdom", "France", "EIRE"];
/// 2011-01-01 00:00:00 UTC.
const JAN_1_2011: i64 = 1_293_840_000;

/// A row that passes parsing, as the model reads it.
#[derive(Debug, Clone)]
struct Event {
    user: String,
    item: String,
    ts: i64,
    event: &'static str,
    weight: f32,
    quantity: f64,
    amount: f64,
    title: Option<String>,
    country: Option<String>,
    /// A comment: items gather every distinct one.
    text: Option<String>,
}

/// What a record of the log means.
#[derive(Debug, Clone)]
enum Meaning {
    /// A blank line: not a row.
    Blank,
    /// Rejected while parsing, for this reason.
    Bad(&'static str),
    /// Parses.
    Good(Event),
}

/// A record as written (without its final newline) and what it means.
#[derive(Debug, Clone)]
struct Record {
    text: String,
    /// The values of a well-formed row (one per column), which a Parquet
    /// log can hold too; `None` for blank lines and wrong field counts.
    values: Option<Vec<String>>,
    meaning: Meaning,
}

/// A value as a CSV field: quoted (quotes doubled) when it holds a comma, a
/// quote or a line end, as the stage also renders a Parquet log's values.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Item `j`'s id: a third of them end in a letter, so that items are
/// ordered as text.
fn item_id(j: u64) -> String {
    if j.is_multiple_of(3) {
        format!("{}A", 20_000 + j)
    } else {
        (20_000 + j).to_string()
    }
}

/// One row of the log: valid, or with one defect.
fn record(rng: &mut Rng, users: u64, items: u64) -> Record {
    let k = 1 + rng.below(users);
    let user = k.to_string();
    let user_text = match rng.below(4) {
        0 => format!("{k}.0"),
        1 => format!(" {k} "),
        2 => format!("{k}.00"),
        _ => user.clone(),
    };
    let j = rng.below(items);
    // A third of the item ids end in a letter: items are ordered as text.
    let numeric = !j.is_multiple_of(3);
    let item = item_id(j);
    let item_text = if numeric && rng.percent(30) {
        format!("{item}.0")
    } else {
        item.clone()
    };
    let hour = rng.below(48) as i64;
    let ts = JAN_1_2011 + hour * 3600;
    let ts_text = if rng.percent(50) {
        ts.to_string()
    } else {
        format!("2011-01-{:02} {:02}:00:00", 1 + hour / 24, hour % 24)
    };
    let &(event, weight) = rng.pick(&EVENTS);
    let event_text = match rng.below(3) {
        0 => event.to_uppercase(),
        1 => format!("{}{}", event[..1].to_uppercase(), &event[1..]),
        _ => event.to_string(),
    };
    // An empty quantity or price is not recorded: quantity 1, no amount.
    let mut q = 1 + rng.below(4);
    let qty_text = match rng.below(10) {
        0 => {
            q = 1;
            String::new()
        }
        1 | 2 => format!("{q}.0"),
        _ => q.to_string(),
    };
    let &(price_text, price) = match rng.percent(10) {
        true => &("", 0.0),
        false => rng.pick(&PRICES),
    };
    let (title_text, title) = match rng.below(6) {
        0 => (String::new(), None),
        1 => (format!(" Mug {j} "), Some(format!("Mug {j}"))),
        2 => ("Mug, large".into(), Some("Mug, large".into())),
        3 => ("12\" plate".into(), Some("12\" plate".into())),
        4 => ("Lamp\nwhite".into(), Some("Lamp\nwhite".into())),
        _ => (format!("Item {j}"), Some(format!("Item {j}"))),
    };
    let country = (!rng.percent(25)).then(|| rng.pick(&COUNTRIES).to_string());
    let (comment_field, comment) = match rng.below(5) {
        0 => (String::new(), None),
        1 => (" great ".into(), Some("great".into())),
        2 => ("too small, sadly".into(), Some("too small, sadly".into())),
        3 => (
            "say \"wow\"\nagain".into(),
            Some("say \"wow\"\nagain".into()),
        ),
        _ => (format!("about {j}"), Some(format!("about {j}"))),
    };
    let mut fields = [
        user_text,
        item_text,
        ts_text,
        event_text,
        qty_text,
        price_text.to_string(),
        title_text,
        country.clone().unwrap_or_default(),
        comment_field,
    ];
    let (mut reason, mut shape) = (None, 0i8);
    if rng.percent(20) {
        let (field, text, why) = match rng.below(11) {
            0 => (0, "", "missing_user"),
            1 => (0, "  ", "missing_user"),
            2 => (1, "", "missing_item"),
            3 => (2, "soon", "bad_timestamp"),
            4 => (3, "wishlist", "unknown_event"),
            5 => (4, "many", "bad_quantity"),
            6 => (4, "-2", "non_positive_quantity"),
            7 => (5, "cheap", "bad_price"),
            8 => (5, "0", "non_positive_price"),
            9 => {
                shape = 1; // a field more
                (7, "EIRE", "wrong_field_count")
            }
            _ => {
                shape = -1; // a field less
                (6, "", "wrong_field_count")
            }
        };
        fields[field] = text.to_string();
        // Rows rejected after the user is read may name a user that is not
        // a number, which orders the ids read as text (not the kept ones).
        if field > 0 && rng.percent(30) {
            fields[0] = "guest".into();
        }
        reason = Some(why);
    }
    let encoded: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    let text = match shape {
        1 => format!("{},extra", encoded.join(",")),
        -1 => encoded[..8].join(","),
        _ => encoded.join(","),
    };
    let values = (shape == 0).then(|| fields.to_vec());
    let meaning = match reason {
        Some(why) => Meaning::Bad(why),
        None => Meaning::Good(Event {
            user,
            item,
            ts,
            event,
            weight,
            quantity: q as f64,
            amount: q as f64 * price,
            title,
            country,
            text: comment,
        }),
    };
    Record {
        text,
        values,
        meaning,
    }
}

/// How many users and items a log of `rows` records draws from: few
/// enough that pairs repeat.
fn pool_sizes(rows: usize) -> (u64, u64) {
    (1 + rows as u64 / 12, 1 + rows as u64 / 20)
}

/// A log of `rows` records: rows as [`record`] makes them, some exact
/// copies of an earlier record, some blank lines; for a Parquet log, only
/// the records a table can hold (no blank lines, no wrong field counts).
fn log(seed: u64, rows: usize, parquet: bool) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let (users, items) = pool_sizes(rows);
    let mut out: Vec<Record> = Vec::with_capacity(rows);
    while out.len() < rows {
        let r = if !out.is_empty() && rng.percent(5) {
            out[rng.below(out.len() as u64) as usize].clone()
        } else if rng.percent(1) {
            Record {
                text: if rng.percent(50) { "" } else { "   " }.into(),
                values: None,
                meaning: Meaning::Blank,
            }
        } else {
            record(&mut rng, users, items)
        };
        if !parquet || r.values.is_some() {
            out.push(r);
        }
    }
    out
}

/// How a log is ingested: the parameters that change what the cleaning
/// keeps, chosen from the seed.
#[derive(Debug)]
struct Config {
    /// `sum`, `last` or `first`.
    policy: &'static str,
    min_user: u32,
    min_item: u32,
    /// The users file, when there is one: ids and countries. Rows of other
    /// users are rejected; its users are listed even without interactions
    /// (unless k-core filters users), and its countries win over the log's.
    known_users: Option<Vec<(String, Option<String>)>>,
    /// The items file likewise: ids and titles.
    known_items: Option<Vec<(String, Option<String>)>>,
    /// `max_rejected_fraction`: 1 (off), or a limit that some logs pass
    /// and others exceed.
    max_invalid: f64,
    /// `time_from`, `time_to` (unix seconds) and `last_days`, if set.
    window: (Option<i64>, Option<i64>, Option<u32>),
}

impl Config {
    fn of(seed: u64, (users, items): (u64, u64)) -> Self {
        let mut rng = Rng::new(seed ^ 0x5eed);
        let kcore = rng.percent(40);
        Config {
            policy: ["sum", "last", "first"][rng.below(3) as usize],
            // Up to about the pairs a user or item has (about 9 and 15),
            // so that drops cascade.
            min_user: if kcore { 1 + rng.below(8) as u32 } else { 0 },
            min_item: if kcore { 1 + rng.below(12) as u32 } else { 0 },
            // Most users and items, and some that never occur; half with a
            // country or title of their own.
            known_users: rng.percent(40).then(|| {
                let ids = (1..users + 3).map(|k| (k.to_string(), "Norway".to_string()));
                catalog_rows(&mut rng, ids)
            }),
            known_items: rng.percent(30).then(|| {
                let ids = (0..items + 2).map(|j| (item_id(j), format!("Catalog {j}, boxed")));
                catalog_rows(&mut rng, ids)
            }),
            // By the seed's block of 16: the chunked tests' seeds (below
            // 16) leave it off.
            max_invalid: [1.0, 0.0, 0.1, 0.3][(seed / 16 % 4) as usize],
            // A third of the logs keep a window of their 48 hours: from an
            // hour, to an hour, both, or the last day (before an hour).
            // The chunked tests' seeds (below 16) keep every time.
            window: if seed >= 16 && rng.percent(33) {
                let kind = rng.below(5);
                let mut hour = || Some(JAN_1_2011 + rng.below(49) as i64 * 3600);
                match kind {
                    0 => (hour(), None, None),
                    1 => (None, hour(), None),
                    2 => {
                        let (a, b) = (hour(), hour());
                        (a.min(b), a.max(b).map(|t| t + 3600), None)
                    }
                    3 => (None, None, Some(1)),
                    _ => (None, hour(), Some(1)),
                }
            } else {
                (None, None, None)
            },
        }
    }
}

/// A catalog file's rows: most of `ids` (the others never occur in it),
/// half of them with their value.
fn catalog_rows(
    rng: &mut Rng,
    ids: impl Iterator<Item = (String, String)>,
) -> Vec<(String, Option<String>)> {
    let mut rows = Vec::new();
    for (id, value) in ids {
        if !rng.percent(10) {
            let own = rng.percent(50);
            rows.push((id, own.then_some(value)));
        }
    }
    rows
}

/// A catalog file's rows by id.
fn by_id(file: &Option<Vec<(String, Option<String>)>>) -> Option<HashMap<&str, Option<&str>>> {
    (file.as_ref()).map(|k| {
        k.iter()
            .map(|(id, v)| (id.as_str(), v.as_deref()))
            .collect()
    })
}

/// The rows of one (user, item) that reach the pairs: (line, event, raw
/// text), in file order.
type PairRows<'a> = Vec<(u64, &'a Event, &'a str)>;

/// The merged interaction of one (user, item).
#[derive(Debug)]
struct Pair {
    value: f32,
    quantity: f64,
    amount: f64,
    ts: i64,
    event: &'static str,
    weight: f32,
}

/// Reasons that drop a row by the configuration's policy, not for being invalid.
const POLICY_REASONS: [&str; 5] = [
    "duplicate_row",
    "duplicate_pair",
    "k_core_user",
    "k_core_item",
    "outside_time_range",
];

/// An item as written: (id, title, text, genres). The genres are read
/// from the title column too (`genres: title`): its first value per item.
type ItemWritten = (String, Option<String>, Option<String>, Vec<String>);

/// What the stage must write for a log, by the documented rules.
#[derive(Debug, PartialEq)]
struct Expected {
    /// (line, reason, raw text), by line.
    rejects: Vec<(u64, String, String)>,
    /// Users in dense order, with the last country a parsed row gave.
    users: Vec<(String, Option<String>)>,
    /// Items in dense order, with the first title a parsed row gave and
    /// the distinct texts they gave, one a line.
    items: Vec<ItemWritten>,
    /// (user_idx, item_idx, value, ts, event, quantity, amount) sorted by
    /// (user_idx, ts, item_idx).
    interactions: Vec<(u32, u32, f32, i64, String, f64, f64)>,
    rows_read: u64,
    rows_kept: u64,
    rows_merged: u64,
}

/// What the documented rules give for `log` under `config`, read one
/// record at a time; and the (line, reason) `on_error: fail` stops at: the
/// first row parsing rejects, else the first the cleaning rejects as
/// invalid (duplicates and k-core drops are policy, not errors).
fn model(log: &[Record], config: &Config, parquet: bool) -> (Expected, Option<(u64, String)>) {
    let mut rejects = Vec::new();
    let mut parsed_texts: HashSet<&str> = HashSet::new();
    let (known_users, known_items) = (by_id(&config.known_users), by_id(&config.known_items));
    let mut pairs: BTreeMap<(&str, &str), PairRows<'_>> = BTreeMap::new();
    let (mut title, mut country) = (HashMap::new(), HashMap::new());
    let mut texts: HashMap<String, Vec<&str>> = HashMap::new();
    // A CSV row's line is the line it starts on (the header is line 1); a
    // Parquet row's, its row number.
    let (mut line, mut rows_read) = (if parquet { 1u64 } else { 2 }, 0u64);
    // The window: `last_days` back from the latest parsed row's time
    // (before `time_to`), that time excluded less a day.
    let (from, to, days) = config.window;
    let from = match days {
        Some(days) => (log.iter())
            .filter_map(|r| match &r.meaning {
                Meaning::Good(e) => Some(e.ts),
                _ => None,
            })
            .filter(|&ts| to.is_none_or(|to| ts < to))
            .max()
            .map(|latest| latest - i64::from(days) * 86_400 + 1),
        None => from,
    };
    let outside = |ts: i64| from.is_some_and(|f| ts < f) || to.is_some_and(|t| ts >= t);
    for r in log {
        match &r.meaning {
            Meaning::Blank => {}
            Meaning::Bad(why) => rejects.push((line, why.to_string(), r.text.clone())),
            Meaning::Good(e) => {
                // Titles and countries come from every row that parses.
                if let Some(t) = &e.title {
                    title.entry(e.item.clone()).or_insert_with(|| t.clone());
                }
                if let Some(c) = &e.country {
                    country.insert(e.user.clone(), c.clone());
                }
                if let Some(t) = &e.text {
                    let seen = texts.entry(e.item.clone()).or_default();
                    if !seen.contains(&t.as_str()) {
                        seen.push(t);
                    }
                }
                // Copies first, then unknown users, then unknown items.
                let unknown = |file: &Option<HashMap<&str, Option<&str>>>, id: &str| {
                    file.as_ref().is_some_and(|k| !k.contains_key(id))
                };
                let why = if !parsed_texts.insert(&r.text) {
                    Some("duplicate_row")
                } else if outside(e.ts) {
                    Some("outside_time_range")
                } else if unknown(&known_users, &e.user) {
                    Some("unknown_user")
                } else if unknown(&known_items, &e.item) {
                    Some("unknown_item")
                } else {
                    None
                };
                match why {
                    Some(why) => rejects.push((line, why.into(), r.text.clone())),
                    None => {
                        let rows = pairs.entry((&e.user, &e.item)).or_default();
                        rows.push((line, e, &r.text));
                    }
                }
            }
        }
        rows_read += u64::from(!matches!(r.meaning, Meaning::Blank));
        line += 1 + if parquet {
            0
        } else {
            r.text.matches('\n').count() as u64
        };
    }
    // last / first: one row of each pair is kept (the latest or earliest
    // by time, then line), the others are rejected.
    if config.policy != "sum" {
        for rows in pairs.values_mut() {
            rows.sort_by_key(|&(l, e, _)| (e.ts, l));
            let keep = if config.policy == "last" {
                rows.len() - 1
            } else {
                0
            };
            for (k, &(l, _, raw)) in rows.iter().enumerate() {
                if k != keep {
                    rejects.push((l, "duplicate_pair".into(), raw.to_string()));
                }
            }
            *rows = vec![rows[keep]];
        }
    }
    // Duplicates are policy, not errors: `on_error: fail` goes past them.
    let first_bad = |parsing: bool| {
        let late = ["unknown_user", "unknown_item"];
        let is_parse = |why: &str| !late.contains(&why);
        (rejects.iter())
            .filter(|(_, why, _)| !POLICY_REASONS.contains(&why.as_str()))
            .filter(|(_, why, _)| is_parse(why) == parsing)
            .min_by_key(|r| r.0)
            .map(|(line, why, _)| (*line, why.clone()))
    };
    let fail_at = first_bad(true).or_else(|| first_bad(false));
    // k-core: pairs of users or items with too few pairs are dropped, all
    // at once, until none is.
    loop {
        let (mut per_user, mut per_item) = (HashMap::new(), HashMap::new());
        for &(u, i) in pairs.keys() {
            *per_user.entry(u).or_insert(0u32) += 1;
            *per_item.entry(i).or_insert(0u32) += 1;
        }
        let dropped: Vec<((&str, &str), &str)> = pairs
            .keys()
            .filter_map(|&(u, i)| {
                let why = if per_user[u] < config.min_user {
                    "k_core_user"
                } else if per_item[i] < config.min_item {
                    "k_core_item"
                } else {
                    return None;
                };
                Some(((u, i), why))
            })
            .collect();
        if dropped.is_empty() {
            break;
        }
        for (key, why) in dropped {
            for (l, _, raw) in pairs.remove(&key).expect("pair") {
                rejects.push((l, why.into(), raw.to_string()));
            }
        }
    }
    rejects.sort_by_key(|r| r.0);
    let rows_kept: usize = pairs.values().map(Vec::len).sum();
    let pairs: BTreeMap<(&str, &str), Pair> = pairs
        .iter()
        .map(|(&key, rows)| {
            let mut sorted = rows.clone();
            sorted.sort_by_key(|&(l, _, _)| l);
            let first = sorted[0].1;
            let mut p = Pair {
                value: 0.0,
                quantity: 0.0,
                amount: 0.0,
                ts: i64::MIN,
                event: first.event,
                weight: first.weight,
            };
            for (_, e, _) in sorted {
                p.value += e.weight;
                p.quantity += e.quantity;
                p.amount += e.amount;
                p.ts = p.ts.max(e.ts);
                if e.weight > p.weight {
                    (p.event, p.weight) = (e.event, e.weight);
                }
            }
            (key, p)
        })
        .collect();
    let listed = |file: &Option<Vec<(String, Option<String>)>>, min: u32| match file {
        Some(k) if min <= 1 => k.iter().map(|(id, _)| id.clone()).collect(),
        _ => Vec::new(),
    };
    let users = dense(
        (pairs.keys().map(|(u, _)| u.to_string()))
            .chain(listed(&config.known_users, config.min_user)),
    );
    let items = dense(
        (pairs.keys().map(|(_, i)| i.to_string()))
            .chain(listed(&config.known_items, config.min_item)),
    );
    // A catalog's own value wins over the log's.
    let value =
        |file: &Option<HashMap<&str, Option<&str>>>, id: &str, log: &HashMap<String, String>| {
            let own = file.as_ref().and_then(|k| k.get(id).copied().flatten());
            own.map(str::to_string).or_else(|| log.get(id).cloned())
        };
    let (user_idx, item_idx) = (dense_index(&users), dense_index(&items));
    let mut interactions: Vec<_> = pairs
        .iter()
        .map(|(&(u, i), p)| {
            let (u, i) = (user_idx[u], item_idx[i]);
            (
                u,
                i,
                p.value,
                p.ts,
                p.event.to_string(),
                p.quantity,
                p.amount,
            )
        })
        .collect();
    interactions.sort_by_key(|r| (r.0, r.3, r.1));
    let expected = Expected {
        rejects,
        users: users
            .iter()
            .map(|u| (u.clone(), value(&known_users, u, &country)))
            .collect(),
        items: items
            .iter()
            .map(|i| {
                let text = texts.get(i).map(|t| t.join("\n"));
                let genres: Vec<String> = (title.get(i).into_iter())
                    .flat_map(|t: &String| t.split('|').map(str::trim))
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect();
                (i.clone(), value(&known_items, i, &title), text, genres)
            })
            .collect(),
        rows_read,
        rows_kept: rows_kept as u64,
        rows_merged: (rows_kept - pairs.len()) as u64,
        interactions,
    };
    (expected, fail_at)
}

/// What the stage wrote, in the shape of [`Expected`].
fn written(dir: &std::path::Path, report: &serde_json::Value) -> Expected {
    let table = |name: &str| ParquetTable::read(&dir.join(name)).expect(name);
    let strings = |t: &ParquetTable, c: &str| t.strings(c).expect(c);
    let users = table("users.parquet");
    let items = table("items.parquet");
    let inter = table("interactions.parquet");
    let (u, i, v, ts) = (
        inter.u32s("user_idx").expect("u"),
        inter.u32s("item_idx").expect("i"),
        inter.f32s("value").expect("v"),
        inter.i64s("ts").expect("ts"),
    );
    let (event, q, a) = (
        strings(&inter, "event"),
        inter.f64s("quantity").expect("q"),
        inter.f64s("amount").expect("a"),
    );
    let n = |key: &str| report[key].as_u64().expect(key);
    assert_eq!(n("rows_read"), n("rows_kept") + n("rows_rejected"));
    let ids = |t: &ParquetTable, c: &str| strings(t, c).into_iter().map(|s| s.expect("id"));
    Expected {
        rejects: rejects_written(dir),
        users: ids(&users, "user_id")
            .zip(strings(&users, "country"))
            .collect(),
        items: ids(&items, "item_id")
            .zip(strings(&items, "title"))
            .zip(strings(&items, "text"))
            .zip(items.string_lists("genres").expect("genres"))
            .map(|(((id, title), text), genres)| (id, title, text, genres))
            .collect(),
        interactions: (0..u.len())
            .map(|k| {
                (
                    u[k],
                    i[k],
                    v[k],
                    ts[k],
                    event[k].clone().expect("event"),
                    q[k],
                    a[k],
                )
            })
            .collect(),
        rows_read: n("rows_read"),
        rows_kept: n("rows_kept"),
        rows_merged: n("rows_merged"),
    }
}

/// Writes the well-formed `records` as a Parquet log: one string column
/// per field of [`HEADER`].
fn write_parquet_log(path: &std::path::Path, records: &[Record]) {
    use std::sync::Arc;
    let names: Vec<&str> = HEADER.split(',').collect();
    let columns: Vec<(&str, arrow::array::ArrayRef)> = names
        .iter()
        .enumerate()
        .map(|(c, &name)| {
            let values = records
                .iter()
                .map(|r| r.values.as_ref().expect("a row")[c].as_str());
            let array: arrow::array::ArrayRef =
                Arc::new(arrow::array::StringArray::from_iter_values(values));
            (name, array)
        })
        .collect();
    common::write_parquet_log(path, columns);
}

/// Ingests the log of `seed` (as CSV or Parquet) on `threads` threads and compares every output
/// (or, where the model keeps nothing, the error) with the model; whether
/// anything was kept.
fn check(seed: u64, rows: usize, threads: usize, parquet: bool) -> bool {
    let tmp = tempfile::tempdir().expect("tmp");
    let records = log(seed, rows, parquet);
    let name = if parquet {
        "events.parquet"
    } else {
        "events.csv"
    };
    let path = tmp.path().join(name);
    if parquet {
        write_parquet_log(&path, &records);
    } else {
        let mut csv = String::from(HEADER);
        for r in &records {
            csv.push('\n');
            csv.push_str(&r.text);
        }
        csv.push('\n');
        std::fs::write(&path, &csv).expect("write");
    }
    let config = Config::of(seed, pool_sizes(rows));
    let mut yaml = format!(
        "{{source: events, path: {}, drop_duplicate_rows: true, duplicates: {}, min_user_interactions: {}, min_item_interactions: {}, max_rejected_fraction: {}, columns: {{user: user, item: item, timestamp: ts, event: event, quantity: qty, price: price, title: title, genres: title, country: country, text: text}}",
        path.display(),
        config.policy,
        config.min_user,
        config.min_item,
        config.max_invalid,
    );
    for (key, bound) in [("time_from", config.window.0), ("time_to", config.window.1)] {
        if let Some(t) = bound {
            yaml.push_str(&format!(", {key}: {t}"));
        }
    }
    if let Some(days) = config.window.2 {
        yaml.push_str(&format!(", last_days: {days}"));
    }
    for (file, column, known) in [
        ("users", "country", &config.known_users),
        ("items", "title", &config.known_items),
    ] {
        let Some(known) = known else { continue };
        let path = tmp.path().join(format!("{file}.csv"));
        let rows: String = known
            .iter()
            .map(|(id, v)| format!("{id},{}\n", csv_field(v.as_deref().unwrap_or(""))))
            .collect();
        std::fs::write(&path, format!("id,{column}\n{rows}")).expect("write");
        yaml.push_str(&format!(
            ", {file}_file: {{path: {}, id: id, {column}: {column}}}",
            path.display()
        ));
    }
    yaml.push('}');
    let out = tmp.path().join("out");
    let result = run_on(threads, &yaml, &out);
    let (want, fail_at) = model(&records, &config, parquet);
    // With `on_error: fail`, the first bad row stops the stage.
    let failing = yaml.replacen("{source: events,", "{on_error: fail, source: events,", 1);
    let stopped = run_on(threads, &failing, &tmp.path().join("out-fail"));
    match (&fail_at, stopped) {
        (Some((line, why)), Err(e)) => {
            let e = e.to_string();
            assert!(e.contains(&format!("{name}:{line}: {why}: ")), "{e}");
        }
        (None, stopped) => assert_eq!(stopped.is_ok(), want.rows_kept > 0, "{stopped:?}"),
        (Some(at), Ok(_)) => panic!("on_error: fail went on past line {at:?}"),
    }
    // More invalid rows than the limit allows (duplicates and k-core drops
    // are policy, not invalid): the stage fails, counting them.
    let invalid = want
        .rejects
        .iter()
        .filter(|(_, why, _)| !POLICY_REASONS.contains(&why.as_str()))
        .count() as u64;
    if config.max_invalid < 1.0 && invalid as f64 > config.max_invalid * want.rows_read as f64 {
        let err = result.expect_err("too many invalid rows").to_string();
        let says = format!("{invalid} of {} rows are invalid", want.rows_read);
        assert!(err.contains(&says), "{err}");
        return false;
    }
    if want.rows_kept == 0 {
        // The stage fails, and says how many rows each reason rejected.
        let err = result.expect_err("nothing to keep").to_string();
        let mut want_counts: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, why, _) in &want.rejects {
            *want_counts.entry(why).or_default() += 1;
        }
        let listed = err
            .split("all rejected: ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .map_or("", |counts| counts.trim_end_matches(')'));
        let got_counts: BTreeMap<&str, u64> = listed
            .split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (n, why) = s.split_once(' ').expect("`count reason`");
                (why, n.parse().expect("count"))
            })
            .collect();
        assert_eq!(got_counts, want_counts, "{err}");
        return false;
    }
    let got = written(&out, &result.expect("ingest"));
    // Field by field, so that a failure names what differs.
    assert_eq!(got.rows_read, want.rows_read, "rows read");
    assert_eq!(got.rejects, want.rejects, "rejects");
    assert_eq!(got.users, want.users, "users");
    assert_eq!(got.items, want.items, "items");
    assert_eq!(got.interactions, want.interactions, "interactions");
    assert_eq!(got, want);
    true
}

#[test]
fn logs_parsed_in_several_chunks_give_what_the_model_gives() {
    // About 3 MB: three chunks of at least 1 MiB each, whatever the
    // threads. The seeds give `sum` with k-core and a users file, `last`
    // with a users file, and `first` with k-core.
    for (seed, threads) in [(2, 1), (9, 2), (10, 3)] {
        assert!(
            check(seed, 60_000, threads, false),
            "seed {seed} kept nothing"
        );
    }
    // The same rules on a Parquet log (rendered as CSV, three chunks too).
    assert!(check(2, 60_000, 2, true));
}

#[test]
fn logs_of_a_few_rows_keep_what_the_model_keeps_or_fail_saying_why() {
    let kept: Vec<bool> = (0..64)
        .map(|seed| check(seed, 1 + seed as usize % 3, 1, seed % 2 == 0))
        .collect();
    assert!(
        kept.contains(&true) && kept.contains(&false),
        "both outcomes: {kept:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn small_logs_give_what_the_model_gives(seed in any::<u64>(), rows in 1usize..300, parquet in any::<bool>()) {
        check(seed, rows, 2, parquet);
    }
}
