//! Parquet tables read through polars, validated as CSV ones are: a log
//! row by row, each row's values as the fields of a CSV record
//! (`ParquetLog`), and a users or items file rendered as CSV text
//! (`parquet_as_csv`).

use std::path::Path;

use crate::error::{IngestError, Result};
use crate::records::{CHUNKS_PER_THREAD, Record};
use crate::rows::RowText;

/// Rows of a Parquet table rendered or parsed per task.
const RENDER_ROWS: usize = 1 << 14;

/// A Parquet table's columns as decoded by [`decode`].
struct Decoded {
    /// The columns' names, in the file's order.
    names: Vec<String>,
    /// The columns, each in one chunk.
    columns: Vec<Rendered>,
    /// Rows.
    height: usize,
}

/// Decodes a Parquet file's `wanted` columns, or all of them if
/// `every_column` (rows compared whole, as `drop_duplicate_rows` compares a
/// CSV's lines) or if one of them is missing (so that the header check can
/// list them all); the numbers of the `numeric_time` column counted in
/// ticks of which so many make a second.
///
/// polars does the reading: a user's log can hold any Parquet type (dates,
/// timestamps in any unit or zone, decimals, categoricals). Dates, times and
/// integers come as whole ticks, written out as unix seconds; 64-bit floats
/// as they are, written as polars writes them; everything else as polars'
/// text of it. With `first_rows`, only that many rows are read.
fn decode(
    path: &Path,
    wanted: &[&str],
    every_column: bool,
    numeric_time: Option<(&str, i64)>,
    first_rows: Option<usize>,
) -> Result<Decoded> {
    use polars::prelude::{
        DataType, HiveOptions, IdxSize, LazyFrame, PlRefPath, ScanArgsParquet, TimeUnit, col, lit,
    };
    let pe = |source| IngestError::Polars {
        path: path.to_path_buf(),
        source,
    };
    check_loadable(path)?;
    let pl_path = PlRefPath::try_from_path(path).map_err(pe)?;
    // The file's own columns only: by default polars adds a column for
    // each `key=value` folder on the path (a log folder's partitions), and
    // panicked on one whose values look like dates (`month=2010-12`).
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        ..ScanArgsParquet::default()
    };
    let mut lazy = LazyFrame::scan_parquet(pl_path, args).map_err(pe)?;
    if let Some(rows) = first_rows {
        lazy = lazy.slice(0, rows.try_into().unwrap_or(IdxSize::MAX));
    }
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
    // Times written as fractions of seconds.
    let scaled_time =
        |n: &str| matches!(numeric_time, Some((time, per_second)) if time == n && per_second > 1);
    let as_text = |n: &str| {
        let c = col(n);
        match schema.get(n) {
            Some(DataType::Date) => c.to_physical().cast(DataType::Int64) * lit(86_400i64),
            Some(DataType::Datetime(..)) => c.to_physical().cast(DataType::Int64),
            // Joined below: polars casts no list to text.
            Some(DataType::List(_)) => c,
            _ if ticks_per_second(n).is_some() => c.cast(DataType::Int64),
            Some(t) if t.is_float() && scaled_time(n) => {
                let per_second = numeric_time.map_or(1, |(_, per_second)| per_second);
                (c.cast(DataType::Float64) / lit(per_second as f64)).cast(DataType::String)
            }
            Some(DataType::Float64) => c,
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
    let columns = names
        .iter()
        .map(|n| {
            let column = frame.column(n.as_str()).map_err(pe)?;
            Ok(match ticks_per_second(n) {
                Some(per_second) => {
                    Rendered::Ticks(column.i64().map_err(pe)?.rechunk().into_owned(), per_second)
                }
                None if matches!(schema.get(n), Some(DataType::Float64)) && !scaled_time(n) => {
                    Rendered::Float(column.f64().map_err(pe)?.rechunk().into_owned())
                }
                None if matches!(schema.get(n), Some(DataType::List(_))) => Rendered::Text(
                    joined_lists(column.list().map_err(pe)?)
                        .map_err(|e| as_text_error(n, e))?
                        .rechunk()
                        .into_owned(),
                    false,
                ),
                None => {
                    // Numbers rendered by polars never need quotes.
                    let plain = schema.get(n).is_some_and(|t| t.is_primitive_numeric());
                    Rendered::Text(column.str().map_err(pe)?.rechunk().into_owned(), plain)
                }
            })
        })
        .collect::<Result<Vec<Rendered>>>()?;
    Ok(Decoded {
        names: names.into_iter().cloned().collect(),
        columns,
        height: frame.height(),
    })
}

/// Reads a Parquet file's `wanted` columns (all of them if one is missing)
/// as CSV text: a header, then the rows, values separated by `delim`, so
/// that a users or items file goes through the same validation as a CSV
/// one (or its `first_rows`, for a first look at a log). The rows are
/// rendered in ranges of [`RENDER_ROWS`] side by side.
pub(crate) fn parquet_as_csv(
    path: &Path,
    wanted: &[&str],
    delim: u8,
    first_rows: Option<usize>,
) -> Result<Vec<u8>> {
    use rayon::prelude::*;
    let Decoded {
        names,
        columns,
        height,
    } = decode(path, wanted, false, None, first_rows)?;
    let special = Special::new(delim);
    let mut header = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            header.push(delim);
        }
        special.append(&mut header, Field::Text(n, false));
    }
    header.push(b'\n');
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
    ranges
        .par_iter()
        .zip(row_lengths)
        .zip(quoting)
        .zip(pieces)
        .for_each(|(((&(from, to), lengths), quoting), piece)| {
            // Where each row's next byte goes.
            let mut at: Vec<usize> = lengths
                .iter()
                .scan(0, |start, len| {
                    let row_start = *start;
                    *start += len + 1;
                    Some(row_start)
                })
                .collect();
            for (i, column) in columns.iter().enumerate() {
                each_value(column, from, to, !quoting[i], |row, value| {
                    let at = &mut at[row];
                    if i > 0 {
                        piece[*at] = delim;
                        *at += 1;
                    }
                    if let Some(v) = value {
                        *at += special.write(&mut piece[*at..], v);
                    }
                });
            }
            for end in at {
                piece[end] = b'\n';
            }
        });
    Ok(out)
}

