//! User features: demographics one-hot (plain Rust), behaviour aggregates
//! (polars group-by), genre affinity, event shares and RFM; and per-user
//! TF-IDF profiles.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use recpipe_core::ParquetTable;
use recpipe_core::schema::{AMOUNT, DEMOGRAPHICS, EVENT, ITEM_IDX, TS, USER_IDX, VALUE, ZIP};

use crate::error::{FeaturesError, Result};
use crate::items::ItemInfo;
use crate::onehot::OneHot;
use crate::params::{FeaturesParams, UserGroup};
use crate::tfidf::{Norm, Tfidf, normalize};
use crate::{FeatureColumn, Matrix};

const DAY: i64 = 86_400;

/// The interactions table, as a polars frame and as plain columns.
pub struct Interactions {
    /// The table (polars), for group-bys.
    pub frame: DataFrame,
    /// user_idx per row (rows sorted by user).
    pub user: Vec<u32>,
    /// item_idx per row.
    pub item: Vec<u32>,
    /// value per row.
    pub value: Vec<f32>,
    /// Row offsets per user (CSR): rows of user u are offsets[u]..offsets[u+1].
    pub offsets: Vec<usize>,
    /// Whether the table has event types.
    pub has_events: bool,
    /// Whether it has amounts.
    pub has_amount: bool,
    /// The latest timestamp.
    pub max_ts: i64,
    path: std::path::PathBuf,
}

fn polars_err(path: &Path) -> impl Fn(PolarsError) -> FeaturesError + '_ {
    move |source| FeaturesError::Polars {
        path: path.to_path_buf(),
        source,
    }
}

impl Interactions {
    /// Reads interactions.parquet with polars.
    pub fn read(path: &Path) -> Result<Self> {
        let pe = polars_err(path);
        let pl_path = PlRefPath::try_from_path(path).map_err(&pe)?;
        let frame = LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default())
            .map_err(&pe)?
            .collect()
            .map_err(&pe)?;
        let u32s = |name: &str| -> Result<Vec<u32>> {
            Ok(frame
                .column(name)
                .map_err(&pe)?
                .u32()
                .map_err(&pe)?
                .into_no_null_iter()
                .collect())
        };
        let user = u32s(USER_IDX)?;
        let item = u32s(ITEM_IDX)?;
        let value: Vec<f32> = frame
            .column(VALUE)
            .map_err(&pe)?
            .f32()
            .map_err(&pe)?
            .into_no_null_iter()
            .collect();
        let max_ts = frame
            .column(TS)
            .map_err(&pe)?
            .i64()
            .map_err(&pe)?
            .max()
            .unwrap_or(0);
        let has_events = frame.column(EVENT).is_ok_and(|c| c.null_count() < c.len());
        let has_amount = frame.column(AMOUNT).is_ok();
        let n_users = user.iter().max().map_or(0, |&m| m as usize + 1);
        let mut offsets = vec![0usize; n_users + 1];
        for &u in &user {
            offsets[u as usize + 1] += 1;
        }
        for i in 0..n_users {
            offsets[i + 1] += offsets[i];
        }
        if user.windows(2).any(|w| w[0] > w[1]) {
            return Err(FeaturesError::Core(recpipe_core::CoreError::schema(
                path,
                "interactions are not sorted by user_idx",
            )));
        }
        Ok(Interactions {
            frame,
            user,
            item,
            value,
            offsets,
            has_events,
            has_amount,
            max_ts,
            path: path.to_path_buf(),
        })
    }

    /// Rows of user `u`.
    pub fn rows_of(&self, u: usize) -> std::ops::Range<usize> {
        if u + 1 < self.offsets.len() {
            self.offsets[u]..self.offsets[u + 1]
        } else {
            0..0
        }
    }
}

fn column(name: String, group: UserGroup) -> FeatureColumn {
    FeatureColumn {
        name,
        group: group.name().into(),
        mean: 0.0,
        std: 1.0,
        standardized: false,
    }
}

/// A non-null u32 column of a polars frame.
fn u32_column(
    df: &DataFrame,
    name: &str,
    pe: &impl Fn(PolarsError) -> FeaturesError,
) -> Result<Vec<u32>> {
    Ok(df
        .column(name)
        .map_err(pe)?
        .u32()
        .map_err(pe)?
        .into_no_null_iter()
        .collect())
}

/// Per-user aggregates from a polars group-by, scattered into dense vectors.
struct Behaviour {
    count: Vec<f64>,
    mean: Vec<f64>,
    std: Vec<f64>,
    last_ts: Vec<Option<i64>>,
    days: Vec<f64>,
    monetary: Vec<f64>,
}

