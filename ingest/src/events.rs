//! E-commerce / live-commerce behaviour logs: a CSV (plain, gzip or
//! Zstandard) or Parquet file whose columns are named in the configuration,
//! with optional items and users files of the same kinds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IngestError, Result};
use crate::ids::normalize_id;
use crate::params::{EventColumns, IngestParams, default_weights};
use crate::records::{
    Format, Record, check_line_count, decode_text, header, numbered_columns, par_parse,
    raw_records, split_fields,
};
use crate::rows::{
    ChunkRows, Columns, Interactions, ItemRecord, Reason, Row, SourceData, UserRecord,
    field_count_detail,
};
use crate::source_file::{is_parquet, read_file};
use crate::text::{LastTime, TimeFormat, parse_decimal};

/// The files an events source reads (for input hashing).
pub fn input_files(params: &IngestParams, resolve: impl Fn(&Path) -> PathBuf) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = &params.path {
        files.push(resolve(p));
    }
    if let Some(f) = &params.items_file {
        files.push(resolve(&f.path));
    }
    if let Some(f) = &params.users_file {
        files.push(resolve(&f.path));
    }
    files
}

/// The column names among `columns` that are set (those a file is read for).
fn named<'a>(columns: impl IntoIterator<Item = Option<&'a String>>) -> Vec<&'a str> {
    columns.into_iter().flatten().map(String::as_str).collect()
}

/// The index of column `name` in `header`, or an error naming the nearest one.
fn column_index(path: &Path, header: &[String], name: &str) -> Result<usize> {
    if let Some(i) = header.iter().position(|h| h == name) {
        return Ok(i);
    }
    if let Some(i) = header.iter().position(|h| h.eq_ignore_ascii_case(name)) {
        return Ok(i);
    }
    let nearest = recpipe_core::names::nearest(name, header.iter().map(String::as_str))
        .map(|h| format!("; did you mean `{h}`?"))
        .unwrap_or_default();
    Err(IngestError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
        available: header.join(", "),
        hint: nearest,
    })
}

/// Field positions of the mapped columns.
struct Positions {
    n: usize,
    user: usize,
    item: usize,
    ts: usize,
    event: Option<usize>,
    rating: Option<usize>,
    quantity: Option<usize>,
    price: Option<usize>,
    title: Option<usize>,
    text: Option<usize>,
    country: Option<usize>,
}

impl Positions {
    fn new(path: &Path, header: &[String], c: &EventColumns) -> Result<Self> {
        let opt = |name: &Option<String>| {
            name.as_deref()
                .map(|n| column_index(path, header, n))
                .transpose()
        };
        Ok(Positions {
            n: header.len(),
            user: column_index(path, header, &c.user)?,
            item: column_index(path, header, &c.item)?,
            ts: column_index(path, header, &c.timestamp)?,
            event: opt(&c.event)?,
            rating: opt(&c.rating)?,
            quantity: opt(&c.quantity)?,
            price: opt(&c.price)?,
            title: opt(&c.title)?,
            text: opt(&c.text)?,
            country: opt(&c.country)?,
        })
    }
}

/// Rows of a Parquet log rendered as text per task.
const RENDER_ROWS: usize = 1 << 14;