/// A Parquet log read row by row: each row's values go to the parse as
/// the fields of a CSV record do (but for the numbers it reads only as
/// numbers, which go as they are), and no text of the whole file is made
/// (rendering Online Retail as CSV and splitting it again took 115 of the
/// 168 ms its Parquet read took). A row's text, as a CSV rendering of the
/// file holds it, is made only where a reject quotes it or the duplicate
/// check compares it ([`RowText`]). Row numbers count from 1.
pub(crate) struct ParquetLog {
    decoded: Decoded,
    special: Special,
    delim: u8,
}

impl std::fmt::Debug for ParquetLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetLog")
            .field("names", &self.decoded.names)
            .field("rows", &self.decoded.height)
            .finish()
    }
}

impl ParquetLog {
    /// Decodes the log's columns (see [`decode`]); rows are written with
    /// `delim` between values where their text is needed.
    pub(crate) fn open(
        path: &Path,
        wanted: &[&str],
        every_column: bool,
        numeric_time: Option<(&str, i64)>,
        delim: u8,
    ) -> Result<Self> {
        Ok(ParquetLog {
            decoded: decode(path, wanted, every_column, numeric_time, None)?,
            special: Special::new(delim),
            delim,
        })
    }

    /// The decoded columns' names.
    pub(crate) fn names(&self) -> &[String] {
        &self.decoded.names
    }

    /// The rows in the file.
    pub(crate) fn rows(&self) -> usize {
        self.decoded.height
    }

