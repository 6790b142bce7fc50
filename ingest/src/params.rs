//! The ingest stage's parameters (its `with:` block in pipeline.yaml).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};

/// Where the raw data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The built-in generator of MovieLens-shaped data with planted structure.
    #[default]
    Synthetic,
    /// A MovieLens folder (1M, 100K or latest/25M CSV layout, detected).
    Movielens,
    /// An e-commerce behaviour log (CSV, compressed or not, or Parquet) with a column mapping.
    Events,
}

/// The unit of timestamps written as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimestampUnit {
    /// Unix seconds.
    #[default]
    S,
    /// Unix milliseconds (RetailRocket's events, JavaScript's `Date.now()`).
    Ms,
    /// Unix microseconds.
    Us,
    /// Unix nanoseconds.
    Ns,
}

impl TimestampUnit {
    /// How many of the unit make a second.
    pub fn per_second(self) -> i64 {
        match self {
            TimestampUnit::S => 1,
            TimestampUnit::Ms => 1_000,
            TimestampUnit::Us => 1_000_000,
            TimestampUnit::Ns => 1_000_000_000,
        }
    }
}

/// What to do with a bad row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Write it to rejects.parquet with its line and reason, and go on.
    #[default]
    Skip,
    /// Stop with the file, line and reason.
    Fail,
}

/// How several rows of one (user, item) pair become one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Keep the latest row (by time, then line); the others go to rejects.
    Last,
    /// Keep the earliest row; the others go to rejects.
    First,
    /// Sum values, quantities and amounts into one interaction (events).
    Sum,
}

/// Which columns of an events file hold what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventColumns {
    /// User id column.
    pub user: String,
    /// Item id column.
    pub item: String,
    /// Timestamp column.
    pub timestamp: String,
    /// Event type column (else `event_type` is used for every row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Explicit rating column: each row's value is its rating (within
    /// `rating_scale`), with no event type, as MovieLens ratings are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<String>,
    /// Quantity column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    /// Unit price column (amount = quantity x price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Item title column in the events file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Item genres / categories column in the events file (`|`
    /// separated, as an items file's): an item's first non-empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genres: Option<String>,
    /// Item free-text column in the events file (description, comments),
    /// or several whose values a row joins (`[category_code, brand]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<ColumnList>,
    /// User country column in the events file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// One column, or several read as one (`text: [category_code, brand]`):
/// written back as it was given, so that a single name keeps its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnList {
    /// One column (`text: description`).
    One(String),
    /// Several columns, in the order their values are joined.
    Many(Vec<String>),
}

impl ColumnList {
    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        match self {
            ColumnList::One(name) => std::slice::from_ref(name),
            ColumnList::Many(names) => names,
        }
    }

    /// The list of `names`: one alone as [`ColumnList::One`].
    pub fn of(mut names: Vec<String>) -> Self {
        match names.len() {
            1 => ColumnList::One(names.remove(0)),
            _ => ColumnList::Many(names),
        }
    }
}

impl Serialize for ColumnList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ColumnList::One(name) => name.serialize(s),
            ColumnList::Many(names) => names.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ColumnList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        use serde_yaml::Value;
        let name = |v: Value| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(D::Error::custom(
                "expected a column name or a list of column names",
            )),
        };
        match Value::deserialize(d)? {
            Value::Sequence(names) if names.is_empty() => Err(D::Error::custom(
                "an empty list of columns: name one, or leave the key out",
            )),
            Value::Sequence(names) => {
                let names = names
                    .into_iter()
                    .map(name)
                    .collect::<std::result::Result<_, _>>()?;
                Ok(ColumnList::Many(names))
            }
            one => Ok(ColumnList::One(name(one)?)),
        }
    }
}

/// Columns of an optional items file for events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsFile {
    /// The file: CSV, or Parquet by its `.parquet` extension.
    pub path: PathBuf,
    /// Whether a CSV file's first line names its columns (default true);
    /// without one they are `column_1`, `column_2`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Item id column.
    pub id: String,
    /// Title column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Free-text column, or several whose values a row joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<ColumnList>,
    /// Genres / categories column (`|` separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genres: Option<String>,
}

