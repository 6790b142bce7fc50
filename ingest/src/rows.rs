//! The raw interactions a source yields, and the rows it rejects.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::ids::Interner;
use crate::records::decode_text;
use crate::source_file::SourceBytes;

/// Why a raw row was not kept. The code is what reports count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The row has the wrong number of fields.
    WrongFieldCount,
    /// The user id is empty.
    MissingUser,
    /// The item id is empty.
    MissingItem,
    /// The rating is not a number.
    BadRating,
    /// The rating is outside the declared scale.
    RatingOutOfScale,
    /// The timestamp cannot be parsed.
    BadTimestamp,
    /// The event type has no weight.
    UnknownEvent,
    /// The quantity is not a number.
    BadQuantity,
    /// The quantity is zero or negative (cancellations, returns).
    NonPositiveQuantity,
    /// The price is not a number.
    BadPrice,
    /// The price is zero or negative (adjustments, fees).
    NonPositivePrice,
    /// The user is not in the users file.
    UnknownUser,
    /// The item is not in the items file.
    UnknownItem,
    /// An identical raw row was seen before.
    DuplicateRow,
    /// Another row of the same (user, item) pair was kept instead.
    DuplicatePair,
    /// The user has too few interactions (k-core filter).
    KCoreUser,
    /// The item has too few interactions (k-core filter).
    KCoreItem,
    /// An earlier row of the same users or items file gave this id (the
    /// first row of an id describes it).
    DuplicateId,
    /// The user is in `exclude_users`.
    ExcludedUser,
    /// The item is in `exclude_items`.
    ExcludedItem,
    /// The row's time lies outside `time_from`, `time_to` or `last_days`.
    OutsideTimeRange,
}

impl Reason {
    /// Every reason, in declaration order (so `ALL[r as usize] == r`).
    pub const ALL: [Reason; 21] = [
        Reason::WrongFieldCount,
        Reason::MissingUser,
        Reason::MissingItem,
        Reason::BadRating,
        Reason::RatingOutOfScale,
        Reason::BadTimestamp,
        Reason::UnknownEvent,
        Reason::BadQuantity,
        Reason::NonPositiveQuantity,
        Reason::BadPrice,
        Reason::NonPositivePrice,
        Reason::UnknownUser,
        Reason::UnknownItem,
        Reason::DuplicateRow,
        Reason::DuplicatePair,
        Reason::KCoreUser,
        Reason::KCoreItem,
        Reason::DuplicateId,
        Reason::ExcludedUser,
        Reason::ExcludedItem,
        Reason::OutsideTimeRange,
    ];

    /// Whether the row was dropped by a policy the configuration chose
    /// (duplicates, k-core, exclusions, a time range) rather than for
    /// being invalid.
    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Reason::DuplicateRow
                | Reason::DuplicatePair
                | Reason::KCoreUser
                | Reason::KCoreItem
                | Reason::ExcludedUser
                | Reason::ExcludedItem
                | Reason::OutsideTimeRange
        )
    }

    /// The stable code written to rejects and reports.
    pub fn code(self) -> &'static str {
        match self {
            Reason::WrongFieldCount => "wrong_field_count",
            Reason::MissingUser => "missing_user",
            Reason::MissingItem => "missing_item",
            Reason::BadRating => "bad_rating",
            Reason::RatingOutOfScale => "rating_out_of_scale",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::UnknownEvent => "unknown_event",
            Reason::BadQuantity => "bad_quantity",
            Reason::NonPositiveQuantity => "non_positive_quantity",
            Reason::BadPrice => "bad_price",
            Reason::NonPositivePrice => "non_positive_price",
            Reason::UnknownUser => "unknown_user",
            Reason::UnknownItem => "unknown_item",
            Reason::DuplicateRow => "duplicate_row",
            Reason::DuplicatePair => "duplicate_pair",
            Reason::KCoreUser => "k_core_user",
            Reason::KCoreItem => "k_core_item",
            Reason::DuplicateId => "duplicate_id",
            Reason::ExcludedUser => "excluded_user",
            Reason::ExcludedItem => "excluded_item",
            Reason::OutsideTimeRange => "outside_time_range",
        }
    }
}

/// A rejected row as written: where it lies in its file's bytes, or its
/// text where the bytes are not kept. A span costs no allocation per
/// rejected row (Online Retail rejects 149,217).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLine {
    /// Bytes `offset..offset + len` of the file's buffer ([`Interactions::buffers`]).
    Span {
        /// Byte offset in the file's buffer.
        offset: u64,
        /// Length in bytes.
        len: u32,
    },
    /// The text itself.
    Text(String),
}

impl RawLine {
    /// Its length in bytes (as written, before any latin-1 decoding).
    pub fn len(&self) -> usize {
        match self {
            RawLine::Span { len, .. } => *len as usize,
            RawLine::Text(text) => text.len(),
        }
    }

    /// Whether the line is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The text of a rejected row: its span of its file's buffer (decoded as
/// the parser decodes text), or its own text.
pub fn raw_text<'a>(buffers: &'a [Option<Arc<SourceBytes>>], reject: &'a Reject) -> Cow<'a, str> {
    match &reject.raw {
        RawLine::Text(text) => Cow::Borrowed(text),
        RawLine::Span { offset, len } => {
            let buf = buffers
                .get(usize::from(reject.file))
                .and_then(|b| b.as_deref())
                .map_or(&[][..], |b| &b[..]);
            let start = (*offset as usize).min(buf.len());
            let end = (start + *len as usize).min(buf.len());
            decode_text(&buf[start..end])
        }
    }
}

/// The text of the rows of a file whose bytes are not kept as read (a
/// Parquet log), made from a row's line (its 1-based row number) where a
/// reject quotes the row or the duplicate check compares it.
pub trait RowText: Send + Sync + std::fmt::Debug {
    /// Row `line`'s text, values separated as in a CSV rendering.
    fn row_text(&self, line: u64) -> String;