    /// Calls `parse` on every row as a record of its values (`raw` empty:
    /// see [`RowText`]), in parts of the table side by side, each with its
    /// own state from `init(rows)`; the states come back in row order. A
    /// part goes through its rows [`RENDER_ROWS`] at a time, and after each
    /// such block `quote` gets the state with the text of the block's rows
    /// (by line), to quote the new rejects while their values are at hand.
    ///
    /// The columns in `numeric` (those the parse reads only as numbers)
    /// come as [`Record::numbers`] where they hold numbers (64-bit floats,
    /// integers) rather than as text to parse again: their finite values,
    /// which their text reads back as exactly (see [`Cells::numbers`]).
    ///
    /// There are [`CHUNKS_PER_THREAD`] parts per thread, as a CSV file has
    /// chunks: each part's ids are merged into the table's after, and with
    /// a part per block a 10M-row log took 1.4 s to merge.
    pub(crate) fn par_rows<S, I, F, Q>(
        &self,
        numeric: &[usize],
        init: I,
        parse: F,
        quote: Q,
    ) -> Vec<S>
    where
        S: Send,
        I: Fn(usize) -> S + Sync,
        F: Fn(&mut S, Record<'_, '_>) + Sync,
        Q: Fn(&mut S, &dyn Fn(u64) -> Option<String>) + Sync,
    {
        use rayon::prelude::*;
        let height = self.decoded.height;
        let part_rows = (height / (CHUNKS_PER_THREAD * rayon::current_num_threads().max(1)))
            .max(RENDER_ROWS)
            .next_multiple_of(RENDER_ROWS);
        (0..height.div_ceil(part_rows))
            .into_par_iter()
            .map(|part| {
                let rows = part * part_rows..((part + 1) * part_rows).min(height);
                let mut state = init(rows.len());
                for from in rows.clone().step_by(RENDER_ROWS) {
                    let block = from..(from + RENDER_ROWS).min(rows.end);
                    self.parse_block(block, numeric, &mut state, &parse, &quote);
                }
                state
            })
            .collect()
    }

    /// [`ParquetLog::par_rows`] on one block of rows.
    fn parse_block<S>(
        &self,
        rows: std::ops::Range<usize>,
        numeric: &[usize],
        state: &mut S,
        parse: impl Fn(&mut S, Record<'_, '_>),
        quote: impl Fn(&mut S, &dyn Fn(u64) -> Option<String>),
    ) {
        let parts: Vec<Rendered> = (self.decoded.columns.iter())
            .map(|c| c.slice(rows.start, rows.end))
            .collect();
        // A column at a time (a row at a time, through one iterator per
        // column, took twice as long).
        let cells: Vec<Cells> = (parts.iter().enumerate())
            .map(|(i, part)| {
                (numeric.contains(&i).then(|| Cells::numbers(part)).flatten())
                    .unwrap_or_else(|| Cells::of(part))
            })
            .collect();
        // The columns that came as numbers, and their values.
        let typed: Vec<(usize, &[Option<f64>])> = (cells.iter().enumerate())
            .filter_map(|(i, c)| match c {
                Cells::Numbers(values, ..) => Some((i, &values[..])),
                _ => None,
            })
            .collect();
        let mut fields: Vec<&[u8]> = Vec::with_capacity(cells.len());
        let mut numbers: Vec<Option<f64>> = vec![None; cells.len()];
        for (row, line) in (rows.start as u64 + 1..).take(rows.len()).enumerate() {
            fields.clear();
            fields.extend(cells.iter().map(|c| c.get(row)));
            for &(i, values) in &typed {
                numbers[i] = values[row];
            }
            let record = Record {
                line,
                raw: &[],
                fields: &fields,
                numbers: if typed.is_empty() { &[] } else { &numbers },
            };
            parse(state, record);
        }
        // A row's text from its fields; none for a row outside the block.
        let text = |line: u64| {
            let row = usize::try_from(line).ok()?.checked_sub(rows.start + 1)?;
            if row >= rows.len() {
                return None;
            }
            Some(self.join_row(|out, i| match &cells[i] {
                Cells::Text(values) => {
                    let value = values.get(row).copied().unwrap_or_default();
                    self.special.append(out, Field::Text(value, false));
                }
                cell @ Cells::Written(..) => out.extend_from_slice(cell.get(row)),
                Cells::Numbers(..) => {
                    if let Some(field) = self.decoded.columns[i].value(rows.start + row) {
                        self.special.append(out, field);
                    }
                }
            }))
        };
        quote(state, &text);
    }

