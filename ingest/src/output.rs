//! Writing the cleaned tables as Parquet, and the ingest report.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array, ListBuilder,
    StringArray, StringBuilder, StringViewArray, StringViewBuilder, UInt8Array, UInt16Array,
    UInt32Array, UInt64Array,
};
use recpipe_core::parquet_io::{ColumnHints, batch, write_parquet_grouped, write_parquet_windows};
use recpipe_core::schema::*;
use recpipe_core::{write_json_atomic, write_parquet};
use serde::Serialize;

use crate::clean::Cleaned;
use crate::error::Result;
use crate::rows::{Columns, RawLine, Reason, Reject, Row};
use crate::source_file::SourceBytes;
use rayon::prelude::*;

/// Per-file row counts in the report.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file's name.
    pub file: String,
    /// Rows rejected from it.
    pub rows_rejected: u64,
}

/// `ingest_report.json`.
#[derive(Debug, Serialize)]
pub struct IngestReport {
    /// `synthetic`, `movielens` or `events`.
    pub source: String,
    /// Facts about the source (layout detected, ...).
    pub notes: BTreeMap<String, String>,
    /// Interaction rows read (headers excluded).
    pub rows_read: u64,
    /// Interaction rows that went into a kept interaction.
    pub rows_kept: u64,
    /// Interaction rows rejected; `rows_read = rows_kept + rows_rejected`.
    pub rows_rejected: u64,
    /// Rows rejected from users/items files.
    pub catalog_rows_rejected: u64,
    /// Rows folded into another interaction by `duplicates: sum`.
    pub rows_merged: u64,
    /// Rejected rows (all files) by reason code.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Per-file rejects.
    pub files: Vec<FileReport>,
    /// Distinct user ids seen in the raw interaction rows, kept or not.
    pub raw_users: usize,
    /// Interactions written.
    pub interactions: usize,
    /// Users written.
    pub users: usize,
    /// Items written.
    pub items: usize,
    /// interactions / (users x items).
    pub density: f64,
    /// Smallest value.
    pub value_min: f32,
    /// Largest value.
    pub value_max: f32,
    /// Mean value.
    pub value_mean: f64,
    /// Earliest timestamp (unix seconds).
    pub min_ts: i64,
    /// Latest timestamp (unix seconds).
    pub max_ts: i64,
    /// Earliest time, ISO-8601 UTC.
    pub min_time: String,
    /// Latest time, ISO-8601 UTC.
    pub max_time: String,
}

/// Unix seconds as an ISO-8601 UTC time (`2011-12-09T12:50:00Z`), or as
/// the number where no date has them.
pub(crate) fn iso(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0).map_or_else(
        || ts.to_string(),
        |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

/// What the writer needs to know about the source besides the cleaned tables.
#[derive(Debug, Clone)]
pub struct SourceMeta {
    /// `synthetic`, `movielens` or `events`.
    pub source: &'static str,
    /// The names of the files read, as rejects and the report give them
    /// (index = reject file index; see [`crate::source_file::file_name`]).
    pub file_names: Vec<String>,
    /// How many of them, from the first, hold interactions (at least 1).
    pub log_files: usize,
    /// Event type names.
    pub event_names: Vec<String>,
    /// Whether interactions carry a quantity.
    pub has_quantity: bool,
    /// Whether interactions carry an amount.
    pub has_amount: bool,
    /// Optional user columns present.
    pub columns: Columns,
    /// Facts for the report.
    pub notes: BTreeMap<String, String>,
    /// Distinct user ids in the raw rows.
    pub raw_users: usize,
}

/// Rows per row group of rejects.parquet: Online Retail's 149,217 rejects
/// (13 MB of raw lines) in ten groups, so that compressing the raw lines,
/// the longest part of the write, runs on both cores and no long task is
/// left for one core at the end (the write phase 65.8 -> 62.0 ms against
/// groups of 65,536 rows, median of 13; the file grows by 0.4%).
const REJECTS_GROUP_ROWS: usize = 1 << 14;

/// How rejects.parquet stores two of its columns: the line numbers climb
/// (rejects are in file order), and no reader filters by the raw text.
const REJECTS_HINTS: ColumnHints = ColumnHints {
    repeating: &[],
    ascending: &["line"],
    unfiltered: &["raw"],
};

/// interactions.parquet, built a row group at a time.
fn write_interactions(
    dir: &Path,
    c: &Cleaned,
    event_names: &[String],
    has_quantity: bool,
    has_amount: bool,
) -> Result<()> {
    let path = dir.join(INTERACTIONS_FILE);
    write_parquet_windows(&path, c.rows.len(), &[], |range| -> Result<_> {
        let columns =
            interaction_columns(&path, &c.rows[range], event_names, has_quantity, has_amount)?;
        Ok(batch(&path, columns)?)
    })
}

/// The columns of `rows` in interactions.parquet (at `path`).
fn interaction_columns<'a>(
    path: &'a Path,
    rows: &'a [Row],
    event_names: &'a [String],
    has_quantity: bool,
    has_amount: bool,
) -> Result<Vec<(&'static str, ArrayRef)>> {
    // Each column is a pass over the 56-byte rows: built side by side.
    let mut builders: Vec<ColumnBuilder<'_>> = vec![
        (
            USER_IDX,
            Box::new(|| {
                Ok(Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.user),
                )))
            }),
        ),
        (
            ITEM_IDX,
            Box::new(|| {
                Ok(Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.item),
                )))
            }),
        ),
        (
            VALUE,
            Box::new(|| {
                Ok(Arc::new(Float32Array::from_iter_values(
                    rows.iter().map(|r| r.value),
                )))
            }),
        ),
        (
            TS,
            Box::new(|| {
                Ok(Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.ts),
                )))
            }),
        ),
        (
            EVENT,
            Box::new(|| {
                let keys: UInt8Array = rows
                    .iter()
                    .map(|r| (r.event > 0).then(|| r.event - 1))
                    .collect();
                dict(path, keys, StringArray::from_iter_values(event_names))
            }),
        ),
    ];
    if has_quantity {
        builders.push((
            QUANTITY,
            Box::new(|| {
                Ok(Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.quantity),
                )))
            }),
        ));
    }
    if has_amount {
        builders.push((
            AMOUNT,
            Box::new(|| {
                Ok(Arc::new(Float64Array::from_iter_values(
                    rows.iter().map(|r| r.amount),
                )))
            }),
        ));
    }
    build_columns(builders)
}

