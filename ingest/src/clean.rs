//! Cleaning: exclusions, unknown references, duplicate pairs, k-core
//! filtering, dense ids.

use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::{IngestError, Result};
use crate::ids::{dense_order, id_ranks};
use crate::params::{DuplicatePolicy, IngestParams, OnError};
use crate::rows::{
    Interactions, ItemRecord, Reason, Reject, Row, RowText, SourceData, UserRecord, free_later,
    gather_by_user, raw_text, row_excerpt,
};
use crate::source_file::SourceBytes;

/// The cleaned tables, ready to be written.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Interactions with dense ids, sorted by (user_idx, ts, item_idx).
    pub rows: Vec<Row>,
    /// Users in dense order.
    pub users: Vec<UserRecord>,
    /// Items in dense order.
    pub items: Vec<ItemRecord>,
    /// Every row not kept, sorted by (file, line).
    pub rejects: Vec<Reject>,
    /// Each file's bytes, which the rejects' spans point into.
    pub buffers: Vec<Option<Arc<SourceBytes>>>,
    /// Raw rows read per file, header excluded (interaction files only).
    pub rows_read: u64,
    /// Raw rows that went into a kept interaction.
    pub rows_kept: u64,
    /// Raw rows folded into another by `duplicates: sum`.
    pub rows_merged: u64,
    /// Planted segments by dense user index (synthetic only).
    pub true_segments: Option<Vec<u16>>,
    /// What `exclude_users` and `exclude_items` named that no valid row gives.
    pub unmatched_exclusions: Vec<String>,
}

fn first_error<'a>(
    rejects: impl IntoIterator<Item = &'a Reject>,
    inter: &Interactions,
) -> IngestError {
    let first = rejects.into_iter().min_by_key(|r| (r.file, r.line));
    IngestError::BadRow {
        path: first
            .and_then(|r| inter.files.get(r.file as usize).cloned())
            .unwrap_or_default(),
        line: first.map_or(0, |r| r.line),
        reason: first
            .map_or(Reason::WrongFieldCount, |r| r.reason)
            .code()
            .into(),
        detail: first.map(|r| r.detail.to_string()).unwrap_or_default(),
        raw: first
            .map(|r| row_excerpt(&raw_text(&inter.buffers, r)).into_owned())
            .unwrap_or_default(),
    }
}