    /// A row's text: each column's value, written by `write(out, column)`,
    /// with the delimiter between them.
    fn join_row(&self, mut write: impl FnMut(&mut Vec<u8>, usize)) -> String {
        let mut out = Vec::with_capacity(128);
        for i in 0..self.decoded.columns.len() {
            if i > 0 {
                out.push(self.delim);
            }
            write(&mut out, i);
        }
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// The values of a range of one column as the bytes of CSV fields (nulls
/// empty, as a CSV writes them).
enum Cells<'a> {
    /// Text, as it lies in the column.
    Text(Vec<&'a str>),
    /// Numbers written out, one after another, and where each ends.
    Written(Vec<u8>, Vec<usize>),
    /// Numbers taken as they are: each row's finite value, and the text of
    /// the others (a null's is empty, a NaN's `NaN`) as `Written` holds it.
    Numbers(Vec<Option<f64>>, Vec<u8>, Vec<usize>),
}

impl<'a> Cells<'a> {
    /// Part `part` of a column, as fields.
    fn of(part: &'a Rendered) -> Self {
        match part {
            Rendered::Text(values, _) => {
                let mut text = Vec::with_capacity(values.len());
                for array in values.downcast_iter() {
                    text.extend(array.iter().map(Option::unwrap_or_default));
                }
                Cells::Text(text)
            }
            Rendered::Ticks(values, per_second) => {
                let mut buf = [0; 48];
                Cells::written(
                    values.len(),
                    values.downcast_iter().flat_map(|array| array.iter()),
                    |bytes, ticks| {
                        bytes.extend_from_slice(ticks_text(ticks, *per_second, &mut buf));
                    },
                )
            }
            Rendered::Float(values) => {
                let (mut shortest, mut buf) = (zmij::Buffer::new(), [0; 48]);
                Cells::written(
                    values.len(),
                    values.downcast_iter().flat_map(|array| array.iter()),
                    |bytes, value| {
                        bytes.extend_from_slice(float_text(value, &mut shortest, &mut buf));
                    },
                )
            }
        }
    }

    /// Part `part` of a column of numbers as [`Cells::Numbers`], or `None`
    /// for other columns. A finite value is the number its text (what
    /// [`Cells::of`] writes) reads as, exactly: an integer's decimal digits
    /// read as the nearest `f64`, as `as f64` rounds it, and a float's
    /// shortest text reads back as the float. Online Retail as a Parquet
    /// log, whose prices and quantities were written as text only to be
    /// parsed again: read phase 266 -> 247 and 240 -> 222 ms (medians of
    /// 15 and 21 interleaved runs), the same artifacts.
    fn numbers(part: &'a Rendered) -> Option<Self> {
        let len = part.len();
        let (mut values, mut bytes, mut ends) =
            (Vec::with_capacity(len), Vec::new(), Vec::with_capacity(len));
        match part {
            Rendered::Ticks(column, 1) => {
                for value in column.downcast_iter().flat_map(|array| array.iter()) {
                    values.push(value.map(|&v| v as f64));
                    ends.push(0);
                }
            }
            Rendered::Float(column) => {
                let (mut shortest, mut buf) = (zmij::Buffer::new(), [0; 48]);
                for value in column.downcast_iter().flat_map(|array| array.iter()) {
                    match value {
                        Some(&v) if v.is_finite() => values.push(Some(v)),
                        Some(&v) => {
                            bytes.extend_from_slice(float_text(v, &mut shortest, &mut buf));
                            values.push(None);
                        }
                        None => values.push(None),
                    }
                    ends.push(bytes.len());
                }
            }
            _ => return None,
        }
        Some(Cells::Numbers(values, bytes, ends))
    }

    /// `len` numbers, each written by `write` (nulls as nothing).
    fn written<'v, T: Copy + 'v>(
        len: usize,
        values: impl Iterator<Item = Option<&'v T>>,
        mut write: impl FnMut(&mut Vec<u8>, T),
    ) -> Self {
        // Room for numbers of up to 12 bytes: growing by doubling copies.
        let (mut bytes, mut ends) = (Vec::with_capacity(12 * len), Vec::with_capacity(len));
        for value in values {
            if let Some(&value) = value {
                write(&mut bytes, value);
            }
            ends.push(bytes.len());
        }
        Cells::Written(bytes, ends)
    }

    /// Row `row`'s field.
    fn get(&self, row: usize) -> &[u8] {
        match self {
            Cells::Text(values) => values.get(row).map_or(&[], |v| v.as_bytes()),
            Cells::Written(bytes, ends) | Cells::Numbers(_, bytes, ends) => {
                let start = row.checked_sub(1).map_or(0, |r| ends[r]);
                bytes
                    .get(start..ends.get(row).copied().unwrap_or(start))
                    .unwrap_or_default()
            }
        }
    }
}

impl RowText for ParquetLog {
    fn row_text(&self, line: u64) -> String {
        let row = line.wrapping_sub(1) as usize;
        if row >= self.decoded.height {
            return String::new();
        }
        self.join_row(|out, i| {
            if let Some(field) = self.decoded.columns[i].value(row) {
                self.special.append(out, field);
            }
        })
    }

    fn same_rows(&self, a: u64, b: u64) -> bool {
        let (a, b) = (a.wrapping_sub(1) as usize, b.wrapping_sub(1) as usize);
        let height = self.decoded.height;
        a < height
            && b < height
            && (self.decoded.columns.iter()).all(|c| same_text(c.value(a), c.value(b)))
    }
}

/// Whether two values are written as the same text (a null as an empty
/// string; floats by their bits, as their shortest text is, NaNs all alike).
fn same_text(a: Option<Field>, b: Option<Field>) -> bool {
    match (a, b) {
        (Some(Field::Text(a, _)), Some(Field::Text(b, _))) => a == b,
        (Some(Field::Ticks(a, p)), Some(Field::Ticks(b, q))) => (a, p) == (b, q),
        (Some(Field::Float(a)), Some(Field::Float(b))) => {
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
        }
        (None, None) => true,
        (None, Some(Field::Text(t, _))) | (Some(Field::Text(t, _)), None) => t.is_empty(),
        _ => false,
    }
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
    /// 64-bit floats, written as polars writes them (the shortest text
    /// that reads back as the same number).
    Float(polars::prelude::Float64Chunked),
}

impl Rendered {
    /// The column's rows.
    fn len(&self) -> usize {
        match self {
            Rendered::Text(values, _) => values.len(),
            Rendered::Ticks(values, _) => values.len(),
            Rendered::Float(values) => values.len(),
        }
    }

    /// Rows `from..to` of the column, sharing its memory.
    fn slice(&self, from: usize, to: usize) -> Rendered {
        let (from, len) = (from as i64, to.saturating_sub(from));
        match self {
            Rendered::Text(values, plain) => Rendered::Text(values.slice(from, len), *plain),
            Rendered::Ticks(values, per_second) => {
                Rendered::Ticks(values.slice(from, len), *per_second)
            }
            Rendered::Float(values) => Rendered::Float(values.slice(from, len)),
        }
    }

    /// The column's values, in order.
    fn values(&self) -> Box<dyn Iterator<Item = Option<Field<'_>>> + '_> {
        match self {
            Rendered::Text(values, plain) => Box::new(
                values
                    .downcast_iter()
                    .flat_map(|array| array.iter())
                    .map(|v| v.map(|v| Field::Text(v, *plain))),
            ),
            Rendered::Ticks(values, per_second) => Box::new(
                values
                    .downcast_iter()
                    .flat_map(|array| array.iter())
                    .map(|v| v.map(|&v| Field::Ticks(v, *per_second))),
            ),
            Rendered::Float(values) => Box::new(
                values
                    .downcast_iter()
                    .flat_map(|array| array.iter())
                    .map(|v| v.map(|&v| Field::Float(v))),
            ),
        }
    }

    /// Row `row`'s value (`row` below the table's height).
    fn value(&self, row: usize) -> Option<Field<'_>> {
        match self {
            Rendered::Text(values, plain) => values.get(row).map(|v| Field::Text(v, *plain)),
            Rendered::Ticks(values, per_second) => {
                values.get(row).map(|v| Field::Ticks(v, *per_second))
            }
            Rendered::Float(values) => values.get(row).map(Field::Float),
        }
    }
}

/// A value to write as a CSV field.
#[derive(Clone, Copy)]
enum Field<'a> {
    /// Text, and whether it cannot need quotes.
    Text(&'a str, bool),
    /// Ticks and ticks per second.
    Ticks(i64, i64),
    /// A float.
    Float(f64),
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
    let part = column.slice(from, to);
    for (row, value) in part.values().enumerate() {
        f(
            row,
            value.map(|v| match v {
                Field::Text(text, _) if plain => Field::Text(text, true),
                v => v,
            }),
        );
    }
}

/// `ticks / per_second` (a power of ten) in decimal, exactly and as short
/// as it goes: `-1.5` for -1,500 milliseconds, `1291191960` for that
/// second in microseconds. (polars' own rendering went through floats:
/// slower, and inexact for nanoseconds.)
fn ticks_text(ticks: i64, per_second: i64, buf: &mut [u8; 48]) -> &[u8] {
    let per_second = per_second.unsigned_abs().max(1);
    let magnitude = ticks.unsigned_abs();
    let (whole, mut fraction) = (magnitude / per_second, magnitude % per_second);
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
    let at = whole_before(buf, at, whole, ticks < 0);
    &buf[at..]
}

/// Writes `whole` in decimal (after a minus sign if `negative`) into `buf`
/// so that it ends at `end`; returns where it starts.
fn whole_before(buf: &mut [u8; 48], end: usize, mut whole: u64, negative: bool) -> usize {
    let mut at = end;
    loop {
        at -= 1;
        buf[at] = b'0' + (whole % 10) as u8;
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    at
}

/// A 64-bit float as polars writes it: the shortest text that reads back
/// as the same number (zmij's, written to `shortest`), which for a whole
/// number below 10^15 is its digits and `.0`, written here to `buf` by an
/// integer loop: ids a log keeps as floats (pandas writes an integer
/// column with gaps so: Online Retail's customer ids) are all such numbers.
fn float_text<'b>(value: f64, shortest: &'b mut zmij::Buffer, buf: &'b mut [u8; 48]) -> &'b [u8] {
    // (-0.0 is written with its sign: zmij's path.)
    if value.fract() == 0.0 && value.abs() < 1e15 && (value != 0.0 || value.is_sign_positive()) {
        let end = buf.len() - 2;
        buf[end..].copy_from_slice(b".0");
        let at = whole_before(buf, end, value.abs() as u64, value < 0.0);
        return &buf[at..];
    }
    shortest.format(value).as_bytes()
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
            Field::Float(value) => (
                float_text(value, &mut zmij::Buffer::new(), &mut [0; 48]).len(),
                false,
            ),
            Field::Text(text, _) if self.quoted(field) => (
                text.len() + 2 + text.bytes().filter(|&b| b == b'"').count(),
                true,
            ),
            Field::Text(text, _) => (text.len(), false),
        }
    }

