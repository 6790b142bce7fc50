//! E-commerce / live-commerce behaviour logs: a CSV (plain, gzip or
//! Zstandard) or Parquet file, or a folder of them, whose columns are named
//! in the configuration, with optional items and users files of the same
//! kinds.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{IngestError, Result};
use crate::ids::normalize_id;
use crate::params::{ColumnList, EventColumns, IngestParams, default_weights};
use crate::parquet_table::{ParquetLog, parquet_as_csv};
use crate::records::{
    Format, Record, check_line_count, decode_text, decode_trimmed, header, non_empty_text,
    numbered_columns, par_parse,
};
use crate::rows::{
    ChunkRows, Columns, Interactions, ItemRecord, RawLine, Reason, Row, RowText, SourceData,
    UserRecord, field_count_detail, parse_side_records,
};
use crate::source_file::{SourceBytes, is_parquet, log_files, read_file};
use crate::text::{LastTime, NumberFormat, THOUSANDS, TimeFormat};

/// The files an events source reads (for input hashing): a log folder's
/// files each, so that a partition added, changed or removed makes the
/// stage stale; a folder of none is an error that says so.
pub fn input_files(
    params: &IngestParams,
    resolve: impl Fn(&Path) -> PathBuf,
) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if let Some(p) = &params.path {
        files.extend(log_files(&resolve(p))?);
    }
    if let Some(f) = &params.items_file {
        files.push(resolve(&f.path));
    }
    if let Some(f) = &params.users_file {
        files.push(resolve(&f.path));
    }
    Ok(files)
}

/// The column names among `columns` that are set (those a file is read for).
fn named<'a>(columns: impl IntoIterator<Item = Option<&'a String>>) -> Vec<&'a str> {
    columns.into_iter().flatten().map(String::as_str).collect()
}

/// A row's item text: the text columns' values, trimmed, the non-empty
/// ones joined by a space (`electronics.smartphone samsung`); None when
/// all are empty. One column's text is borrowed where it can be.
fn joined_text<'a>(fields: &[&'a [u8]], columns: &[usize]) -> Option<Cow<'a, str>> {
    let text = match columns {
        [] => return None,
        [one] => decode_trimmed(fields[*one]),
        many => {
            let parts = many.iter().map(|&i| decode_trimmed(fields[i]));
            let parts: Vec<Cow<str>> = parts.filter(|t| !t.is_empty()).collect();
            Cow::Owned(parts.join(" "))
        }
    };
    (!text.is_empty()).then_some(text)
}

/// The index of column `name` in `header`, or an error naming the nearest one.
fn column_index(path: &Path, header: &[String], name: &str) -> Result<usize> {
    if let Some(i) = header.iter().position(|h| h == name) {
        return Ok(i);
    }
    if let Some(i) = header.iter().position(|h| h.eq_ignore_ascii_case(name)) {
        return Ok(i);
    }
    let unnamed = !header.is_empty()
        && (header.iter().enumerate()).all(|(i, h)| *h == format!("column_{}", i + 1));
    let hint = match header {
        [only] => delimiter_hint(only),
        _ if unnamed => Some(format!(
            "; the log is read without a header (`header: false`), so its columns are named \
             column_1 to column_{}",
            header.len()
        )),
        _ => None,
    };
    let hint = hint
        .or_else(|| {
            recpipe_core::names::nearest(name, header.iter().map(String::as_str))
                .map(|h| format!("; did you mean `{h}`?"))
        })
        .unwrap_or_default();
    Err(IngestError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
        available: header.join(", "),
        hint,
    })
}

