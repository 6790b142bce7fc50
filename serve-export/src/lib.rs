//! The serve-export stage: recommendation artifacts a service can load, and
//! the queries that read them.
//!
//! - [`similar`]: item neighbours by factors and by content, and "also liked".
//! - [`npy`]: NumPy `.npy` embeddings.
//! - [`manifest`]: `manifest.json` and bundle verification.
//! - [`bundle`]: the query side: recommend, similar, also-liked, segment, lookalike.
//!
//! Artifacts: `recommendations.parquet`, `candidates.parquet`,
//! `similar_items.parquet`, `also_liked.parquet`, `similar_users.parquet`
//! (optional), `segment_top_items.parquet`, `cold_start.parquet`,
//! `segments.parquet`, `segment_profiles.parquet`, `embeddings/*.npy`,
//! `embeddings/ids.parquet`, `manifest.json`.

pub mod bundle;
pub mod manifest;
pub mod npy;
pub mod similar;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, StringArray, UInt16Array, UInt32Array};
use ndarray::Array2;
use recpipe_core::parquet_io::batch;
use recpipe_core::schema::{
    INTERACTIONS_FILE, ITEM_ID, ITEM_IDX, ITEMS_FILE, TITLE, USER_ID, USER_IDX, USERS_FILE, VALUE,
};
use recpipe_core::topk::top_n_all;
use recpipe_core::{
    ParquetTable, StageContext, StageOutcome, write_json_atomic, write_parquet,
    write_parquet_windows,
};
use serde::{Deserialize, Serialize};

/// Version of the export stage's output semantics.
pub const VERSION: u32 = 5;

/// Why exporting or querying failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading or writing failed.
    #[error(transparent)]
    Core(#[from] recpipe_core::CoreError),
    /// A needed upstream stage is missing.
    #[error("the serve-export stage needs a `{0}` stage upstream")]
    MissingUpstream(&'static str),
    /// A bundle is malformed.
    #[error("{0}")]
    Bundle(String),
    /// An id is not in the bundle.
    #[error("{0}")]
    Unknown(String),
}

/// Result alias.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// The `with:` block of a serve-export stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportParams {
    /// Items per user in recommendations.parquet.
    pub top_n: usize,
    /// Candidates per user kept for `recommend --explore`.
    pub candidates_n: usize,
    /// Neighbours per item in similar_items.parquet (per kind).
    pub similar_n: usize,
    /// Content neighbours match a term through its this many heaviest
    /// items at most (default: all; exact when no term is in more items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_postings: Option<usize>,
    /// Items per item in also_liked.parquet.
    pub also_liked_n: usize,
    /// Co-likers an also-liked pair needs.
    pub also_liked_min_users: u32,
    /// Neighbours per user in similar_users.parquet (0: not written).
    pub similar_users_n: usize,
    /// Items per segment in segment_top_items.parquet.
    pub segment_top_n: usize,
    /// Items per profile in cold_start.parquet.
    pub cold_start_n: usize,
    /// A user "liked" an item when the value is at least this (default: 4 for ratings, any event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub like_threshold: Option<f32>,
}

impl Default for ExportParams {
    fn default() -> Self {
        ExportParams {
            top_n: 10,
            candidates_n: 50,
            similar_n: 10,
            content_postings: None,
            also_liked_n: 10,
            also_liked_min_users: 3,
            similar_users_n: 0,
            segment_top_n: 20,
            cold_start_n: 20,
            like_threshold: None,
        }
    }
}

impl ExportParams {
    /// Parses and checks a `with:` block.
    pub fn from_yaml(with: &serde_yaml::Value) -> std::result::Result<Self, String> {
        let p: ExportParams = recpipe_core::params::from_with(with)?;
        if p.top_n == 0
            || p.similar_n == 0
            || p.also_liked_n == 0
            || p.segment_top_n == 0
            || p.cold_start_n == 0
        {
            return Err(
                "top_n, similar_n, also_liked_n, segment_top_n and cold_start_n must be positive"
                    .into(),
            );
        }
        if p.content_postings == Some(0) {
            return Err("content_postings must be positive".into());
        }
        if p.candidates_n < p.top_n {
            return Err("candidates_n must be at least top_n".into());
        }
        Ok(p)
    }
}