    /// Whether rows `a` and `b` have the same text (compared without
    /// making it).
    fn same_rows(&self, a: u64, b: u64) -> bool;
}

/// Characters of a rejected row an error message shows.
const EXCERPT_CHARS: usize = 300;

/// A rejected row as an error message shows it: whole when it is one short
/// line, else its first line cut at 300 characters and what
/// was left out. An unclosed quote early in a file makes the rest of the
/// file one record, which must not be printed whole.
pub fn row_excerpt(raw: &str) -> Cow<'_, str> {
    let body = raw.trim_end_matches(['\r', '\n']);
    let first = body.split('\n').next().unwrap_or("");
    let first = first.strip_suffix('\r').unwrap_or(first);
    let cut = first.char_indices().nth(EXCERPT_CHARS).map(|(i, _)| i);
    if cut.is_none() && first.len() == body.len() {
        return Cow::Borrowed(first);
    }
    let shown = &first[..cut.unwrap_or(first.len())];
    let lines = body.matches('\n').count() + 1;
    let more = if lines > 1 {
        format!("{lines} lines, ")
    } else {
        String::new()
    };
    Cow::Owned(format!("{shown} ... ({more}{} bytes in all)", raw.len()))
}

/// What is wrong with a record of `found` fields where `expected` were
/// due. A record over several lines holds a quoted newline, and with the
/// wrong field count that is most often a quote never closed.
pub fn field_count_detail(expected: usize, found: usize, raw: &[u8]) -> String {
    let lines = raw.trim_ascii_end().iter().filter(|&&b| b == b'\n').count() + 1;
    if lines > 1 {
        format!(
            "expected {expected} fields, found {found}; the record runs over {lines} lines from \
             this one: is a quote left open?"
        )
    } else {
        format!("expected {expected} fields, found {found}")
    }
}

/// A row that was not kept.
#[derive(Debug, Clone)]
pub struct Reject {
    /// Index into [`Interactions::files`].
    pub file: u16,
    /// 1-based line.
    pub line: u64,
    /// The row as written.
    pub raw: RawLine,
    /// Why.
    pub reason: Reason,
    /// The specifics (value, expected range, ...); shared between the
    /// rejects that say the same (every row missing its user id).
    pub detail: Arc<str>,
}

/// One parsed interaction row. Ids are indices into the interners.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Interned user id.
    pub user: u32,
    /// Interned item id.
    pub item: u32,
    /// Rating or event weight.
    pub value: f32,
    /// Unix seconds.
    pub ts: i64,
    /// Event type: 0 for none, else 1 + index into [`Interactions::event_names`].
    pub event: u8,
    /// Quantity (0 when the source has none).
    pub quantity: f64,
    /// Quantity x price (0 when the source has none).
    pub amount: f64,
    /// Index into [`Interactions::files`].
    pub file: u16,
    /// 1-based line: 32 bits keep a row in 56 bytes (files with more
    /// lines are refused before parsing, see [`crate::records::too_many_lines`]).
    pub line: u32,
    /// Byte offset of the raw row in its file's buffer.
    pub offset: u64,
    /// Byte length of the raw row.
    pub len: u32,
}

/// Per-chunk parse state: rows, rejects and local interners.
#[derive(Debug, Default)]
pub struct ChunkRows {
    /// The address range of the file buffer this chunk's records lie in:
    /// rejects inside it are kept as spans.
    pub buffer: Option<std::ops::Range<usize>>,
    /// Parsed rows (ids local to this chunk's interners).
    pub rows: Vec<Row>,
    /// Rejected rows.
    pub rejects: Vec<Reject>,
    /// This chunk's user ids.
    pub users: Interner,
    /// This chunk's item ids.
    pub items: Interner,
    /// Per-item title / text seen in this chunk (events with text columns),
    /// in line order.
    pub item_text: Vec<(u32, Option<String>, Option<String>)>,
    /// Items of this chunk whose title was found (or that have none to find).
    pub title_seen: Vec<bool>,
    /// Per item of this chunk, its first non-empty genres field (events
    /// with a genres column), in line order.
    pub item_genres: Vec<(u32, String)>,
    /// Items of this chunk whose genres were found.
    pub genres_seen: Vec<bool>,
    /// Per item of this chunk, the index in `item_text` of its last text
    /// (`u32::MAX`: none yet).
    pub last_text: Vec<u32>,
    /// Last country per user of this chunk (index = chunk-local user id).
    pub country: Vec<Option<String>>,
    /// Each row's user beside the rows: the gather by user reads these 4
    /// bytes a row, not a 56-byte row.
    row_users: Vec<u32>,
    /// Lines before the chunk's first: its rows and rejects were numbered
    /// from its start, and take this on when merged.
    line_base: u64,
}

impl ChunkRows {
    /// A chunk state whose records are slices of `buf`, with room for
    /// `rows` rows, and as many rejects (growing a vector by doubling copies
    /// it and faults its pages in twice; room never written to costs no
    /// memory).
    pub fn in_buffer(buf: &[u8], rows: usize) -> Self {
        let start = buf.as_ptr() as usize;
        ChunkRows {
            buffer: Some(start..start + buf.len()),
            ..ChunkRows::with_capacity(rows)
        }
    }

