//! The cluster stage: K-means user segmentation (linfa-clustering) and
//! segment profiles for marketing.
//!
//! - [`params`]: the stage's parameters.
//! - [`pca`]: the optional projection onto principal components (`dims`).
//! - [`kmeans`]: linfa K-means with parallel restarts, Lloyd polish, stable labels,
//!   silhouette and adjusted Rand index.
//! - [`profiles`]: sizes, feature contrasts, genre and item lift.
//!
//! Outputs: `segments.parquet`, `centroids.parquet`, `segment_profiles.parquet`,
//! `segment_profiles.md`, `cluster_report.json`.

pub mod kmeans;
pub mod params;
pub mod pca;
pub mod profiles;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float32Array, Float64Array, StringArray, UInt16Array, UInt32Array};
use ndarray::Array2;
use recpipe_core::parquet_io::batch;
use recpipe_core::schema::{
    EVENT, INTERACTIONS_FILE, ITEM_ID, ITEM_IDX, ITEMS_FILE, TITLE, USER_ID, USER_IDX, USERS_FILE,
    VALUE,
};
use recpipe_core::{
    ParquetTable, Rng, StageContext, StageOutcome, write_json_atomic, write_parquet,
};
use recpipe_features::FeatureColumn;

pub use params::{ClusterParams, KChoice};
use profiles::ProfileRow;

/// Version of the cluster stage's output semantics.
pub const VERSION: u32 = 8;

/// Why the cluster stage failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Reading or writing failed.
    #[error(transparent)]
    Core(#[from] recpipe_core::CoreError),
    /// A needed upstream stage is missing.
    #[error("the cluster stage needs a `{0}` stage upstream")]
    MissingUpstream(&'static str),
    /// No feature column matches the chosen groups.
    #[error("{}", no_columns(.0, .1))]
    NoColumns(Vec<String>, Vec<String>),
    /// Every column of the chosen groups is left out by `exclude_prefixes`.
    #[error(
        "every user feature column of the groups {} starts with one of `exclude_prefixes` ({}): \
         nothing is left to cluster on",
        .0.join(", "),
        .1.join(", ")
    )]
    AllExcluded(Vec<String>, Vec<String>),
    /// `dims` asks for more principal components than there are columns.
    #[error(
        "`dims` {0} is more than the {1} columns clustered on: set `dims` to at most {1}, or \
         leave it out for no projection"
    )]
    TooManyDims(usize, usize),
    /// K-means could not run.
    #[error("k-means: {0}")]
    KMeans(String),
}

/// The message of [`ClusterError::NoColumns`]: the `groups` asked for,
/// what the features stage wrote, and which setting to change.
fn no_columns(asked: &[String], written: &[String]) -> String {
    let asked = asked.join(", ");
    if written.is_empty() {
        return format!(
            "no user feature column is in the groups {asked}: the features stage wrote no user \
             feature column (its `user_groups` found nothing to describe the users by in this data)"
        );
    }
    format!(
        "no user feature column is in the groups {asked}: the features stage wrote the groups {} \
         (set `groups` to some of them, or add the group to the features stage's `user_groups`)",
        written.join(", ")
    )
}

/// Result alias for the cluster stage.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// One point of the k-selection curve.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurvePoint {
    /// k.
    pub k: usize,
    /// Sum of squared distances.
    pub inertia: f64,
    /// Mean silhouette on the sample.
    pub silhouette: f64,
}

/// `cluster_report.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClusterReport {
    /// Chosen k.
    pub k: usize,
    /// Users clustered.
    pub users: usize,
    /// Columns clustered on.
    pub columns: Vec<String>,
    /// Sum of squared distances (in the clustered, standardized space).
    pub inertia: f64,
    /// Mean silhouette on the sample.
    pub silhouette: f64,
    /// Lloyd iterations of the winning restart.
    pub iterations: usize,
    /// Restarts.
    pub runs: usize,
    /// Users in the silhouette sample.
    pub silhouette_sample: usize,
    /// Principal components clustered on (`dims`), if any.
    pub dims: Option<usize>,
    /// Share of the variance those components explain.
    pub explained_variance: Option<f64>,
    /// Adjusted Rand index against the planted segments (synthetic data only).
    pub adjusted_rand_index: Option<f64>,
    /// The k-selection curve (`k: auto`) or the single point.
    pub curve: Vec<CurvePoint>,
}