/// For a header read as the one column `only`: the separator it holds
/// most (`,` `;` tab `|`), as the `delimiter` the file likely has.
fn delimiter_hint(only: &str) -> Option<String> {
    let (count, sep) = [',', ';', '\t', '|']
        .into_iter()
        .map(|d| (only.matches(d).count(), d))
        .max_by_key(|&(n, d)| (n, std::cmp::Reverse(d)))?;
    let sep = sep.escape_default();
    (count > 0).then(|| {
        format!(
            "; the header reads as one column, and `{sep}` separates {} names in it: set \
             `delimiter: \"{sep}\"`?",
            count + 1
        )
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
    genres: Option<usize>,
    /// The text columns, whose values a row joins.
    text: Vec<usize>,
    country: Option<usize>,
}

impl Positions {
    /// The columns read only as numbers (rating, quantity, price, where no
    /// other role reads their text), which a Parquet log may hand over as
    /// numbers ([`crate::records::Record::numbers`]). None where the number
    /// format's thousands separator is `.`: a float's text such as `2.55`
    /// does not read as 2.55 then.
    fn numeric(&self, format: NumberFormat) -> Vec<usize> {
        if format.thousands == Some(b'.') {
            return Vec::new();
        }
        let as_text = [Some(self.user), Some(self.item), Some(self.ts)]
            .into_iter()
            .chain([self.event, self.title, self.genres, self.country]);
        let as_text: Vec<usize> = as_text.flatten().chain(self.text.clone()).collect();
        [self.rating, self.quantity, self.price]
            .into_iter()
            .flatten()
            .filter(|i| !as_text.contains(i))
            .collect()
    }

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
            genres: opt(&c.genres)?,
            text: (c.text.iter().flat_map(ColumnList::names))
                .map(|n| column_index(path, header, n))
                .collect::<Result<_>>()?,
            country: opt(&c.country)?,
        })
    }
}

/// A side table's bytes as CSV text: a CSV file as it is, a Parquet file
/// rendered by [`parquet_as_csv`] (the `wanted` columns, or all of them if
/// one is missing), and whether the file is Parquet. `what` names the file
/// in errors.
fn table_text(
    path: &Path,
    what: &str,
    wanted: &[&str],
    delim: u8,
) -> Result<(Arc<SourceBytes>, bool)> {
    if !is_parquet(path) {
        return Ok((read_file(path, what)?, false));
    }
    check_exists(path, what)?;
    Ok((
        Arc::new(parquet_as_csv(path, wanted, delim, None)?.into()),
        true,
    ))
}

/// A missing Parquet file as the error a missing CSV file gives (polars'
/// own error would not name what the file is for).
fn check_exists(path: &Path, what: &str) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    Err(IngestError::MissingFile {
        path: path.to_path_buf(),
        what: what.into(),
    })
}

/// An events log as read: CSV text, or a Parquet log read row by row.
enum LogSource {
    Text(Arc<SourceBytes>),
    Table(Arc<ParquetLog>),
}

/// Reads an events log: a file, or a folder of them ([`log_files`]), each
/// file parsed with its own header (side by side: small partitions one
/// after another would each wait for their slowest chunk) and all merged
/// as one log.
pub fn read(params: &IngestParams, resolve: impl Fn(&Path) -> PathBuf) -> Result<SourceData> {
    let root = resolve(params.path.as_deref().unwrap_or(Path::new("")));
    let Some(columns) = params.columns.as_ref() else {
        return Err(IngestError::Params(
            "`columns` is required for `source: events`".into(),
        ));
    };
    let settings = LogSettings::new(params, columns)?;
    let paths = log_files(&root)?;
    let mut data = SourceData::default();
    let inter = &mut data.interactions;
    inter.event_names = settings.event_names.clone();
    inter.event_weights = settings.event_weights.clone();
    inter.has_quantity = columns.quantity.is_some();
    // A price alone makes an amount: one unit a row.
    inter.has_amount = columns.price.is_some();
    inter.log_files = paths.len();
    inter.log_root = root.is_dir().then(|| root.clone());
    // The files side by side, then taken in order: the first file's error
    // is the one told.
    let read: Vec<Result<FileRead>> = (paths.par_iter().enumerate())
        .map(|(file, path)| settings.read_file(file as u16, path)) // within u16: `log_files` counts them
        .collect();
    let mut chunks = Vec::new();
    for (path, file) in paths.iter().zip(read) {
        let (buffer, row_text, rows) = file?;
        inter.files.push(path.clone());
        inter.buffers.push(buffer);
        inter.row_text.push(row_text);
        chunks.extend(rows);
    }
    inter.absorb_chunks(chunks);
    inter.raw_users = inter.users.len();
    data.columns = Columns {
        demographics: false,
        country: columns.country.is_some(),
    };
    if let Some(f) = &params.items_file {
        data.items = Some(read_items_file(
            &mut data.interactions,
            &resolve(&f.path),
            f,
            settings.delim,
            &params.genre_path(),
        )?);
    }
    if let Some(f) = &params.users_file {
        let users = read_users_file(&mut data.interactions, &resolve(&f.path), f, settings.delim)?;
        data.columns.demographics = f.gender.is_some() || f.age.is_some();
        data.columns.country |= f.country.is_some();
        data.users = Some(users);
    }
    Ok(data)
}

