//! A first look at an events log for `recpipe init`: its columns, which of
//! them hold the user, item, time and the optional fields, and the event
//! types its first rows use. Guesses go by the names logs use for these
//! columns (Online Retail, RetailRocket, Taobao, GA-style exports); what
//! cannot be told is left out, for the user to fill in.

use std::path::Path;

use crate::error::{IngestError, Result};
use crate::params::{ColumnList, EventColumns};
use crate::records::{Format, header, numbered_columns, split_fields};
use crate::text::TimeFormat;

/// Bytes read from the start of a CSV log for the sample of rows.
const SAMPLE_BYTES: usize = 4 << 20;

/// Distinct ids kept of a sample, to check a side file's ids against.
const SAMPLED_IDS: usize = 1000;

/// Rows of a Parquet log sampled for its event types.
const SAMPLE_ROWS: usize = 65_536;

/// Sampled values of a title column longer than this (the median) make it
/// the items' text instead.
const MAX_TITLE_CHARS: usize = 80;

/// Event types listed from the sample at most.
const MAX_EVENT_TYPES: usize = 20;

/// What [`sniff`] found in a log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogGuess {
    /// The header's column names.
    pub header: Vec<String>,
    /// The CSV delimiter (None for Parquet).
    pub delimiter: Option<char>,
    /// The mapping guessed; `user`, `item` or `timestamp` empty where no
    /// column looked like one.
    pub columns: EventColumns,
    /// Distinct values of the event column in the sampled rows, in order
    /// of first appearance.
    pub event_types: Vec<String>,
    /// Sampled timestamps, and how many of them the default parser (unix
    /// seconds or ISO-8601) read (a Parquet log's typed times as unix seconds).
    pub timestamps: (usize, usize),
    /// A sampled timestamp the default parser did not read.
    pub unread_timestamp: Option<String>,
    /// A chrono format of [`TIME_FORMATS`] that reads every sampled
    /// timestamp the default parser did not.
    pub time_format: Option<String>,
    /// `ms`, `us` or `ns` when every sampled time is a whole number too
    /// large for seconds (past the year 5000), by the median's size.
    pub timestamp_unit: Option<&'static str>,
    /// The first distinct user ids and item ids of the log's sample, as
    /// the stage reads them.
    pub sampled_ids: (Vec<String>, Vec<String>),
    /// Whether the time column was told by its values (dates), as no name
    /// list knows its name.
    pub timestamp_by_values: bool,
    /// Whether the first line holds values (a number, a date) rather than
    /// names: the columns are then `column_1`, `column_2`, ... and their
    /// roles are told by their values.
    pub headerless: bool,
    /// Whether the sampled quantities, prices or ratings write a decimal
    /// comma (`2,55`).
    pub decimal_comma: bool,
    /// The separator the sampled quantities, prices or ratings write
    /// between groups of thousands (`1,234.50`), if any.
    pub thousands: Option<char>,
    /// What separates the levels of the sampled genres where they are
    /// category paths (REES46's `electronics.audio.headphone`).
    pub genre_separator: Option<&'static str>,
}

/// Formats tried on timestamps that are neither unix seconds nor ISO-8601
/// (spreadsheet exports), month first before day first.
pub const TIME_FORMATS: &[&str] = &[
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%Y%m%d",
];

/// Names (lower case, without `_`, `-`, spaces) that say what a column holds,
/// most specific first.
const USER: &[&str] = &[
    "userid",
    "customerid",
    "visitorid",
    "clientid",
    "memberid",
    "buyerid",
    "user",
    "customer",
    "visitor",
    "uid",
];
const ITEM: &[&str] = &[
    "itemid",
    "productid",
    "stockcode",
    "sku",
    "asin",
    "articleid",
    "goodsid",
    "movieid",
    "item",
    "product",
    "article",
];
const TIMESTAMP: &[&str] = &[
    "timestamp",
    "eventtime",
    "eventtimestamp",
    "invoicedate",
    "datetime",
    "createdat",
    "time",
    "ts",
    "date",
];
const EVENT: &[&str] = &[
    "eventtype",
    "event",
    "behaviortype",
    "behaviourtype",
    "behavior",
    "behaviour",
    "action",
    "interaction",
    "type",
];
const RATING: &[&str] = &["rating", "stars", "score", "overall"];
const QUANTITY: &[&str] = &["quantity", "qty", "units"];
const PRICE: &[&str] = &["unitprice", "price"];
const TITLE: &[&str] = &[
    "title",
    "productname",
    "prodname",
    "itemname",
    "name",
    "description",
];
/// Free text of the items.
const TEXT: &[&str] = &[
    "text",
    "description",
    "detaildesc",
    "comments",
    "comment",
    "review",
];
/// The items' genres or categories: a category path (REES46's
/// `category_code`, `electronics.smartphone`) is one genre, which TF-IDF
/// also reads as words.
const GENRES: &[&str] = &[
    "genres",
    "genre",
    "categories",
    "categorycode",
    "category",
    "categoryname",
    "producttypename",
];
/// A brand is words of the item's text, joined to the text column's.
const BRAND: &[&str] = &["brand", "brandname", "manufacturer"];
const COUNTRY: &[&str] = &["country", "region"];

/// A column name as the lists above write it.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Names too general to tell a column by its last words: `customer_type`
/// is no event type, `category_name` no title, `dwell_time` no timestamp.
const NOT_BY_LAST_WORDS: &[&str] = &["type", "name", "time", "score", "units"];

/// The normalized ends of a column name from each of its word boundaries
/// past the first (`_`, `-`, space, `.`, or a lower-case letter followed by
/// an upper-case one): `session_user` ends in `user`, `buyerUserId` in
/// `userid` and `id`.
fn last_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let starts = (1..chars.len()).filter(|&i| {
        let (prev, c) = (chars[i - 1], chars[i]);
        (matches!(prev, '_' | '-' | ' ' | '.') && !matches!(c, '_' | '-' | ' ' | '.'))
            || (prev.is_lowercase() && c.is_uppercase())
    });
    starts
        .map(|i| normalized(&chars[i..].iter().collect::<String>()))
        .filter(|tail| !tail.is_empty())
        .collect()
}