/// Fails when more of the interaction file's rows are invalid than
/// `max_rejected_fraction` allows: a changed date format or column order
/// upstream then stops a scheduled run instead of passing on what is left.
fn check_invalid_share(inter: &Interactions, late: &[Reject], params: &IngestParams) -> Result<()> {
    let limit = params
        .max_rejected_fraction
        .unwrap_or(crate::params::DEFAULT_MAX_REJECTED_FRACTION);
    let invalid = || {
        inter
            .rejects
            .iter()
            .chain(late)
            .filter(|r| inter.is_log_file(r.file) && !r.reason.is_policy())
    };
    let rejected = invalid().count() as u64;
    let read = inter.rows_read;
    if limit >= 1.0 || read == 0 || rejected as f64 <= limit * read as f64 {
        return Ok(());
    }
    let mut counts = [0u64; Reason::ALL.len()];
    for r in invalid() {
        counts[r.reason as usize] += 1;
    }
    let mut by_reason: Vec<(u64, &str)> = Reason::ALL
        .iter()
        .filter(|r| counts[**r as usize] > 0)
        .map(|r| (counts[*r as usize], r.code()))
        .collect();
    by_reason.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let reasons = by_reason
        .iter()
        .map(|(n, code)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    // In a log folder, the line of the file it names.
    let file_of = |r: &Reject| match &inter.log_root {
        Some(_) => format!("{} ", inter.file_name(r.file)),
        None => String::new(),
    };
    let first = invalid()
        .min_by_key(|r| (r.file, r.line))
        .map_or_else(String::new, |r| {
            format!(
                "{}line {}: {}: {}\n  row: {}",
                file_of(r),
                r.line,
                r.reason.code(),
                r.detail,
                row_excerpt(&raw_text(&inter.buffers, r))
            )
        });
    Err(IngestError::TooManyRejected {
        path: (inter.log_root.clone())
            .or_else(|| inter.files.first().cloned())
            .unwrap_or_default(),
        rejected,
        read,
        limit,
        reasons,
        first,
    })
}

/// The times `time_from`, `time_to` and `last_days` keep, `[from, to)`,
/// with the detail the rejects of each side share.
struct TimeWindow {
    from: Option<(i64, Arc<str>)>,
    to: Option<(i64, Arc<str>)>,
}

impl TimeWindow {
    /// The window of `params` over `rows`: `last_days` counts back from
    /// the latest row's time (before `to`).
    fn new(params: &IngestParams, rows: &[Row]) -> Result<Self> {
        let (from, to) = params.time_bounds()?;
        let iso = crate::output::iso;
        let to = to.map(|t| (t, Arc::from(format!("at or after `time_to` {}", iso(t)))));
        let from = match params.last_days {
            Some(days) => {
                let latest = (rows.par_iter())
                    .map(|r| r.ts)
                    .filter(|&ts| to.as_ref().is_none_or(|(t, _)| ts < *t))
                    .max();
                latest.map(|latest| {
                    let start = latest.saturating_sub(i64::from(days) * 86_400) + 1;
                    let detail = format!(
                        "more than {days} days (`last_days`) before the latest time, {}",
                        iso(latest)
                    );
                    (start, Arc::from(detail))
                })
            }
            None => from.map(|t| (t, Arc::from(format!("before `time_from` {}", iso(t))))),
        };
        Ok(TimeWindow { from, to })
    }

    /// Why a row at `ts` is outside the window, if it is.
    fn outside(&self, ts: i64) -> Option<Arc<str>> {
        match (&self.from, &self.to) {
            (Some((from, why)), _) if ts < *from => Some(why.clone()),
            (_, Some((to, why))) if ts >= *to => Some(why.clone()),
            _ => None,
        }
    }
}

/// Turns a source's raw rows into clean tables.
pub fn clean(mut data: SourceData, params: &IngestParams) -> Result<Cleaned> {
    let inter = &mut data.interactions;
    if params.on_error == OnError::Fail && !inter.rejects.is_empty() {
        return Err(first_error(&inter.rejects, inter));
    }
    // The ids `exclude_users` and `exclude_items` name, by interned id,
    // with the detail their rows' rejects share; and those of them that no
    // valid row gives (a typo excludes nothing, and says so).
    let mut unmatched_exclusions = Vec::new();
    let mut excluded = |ids: &crate::ids::Interner, names: &[String], what: &str| {
        if names.is_empty() {
            return Vec::new();
        }
        let mut unmatched: HashSet<&str> = names.iter().map(String::as_str).collect();
        let flags = (ids.keys().iter())
            .map(|k| {
                let id = String::from_utf8_lossy(k);
                unmatched
                    .remove(id.as_ref())
                    .then(|| Arc::<str>::from(format!("{what} `{id}` is in `exclude_{what}s`")))
            })
            .collect::<Vec<_>>();
        let mut unmatched: Vec<&str> = unmatched.into_iter().collect();
        unmatched.sort_unstable();
        if !unmatched.is_empty() {
            unmatched_exclusions.push(format!(
                "`exclude_{what}s` matched no valid row for {}",
                unmatched.join(", ")
            ));
        }
        flags
    };
    let user_excluded = excluded(&inter.users, &params.exclude_users, "user");
    let item_excluded = excluded(&inter.items, &params.exclude_items, "item");
    let rows_read = inter.rows_read;

    // Catalogs: first record of each id wins.
    let dedup_by_id = |records: Vec<(String, usize)>| {
        let mut seen = HashMap::new();
        for (id, i) in records {
            seen.entry(id).or_insert(i);
        }
        seen
    };
    let user_catalog: Option<HashMap<String, usize>> = data.users.as_ref().map(|u| {
        dedup_by_id(
            u.iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect(),
        )
    });
    let item_catalog: Option<HashMap<String, usize>> = data.items.as_ref().map(|u| {
        dedup_by_id(
            u.iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect(),
        )
    });
    let key = |k: &[u8]| String::from_utf8_lossy(k).into_owned();
    let user_rec: Vec<Option<usize>> = inter
        .users
        .keys()
        .iter()
        .map(|k| user_catalog.as_ref().and_then(|c| c.get(&key(k)).copied()))
        .collect();
    let item_rec: Vec<Option<usize>> = inter
        .items
        .keys()
        .iter()
        .map(|k| item_catalog.as_ref().and_then(|c| c.get(&key(k)).copied()))
        .collect();

    // Rows in groups of equal (user, item), users and items in their dense
    // order (so that the final order is a sort within each user), then by
    // time, then line: users by a counting sort, then each user's rows on
    // its own. (file, line) is unique, so the order is total and an
    // unstable sort gives the same result as any other.
    // Rows the parse left grouped by user need no user ranks (it had them).
    let grouped = inter.rows_by_user == Some(inter.users.len());
    let (user_rank, item_rank) = rayon::join(
        || (!grouped).then(|| id_ranks(inter.users.keys())),
        || id_ranks(inter.items.keys()),
    );
    let mut rows = std::mem::take(&mut inter.rows);
    if let Some(user_rank) = &user_rank
        && !rows.is_sorted_by_key(|r| user_rank[r.user as usize])
    {
        let rank_of = |_, _, r: &Row| user_rank[r.user as usize];
        rows = gather_by_user(vec![rows], user_rank.len(), rank_of, |_, r| r);
    }
    rows.par_chunk_by_mut(|a, b| a.user == b.user)
        .for_each_init(Default::default, |scratch, user| {
            sort_by_item(user, &item_rank, scratch)
        });

    // Rows identical to an earlier one: rejected, naming the first copy.
    let mut late = Vec::new();
    let mut duplicates: Vec<usize> = Vec::new();
    if params.drop_duplicate_rows.unwrap_or(false) {
        for (i, first) in duplicate_rows(&rows, &inter.buffers, &inter.row_text) {
            let (line, file) = (rows[first].line, rows[first].file);
            let detail = if file == rows[i].file {
                format!("same as line {line}")
            } else {
                format!("same as {} line {line}", inter.file_name(file))
            };
            late.push(inter.reject_row(&rows[i], Reason::DuplicateRow, detail));
            duplicates.push(i);
        }
    }

    // Then, on parts of whole users side by side: the duplicates and the
    // rows of excluded ids or unknown references dropped (the rest moved up
    // within their part, in place: a copy of every row costs more in page
    // faults than the tests), and the kept pairs formed from runs of equal
    // (user, item).
    let window = TimeWindow::new(params, &rows)?;
    let policy = params.duplicate_policy();
    let parts = user_parts(&rows, rayon::current_num_threads() * 4);
    let (mut pairs, mut merged, mut rows_kept) = (Vec::with_capacity(parts.len()), 0u64, 0u64);
    let mut user_used = vec![false; inter.users.len()];
    let mut item_used = vec![false; inter.items.len()];
    {
        let inter: &Interactions = inter;
        let refused = |row: &Row| {
            let exclusion = |flags: &[Option<Arc<str>>], idx: u32| flags.get(idx as usize)?.clone();
            if let Some(detail) = exclusion(&user_excluded, row.user) {
                return Some(inter.reject_row(row, Reason::ExcludedUser, detail));
            }
            if let Some(detail) = exclusion(&item_excluded, row.item) {
                return Some(inter.reject_row(row, Reason::ExcludedItem, detail));
            }
            if let Some(detail) = window.outside(row.ts) {
                return Some(inter.reject_row(row, Reason::OutsideTimeRange, detail));
            }
            let (ids, idx, reason, what) =
                if user_catalog.is_some() && user_rec[row.user as usize].is_none() {
                    (&inter.users, row.user, Reason::UnknownUser, "user")
                } else if item_catalog.is_some() && item_rec[row.item as usize].is_none() {
                    (&inter.items, row.item, Reason::UnknownItem, "item")
                } else {
                    return None;
                };
            let id = key(&ids.keys()[idx as usize]);
            let detail = format!("{what} `{id}` is not in the {what}s file");
            Some(inter.reject_row(row, reason, detail))
        };
        let results: Vec<PartPairs> = split_parts(&mut rows, &parts)
            .into_par_iter()
            .zip(&parts)
            .map(|(part, range)| {
                let from = duplicates.partition_point(|&i| i < range.start);
                let to = duplicates.partition_point(|&i| i < range.end);
                part_pairs(
                    part,
                    range.start,
                    &duplicates[from..to],
                    &refused,
                    policy,
                    inter,
                )
            })
            .collect();
        for r in results {
            late.extend(r.late);
            merged += r.merged;
            rows_kept += r.kept;
            for u in r.users {
                user_used[u as usize] = true;
            }
            for (used, here) in item_used.iter_mut().zip(r.items) {
                *used |= here;
            }
            pairs.push(r.pairs);
        }
    }
    // Duplicates and exclusions are what the configuration asked for, not
    // errors: `on_error: fail` stops at the first invalid row only.
    if params.on_error == OnError::Fail && late.iter().any(|r| !r.reason.is_policy()) {
        return Err(first_error(
            late.iter().filter(|r| !r.reason.is_policy()),
            inter,
        ));
    }
    check_invalid_share(inter, &late, params)?;

    // k-core: drop users / items with too few interactions until stable.
    let (min_u, min_i) = (params.min_user_interactions, params.min_item_interactions);
    if min_u > 1 || min_i > 1 {
        loop {
            let mut uc = vec![0u32; inter.users.len()];
            let mut ic = vec![0u32; inter.items.len()];
            for &(s, _) in pairs.iter().flatten() {
                let p = &rows[s];
                uc[p.user as usize] += 1;
                ic[p.item as usize] += 1;
            }
            let mut dropped = false;
            for part in &mut pairs {
                let mut kept = Vec::with_capacity(part.len());
                for &(s, e) in part.iter() {
                    let p = &rows[s];
                    let (users, items) = (uc[p.user as usize], ic[p.item as usize]);
                    match k_core_reason(users, items, min_u, min_i) {
                        Some((reason, detail)) => {
                            for r in &rows[s..e] {
                                late.push(inter.reject_row(r, reason, detail.clone()));
                            }
                            if e - s > 1 && policy == DuplicatePolicy::Sum {
                                merged -= (e - s - 1) as u64;
                            }
                            dropped = true;
                        }
                        None => kept.push((s, e)),
                    }
                }
                *part = kept;
            }
            if !dropped {
                break;
            }
        }
        rows_kept = pairs.iter().flatten().map(|(s, e)| (e - s) as u64).sum();
        user_used.fill(false);
        item_used.fill(false);
        for &(s, _) in pairs.iter().flatten() {
            let p = &rows[s];
            user_used[p.user as usize] = true;
            item_used[p.item as usize] = true;
        }
    }
    if pairs.iter().all(Vec::is_empty) {
        return Err(IngestError::NothingKept(nothing_kept(
            rows_read,
            inter.rejects.iter().chain(&late),
            (min_u, min_i),
        )));
    }
    // Users and items side by side: each side's dense catalog, the text the
    // interaction file gives it, and the map from interned to dense ids.
    let item_text = std::mem::take(&mut inter.item_text);
    let item_genres = std::mem::take(&mut inter.item_genres);
    let user_country = std::mem::take(&mut inter.user_country);
    let ((users, ukeys), (items, ikeys)) = {
        let inter: &Interactions = inter;
        rayon::join(
            || {
                let (mut users, ukeys) = dense_catalog(
                    inter.users.keys(),
                    &user_used,
                    data.users.as_deref(),
                    user_catalog.as_ref(),
                    min_u > 1,
                    &params.exclude_users,
                );
                for (country, &d) in user_country.into_iter().zip(&ukeys) {
                    if let Some(country) = country
                        && d != u32::MAX
                    {
                        users[d as usize].country.get_or_insert(country);
                    }
                }
                (users, ukeys)
            },
            || {
                let (mut items, ikeys) = dense_catalog(
                    inter.items.keys(),
                    &item_used,
                    data.items.as_deref(),
                    item_catalog.as_ref(),
                    min_i > 1,
                    &params.exclude_items,
                );
                // Title / text found in the interaction file itself fill what
                // the catalog lacks.
                for ((title, texts), &d) in item_text.into_iter().zip(&ikeys) {
                    if d == u32::MAX || (title.is_none() && texts.is_empty()) {
                        continue;
                    }
                    let it = &mut items[d as usize];
                    if it.title.is_none() {
                        it.year = title
                            .as_deref()
                            .and_then(recpipe_core::titles::year_from_title);
                        it.title = title;
                    }
                    if it.text.is_none() && !texts.is_empty() {
                        it.text = Some(distinct_lines(texts));
                    }
                }
                // Genres from the interaction file fill those the catalog lacks.
                let path = params.genre_path();
                for (genres, &d) in item_genres.into_iter().zip(&ikeys) {
                    if let Some(genres) = genres
                        && d != u32::MAX
                        && items[d as usize].genres.is_empty()
                    {
                        items[d as usize].genres = path.genres(&genres);
                    }
                }
                (items, ikeys)
            },
        )
    };
    // A kept pair's rows merged into one, with dense ids; the strongest
    // event type (by weight) names a merged interaction.
    let weights = &inter.event_weights;
    let weight_of = |e: u8| {
        if e == 0 {
            0.0
        } else {
            weights.get(e as usize - 1).copied().unwrap_or(0.0)
        }
    };
    let merge = |run: &[Row]| {
        let mut agg = run[0];
        for r in &run[1..] {
            agg.value += r.value;
            agg.quantity += r.quantity;
            agg.amount += r.amount;
            agg.ts = agg.ts.max(r.ts);
            if weight_of(r.event) > weight_of(agg.event) {
                agg.event = r.event;
            }
        }
        agg.user = ukeys[agg.user as usize];
        agg.item = ikeys[agg.item as usize];
        agg
    };
    // The rows merged and ordered on one side, the rejects merged on the other.
    let early = std::mem::take(&mut inter.rejects);
    let (out, rejects) = rayon::join(
        || {
            // Each part's kept pairs merged and moved to the front of the
            // part, in place (pair w comes from rows at or after w, read
            // before it is overwritten), then the parts moved together.
            let counts: Vec<usize> = split_parts(&mut rows, &parts)
                .into_par_iter()
                .zip(&parts)
                .zip(&pairs)
                .map(|((part, range), pairs)| {
                    for (w, &(s, e)) in pairs.iter().enumerate() {
                        part[w] = merge(&part[s - range.start..e - range.start]);
                    }
                    pairs.len()
                })
                .collect();
            let mut out = rows;
            let mut at = 0;
            for (range, n) in parts.iter().zip(counts) {
                out.copy_within(range.start..range.start + n, at);
                at += n;
            }
            out.truncate(at);
            // (user, item) is unique after merging: a total order again. The
            // rows are grouped by user in dense order (the ranks sorted them
            // so), which leaves a sort within each user, unless the dense
            // order differs from the ranks' (the users file makes the ids not
            // all numeric, say).
            if out.is_sorted_by_key(|r| r.user) {
                out.par_chunk_by_mut(|a, b| a.user == b.user)
                    .for_each(|rows| rows.sort_unstable_by_key(|r| (r.ts, r.item)));
            } else {
                out.par_sort_unstable_by_key(|r| (r.user, r.ts, r.item));
            }
            out
        },
        || merge_rejects(early, late),
    );

    // A Parquet log's decoded columns, once no reject needs their text.
    free_later(std::mem::take(&mut inter.row_text));
    let true_segments = data.true_segments.map(|segs| {
        let by_id: HashMap<String, u16> = segs.into_iter().collect();
        users
            .iter()
            .map(|u| by_id.get(&u.id).copied().unwrap_or(0))
            .collect()
    });
    Ok(Cleaned {
        rows: out,
        users,
        items,
        rejects,
        buffers: std::mem::take(&mut inter.buffers),
        rows_read,
        rows_kept,
        rows_merged: merged,
        true_segments,
        unmatched_exclusions,
    })
}

/// Why k-core filtering drops a pair whose user has `users` interactions
/// and whose item has `items`, if it does (the user's count first).
fn k_core_reason(users: u32, items: u32, min_u: u32, min_i: u32) -> Option<(Reason, String)> {
    if users < min_u {
        Some((
            Reason::KCoreUser,
            format!("user has {users} interactions, fewer than {min_u}"),
        ))
    } else if items < min_i {
        Some((
            Reason::KCoreItem,
            format!("item has {items} interactions, fewer than {min_i}"),
        ))
    } else {
        None
    }
}

/// Keys of [`sort_by_item`] and the rows in their order: one per worker,
/// reused from user to user.
type ItemSortScratch = (Vec<u128>, Vec<Row>);

/// Sorts one user's rows by (item rank, time, file, line), which is unique.
/// A user's rows come in (file, line) order (the files' order, as
/// gathered), so a row's position stands for its (file, line): the keys are
/// (item rank, time, position) in 128 bits, sorted as integers, and the
/// 56-byte rows moved once, instead of on every swap of a sort of the rows
/// (on Online Retail 7.6 -> 6.2 ms against 24-byte tuple keys, median of
/// 11). Rows in another order, or more than 2^32 of one user, take a sort
/// of the rows.
fn sort_by_item(rows: &mut [Row], item_rank: &[u32], scratch: &mut ItemSortScratch) {
    if rows.len() > u32::MAX as usize || !rows.is_sorted_by_key(|r| (r.file, r.line)) {
        rows.sort_unstable_by_key(|r| (item_rank[r.item as usize], r.ts, r.file, r.line));
        return;
    }
    let (keys, sorted) = scratch;
    keys.clear();
    keys.extend(rows.iter().enumerate().map(|(i, r)| {
        // Times as 64 bits that sort as the times do.
        let ts = u128::from((r.ts as u64) ^ (1 << 63));
        u128::from(item_rank[r.item as usize]) << 96 | ts << 32 | i as u128
    }));
    keys.sort_unstable();
    sorted.clear();
    sorted.extend(keys.iter().map(|&k| rows[k as u32 as usize]));
    rows.copy_from_slice(sorted);
}

/// The rows identical to an earlier one, as (row, first copy) in row order.
/// Rows come grouped by user, each user's sorted so that equal rows are
/// neighbours (same item and time); the users are scanned side by side. A
/// row duplicates the first row before it with the same bytes (in any file
/// of a log folder) that is not itself a duplicate (a Parquet log's rows by
/// their values, as their text would compare); rows of files with neither
/// bytes nor text are never duplicates.
fn duplicate_rows(
    rows: &[Row],
    buffers: &[Option<Arc<SourceBytes>>],
    row_text: &[Option<Arc<dyn RowText>>],
) -> Vec<(usize, usize)> {
    // Whether a file's rows can be compared, and whether two rows of one
    // file are the same.
    let comparable = |file: u16| {
        let file = usize::from(file);
        buffers.get(file).is_some_and(Option::is_some)
            || row_text.get(file).is_some_and(Option::is_some)
    };
    let same = |a: &Row, b: &Row| {
        // Rows parsed to different values have different text: those
        // values are at hand, a Parquet row's text is all over memory.
        let parsed = |r: &Row| {
            (
                r.value.to_bits(),
                r.event,
                r.quantity.to_bits(),
                r.amount.to_bits(),
            )
        };
        if parsed(a) != parsed(b) {
            return false;
        }
        // A text log's line, and a Parquet log's rows; rows of two files
        // of a log folder compare the same way (a CSV line and a Parquet
        // row never match: they are not the same bytes).
        let line = |r: &Row| {
            let span = r.offset as usize..r.offset as usize + r.len as usize;
            let bytes = buffers.get(usize::from(r.file))?.as_deref()?;
            Some(bytes.get(span))
        };
        let table = |r: &Row| row_text.get(usize::from(r.file))?.as_ref();
        match (line(a), line(b)) {
            (Some(x), Some(y)) => return x.is_some() && x == y,
            (None, None) => {}
            _ => return false,
        }
        match (table(a), table(b)) {
            (Some(t), Some(_)) if a.file == b.file => {
                t.same_rows(u64::from(a.line), u64::from(b.line))
            }
            (Some(t), Some(u)) => t.row_text(u64::from(a.line)) == u.row_text(u64::from(b.line)),
            _ => false,
        }
    };
    let same_time = |a: &Row, b: &Row| (a.user, a.item, a.ts) == (b.user, b.item, b.ts);
    let base = rows.as_ptr() as usize;
    rows.par_chunk_by(|a, b| a.user == b.user)
        .flat_map_iter(|user| {
            let offset = (user.as_ptr() as usize - base) / std::mem::size_of::<Row>();
            let mut found: Vec<(usize, usize)> = Vec::new();
            let (mut start, mut group_found) = (0, 0);
            for i in 1..user.len() {
                if !same_time(&user[start], &user[i]) {
                    (start, group_found) = (i, found.len());
                    continue;
                }
                if !comparable(user[i].file) {
                    continue;
                }
                let earlier = &found[group_found..];
                let first = (start..i).find(|&f| {
                    earlier.iter().all(|&(d, _)| d != f + offset) && same(&user[f], &user[i])
                });
                if let Some(f) = first {
                    found.push((i + offset, f + offset));
                }
            }
            found
        })
        .collect()
}

/// Rows grouped by user, cut into about `n` parts of similar length that
/// never split a user: the parts' ranges, in order, covering every row.
fn user_parts(rows: &[Row], n: usize) -> Vec<std::ops::Range<usize>> {
    let target = rows.len().div_ceil(n.max(1)).max(1);
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    while start < rows.len() {
        let mut end = (start + target).min(rows.len());
        while end < rows.len() && rows[end].user == rows[end - 1].user {
            end += 1;
        }
        parts.push(start..end);
        start = end;
    }
    parts
}

/// `rows` as one mutable slice per part of [`user_parts`].
fn split_parts<'a>(
    mut rows: &'a mut [Row],
    parts: &[std::ops::Range<usize>],
) -> Vec<&'a mut [Row]> {
    let mut out = Vec::with_capacity(parts.len());
    for range in parts {
        let (part, rest) = std::mem::take(&mut rows).split_at_mut(range.len());
        out.push(part);
        rows = rest;
    }
    out
}