/// Reads a Parquet file as CSV text (a header, then the rows, values
/// separated by `delim`), so that it goes through the same validation. A
/// row's `line` is its row number (1-based): with the text, when a value
/// holds a newline (so that a row spans several lines of the text), comes
/// the text line each row starts on, for [`lines_to_rows`].
///
/// polars does the reading: a user's log can hold any Parquet type (dates,
/// timestamps in any unit or zone, decimals, categoricals), which it turns
/// into text (dates and times as unix seconds). Only the `wanted` columns
/// are decoded, unless `every_column` (rows compared whole, as
/// `drop_duplicate_rows` compares a CSV's lines) or one of them is missing
/// (so that the header check can list them all). The rows are rendered in
/// ranges of [`RENDER_ROWS`] side by side: one thread took 5 times the
/// CSV's read time on Online Retail as Parquet.
fn parquet_as_csv(
    path: &Path,
    wanted: &[&str],
    every_column: bool,
    numeric_time: Option<(&str, i64)>,
    delim: u8,
) -> Result<(Vec<u8>, Option<Vec<u64>>)> {
    use polars::prelude::{DataType, LazyFrame, PlRefPath, ScanArgsParquet, TimeUnit, col, lit};
    use rayon::prelude::*;
    let pe = |source| IngestError::Polars {
        path: path.to_path_buf(),
        source,
    };
    check_loadable(path)?;
    let pl_path = PlRefPath::try_from_path(path).map_err(pe)?;
    let mut lazy = LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(pe)?;
    let schema = lazy.collect_schema().map_err(pe)?;
    let all: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let names: Vec<&String> = if every_column || !wanted.iter().all(|w| all.iter().any(|n| n == w))
    {
        all.iter().collect()
    } else {
        all.iter()
            .filter(|n| wanted.contains(&n.as_str()))
            .collect()
    };
    // Dates and times become unix seconds (time zones and units vary too
    // much for their text forms; the parser reads fractional seconds), as
    // whole ticks written out below; so do integers. Other values are
    // rendered by polars.
    let ticks_per_second = |n: &str| match schema.get(n) {
        Some(DataType::Datetime(unit, _)) => Some(match unit {
            TimeUnit::Nanoseconds => 1_000_000_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Milliseconds => 1_000,
        }),
        Some(
            DataType::Date
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32,
        ) => Some(match numeric_time {
            // Numbers in the time column, in its configured unit.
            Some((time, per_second)) if time == n => per_second,
            _ => 1,
        }),
        _ => None,
    };
    let as_text = |n: &str| {
        let c = col(n);
        match schema.get(n) {
            Some(DataType::Date) => c.to_physical().cast(DataType::Int64) * lit(86_400i64),
            Some(DataType::Datetime(..)) => c.to_physical().cast(DataType::Int64),
            // Joined below: polars casts no list to text.
            Some(DataType::List(_)) => c,
            _ if ticks_per_second(n).is_some() => c.cast(DataType::Int64),
            Some(t) if t.is_float() => match numeric_time {
                Some((time, per_second)) if time == n && per_second > 1 => {
                    (c.cast(DataType::Float64) / lit(per_second as f64)).cast(DataType::String)
                }
                _ => c.cast(DataType::String),
            },
            _ => c.cast(DataType::String),
        }
    };
    let as_text_error = |n: &str, reason| {
        let unmapped = !wanted.contains(&n);
        IngestError::ColumnAsText {
            path: path.to_path_buf(),
            column: n.to_string(),
            reason,
            hint: if unmapped && every_column {
                "; `drop_duplicate_rows` compares rows whole, this column too: turn it off, or leave the column out of the file".into()
            } else {
                String::new()
            },
        }
    };
    let frame = match lazy
        .clone()
        .select(names.iter().map(|n| as_text(n)).collect::<Vec<_>>())
        .collect()
    {
        Ok(frame) => frame,
        // Name the column polars could not render (a list, binary that is
        // not UTF-8), trying them one at a time.
        Err(e) => {
            for n in &names {
                if let Err(reason) = lazy.clone().select([as_text(n)]).collect() {
                    return Err(as_text_error(n, reason));
                }
            }
            return Err(pe(e));
        }
    };
    let special = Special::new(delim);
    let mut header = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            header.push(delim);
        }
        let mut field = vec![0; special.measure(Field::Text(n, false)).0];
        special.write(&mut field, Field::Text(n, false));
        header.extend_from_slice(&field);
    }
    header.push(b'\n');
    let columns = names
        .iter()
        .map(|n| {
            let column = frame.column(n.as_str()).map_err(pe)?;
            Ok(match ticks_per_second(n) {
                Some(per_second) => Rendered::Ticks(column.i64().map_err(pe)?.clone(), per_second),
                None if matches!(schema.get(n), Some(DataType::List(_))) => Rendered::Text(
                    joined_lists(column.list().map_err(pe)?).map_err(|e| as_text_error(n, e))?,
                    false,
                ),
                None => {
                    // Numbers rendered by polars never need quotes.
                    let plain = schema.get(n).is_some_and(|t| t.is_primitive_numeric());
                    Rendered::Text(column.str().map_err(pe)?.clone(), plain)
                }
            })
        })
        .collect::<Result<Vec<Rendered>>>()?;
    let height = frame.height();
    let ranges: Vec<(usize, usize)> = (0..height)
        .step_by(RENDER_ROWS)
        .map(|from| (from, (from + RENDER_ROWS).min(height)))
        .collect();
    // Two passes over the ranges, side by side, each a column at a time:
    // the rows' lengths, then the text written in place (parts joined
    // after would copy the text once more, into freshly faulted pages).
    // The first pass also notes which columns quote a value in the range:
    // the others are copied as they are.
    let measured: Vec<(Vec<usize>, Vec<bool>)> = ranges
        .par_iter()
        .map(|&(from, to)| {
            let mut lengths = vec![0; to - from];
            let mut quoting = vec![false; columns.len()];
            for (i, column) in columns.iter().enumerate() {
                each_value(column, from, to, false, |row, value| {
                    let (len, quoted) = value.map_or((0, false), |v| special.measure(v));
                    lengths[row] += usize::from(i > 0) + len;
                    quoting[i] |= quoted;
                });
            }
            (lengths, quoting)
        })
        .collect();
    let (row_lengths, quoting): (Vec<Vec<usize>>, Vec<Vec<bool>>) = measured.into_iter().unzip();
    // Each range's bytes, its rows' line ends included.
    let sizes: Vec<usize> = row_lengths
        .iter()
        .map(|lengths| lengths.iter().map(|len| len + 1).sum())
        .collect();
    // Zeroed by the allocator as fresh pages (growing `out` would first
    // write every byte on one thread).
    let mut out = vec![0; header.len() + sizes.iter().sum::<usize>()];
    out[..header.len()].copy_from_slice(&header);
    let mut pieces = Vec::with_capacity(ranges.len());
    let mut rest = &mut out[header.len()..];
    for size in sizes {
        let (piece, tail) = rest.split_at_mut(size);
        pieces.push(piece);
        rest = tail;
    }
    // The rows (with their newline counts) whose values hold newlines.
    let spanning: Vec<(usize, u64)> = ranges
        .par_iter()
        .zip(row_lengths)
        .zip(quoting)
        .zip(pieces)
        .flat_map_iter(|(((&(from, to), lengths), quoting), piece)| {
            // Where each row's next byte goes.
            let mut at: Vec<usize> = lengths
                .iter()
                .scan(0, |start, len| {
                    let row_start = *start;
                    *start += len + 1;
                    Some(row_start)
                })
                .collect();
            let mut newlines: Vec<(usize, u64)> = Vec::new();
            for (i, column) in columns.iter().enumerate() {
                each_value(column, from, to, !quoting[i], |row, value| {
                    let at = &mut at[row];
                    if i > 0 {
                        piece[*at] = delim;
                        *at += 1;
                    }
                    if let Some(v) = value {
                        let (written, n) = special.write(&mut piece[*at..], v);
                        *at += written;
                        if n > 0 {
                            newlines.push((from + row, n));
                        }
                    }
                });
            }
            for end in at {
                piece[end] = b'\n';
            }
            // One entry per row, in row order.
            newlines.sort_unstable();
            newlines.dedup_by(|later, first| {
                let same = later.0 == first.0;
                if same {
                    first.1 += later.1;
                }
                same
            });
            newlines
        })
        .collect();
    // The text line each row starts on, counted as the parser counts (the
    // first row's is 1), when any row spans more than one.
    let starts = (!spanning.is_empty()).then(|| {
        let (mut starts, mut extra, mut next) = (Vec::with_capacity(height), 0, 0);
        for row in 0..height {
            starts.push(row as u64 + 1 + extra);
            if spanning.get(next).is_some_and(|&(r, _)| r == row) {
                extra += spanning[next].1;
                next += 1;
            }
        }
        starts
    });
    Ok((out, starts))
}