struct Factors {
    ids: Vec<String>,
    bias: Vec<f32>,
    m: Array2<f32>,
}

fn read_factors(path: &Path, id: &str) -> Result<Factors> {
    let t = ParquetTable::read(path)?;
    let (values, k) = t.f32_matrix("factors")?;
    let n = t.num_rows();
    let m = Array2::from_shape_vec((n, k), values)
        .map_err(|e| ExportError::Bundle(format!("{}: {e}", path.display())))?;
    Ok(Factors {
        ids: t
            .strings(id)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        bias: t.f32s("bias")?,
        m,
    })
}

fn titles(items: &ParquetTable) -> Result<Vec<String>> {
    Ok(items
        .strings(TITLE)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// A list table: (owner index, rank, item index, score, extra columns).
struct ListTable<'a> {
    owner_name: &'a str,
    owner_ids: &'a [String],
    item_ids: &'a [String],
    titles: &'a [String],
}

/// The `rank`, `item_idx`, `item_id` and `title` columns of ranked
/// entries, given as (rank, item index) pairs: every list table has them.
fn ranked_item_columns(
    ranked: impl Iterator<Item = (u16, u32)> + Clone,
    item_ids: &[String],
    titles: &[String],
) -> [(&'static str, ArrayRef); 4] {
    [
        (
            "rank",
            Arc::new(UInt16Array::from_iter_values(ranked.clone().map(|r| r.0))),
        ),
        (
            ITEM_IDX,
            Arc::new(UInt32Array::from_iter_values(ranked.clone().map(|r| r.1))),
        ),
        (
            ITEM_ID,
            Arc::new(StringArray::from_iter_values(
                ranked.clone().map(|r| &item_ids[r.1 as usize]),
            )),
        ),
        (
            TITLE,
            Arc::new(StringArray::from_iter_values(
                ranked.map(|r| &titles[r.1 as usize]),
            )),
        ),
    ]
}

impl ListTable<'_> {
    #[allow(clippy::type_complexity)]
    fn write(
        &self,
        path: &Path,
        owner_col: &str,
        lists: &[(u32, Vec<(u32, f32)>)],
        extra: Vec<(&str, ArrayRef)>,
        kind: Option<&[&str]>,
    ) -> Result<()> {
        let all_rows: Vec<(u32, u16, u32, f32)> = lists
            .iter()
            .flat_map(|(o, l)| {
                l.iter()
                    .enumerate()
                    .map(move |(r, &(i, s))| (*o, r as u16 + 1, i, s))
            })
            .collect();
        let lengths = extra
            .iter()
            .map(|(_, a)| a.len())
            .chain(kind.map(<[_]>::len));
        if lengths.into_iter().any(|n| n != all_rows.len()) {
            return Err(recpipe_core::CoreError::schema(
                path,
                format!("a list column's length is not its {} rows", all_rows.len()),
            )
            .into());
        }
        // Built a row group at a time: the ids and titles of 5.2M listed
        // items are not held as whole string columns.
        let window = |range: std::ops::Range<usize>| -> Result<_> {
            let rows = &all_rows[range.clone()];
            let mut cols: Vec<(&str, ArrayRef)> = vec![
                (
                    owner_col,
                    Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.0))),
                ),
                (
                    self.owner_name,
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| &self.owner_ids[r.0 as usize]),
                    )),
                ),
            ];
            if let Some(kinds) = kind {
                cols.push((
                    "kind",
                    Arc::new(StringArray::from_iter_values(kinds[range.clone()].iter())),
                ));
            }
            cols.extend(ranked_item_columns(
                rows.iter().map(|r| (r.1, r.2)),
                self.item_ids,
                self.titles,
            ));
            cols.push((
                "score",
                Arc::new(Float32Array::from_iter_values(rows.iter().map(|r| r.3))),
            ));
            cols.extend(
                extra
                    .iter()
                    .map(|(name, array)| (*name, array.slice(range.start, range.len()))),
            );
            Ok(batch(path, cols)?)
        };
        // The listed items recur across owners' lists: their ids, titles
        // (and the two kinds of neighbour) are dictionary-encoded.
        write_parquet_windows(path, all_rows.len(), &[ITEM_ID, TITLE, "kind"], window)?;
        Ok(())
    }
}