    /// Appends `field` to `out`.
    fn append(&self, out: &mut Vec<u8>, field: Field) {
        match field {
            Field::Ticks(ticks, per_second) => {
                out.extend_from_slice(ticks_text(ticks, per_second, &mut [0; 48]));
            }
            Field::Float(value) => {
                out.extend_from_slice(float_text(value, &mut zmij::Buffer::new(), &mut [0; 48]));
            }
            Field::Text(text, _) if !self.quoted(field) => out.extend_from_slice(text.as_bytes()),
            Field::Text(..) => {
                let at = out.len();
                out.resize(at + self.measure(field).0, 0);
                self.write(&mut out[at..], field);
            }
        }
    }

    /// Writes `field` at the start of `out` (at least [`Special::measure`]
    /// bytes): the bytes written.
    fn write(&self, out: &mut [u8], field: Field) -> usize {
        let bytes = match field {
            Field::Ticks(ticks, per_second) => {
                let mut buf = [0; 48];
                let text = ticks_text(ticks, per_second, &mut buf);
                out[..text.len()].copy_from_slice(text);
                return text.len();
            }
            Field::Float(value) => {
                let (mut shortest, mut buf) = (zmij::Buffer::new(), [0; 48]);
                let text = float_text(value, &mut shortest, &mut buf);
                out[..text.len()].copy_from_slice(text);
                return text.len();
            }
            Field::Text(text, _) => text.as_bytes(),
        };
        if !self.quoted(field) {
            out[..bytes.len()].copy_from_slice(bytes);
            return bytes.len();
        }
        let mut at = 1;
        out[0] = b'"';
        for &b in bytes {
            if b == b'"' {
                out[at] = b'"';
                at += 1;
            }
            out[at] = b;
            at += 1;
        }
        out[at] = b'"';
        at + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of every kind of value a rendering has to get right, in
    /// enough rows for several parts of several blocks on one thread; rows
    /// [`AWKWARD_PERIOD`] apart are the same.
    const AWKWARD_PERIOD: u64 = 6 * 7 * 5 * 4 * 11 * 13;

    fn awkward_table(path: &Path, rows: usize) {
        use arrow::array::{
            ArrayRef, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
        };
        use std::sync::Arc;
        let text = [
            "plain",
            "with, comma",
            "12\" plate",
            "two\nlines",
            "",
            "Café",
        ];
        let floats = [17850.0, 2.55, -0.0, f64::NAN, 1e20, 0.1 + 0.2];
        let id: StringArray = (0..rows)
            .map(|i| (i % 7 != 3).then_some(text[i % text.len()]))
            .collect();
        let n: Int64Array = (0..rows)
            .map(|i| (i % 5 != 1).then_some((i % 4) as i64 - 2))
            .collect();
        let x: Float64Array = (0..rows)
            .map(|i| (i % 11 != 2).then(|| floats[i % floats.len()] * (i % 3) as f64))
            .collect();
        let t: TimestampMillisecondArray = (0..rows)
            .map(|i| Some(1_291_191_960_000 + 7 * (i % 13) as i64))
            .collect();
        let batch = arrow::array::RecordBatch::try_from_iter([
            ("id", Arc::new(id) as ArrayRef),
            ("n", Arc::new(n) as ArrayRef),
            ("x", Arc::new(x) as ArrayRef),
            ("t", Arc::new(t) as ArrayRef),
        ])
        .expect("batch");
        recpipe_core::write_parquet(path, &batch).expect("write");
    }

    #[test]
    fn rows_of_a_parquet_log_are_the_records_of_its_csv_rendering_on_any_thread_count() {
        use crate::records::{Format, header, par_parse};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.parquet");
        let rows = 4 * 2 * RENDER_ROWS + 123;
        awkward_table(&path, rows);
        let csv = parquet_as_csv(&path, &["id", "n", "x", "t"], b',', None).expect("csv");
        let (names, start, _) = header(&csv, Format::Csv(b',')).expect("header");
        // (fields, raw) of each row, as the CSV parser gives them.
        type Rows = Vec<(Vec<Vec<u8>>, String)>;
        let parsed: Vec<Rows> = par_parse(
            &csv,
            start,
            1,
            Format::Csv(b','),
            |_| Vec::new(),
            |rows: &mut Rows, rec| {
                let fields = rec.fields.iter().map(|f| f.to_vec()).collect();
                rows.push((fields, String::from_utf8(rec.raw.to_vec()).expect("utf-8")));
            },
            |_, _| {},
        );
        let expected: Rows = parsed.into_iter().flatten().collect();
        assert_eq!(expected.len(), rows);
        let log = ParquetLog::open(&path, &[], true, None, b',').expect("open");
        assert_eq!(log.names(), &names[..]);
        // Without numbers, then with the integers `n`, the floats `x` and
        // the times `t` asked for as numbers (times in milliseconds are not
        // numbers a parse can take as they are: they stay text).
        for (threads, numeric) in [
            (1, &[][..]),
            (3, &[][..]),
            (1, &[1, 2, 3][..]),
            (3, &[1, 2, 3]),
        ] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            // (line, fields, numbers, text) of each row, the text filled in
            // by `quote`.
            type Seen = Vec<(u64, Vec<Vec<u8>>, Vec<Option<f64>>, Option<String>)>;
            let parts: Vec<Seen> = pool.install(|| {
                log.par_rows(
                    numeric,
                    |_| Vec::new(),
                    |seen: &mut Seen, rec| {
                        assert!(rec.raw.is_empty());
                        seen.push((
                            rec.line,
                            rec.fields.iter().map(|f| f.to_vec()).collect(),
                            rec.numbers.to_vec(),
                            None,
                        ));
                    },
                    |seen: &mut Seen, text| {
                        for (line, .., quoted) in seen.iter_mut().rev() {
                            let Some(t) = text(*line) else { break };
                            *quoted = Some(t);
                        }
                    },
                )
            });
            assert!(parts.len() > 1, "{threads} threads: one part");
            let seen: Seen = parts.into_iter().flatten().collect();
            assert_eq!(seen.len(), rows);
            let mut as_numbers = [0; 4];
            for (i, ((line, fields, numbers, quoted), (want_fields, want_raw))) in
                seen.iter().zip(&expected).enumerate()
            {
                assert_eq!(*line, i as u64 + 1);
                assert_eq!(fields.len(), want_fields.len(), "row {line}");
                for (j, (field, want)) in fields.iter().zip(want_fields).enumerate() {
                    match numbers.get(j).copied().flatten() {
                        // A number handed over is what its text reads as,
                        // to the bit, and its text is left out.
                        Some(v) => {
                            let read = crate::text::NumberFormat::default().parse(want);
                            assert_eq!(read.map(f64::to_bits), Some(v.to_bits()), "row {line}");
                            assert!(field.is_empty(), "row {line}");
                            as_numbers[j] += 1;
                        }
                        None => assert_eq!(field, want, "row {line} field {j}"),
                    }
                }
                assert_eq!(quoted.as_deref(), Some(want_raw.as_str()), "row {line}");
                assert_eq!(&log.row_text(*line), want_raw, "row {line}");
            }
            // Every non-null `n`, and every `x` but the nulls and NaNs
            // (x = floats[i % 6] * (i % 3), NaN where i % 6 == 3, null
            // where i % 11 == 2); never `id` or `t`.
            let want = |column: &str| match (column, numeric.is_empty()) {
                (_, true) | ("id" | "t", _) => 0,
                ("n", _) => (0..rows).filter(|i| i % 5 != 1).count(),
                _ => (0..rows).filter(|i| i % 11 != 2 && i % 6 != 3).count(),
            };
            assert_eq!(as_numbers, ["id", "n", "x", "t"].map(want), "{numeric:?}");
        }
        // Rows compare as their text does (NaNs, nulls and empty text too).
        let same = |a: u64, b: u64| expected[a as usize - 1].1 == expected[b as usize - 1].1;
        let mut equal = 0;
        for a in 1..=1000 {
            for b in [a, a + 1, a + 3, a + AWKWARD_PERIOD, a + AWKWARD_PERIOD + 1] {
                assert_eq!(log.same_rows(a, b), same(a, b), "rows {a} and {b}");
                equal += usize::from(a != b && same(a, b));
            }
        }
        assert_eq!(equal, 1000);
        assert!(!log.same_rows(1, rows as u64 + 1));
    }