/// Columns of an optional users file for events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    /// The file: CSV, or Parquet by its `.parquet` extension.
    pub path: PathBuf,
    /// Whether a CSV file's first line names its columns (default true);
    /// without one they are `column_1`, `column_2`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// User id column.
    pub id: String,
    /// Gender column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// Age column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// Country column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The `with:` block of an ingest stage, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IngestParams {
    /// `synthetic` (default), `movielens` or `events`.
    #[serde(default)]
    pub source: SourceKind,
    /// The data folder (movielens), or the log file or folder of log
    /// files (events; see [`crate::source_file::log_files`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `skip` (default) or `fail`.
    #[serde(default)]
    pub on_error: OnError,
    /// `[min, max]` of valid ratings; default [1, 5], or [0.5, 5] for
    /// MovieLens' CSV layout (events: of the `rating` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_scale: Option<[f32; 2]>,
    /// `last` (default for ratings), `first` or `sum` (default for events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<DuplicatePolicy>,
    /// k-core: drop users with fewer interactions (repeated until stable).
    #[serde(default)]
    pub min_user_interactions: u32,
    /// k-core: drop items with fewer interactions.
    #[serde(default)]
    pub min_item_interactions: u32,
    /// With `on_error: skip`, fail when more than this share of the
    /// interaction rows is invalid (default 0.5; 1 turns the check off).
    /// Duplicates and k-core drops do not count: they are policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rejected_fraction: Option<f64>,
    /// Users whose interactions are dropped (test accounts, bots), by id
    /// as the outputs write it; each row goes to rejects as `excluded_user`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub exclude_users: Vec<String>,
    /// Items whose interactions are dropped (Online Retail's `POST`
    /// postage, `M` manual entries), and left out of items.parquet even
    /// where an items file lists them; each row goes to rejects as
    /// `excluded_item`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub exclude_items: Vec<String>,

    /// Keep only rows at or after this time: an ISO-8601 date or time
    /// (`2019-10-01`, `2019-10-01T06:00:00Z`) or unix seconds; the others
    /// go to rejects as `outside_time_range`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time_bound"
    )]
    pub time_from: Option<String>,
    /// Keep only rows before this time (as `time_from` reads it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time_bound"
    )]
    pub time_to: Option<String>,
    /// Keep only the rows of the last this many days: those less than
    /// `last_days` x 24 hours before the latest row's time (the latest
    /// before `time_to`, if set), so that a scheduled run trains on recent
    /// behaviour whatever the log holds. Not with `time_from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_days: Option<u32>,

    /// synthetic: RNG seed (default 42).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// synthetic: number of users (default 3000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u32>,
    /// synthetic: number of items (default 1500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u32>,
    /// synthetic: number of ratings (default 200000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratings: Option<u64>,
    /// synthetic: number of planted segments (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<u16>,

    /// events: column mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<EventColumns>,
    /// events: weight of each event type (default view 1, click 2, cart 4, purchase 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<BTreeMap<String, f32>>,
    /// events: the event type of every row when the file has no event column (default purchase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// events: chrono format of the timestamps (default: unix seconds or ISO-8601, detected per value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<String>,
    /// events: the unit of timestamps written as numbers (default `s`;
    /// `ms`, `us`, `ns`). Typed Parquet times carry their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_unit: Option<TimestampUnit>,
    /// events: whether a CSV log's first line names its columns (default
    /// true); without one they are `column_1`, `column_2`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// events: the decimal mark of the quantity, price and rating columns,
    /// `.` (default) or `,` (`2,55`, as spreadsheets export in much of Europe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<char>,
    /// events: the thousands separator of the quantity, price and rating
    /// columns, if they group digits: `,` (`1,234.50`), `.` (with `decimal:
    /// ","`: `1.234,50`), `' '` or `'` (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands: Option<char>,
    /// events: CSV delimiter (default `,`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// events: turn ids written as `17850.0` into `17850` and trim blanks (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize_ids: Option<bool>,
    /// events: reject rows whose price is zero or negative (default true when a price column is mapped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_positive_price: Option<bool>,
    /// events: reject a row identical to an earlier one (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_duplicate_rows: Option<bool>,
    /// events: the event types whose rows carry an amount (quantity x
    /// price), so that only purchases count as spending where every row of
    /// a log has a price (REES46's views and carts); other rows get 0
    /// (default: every type).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub amount_events: Vec<String>,
    /// events: keep the first this many levels of each category path
    /// (`1`: `electronics.smartphone` is `electronics`), so that customers
    /// are profiled on a few broad genres rather than many narrow ones
    /// (default: the whole path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre_levels: Option<u32>,
    /// events: what separates the levels of a category path (default `.`,
    /// as REES46 writes `appliances.kitchen.washer`; `" > "` for
    /// `Home > Kitchen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre_separator: Option<String>,
    /// events: an items file (CSV or Parquet) with titles and text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_file: Option<ItemsFile>,
    /// events: a users file (CSV or Parquet) with demographics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_file: Option<UsersFile>,
}