/// Runs the stage.
pub fn run(params: &ExportParams, ctx: &StageContext) -> Result<StageOutcome> {
    let train_dir = ctx
        .upstream_dir("train")
        .ok_or(ExportError::MissingUpstream("train"))?;
    let ingest = ctx
        .upstream_dir("ingest")
        .ok_or(ExportError::MissingUpstream("ingest"))?;
    let model: serde_json::Value = recpipe_core::fsutil::read_json(&train_dir.join("model.json"))?;
    let metrics: serde_json::Value =
        recpipe_core::fsutil::read_json(&train_dir.join("metrics.json"))?;
    let implicit = model["implicit"].as_bool().unwrap_or(false);
    let mu = model["global_mean"].as_f64().unwrap_or(0.0) as f32;
    let users = read_factors(&train_dir.join("user_factors.parquet"), USER_ID)?;
    let items = read_factors(&train_dir.join("item_factors.parquet"), ITEM_ID)?;
    let item_table = ParquetTable::read(&ingest.join(ITEMS_FILE))?;
    let titles = titles(&item_table)?;
    let (n_users, n_items) = (users.m.nrows(), items.m.nrows());

    // Seen and liked items per user.
    // Only the columns used, decoded side by side (a ratings table's
    // all-null `event` is not decoded at all).
    let inter = ParquetTable::read_columns(
        &ingest.join(INTERACTIONS_FILE),
        &[USER_IDX, ITEM_IDX, VALUE, recpipe_core::schema::EVENT],
    )?;
    let (iu, ii, iv) = (
        inter.u32s(USER_IDX)?,
        inter.u32s(ITEM_IDX)?,
        inter.f32s(VALUE)?,
    );
    let is_events = inter.any_value(recpipe_core::schema::EVENT)?;
    let like = params
        .like_threshold
        .unwrap_or(if is_events { f32::MIN } else { 4.0 });
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); n_users];
    let mut liked: Vec<Vec<u32>> = vec![Vec::new(); n_users];
    for r in 0..iu.len() {
        let u = iu[r] as usize;
        if u < n_users {
            seen[u].push(ii[r]);
            if iv[r] >= like {
                liked[u].push(ii[r]);
            }
        }
    }
    for s in seen.iter_mut().chain(liked.iter_mut()) {
        s.sort_unstable();
        s.dedup();
    }
    let lt = ListTable {
        owner_name: USER_ID,
        owner_ids: &users.ids,
        item_ids: &items.ids,
        titles: &titles,
    };

    ctx.progress.phase(&format!(
        "top-{} for {n_users} users x {n_items} items",
        params.candidates_n
    ));
    let bias = (!implicit).then_some(items.bias.as_slice());
    let t_topn = std::time::Instant::now();
    let cands = top_n_all(
        users.m.view(),
        items.m.view(),
        bias,
        params.candidates_n,
        &|u| &seen[u],
    );
    let seconds_topn = t_topn.elapsed().as_secs_f64();
    // Explicit models: the score is the predicted rating (mu + b_u added back).
    let cands: Vec<(u32, Vec<(u32, f32)>)> = cands
        .into_iter()
        .enumerate()
        .map(|(u, l)| {
            let shift = if implicit { 0.0 } else { mu + users.bias[u] };
            (
                u as u32,
                l.into_iter().map(|(i, s)| (i, s + shift)).collect(),
            )
        })
        .collect();
    let top: Vec<(u32, Vec<(u32, f32)>)> = cands
        .iter()
        .map(|(u, l)| (*u, l[..l.len().min(params.top_n)].to_vec()))
        .collect();
    lt.write(
        &ctx.out("recommendations.parquet"),
        USER_IDX,
        &top,
        vec![],
        None,
    )?;
    lt.write(
        &ctx.out("candidates.parquet"),
        USER_IDX,
        &cands,
        vec![],
        None,
    )?;

    ctx.progress.phase("similar items");
    let it = ListTable {
        owner_name: "source_item_id",
        owner_ids: &items.ids,
        item_ids: &items.ids,
        titles: &titles,
    };
    let mut sim: Vec<(u32, Vec<(u32, f32)>)> =
        similar::cosine_neighbours(&items.m, params.similar_n)
            .into_iter()
            .enumerate()
            .map(|(i, l)| (i as u32, l))
            .collect();
    let mut kinds: Vec<&str> = sim
        .iter()
        .flat_map(|(_, l)| std::iter::repeat_n("factors", l.len()))
        .collect();
    if let Some(features) = ctx.upstream_dir("features") {
        let content = content_vectors(features, &item_table, n_items)?;
        let c: Vec<(u32, Vec<(u32, f32)>)> = similar::sparse_cosine_neighbours(
            &content,
            params.similar_n,
            params.content_postings.unwrap_or(usize::MAX),
        )
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i as u32, l))
        .collect();
        kinds.extend(
            c.iter()
                .flat_map(|(_, l)| std::iter::repeat_n("content", l.len())),
        );
        sim.extend(c);
    }
    it.write(
        &ctx.out("similar_items.parquet"),
        "source_item_idx",
        &sim,
        vec![],
        Some(&kinds),
    )?;

    ctx.progress.phase("also liked");
    let al = similar::also_liked(
        &liked,
        n_items,
        params.also_liked_n,
        params.also_liked_min_users,
    );
    let flat: Vec<&similar::AlsoLiked> = al.iter().flatten().collect();
    let extra: Vec<(&str, ArrayRef)> = vec![
        (
            "users_both",
            Arc::new(UInt32Array::from_iter_values(flat.iter().map(|a| a.both))),
        ),
        (
            "support",
            Arc::new(Float32Array::from_iter_values(
                flat.iter().map(|a| a.support),
            )),
        ),
    ];
    let al_lists: Vec<(u32, Vec<(u32, f32)>)> = al
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32, l.iter().map(|a| (a.item, a.lift)).collect()))
        .collect();
    it.write(
        &ctx.out("also_liked.parquet"),
        "source_item_idx",
        &al_lists,
        extra,
        None,
    )?;

    if params.similar_users_n > 0 {
        ctx.progress.phase("similar users");
        let su: Vec<(u32, Vec<(u32, f32)>)> =
            similar::cosine_neighbours(&users.m, params.similar_users_n)
                .into_iter()
                .enumerate()
                .map(|(u, l)| (u as u32, l))
                .collect();
        let ut = ListTable {
            owner_name: USER_ID,
            owner_ids: &users.ids,
            item_ids: &users.ids,
            titles: &vec![String::new(); n_users],
        };
        ut.write(
            &ctx.out("similar_users.parquet"),
            USER_IDX,
            &su,
            vec![],
            None,
        )?;
    }

    ctx.progress.phase("segments and cold start");
    let segments = match ctx.upstream_dir("cluster") {
        Some(dir) => {
            for f in ["segments.parquet", "segment_profiles.parquet"] {
                std::fs::copy(dir.join(f), ctx.out(f))
                    .map_err(|e| recpipe_core::CoreError::io(dir.join(f), e))?;
            }
            Some(ParquetTable::read(&dir.join("segments.parquet"))?.u16s("segment")?)
        }
        None => None,
    };
    segment_lists(
        ctx,
        params,
        &users,
        &items,
        &titles,
        &liked,
        segments.as_deref(),
        &ingest.join(USERS_FILE),
    )?;

    ctx.progress.phase("embeddings and manifest");
    std::fs::create_dir_all(ctx.out("embeddings"))
        .map_err(|e| recpipe_core::CoreError::io(ctx.out("embeddings"), e))?;
    npy::write_f32(
        &ctx.out("embeddings/user_factors.npy"),
        users.m.as_slice().unwrap_or(&[]),
        n_users,
        users.m.ncols(),
    )?;
    npy::write_f32(
        &ctx.out("embeddings/item_factors.npy"),
        items.m.as_slice().unwrap_or(&[]),
        n_items,
        items.m.ncols(),
    )?;
    let path = ctx.out("embeddings/ids.parquet");
    let kinds: Vec<&str> = std::iter::repeat_n("user", n_users)
        .chain(std::iter::repeat_n("item", n_items))
        .collect();
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("kind", Arc::new(StringArray::from_iter_values(kinds))),
        (
            "idx",
            Arc::new(UInt32Array::from_iter_values(
                (0..n_users as u32).chain(0..n_items as u32),
            )),
        ),
        (
            "id",
            Arc::new(StringArray::from_iter_values(
                users.ids.iter().chain(items.ids.iter()),
            )),
        ),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    let mut files = Vec::new();
    list_files(&ctx.out_dir, &ctx.out_dir, &mut files);
    files.sort();
    let artifacts = files
        .iter()
        .map(|f| manifest::describe(&ctx.out_dir, f))
        .collect::<Result<Vec<_>>>()?;
    let m = manifest::Manifest {
        format: 1,
        recpipe_version: env!("CARGO_PKG_VERSION").to_string(),
        pipeline_fingerprint: ctx.fingerprint.clone(),
        model,
        metrics,
        artifacts,
    };
    write_json_atomic(&ctx.out("manifest.json"), &m)?;
    let mut outcome = StageOutcome::default();
    outcome.seconds("seconds_recommend_all", seconds_topn);
    outcome.metric("artifacts", m.artifacts.len() as u64).line(format!(
        "top-{} for {n_users} users, {} similar + also-liked lists for {n_items} items, {} artifacts",
        params.top_n,
        params.similar_n,
        m.artifacts.len()
    ));
    Ok(outcome)
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                list_files(root, &p, out);
            } else if let Ok(rel) = p.strip_prefix(root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if rel != "manifest.json" && !rel.starts_with('.') && !rel.contains("/.") {
                    out.push(rel);
                }
            }
        }
    }
}