/// A column name and what it can be matched by.
struct ColumnName {
    /// The whole name as the lists above write it.
    whole: String,
    /// Its ends from each word boundary ([`last_words`]).
    last_words: Vec<String>,
}

/// The first column (by the order of `names`, then the header's) that no
/// earlier guess took: by its whole name, else by its last words
/// (`session_user`, `order_date`, `product_category`).
fn pick(columns: &[ColumnName], names: &[&str], taken: &[usize]) -> Option<usize> {
    let free = |i: &usize| !taken.contains(i);
    let by_whole = names
        .iter()
        .find_map(|want| (0..columns.len()).find(|i| free(i) && columns[*i].whole == *want));
    by_whole.or_else(|| {
        names
            .iter()
            .filter(|want| !NOT_BY_LAST_WORDS.contains(want))
            .find_map(|want| {
                (0..columns.len())
                    .find(|i| free(i) && columns[*i].last_words.iter().any(|t| t == want))
            })
    })
}

/// A header's columns as the name lists match them, and those a guess
/// has taken (a column serves one field).
struct Picker {
    columns: Vec<ColumnName>,
    taken: Vec<usize>,
}

impl Picker {
    fn new(header: &[String]) -> Self {
        let columns = (header.iter())
            .map(|h| ColumnName {
                whole: normalized(h),
                last_words: last_words(h),
            })
            .collect();
        Picker {
            columns,
            taken: Vec::new(),
        }
    }

    /// The first free column `names` fit ([`pick`]), now taken.
    fn take(&mut self, names: &[&str]) -> Option<usize> {
        let i = pick(&self.columns, names, &self.taken)?;
        self.taken.push(i);
        Some(i)
    }

    /// The free column whose whole name is `name`'s (in any case and
    /// spelling of separators), now taken.
    fn take_named(&mut self, name: &str) -> Option<usize> {
        let want = normalized(name);
        let free = |i: &usize| !self.taken.contains(i);
        let i = (0..self.columns.len())
            .find(|i| free(i) && !want.is_empty() && self.columns[*i].whole == want)?;
        self.taken.push(i);
        Some(i)
    }
}

/// The rows of a CSV head from `start`, each its trimmed fields: whole
/// lines only, as the last one read may be cut.
fn sample_rows(head: &[u8], start: usize, format: Format) -> Vec<Vec<String>> {
    let body = &head[start..];
    let body = match memchr::memrchr(b'\n', body) {
        Some(end) if head.len() == SAMPLE_BYTES => &body[..end],
        _ => body,
    };
    (body.split(|&b| b == b'\n'))
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|l| {
            (split_fields(l, format).iter())
                .map(|f| String::from_utf8_lossy(f).trim().to_string())
                .collect()
        })
        .collect()
}

/// Distinct ids of column `c` in `rows` as the stage reads them
/// (`17850.0` is `17850`), at most [`SAMPLED_IDS`], in order.
fn sampled_ids(rows: &[Vec<String>], c: Option<usize>) -> Vec<String> {
    let Some(c) = c else { return Vec::new() };
    let mut seen = std::collections::HashSet::new();
    (rows.iter().filter_map(|r| r.get(c)))
        .map(|v| crate::ids::id_as_read(v))
        .filter(|v| !v.is_empty() && seen.insert(v.clone()))
        .take(SAMPLED_IDS)
        .collect()
}

/// The first [`SAMPLE_BYTES`] of a CSV file, its delimiter, and its first
/// line as names with where the next line starts; errors for a file that
/// is no text or has no line.
fn csv_head(path: &Path) -> Result<(Vec<u8>, u8, Vec<String>, usize)> {
    let head = read_head(path)?;
    if !crate::source_file::first_line_is_text(&head) {
        return Err(IngestError::NotText {
            path: path.to_path_buf(),
        });
    }
    let delim = delimiter_of(&head);
    let Some((names, start, _)) = header(&head, Format::Csv(delim)) else {
        return Err(IngestError::EmptyFile {
            path: path.to_path_buf(),
        });
    };
    Ok((head, delim, names, start))
}

/// Looks at the header and first rows of the events log at `path` (CSV,
/// compressed or not, or Parquet): of its first file when it is a log
/// folder ([`crate::source_file::log_files`]).
pub fn sniff(path: &Path) -> Result<LogGuess> {
    // (A file's list is itself; a folder's is never empty.)
    match crate::source_file::log_files(path)?.first() {
        Some(first) => sniff_file(first),
        None => sniff_file(path),
    }
}

/// What [`sniff_side`] found in an items or users file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideGuess {
    /// Which side file it is.
    pub role: SideRole,
    /// The header's column names.
    pub header: Vec<String>,
    /// The CSV delimiter (None for Parquet).
    pub delimiter: Option<char>,
    /// The id column (empty where none looked like one).
    pub id: String,
    /// The first distinct ids of the file's first rows.
    pub sampled_ids: Vec<String>,
    /// The columns found for each field (items: `title`, `genres`,
    /// `text`; users: `gender`, `age`, `country`), in that order.
    pub fields: Vec<(&'static str, ColumnList)>,
    /// What separates the levels of an items file's sampled genres where
    /// they are category paths (`Home > Kitchen`).
    pub genre_separator: Option<&'static str>,
}

/// Which side file [`sniff_side`] looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SideRole {
    /// An items file: id, title, genres, text.
    #[default]
    Items,
    /// A users file: id, gender, age, country.
    Users,
}

impl SideRole {
    /// The pipeline key its file goes under.
    pub fn key(self) -> &'static str {
        match self {
            SideRole::Items => "items_file",
            SideRole::Users => "users_file",
        }
    }
}

const GENDER: &[&str] = &["gender", "sex"];
const AGE: &[&str] = &["age", "agegroup", "ageband"];