/// A list column as text: each row's values (as polars renders them)
/// joined by `|`, the separator of MovieLens genres, so that a list of
/// genres or tags in an items file reads as the genres of a CSV one.
fn joined_lists(
    lists: &polars::prelude::ListChunked,
) -> polars::prelude::PolarsResult<polars::prelude::StringChunked> {
    use polars::prelude::{DataType, StringChunked};
    let mut joined: Vec<Option<String>> = Vec::with_capacity(lists.len());
    for row in lists.amortized_iter() {
        joined.push(match row {
            None => None,
            Some(values) => {
                let values = values.as_ref().cast(&DataType::String)?;
                let parts: Vec<&str> = (values.str()?.downcast_iter())
                    .flat_map(|array| array.iter().flatten())
                    .collect();
                Some(parts.join("|"))
            }
        });
    }
    Ok(joined.into_iter().collect::<StringChunked>())
}

/// Refuses a Parquet log with a column of a type polars (with the data
/// types this build enables) cannot load: polars panics on one when it
/// reads the file's schema, even where the query leaves it out.
fn check_loadable(path: &Path) -> Result<()> {
    let (builder, _) = recpipe_core::parquet_io::open_footer(path)?;
    match builder
        .schema()
        .fields()
        .iter()
        .find(|f| !loadable(f.data_type()))
    {
        Some(field) => Err(IngestError::UnreadableColumn {
            path: path.to_path_buf(),
            column: field.name().clone(),
            kind: field.data_type().to_string(),
        }),
        None => Ok(()),
    }
}

/// Whether polars, as built here, loads a column of Arrow type `t`.
fn loadable(t: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType as T;
    match t {
        T::Null
        | T::Boolean
        | T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float32
        | T::Float64
        | T::Utf8
        | T::LargeUtf8
        | T::Utf8View
        | T::Binary
        | T::LargeBinary
        | T::BinaryView
        | T::FixedSizeBinary(_)
        | T::Date32
        | T::Date64
        | T::Time32(_)
        | T::Time64(_)
        | T::Timestamp(..)
        | T::Duration(_)
        | T::Decimal32(..)
        | T::Decimal64(..)
        | T::Decimal128(..)
        | T::Decimal256(..) => true,
        T::List(f) | T::LargeList(f) | T::Map(f, _) => loadable(f.data_type()),
        T::Struct(fields) => fields.iter().all(|f| loadable(f.data_type())),
        T::Dictionary(_, values) => loadable(values),
        _ => false,
    }
}