    /// A chunk state for records of no buffer (rejects keep their text),
    /// with room for `rows` rows and as many rejects.
    pub fn with_capacity(rows: usize) -> Self {
        ChunkRows {
            rows: Vec::with_capacity(rows),
            row_users: Vec::with_capacity(rows),
            rejects: Vec::with_capacity(rows),
            ..Default::default()
        }
    }

    /// Adds `by` to the lines of the chunk's rows and rejects (when they
    /// are merged: the rows move then anyway).
    pub fn shift_lines(&mut self, by: u64) {
        self.line_base += by;
    }

    /// Takes the chunk's rejects out, their lines counted from the file's
    /// start.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        let mut rejects = std::mem::take(&mut self.rejects);
        for x in &mut rejects {
            x.line += self.line_base;
        }
        rejects
    }

    /// Records a parsed row.
    pub fn push(&mut self, row: Row) {
        self.row_users.push(row.user);
        self.rows.push(row);
    }

    /// Records a reject.
    pub fn reject(
        &mut self,
        file: u16,
        line: u64,
        raw: &[u8],
        reason: Reason,
        detail: impl Into<Arc<str>>,
    ) {
        let at = raw.as_ptr() as usize;
        let raw = match &self.buffer {
            Some(b)
                if b.contains(&at) && at + raw.len() <= b.end && raw.len() <= u32::MAX as usize =>
            {
                RawLine::Span {
                    offset: (at - b.start) as u64,
                    len: raw.len() as u32,
                }
            }
            _ => RawLine::Text(decode_text(raw).into_owned()),
        };
        self.rejects.push(Reject {
            file,
            line,
            raw,
            reason,
            detail: detail.into(),
        });
    }
}

/// All raw interactions of a source, before cleaning.
#[derive(Debug, Default)]
pub struct Interactions {
    /// The files rows came from (index = [`Row::file`]).
    pub files: Vec<PathBuf>,
    /// How many of `files`, from the first, hold interactions (a log
    /// folder's files); the rest are items and users files. 0 reads as 1.
    pub log_files: usize,
    /// The folder the log files were found in, when the source named one:
    /// rejects and the report name them by their paths within it.
    pub log_root: Option<PathBuf>,
    /// Each file's bytes, to quote a row rejected late (duplicates, k-core).
    pub buffers: Vec<Option<Arc<SourceBytes>>>,
    /// Each file's rows as text where its bytes are not kept (a Parquet log).
    pub row_text: Vec<Option<Arc<dyn RowText>>>,
    /// The parsed rows.
    pub rows: Vec<Row>,
    /// `Some(n)` when `rows` are grouped by user, users in the order of
    /// their ids' ranks ([`crate::ids::id_ranks`]) among the first `n` user
    /// ids: set by [`Interactions::absorb_chunks`]. (An id interned later
    /// can change the ranks: a non-numeric one orders all ids as text.)
    pub rows_by_user: Option<usize>,
    /// Rows rejected while parsing.
    pub rejects: Vec<Reject>,
    /// User ids (index = [`Row::user`]).
    pub users: Interner,
    /// Item ids (index = [`Row::item`]).
    pub items: Interner,
    /// Event type names (see [`Row::event`]).
    pub event_names: Vec<String>,
    /// The weight of each event type (same order as `event_names`).
    pub event_weights: Vec<f32>,
    /// Whether rows carry a quantity.
    pub has_quantity: bool,
    /// Whether rows carry an amount.
    pub has_amount: bool,
    /// Raw rows read, header excluded.
    pub rows_read: u64,
    /// Distinct non-empty user ids seen in the raw rows, kept or not.
    pub raw_users: usize,
    /// First title, and every text in line order (repeats not yet
    /// removed), per item id (index = [`Row::item`]) from the interaction
    /// file itself.
    pub item_text: Vec<(Option<String>, Vec<String>)>,
    /// First non-empty genres field per item id (index = [`Row::item`])
    /// from the interaction file itself, as written (`|` separated).
    pub item_genres: Vec<Option<String>>,
    /// Last country per user id (index = [`Row::user`]) from the interaction
    /// file itself.
    pub user_country: Vec<Option<String>>,
}

impl Interactions {
    /// How many of `files`, from the first, hold interactions: a source
    /// that does not set [`Interactions::log_files`] has one.
    pub fn log_file_count(&self) -> usize {
        self.log_files.max(1)
    }

    /// Whether file `file` holds interactions (not items or users).
    pub fn is_log_file(&self, file: u16) -> bool {
        usize::from(file) < self.log_file_count()
    }

    /// How rejects and the report name file `file`
    /// ([`crate::source_file::file_name`]).
    pub fn file_name(&self, file: u16) -> String {
        (self.files.get(usize::from(file))).map_or_else(String::new, |p| {
            crate::source_file::file_name(p, self.log_root.as_deref())
        })
    }