/// Why nothing was kept, for the error (the stage then writes no rejects
/// file): the rows read, how many each reason rejected, most first, and
/// what to do: loosen a k-core filter that removed every pair (`k_core`:
/// its minimum interactions per user and per item), or see the first
/// invalid row.
fn nothing_kept<'a>(
    rows_read: u64,
    rejects: impl Iterator<Item = &'a Reject>,
    k_core: (u32, u32),
) -> String {
    let mut by_reason: HashMap<Reason, u64> = HashMap::new();
    for r in rejects {
        *by_reason.entry(r.reason).or_default() += 1;
    }
    let mut counts: Vec<(Reason, u64)> = by_reason.into_iter().collect();
    counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(b.0.code())));
    let read = format!(
        "{rows_read} row{} read",
        if rows_read == 1 { "" } else { "s" }
    );
    if counts.is_empty() {
        return read;
    }
    let reasons: Vec<String> = counts
        .iter()
        .map(|(r, n)| format!("{n} {}", r.code()))
        .collect();
    let mut hints = Vec::new();
    if counts
        .iter()
        .any(|(r, _)| matches!(r, Reason::KCoreUser | Reason::KCoreItem))
    {
        hints.push(format!(
            "the k-core filter (min_user_interactions {}, min_item_interactions {}) removes \
             every pair of this data: lower it",
            k_core.0, k_core.1
        ));
    }
    if counts.iter().any(|(r, _)| *r == Reason::OutsideTimeRange) {
        hints.push(
            "the time window (`time_from`, `time_to`, `last_days`) leaves out every valid \
             row: widen it"
                .into(),
        );
    }
    if counts.iter().any(|(r, _)| !r.is_policy()) {
        hints.push("`on_error: fail` stops at the first invalid row with its file and line".into());
    }
    let reasons = reasons.join(", ");
    match hints.is_empty() {
        true => format!("{read}, all rejected: {reasons}"),
        false => format!("{read}, all rejected: {reasons}; {}", hints.join("; ")),
    }
}