/// Runs the stage.
pub fn run(params: &ClusterParams, ctx: &StageContext) -> Result<StageOutcome> {
    let t0 = Instant::now();
    let features = ctx
        .upstream_dir("features")
        .ok_or(ClusterError::MissingUpstream("features"))?;
    let ingest = ctx
        .upstream_dir("ingest")
        .ok_or(ClusterError::MissingUpstream("ingest"))?;
    let table = ParquetTable::read(&features.join("user_features.parquet"))?;
    let columns: Vec<FeatureColumn> =
        recpipe_core::fsutil::read_json(&features.join("user_feature_names.json"))?;
    let n = table.num_rows();
    let all: Vec<Vec<f32>> = columns
        .iter()
        .map(|c| table.f32s(&c.name))
        .collect::<std::result::Result<_, _>>()?;
    let chosen: Vec<usize> = (0..columns.len())
        .filter(|&j| {
            params.groups.iter().any(|g| *g == columns[j].group)
                && !params
                    .exclude_prefixes
                    .iter()
                    .any(|p| columns[j].name.starts_with(p.as_str()))
        })
        .collect();
    if chosen.is_empty() {
        if columns.iter().any(|c| params.groups.contains(&c.group)) {
            return Err(ClusterError::AllExcluded(
                params.groups.clone(),
                params.exclude_prefixes.clone(),
            ));
        }
        let mut groups: Vec<String> = columns.iter().map(|c| c.group.clone()).collect();
        groups.dedup();
        return Err(ClusterError::NoColumns(params.groups.clone(), groups));
    }
    let d = chosen.len();
    // As scikit-learn's PCA: components past the column count do not exist,
    // and all of them would only rotate the space k-means measures.
    if let Some(dims) = params.dims.filter(|&dims| dims > d) {
        return Err(ClusterError::TooManyDims(dims, d));
    }
    // Filled and standardized a row at a time: a pass per column strode
    // through the rows (42 MB for 100,000 users x 52 columns) four times.
    let mut x = Array2::from_shape_fn((n, d), |(r, jj)| all[chosen[jj]][r] as f64);
    let (mut mean, mut std) = (vec![0.0; d], vec![1.0; d]);
    if params.standardize {
        for (jj, &j) in chosen.iter().enumerate() {
            let sum = if d > 1 && n > 1 {
                // ndarray sums a strided column one value after another from
                // zero: the same sum, from the column's own contiguous values.
                0.0 + all[j].iter().fold(0.0, |acc, &a| acc + a as f64)
            } else {
                x.column(jj).sum()
            };
            let m = sum / n.max(1) as f64;
            let v = all[j].iter().map(|&a| (a as f64 - m).powi(2)).sum::<f64>() / n.max(1) as f64;
            mean[jj] = m;
            std[jj] = if v > 0.0 { v.sqrt() } else { 1.0 };
        }
        for mut row in x.rows_mut() {
            for ((a, m), s) in row.iter_mut().zip(&mean).zip(&std) {
                *a = (*a - m) / s;
            }
        }
    }
    let pca = match params.dims {
        Some(dims) => {
            let p = pca::Pca::fit(x.view(), dims).map_err(ClusterError::KMeans)?;
            x = p.transform(x.view());
            Some(p)
        }
        None => None,
    };
    // Deterministic silhouette sample.
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::new(params.seed ^ 0x5111_4E77).shuffle(&mut idx);
    idx.truncate(params.silhouette_sample.min(n));
    idx.sort_unstable();
    let sample = x.select(ndarray::Axis(0), &idx);
    // `k: auto` tries no more segments than there are distinct users (its
    // first k still does, and fails saying so).
    let [k_min, k_max] = params.k_range;
    let k_top = match params.k {
        KChoice::Fixed(_) => k_max,
        KChoice::Auto(_) => kmeans::distinct_rows(x.view(), k_max).clamp(k_min, k_max),
    };
    let ks: Vec<usize> = match params.k {
        KChoice::Fixed(k) => vec![k],
        KChoice::Auto(_) => (k_min..=k_top).collect(),
    };
    // Several k share one distance matrix of the sample; a single k reads
    // the sample's rows instead and needs no m x m matrix.
    let sample = kmeans::ByFeature::new(sample.view());
    let matrix = (ks.len() > 1).then(|| {
        ctx.progress.phase(&format!(
            "pairwise distances of a {}-user sample",
            idx.len()
        ));
        kmeans::pairwise(&sample)
    });
    let distances = || match &matrix {
        Some(m) => kmeans::Distances::Matrix(m),
        None => kmeans::Distances::Rows(&sample),
    };
    let spec = |k| kmeans::KMeansSpec {
        k,
        n_runs: params.n_runs,
        max_iterations: params.max_iterations,
        tolerance: params.tolerance,
        seed: params.seed,
    };
    let bar = ctx.progress.bar(ks.len() as u64, "k-means");
    let mut curve = Vec::new();
    let mut kmeans_seconds = 0.0;
    let mut best: Option<(f64, kmeans::Clustering)> = None;
    for &k in &ks {
        let t_fit = Instant::now();
        let c = kmeans::fit(x.view(), &spec(k)).map_err(ClusterError::KMeans)?;
        kmeans_seconds += t_fit.elapsed().as_secs_f64();
        let labels: Vec<u16> = idx.iter().map(|&i| c.labels[i]).collect();
        let s = kmeans::silhouette(distances(), idx.len(), &labels, k);
        curve.push(CurvePoint {
            k,
            inertia: c.inertia,
            silhouette: s,
        });
        if best.as_ref().is_none_or(|(bs, _)| s > *bs) {
            best = Some((s, c));
        }
        bar.inc(1);
    }
    bar.finish();
    let (silhouette, clustering) =
        best.ok_or_else(|| ClusterError::KMeans("no k to try".into()))?;
    let k = clustering.centroids.nrows();

    // Centroids back in the features' original units (through the
    // components first, when clustered on them).
    let centroids = match &pca {
        Some(p) => p.inverse(clustering.centroids.view()),
        None => clustering.centroids.clone(),
    };
    let centroid_value = |s: usize, jj: usize| {
        let c = &columns[chosen[jj]];
        let v = centroids[[s, jj]] * std[jj] + mean[jj];
        if c.standardized {
            v * c.std + c.mean
        } else {
            v
        }
    };
    ctx.progress.phase("profiles");
    let users = ParquetTable::read(&ingest.join(USERS_FILE))?;
    let user_ids = users.strings(USER_ID)?;
    let labels = &clustering.labels;
    let mut rows: Vec<ProfileRow> = profiles::sizes(labels, k);
    // Feature contrasts over every column, in original units.
    let width = columns.len();
    // Row-major, written and then read a row at a time: a pass per column
    // over 100,000 users x 52 columns strode through 42 MB 52 times.
    let mut original = vec![0.0; n * width];
    for (r, row) in original.chunks_exact_mut(width.max(1)).enumerate() {
        for ((out, c), values) in row.iter_mut().zip(&columns).zip(&all) {
            let v = values[r] as f64;
            *out = if c.standardized {
                v * c.std + c.mean
            } else {
                v
            };
        }
    }
    let (seg_mean, pop_mean) = profiles::column_means(&original, width, labels, k);
    let mut squares = vec![0.0; width];
    for row in original.chunks_exact(width.max(1)) {
        for ((sq, v), m) in squares.iter_mut().zip(row).zip(&pop_mean) {
            *sq += (v - m).powi(2);
        }
    }
    let pop_std: Vec<f64> = squares
        .iter()
        .map(|sq| (sq / n.max(1) as f64).sqrt())
        .collect();
    for (s, seg) in seg_mean.iter().enumerate() {
        let mut feats: Vec<(usize, f64)> = (0..width)
            .filter(|&j| columns[j].group != "genres" && pop_std[j] > 0.0)
            .map(|j| (j, (seg[j] - pop_mean[j]) / pop_std[j]))
            .collect();
        feats.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        for (rank, (j, _)) in feats.iter().take(params.profile_features).enumerate() {
            rows.push(row(
                s,
                "feature",
                columns[*j].name.clone(),
                seg[*j],
                pop_mean[*j],
                rank,
            ));
        }
        let mut genres: Vec<(usize, f64)> = (0..width)
            .filter(|&j| columns[j].group == "genres" && pop_mean[j] > 0.0)
            .map(|j| (j, seg[j] / pop_mean[j]))
            .collect();
        genres.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (rank, (j, _)) in genres.iter().take(5).enumerate() {
            let name = columns[*j].name.trim_start_matches("genre:").to_string();
            rows.push(row(s, "genre", name, seg[*j], pop_mean[*j], rank));
        }
    }
    // Items over-represented among what each segment liked.
    // Only the columns used, decoded side by side (a ratings table's
    // all-null `event` is not decoded at all).
    let inter = ParquetTable::read_columns(
        &ingest.join(INTERACTIONS_FILE),
        &[USER_IDX, ITEM_IDX, VALUE, EVENT],
    )?;
    let (iu, ii, iv) = (
        inter.u32s(USER_IDX)?,
        inter.u32s(ITEM_IDX)?,
        inter.f32s(VALUE)?,
    );
    let is_events = inter.any_value(EVENT)?;
    let threshold = if is_events { f32::MIN } else { 4.0 };
    let mut liked: Vec<Vec<u32>> = vec![Vec::new(); n];
    for r in 0..iu.len() {
        if iv[r] >= threshold && (iu[r] as usize) < n {
            liked[iu[r] as usize].push(ii[r]);
        }
    }
    // An item is named by its title, or by its id where it has none.
    let items = ParquetTable::read_columns(&ingest.join(ITEMS_FILE), &[ITEM_ID, TITLE])?;
    let (ids, titles) = (items.strings(ITEM_ID)?, items.strings(TITLE)?);
    // An item must be liked by at least 3 users and 2% of the segment to be listed.
    let seg_sizes: Vec<f64> = rows.iter().take(k).map(|r| r.segment_value).collect();
    let lifts = profiles::item_lift(&liked, labels, k, 3, params.profile_items * 4);
    for (s, items) in lifts.iter().enumerate() {
        let floor = ((seg_sizes[s] * 0.02).ceil().max(3.0)) / seg_sizes[s].max(1.0);
        for (rank, &(i, support, pop, _)) in items
            .iter()
            .filter(|e| e.1 >= floor)
            .take(params.profile_items)
            .enumerate()
        {
            let i = i as usize;
            let title = (titles.get(i).cloned().flatten())
                .or_else(|| ids.get(i).cloned().flatten())
                .unwrap_or_else(|| format!("item {i}"));
            rows.push(row(s, "item", title, support, pop, rank));
        }
    }
    // Top TF-IDF terms of the segment's profiles.
    let tfidf = ParquetTable::read(&features.join("user_tfidf.parquet"))?;
    let vocab = ParquetTable::read(&features.join("vocabulary.parquet"))?.strings("term")?;
    let (tu, tt, tw) = (
        tfidf.u32s(USER_IDX)?,
        tfidf.u32s("term_idx")?,
        tfidf.f32s("weight")?,
    );
    // Weights summed per segment and term, in dense rows of the vocabulary
    // (a map entry per profile row took 2M lookups on 100,000 users), with
    // the terms each segment has: 9 bytes per segment and term, 14 MB for
    // 16 segments over 100,000 terms.
    let terms = tt.iter().map(|&t| t as usize + 1).max().unwrap_or(0);
    let mut seg_terms = vec![0.0f64; k * terms];
    let mut seg_has = vec![false; k * terms];
    let mut pop_terms = vec![0.0f64; terms];
    for r in 0..tu.len() {
        if (tu[r] as usize) < n {
            let (s, t) = (labels[tu[r] as usize] as usize, tt[r] as usize);
            seg_terms[s * terms + t] += tw[r] as f64;
            seg_has[s * terms + t] = true;
            pop_terms[t] += tw[r] as f64;
        }
    }
    for s in 0..k {
        let size = rows[s].segment_value.max(1.0);
        let span = s * terms..(s + 1) * terms;
        let (weights, has) = (&seg_terms[span.clone()], &seg_has[span]);
        let mut v: Vec<(u32, f64)> = (0..terms)
            .filter(|&t| has[t])
            .map(|t| (t as u32, weights[t] / size))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (rank, (t, w)) in v.iter().take(params.profile_terms).enumerate() {
            let name = vocab
                .get(*t as usize)
                .cloned()
                .flatten()
                .unwrap_or_default();
            rows.push(row(
                s,
                "term",
                name,
                *w,
                pop_terms[*t as usize] / n.max(1) as f64,
                rank,
            ));
        }
    }

    // Planted segments, when the data are synthetic.
    let truth_path = ingest.join(recpipe_core::schema::TRUE_SEGMENTS_FILE);
    let ari = if truth_path.is_file() {
        let truth = ParquetTable::read(&truth_path)?.u16s(recpipe_core::schema::TRUE_SEGMENT)?;
        (truth.len() == labels.len()).then(|| kmeans::adjusted_rand_index(labels, &truth))
    } else {
        None
    };

    ctx.progress.phase("writing");
    write_outputs(
        ctx,
        &clustering,
        &user_ids,
        &chosen,
        &columns,
        k,
        centroid_value,
        &rows,
    )?;
    let report = ClusterReport {
        k,
        users: n,
        columns: chosen.iter().map(|&j| columns[j].name.clone()).collect(),
        inertia: clustering.inertia,
        silhouette,
        iterations: clustering.iterations,
        runs: params.n_runs,
        silhouette_sample: idx.len(),
        dims: pca.as_ref().map(|p| p.components.nrows()),
        explained_variance: pca
            .as_ref()
            .map(|p| p.explained_variance_ratio.iter().sum()),
        adjusted_rand_index: ari,
        curve,
    };
    write_json_atomic(&ctx.out("cluster_report.json"), &report)?;
    write_markdown(ctx, &rows, k)?;
    let mut outcome = StageOutcome::default();
    outcome.seconds("seconds_kmeans", kmeans_seconds);
    outcome
        .metric("k", k as u64)
        .metric("inertia", report.inertia)
        .metric("silhouette", report.silhouette)
        .metric(
            "seconds",
            (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        );
    if let Some(a) = ari {
        outcome.metric("adjusted_rand_index", a);
    }
    // One segment has no silhouette (no other segment to be nearer to).
    let silhouette = match k {
        1 => "one segment: no silhouette".to_string(),
        _ => format!("silhouette {silhouette:.3}"),
    };
    outcome.line(format!(
        "{} of {} on {d} columns, {silhouette}{}",
        recpipe_core::names::counted(k as u64, "segment"),
        recpipe_core::names::counted(n as u64, "user"),
        ari.map(|a| format!(", ARI vs planted segments {a:.3}"))
            .unwrap_or_default()
    ));
    if k_top < k_max {
        outcome.line(format!(
            "k tried from {k_min} to {k_top}, not {k_max}: the data have only {k_top} distinct users"
        ));
    }
    Ok(outcome)
}

fn row(s: usize, kind: &'static str, name: String, seg: f64, pop: f64, rank: usize) -> ProfileRow {
    ProfileRow {
        segment: s as u16,
        kind,
        name,
        segment_value: seg,
        population_value: pop,
        lift: if pop != 0.0 { seg / pop } else { 0.0 },
        rank: rank as u16 + 1,
    }
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    ctx: &StageContext,
    c: &kmeans::Clustering,
    user_ids: &[Option<String>],
    chosen: &[usize],
    columns: &[FeatureColumn],
    k: usize,
    centroid_value: impl Fn(usize, usize) -> f64,
    rows: &[ProfileRow],
) -> Result<()> {
    let path = ctx.out("segments.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            USER_IDX,
            Arc::new(UInt32Array::from_iter_values(0..c.labels.len() as u32)),
        ),
        (
            USER_ID,
            Arc::new(
                user_ids
                    .iter()
                    .map(|s| s.as_deref())
                    .collect::<StringArray>(),
            ),
        ),
        ("segment", Arc::new(UInt16Array::from(c.labels.clone()))),
        (
            "distance",
            Arc::new(Float32Array::from_iter_values(
                c.sq_dist.iter().map(|d| d.sqrt() as f32),
            )),
        ),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    let path = ctx.out("centroids.parquet");
    let mut sizes = vec![0u32; k];
    for &l in &c.labels {
        sizes[l as usize] += 1;
    }
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        (
            "segment",
            Arc::new(UInt16Array::from_iter_values(0..k as u16)),
        ),
        ("size", Arc::new(UInt32Array::from(sizes))),
    ];
    for (jj, &j) in chosen.iter().enumerate() {
        cols.push((
            columns[j].name.as_str(),
            Arc::new(Float64Array::from_iter_values(
                (0..k).map(|s| centroid_value(s, jj)),
            )),
        ));
    }
    write_parquet(&path, &batch(&path, cols)?)?;
    let path = ctx.out("segment_profiles.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "segment",
            Arc::new(UInt16Array::from_iter_values(
                rows.iter().map(|r| r.segment),
            )),
        ),
        (
            "kind",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
        ),
        (
            "rank",
            Arc::new(UInt16Array::from_iter_values(rows.iter().map(|r| r.rank))),
        ),
        (
            "name",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.name.as_str()),
            )),
        ),
        (
            "segment_value",
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.segment_value),
            )),
        ),
        (
            "population_value",
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.population_value),
            )),
        ),
        (
            "lift",
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.lift))),
        ),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    Ok(())
}