/// Item content vectors: TF-IDF (l2) plus genres, normalised together.
fn content_vectors(
    features: &Path,
    items: &ParquetTable,
    n_items: usize,
) -> Result<Vec<Vec<(u32, f32)>>> {
    let t = ParquetTable::read(&features.join("item_tfidf.parquet"))?;
    let (ti, tt, tw) = (t.u32s(ITEM_IDX)?, t.u32s("term_idx")?, t.f32s("weight")?);
    let vocab = tt.iter().copied().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_items];
    for r in 0..ti.len() {
        if (ti[r] as usize) < n_items {
            rows[ti[r] as usize].push((tt[r], tw[r]));
        }
    }
    let genres = items.string_lists(recpipe_core::schema::GENRES)?;
    let mut names: Vec<&String> = genres.iter().flatten().collect();
    names.sort();
    names.dedup();
    for (i, gs) in genres.iter().enumerate().take(n_items) {
        let w = 1.0 / (gs.len().max(1) as f32).sqrt();
        for g in gs {
            if let Ok(j) = names.binary_search(&g) {
                rows[i].push((vocab + j as u32, w));
            }
        }
    }
    for row in &mut rows {
        let n = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if n > 0.0 {
            row.iter_mut().for_each(|e| e.1 /= n);
        }
        row.sort_unstable_by_key(|e| e.0);
    }
    Ok(rows)
}