/// What one part of whole users gives the pairs pass of [`clean`].
struct PartPairs {
    /// Each kept pair as the range of its rows (one row unless merged), in
    /// indices of all rows.
    pairs: Vec<(usize, usize)>,
    /// Rows rejected here.
    late: Vec<Reject>,
    /// Rows folded into another by `duplicates: sum`.
    merged: u64,
    /// Rows that went into a kept pair.
    kept: u64,
    /// The users with a kept pair (a part's users are contiguous).
    users: Vec<u32>,
    /// Whether each item has a kept pair here.
    items: Vec<bool>,
}

/// One part's rows (`base` its first row's index among all rows): the
/// `duplicates` (indices, ascending) and the rows `refused` rejects dropped,
/// the rest moved up in place; then the runs of equal (user, item) become
/// pairs under `policy`.
fn part_pairs(
    rows: &mut [Row],
    base: usize,
    duplicates: &[usize],
    refused: &(dyn Fn(&Row) -> Option<Reject> + Sync),
    policy: DuplicatePolicy,
    inter: &Interactions,
) -> PartPairs {
    let mut late = Vec::new();
    let mut next = duplicates.iter().map(|&i| i - base).peekable();
    let mut live = 0;
    for i in 0..rows.len() {
        if next.next_if_eq(&i).is_some() {
            continue;
        }
        if let Some(reject) = refused(&rows[i]) {
            late.push(reject);
            continue;
        }
        rows[live] = rows[i];
        live += 1;
    }
    let rows = &rows[..live];
    let mut out = PartPairs {
        pairs: Vec::with_capacity(live),
        late,
        merged: 0,
        kept: 0,
        users: Vec::new(),
        items: vec![false; inter.items.len()],
    };
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && rows[j].user == rows[i].user && rows[j].item == rows[i].item {
            j += 1;
        }
        match policy {
            DuplicatePolicy::Last | DuplicatePolicy::First => {
                let keep = if policy == DuplicatePolicy::Last {
                    j - 1
                } else {
                    i
                };
                for (k, r) in rows[i..j].iter().enumerate() {
                    if i + k != keep {
                        out.late.push(inter.reject_row(
                            r,
                            Reason::DuplicatePair,
                            format!(
                                "same (user, item) as line {}, which was kept",
                                rows[keep].line
                            ),
                        ));
                    }
                }
                out.pairs.push((base + keep, base + keep + 1));
                out.kept += 1;
            }
            DuplicatePolicy::Sum => {
                out.merged += (j - i - 1) as u64;
                out.pairs.push((base + i, base + j));
                out.kept += (j - i) as u64;
            }
        }
        if out.users.last() != Some(&rows[i].user) {
            out.users.push(rows[i].user);
        }
        out.items[rows[i].item as usize] = true;
        i = j;
    }
    out
}