/// A column of a Parquet log as it is rendered.
enum Rendered {
    /// polars' text of the values, and whether none can need quotes.
    Text(polars::prelude::StringChunked, bool),
    /// Whole numbers, and how many make one (1 for integers, 1,000 for
    /// times in milliseconds, ...): written as decimal seconds.
    Ticks(polars::prelude::Int64Chunked, i64),
}

/// A value to write as a CSV field.
#[derive(Clone, Copy)]
enum Field<'a> {
    /// Text, and whether it cannot need quotes.
    Text(&'a str, bool),
    /// Ticks and ticks per second.
    Ticks(i64, i64),
}

/// Calls `f(row - from, value)` for every value of `column` in the rows
/// `from..to`; its text as needing no quotes if `plain`.
fn each_value(
    column: &Rendered,
    from: usize,
    to: usize,
    plain: bool,
    mut f: impl FnMut(usize, Option<Field>),
) {
    let mut row = 0;
    match column {
        Rendered::Text(values, always_plain) => {
            let plain = plain || *always_plain;
            for array in values.slice(from as i64, to - from).downcast_iter() {
                for value in array.iter() {
                    f(row, value.map(|v| Field::Text(v, plain)));
                    row += 1;
                }
            }
        }
        Rendered::Ticks(values, per_second) => {
            for array in values.slice(from as i64, to - from).downcast_iter() {
                for value in array.iter() {
                    f(row, value.map(|&v| Field::Ticks(v, *per_second)));
                    row += 1;
                }
            }
        }
    }
}