/// Looks at the header of an items or users file (CSV or Parquet) for
/// `recpipe init`: the id is the column named as the log's (`log_id`, in
/// any case), else one the id lists name; then the fields by name.
pub fn sniff_side(path: &Path, role: SideRole, log_id: &str) -> Result<SideGuess> {
    let parquet = crate::source_file::is_parquet(path);
    let mut rows = Vec::new();
    let (header, delimiter) = if parquet {
        (parquet_columns(path)?, None)
    } else {
        let (head, delim, names, start) = csv_head(path)?;
        rows = sample_rows(&head, start, Format::Csv(delim));
        (names, Some(delim as char))
    };
    let mut picker = Picker::new(&header);
    let ids = match role {
        SideRole::Items => ITEM,
        SideRole::Users => USER,
    };
    let id = picker.take_named(log_id).or_else(|| picker.take(ids));
    let mut take = |names: &[&str]| picker.take(names);
    let name = |i: usize| header[i].clone();
    let mut genres = None;
    let fields: Vec<(&'static str, Vec<usize>)> = match role {
        SideRole::Items => {
            genres = take(GENRES);
            let (title, text, brand) = (take(TITLE), take(TEXT), take(BRAND));
            vec![
                ("title", title.into_iter().collect()),
                ("genres", genres.into_iter().collect()),
                ("text", text.into_iter().chain(brand).collect()),
            ]
        }
        SideRole::Users => vec![
            ("gender", take(GENDER).into_iter().collect()),
            ("age", take(AGE).into_iter().collect()),
            ("country", take(COUNTRY).into_iter().collect()),
        ],
    };
    if parquet {
        let columns: Vec<usize> = id.into_iter().chain(genres).collect();
        rows = parquet_sample(path, &header, &columns)?;
    }
    Ok(SideGuess {
        role,
        genre_separator: genres.and_then(|g| path_separator(&rows, g)),
        id: id.map(name).unwrap_or_default(),
        sampled_ids: sampled_ids(&rows, id),
        fields: (fields.into_iter())
            .filter(|(_, c)| !c.is_empty())
            .map(|(k, c)| (k, ColumnList::of(c.into_iter().map(name).collect())))
            .collect(),
        header,
        delimiter,
    })
}

/// Separators of category paths, tried in this order.
const PATH_SEPARATORS: &[&str] = &[">", "."];

/// The separator of [`PATH_SEPARATORS`] that splits at least half of the
/// sampled genres of `column` (each `|`-separated one) into two or more
/// levels: words, not numbers (`1.5`), and with `.` no blanks (`St. Louis`).
fn path_separator(rows: &[Vec<String>], column: usize) -> Option<&'static str> {
    let genres: Vec<&str> = (rows.iter())
        .filter_map(|r| r.get(column))
        .flat_map(|v| crate::records::pipe_list(v))
        .collect();
    PATH_SEPARATORS.iter().copied().find(|&sep| {
        let is_path = |g: &str| {
            let parts: Vec<&str> = g.split(sep).map(str::trim).collect();
            parts.len() > 1
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && crate::text::parse_f64(p.as_bytes()).is_none())
                && (sep != "." || !g.contains(char::is_whitespace))
        };
        let paths = genres.iter().filter(|g| is_path(g)).count();
        !genres.is_empty() && 2 * paths >= genres.len()
    })
}

/// [`sniff`] of one file.
fn sniff_file(path: &Path) -> Result<LogGuess> {
    let parquet = crate::source_file::is_parquet(path);
    // A CSV's first rows come with its header; a Parquet log's are read
    // once the event column is known.
    let (header, delimiter, csv_rows, headerless) = if parquet {
        (parquet_columns(path)?, None, Vec::new(), false)
    } else {
        let (head, delim, mut names, mut start) = csv_head(path)?;
        let format = Format::Csv(delim);
        // A first line with a number or a date in it is data, not names
        // (Taobao's UserBehavior.csv, Amazon's ratings files).
        let headerless = names.iter().any(|n| is_data(n));
        if headerless {
            (names, start, _) = numbered_columns(&head, format).unwrap_or_default();
        }
        let rows = sample_rows(&head, start, format);
        (names, Some(delim as char), rows, headerless)
    };
    let mut picker = Picker::new(&header);
    let mut take = |names: &[&str]| picker.take(names);
    let (user, item, timestamp, event, rating) = if headerless {
        let [user, item, timestamp, event, rating] = roles_by_content(&csv_rows, header.len());
        (user, item, timestamp, event, rating)
    } else {
        let (user, item, timestamp) = (take(USER), take(ITEM), take(TIMESTAMP));
        // A rating gives each row its value: no event type then.
        let rating = take(RATING);
        let event = if rating.is_none() { take(EVENT) } else { None };
        (user, item, timestamp, event, rating)
    };
    // (`column_N`, the names of a log without a header, match none.)
    let (quantity, price) = (take(QUANTITY), take(PRICE));
    let genres = take(GENRES);
    let (title, text, country) = (take(TITLE), take(TEXT), take(COUNTRY));
    let brand = take(BRAND);
    // A time column of no known name (H&M's `t_dat`): one of dates.
    let by_values = (timestamp.is_none() && !headerless)
        .then(|| dates_by_content(&csv_rows, header.len(), &picker.taken))
        .flatten();
    let timestamp = timestamp.or(by_values);
    // A Parquet log's sample: the event types, times, ids, titles and
    // genres of a first batch of rows (typed times come as unix seconds;
    // whole numbers as they are, for their unit).
    let sample = if parquet {
        let columns: Vec<usize> = [event, timestamp, user, item, title, genres]
            .into_iter()
            .flatten()
            .collect();
        parquet_sample(path, &header, &columns)?
    } else {
        csv_rows
    };
    // A title column whose sampled values read as prose (Online Retail's
    // `Description` is a product name; a shop's description is not) is the
    // items' text: export repeats a title on every list row.
    let prose = |i: usize| {
        let mut lengths: Vec<usize> = sample
            .iter()
            .filter_map(|r| r.get(i))
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().count())
            .collect();
        lengths.sort_unstable();
        lengths
            .get(lengths.len() / 2)
            .is_some_and(|&median| median > MAX_TITLE_CHARS)
    };
    let (title, text) = match (title, text) {
        (Some(t), None) if prose(t) => (None, Some(t)),
        other => other,
    };
    let name = |i: Option<usize>| i.map(|i| header[i].clone());
    let mut event_types: Vec<String> = Vec::new();
    let (mut times, mut read) = (0, 0);
    let mut unread: Vec<&str> = Vec::new();
    let mut numbers: Vec<i64> = Vec::new();
    for row in &sample {
        if let Some(v) = event.and_then(|e| row.get(e))
            && !v.is_empty()
            && event_types.len() < MAX_EVENT_TYPES
            && !event_types.contains(v)
        {
            event_types.push(v.clone());
        }
        if let Some(v) = timestamp.and_then(|t| row.get(t))
            && !v.is_empty()
        {
            times += 1;
            if TimeFormat::Auto.parse(v.as_bytes()).is_some() {
                read += 1;
                numbers.extend(crate::text::parse_i64(v.trim().as_bytes()));
            } else {
                unread.push(v);
            }
        }
    }
    // How the quantity, price and rating columns write numbers: with a
    // decimal comma (`2,55`, or `1.234,50` grouped), and with digits grouped
    // in thousands. A value such as `1,234` reads either way: as a decimal
    // comma unless other values settle it.
    let values: Vec<&[u8]> = [quantity, price, rating]
        .into_iter()
        .flatten()
        .flat_map(|c| sample.iter().filter_map(move |r| r.get(c)))
        .map(|v| v.as_bytes())
        .filter(|v| crate::text::parse_f64(v).is_none())
        .collect();
    // The first format that reads them all: a decimal comma alone, then
    // each separator with either mark. None does: a decimal comma if one
    // reads any of them (the reject hints then say more).
    let format = |comma, thousands| crate::text::NumberFormat { comma, thousands };
    let formats = [format(true, None)].into_iter().chain(
        (crate::text::THOUSANDS.into_iter())
            .flat_map(|t| [format(false, Some(t)), format(true, Some(t))]),
    );
    let reads_all = |f: &crate::text::NumberFormat| values.iter().all(|v| f.parse(v).is_some());
    let (decimal_comma, thousands) = match formats
        .filter(|f| f.thousands != Some(f.decimal_mark()))
        .find(reads_all)
    {
        _ if values.is_empty() => (false, None),
        Some(f) => (f.comma, f.thousands.map(char::from)),
        None => (
            values
                .iter()
                .any(|v| crate::text::parse_decimal(v, true).is_some()),
            None,
        ),
    };
    let time_format = (!unread.is_empty())
        .then(|| {
            TIME_FORMATS.iter().find(|f| {
                let format = TimeFormat::Chrono((*f).to_string());
                unread.iter().all(|v| format.parse(v.as_bytes()).is_some())
            })
        })
        .flatten()
        .map(|f| (*f).to_string());
    Ok(LogGuess {
        columns: EventColumns {
            user: name(user).unwrap_or_default(),
            item: name(item).unwrap_or_default(),
            timestamp: name(timestamp).unwrap_or_default(),
            event: name(event),
            rating: name(rating),
            quantity: name(quantity),
            price: name(price),
            title: name(title),
            genres: name(genres),
            text: {
                let names: Vec<String> = text
                    .into_iter()
                    .chain(brand)
                    .flat_map(|i| name(Some(i)))
                    .collect();
                (!names.is_empty()).then(|| ColumnList::of(names))
            },
            country: name(country),
        },
        header,
        delimiter,
        event_types,
        timestamps: (times, read),
        unread_timestamp: unread.first().map(|v| (*v).to_string()),
        time_format,
        timestamp_unit: unit_of(&mut numbers, times),
        timestamp_by_values: by_values.is_some(),
        sampled_ids: (sampled_ids(&sample, user), sampled_ids(&sample, item)),
        headerless,
        decimal_comma,
        thousands,
        genre_separator: genres.and_then(|g| path_separator(&sample, g)),
    })
}

