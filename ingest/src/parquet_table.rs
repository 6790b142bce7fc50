//! Parquet tables read through polars: a users or items file rendered as
//! CSV text, so that it goes through the same validation as a CSV one.

use std::path::Path;

use crate::error::{IngestError, Result};

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
pub(crate) fn parquet_as_csv(
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
}