/// A column's name and the code that builds it.
type ColumnBuilder<'a> = (
    &'static str,
    Box<dyn Fn() -> Result<ArrayRef> + Send + Sync + 'a>,
);

/// Builds the columns side by side, in their order.
fn build_columns(builders: Vec<ColumnBuilder<'_>>) -> Result<Vec<(&'static str, ArrayRef)>> {
    builders
        .par_iter()
        .map(|(name, build)| Ok((*name, build()?)))
        .collect()
}

/// The columns of rejects.parquet, built side by side. `file`, `reason` and
/// `detail` repeat (one file, a few reasons, one text for every row that
/// misses its user id), so they are dictionary columns: their keys are all
/// there is to build and encode.
fn reject_columns<'a>(
    path: &'a Path,
    rejects: &'a [Reject],
    buffers: &'a [Option<Arc<SourceBytes>>],
    file_names: &'a [String],
) -> Result<Vec<(&'static str, ArrayRef)>> {
    build_columns(vec![
        (
            "file",
            Box::new(|| {
                let keys = UInt16Array::from_iter_values(rejects.iter().map(|x| x.file));
                dict(path, keys, StringArray::from_iter_values(file_names.iter()))
            }),
        ),
        (
            "line",
            Box::new(|| {
                Ok(Arc::new(UInt64Array::from_iter_values(
                    rejects.iter().map(|x| x.line),
                )))
            }),
        ),
        (
            "raw",
            Box::new(|| Ok(Arc::new(raw_lines(rejects, buffers)))),
        ),
        (
            "reason",
            Box::new(|| {
                let keys = UInt8Array::from_iter_values(rejects.iter().map(|x| x.reason as u8));
                dict(
                    path,
                    keys,
                    StringArray::from_iter_values(Reason::ALL.iter().map(|r| r.code())),
                )
            }),
        ),
        (
            "detail",
            Box::new(|| {
                let (keys, values) = detail_dictionary(rejects);
                dict(path, keys, values)
            }),
        ),
    ])
}

/// Bytes a view's block covers, and how far apart blocks start: a view
/// addresses its block with a 32-bit offset, so a file beyond 4 GiB is seen
/// through overlapping 2 GiB windows, one every GiB.
const WINDOW: usize = 1 << 31;
const WINDOW_STEP: usize = 1 << 30;

/// The rejected lines as they were written, as views into the source files'
/// bytes: Online Retail's 13 MB of rejected lines are not copied (copying
/// them into a string column took 13 ms), only checked to be UTF-8. A line
/// that is not (decoded as latin-1, as the parser does) or not in a buffer
/// is stored as its text. Parquet stores the column as plain strings.
fn raw_lines(rejects: &[Reject], buffers: &[Option<Arc<SourceBytes>>]) -> StringViewArray {
    raw_lines_in_windows(rejects, buffers, WINDOW, WINDOW_STEP)
}