fn behaviour(inter: &Interactions, n_users: usize) -> Result<Behaviour> {
    let pe = polars_err(&inter.path);
    let mut aggs = vec![
        len().alias("n"),
        col(VALUE).cast(DataType::Float64).mean().alias("mean"),
        col(VALUE).cast(DataType::Float64).std(0).alias("std"),
        col(TS).max().alias("last_ts"),
        (col(TS) / lit(DAY))
            .cast(DataType::Int64)
            .n_unique()
            .alias("days"),
    ];
    if inter.has_amount {
        aggs.push(col(AMOUNT).sum().alias("monetary"));
    }
    let df = inter
        .frame
        .clone()
        .lazy()
        .group_by([col(USER_IDX)])
        .agg(aggs)
        .sort([USER_IDX], SortMultipleOptions::default())
        .collect()
        .map_err(&pe)?;
    let f64s = |name: &str| -> Result<Vec<Option<f64>>> {
        Ok(df
            .column(name)
            .map_err(&pe)?
            .cast(&DataType::Float64)
            .map_err(&pe)?
            .f64()
            .map_err(&pe)?
            .iter()
            .collect())
    };
    let users = u32_column(&df, USER_IDX, &pe)?;
    let (n, mean, std, days) = (f64s("n")?, f64s("mean")?, f64s("std")?, f64s("days")?);
    let last: Vec<Option<i64>> = df
        .column("last_ts")
        .map_err(&pe)?
        .i64()
        .map_err(&pe)?
        .iter()
        .collect();
    let monetary = if inter.has_amount {
        f64s("monetary")?
    } else {
        vec![None; users.len()]
    };
    let mut b = Behaviour {
        count: vec![0.0; n_users],
        mean: vec![0.0; n_users],
        std: vec![0.0; n_users],
        last_ts: vec![None; n_users],
        days: vec![0.0; n_users],
        monetary: vec![0.0; n_users],
    };
    for (k, &u) in users.iter().enumerate() {
        let u = u as usize;
        if u >= n_users {
            continue;
        }
        b.count[u] = n[k].unwrap_or(0.0);
        b.mean[u] = mean[k].unwrap_or(0.0);
        b.std[u] = std[k].unwrap_or(0.0);
        b.last_ts[u] = last[k];
        b.days[u] = days[k].unwrap_or(0.0);
        b.monetary[u] = monetary[k].unwrap_or(0.0);
    }
    Ok(b)
}

/// Share of each event type per user (polars group-by on user and event).
fn event_shares(inter: &Interactions, n_users: usize) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let pe = polars_err(&inter.path);
    let df = inter
        .frame
        .clone()
        .lazy()
        .filter(col(EVENT).is_not_null())
        .group_by([
            col(USER_IDX),
            col(EVENT).cast(DataType::String).alias("event_name"),
        ])
        .agg([len().alias("n")])
        .collect()
        .map_err(&pe)?;
    let users = u32_column(&df, USER_IDX, &pe)?;
    let names: Vec<String> = df
        .column("event_name")
        .map_err(&pe)?
        .str()
        .map_err(&pe)?
        .iter()
        .map(|s| s.unwrap_or("").to_string())
        .collect();
    let counts: Vec<f64> = df
        .column("n")
        .map_err(&pe)?
        .cast(&DataType::Float64)
        .map_err(&pe)?
        .f64()
        .map_err(&pe)?
        .into_no_null_iter()
        .collect();
    let mut kinds: Vec<String> = names.clone();
    kinds.sort();
    kinds.dedup();
    let mut shares = vec![vec![0.0; n_users]; kinds.len()];
    let mut totals = vec![0.0; n_users];
    for k in 0..users.len() {
        let u = users[k] as usize;
        if u < n_users {
            let e = kinds.binary_search(&names[k]).unwrap_or(0);
            shares[e][u] += counts[k];
            totals[u] += counts[k];
        }
    }
    for col in &mut shares {
        for (u, v) in col.iter_mut().enumerate() {
            if totals[u] > 0.0 {
                *v /= totals[u];
            }
        }
    }
    Ok((kinds, shares))
}