fn write_markdown(ctx: &StageContext, rows: &[ProfileRow], k: usize) -> Result<()> {
    let mut md = String::from(
        "# Segment profiles\n\nLift = value in the segment / value in the whole population.\n",
    );
    for s in 0..k as u16 {
        let of = |kind: &'static str| {
            rows.iter()
                .filter(move |r| r.segment == s && r.kind == kind)
        };
        if let Some(size) = of("size").next() {
            let _ = write!(
                md,
                "\n## Segment {s}: {} ({:.1}%)\n",
                recpipe_core::names::counted(size.segment_value as u64, "user"),
                size.lift * 100.0
            );
        }
        let list = |md: &mut String,
                    title: &str,
                    kind: &'static str,
                    fmt: &dyn Fn(&ProfileRow) -> String| {
            let items: Vec<String> = of(kind).map(fmt).collect();
            if !items.is_empty() {
                let _ = write!(md, "\n**{title}:** {}\n", items.join("; "));
            }
        };
        list(&mut md, "Differs most in", "feature", &|r| {
            format!(
                "{} {:.3} vs {:.3}",
                r.name, r.segment_value, r.population_value
            )
        });
        list(&mut md, "Top genres by lift", "genre", &|r| {
            format!("{} x{:.2}", r.name, r.lift)
        });
        list(&mut md, "Over-represented items", "item", &|r| {
            format!(
                "{} (support {:.0}%, lift x{:.2})",
                r.name,
                r.segment_value * 100.0,
                r.lift
            )
        });
        list(&mut md, "Top terms", "term", &|r| {
            format!("{} ({:.3})", r.name, r.segment_value)
        });
    }
    recpipe_core::write_atomic(&ctx.out("segment_profiles.md"), md.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_columns_names_the_groups_written_and_the_settings_to_change() {
        let s = |v: &[&str]| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        let e = ClusterError::NoColumns(s(&["rfm"]), s(&["demographics", "genres"]));
        assert_eq!(
            e.to_string(),
            "no user feature column is in the groups rfm: the features stage wrote the groups \
             demographics, genres (set `groups` to some of them, or add the group to the \
             features stage's `user_groups`)"
        );
        let e = ClusterError::AllExcluded(s(&["behaviour"]), s(&["log_", "mean"]));
        assert_eq!(
            e.to_string(),
            "every user feature column of the groups behaviour starts with one of \
             `exclude_prefixes` (log_, mean): nothing is left to cluster on"
        );
        let e = ClusterError::NoColumns(s(&["events", "rfm"]), Vec::new());
        assert!(
            e.to_string()
                .starts_with("no user feature column is in the groups events, rfm: the features stage wrote no user feature column"),
            "{e}"
        );
    }
}