/// [`raw_lines`] with blocks of `window` bytes, one every `step` bytes.
fn raw_lines_in_windows(
    rejects: &[Reject],
    buffers: &[Option<Arc<SourceBytes>>],
    window: usize,
    step: usize,
) -> StringViewArray {
    let mut raw = StringViewBuilder::with_capacity(rejects.len());
    // Each file's bytes as one Arrow buffer (made on first use), and the
    // block of the last window used: (file, window index, block).
    let mut shared: Vec<Option<arrow::buffer::Buffer>> = vec![None; buffers.len()];
    let mut current: Option<(u16, usize, u32)> = None;
    for x in rejects {
        if let (RawLine::Span { offset, len }, Some(Some(buf))) =
            (&x.raw, buffers.get(usize::from(x.file)))
        {
            let (start, len) = (*offset as usize, *len as usize);
            let k = start / step;
            if len <= window - step && start + len <= buf.len() {
                let block = match current {
                    Some((file, w, block)) if file == x.file && w == k => block,
                    _ => {
                        let whole = shared[usize::from(x.file)]
                            .get_or_insert_with(|| crate::source_file::shared_buffer(buf));
                        let from = k * step;
                        let part = whole.slice_with_length(from, window.min(buf.len() - from));
                        let block = raw.append_block(part);
                        current = Some((x.file, k, block));
                        block
                    }
                };
                let at = (start - k * step) as u32;
                if raw.try_append_view(block, at, len as u32).is_ok() {
                    continue;
                }
            }
        }
        raw.append_value(crate::rows::raw_text(buffers, x));
    }
    raw.finish()
}

/// A dictionary array of `keys` into `values` (a column of `path`).
fn dict<K: arrow::datatypes::ArrowDictionaryKeyType>(
    path: &Path,
    keys: arrow::array::PrimitiveArray<K>,
    values: StringArray,
) -> Result<ArrayRef> {
    let array = DictionaryArray::<K>::try_new(keys, Arc::new(values)).map_err(|source| {
        recpipe_core::CoreError::Arrow {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(Arc::new(array))
}

/// Distinct details the rejects' dictionary looks up at most. A log whose
/// every bad row says something of its own (`ts` = `bad1`, `bad2`, ...)
/// would otherwise hash millions of texts into a map that only grows:
/// past this many, a detail not yet in the map is appended as a value of
/// its own (an Arrow dictionary may repeat values). 2M unique details:
/// write phase 0.99 -> 0.55 s with the cap.
const MAX_INDEXED_DETAILS: usize = 1 << 16;

/// The rejects' details as dictionary keys and values, in order of first
/// appearance. Rejects that share a detail mostly share its `Arc` too, so
/// a run of the same pointer skips the lookup.
fn detail_dictionary(rejects: &[Reject]) -> (UInt32Array, StringArray) {
    let mut index: crate::ids::FastMap<&str, u32> = Default::default();
    let mut values: Vec<&str> = Vec::new();
    let mut last: Option<(&Arc<str>, u32)> = None;
    let keys = rejects
        .iter()
        .map(|x| {
            if let Some((ptr, key)) = last
                && Arc::ptr_eq(ptr, &x.detail)
            {
                return key;
            }
            let key = match index.get(&*x.detail) {
                Some(&key) => key,
                None => {
                    values.push(&x.detail);
                    let key = (values.len() - 1) as u32;
                    if index.len() < MAX_INDEXED_DETAILS {
                        index.insert(&x.detail, key);
                    }
                    key
                }
            };
            last = Some((&x.detail, key));
            key
        })
        .collect();
    (keys, StringArray::from_iter_values(values))
}

/// users.parquet, items.parquet, rejects.parquet (and true_segments.parquet
/// for synthetic data).
fn write_tables(dir: &Path, c: &Cleaned, names: &[String], columns: &Columns) -> Result<()> {
    // users.parquet
    let path = dir.join(USERS_FILE);
    let u = &c.users;
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            USER_IDX,
            Arc::new(UInt32Array::from_iter_values(0..u.len() as u32)),
        ),
        (USER_ID, strings(u.iter().map(|r| Some(r.id.as_str())))),
    ];
    if columns.demographics {
        cols.push((GENDER, strings(u.iter().map(|r| r.gender.as_deref()))));
        cols.push((AGE, strings(u.iter().map(|r| r.age.as_deref()))));
        cols.push((
            OCCUPATION,
            strings(u.iter().map(|r| r.occupation.as_deref())),
        ));
        cols.push((ZIP, strings(u.iter().map(|r| r.zip.as_deref()))));
    }
    if columns.country {
        cols.push((COUNTRY, strings(u.iter().map(|r| r.country.as_deref()))));
    }
    write_parquet(&path, &batch(&path, cols)?)?;

    // items.parquet
    let path = dir.join(ITEMS_FILE);
    let it = &c.items;
    let mut genres = ListBuilder::new(StringBuilder::new());
    for item in it {
        for g in &item.genres {
            genres.values().append_value(g);
        }
        genres.append(true);
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            ITEM_IDX,
            Arc::new(UInt32Array::from_iter_values(0..it.len() as u32)),
        ),
        (ITEM_ID, strings(it.iter().map(|r| Some(r.id.as_str())))),
        (TITLE, strings(it.iter().map(|r| r.title.as_deref()))),
        (
            YEAR,
            Arc::new(it.iter().map(|r| r.year).collect::<Int32Array>()),
        ),
        (GENRES, Arc::new(genres.finish())),
        (TEXT, strings(it.iter().map(|r| r.text.as_deref()))),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;

    // rejects.parquet
    let path = dir.join(REJECTS_FILE);
    // One name per file, not one String per rejected row.
    let cols = reject_columns(&path, &c.rejects, &c.buffers, names)?;
    write_parquet_grouped(
        &path,
        &batch(&path, cols)?,
        REJECTS_GROUP_ROWS,
        &REJECTS_HINTS,
    )?;

    if let Some(segs) = &c.true_segments {
        let path = dir.join(TRUE_SEGMENTS_FILE);
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                USER_IDX,
                Arc::new(UInt32Array::from_iter_values(0..segs.len() as u32)),
            ),
            (USER_ID, strings(u.iter().map(|r| Some(r.id.as_str())))),
            (TRUE_SEGMENT, Arc::new(UInt16Array::from(segs.clone()))),
        ];
        write_parquet(&path, &batch(&path, cols)?)?;
    }
    Ok(())
}