    /// Merges chunk states of file `file` (in file order) into this table.
    pub fn absorb_chunks(&mut self, chunks: Vec<ChunkRows>) {
        // Id tables first (each chunk holds a few thousand ids)...
        let maps: Vec<(Vec<u32>, Vec<u32>)> = chunks
            .iter()
            .map(|c| (self.users.absorb(&c.users), self.items.absorb(&c.items)))
            .collect();
        // ...then the rows, with their ids mapped, grouped by user in dense
        // order (cleaning then sorts within each user only), while the other
        // core merges the rejects, titles and countries.
        let user_rank = crate::ids::id_ranks(self.users.keys());
        let earlier = std::mem::take(&mut self.rows);
        let mut parts = Vec::with_capacity(chunks.len());
        let mut rows = Vec::with_capacity(chunks.len());
        let mut row_users = Vec::with_capacity(chunks.len());
        for mut chunk in chunks {
            let users = std::mem::take(&mut chunk.row_users);
            row_users.push(if users.len() == chunk.rows.len() {
                users
            } else {
                // Rows pushed other than by `push`.
                chunk.rows.iter().map(|r| r.user).collect()
            });
            rows.push(std::mem::take(&mut chunk.rows));
            parts.push(chunk);
        }
        // Each chunk's local user ids straight to their rank.
        let local_rank: Vec<Vec<u32>> = maps
            .iter()
            .map(|(umap, _)| umap.iter().map(|&u| user_rank[u as usize]).collect())
            .collect();
        let line_base: Vec<u64> = parts.iter().map(|c| c.line_base).collect();
        let chunk_lens: Vec<usize> = rows.iter().map(Vec::len).collect();
        let mut sources = vec![earlier];
        sources.extend(rows);
        let rank_of = |s: usize, i: usize, r: &Row| match s {
            0 => user_rank[r.user as usize],
            _ => local_rank[s - 1][row_users[s - 1][i] as usize],
        };
        let (gathered, ()) = rayon::join(
            || {
                gather_by_user(sources, user_rank.len(), rank_of, |s, mut r| {
                    if s > 0 {
                        let (umap, imap) = &maps[s - 1];
                        r.user = umap[r.user as usize];
                        r.item = imap[r.item as usize];
                        // Within u32: the file's lines were checked.
                        r.line += line_base[s - 1] as u32;
                    }
                    r
                })
            },
            || {
                self.rejects
                    .reserve(parts.iter().map(|c| c.rejects.len()).sum());
                self.item_text.resize(self.items.len(), (None, Vec::new()));
                self.item_genres.resize(self.items.len(), None);
                self.user_country.resize(self.users.len(), None);
                for ((mut chunk, len), (umap, imap)) in parts.into_iter().zip(chunk_lens).zip(&maps)
                {
                    self.rows_read += (len + chunk.rejects.len()) as u64;
                    self.rejects.extend(chunk.take_rejects());
                    for (item, title, text) in chunk.item_text {
                        let entry = &mut self.item_text[imap[item as usize] as usize];
                        if entry.0.is_none() {
                            entry.0 = title;
                        }
                        entry.1.extend(text);
                    }
                    for (item, genres) in chunk.item_genres {
                        self.item_genres[imap[item as usize] as usize].get_or_insert(genres);
                    }
                    for (user, country) in chunk.country.into_iter().enumerate() {
                        if country.is_some() {
                            self.user_country[umap[user] as usize] = country;
                        }
                    }
                }
            },
        );
        self.rows = gathered;
        self.rows_by_user = Some(self.users.len());
    }

    /// Rejects a parsed row late (after parsing): its span of the file's
    /// bytes where they are kept, else its fields rendered as text.
    pub fn reject_row(&self, row: &Row, reason: Reason, detail: impl Into<Arc<str>>) -> Reject {
        let kept = self
            .buffers
            .get(row.file as usize)
            .is_some_and(|b| b.is_some());
        let rendered = self
            .row_text
            .get(row.file as usize)
            .and_then(Option::as_ref);
        Reject {
            file: row.file,
            line: u64::from(row.line),
            raw: if kept {
                RawLine::Span {
                    offset: row.offset,
                    len: row.len,
                }
            } else if let Some(rendered) = rendered {
                RawLine::Text(rendered.row_text(u64::from(row.line)))
            } else {
                RawLine::Text(format!(
                    "{},{},{},{}",
                    String::from_utf8_lossy(&self.users.keys()[row.user as usize]),
                    String::from_utf8_lossy(&self.items.keys()[row.item as usize]),
                    row.value,
                    row.ts
                ))
            },
            reason,
            detail: detail.into(),
        }
    }
}

/// The records of a side file (users, items, tags) from `buf[start..]`
/// (which begins on line `line`), parsed on every core: a record of
/// `fields` fields goes to `make`, which gives its value, nothing (a row
/// to pass over) or why it is rejected; one of another field count is
/// rejected. Where `key` gives a value's id, the first row of an id is
/// kept and a later one rejected as [`Reason::DuplicateId`], naming the
/// first's line. Returns the values and the rejects (raw lines as text,
/// lines counted from the file's start), both in file order: the same as
/// one pass over the file. (Read on one core, ML-25M style `tags.csv` files
/// held up the stage: 200,000 tags of a 10M-rating set took 70 ms.)
pub fn parse_side_records<T, F, K>(
    buf: &[u8],
    (start, line): (usize, u64),
    format: crate::records::Format,
    (file, fields): (u16, usize),
    make: F,
    key: K,
) -> (Vec<T>, Vec<Reject>)
where
    T: Send,
    F: Fn(&crate::records::Record<'_, '_>) -> Result<Option<T>, (Reason, String)> + Sync,
    K: Fn(&T) -> Option<String>,
{
    /// A chunk's values, each with its line (counted as its rejects' are,
    /// from the chunk's `line_base`) and where its row lies in `buf`.
    struct SideChunk<T> {
        values: Vec<(T, u64, usize, usize)>,
        rejects: ChunkRows,
    }
    let base = buf.as_ptr() as usize;
    let chunks = crate::records::par_parse(
        buf,
        start,
        line,
        format,
        |_| SideChunk {
            values: Vec::new(),
            rejects: ChunkRows::default(),
        },
        |chunk: &mut SideChunk<T>, rec| {
            let (line, raw) = (rec.line, rec.raw);
            if rec.fields.len() != fields {
                let detail = field_count_detail(fields, rec.fields.len(), raw);
                chunk
                    .rejects
                    .reject(file, line, raw, Reason::WrongFieldCount, detail);
                return;
            }
            match make(&rec) {
                Ok(Some(value)) => {
                    // (A record's bytes lie in `buf`; `raw_at` checks.)
                    let at = (raw.as_ptr() as usize).wrapping_sub(base);
                    chunk.values.push((value, line, at, raw.len()));
                }
                Ok(None) => {}
                Err((reason, detail)) => chunk.rejects.reject(file, line, raw, reason, detail),
            }
        },
        |chunk, by| chunk.rejects.shift_lines(by),
    );
    let raw_at = |at: usize, len: usize| buf.get(at..at.saturating_add(len)).unwrap_or_default();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut duplicates = ChunkRows::default();
    let mut values = Vec::new();
    let mut rejected = Vec::new();
    for mut chunk in chunks {
        for (value, line, at, len) in chunk.values {
            let line = line + chunk.rejects.line_base;
            if let Some(id) = key(&value) {
                if let Some(first) = first_line.get(&id) {
                    let detail = format!("id `{id}` is given by line {first} already");
                    duplicates.reject(file, line, raw_at(at, len), Reason::DuplicateId, detail);
                    continue;
                }
                first_line.insert(id, line);
            }
            values.push(value);
        }
        rejected.extend(chunk.rejects.take_rejects());
    }
    // In file order with the rest (a stable sort: each list is in order).
    rejected.extend(duplicates.take_rejects());
    rejected.sort_by_key(|x| x.line);
    (values, rejected)
}