/// Whether a first-line field is a value rather than a column name: a
/// number or an ISO-8601 date.
fn is_data(field: &str) -> bool {
    let field = field.trim().as_bytes();
    !field.is_empty()
        && (crate::text::parse_f64(field).is_some() || crate::text::parse_iso8601(field).is_some())
}

/// The first column not `taken` whose sampled values are all dates or
/// times written as such (ISO-8601, or one of [`TIME_FORMATS`]), not as
/// numbers: a column a header names that no name list knows (H&M's
/// `t_dat`, `2018-09-20`). Bare numbers could be ids or prices there.
fn dates_by_content(rows: &[Vec<String>], columns: usize, taken: &[usize]) -> Option<usize> {
    let formats: Vec<TimeFormat> = (TIME_FORMATS.iter())
        .map(|f| TimeFormat::Chrono((*f).to_string()))
        .collect();
    let is_date = |v: &str| {
        let v = v.as_bytes();
        crate::text::parse_f64(v).is_none()
            && (crate::text::parse_iso8601(v).is_some()
                || formats.iter().any(|f| f.parse(v).is_some()))
    };
    (0..columns).filter(|c| !taken.contains(c)).find(|&c| {
        let mut values = (rows.iter())
            .filter_map(|r| r.get(c))
            .filter(|v| !v.is_empty())
            .peekable();
        values.peek().is_some() && values.all(|v| is_date(v))
    })
}

/// The user, item, time, event and rating columns of a log without a
/// header, told by their sampled values: the time is the last column of
/// whole numbers from 10^8 up (unix seconds since 1973, or finer) or ISO
/// dates; the event type a column of a few distinct words that repeat; the
/// user and the item the first two columns left, in that order (as Taobao
/// and Amazon write them); the rating the next, if its values are numbers
/// from 0 to 10 (Amazon's `5.0`).
fn roles_by_content(rows: &[Vec<String>], columns: usize) -> [Option<usize>; 5] {
    let values = |c: usize| {
        rows.iter()
            .filter_map(move |r| r.get(c))
            .filter(|v| !v.is_empty())
    };
    let is_time = |v: &String| {
        crate::text::parse_i64(v.as_bytes()).is_some_and(|t| t >= 100_000_000)
            || crate::text::parse_iso8601(v.as_bytes()).is_some()
    };
    let timestamp = (0..columns)
        .rev()
        .find(|&c| values(c).next().is_some() && values(c).all(is_time));
    let event = (0..columns).filter(|&c| Some(c) != timestamp).find(|&c| {
        let mut distinct: Vec<&String> = Vec::new();
        for v in values(c) {
            if crate::text::parse_f64(v.as_bytes()).is_some() {
                return false;
            }
            if !distinct.contains(&v) {
                if distinct.len() == 8 {
                    return false;
                }
                distinct.push(v);
            }
        }
        !distinct.is_empty() && distinct.len() < values(c).count()
    });
    let mut rest = (0..columns).filter(|&c| Some(c) != timestamp && Some(c) != event);
    let (user, item) = (rest.next(), rest.next());
    let rating = rest.next().filter(|&c| {
        event.is_none()
            && values(c).next().is_some()
            && values(c).all(|v| {
                crate::text::parse_f64(v.as_bytes()).is_some_and(|r| (0.0..=10.0).contains(&r))
            })
    });
    [user, item, timestamp, event, rating]
}