/// The rejects of parsing (in file order) and the later ones, as one list
/// sorted by (file, line, reason).
fn merge_rejects(mut early: Vec<Reject>, mut late: Vec<Reject>) -> Vec<Reject> {
    let key = |r: &Reject| (r.file, r.line, r.reason);
    if !early.is_sorted_by_key(key) {
        early.par_sort_by_key(key);
    }
    late.par_sort_by_key(key);
    let mut out = Vec::with_capacity(early.len() + late.len());
    let mut late = late.into_iter().peekable();
    for r in early {
        while let Some(l) = late.next_if(|l| key(l) < key(&r)) {
            out.push(l);
        }
        out.push(r);
    }
    out.extend(late);
    out
}

/// A record of a users or items catalog.
trait CatalogRecord: Clone {
    /// A record that knows only its id.
    fn bare(id: String) -> Self;
    /// Its original id.
    fn id(&self) -> &str;
}

/// [`CatalogRecord`] for record types with an `id` and defaults elsewhere.
macro_rules! catalog_record {
    ($($record:ty),*) => {$(
        impl CatalogRecord for $record {
            fn bare(id: String) -> Self {
                Self {
                    id,
                    ..Default::default()
                }
            }
            fn id(&self) -> &str {
                &self.id
            }
        }
    )*};
}
catalog_record!(UserRecord, ItemRecord);