/// Frees `value` on a helper thread, so that unmapping its pages does not
/// hold up the stage (or here, if no thread can be started).
pub fn free_later<T: Send + 'static>(value: T) {
    // A failed spawn drops the closure, and `value` with it, right here.
    let _ = std::thread::Builder::new()
        .name("free".into())
        .spawn(move || drop(value));
}

/// Rows per step of [`gather_by_user`]'s gather: after each step the
/// sources whose rows have all been gathered are freed (56 MB a step).
const GATHER_STEP_ROWS: usize = 1 << 20;

/// The rows of `sources` (as `map(source index, row)` stores them) in the
/// order of their users' ranks (`rank_of(source index, row index, row)`,
/// below `ranks`), each user's rows in source order: a stable counting
/// sort, two passes over the ranks and a parallel gather (a comparison
/// sort of the 56-byte rows took twice as long, and a copy of the rows in
/// file order first would be one more pass of page faults).
///
/// Both passes over the ranks run on every core, each on its own piece of
/// the rows taken one source after another, with a count per rank of its
/// own (4 pieces per core, fewer where users are many: the counts take at
/// most 4 bytes per row in all). Run on one core, they left the other
/// idle for about 0.15 s of a 10M-rating ingest's 2.1 s (perf samples per
/// 0.1 s); side by side both cores stay busy there, though the stage's
/// time moved less than the host's noise.
///
/// The gather fills the result in steps of a million rows and frees
/// each source once its last row is in: when the sources come in user
/// order (MovieLens files are sorted by user) the rows are held about once,
/// not twice (20M ratings: peak 2.95 -> 2.1 GB). Sources in another order
/// (event logs by time) stay until the end.
pub fn gather_by_user<K, F>(sources: Vec<Vec<Row>>, ranks: usize, rank_of: K, map: F) -> Vec<Row>
where
    K: Fn(usize, usize, &Row) -> u32 + Sync,
    F: Fn(usize, Row) -> Row + Sync,
{
    let rows: usize = sources.iter().map(Vec::len).sum();
    let pieces = (4 * rayon::current_num_threads())
        .min(rows / (2 * ranks).max(1))
        .max(1);
    gather_in_steps(sources, ranks, rank_of, map, GATHER_STEP_ROWS, pieces)
}

/// Calls `f(source, index, row)` for rows `range` of `sources` taken one
/// after another (`starts`: where each source begins in that sequence,
/// and the total last).
fn for_rows_in(
    sources: &[Vec<Row>],
    starts: &[usize],
    range: std::ops::Range<usize>,
    mut f: impl FnMut(usize, usize, &Row),
) {
    let mut s = starts
        .partition_point(|&at| at <= range.start)
        .saturating_sub(1);
    let mut at = range.start;
    while at < range.end && s < sources.len() {
        let from = at - starts[s];
        let to = sources[s].len().min(from + (range.end - at));
        for (i, row) in sources[s][from..to].iter().enumerate() {
            f(s, from + i, row);
        }
        at += to - from;
        s += 1;
    }
}