/// A list of ids, or one id alone (`exclude_items: POST`, as `--set
/// ingest.exclude_items=POST` writes it). Numbers are ids too (`12346`).
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    use serde::de::Error;
    use serde_yaml::Value;
    let id = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => {
            let found = match other {
                Value::Null => "nothing",
                Value::Bool(_) => "true or false",
                Value::Sequence(_) => "a list within the list",
                _ => "a mapping",
            };
            Err(D::Error::custom(format!(
                "expected an id or a list of ids, found {found}"
            )))
        }
    };
    match Value::deserialize(d)? {
        Value::Sequence(ids) => ids.iter().map(id).collect(),
        one => Ok(vec![id(&one)?]),
    }
}

/// A time bound as written: text, or a number (unix seconds) kept as its
/// text.
fn time_bound<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    use serde::de::Error;
    use serde_yaml::Value;
    match Value::deserialize(d)? {
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Null => Ok(None),
        _ => Err(D::Error::custom(
            "expected a date or time (`2019-10-01`, `2019-10-01T06:00:00Z`) or unix seconds",
        )),
    }
}

/// Unix seconds of a time bound: whole unix seconds, or an ISO-8601 date
/// or time as log timestamps are read.
pub fn parse_time_bound(text: &str) -> Option<i64> {
    let t = text.trim().as_bytes();
    crate::text::parse_i64(t).or_else(|| crate::text::parse_iso8601(t))
}

/// The share of invalid interaction rows above which ingest fails.
pub const DEFAULT_MAX_REJECTED_FRACTION: f64 = 0.5;