/// `ticks / per_second` (a power of ten) in decimal, exactly and as short
/// as it goes: `-1.5` for -1,500 milliseconds, `1291191960` for that
/// second in microseconds. (polars' own rendering went through floats:
/// slower, and inexact for nanoseconds.)
fn ticks_text(ticks: i64, per_second: i64, buf: &mut [u8; 48]) -> &[u8] {
    let per_second = per_second.unsigned_abs().max(1);
    let magnitude = ticks.unsigned_abs();
    let (mut whole, mut fraction) = (magnitude / per_second, magnitude % per_second);
    let mut at = buf.len();
    if fraction != 0 {
        let mut digits = per_second.ilog10();
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        for _ in 0..digits {
            at -= 1;
            buf[at] = b'0' + (fraction % 10) as u8;
            fraction /= 10;
        }
        at -= 1;
        buf[at] = b'.';
    }
    loop {
        at -= 1;
        buf[at] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    if ticks < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// The bytes that make a CSV field quoted: the delimiter, a quote, a line end.
struct Special([bool; 256]);

impl Special {
    fn new(delim: u8) -> Self {
        let mut special = [false; 256];
        for b in [delim, b'"', b'\n', b'\r'] {
            special[usize::from(b)] = true;
        }
        Special(special)
    }

    /// Whether `field` is written in quotes.
    fn quoted(&self, field: Field) -> bool {
        match field {
            Field::Text(text, false) => text.bytes().any(|b| self.0[usize::from(b)]),
            _ => false,
        }
    }

    /// Bytes `field` takes, and whether they are quoted.
    fn measure(&self, field: Field) -> (usize, bool) {
        match field {
            Field::Ticks(ticks, per_second) => {
                (ticks_text(ticks, per_second, &mut [0; 48]).len(), false)
            }
            Field::Text(text, _) if self.quoted(field) => (
                text.len() + 2 + text.bytes().filter(|&b| b == b'"').count(),
                true,
            ),
            Field::Text(text, _) => (text.len(), false),
        }
    }

    /// Writes `field` at the start of `out` (at least [`Special::measure`]
    /// bytes): the bytes written and the newlines in them.
    fn write(&self, out: &mut [u8], field: Field) -> (usize, u64) {
        let bytes = match field {
            Field::Ticks(ticks, per_second) => {
                let mut buf = [0; 48];
                let text = ticks_text(ticks, per_second, &mut buf);
                out[..text.len()].copy_from_slice(text);
                return (text.len(), 0);
            }
            Field::Text(text, _) => text.as_bytes(),
        };
        if !self.quoted(field) {
            out[..bytes.len()].copy_from_slice(bytes);
            return (bytes.len(), 0);
        }
        let (mut at, mut newlines) = (1, 0);
        out[0] = b'"';
        for &b in bytes {
            if b == b'"' {
                out[at] = b'"';
                at += 1;
            }
            newlines += u64::from(b == b'\n');
            out[at] = b;
            at += 1;
        }
        out[at] = b'"';
        (at + 1, newlines)
    }
}

/// A table's bytes as CSV text: a CSV file as it is, a Parquet file
/// rendered by [`parquet_as_csv`] (the `wanted` columns, or all of them
/// when `every_column`; the numbers of the `numeric_time` column counted in
/// ticks of which so many make a second), with the text line each row
/// starts on when a value spans lines, and whether the file is Parquet.
/// `what` names the file in errors.
fn table_text(
    path: &Path,
    what: &str,
    wanted: &[&str],
    every_column: bool,
    numeric_time: Option<(&str, i64)>,
    delim: u8,
) -> Result<(Arc<crate::source_file::SourceBytes>, Option<Vec<u64>>, bool)> {
    if !is_parquet(path) {
        return Ok((read_file(path, what)?, None, false));
    }
    if !path.is_file() {
        return Err(IngestError::MissingFile {
            path: path.to_path_buf(),
            what: what.into(),
        });
    }
    let (text, starts) = parquet_as_csv(path, wanted, every_column, numeric_time, delim)?;
    Ok((Arc::new(text.into()), starts, true))
}

/// The row number (1-based) of the row that starts on text line `line` of
/// a Parquet file's rendering (`starts`: see [`parquet_as_csv`]).
fn row_of(starts: &[u64], line: u64) -> u64 {
    starts.binary_search(&line).map_or(line, |r| r as u64 + 1)
}

/// Renumbers the rows and rejects of a Parquet log whose CSV rendering has
/// rows spanning several lines (`starts`: the text line each row starts
/// on, ascending) by their row numbers, as the file's reader counts them.
fn lines_to_rows(inter: &mut Interactions, starts: &[u64]) {
    for r in &mut inter.rows {
        // Row numbers are at most the text lines, which fit (checked).
        r.line = row_of(starts, u64::from(r.line)) as u32;
    }
    for x in &mut inter.rejects {
        x.line = row_of(starts, x.line);
    }
}

/// Reads an events log.
pub fn read(params: &IngestParams, resolve: impl Fn(&Path) -> PathBuf) -> Result<SourceData> {
    let path = resolve(params.path.as_deref().unwrap_or(Path::new("")));
    let Some(columns) = params.columns.as_ref() else {
        return Err(IngestError::Params(
            "`columns` is required for `source: events`".into(),
        ));
    };
    let delim = params.delimiter.map_or(b',', |c| c as u8);
    let format = Format::Csv(delim);
    let wanted = named([
        Some(&columns.user),
        Some(&columns.item),
        Some(&columns.timestamp),
        columns.event.as_ref(),
        columns.rating.as_ref(),
        columns.quantity.as_ref(),
        columns.price.as_ref(),
        columns.title.as_ref(),
        columns.text.as_ref(),
        columns.country.as_ref(),
    ]);
    let dedup = params.drop_duplicate_rows.unwrap_or(false);
    let unit = params.timestamp_unit.unwrap_or_default().per_second();
    let numeric_time = (columns.timestamp.as_str(), unit);
    let (buf, row_starts, is_parquet) =
        table_text(&path, "events", &wanted, dedup, Some(numeric_time), delim)?;
    check_line_count(&path, &buf)?;
    let first = if is_parquet || params.header.unwrap_or(true) {
        header(&buf, format)
    } else {
        numbered_columns(&buf, format)
    };
    let (names, start, mut first_line) =
        first.ok_or_else(|| IngestError::EmptyFile { path: path.clone() })?;
    if is_parquet {
        first_line = 1;
    }
    let pos = Positions::new(&path, &names, columns)?;
    let weights = params.weights.clone().unwrap_or_else(default_weights);
    let event_names: Vec<String> = weights.keys().cloned().collect();
    let weight_of: BTreeMap<String, (u8, f32)> = weights
        .iter()
        .enumerate()
        .map(|(i, (k, w))| (k.to_lowercase(), (i as u8 + 1, *w)))
        .collect();
    let constant_event = match (&pos.event, &params.event_type) {
        (Some(_), _) => None,
        // Ratings carry no event type (their `event` is null).
        (None, None) if pos.rating.is_some() => Some((0, 1.0)),
        (None, name) => {
            let name = name.clone().unwrap_or_else(|| "purchase".into());
            Some(*weight_of.get(&name.to_lowercase()).ok_or_else(|| {
                IngestError::Params(format!(
                    "event_type `{name}` has no weight (weights: {})",
                    event_names.join(", ")
                ))
            })?)
        }
    };
    // A Parquet log's numbers come rendered in seconds (see `table_text`).
    let time = match (&params.timestamp_format, unit) {
        (Some(f), _) => TimeFormat::Chrono(f.clone()),
        (None, 1) => TimeFormat::Auto,
        (None, _) if is_parquet => TimeFormat::Auto,
        (None, per_second) => TimeFormat::Ticks(per_second),
    };
    let strip = params.normalize_ids.unwrap_or(true);
    let rating_scale = params.rating_scale.unwrap_or([1.0, 5.0]);
    let comma = params.decimal == Some(',');
    let positive_price = params.require_positive_price.unwrap_or(true);

    let mut data = SourceData::default();
    let inter = &mut data.interactions;
    inter.files.push(path.clone());
    inter
        .buffers
        .push(if is_parquet { None } else { Some(buf.clone()) });
    inter.event_names = event_names.clone();
    inter.event_weights = weights.values().copied().collect();
    inter.has_quantity = pos.quantity.is_some();
    inter.has_amount = pos.quantity.is_some() && pos.price.is_some();
    let base = buf.as_ptr() as usize;
    // Logs miss ids on many rows (Online Retail: 135,080): one shared text.
    let empty_user: Arc<str> = format!("empty `{}`", columns.user).into();
    let empty_item: Arc<str> = format!("empty `{}`", columns.item).into();
    let chunks = par_parse(
        &buf,
        start,
        first_line,
        format,
        // Each chunk its own copy of the shared texts: two threads cloning
        // one `Arc` contend for its count on every rejected row.
        |lines| EventChunk {
            rows: ChunkRows::in_buffer(&buf, lines),
            empty_user: Arc::from(&*empty_user),
            empty_item: Arc::from(&*empty_item),
            last_time: LastTime::default(),
        },
        |state: &mut EventChunk, rec: Record<'_, '_>| {
            let EventChunk {
                rows: st,
                empty_user,
                empty_item,
                last_time,
            } = state;
            let (file, line, raw) = (0u16, rec.line, rec.raw);
            if rec.fields.len() != pos.n {
                st.reject(
                    file,
                    line,
                    raw,
                    Reason::WrongFieldCount,
                    field_count_detail(pos.n, rec.fields.len(), raw),
                );
                return;
            }
            let f = &rec.fields;
            let user = normalize_id(&f[pos.user], strip);
            if user.is_empty() {
                st.reject(file, line, raw, Reason::MissingUser, empty_user.clone());
                return;
            }
            let user = st.users.intern(user);
            let item = normalize_id(&f[pos.item], strip);
            if item.is_empty() {
                st.reject(file, line, raw, Reason::MissingItem, empty_item.clone());
                return;
            }
            let Some(ts) = last_time.parse(&time, &f[pos.ts]) else {
                st.reject(
                    file,
                    line,
                    raw,
                    Reason::BadTimestamp,
                    format!(
                        "`{}` = `{}` is not a timestamp",
                        columns.timestamp,
                        decode_text(&f[pos.ts])
                    ),
                );
                return;
            };
            let (event, value) = match (constant_event, pos.event) {
                (Some(c), _) => c,
                (None, Some(i)) => {
                    let name = decode_text(&f[i]).trim().to_lowercase();
                    match weight_of.get(&name) {
                        Some(&c) => c,
                        None => {
                            st.reject(
                                file,
                                line,
                                raw,
                                Reason::UnknownEvent,
                                format!("event type `{name}` has no weight"),
                            );
                            return;
                        }
                    }
                }
                (None, None) => (0, 1.0),
            };
            // The rating, quantity and price fields, or why the row goes.
            let numbers = || -> std::result::Result<(f32, f64, f64), (Reason, String)> {
                let number = |i: usize, bad: Reason, what: &str| {
                    parse_decimal(&f[i], comma)
                        .ok_or_else(|| (bad, not_a_number(what, &f[i], comma)))
                };
                let mut value = value;
                if let Some(i) = pos.rating {
                    let rating = number(i, Reason::BadRating, "rating")? as f32;
                    if !(rating_scale[0]..=rating_scale[1]).contains(&rating) {
                        let [lo, hi] = rating_scale;
                        let detail = format!("{rating} is outside [{lo}, {hi}]");
                        return Err((Reason::RatingOutOfScale, detail));
                    }
                    value = rating;
                }
                let mut quantity = 1.0;
                if let Some(i) = pos.quantity {
                    quantity = number(i, Reason::BadQuantity, "quantity")?;
                    if quantity <= 0.0 {
                        let detail = format!("quantity {quantity}");
                        return Err((Reason::NonPositiveQuantity, detail));
                    }
                }
                let mut amount = 0.0;
                if let Some(i) = pos.price {
                    let price = number(i, Reason::BadPrice, "price")?;
                    if price <= 0.0 && positive_price {
                        return Err((Reason::NonPositivePrice, format!("price {price}")));
                    }
                    amount = price * quantity;
                }
                Ok((value, quantity, amount))
            };
            let (value, quantity, amount) = match numbers() {
                Ok(numbers) => numbers,
                Err((reason, detail)) => {
                    st.reject(file, line, raw, reason, detail);
                    return;
                }
            };
            let item = st.items.intern(item);
            // Title and text: the first non-empty per item (only looked at until found).
            let slot = item as usize;
            if st.text_seen.len() <= slot {
                st.text_seen.resize(slot + 1, false);
            }
            if !st.text_seen[slot] {
                let field = |i: Option<usize>| {
                    i.and_then(|i| {
                        Some(decode_text(&f[i]).trim().to_string()).filter(|s| !s.is_empty())
                    })
                };
                let (title, text) = (field(pos.title), field(pos.text));
                if title.is_some() || text.is_some() {
                    st.text_seen[slot] = title.is_some() && (text.is_some() || pos.text.is_none());
                    st.item_text.push((item, title, text));
                }
            }
            // Country: the last non-empty per user, allocated only when it changes.
            if let Some(i) = pos.country {
                let c = f[i].trim_ascii();
                if !c.is_empty() {
                    let slot = user as usize;
                    if st.country.len() <= slot {
                        st.country.resize(slot + 1, None);
                    }
                    if st.country[slot].as_deref().map(str::as_bytes) != Some(c) {
                        st.country[slot] = Some(decode_text(c).into_owned());
                    }
                }
            }
            st.push(Row {
                user,
                item,
                value,
                ts,
                event,
                quantity,
                amount,
                file,
                line: line as u32, // within u32: checked above
                offset: (raw.as_ptr() as usize - base) as u64,
                len: raw.len() as u32,
            });
        },
        |st, by| st.rows.shift_lines(by),
    );
    inter.absorb_chunks(chunks.into_iter().map(|c| c.rows).collect());
    if let Some(starts) = &row_starts {
        lines_to_rows(inter, starts);
    }
    inter.raw_users = inter.users.len();
    if is_parquet {
        // Rejects quote rows from the CSV rendering of the Parquet file.
        inter.buffers[0] = Some(buf.clone());
    }
    data.columns = Columns {
        demographics: false,
        country: pos.country.is_some(),
    };
    if let Some(f) = &params.items_file {
        data.items = Some(read_items_file(
            &mut data.interactions,
            &resolve(&f.path),
            f,
            delim,
        )?);
    }
    if let Some(f) = &params.users_file {
        let users = read_users_file(&mut data.interactions, &resolve(&f.path), f, delim)?;
        data.columns.demographics = f.gender.is_some() || f.age.is_some();
        data.columns.country |= f.country.is_some();
        data.users = Some(users);
    }
    Ok(data)
}

/// Why a `what` field is rejected as no number; a number written with a
/// decimal comma where `decimal: ","` is not set says so.
fn not_a_number(what: &str, field: &[u8], comma: bool) -> String {
    let hint = if !comma && crate::text::parse_decimal(field, true).is_some() {
        " (a decimal comma? set `decimal: \",\"`)"
    } else {
        ""
    };
    format!("{what} `{}` is not a number{hint}", decode_text(field))
}

/// One chunk's parse state: its rows and rejects, its own copies of the
/// texts every row missing an id shares, and the last time text it parsed.
struct EventChunk {
    rows: ChunkRows,
    empty_user: Arc<str>,
    empty_item: Arc<str>,
    last_time: LastTime,
}

/// A small table read whole: header, (line, fields) rows, file index.
type SideTable = (Vec<String>, Vec<(u64, Vec<String>)>, u16);

/// An items or users file, CSV or Parquet (of which the `wanted` columns),
/// read whole; rows with the wrong field count are rejected.
fn side_table(
    inter: &mut Interactions,
    path: &Path,
    delim: u8,
    what: &str,
    wanted: &[&str],
) -> Result<SideTable> {
    let (buf, starts, parquet) = table_text(path, what, wanted, false, None, delim)?;
    let format = Format::Csv(delim);
    let (names, start, mut line) = header(&buf, format).ok_or_else(|| IngestError::EmptyFile {
        path: path.to_path_buf(),
    })?;
    if parquet {
        line = 1;
    }
    inter.files.push(path.to_path_buf());
    inter.buffers.push(None);
    let file = (inter.files.len() - 1) as u16;
    let mut rows = Vec::new();
    let mut rejects = ChunkRows::default();
    for (line, raw) in raw_records(&buf, start, line, format) {
        let fields = split_fields(&raw, format);
        if fields.len() != names.len() {
            rejects.reject(
                file,
                line,
                &raw,
                Reason::WrongFieldCount,
                field_count_detail(names.len(), fields.len(), &raw),
            );
            continue;
        }
        rows.push((
            starts.as_deref().map_or(line, |s| row_of(s, line)),
            fields
                .iter()
                .map(|f| decode_text(f).trim().to_string())
                .collect(),
        ));
    }
    inter.rejects.extend(rejects.rejects);
    Ok((names, rows, file))
}

fn read_items_file(
    inter: &mut Interactions,
    path: &Path,
    spec: &crate::params::ItemsFile,
    delim: u8,
) -> Result<Vec<ItemRecord>> {
    let wanted = named([
        Some(&spec.id),
        spec.title.as_ref(),
        spec.text.as_ref(),
        spec.genres.as_ref(),
    ]);
    let (names, rows, _) = side_table(inter, path, delim, "items", &wanted)?;
    let id = column_index(path, &names, &spec.id)?;
    let opt = |n: &Option<String>| {
        n.as_deref()
            .map(|n| column_index(path, &names, n))
            .transpose()
    };
    let (title, text, genres) = (opt(&spec.title)?, opt(&spec.text)?, opt(&spec.genres)?);
    let nonempty = |s: &String| (!s.is_empty()).then(|| s.clone());
    Ok(rows
        .into_iter()
        .filter(|(_, f)| !f[id].is_empty())
        .map(|(_, f)| {
            let title_s = title.and_then(|i| nonempty(&f[i]));
            ItemRecord {
                id: String::from_utf8_lossy(normalize_id(f[id].as_bytes(), true)).into_owned(),
                year: title_s.as_deref().and_then(crate::text::year_from_title),
                title: title_s,
                text: text.and_then(|i| nonempty(&f[i])),
                genres: genres
                    .map(|i| {
                        f[i].split('|')
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect())
}

fn read_users_file(
    inter: &mut Interactions,
    path: &Path,
    spec: &crate::params::UsersFile,
    delim: u8,
) -> Result<Vec<UserRecord>> {
    let wanted = named([
        Some(&spec.id),
        spec.gender.as_ref(),
        spec.age.as_ref(),
        spec.country.as_ref(),
    ]);
    let (names, rows, _) = side_table(inter, path, delim, "users", &wanted)?;
    let id = column_index(path, &names, &spec.id)?;
    let opt = |n: &Option<String>| {
        n.as_deref()
            .map(|n| column_index(path, &names, n))
            .transpose()
    };
    let (gender, age, country) = (opt(&spec.gender)?, opt(&spec.age)?, opt(&spec.country)?);
    let get =
        |f: &[String], i: Option<usize>| i.and_then(|i| (!f[i].is_empty()).then(|| f[i].clone()));
    Ok(rows
        .into_iter()
        .filter(|(_, f)| !f[id].is_empty())
        .map(|(_, f)| UserRecord {
            id: String::from_utf8_lossy(normalize_id(f[id].as_bytes(), true)).into_owned(),
            gender: get(&f, gender),
            age: get(&f, age),
            occupation: None,
            zip: None,
            country: get(&f, country),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_written_as_exact_decimal_seconds() {
        let text = |ticks, per_second| {
            String::from_utf8(ticks_text(ticks, per_second, &mut [0; 48]).to_vec()).expect("ascii")
        };
        assert_eq!(text(0, 1), "0");
        assert_eq!(text(-42, 1), "-42");
        assert_eq!(text(i64::MIN, 1), "-9223372036854775808");
        assert_eq!(text(1_291_191_960_000, 1_000), "1291191960");
        assert_eq!(text(1_291_191_960_500, 1_000), "1291191960.5");
        assert_eq!(text(1_291_191_960_000_007, 1_000_000), "1291191960.000007");
        assert_eq!(text(-1_500, 1_000), "-1.5");
        assert_eq!(text(-1, 1_000_000_000), "-0.000000001");
        assert_eq!(text(i64::MAX, 1_000_000_000), "9223372036.854775807");
        // What the parser makes of them: the second they fall in.
        for (ticks, per_second) in [
            (1_291_191_960_999, 1_000),
            (-1_500, 1_000),
            (-3, 1),
            (7, 1_000_000),
        ] {
            let seconds =
                crate::text::parse_f64(text(ticks, per_second).as_bytes()).expect("number");
            assert_eq!(
                seconds.floor() as i64,
                ticks.div_euclid(per_second),
                "{ticks}/{per_second}"
            );
        }
    }

    #[test]
    fn fields_are_quoted_only_where_csv_needs_it_and_measured_as_written() {
        let special = Special::new(b';');
        for (value, written) in [
            ("plain, with a comma", "plain, with a comma"),
            ("a;b", "\"a;b\""),
            ("12\" plate", "\"12\"\" plate\""),
            ("Lamp\nwhite", "\"Lamp\nwhite\""),
            ("Mug\r", "\"Mug\r\""),
            ("", ""),
        ] {
            let field = Field::Text(value, false);
            let (len, quoted) = special.measure(field);
            let mut out = vec![0; len];
            let (n, newlines) = special.write(&mut out, field);
            assert_eq!(
                (n, String::from_utf8(out).expect("utf-8")),
                (len, written.to_string())
            );
            assert_eq!(quoted, written.starts_with('"'), "{value:?}");
            assert_eq!(newlines, value.matches('\n').count() as u64);
        }
        // Text known to need no quotes is copied as it is.
        let mut out = vec![0; 3];
        assert_eq!(special.write(&mut out, Field::Text("1;2", true)), (3, 0));
        assert_eq!(out, b"1;2");
    }

    #[test]
    fn missing_column_suggests_nearest() {
        let header = vec!["InvoiceNo".to_string(), "CustomerID".to_string()];
        let err = column_index(Path::new("x.csv"), &header, "CustomerId ").expect_err("missing");
        let msg = err.to_string();
        assert!(msg.contains("did you mean `CustomerID`"), "{msg}");
    }
}