/// The unit of sampled times that are all whole numbers (`times` of
/// them): `ms`, `us` or `ns` when they are too large for seconds, judged by
/// their median (seconds reach 10^11 in the year 5138, milliseconds in 1973,
/// microseconds 10^14 in 1973, nanoseconds 10^17 in 1973).
fn unit_of(numbers: &mut [i64], times: usize) -> Option<&'static str> {
    if numbers.is_empty() || numbers.len() < times {
        return None;
    }
    numbers.sort_unstable();
    match numbers[numbers.len() / 2] {
        m if m >= 100_000_000_000_000_000 => Some("ns"),
        m if m >= 100_000_000_000_000 => Some("us"),
        m if m >= 100_000_000_000 => Some("ms"),
        _ => None,
    }
}

/// The first [`SAMPLE_BYTES`] of a file.
fn read_head(path: &Path) -> Result<Vec<u8>> {
    if !path.is_file() {
        return Err(IngestError::MissingFile {
            path: path.to_path_buf(),
            what: "events log".into(),
        });
    }
    crate::source_file::read_head(path, SAMPLE_BYTES)
}

/// The delimiter of a CSV by its header line: the most frequent of comma,
/// semicolon, tab and bar (comma on a tie or none).
fn delimiter_of(head: &[u8]) -> u8 {
    let line = &head[..memchr::memchr(b'\n', head).unwrap_or(head.len())];
    let count = |d: u8| line.iter().filter(|&&b| b == d).count();
    [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|&d| (count(d), d == b','))
        .unwrap_or(b',')
}

/// The first [`SAMPLE_ROWS`] rows of a Parquet log's `columns` (indices
/// into its `header`), each value as the run reads it: read by polars, as
/// the stage reads the log (any codec, times in any zone), and rendered as
/// its CSV text (typed times as unix seconds, which tell no unit). Rows are
/// `header.len()` wide, the other columns empty.
fn parquet_sample(path: &Path, header: &[String], columns: &[usize]) -> Result<Vec<Vec<String>>> {
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<&str> = columns.iter().map(|&i| header[i].as_str()).collect();
    let text = crate::parquet_table::parquet_as_csv(path, &wanted, b',', Some(SAMPLE_ROWS))?;
    let format = Format::Csv(b',');
    let Some((names, start, _)) = crate::records::header(&text, format) else {
        return Ok(Vec::new());
    };
    let at: Vec<Option<usize>> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n))
        .collect();
    // (Records split at newlines: a quoted newline in a sampled event type
    // or time only costs that row.)
    Ok(text[start..]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut row = vec![String::new(); header.len()];
            for (field, at) in split_fields(l, format).iter().zip(&at) {
                if let Some(&i) = at.as_ref() {
                    row[i] = String::from_utf8_lossy(field).trim().to_string();
                }
            }
            row
        })
        .collect())
}