/// [`gather_by_user`] in steps of `step` rows, its ranks counted and
/// placed in `pieces` pieces side by side.
fn gather_in_steps<K, F>(
    sources: Vec<Vec<Row>>,
    ranks: usize,
    rank_of: K,
    map: F,
    step: usize,
    pieces: usize,
) -> Vec<Row>
where
    K: Fn(usize, usize, &Row) -> u32 + Sync,
    F: Fn(usize, Row) -> Row + Sync,
{
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    if sources.iter().any(|rows| rows.len() > u32::MAX as usize) {
        let mut all: Vec<(u32, Row)> = sources
            .iter()
            .enumerate()
            .flat_map(|(s, rows)| rows.iter().enumerate().map(move |(i, r)| (s, i, r)))
            .map(|(s, i, r)| (rank_of(s, i, r), map(s, *r)))
            .collect();
        drop(sources);
        all.par_sort_by_key(|&(rank, _)| rank);
        return all.into_iter().map(|(_, r)| r).collect();
    }
    let mut starts = Vec::with_capacity(sources.len() + 1);
    starts.push(0);
    for rows in &sources {
        starts.push(starts[starts.len() - 1] + rows.len());
    }
    let total = starts[sources.len()];
    let piece = total.div_ceil(pieces.max(1)).max(1);
    let ranges: Vec<std::ops::Range<usize>> = (0..total)
        .step_by(piece)
        .map(|at| at..total.min(at + piece))
        .collect();
    // Each piece's rows per rank...
    let mut next: Vec<Vec<usize>> = ranges
        .par_iter()
        .map(|range| {
            let mut counts = vec![0usize; ranks];
            for_rows_in(&sources, &starts, range.clone(), |s, i, r| {
                counts[rank_of(s, i, r) as usize] += 1;
            });
            counts
        })
        .collect();
    // ...then where each piece's rows of each rank go: ranks in order,
    // and within a rank the pieces in order.
    let mut slot = 0;
    for rank in 0..ranks {
        for counts in &mut next {
            let n = counts[rank];
            counts[rank] = slot;
            slot += n;
        }
    }
    // Each row's (source, index) into its slot, each piece writing its
    // own slots; and the last slot each source fills: it can go once the
    // gather is past it.
    let from: Vec<AtomicU64> = (0..total)
        .into_par_iter()
        .map(|_| AtomicU64::new(0))
        .collect();
    let last_slot = ranges
        .par_iter()
        .zip(next.par_iter_mut())
        .map(|(range, next)| {
            let mut last = vec![0usize; sources.len()];
            for_rows_in(&sources, &starts, range.clone(), |s, i, r| {
                let slot = &mut next[rank_of(s, i, r) as usize];
                from[*slot].store(((s as u64) << 32) | i as u64, Ordering::Relaxed);
                last[s] = last[s].max(*slot);
                *slot += 1;
            });
            last
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(b).for_each(|(x, y)| *x = (*x).max(y));
            a
        })
        .unwrap_or_default();
    let mut sources: Vec<Option<Vec<Row>>> = sources.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(total);
    let step = step.max(1);
    for start in (0..total).step_by(step) {
        let end = total.min(start + step);
        let views: Vec<&[Row]> = sources
            .iter()
            .map(|s| s.as_deref().unwrap_or(&[]))
            .collect();
        out.par_extend(from[start..end].par_iter().with_min_len(4096).map(|at| {
            let at = at.load(Ordering::Relaxed);
            let (s, i) = ((at >> 32) as usize, at as u32 as usize);
            map(s, views[s][i])
        }));
        // One helper thread per step frees what the step finished with.
        let done: Vec<Vec<Row>> = (sources.iter_mut().enumerate())
            .filter(|(s, _)| last_slot.get(*s).is_none_or(|&last| last < end))
            .filter_map(|(_, source)| source.take())
            .collect();
        if !done.is_empty() {
            free_later(done);
        }
    }
    out
}

/// A user as described by a users file (or the interaction file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserRecord {
    /// Original id.
    pub id: String,
    /// Gender.
    pub gender: Option<String>,
    /// Age or age band.
    pub age: Option<String>,
    /// Occupation.
    pub occupation: Option<String>,
    /// Zip code.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// An item as described by an items file (or the interaction file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemRecord {
    /// Original id.
    pub id: String,
    /// Title as written.
    pub title: Option<String>,
    /// Release year.
    pub year: Option<i32>,
    /// Genres.
    pub genres: Vec<String>,
    /// Free text.
    pub text: Option<String>,
}

/// Which optional columns a source provides.
#[derive(Debug, Clone, Copy, Default)]
pub struct Columns {
    /// users.parquet gets gender/age/occupation/zip.
    pub demographics: bool,
    /// users.parquet gets country.
    pub country: bool,
}

