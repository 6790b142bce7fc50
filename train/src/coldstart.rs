//! Cold start: ridge mappings from user features (demographics one-hot and
//! segment) to user factors, and from item content (genre and decade
//! one-hots, TF-IDF of the most frequent terms) to item factors, so a new
//! user with a known profile or a new item with a description gets a
//! vector; and their evaluation on users or items held out entirely.

use std::path::Path;

use ndarray::Array2;
use recpipe_core::ParquetTable;

use crate::linalg::{cholesky_factor, cholesky_substitute};

/// The feature columns a cold-start mapping reads.
#[derive(Debug, Clone)]
pub struct FeatureMatrix {
    /// Column names (`gender=F`, `age=25`, `segment=3`, `genre=Drama`,
    /// `term=love`, ...); the last is `bias`.
    pub names: Vec<String>,
    /// Users (or items) x columns.
    pub x: Array2<f64>,
}

/// Demographic one-hot columns of the features stage, plus segment one-hot, plus a constant.
pub fn user_features(
    features_dir: &Path,
    segments: Option<&[u16]>,
) -> crate::Result<Option<FeatureMatrix>> {
    let names_path = features_dir.join("user_feature_names.json");
    let cols: Vec<serde_json::Value> = recpipe_core::fsutil::read_json(&names_path)?;
    let table = ParquetTable::read(&features_dir.join("user_features.parquet"))?;
    let demo: Vec<String> = cols
        .iter()
        .filter(|c| c["group"] == "demographics")
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let n = table.num_rows();
    let n_seg = segments.map_or(0, |s| s.iter().copied().max().map_or(0, |m| m as usize + 1));
    if demo.is_empty() && n_seg == 0 {
        return Ok(None);
    }
    let d = demo.len() + n_seg + 1;
    let mut x = Array2::<f64>::zeros((n, d));
    for (j, name) in demo.iter().enumerate() {
        for (r, v) in table.f32s(name)?.into_iter().enumerate() {
            x[[r, j]] = v as f64;
        }
    }
    if let Some(seg) = segments {
        for (r, &s) in seg.iter().enumerate().take(n) {
            x[[r, demo.len() + s as usize]] = 1.0;
        }
    }
    x.column_mut(d - 1).fill(1.0);
    let mut names = demo;
    names.extend((0..n_seg).map(|s| format!("segment={s}")));
    names.push("bias".into());
    Ok(Some(FeatureMatrix { names, x }))
}

/// Item content columns of the features stage: the `genres` and `decade`
/// one-hots (never `behaviour`: a new item has no interactions), the TF-IDF
/// weights of the `terms` terms with the highest document frequency (ties:
/// lower term index), and a constant. `None` when there is no content.
pub fn item_features(
    features_dir: &Path,
    n_items: usize,
    terms: usize,
) -> crate::Result<Option<FeatureMatrix>> {
    let cols: Vec<serde_json::Value> =
        recpipe_core::fsutil::read_json(&features_dir.join("item_feature_names.json"))?;
    let table = ParquetTable::read(&features_dir.join("item_features.parquet"))?;
    let content: Vec<String> = cols
        .iter()
        .filter(|c| c["group"] == "genres" || c["group"] == "decade")
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect();
    let vocab = ParquetTable::read(&features_dir.join("vocabulary.parquet"))?;
    let (term_names, df) = (vocab.strings("term")?, vocab.u32s("df")?);
    let mut by_df: Vec<usize> = (0..df.len()).collect();
    by_df.sort_by_key(|&t| (std::cmp::Reverse(df[t]), t));
    by_df.truncate(terms);
    if content.is_empty() && by_df.is_empty() {
        return Ok(None);
    }
    let mut column_of_term = vec![usize::MAX; df.len()];
    for (j, &t) in by_df.iter().enumerate() {
        column_of_term[t] = content.len() + j;
    }
    let d = content.len() + by_df.len() + 1;
    let mut x = Array2::<f64>::zeros((n_items, d));
    for (j, name) in content.iter().enumerate() {
        for (r, v) in table.f32s(name)?.into_iter().enumerate().take(n_items) {
            x[[r, j]] = v as f64;
        }
    }
    let tfidf = ParquetTable::read(&features_dir.join("item_tfidf.parquet"))?;
    let (ti, tt, tw) = (
        tfidf.u32s(recpipe_core::schema::ITEM_IDX)?,
        tfidf.u32s("term_idx")?,
        tfidf.f32s("weight")?,
    );
    for r in 0..ti.len() {
        let (i, t) = (ti[r] as usize, tt[r] as usize);
        if let Some(&j) = column_of_term.get(t)
            && j != usize::MAX
            && i < n_items
        {
            x[[i, j]] = tw[r] as f64;
        }
    }
    x.column_mut(d - 1).fill(1.0);
    let mut names = content;
    names.extend(
        by_df
            .iter()
            .map(|&t| format!("term={}", term_names[t].clone().unwrap_or_default())),
    );
    names.push("bias".into());
    Ok(Some(FeatureMatrix { names, x }))
}

/// Ridge regression `W = (X^T X + lambda I)^-1 X^T T` over the selected rows (one solve per target column).
pub fn ridge(x: &Array2<f64>, t: &Array2<f64>, rows: &[usize], lambda: f64) -> Array2<f64> {
    let d = x.ncols();
    let mut xtx = vec![0.0; d * d];
    let mut xtt = Array2::<f64>::zeros((d, t.ncols()));
    for &r in rows {
        let xr = x.row(r);
        for i in 0..d {
            if xr[i] == 0.0 {
                continue;
            }
            for j in i..d {
                xtx[i * d + j] += xr[i] * xr[j];
            }
            for c in 0..t.ncols() {
                xtt[[i, c]] += xr[i] * t[[r, c]];
            }
        }
    }
    for i in 0..d {
        xtx[i * d + i] += lambda;
    }
    let mut w = Array2::<f64>::zeros((d, t.ncols()));
    // One factorisation for every target column.
    if cholesky_factor(&mut xtx, d) {
        for c in 0..t.ncols() {
            let mut b: Vec<f64> = xtt.column(c).to_vec();
            cholesky_substitute(&xtx, &mut b, d);
            for i in 0..d {
                w[[i, c]] = b[i];
            }
        }
    }
    w
}

/// Targets for the mapping: each user's factors with its bias as the last column.
pub fn targets(user: &Array2<f32>, bias: &[f32]) -> Array2<f64> {
    let (n, k) = user.dim();
    let mut t = Array2::<f64>::zeros((n, k + 1));
    for r in 0..n {
        for c in 0..k {
            t[[r, c]] = user[[r, c]] as f64;
        }
        t[[r, k]] = bias[r] as f64;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridge_recovers_a_linear_map() {
        // t = 2 x0 - x1 + 0.5 (bias column), no noise, tiny lambda.
        let x = Array2::from_shape_fn((50, 3), |(r, c)| {
            if c == 2 {
                1.0
            } else {
                ((r * (c + 3)) % 7) as f64
            }
        });
        let t = Array2::from_shape_fn((50, 1), |(r, _)| 2.0 * x[[r, 0]] - x[[r, 1]] + 0.5);
        let rows: Vec<usize> = (0..50).collect();
        let w = ridge(&x, &t, &rows, 1e-9);
        assert!(
            (w[[0, 0]] - 2.0).abs() < 1e-6
                && (w[[1, 0]] + 1.0).abs() < 1e-6
                && (w[[2, 0]] - 0.5).abs() < 1e-6,
            "{w:?}"
        );
    }
}