/// A Parquet file's column names, from its footer.
fn parquet_columns(path: &Path) -> Result<Vec<String>> {
    let (builder, _) = recpipe_core::parquet_io::open_footer(path)?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text columns a guess names, in order.
    fn text_of(c: &EventColumns) -> Option<Vec<&str>> {
        (c.text.as_ref()).map(|t| t.names().iter().map(String::as_str).collect())
    }

    fn guess(text: &str) -> LogGuess {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.csv");
        std::fs::write(&path, text).expect("write");
        sniff(&path).expect("sniff")
    }

    #[test]
    fn a_log_without_a_header_has_its_columns_told_by_their_values() {
        // Taobao's UserBehavior.csv: user, item, category, behaviour, time.
        let g = guess(
            "1,2268318,2520377,pv,1511544070\n1,2333346,2520771,pv,1511561733\n\
             1,3830808,4181361,buy,1511593493\n2,4365585,2520377,cart,1511596146\n",
        );
        assert!(g.headerless);
        assert_eq!(
            g.header,
            ["column_1", "column_2", "column_3", "column_4", "column_5"]
        );
        let c = &g.columns;
        assert_eq!((c.user.as_str(), c.item.as_str()), ("column_1", "column_2"));
        assert_eq!(c.timestamp, "column_5");
        assert_eq!(c.event.as_deref(), Some("column_4"));
        assert_eq!(g.event_types, ["pv", "buy", "cart"]);
        assert_eq!(g.timestamps, (4, 4), "the first line is sampled too");
        // Amazon's ratings files: user, item, rating, time; no event type.
        let g = guess(
            "A2SUAM1J3GNN3B,0000013714,5.0,1203897600\nA18C1F2A2BJ7L6,0000013714,4.0,1389312000\n",
        );
        assert!(g.headerless);
        let c = &g.columns;
        assert_eq!((c.user.as_str(), c.item.as_str()), ("column_1", "column_2"));
        assert_eq!(
            (c.timestamp.as_str(), c.event.as_deref()),
            ("column_4", None)
        );
        assert_eq!(c.rating.as_deref(), Some("column_3"), "ratings 5.0, 4.0");
        // With names: the rating column by its name, and then no event type.
        let g = guess("user_id,product_id,rating,timestamp\nA2S,0000013714,5.0,1203897600\n");
        assert_eq!(g.columns.rating.as_deref(), Some("rating"));
        assert_eq!(g.columns.event, None);
        // Names, even with digits in them, are a header.
        assert!(!guess("user_id,item2,ts\n1,2,3\n").headerless);
    }

    #[test]
    fn columns_are_told_by_their_last_words_when_no_whole_name_is_known() {
        let g = guess(
            "session_user,productSku,order_date,customer_type,sale_price,product_category,dwell_time\n\
             u1,A-1,2024-03-01T10:00:00+09:00,new,9.5,shoes,12\n",
        );
        let c = &g.columns;
        assert_eq!(
            (c.user.as_str(), c.item.as_str(), c.timestamp.as_str()),
            ("session_user", "productSku", "order_date")
        );
        assert_eq!(c.price.as_deref(), Some("sale_price"));
        assert_eq!(c.genres.as_deref(), Some("product_category"));
        assert_eq!(text_of(c), None);
        // Too general a last word: no event type, and a duration is no time.
        assert_eq!(c.event, None, "customer_type");
        // A whole name wins over last words.
        let g = guess("visitor_user,user_id,item,last_ts,ts\nu1,1,a,1,2\n");
        assert_eq!(g.columns.user, "user_id");
        assert_eq!(g.columns.timestamp, "ts");
        assert_eq!(last_words("buyerUserId"), ["userid", "id"]);
        assert!(
            last_words("products").is_empty(),
            "no word ends inside a word"
        );
    }

    #[test]
    fn a_decimal_comma_is_told_by_the_numbers() {
        let g = guess(
            "InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country\n\
             536365;85123A;WHITE HANGING HEART;6;2010-12-01 08:26:00;2,55;17850;United Kingdom\n",
        );
        assert_eq!(g.delimiter, Some(';'));
        assert!(g.decimal_comma);
        assert!(!guess("user,item,ts,price\nu1,a,1,2.55\n").decimal_comma);
    }

    #[test]
    fn thousands_separators_are_told_by_the_numbers() {
        let g = guess("user,item,ts,qty,price\nu1,a,1,\"1,200\",2.55\nu2,b,2,3,\"1,234.5\"\n");
        assert_eq!((g.decimal_comma, g.thousands), (false, Some(',')));
        let g = guess("user;item;ts;qty;price\nu1;a;1;1.200;2,55\nu2;b;2;3;1.234,5\n");
        assert_eq!((g.decimal_comma, g.thousands), (true, Some('.')));
        let g = guess("user;item;ts;price\nu1;a;1;1.234,5\n");
        assert_eq!((g.decimal_comma, g.thousands), (true, Some('.')));
        let g = guess("user;item;ts;price\nu1;a;1;2,55\n");
        assert_eq!((g.decimal_comma, g.thousands), (true, None));
        let g = guess("user,item,ts,price\nu1,a,1,2.55\n");
        assert_eq!((g.decimal_comma, g.thousands), (false, None));
    }

    #[test]
    fn times_too_large_for_seconds_are_told_by_their_size() {
        // RetailRocket's events.csv counts milliseconds.
        let g = guess(
            "timestamp,visitorid,event,itemid,transactionid\n\
             1433221332117,257597,view,355908,\n1433224214164,992329,view,248676,\n",
        );
        assert_eq!(g.columns.timestamp, "timestamp");
        assert_eq!(g.timestamp_unit, Some("ms"));
        let at = |t: &str| guess(&format!("user,item,ts\nu1,a,{t}\n")).timestamp_unit;
        assert_eq!(at("1433221332"), None, "seconds");
        assert_eq!(at("1433221332117000"), Some("us"));
        assert_eq!(at("1433221332117000000"), Some("ns"));
        assert_eq!(at("2015-06-02T05:02:12Z"), None);
        // One time that is not a whole number: no guess.
        let g = guess("user,item,ts\nu1,a,1433221332117\nu2,b,2015-06-02\n");
        assert_eq!(g.timestamp_unit, None);
    }

    #[test]
    fn online_retail_columns_are_told_by_their_names() {
        let g = guess(
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
             536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n",
        );
        let c = &g.columns;
        assert_eq!(
            (c.user.as_str(), c.item.as_str(), c.timestamp.as_str()),
            ("CustomerID", "StockCode", "InvoiceDate")
        );
        assert_eq!(c.quantity.as_deref(), Some("Quantity"));
        assert_eq!(c.price.as_deref(), Some("UnitPrice"));
        assert_eq!(c.title.as_deref(), Some("Description"));
        assert_eq!(c.text, None, "a column serves one field");
        assert_eq!(c.country.as_deref(), Some("Country"));
        assert_eq!(c.event, None);
        assert_eq!(g.delimiter, Some(','));
        assert_eq!(g.timestamps, (1, 1));
    }

    #[test]
    fn event_types_and_unread_times_come_from_the_first_rows() {
        let g = guess(
            "visitor_id;item_id;event_type;event_time\n\
             1;a;view;12/01/2010 08:26\n\
             1;a;addtocart;1291191960\n\
             2;b;view;1291191961\n\
             2;b;transaction;1291191962\n",
        );
        assert_eq!(g.delimiter, Some(';'));
        let c = &g.columns;
        assert_eq!(
            (c.user.as_str(), c.item.as_str(), c.timestamp.as_str()),
            ("visitor_id", "item_id", "event_time")
        );
        assert_eq!(c.event.as_deref(), Some("event_type"));
        assert_eq!(g.event_types, ["view", "addtocart", "transaction"]);
        assert_eq!(g.timestamps, (4, 3));
        assert_eq!(g.unread_timestamp.as_deref(), Some("12/01/2010 08:26"));
        assert_eq!(g.time_format.as_deref(), Some("%m/%d/%Y %H:%M"));
    }

    #[test]
    fn a_time_column_of_no_known_name_is_told_by_its_dates() {
        // H&M's transactions: `t_dat` is no name for a time, its values are
        // dates; the ids and prices, though numbers, are not.
        let g = guess(
            "t_dat,customer_id,article_id,price,sales_channel_id\n\
             2018-09-20,000058a12d5b43e67d225668fa1f8d61,0663713001,0.050831,2\n\
             2018-09-21,00007d2de826758b65a93dd24ce629ed,0505221004,0.030492,2\n",
        );
        let c = &g.columns;
        assert_eq!(c.timestamp, "t_dat");
        assert!(g.timestamp_by_values);
        assert_eq!(
            (c.user.as_str(), c.item.as_str()),
            ("customer_id", "article_id")
        );
        assert_eq!(g.timestamps, (2, 2));
        // Dates in a format of the list are dates too; numbers never are.
        let g = guess("posted,user,item\n12/1/2010 8:26,1,A\n12/2/2010 9:00,2,B\n");
        assert_eq!(g.columns.timestamp, "posted");
        assert_eq!(g.time_format.as_deref(), Some("%m/%d/%Y %H:%M"));
        let g = guess("seq,user,item\n1291191960,1,A\n");
        assert_eq!(
            g.columns.timestamp, "",
            "a column of numbers is left to name"
        );
    }

    #[test]
    fn side_files_give_their_id_by_the_logs_name_and_their_fields_by_theirs() {
        let side = |header: &str, role: SideRole, log_id: &str| {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("side.csv");
            std::fs::write(&path, format!("{header}\n")).expect("write");
            sniff_side(&path, role, log_id).expect("sniff")
        };
        let fields = |g: &SideGuess| -> Vec<(&str, Vec<String>)> {
            (g.fields.iter())
                .map(|(k, c)| (*k, c.names().to_vec()))
                .collect()
        };
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // H&M's articles and customers.
        let g = side(
            "article_id,product_code,prod_name,product_type_no,product_type_name,product_group_name,detail_desc",
            SideRole::Items,
            "article_id",
        );
        assert_eq!((g.role.key(), g.id.as_str()), ("items_file", "article_id"));
        assert_eq!(
            fields(&g),
            [
                ("title", v(&["prod_name"])),
                ("genres", v(&["product_type_name"])),
                ("text", v(&["detail_desc"]))
            ]
        );
        let g = side(
            "customer_id,FN,Active,club_member_status,age,postal_code",
            SideRole::Users,
            "customer_id",
        );
        assert_eq!((g.role.key(), g.id.as_str()), ("users_file", "customer_id"));
        assert_eq!(fields(&g), [("age", v(&["age"]))]);
        // An id named otherwise than the log's, by the id names; a brand
        // joins the text.
        let g = side("name,sku,category,brand", SideRole::Items, "product_id");
        assert_eq!(g.id, "sku");
        assert_eq!(
            fields(&g),
            [
                ("title", v(&["name"])),
                ("genres", v(&["category"])),
                ("text", v(&["brand"]))
            ]
        );
        // No id to tell: left empty for the user to name.
        let g = side("a,b", SideRole::Users, "visitor");
        assert_eq!((g.id.as_str(), g.fields.len()), ("", 0));
    }

    #[test]
    fn a_category_is_the_genres_and_a_brand_joins_the_text() {
        let g = guess(
            "user_id,product_id,event_time,category,description,brand\n\
             1,p1,2020-01-01T00:00:00Z,Kitchen|Mugs,a white mug,Acme\n",
        );
        let c = &g.columns;
        assert_eq!(c.genres.as_deref(), Some("category"));
        // A short description is the title (Online Retail's names its
        // products); the brand is then the text alone.
        assert_eq!(c.title.as_deref(), Some("description"));
        assert_eq!(text_of(c), Some(vec!["brand"]));
        let long =
            "a mug of white porcelain that holds 350 ml and goes in the dishwasher and microwave";
        let g = guess(&format!(
            "user_id,product_id,event_time,category,description,brand\n\
             1,p1,2020-01-01T00:00:00Z,Kitchen|Mugs,{long},Acme\n"
        ));
        assert_eq!(g.columns.title, None, "a description that reads as prose");
        assert_eq!(text_of(&g.columns), Some(vec!["description", "brand"]));
    }

    #[test]
    fn an_ecommerce_log_with_utc_times_needs_no_time_format() {
        // The header and times of the REES46 e-commerce behaviour logs.
        let g = guess(
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n\
             2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde\n\
             2019-10-01 00:00:04 UTC,cart,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,554748717,9333dfbd\n",
        );
        let c = &g.columns;
        assert_eq!(
            (c.user.as_str(), c.item.as_str(), c.timestamp.as_str()),
            ("user_id", "product_id", "event_time")
        );
        assert_eq!(c.event.as_deref(), Some("event_type"));
        assert_eq!(c.price.as_deref(), Some("price"));
        assert_eq!(c.genres.as_deref(), Some("category_code"));
        assert_eq!(text_of(c), Some(vec!["brand"]));
        assert_eq!(g.timestamps, (2, 2), "` UTC` times are read as they are");
        assert_eq!(g.time_format, None);
    }

    #[test]
    fn category_paths_are_told_from_the_sampled_genres() {
        let sep = |genres: &[&str]| {
            let mut log = String::from("user_id,product_id,event_time,category_code\n");
            for (i, g) in genres.iter().enumerate() {
                log.push_str(&format!("{i},p{i},2020-01-01T00:00:00Z,{g}\n"));
            }
            guess(&log).genre_separator
        };
        // REES46: paths on most rows, some empty, some of one level.
        let rees = [
            "electronics.smartphone",
            "",
            "appliances.kitchen.washer",
            "apparel",
        ];
        assert_eq!(sep(&rees), Some("."));
        assert_eq!(
            sep(&["Home > Kitchen|Home > Bath", "Garden > Tools"]),
            Some(">")
        );
        // Not paths: flat names, numbers, a point in prose.
        assert_eq!(sep(&["Kitchen|Mugs", "Toys"]), None);
        assert_eq!(sep(&["1.5", "2.25"]), None);
        assert_eq!(sep(&["St. Louis Blues", "Dr. Who"]), None);
        assert_eq!(sep(&["a.b", "c", "d"]), None, "fewer than half are paths");
        // An items file's genres are looked at too.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("items.csv");
        std::fs::write(&path, "sku,category\na,Home > Kitchen\nb,Garden > Tools\n").expect("write");
        let side = sniff_side(&path, SideRole::Items, "sku").expect("sniff");
        assert_eq!(side.genre_separator, Some(">"));
    }

    #[test]
    fn a_day_above_twelve_tells_day_first_dates() {
        let g = guess("user,item,date\n1,a,05/01/2024\n1,b,25/01/2024\n");
        assert_eq!(g.time_format.as_deref(), Some("%d/%m/%Y"));
        let g = guess("user,item,date\n1,a,yesterday\n");
        assert_eq!(g.time_format, None);
        assert_eq!(g.unread_timestamp.as_deref(), Some("yesterday"));
    }

    #[test]
    fn a_parquet_log_gives_its_columns_and_event_types() {
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.parquet");
        let text = |v: &[&str]| -> arrow::array::ArrayRef {
            Arc::new(arrow::array::StringArray::from_iter_values(v.iter()))
        };
        let columns = vec![
            ("user_id", text(&["1", "2.0", "3"])),
            ("item_id", text(&["a", "b", "a"])),
            ("behavior_type", text(&["pv", "buy", "pv"])),
            ("ts", text(&["1", "2", "3"])),
            ("category_code", text(&["kids.toys", "", "auto.parts"])),
        ];
        let batch = recpipe_core::parquet_io::batch(&path, columns).expect("batch");
        recpipe_core::write_parquet(&path, &batch).expect("write");
        let g = sniff(&path).expect("sniff");
        assert_eq!(g.delimiter, None);
        assert_eq!(g.columns.event.as_deref(), Some("behavior_type"));
        assert_eq!(g.columns.timestamp, "ts");
        assert_eq!(g.event_types, ["pv", "buy"]);
        assert_eq!(g.timestamps, (3, 3));
        // Its ids as the stage reads them, and its category paths.
        assert_eq!(g.sampled_ids.0, ["1", "2", "3"]);
        assert_eq!(g.sampled_ids.1, ["a", "b"]);
        assert_eq!(g.genre_separator, Some("."));
        // A Parquet items file gives its ids and paths the same way.
        let items = dir.path().join("items.parquet");
        let columns = vec![
            ("item_id", text(&["a", "b"])),
            ("category", text(&["Home > Bath", "Garden > Tools"])),
        ];
        let batch = recpipe_core::parquet_io::batch(&items, columns).expect("batch");
        recpipe_core::write_parquet(&items, &batch).expect("write");
        let side = sniff_side(&items, SideRole::Items, "item_id").expect("side");
        assert_eq!(side.sampled_ids, ["a", "b"]);
        assert_eq!(side.genre_separator, Some(">"));
        // Typed times of any unit and zone (an offset or a name) read as
        // they are; whole numbers in milliseconds are told by their size.
        use arrow::array::{
            Int64Array, TimestampMicrosecondArray, TimestampMillisecondArray,
            TimestampNanosecondArray,
        };
        let typed: [(arrow::array::ArrayRef, Option<&str>); 6] = [
            (
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_433_221_332_117_000])
                        .with_timezone("UTC"),
                ),
                None,
            ),
            (
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_433_221_332_000_000])
                        .with_timezone("Asia/Seoul"),
                ),
                None,
            ),
            (
                Arc::new(TimestampNanosecondArray::from(vec![
                    1_433_221_332_117_000_123,
                ])),
                None,
            ),
            (
                Arc::new(
                    TimestampMillisecondArray::from(vec![1_433_221_332_117])
                        .with_timezone("+02:00"),
                ),
                None,
            ),
            (
                Arc::new(arrow::array::Date32Array::from(vec![16_588])),
                None,
            ),
            (
                Arc::new(Int64Array::from(vec![1_433_221_332_117])),
                Some("ms"),
            ),
        ];
        for (ts, unit) in typed {
            let columns = vec![
                ("user_id", text(&["1"])),
                ("item_id", text(&["a"])),
                ("ts", ts),
            ];
            let batch = recpipe_core::parquet_io::batch(&path, columns).expect("batch");
            recpipe_core::write_parquet(&path, &batch).expect("write");
            let g = sniff(&path).expect("sniff");
            assert_eq!(g.timestamps, (1, 1), "{:?}", g.unread_timestamp);
            assert_eq!(g.timestamp_unit, unit);
        }
    }

    #[test]
    fn a_parquet_log_in_any_codec_the_run_reads_is_sampled() {
        use polars::prelude::{NamedFrom, ParquetCompression, ParquetWriter, Series};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.parquet");
        let mut frame = polars::prelude::DataFrame::new_infer_height(vec![
            Series::new("user_id".into(), ["1", "2"]).into(),
            Series::new("item_id".into(), ["a", "b"]).into(),
            Series::new("event_type".into(), ["view", "cart"]).into(),
            Series::new("ts".into(), [1_433_221_332i64, 1_433_221_333]).into(),
        ])
        .expect("frame");
        // polars' default codec, and gzip (pyarrow's option, Hive's).
        for codec in [
            ParquetCompression::Zstd(None),
            ParquetCompression::Gzip(None),
        ] {
            let file = std::fs::File::create(&path).expect("create");
            ParquetWriter::new(file)
                .with_compression(codec)
                .finish(&mut frame)
                .expect("write");
            let g = sniff(&path).expect("sniff");
            assert_eq!(g.event_types, ["view", "cart"], "{codec:?}");
            assert_eq!(g.timestamps, (2, 2));
        }
    }

    #[test]
    fn a_compressed_log_is_read_through_and_a_binary_file_is_no_log() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("log.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"user_id,product_id,event_time,event_type\n1,a,1,view\n2,b,2,cart\n")
            .expect("gzip");
        std::fs::write(&path, gz.finish().expect("gzip")).expect("write");
        let g = sniff(&path).expect("a gzip log");
        assert_eq!(g.columns.user, "user_id");
        assert_eq!(g.event_types, ["view", "cart"]);
        // A gzip header over plain bytes is a broken file.
        std::fs::write(&path, b"\x1f\x8b\x08\x00user,item\n").expect("write");
        assert!(matches!(sniff(&path), Err(IngestError::Decompress { .. })));
        let path = dir.path().join("log.bin");
        std::fs::write(&path, b"\x00\x01\x02user,item\n").expect("write");
        assert!(matches!(sniff(&path), Err(IngestError::NotText { .. })));
    }

    #[test]
    fn a_description_that_reads_as_prose_is_text_not_title() {
        let long = "a soft cotton shirt with long sleeves, buttons of horn and a collar that stays in shape";
        let g = guess(&format!(
            "user,item,ts,description\n1,a,1,\"{long}\"\n2,b,2,\"{long}\"\n"
        ));
        assert_eq!(g.columns.title, None);
        assert_eq!(text_of(&g.columns), Some(vec!["description"]));
        let g = guess("user,item,ts,description\n1,a,1,WHITE HANGING HEART\n");
        assert_eq!(g.columns.title.as_deref(), Some("description"));
        assert_eq!(g.columns.text, None);
    }

    #[test]
    fn columns_nothing_names_are_left_empty() {
        let g = guess("a,b,c\n1,2,3\n");
        assert_eq!(g.header, ["a", "b", "c"]);
        assert!(g.columns.user.is_empty() && g.columns.item.is_empty());
        assert!(g.columns.timestamp.is_empty());
    }
}