/// What a source yields: interactions plus optional user and item files.
#[derive(Debug, Default)]
pub struct SourceData {
    /// The interactions.
    pub interactions: Interactions,
    /// Users from a users file, if the source has one (unknown references are rejected).
    pub users: Option<Vec<UserRecord>>,
    /// Items from an items file, if the source has one.
    pub items: Option<Vec<ItemRecord>>,
    /// Which optional user columns exist.
    pub columns: Columns,
    /// Synthetic sources: the planted segment of each user id.
    pub true_segments: Option<Vec<(String, u16)>>,
    /// Extra facts for the report (layout detected, ...).
    pub notes: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_at_its_discriminant() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
        let codes: std::collections::BTreeSet<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Reason::ALL.len(), "codes are distinct");
    }

    #[test]
    fn a_row_takes_56_bytes() {
        // Rows are moved through every phase (parse, gather, sorts, writes):
        // 64 -> 56 bytes made Online Retail's ingest 4-6 ms faster.
        assert_eq!(std::mem::size_of::<Row>(), 56);
    }

    #[test]
    fn absorbed_chunks_are_grouped_by_user_id_with_lines_shifted() {
        // Two chunks numbered from their own start; the second begins 100
        // lines into the file. Ids "9" < "10" < "20" in id order.
        let chunk = |users: &[&[u8]], base: u64| {
            let mut c = ChunkRows::default();
            for (line, u) in users.iter().enumerate() {
                let user = c.users.intern(u);
                let item = c.items.intern(b"i");
                c.push(Row {
                    user,
                    item,
                    value: 1.0,
                    ts: 0,
                    event: 0,
                    quantity: 0.0,
                    amount: 0.0,
                    file: 0,
                    line: line as u32,
                    offset: 0,
                    len: 0,
                });
            }
            c.shift_lines(base);
            c
        };
        let mut inter = Interactions::default();
        inter.absorb_chunks(vec![
            chunk(&[b"20", b"9", b"20"], 2),
            chunk(&[b"10", b"9"], 100),
        ]);
        assert_eq!(inter.rows_by_user, Some(3));
        let got: Vec<(&[u8], u32)> = inter
            .rows
            .iter()
            .map(|r| (&*inter.users.keys()[r.user as usize], r.line))
            .collect();
        let expected: Vec<(&[u8], u32)> =
            vec![(b"9", 3), (b"9", 101), (b"10", 100), (b"20", 2), (b"20", 4)];
        assert_eq!(got, expected);
    }

    #[test]
    fn error_messages_show_a_short_row_whole_and_a_long_one_cut() {
        assert_eq!(row_excerpt("1,2,3\r\n"), "1,2,3");
        assert_eq!(row_excerpt("1,\"a"), "1,\"a");
        // An unclosed quote: the rest of the file in one record.
        let runaway = format!("1,\"a,2\n{}", "3,b,4\n".repeat(10_000));
        let shown = row_excerpt(&runaway);
        assert_eq!(
            shown,
            format!("1,\"a,2 ... (10001 lines, {} bytes in all)", runaway.len())
        );
        // One line too long to print: cut at a character, not a byte.
        let long = "é".repeat(EXCERPT_CHARS + 1);
        let shown = row_excerpt(&long);
        assert!(shown.starts_with(&"é".repeat(EXCERPT_CHARS)));
        assert!(shown.ends_with(&format!(" ... ({} bytes in all)", long.len())));
    }

    #[test]
    fn a_record_over_several_lines_suggests_an_open_quote() {
        assert_eq!(
            field_count_detail(8, 5, b"1,2,3,4,5\r\n"),
            "expected 8 fields, found 5"
        );
        let detail = field_count_detail(8, 5, b"1,\"a,2\n3,b\n4,c");
        assert!(
            detail.starts_with("expected 8 fields, found 5; "),
            "{detail}"
        );
        assert!(detail.contains("runs over 3 lines"), "{detail}");
    }

    /// A row of user 0 on line `line`, every other field zero.
    fn row_at(line: u32) -> Row {
        Row {
            user: 0,
            item: 0,
            value: 0.0,
            ts: 0,
            event: 0,
            quantity: 0.0,
            amount: 0.0,
            file: 0,
            line,
            offset: 0,
            len: 0,
        }
    }

    #[test]
    fn gather_by_user_is_a_stable_sort_by_rank_of_the_mapped_rows() {
        let row = |user, line| Row {
            user,
            ..row_at(line)
        };
        // Source 1 holds local user ids that map to 2 and 0.
        let first = [row(1, 1), row(0, 2), row(1, 3)];
        let second = [row(0, 4), row(1, 5), row(0, 6)];
        let local_to_global = [2u32, 0];
        let rank = [2u32, 0, 1]; // user 1 first, then 2, then 0
        let rank_of = |s: usize, _: usize, r: &Row| {
            rank[if s == 1 {
                local_to_global[r.user as usize]
            } else {
                r.user
            } as usize]
        };
        let map = |s: usize, mut r: Row| {
            if s == 1 {
                r.user = local_to_global[r.user as usize];
            }
            r
        };
        let sources = || vec![first.to_vec(), second.to_vec()];
        let rows = gather_by_user(sources(), rank.len(), rank_of, map);
        let got: Vec<(u32, u32)> = rows.iter().map(|r| (r.user, r.line)).collect();
        assert_eq!(
            got,
            vec![(1, 1), (1, 3), (2, 4), (2, 6), (0, 2), (0, 5)],
            "by rank, and in source order within a user"
        );
        let mut expected = got.clone();
        expected.sort_by_key(|&(u, _)| rank[u as usize]);
        assert_eq!(got, expected);
        // In steps of any size, freeing sources on the way, and counted in
        // any number of pieces: the same rows.
        for step in 1..=7 {
            for pieces in 1..=8 {
                let stepped = gather_in_steps(sources(), rank.len(), rank_of, map, step, pieces);
                let stepped: Vec<(u32, u32)> = stepped.iter().map(|r| (r.user, r.line)).collect();
                assert_eq!(stepped, got, "step {step}, {pieces} pieces");
            }
        }
    }

    #[test]
    fn gather_in_pieces_equals_a_stable_sort_whatever_the_sources() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n.max(1)
        };
        for case in 0..60 {
            let ranks = 1 + next(40) as usize;
            // Sources of mixed sizes, empty ones among them.
            let sources: Vec<Vec<Row>> = (0..1 + next(6))
                .map(|s| {
                    (0..next(if s % 3 == 1 { 1 } else { 90 }))
                        .map(|i| Row {
                            user: next(ranks as u64) as u32,
                            ..row_at((1000 * s + i) as u32)
                        })
                        .collect()
                })
                .collect();
            let rank: Vec<u32> = (0..ranks as u32).rev().collect();
            let rank_of = |_: usize, _: usize, r: &Row| rank[r.user as usize];
            let mut want: Vec<Row> = sources.concat();
            want.sort_by_key(|r| rank[r.user as usize]);
            let want: Vec<(u32, u32)> = want.iter().map(|r| (r.user, r.line)).collect();
            let (step, pieces) = (1 + next(50) as usize, 1 + next(12) as usize);
            let got = gather_in_steps(sources.clone(), ranks, rank_of, |_, r| r, step, pieces);
            let got: Vec<(u32, u32)> = got.iter().map(|r| (r.user, r.line)).collect();
            assert_eq!(got, want, "case {case}: step {step}, {pieces} pieces");
            let all = gather_by_user(sources, ranks, rank_of, |_, r| r);
            assert_eq!(all.len(), want.len());
        }
    }

    #[test]
    fn side_records_over_many_chunks_keep_file_order_and_line_numbers() {
        // 3 MB of `id,name,tag` lines (several parse chunks), a quoted
        // field with a newline among them, bad rows here and there.
        let mut buf = b"id,name,tag\n".to_vec();
        let (mut line, mut want_values, mut want_rejects) = (2u64, Vec::new(), Vec::new());
        for i in 0..60_000u64 {
            if i % 7_919 == 5 {
                buf.extend_from_slice(format!("{i},only two\n").as_bytes());
                want_rejects.push((line, Reason::WrongFieldCount));
            } else if i % 10_007 == 3 {
                buf.extend_from_slice(format!("{i},\"two\nlines\",x\n").as_bytes());
                want_values.push(i);
                line += 1;
            } else if i % 5_003 == 1 {
                buf.extend_from_slice(format!("{i},bad,x\n").as_bytes());
                want_rejects.push((line, Reason::BadRating));
            } else if i % 3_001 == 2 {
                // An empty id: passed over, neither kept nor rejected.
                buf.extend_from_slice(b",nobody,x\n");
            } else {
                buf.extend_from_slice(
                    format!("{i},name {i} padded to some length,tag\n").as_bytes(),
                );
                want_values.push(i);
            }
            line += 1;
        }
        let format = crate::records::Format::Csv(b',');
        let (values, rejects) = parse_side_records(
            &buf,
            (12, 2),
            format,
            (3, 3),
            |rec| {
                if rec.fields[0].is_empty() {
                    return Ok(None);
                }
                if rec.fields[1] == b"bad" {
                    return Err((Reason::BadRating, "bad".into()));
                }
                let id = std::str::from_utf8(rec.fields[0]).expect("an ASCII id");
                Ok(Some(id.parse::<u64>().expect("a number")))
            },
            |_| None,
        );
        assert_eq!(values, want_values);
        let got: Vec<(u64, Reason)> = rejects.iter().map(|x| (x.line, x.reason)).collect();
        assert_eq!(got, want_rejects);
        assert!(rejects.iter().all(|x| x.file == 3));
        assert_eq!(raw_text(&[], &rejects[0]), "1,bad,x");
        assert!(buf.len() > 2 << 20, "several chunks");
    }

    #[test]
    fn a_side_file_keeps_the_first_row_of_an_id_and_rejects_the_later_ones() {
        // Enough rows for several chunks, so that a repeat can lie in a
        // chunk after its first.
        let mut buf = b"id,name\n".to_vec();
        let (mut want, mut seen, mut repeats) = (Vec::new(), HashMap::new(), Vec::new());
        for i in 0..120_000u64 {
            let id = if i % 1000 == 999 { i / 2 } else { i };
            buf.extend_from_slice(format!("{id},name {i} padded to some length\n").as_bytes());
            match seen.insert(id, ()) {
                None => want.push(id),
                Some(()) => repeats.push(i + 2),
            }
        }
        let format = crate::records::Format::Csv(b',');
        let parse = |rec: &crate::records::Record<'_, '_>| {
            let id = std::str::from_utf8(rec.fields[0]).expect("an ASCII id");
            Ok(Some(id.parse::<u64>().expect("a number")))
        };
        let (values, rejects) =
            parse_side_records(&buf, (8, 2), format, (1, 2), parse, |v: &u64| {
                Some(v.to_string())
            });
        assert!(values == want, "the first row of each id, in file order");
        let lines: Vec<u64> = rejects.iter().map(|x| x.line).collect();
        assert!(
            lines == repeats && repeats.len() > 50,
            "each repeat at its line"
        );
        let first = &rejects[0];
        assert_eq!((first.line, first.reason), (1001, Reason::DuplicateId));
        assert_eq!(&*first.detail, "id `499` is given by line 501 already");
        assert_eq!(raw_text(&[], first), "499,name 999 padded to some length");
        assert!(
            rejects.windows(2).all(|w| w[0].line < w[1].line),
            "in file order"
        );
        assert!(buf.len() > 2 << 20, "several chunks");
        // Without a key, every row is a value.
        let (values, rejects) = parse_side_records(&buf, (8, 2), format, (1, 2), parse, |_| None);
        assert_eq!((values.len(), rejects.len()), (120_000, 0));
    }

    #[test]
    fn rejects_inside_the_buffer_are_spans_and_read_back_as_text() {
        // A latin-1 line among UTF-8 ones.
        let buf: Vec<u8> = b"u1,i1,5\nu2,Caf\xe9,x\nu3,i3,7\n".to_vec();
        let mut chunk = ChunkRows::in_buffer(&buf, 0);
        chunk.reject(0, 2, &buf[8..17], Reason::BadRating, "x");
        let elsewhere = b"u9,i9,?".to_vec();
        chunk.reject(0, 9, &elsewhere, Reason::BadRating, "?");
        assert_eq!(chunk.rejects[0].raw, RawLine::Span { offset: 8, len: 9 });
        assert_eq!(chunk.rejects[1].raw, RawLine::Text("u9,i9,?".into()));
        let buffers = vec![Some(Arc::new(buf.clone().into()))];
        assert_eq!(raw_text(&buffers, &chunk.rejects[0]), "u2,Café,x");
        assert_eq!(raw_text(&buffers, &chunk.rejects[1]), "u9,i9,?");
        // A span whose buffer is gone reads as empty, never out of bounds.
        assert_eq!(raw_text(&[None], &chunk.rejects[0]), "");
    }
}