/// A log file's bytes (or a Parquet log's rows) and its parsed chunks.
type FileRead = (
    Option<Arc<SourceBytes>>,
    Option<Arc<dyn RowText>>,
    Vec<ChunkRows>,
);

/// What reading each file of a log takes from the configuration.
struct LogSettings<'p> {
    params: &'p IngestParams,
    columns: &'p EventColumns,
    delim: u8,
    format: Format,
    /// The mapped columns (those a Parquet log is decoded for).
    wanted: Vec<&'p str>,
    dedup: bool,
    /// Ticks of a time written as a number that make a second.
    unit: i64,
    event_names: Vec<String>,
    event_weights: Vec<f32>,
    /// Each event type's code and weight, by its lower-case name.
    weight_of: BTreeMap<String, (u8, f32)>,
    /// The code and weight of every row, for a log without event types.
    constant_event: Option<(u8, f32)>,
    strip: bool,
    rating_scale: [f32; 2],
    number_format: NumberFormat,
    positive_price: bool,
    /// Whether the rows of each event code carry an amount (`None`: all).
    amount_codes: Option<Vec<bool>>,
    /// The detail of every row missing its user (Online Retail: 135,080).
    empty_user: Arc<str>,
    /// The detail of every row missing its item.
    empty_item: Arc<str>,
}