/// What the report counts: a pass over the rejects and one over the rows.
struct Tally {
    per_reason: [u64; Reason::ALL.len()],
    per_file: Vec<u64>,
    /// Min, max and sum of the interactions' values.
    values: (f32, f32, f64),
    /// Min and max time.
    times: (i64, i64),
}

impl Tally {
    fn of(c: &Cleaned, files: usize) -> Tally {
        let mut per_reason = [0u64; Reason::ALL.len()];
        let mut per_file = vec![0u64; files];
        for x in &c.rejects {
            per_reason[x.reason as usize] += 1;
            if let Some(f) = per_file.get_mut(x.file as usize) {
                *f += 1;
            }
        }
        let (mut vmin, mut vmax, mut vsum, mut tmin, mut tmax) =
            (f32::INFINITY, f32::NEG_INFINITY, 0f64, i64::MAX, i64::MIN);
        for row in &c.rows {
            vmin = vmin.min(row.value);
            vmax = vmax.max(row.value);
            vsum += row.value as f64;
            tmin = tmin.min(row.ts);
            tmax = tmax.max(row.ts);
        }
        Tally {
            per_reason,
            per_file,
            values: (vmin, vmax, vsum),
            times: (tmin, tmax),
        }
    }
}

/// Writes every output of the stage into `dir` and returns the report.
pub fn write(dir: &Path, c: &Cleaned, meta: SourceMeta) -> Result<IngestReport> {
    let SourceMeta {
        source,
        file_names,
        log_files,
        event_names,
        has_quantity,
        has_amount,
        columns,
        notes,
        raw_users,
    } = meta;
    let (names, event_names) = (&file_names[..], &event_names[..]);
    let n = c.rows.len();
    // The two big files (interactions, rejects) are encoded on both cores,
    // the report's counts taken beside them.
    let ((interactions, tables), tally) = rayon::join(
        || {
            rayon::join(
                || write_interactions(dir, c, event_names, has_quantity, has_amount),
                || write_tables(dir, c, names, &columns),
            )
        },
        || Tally::of(c, names.len()),
    );
    interactions?;
    tables?;

    // The report.
    let Tally {
        per_reason,
        per_file,
        values: (vmin, vmax, vsum),
        times: (tmin, tmax),
    } = tally;
    let by_reason: BTreeMap<String, u64> = Reason::ALL
        .iter()
        .zip(per_reason)
        .filter(|&(_, n)| n > 0)
        .map(|(r, n)| (r.code().to_string(), n))
        .collect();
    let rows_rejected = per_file.iter().take(log_files).sum();
    let report = IngestReport {
        source: source.to_string(),
        notes,
        rows_read: c.rows_read,
        rows_kept: c.rows_kept,
        rows_rejected,
        catalog_rows_rejected: per_file.iter().skip(log_files).sum(),
        rows_merged: c.rows_merged,
        rejected_by_reason: by_reason,
        files: names
            .iter()
            .zip(&per_file)
            .map(|(name, &n)| FileReport {
                file: name.clone(),
                rows_rejected: n,
            })
            .collect(),
        raw_users,
        interactions: n,
        users: c.users.len(),
        items: c.items.len(),
        density: n as f64 / (c.users.len() as f64 * c.items.len() as f64).max(1.0),
        value_min: vmin,
        value_max: vmax,
        value_mean: vsum / n.max(1) as f64,
        min_ts: tmin,
        max_ts: tmax,
        min_time: iso(tmin),
        max_time: iso(tmax),
    };
    write_json_atomic(&dir.join("ingest_report.json"), &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn raw_lines_are_the_rejected_text_whatever_the_windows() {
        // UTF-8 lines, a latin-1 one, one short enough to be inlined in its
        // view, and a second file; a rejected line's own text where there is
        // no buffer.
        let first: Vec<u8> =
            b"header\nu1,i1,5\nu2,Caf\xe9,x\nu3,a much longer item name,7\nab\n".to_vec();
        let second: Vec<u8> = "user,item\nü,ß\n".as_bytes().to_vec();
        let span = |buf: &[u8], line: &[u8]| {
            let offset = buf
                .windows(line.len())
                .position(|w| w == line)
                .expect("line") as u64;
            RawLine::Span {
                offset,
                len: line.len() as u32,
            }
        };
        let reject = |file: u16, raw: RawLine| Reject {
            file,
            line: 0,
            raw,
            reason: Reason::BadRating,
            detail: Arc::from("x"),
        };
        let rejects = vec![
            reject(0, span(&first, b"u1,i1,5")),
            reject(0, span(&first, b"u2,Caf\xe9,x")),
            reject(0, span(&first, b"u3,a much longer item name,7")),
            reject(0, span(&first, b"ab")),
            reject(1, span(&second, "ü,ß".as_bytes())),
            reject(2, RawLine::Text("rendered, from parquet".into())),
        ];
        let buffers = vec![
            Some(Arc::new(SourceBytes::from(first.clone()))),
            Some(Arc::new(SourceBytes::from(second.clone()))),
            None,
        ];
        let expected: Vec<String> = rejects
            .iter()
            .map(|x| crate::rows::raw_text(&buffers, x).into_owned())
            .collect();
        assert_eq!(expected[1], "u2,Café,x", "latin-1 decoded");
        // Windows smaller than the file, so that lines fall in different
        // (overlapping) blocks, and one window for the whole file.
        for (window, step) in [(64, 32), (16, 8), (WINDOW, WINDOW_STEP)] {
            let raw = raw_lines_in_windows(&rejects, &buffers, window, step);
            assert_eq!(raw.len(), rejects.len());
            let got: Vec<&str> = (0..raw.len()).map(|i| raw.value(i)).collect();
            assert_eq!(got, expected, "window {window}, step {step}");
        }
    }

    #[test]
    fn details_past_the_indexed_ones_keep_their_text_and_shared_ones_one_value() {
        let reject = |detail: Arc<str>| Reject {
            file: 0,
            line: 0,
            raw: RawLine::Text(String::new()),
            reason: Reason::BadTimestamp,
            detail,
        };
        let shared: Arc<str> = Arc::from("empty `user`");
        // Unique details past the cap, with the first one and an equal text
        // in a fresh `Arc` among them.
        let mut rejects = vec![reject(Arc::clone(&shared))];
        for i in 0..MAX_INDEXED_DETAILS + 10 {
            rejects.push(reject(Arc::from(format!("`ts` = `bad{i}`"))));
            if i % 1000 == 0 {
                rejects.push(reject(Arc::from("empty `user`")));
            }
        }
        let (keys, values) = detail_dictionary(&rejects);
        assert_eq!(keys.len(), rejects.len());
        for (x, key) in rejects.iter().zip(keys.values()) {
            assert_eq!(values.value(*key as usize), &*x.detail);
        }
        // Indexed before the cap, the shared text is one value.
        assert_eq!(
            (0..values.len())
                .filter(|&i| values.value(i) == "empty `user`")
                .count(),
            1
        );
        assert_eq!(values.len(), MAX_INDEXED_DETAILS + 11);
    }
}