/// Default event weights: view 1, click 2, cart 4, purchase 8.
pub fn default_weights() -> BTreeMap<String, f32> {
    [
        ("view", 1.0),
        ("click", 2.0),
        ("cart", 4.0),
        ("purchase", 8.0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Whether `weights` gives event type `name` a weight (case aside).
fn has_weight(weights: &BTreeMap<String, f32>, name: &str) -> bool {
    weights.keys().any(|k| k.eq_ignore_ascii_case(name))
}

/// The event types `weights` names, for an error that lists them.
fn weight_names(weights: &BTreeMap<String, f32>) -> String {
    weights.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// How an events source's category paths become genres: each genre cut
/// to its first `levels` parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenrePath {
    /// What separates the levels (`.`, `" > "`).
    pub separator: String,
    /// How many levels a genre keeps (at least 1; `None`: all).
    pub levels: Option<usize>,
}

impl Default for GenrePath {
    fn default() -> Self {
        GenrePath {
            separator: ".".to_string(),
            levels: None,
        }
    }
}

impl GenrePath {
    /// The genres of a `|`-separated field, each cut to its first
    /// `levels` parts and trimmed; a genre the cut repeats comes once, in
    /// the order of its first place.
    pub fn genres(&self, field: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for genre in crate::records::pipe_list(field) {
            let end = (self.levels).and_then(|levels| {
                (genre.match_indices(self.separator.as_str())).nth(levels.max(1) - 1)
            });
            let cut = end.map_or(genre, |(at, _)| genre[..at].trim());
            if !cut.is_empty() && !out.iter().any(|g| g == cut) {
                out.push(cut.to_string());
            }
        }
        out
    }
}

/// Synthetic generator settings with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SyntheticSpec {
    /// RNG seed.
    pub seed: u64,
    /// Users.
    pub users: u32,
    /// Items.
    pub items: u32,
    /// Ratings.
    pub ratings: u64,
    /// Planted segments.
    pub segments: u16,
}

impl SyntheticSpec {
    /// The most ratings the generator draws for one user: half of the items
    /// (at least one), each once.
    pub fn max_per_user(&self) -> u64 {
        u64::from((self.items / 2).max(1))
    }

    /// The most ratings the generator can draw: [`Self::max_per_user`] for
    /// every user.
    pub fn max_ratings(&self) -> u64 {
        u64::from(self.users) * self.max_per_user()
    }

    /// Why the generator cannot draw exactly `ratings` ratings, if it cannot
    /// (users, items and segments are at least 1 where this is called).
    pub fn check_ratings(&self) -> std::result::Result<(), String> {
        let (users, items, ratings) = (self.users, self.items, self.ratings);
        if ratings < u64::from(users) {
            return Err(format!(
                "`ratings` {ratings} is fewer than `users` {users}: every user rates at least one item"
            ));
        }
        if ratings > self.max_ratings() {
            return Err(format!(
                "`ratings` {ratings} is more than `users` {users} x half of `items` {items} ({}): a user rates at most half of the items, each once",
                self.max_ratings()
            ));
        }
        if ratings >= u64::from(u32::MAX) {
            return Err(format!(
                "`ratings` {ratings} must be below 4,294,967,295 (one line each)"
            ));
        }
        Ok(())
    }
}

impl IngestParams {
    /// Parses and checks a `with:` block.
    pub fn from_yaml(with: &serde_yaml::Value) -> Result<Self> {
        let params: IngestParams =
            recpipe_core::params::from_with(with).map_err(IngestError::Params)?;
        params.check()?;
        let mut params = params;
        if params.source == SourceKind::Synthetic {
            // The canonical form carries the generator's defaults, so changing one changes the fingerprint.
            let s = params.synthetic();
            params.seed = Some(s.seed);
            params.users = Some(s.users);
            params.items = Some(s.items);
            params.ratings = Some(s.ratings);
            params.segments = Some(s.segments);
        }
        Ok(params)
    }

    /// Checks that the parameters fit together.
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(IngestError::Params(m.to_string()));
        let synthetic_keys = self.seed.is_some()
            || self.users.is_some()
            || self.items.is_some()
            || self.ratings.is_some()
            || self.segments.is_some();
        let event_keys = self.columns.is_some()
            || self.weights.is_some()
            || self.event_type.is_some()
            || self.timestamp_format.is_some()
            || self.timestamp_unit.is_some()
            || self.header.is_some()
            || self.decimal.is_some()
            || self.thousands.is_some()
            || self.items_file.is_some()
            || self.users_file.is_some()
            || !self.amount_events.is_empty()
            || self.genre_levels.is_some()
            || self.genre_separator.is_some()
            || self.delimiter.is_some();
        match self.source {
            SourceKind::Synthetic => {
                if self.path.is_some() {
                    return bad("`path` does not apply to `source: synthetic`");
                }
                if event_keys {
                    return bad(
                        "event options (columns, weights, ...) apply only to `source: events`",
                    );
                }
                let s = self.synthetic();
                if s.users == 0 || s.items == 0 || s.ratings == 0 || s.segments == 0 {
                    return bad("synthetic users, items, ratings and segments must be positive");
                }
                if let Err(why) = s.check_ratings() {
                    return bad(&format!("synthetic: {why}"));
                }
            }
            SourceKind::Movielens | SourceKind::Events => {
                if self.path.is_none() {
                    return bad("`path` is required for this source");
                }
                if synthetic_keys {
                    return bad(
                        "seed/users/items/ratings/segments apply only to `source: synthetic`",
                    );
                }
                if self.source == SourceKind::Movielens && event_keys {
                    return bad(
                        "event options (columns, weights, ...) apply only to `source: events`",
                    );
                }
                if self.source == SourceKind::Events && self.columns.is_none() {
                    return bad(
                        "`columns: {user, item, timestamp, ...}` is required for `source: events`",
                    );
                }
            }
        }
        if let (Some(from), Some(to)) = self.time_bounds()?
            && from >= to
        {
            return bad("`time_from` must come before `time_to`");
        }
        if let Some(days) = self.last_days {
            if days == 0 {
                return bad("`last_days` must be 1 or more");
            }
            if self.time_from.is_some() {
                return bad("`last_days` and `time_from` both set where rows start: set one");
            }
        }
        if let Some(f) = self.max_rejected_fraction
            && !(0.0..=1.0).contains(&f)
        {
            return bad("`max_rejected_fraction` must be between 0 and 1");
        }
        if let Some([lo, hi]) = self.rating_scale
            && !(lo.is_finite() && hi.is_finite() && lo < hi)
        {
            return bad("`rating_scale` must be [min, max] with min < max");
        }
        if let Some(w) = &self.weights
            && (w.is_empty() || w.values().any(|v| !v.is_finite() || *v <= 0.0))
        {
            return bad("`weights` must map event types to positive numbers");
        }
        if !self.amount_events.is_empty() {
            let columns = self.columns.as_ref();
            if columns.is_none_or(|c| c.price.is_none()) {
                return bad(
                    "`amount_events` picks the rows whose price counts: map `columns.price`",
                );
            }
            if columns.is_none_or(|c| c.event.is_none()) {
                return bad(
                    "`amount_events` picks among the event types of `columns.event`, which is not \
                     mapped: every row has the one type `event_type` names",
                );
            }
            let weights = self.weights.clone().unwrap_or_else(default_weights);
            if let Some(name) = (self.amount_events.iter()).find(|e| !has_weight(&weights, e)) {
                let known = weight_names(&weights);
                return Err(IngestError::Params(format!(
                    "`amount_events` names `{name}`, which has no weight (weights: {known})"
                )));
            }
        }
        if self.genre_levels.is_some() || self.genre_separator.is_some() {
            let mapped = self.columns.as_ref().is_some_and(|c| c.genres.is_some())
                || self.items_file.as_ref().is_some_and(|f| f.genres.is_some());
            if !mapped {
                return bad(
                    "`genre_levels` and `genre_separator` cut category paths, but no genres \
                     column is mapped: set `columns.genres` or `items_file.genres`",
                );
            }
            if self.genre_levels.is_none() {
                return bad(
                    "`genre_separator` cuts nothing without `genre_levels` (1 keeps the first level)",
                );
            }
            if self.genre_levels == Some(0) {
                return bad("`genre_levels` must be 1 or more (leave it out to keep whole paths)");
            }
            if let Some(sep) = self.genre_separator.as_deref()
                && sep.trim().is_empty()
            {
                // YAML reads a bare `>` or `|` as the start of a block.
                return bad(&format!(
                    "`genre_separator` is blank (read as {sep:?}): quote it, as `genre_separator: \">\"`"
                ));
            }
        }
        if let Some(d) = self.delimiter
            && (!d.is_ascii() || matches!(d, '\n' | '\r' | '"'))
        {
            return bad("`delimiter` must be one ASCII character other than a quote or a line end");
        }
        if let Some(c) = &self.columns
            && c.rating.is_some()
            && (c.event.is_some() || self.event_type.is_some() || self.weights.is_some())
        {
            return bad(
                "`columns.rating` gives each row its value: `columns.event`, `event_type` and \
                 `weights` do not apply with it",
            );
        }
        if let Some(c) = &self.columns
            && c.event.is_none()
            && c.rating.is_none()
        {
            // Every row has the one type `event_type` names: it needs a weight.
            let weights = self.weights.clone().unwrap_or_else(default_weights);
            let name = self.event_type.as_deref().unwrap_or("purchase");
            if !has_weight(&weights, name) {
                let known = weight_names(&weights);
                return Err(IngestError::Params(match &self.event_type {
                    Some(_) => format!(
                        "`event_type` `{name}` has no weight in `weights` (weights: {known})"
                    ),
                    None => format!(
                        "`weights` gives no weight to `purchase`, the type of every row when \
                         `event_type` is not set: add it, or set `event_type` to one of {known}"
                    ),
                }));
            }
        }
        if let Some(d) = self.decimal
            && d != '.'
            && d != ','
        {
            return bad("`decimal` must be `.` or `,`");
        }
        if let Some(t) = self.thousands {
            if !t.is_ascii() || !crate::text::THOUSANDS.contains(&(t as u8)) {
                return bad("`thousands` must be `,`, `.`, `' '` or `'`");
            }
            if t == self.decimal.unwrap_or('.') {
                return bad(
                    "`thousands` must differ from the decimal mark (`decimal`, `.` by default)",
                );
            }
        }
        if let Some(f) = &self.timestamp_format
            && let Err(why) = check_time_format(f)
        {
            return Err(IngestError::Params(why));
        }
        if self.timestamp_format.is_some() && self.timestamp_unit.is_some() {
            return bad(
                "`timestamp_unit` is for times written as numbers, `timestamp_format` for times written as text: set one",
            );
        }
        Ok(())
    }

    /// The `[from, to)` unix seconds of `time_from` and `time_to`, or an
    /// error naming the one that is no time.
    pub fn time_bounds(&self) -> Result<(Option<i64>, Option<i64>)> {
        let read = |key: &str, text: &Option<String>| {
            (text.as_deref())
                .map(|text| {
                    parse_time_bound(text).ok_or_else(|| {
                        IngestError::Params(format!(
                            "`{key}` `{text}` is no time: write a date or time (`2019-10-01`, \
                             `2019-10-01T06:00:00Z`) or unix seconds"
                        ))
                    })
                })
                .transpose()
        };
        Ok((
            read("time_from", &self.time_from)?,
            read("time_to", &self.time_to)?,
        ))
    }

    /// How category paths are cut ([`GenrePath::default`]: not at all).
    pub fn genre_path(&self) -> GenrePath {
        let whole = GenrePath::default();
        GenrePath {
            separator: self.genre_separator.clone().unwrap_or(whole.separator),
            levels: self.genre_levels.map(|l| l as usize),
        }
    }

    /// The synthetic settings with defaults.
    pub fn synthetic(&self) -> SyntheticSpec {
        SyntheticSpec {
            seed: self.seed.unwrap_or(42),
            users: self.users.unwrap_or(3000),
            items: self.items.unwrap_or(1500),
            ratings: self.ratings.unwrap_or(200_000),
            segments: self.segments.unwrap_or(6),
        }
    }

    /// The duplicate policy in force.
    pub fn duplicate_policy(&self) -> DuplicatePolicy {
        let rated = self.columns.as_ref().is_some_and(|c| c.rating.is_some());
        self.duplicates.unwrap_or(match self.source {
            SourceKind::Events if !rated => DuplicatePolicy::Sum,
            _ => DuplicatePolicy::Last,
        })
    }
}

/// Why a `timestamp_format` can read no time, if it cannot: chrono takes a
/// text without a `%` field (the `?` that `recpipe init` writes where it
/// could not guess the format) and then fails on every row, each rejected
/// as a bad timestamp.
fn check_time_format(format: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    let mut fields = 0;
    for item in StrftimeItems::new(format) {
        match item {
            Item::Error => {
                return Err(format!(
                    "`timestamp_format` `{format}` is not a chrono format (an unknown `%` field?)"
                ));
            }
            Item::Numeric(..) | Item::Fixed(_) => fields += 1,
            _ => {}
        }
    }
    if fields == 0 {
        return Err(format!(
            "`timestamp_format` `{format}` has no `%` field: give the times' chrono format, such as `%d/%m/%Y %H:%M` for `31/12/2010 08:26`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_format_without_fields_or_with_unknown_ones_is_refused() {
        let with = |f: &str| events_with(&format!("timestamp_format: '{f}'"));
        with("%Y/%m/%d %H:%M").expect("a format");
        let err = with("?").expect_err("the placeholder");
        assert!(err.to_string().contains("has no `%` field"), "{err}");
        let err = with("%Y-%Q").expect_err("an unknown field");
        assert!(err.to_string().contains("not a chrono format"), "{err}");
    }

    #[test]
    fn a_delimiter_that_ends_lines_or_quotes_is_refused() {
        let with = |d: &str| events_with(&format!("delimiter: \"{d}\""));
        with(";").expect("a semicolon");
        with("\\t").expect("a tab");
        for bad in ["\\n", "\\r", "\\\"", "é"] {
            let err = with(bad).expect_err(bad);
            assert!(
                err.to_string().contains("other than a quote or a line end"),
                "{bad}: {err}"
            );
        }
    }

    /// An events log's parameters with `extra` keys.
    #[test]
    fn excluded_ids_are_a_list_or_one_id_and_numbers_are_ids() {
        let ids = |yaml: &str| events_with(yaml).map(|p| (p.exclude_users, p.exclude_items));
        let (users, items) = ids("exclude_users: [12346, u7], exclude_items: POST").expect("ids");
        assert_eq!(
            (users, items),
            (vec!["12346".into(), "u7".into()], vec!["POST".into()])
        );
        assert_eq!(
            ids("exclude_items: []").expect("none").1,
            Vec::<String>::new()
        );
        let err = ids("exclude_items: {POST: 1}").expect_err("a mapping");
        assert!(
            err.to_string()
                .contains("expected an id or a list of ids, found a mapping"),
            "{err}"
        );
    }

    #[test]
    fn text_columns_are_one_name_or_a_list_and_keep_their_form() {
        let text = |cols: &str| {
            parse(&format!(
                "{{source: events, path: x, columns: {{user: u, item: i, timestamp: t, text: {cols}}}}}"
            ))
            .map(|p| p.columns.and_then(|c| c.text))
        };
        let one = text("description").expect("one").expect("text");
        let many = text("[category_code, brand]").expect("many").expect("text");
        assert_eq!(one.names(), ["description"]);
        assert_eq!(many.names(), ["category_code", "brand"]);
        // The canonical parameters (the cache key) write one name as a
        // name, as before lists were read, and a list as a list.
        assert_eq!(
            serde_json::to_string(&one).expect("json"),
            "\"description\""
        );
        assert_eq!(
            serde_json::to_string(&many).expect("json"),
            "[\"category_code\",\"brand\"]"
        );
        let back: ColumnList = serde_json::from_str("[\"a\",\"b\"]").expect("back");
        assert_eq!(back, many_of(&["a", "b"]));
        for (bad, why) in [
            ("[]", "an empty list of columns"),
            ("[a, [b]]", "expected a column name or a list"),
            ("''", "expected a column name or a list"),
        ] {
            let err = text(bad).expect_err(bad);
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    fn many_of(names: &[&str]) -> ColumnList {
        ColumnList::Many(names.iter().map(|n| n.to_string()).collect())
    }

    fn events_with(extra: &str) -> Result<IngestParams> {
        parse(&format!(
            "{{source: events, path: x, columns: {{user: u, item: i, timestamp: t}}, {extra}}}"
        ))
    }

    fn parse(yaml: &str) -> Result<IngestParams> {
        IngestParams::from_yaml(&serde_yaml::from_str(yaml).expect("yaml"))
    }

    #[test]
    fn defaults_are_synthetic() {
        let p = parse("{}").expect("ok");
        assert_eq!(p.source, SourceKind::Synthetic);
        assert_eq!(p.synthetic().users, 3000);
        assert_eq!(p.duplicate_policy(), DuplicatePolicy::Last);
    }

    #[test]
    fn rejects_misplaced_and_unknown_keys() {
        assert!(parse("{source: synthetic, path: x}").is_err());
        assert!(parse("{source: movielens}").is_err());
        assert!(parse("{source: movielens, path: x, seed: 1}").is_err());
        assert!(parse("{source: events, path: x}").is_err());
        let err = parse("{sourse: synthetic}").expect_err("unknown key");
        assert!(err.to_string().contains("sourse"), "{err}");
        assert!(parse("{rating_scale: [5, 1]}").is_err());
    }

    #[test]
    fn category_paths_are_cut_to_their_first_levels_once_each() {
        let cut = |levels: usize, sep: &str, field: &str| {
            let path = GenrePath {
                separator: sep.to_string(),
                levels: Some(levels),
            };
            path.genres(field)
        };
        let rees = "electronics.audio.headphone|electronics.video.tv|appliances";
        assert_eq!(cut(1, ".", rees), ["electronics", "appliances"]);
        assert_eq!(
            cut(2, ".", rees),
            ["electronics.audio", "electronics.video", "appliances"]
        );
        assert_eq!(
            cut(1, ">", "Home > Kitchen | Home > Bath|Garden"),
            ["Home", "Garden"]
        );
        // No cut by default: paths stay whole, only blanks and empties go.
        let whole = GenrePath::default();
        assert_eq!(whole.genres(" a.b | |a.b.c"), ["a.b", "a.b.c"]);
        assert_eq!(cut(3, ".", rees), whole.genres(rees));
    }

    #[test]
    fn time_bounds_read_dates_times_and_seconds_in_order() {
        let p = parse("{time_from: 2019-10-01, time_to: '2019-10-02T06:00:00Z'}").expect("dates");
        assert_eq!(
            p.time_bounds().expect("read"),
            (Some(1_569_888_000), Some(1_569_996_000))
        );
        let p = parse("{time_from: 1569888000}").expect("seconds");
        assert_eq!(p.time_bounds().expect("read"), (Some(1_569_888_000), None));
        // A date's canonical form is its text: the fingerprint follows it.
        assert_eq!(p.time_from.as_deref(), Some("1569888000"));
        let err = parse("{time_from: yesterday}").expect_err("no time");
        assert!(
            err.to_string()
                .contains("`time_from` `yesterday` is no time"),
            "{err}"
        );
        assert!(parse("{time_from: 2019-10-02, time_to: 2019-10-01}").is_err());
        assert!(parse("{last_days: 0}").is_err());
        assert!(parse("{last_days: 30, time_from: 2019-10-01}").is_err());
        assert!(parse("{last_days: 30, time_to: 2019-10-01}").is_ok());
    }

    #[test]
    fn amount_events_need_a_price_an_event_column_and_known_types() {
        let cols = |extra: &str| format!("columns: {{user: u, item: i, timestamp: t{extra}}}");
        let with = |columns: String, extra: &str| {
            parse(&format!("{{source: events, path: x, {columns}, {extra}}}"))
        };
        let full = cols(", event: e, price: p");
        let p = with(full.clone(), "amount_events: purchase").expect("one type");
        assert_eq!(p.amount_events, ["purchase"]);
        assert!(with(full.clone(), "amount_events: [Purchase, cart]").is_ok());
        let err = with(full, "amount_events: [buy]").expect_err("no weight");
        assert!(
            err.to_string().contains("`buy`, which has no weight"),
            "{err}"
        );
        let err = with(cols(", event: e"), "amount_events: purchase").expect_err("no price");
        assert!(err.to_string().contains("columns.price"), "{err}");
        let err = with(cols(", price: p"), "amount_events: purchase").expect_err("no event");
        assert!(err.to_string().contains("columns.event"), "{err}");
    }

    proptest::proptest! {
        /// Cut genres are distinct, each the first levels of a genre of
        /// the field, and in the order of their first genre; cutting at
        /// fewer levels never gives more genres.
        #[test]
        fn cut_genres_are_distinct_prefixes_in_field_order(
            paths in proptest::collection::vec(
                proptest::collection::vec("[ab]{1,2}", 1..4), 0..6),
            levels in 1usize..4,
        ) {
            let field = (paths.iter()).map(|p| p.join(".")).collect::<Vec<_>>().join("|");
            let cut = |levels| GenrePath { separator: ".".into(), levels: Some(levels) }.genres(&field);
            let genres = cut(levels);
            let mut seen = std::collections::HashSet::new();
            proptest::prop_assert!(genres.iter().all(|g| seen.insert(g.clone())));
            let mut expected: Vec<String> = Vec::new();
            for p in &paths {
                let prefix = p[..levels.min(p.len())].join(".");
                if !expected.contains(&prefix) {
                    expected.push(prefix);
                }
            }
            proptest::prop_assert_eq!(&genres, &expected);
            proptest::prop_assert!(cut(1).len() <= genres.len());
        }
    }

    #[test]
    fn genre_levels_need_a_genres_column_and_at_least_one_level() {
        let genres = "columns: {user: u, item: i, timestamp: t, genres: g}";
        let with = |extra: &str| parse(&format!("{{source: events, path: x, {genres}, {extra}}}"));
        let p = with("genre_levels: 1").expect("levels");
        assert_eq!(p.genre_path().levels, Some(1));
        assert_eq!(p.genre_path().separator, ".");
        let p = with("genre_levels: 2, genre_separator: ' > '").expect("separator");
        assert_eq!(p.genre_path().separator, " > ");
        let err = events_with("genre_levels: 1").expect_err("no genres column");
        assert!(err.to_string().contains("columns.genres"), "{err}");
        assert!(
            events_with("genre_levels: 1, items_file: {path: i.csv, id: id, genres: cats}").is_ok()
        );
        assert!(with("genre_levels: 0").is_err());
        let err = with("genre_separator: '>'").expect_err("no levels");
        assert!(err.to_string().contains("without `genre_levels`"), "{err}");
        assert!(with("genre_levels: 1, genre_separator: ' '").is_err());
        let err = parse("{source: movielens, path: x, genre_levels: 1}").expect_err("movielens");
        assert!(err.to_string().contains("source: events"), "{err}");
    }
}