impl<'p> LogSettings<'p> {
    fn new(params: &'p IngestParams, columns: &'p EventColumns) -> Result<Self> {
        let delim = params.delimiter.map_or(b',', |c| c as u8);
        let wanted = named(
            [
                Some(&columns.user),
                Some(&columns.item),
                Some(&columns.timestamp),
                columns.event.as_ref(),
                columns.rating.as_ref(),
                columns.quantity.as_ref(),
                columns.price.as_ref(),
                columns.title.as_ref(),
                columns.genres.as_ref(),
                columns.country.as_ref(),
            ]
            .into_iter()
            .chain(columns.text.iter().flat_map(ColumnList::names).map(Some)),
        );
        let weights = params.weights.clone().unwrap_or_else(default_weights);
        let event_names: Vec<String> = weights.keys().cloned().collect();
        let weight_of: BTreeMap<String, (u8, f32)> = weights
            .iter()
            .enumerate()
            .map(|(i, (k, w))| (k.to_lowercase(), (i as u8 + 1, *w)))
            .collect();
        // (Every file has every mapped column: the header checks say so.)
        let constant_event = match (&columns.event, &params.event_type) {
            (Some(_), _) => None,
            // Ratings carry no event type (their `event` is null).
            (None, None) if columns.rating.is_some() => Some((0, 1.0)),
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
        // (Every name has a weight: the parameter check says so.)
        let amount_codes = (!params.amount_events.is_empty()).then(|| {
            let mut codes = vec![false; weights.len() + 1];
            for name in &params.amount_events {
                if let Some(&(code, _)) = weight_of.get(&name.to_lowercase()) {
                    codes[code as usize] = true;
                }
            }
            codes
        });
        Ok(LogSettings {
            params,
            columns,
            delim,
            format: Format::Csv(delim),
            wanted,
            dedup: params.drop_duplicate_rows.unwrap_or(false),
            unit: params.timestamp_unit.unwrap_or_default().per_second(),
            event_names,
            event_weights: weights.values().copied().collect(),
            weight_of,
            constant_event,
            strip: params.normalize_ids.unwrap_or(true),
            rating_scale: params.rating_scale.unwrap_or([1.0, 5.0]),
            number_format: NumberFormat {
                comma: params.decimal == Some(','),
                thousands: params.thousands.map(|t| t as u8),
            },
            positive_price: params.require_positive_price.unwrap_or(true),
            amount_codes,
            empty_user: format!("empty `{}`", columns.user).into(),
            empty_item: format!("empty `{}`", columns.item).into(),
        })
    }

    /// Reads and parses log file `file` (its index among the log's files),
    /// at `path`.
    fn read_file(&self, file: u16, path: &Path) -> Result<FileRead> {
        let LogSettings {
            params,
            columns,
            delim,
            format,
            dedup,
            unit,
            constant_event,
            strip,
            rating_scale,
            number_format,
            positive_price,
            ref amount_codes,
            ..
        } = *self;
        let (wanted, weight_of) = (&self.wanted, &self.weight_of);
        let numeric_time = (columns.timestamp.as_str(), unit);
        // Each chunk its own copy of the shared texts: two threads cloning
        // one `Arc` contend for its count on every rejected row.
        let chunk_state = |rows| EventChunk {
            rows,
            empty_user: Arc::from(&*self.empty_user),
            empty_item: Arc::from(&*self.empty_item),
            last_time: LastTime::default(),
        };
        let source = if is_parquet(path) {
            check_exists(path, "events")?;
            let log = ParquetLog::open(path, wanted, dedup, Some(numeric_time), delim)?;
            LogSource::Table(Arc::new(log))
        } else {
            LogSource::Text(read_file(path, "events")?)
        };
        let is_parquet = matches!(source, LogSource::Table(_));
        let (names, start, first_line) = match &source {
            LogSource::Text(buf) => {
                check_line_count(path, buf)?;
                let first = if params.header.unwrap_or(true) {
                    header(buf, format)
                } else {
                    numbered_columns(buf, format)
                };
                first.ok_or_else(|| IngestError::EmptyFile {
                    path: path.to_path_buf(),
                })?
            }
            LogSource::Table(log) => {
                if log.rows() > u32::MAX as usize {
                    return Err(IngestError::TooManyLines {
                        path: path.to_path_buf(),
                        lines: log.rows() as u64,
                    });
                }
                (log.names().to_vec(), 0, 1)
            }
        };
        let pos = Positions::new(path, &names, columns)?;
        // A Parquet log's numbers come rendered in seconds (see `table_text`).
        let time = match (&params.timestamp_format, unit) {
            (Some(f), _) => TimeFormat::Chrono(f.clone()),
            (None, 1) => TimeFormat::Auto,
            (None, _) if is_parquet => TimeFormat::Auto,
            (None, per_second) => TimeFormat::Ticks(per_second),
        };
        // A row whose time does not read says which format it was read with.
        let not_a_time = match &time {
            TimeFormat::Chrono(f) => {
                format!("matches neither timestamp_format `{f}` nor unix seconds or ISO-8601")
            }
            TimeFormat::Ticks(_) => {
                "is not a timestamp (a number in `timestamp_unit` or ISO-8601)".into()
            }
            TimeFormat::Auto => {
                "is not a timestamp (unix seconds or ISO-8601; else set `timestamp_format`)".into()
            }
        };
        // Rejects quote a CSV log's lines as they lie in its bytes, and a
        // Parquet log's rows as their text, made for them alone.
        let (buffer, row_text): (_, Option<Arc<dyn RowText>>) = match &source {
            LogSource::Text(buf) => (Some(buf.clone()), None),
            LogSource::Table(log) => (None, Some(log.clone())),
        };
        let base = match &source {
            LogSource::Text(buf) => buf.as_ptr() as usize,
            LogSource::Table(_) => 0,
        };
        let parse = |state: &mut EventChunk, rec: Record<'_, '_>| {
            let EventChunk {
                rows: st,
                empty_user,
                empty_item,
                last_time,
            } = state;
            let (line, raw, typed) = (rec.line, rec.raw, rec.numbers);
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
            let user = normalize_id(f[pos.user], strip);
            if user.is_empty() {
                st.reject(file, line, raw, Reason::MissingUser, empty_user.clone());
                return;
            }
            let user = st.users.intern(user);
            let item = normalize_id(f[pos.item], strip);
            if item.is_empty() {
                st.reject(file, line, raw, Reason::MissingItem, empty_item.clone());
                return;
            }
            let Some(ts) = last_time.parse(&time, f[pos.ts]) else {
                st.reject(
                    file,
                    line,
                    raw,
                    Reason::BadTimestamp,
                    format!(
                        "`{}` = `{}` {not_a_time}",
                        columns.timestamp,
                        decode_text(f[pos.ts])
                    ),
                );
                return;
            };
            let (event, value) = match (constant_event, pos.event) {
                (Some(c), _) => c,
                (None, Some(i)) => {
                    let name = decode_trimmed(f[i]).to_lowercase();
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
                let number = |i: usize, bad: Reason, what: &str| match typed.get(i) {
                    Some(&Some(v)) => Ok(v),
                    _ => (number_format.parse(f[i]))
                        .ok_or_else(|| (bad, not_a_number(what, f[i], number_format))),
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
                // An empty quantity or price (a view has none) is not
                // recorded: the row counts as a log without that column's.
                let recorded = |i: &usize| {
                    matches!(typed.get(*i), Some(Some(_))) || !f[*i].trim_ascii().is_empty()
                };
                let mut quantity = 1.0;
                if let Some(i) = pos.quantity.filter(recorded) {
                    quantity = number(i, Reason::BadQuantity, "quantity")?;
                    if quantity <= 0.0 {
                        let detail = format!("quantity {quantity}");
                        return Err((Reason::NonPositiveQuantity, detail));
                    }
                }
                let mut amount = 0.0;
                if let Some(i) = pos.price.filter(recorded) {
                    let price = number(i, Reason::BadPrice, "price")?;
                    if price <= 0.0 && positive_price {
                        return Err((Reason::NonPositivePrice, format!("price {price}")));
                    }
                    amount = price * quantity;
                    if !amount.is_finite() {
                        let detail = format!("price {price} x quantity {quantity} overflows");
                        return Err((Reason::BadPrice, detail));
                    }
                    // A view's price is no spending (`amount_events`).
                    if amount_codes.as_ref().is_some_and(|c| !c[event as usize]) {
                        amount = 0.0;
                    }
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
            // Title: the first non-empty per item (looked at until found).
            // Text: every non-empty one, as a log may hold a comment a row;
            // a text the item's last one repeats (a description on every
            // row) is passed over here, other repeats when they are joined.
            let slot = item as usize;
            if st.title_seen.len() <= slot {
                st.title_seen.resize(slot + 1, pos.title.is_none());
                st.last_text.resize(slot + 1, u32::MAX);
            }
            let title = match st.title_seen[slot] {
                true => None,
                false => pos.title.and_then(|i| non_empty_text(f[i])),
            };
            st.title_seen[slot] = st.title_seen[slot] || title.is_some();
            // Genres: the first non-empty per item, as the title.
            if let Some(i) = pos.genres {
                if st.genres_seen.len() <= slot {
                    st.genres_seen.resize(slot + 1, false);
                }
                if !st.genres_seen[slot]
                    && let Some(genres) = non_empty_text(f[i])
                {
                    st.genres_seen[slot] = true;
                    st.item_genres.push((item, genres));
                }
            }
            let text = joined_text(f, &pos.text).and_then(|text| {
                let last = st.item_text.get(st.last_text[slot] as usize);
                let repeat = last.is_some_and(|(_, _, t)| t.as_deref() == Some(&*text));
                (!repeat).then(|| text.into_owned())
            });
            if text.is_some() {
                st.last_text[slot] = st.item_text.len() as u32;
            }
            if title.is_some() || text.is_some() {
                st.item_text.push((item, title, text));
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
                // (A Parquet row's is unused: its text comes from `line`.)
                offset: (raw.as_ptr() as usize).wrapping_sub(base) as u64,
                len: raw.len() as u32,
            });
        };
        let file_chunks = match &source {
            LogSource::Text(buf) => par_parse(
                buf,
                start,
                first_line,
                format,
                |lines| chunk_state(ChunkRows::in_buffer(buf, lines)),
                parse,
                |st, by| st.rows.shift_lines(by),
            ),
            LogSource::Table(log) => {
                // The rejects of the block just parsed, the last ones.
                let quote = |c: &mut EventChunk, text: &dyn Fn(u64) -> Option<String>| {
                    for x in c.rows.rejects.iter_mut().rev() {
                        let Some(text) = text(x.line) else { break };
                        x.raw = RawLine::Text(text);
                    }
                };
                log.par_rows(
                    &pos.numeric(number_format),
                    |rows| chunk_state(ChunkRows::with_capacity(rows)),
                    parse,
                    quote,
                )
            }
        };
        let rows = file_chunks.into_iter().map(|c| c.rows).collect();
        Ok((buffer, row_text, rows))
    }
}

/// Why a `what` field is rejected as no number; a number written with a
/// decimal comma or a thousands separator that `decimal` or `thousands`
/// does not set says so.
fn not_a_number(what: &str, field: &[u8], numbers: NumberFormat) -> String {
    let with = |comma, thousands| NumberFormat { comma, thousands }.parse(field).is_some();
    let mut hints = Vec::new();
    if !numbers.comma && with(true, numbers.thousands) {
        hints.push("`decimal: \",\"`".to_string());
    }
    if numbers.thousands.is_none()
        && let Some(t) = THOUSANDS
            .into_iter()
            .find(|&t| t != numbers.decimal_mark() && with(numbers.comma, Some(t)))
    {
        hints.push(format!("`thousands: \"{}\"`", t as char));
    }
    let hint = match &hints[..] {
        [] => String::new(),
        [one] => format!(" (set {one}?)"),
        _ => format!(" (set {}?)", hints.join(" or ")),
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

/// A side table's rows (their fields), the position of its id column and
/// those of its optional columns.
type SideTable<const N: usize> = (Vec<Vec<String>>, usize, [Vec<usize>; N]);

/// The rows of a users or items file, each its trimmed fields, with the
/// positions of `id` and of the `optional` columns that are named. A CSV
/// file without a header (`has_header` false) has columns `column_1`, ...;
/// rows of the wrong field count, without an id (as `missing`), or (unless
/// `repeats` are gathered by the caller) with the id of an earlier row are
/// rejected.
fn side_table<const N: usize>(
    inter: &mut Interactions,
    path: &Path,
    (delim, has_header): (u8, bool),
    (what, missing): (&str, Reason),
    (id, repeats): (&String, bool),
    optional: [&[String]; N],
) -> Result<SideTable<N>> {
    let wanted = named(
        std::iter::once(id)
            .chain(optional.into_iter().flatten())
            .map(Some),
    );
    let (buf, parquet) = table_text(path, what, &wanted, delim)?;
    let format = Format::Csv(delim);
    let first = if parquet || has_header {
        header(&buf, format)
    } else {
        numbered_columns(&buf, format)
    };
    let (names, start, mut line) = first.ok_or_else(|| IngestError::EmptyFile {
        path: path.to_path_buf(),
    })?;
    if parquet {
        // A Parquet file's rows count from 1, its rendered header aside.
        line = 1;
    }
    let id = column_index(path, &names, id)?;
    let mut positions: [Vec<usize>; N] = std::array::from_fn(|_| Vec::new());
    for (at, columns) in positions.iter_mut().zip(optional) {
        for name in columns {
            at.push(column_index(path, &names, name)?);
        }
    }
    inter.files.push(path.to_path_buf());
    inter.buffers.push(None);
    let file = (inter.files.len() - 1) as u16;
    let fields_of = |rec: &Record<'_, '_>| {
        let fields: Vec<String> = (rec.fields.iter())
            .map(|f| decode_trimmed(f).into_owned())
            .collect();
        match fields[id].is_empty() {
            true => Err((missing, format!("empty `{}`", names[id]))),
            false => Ok(Some(fields)),
        }
    };
    let key = |fields: &Vec<String>| (!repeats).then(|| crate::ids::id_as_read(&fields[id]));
    let (rows, rejects) = parse_side_records(
        &buf,
        (start, line),
        format,
        (file, names.len()),
        fields_of,
        key,
    );
    inter.rejects.extend(rejects);
    Ok((rows, id, positions))
}

/// The fields of a side table's row in `columns` that are not empty,
/// joined by a space; None if none is left.
fn present(fields: &[String], columns: &[usize]) -> Option<String> {
    let mut parts = columns
        .iter()
        .map(|&i| &fields[i])
        .filter(|f| !f.is_empty());
    let first = parts.next()?.clone();
    Some(parts.fold(first, |text, part| text + " " + part))
}

fn read_items_file(
    inter: &mut Interactions,
    path: &Path,
    spec: &crate::params::ItemsFile,
    delim: u8,
    genre_path: &crate::params::GenrePath,
) -> Result<Vec<ItemRecord>> {
    let format = (delim, spec.header.unwrap_or(true));
    let text = spec.text.as_ref().map_or(&[][..], ColumnList::names);
    let optional = [spec.title.as_slice(), text, spec.genres.as_slice()];
    // With a text column, an id may come on several rows (a comment a
    // row), gathered as a log's texts are.
    let repeats = spec.text.is_some();
    let (rows, id, [title, text, genres]) = side_table(
        inter,
        path,
        format,
        ("items", Reason::MissingItem),
        (&spec.id, repeats),
        optional,
    )?;
    // Each id's record, its texts in line order, in the order ids come.
    let mut items: Vec<(ItemRecord, Vec<String>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for f in rows {
        let item_id = crate::ids::id_as_read(&f[id]);
        let i = *at.entry(item_id).or_insert_with_key(|item_id| {
            let item = ItemRecord {
                id: item_id.clone(),
                ..ItemRecord::default()
            };
            items.push((item, Vec::new()));
            items.len() - 1
        });
        let (item, texts) = &mut items[i];
        // The first non-empty title and genres.
        if item.title.is_none() {
            item.title = present(&f, &title);
        }
        if let Some(&g) = genres.first().filter(|_| item.genres.is_empty()) {
            item.genres = genre_path.genres(&f[g]);
        }
        texts.extend(present(&f, &text));
    }
    Ok(items
        .into_iter()
        .map(|(mut item, texts)| {
            item.year = item
                .title
                .as_deref()
                .and_then(recpipe_core::titles::year_from_title);
            item.text = (!texts.is_empty()).then(|| crate::clean::distinct_lines(texts));
            item
        })
        .collect())
}

fn read_users_file(
    inter: &mut Interactions,
    path: &Path,
    spec: &crate::params::UsersFile,
    delim: u8,
) -> Result<Vec<UserRecord>> {
    let format = (delim, spec.header.unwrap_or(true));
    let optional = [
        spec.gender.as_slice(),
        spec.age.as_slice(),
        spec.country.as_slice(),
    ];
    let (rows, id, [gender, age, country]) = side_table(
        inter,
        path,
        format,
        ("users", Reason::MissingUser),
        (&spec.id, false),
        optional,
    )?;
    Ok(rows
        .into_iter()
        .map(|f| UserRecord {
            id: crate::ids::id_as_read(&f[id]),
            gender: present(&f, &gender),
            age: present(&f, &age),
            occupation: None,
            zip: None,
            country: present(&f, &country),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_column_suggests_nearest() {
        let header = vec!["InvoiceNo".to_string(), "CustomerID".to_string()];
        let err = column_index(Path::new("x.csv"), &header, "CustomerId ").expect_err("missing");
        let msg = err.to_string();
        assert!(msg.contains("did you mean `CustomerID`"), "{msg}");
    }

    #[test]
    fn a_missing_column_error_hints_at_how_the_header_was_read() {
        let missing = |header: &[&str], name: &str| {
            let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
            let err = column_index(Path::new("x.csv"), &header, name).expect_err("missing");
            err.to_string()
        };
        let msg = missing(&["InvoiceNo;StockCode;CustomerID"], "CustomerID");
        assert!(
            msg.ends_with(
                "the header reads as one column, and `;` separates 3 names in it: set \
                 `delimiter: \";\"`?"
            ),
            "{msg}"
        );
        let msg = missing(&["user\titem\tts"], "user");
        assert!(msg.contains("`delimiter: \"\\t\"`"), "{msg}");
        // Columns named by position (`header: false`): say so.
        let msg = missing(&["column_1", "column_2", "column_3"], "user");
        assert!(
            msg.ends_with("(`header: false`), so its columns are named column_1 to column_3"),
            "{msg}"
        );
        // A one-column header with no separator in it: the nearest name.
        let msg = missing(&["CustomerID"], "CustomerId ");
        assert!(msg.contains("did you mean `CustomerID`"), "{msg}");
    }
}