/// An item's texts from a log or an items file, each once (where it first
/// came), one a line: the comments of a live stream, or a description every
/// row repeats.
pub(crate) fn distinct_lines(mut texts: Vec<String>) -> String {
    if texts.len() == 1 {
        return texts.pop().unwrap_or_default();
    }
    let mut seen = std::collections::HashSet::with_capacity(texts.len());
    let distinct: Vec<&str> = (texts.iter().map(String::as_str))
        .filter(|t| seen.insert(*t))
        .collect();
    distinct.join("\n")
}

/// The dense catalog: ids that remain, in dense order, with their records;
/// and each interned id's dense id (`u32::MAX` where it did not remain).
fn dense_catalog<T: CatalogRecord>(
    keys: &[Box<[u8]>],
    used: &[bool],
    catalog: Option<&[T]>,
    index: Option<&HashMap<String, usize>>,
    filtered: bool,
    excluded: &[String],
) -> (Vec<T>, Vec<u32>) {
    let texts: Vec<std::borrow::Cow<'_, str>> =
        keys.iter().map(|k| String::from_utf8_lossy(k)).collect();
    let lookup = |id: &str| index.and_then(|ix| ix.get(id).copied());
    let mut list: Vec<(&str, Option<usize>)> = texts
        .iter()
        .zip(used)
        .filter(|&(_, &u)| u)
        .map(|(id, _)| (id.as_ref(), lookup(id)))
        .collect();
    if let (Some(cat), Some(_), false) = (catalog, index, filtered) {
        list.extend(
            (cat.iter())
                .filter(|r| !excluded.iter().any(|e| e == r.id()))
                .map(|r| (r.id(), lookup(r.id()))),
        );
    }
    // In dense order, each id once (an id's record comes from the index, so
    // copies of an id agree).
    let bytes: Vec<&[u8]> = list.iter().map(|(id, _)| id.as_bytes()).collect();
    let rank = dense_order(&bytes);
    let mut order: Vec<usize> = (0..list.len()).collect();
    order.sort_unstable_by_key(|&i| rank[i]);
    order.dedup_by(|a, b| list[*a].0 == list[*b].0);
    let mut records = Vec::with_capacity(order.len());
    let mut dense: HashMap<&str, u32> = HashMap::with_capacity(order.len());
    for (d, &i) in order.iter().enumerate() {
        let (id, rec) = list[i];
        records.push(match (rec, catalog) {
            (Some(r), Some(cat)) => cat[r].clone(),
            _ => T::bare(id.to_string()),
        });
        dense.insert(id, d as u32);
    }
    let ids = texts
        .iter()
        .map(|t| dense.get(t.as_ref()).copied().unwrap_or(u32::MAX))
        .collect();
    (records, ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::RawLine;
    use proptest::prelude::*;

    #[test]
    fn nothing_kept_says_what_to_change_for_what_rejected_the_rows() {
        let rejects = |reasons: &[Reason]| -> Vec<Reject> {
            (reasons.iter().enumerate())
                .map(|(i, &reason)| Reject {
                    file: 0,
                    line: i as u64 + 2,
                    raw: RawLine::Text(String::new()),
                    reason,
                    detail: Arc::from(""),
                })
                .collect()
        };
        // Only the k-core filter: loosen it, and no word of bad rows.
        let k_core = rejects(&[Reason::KCoreUser, Reason::KCoreItem, Reason::KCoreUser]);
        let said = nothing_kept(3, k_core.iter(), (20, 5));
        assert_eq!(
            said,
            "3 rows read, all rejected: 2 k_core_user, 1 k_core_item; the k-core filter \
             (min_user_interactions 20, min_item_interactions 5) removes every pair of this \
             data: lower it"
        );
        // Invalid rows: how to see the first.
        let invalid = rejects(&[Reason::BadTimestamp]);
        let said = nothing_kept(1, invalid.iter(), (0, 0));
        assert_eq!(
            said,
            "1 row read, all rejected: 1 bad_timestamp; `on_error: fail` stops at the first \
             invalid row with its file and line"
        );
        // The time window: widen it.
        let outside = rejects(&[Reason::OutsideTimeRange, Reason::MissingUser]);
        let said = nothing_kept(2, outside.iter(), (0, 0));
        assert!(
            said.contains("1 missing_user, 1 outside_time_range; the time window"),
            "{said}"
        );
        assert_eq!(nothing_kept(0, [].iter(), (0, 0)), "0 rows read");
    }

    proptest! {
        #[test]
        fn merging_rejects_equals_a_stable_sort_of_both_lists(
            early in proptest::collection::vec((0u16..2, 0u64..40), 0..60),
            late in proptest::collection::vec((0u16..2, 0u64..40), 0..30),
            sorted in any::<bool>(),
        ) {
            // Equal keys happen here (not in a real file): early ones first.
            let reject = |(file, line): (u16, u64), tag: String| Reject {
                file,
                line,
                raw: RawLine::Text(tag),
                reason: Reason::DuplicateRow,
                detail: Arc::from(""),
            };
            let mut early: Vec<Reject> = early.iter().enumerate().map(|(i, &k)| reject(k, format!("e{i}"))).collect();
            if sorted {
                early.sort_by_key(|r| (r.file, r.line));
            }
            let late: Vec<Reject> = late.iter().enumerate().map(|(i, &k)| reject(k, format!("l{i}"))).collect();
            let mut expected: Vec<&Reject> = early.iter().chain(&late).collect();
            expected.sort_by_key(|r| (r.file, r.line, !matches!(&r.raw, RawLine::Text(t) if t.starts_with('e'))));
            let expected: Vec<RawLine> = expected.iter().map(|r| r.raw.clone()).collect();
            let tags = |v: &[Reject]| v.iter().map(|r| r.raw.clone()).collect::<Vec<_>>();
            let merged = merge_rejects(early, late);
            prop_assert_eq!(tags(&merged), expected);
        }

        #[test]
        fn sorting_through_keys_equals_sorting_the_rows(
            rows in proptest::collection::vec((0u32..6, -2i64..2, 0u16..2, 0u32..50), 0..120),
            in_file_order in any::<bool>(),
        ) {
            // Few items, times and files, so that ties reach the line.
            let item_rank = [3u32, 0, 5, 1, 4, 2];
            let mut rows: Vec<Row> = rows
                .iter()
                .enumerate()
                .map(|(i, &(item, ts, file, line))| Row {
                    user: 0,
                    item,
                    value: i as f32,
                    ts,
                    event: 0,
                    quantity: 0.0,
                    amount: 0.0,
                    file,
                    line: line * 1000 + i as u32, // (file, line) unique, as in a file
                    offset: i as u64,
                    len: 0,
                })
                .collect();
            if in_file_order {
                rows.sort_unstable_by_key(|r| (r.file, r.line));
            }
            let mut expected = rows.clone();
            expected.sort_unstable_by_key(|r| (item_rank[r.item as usize], r.ts, r.file, r.line));
            sort_by_item(&mut rows, &item_rank, &mut Default::default());
            let id = |rows: &[Row]| rows.iter().map(|r| r.offset).collect::<Vec<_>>();
            prop_assert_eq!(id(&rows), id(&expected));
        }
    }
}