/// segment_top_items.parquet and cold_start.parquet.
#[allow(clippy::too_many_arguments)]
fn segment_lists(
    ctx: &StageContext,
    params: &ExportParams,
    users: &Factors,
    items: &Factors,
    titles: &[String],
    liked: &[Vec<u32>],
    segments: Option<&[u16]>,
    users_file: &Path,
) -> Result<()> {
    let n_users = users.m.nrows();
    let n_items = items.m.nrows();
    let mut pop_all = vec![0u32; n_items];
    for l in liked {
        for &i in l {
            pop_all[i as usize] += 1;
        }
    }
    // Groups: every segment, every demographic value, and everyone.
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    groups.insert("all".into(), (0..n_users).collect());
    if let Some(seg) = segments {
        for (u, &s) in seg.iter().enumerate().take(n_users) {
            groups.entry(format!("segment={s}")).or_default().push(u);
        }
    }
    let utable = ParquetTable::read(users_file)?;
    for col in [
        recpipe_core::schema::GENDER,
        recpipe_core::schema::AGE,
        recpipe_core::schema::OCCUPATION,
        recpipe_core::schema::COUNTRY,
    ] {
        if utable.has(col) {
            for (u, v) in utable.strings(col)?.into_iter().enumerate().take(n_users) {
                if let Some(v) = v {
                    groups.entry(format!("{col}={v}")).or_default().push(u);
                }
            }
        }
    }
    // cold_start: the group's most-liked items (support within the group), with lift.
    let mut cold: Vec<(String, u16, u32, f32, f32)> = Vec::new();
    let mut seg_rows: Vec<(u16, u16, u32, f32, f32)> = Vec::new();
    for (name, members) in &groups {
        let mut cnt = vec![0u32; n_items];
        for &u in members {
            for &i in &liked[u] {
                cnt[i as usize] += 1;
            }
        }
        let size = members.len().max(1) as f32;
        let lift =
            |i: usize| (cnt[i] as f32 / size) / (pop_all[i].max(1) as f32 / n_users.max(1) as f32);
        let support: Vec<f32> = cnt.iter().map(|&c| c as f32 / size).collect();
        for (rank, (i, s)) in
            recpipe_core::topk::top_n(&support, params.cold_start_n, |i| cnt[i] == 0)
                .into_iter()
                .enumerate()
        {
            cold.push((name.clone(), rank as u16 + 1, i, s, lift(i as usize)));
        }
        // segment_top_items: the segment's mean taste vector scored against all items.
        if let Some(s) = name
            .strip_prefix("segment=")
            .and_then(|s| s.parse::<u16>().ok())
        {
            let k = users.m.ncols();
            let mut centroid = ndarray::Array1::<f32>::zeros(k);
            for &u in members {
                centroid += &users.m.row(u);
            }
            centroid /= size;
            let scores: Vec<f32> = items
                .m
                .outer_iter()
                .zip(&items.bias)
                .map(|(q, b)| q.dot(&centroid) + b)
                .collect();
            for (rank, (i, sc)) in
                recpipe_core::topk::top_n(&scores, params.segment_top_n, |_| false)
                    .into_iter()
                    .enumerate()
            {
                seg_rows.push((s, rank as u16 + 1, i, sc, lift(i as usize)));
            }
        }
    }
    let path = ctx.out("cold_start.parquet");
    let mut cols: Vec<(&str, ArrayRef)> = vec![(
        "profile",
        Arc::new(StringArray::from_iter_values(
            cold.iter().map(|c| c.0.as_str()),
        )),
    )];
    cols.extend(ranked_item_columns(
        cold.iter().map(|c| (c.1, c.2)),
        &items.ids,
        titles,
    ));
    cols.extend([
        (
            "support",
            Arc::new(Float32Array::from_iter_values(cold.iter().map(|c| c.3))) as ArrayRef,
        ),
        (
            "lift",
            Arc::new(Float32Array::from_iter_values(cold.iter().map(|c| c.4))),
        ),
    ]);
    write_parquet(&path, &batch(&path, cols)?)?;
    let path = ctx.out("segment_top_items.parquet");
    let mut cols: Vec<(&str, ArrayRef)> = vec![(
        "segment",
        Arc::new(UInt16Array::from_iter_values(seg_rows.iter().map(|c| c.0))),
    )];
    cols.extend(ranked_item_columns(
        seg_rows.iter().map(|c| (c.1, c.2)),
        &items.ids,
        titles,
    ));
    cols.extend([
        (
            "score",
            Arc::new(Float32Array::from_iter_values(seg_rows.iter().map(|c| c.3))) as ArrayRef,
        ),
        (
            "lift",
            Arc::new(Float32Array::from_iter_values(seg_rows.iter().map(|c| c.4))),
        ),
    ]);
    write_parquet(&path, &batch(&path, cols)?)?;
    Ok(())
}