/// Builds the user feature matrix (rows = users.parquet rows, by user_idx).
pub fn user_features(
    params: &FeaturesParams,
    inter: &Interactions,
    users: &ParquetTable,
    items: &ItemInfo,
) -> Result<Matrix> {
    let n_users = users.num_rows();
    let mut m = Matrix::zeros(n_users);
    let has = |g: UserGroup| params.user_groups.contains(&g);
    if has(UserGroup::Demographics) {
        let mut cols = Vec::new();
        for name in DEMOGRAPHICS {
            if !users.has(name) {
                continue;
            }
            let mut values = users.strings(name)?;
            if name == ZIP {
                for v in values.iter_mut().flatten() {
                    *v = v.chars().take(params.zip_prefix_digits).collect();
                }
            }
            let enc = OneHot::fit(name, values.iter().map(|v| v.as_deref()));
            let mut data = vec![vec![0.0; n_users]; enc.width()];
            for (u, v) in values.iter().enumerate() {
                if let Some(j) = enc.index(v.as_deref()) {
                    data[j][u] = 1.0;
                }
            }
            cols.extend(
                enc.columns()
                    .into_iter()
                    .zip(data)
                    .map(|(c, d)| (column(c, UserGroup::Demographics), d)),
            );
        }
        m.push_columns(cols);
    }
    let b = behaviour(inter, n_users)?;
    if has(UserGroup::Behaviour) {
        let recency: Vec<f64> = b
            .last_ts
            .iter()
            .map(|t| t.map_or(0.0, |t| (inter.max_ts - t) as f64 / DAY as f64))
            .collect();
        m.push_columns(vec![
            (
                column("log_count".into(), UserGroup::Behaviour),
                b.count.iter().map(|c| c.ln_1p()).collect(),
            ),
            (
                column("mean_value".into(), UserGroup::Behaviour),
                b.mean.clone(),
            ),
            (
                column("std_value".into(), UserGroup::Behaviour),
                b.std.clone(),
            ),
            (column("recency_days".into(), UserGroup::Behaviour), recency),
        ]);
    }
    if has(UserGroup::Genres) && !items.genre_names.is_empty() {
        // Each interaction spreads one unit over its item's genres, so shares sum to 1.
        let shares: Vec<Vec<f64>> = (0..n_users)
            .into_par_iter()
            .map(|u| {
                let mut s = vec![0.0; items.genre_names.len()];
                let rows = inter.rows_of(u);
                let n = rows.len();
                for r in rows {
                    let g = &items.genre_idx[inter.item[r] as usize];
                    for &j in g {
                        s[j as usize] += 1.0 / g.len() as f64;
                    }
                }
                if n > 0 {
                    for x in &mut s {
                        *x /= n as f64;
                    }
                }
                s
            })
            .collect();
        let cols = items
            .genre_names
            .iter()
            .enumerate()
            .map(|(j, g)| {
                (
                    column(format!("genre:{g}"), UserGroup::Genres),
                    shares.iter().map(|s| s[j]).collect(),
                )
            })
            .collect();
        m.push_columns(cols);
    }
    if has(UserGroup::Events) && inter.has_events {
        let (kinds, shares) = event_shares(inter, n_users)?;
        if kinds.len() > 1 {
            m.push_columns(
                kinds
                    .into_iter()
                    .zip(shares)
                    .map(|(k, s)| (column(format!("event:{k}"), UserGroup::Events), s))
                    .collect(),
            );
        }
    }
    if has(UserGroup::Rfm) && inter.has_amount {
        m.push_columns(vec![
            (
                column("rfm:frequency".into(), UserGroup::Rfm),
                b.days.iter().map(|d| d.ln_1p()).collect(),
            ),
            (
                column("rfm:monetary".into(), UserGroup::Rfm),
                b.monetary.iter().map(|x| x.max(0.0).ln_1p()).collect(),
            ),
        ]);
    }
    standardize(&mut m, &params.standardize);
    Ok(m)
}

/// z-scores the columns of the given groups (population std; a constant column is only centred).
pub fn standardize(m: &mut Matrix, groups: &[UserGroup]) {
    let names: Vec<&str> = groups.iter().map(|g| g.name()).collect();
    let w = m.width();
    let rows = m.rows;
    for j in 0..w {
        if !names.contains(&m.columns[j].group.as_str()) || rows == 0 {
            continue;
        }
        let mean = (0..rows).map(|r| m.values[r * w + j]).sum::<f64>() / rows as f64;
        let var = (0..rows)
            .map(|r| (m.values[r * w + j] - mean).powi(2))
            .sum::<f64>()
            / rows as f64;
        let std = if var > 0.0 { var.sqrt() } else { 1.0 };
        for r in 0..rows {
            m.values[r * w + j] = (m.values[r * w + j] - mean) / std;
        }
        let c = &mut m.columns[j];
        c.mean = mean;
        c.std = std;
        c.standardized = true;
    }
}

/// Per-user TF-IDF profile: mean of the vectors of items valued at least
/// `threshold`, l2-normalised, top `terms` terms kept (ties by term index).
pub fn tfidf_profiles(
    inter: &Interactions,
    tfidf: &Tfidf,
    threshold: f32,
    terms: usize,
) -> Vec<Vec<(u32, f64)>> {
    let n_users = inter.offsets.len().saturating_sub(1);
    (0..n_users)
        .into_par_iter()
        .map(|u| {
            let mut acc: HashMap<u32, f64> = HashMap::new();
            let mut n = 0usize;
            for r in inter.rows_of(u) {
                if inter.value[r] < threshold {
                    continue;
                }
                n += 1;
                for &(t, w) in &tfidf.rows[inter.item[r] as usize] {
                    *acc.entry(t).or_insert(0.0) += w;
                }
            }
            let mut row: Vec<(u32, f64)> = acc
                .into_iter()
                .map(|(t, w)| (t, w / n.max(1) as f64))
                .collect();
            row.sort_unstable_by_key(|e| e.0);
            normalize(&mut row, Norm::L2);
            row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            row.truncate(terms);
            row.shrink_to_fit();
            row.sort_unstable_by_key(|e| e.0);
            row
        })
        .collect()
}