    proptest::proptest! {
        #[test]
        fn floats_are_written_as_polars_writes_them(
            bits in proptest::prelude::any::<u64>(),
            whole in -2_000_000_000_000_000i64..2_000_000_000_000_000,
            scale in 0u32..4,
        ) {
            // Any float, whole numbers on both sides of 10^15, and the cases
            // near the bound and the sign.
            let whole = whole as f64 / 10f64.powi(scale as i32 * 4);
            let edges = [-0.0, 0.0, 1e15, 1e15 - 1.0, -1e15 + 1.0];
            for value in [f64::from_bits(bits), whole, whole.trunc()].into_iter().chain(edges) {
                let mut shortest = zmij::Buffer::new();
                let expected = shortest.format(value).to_string();
                let (mut zmij, mut buf) = (zmij::Buffer::new(), [0; 48]);
                let text = float_text(value, &mut zmij, &mut buf);
                proptest::prop_assert_eq!(std::str::from_utf8(text).expect("ascii"), expected);
            }
        }
    }

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
            let n = special.write(&mut out, field);
            assert_eq!(
                (n, String::from_utf8(out).expect("utf-8")),
                (len, written.to_string())
            );
            assert_eq!(quoted, written.starts_with('"'), "{value:?}");
        }
        // Text known to need no quotes is copied as it is.
        let mut out = vec![0; 3];
        assert_eq!(special.write(&mut out, Field::Text("1;2", true)), 3);
        assert_eq!(out, b"1;2");
    }
}
