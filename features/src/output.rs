//! The features stage's files.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float32Array, Float64Array, StringArray, UInt32Array};
use rayon::prelude::*;
use recpipe_core::parquet_io::batch;
use recpipe_core::schema::{ITEM_IDX, USER_IDX};
use recpipe_core::{StageContext, write_json_atomic, write_parquet};
use serde::Serialize;

use crate::error::Result;
use crate::tfidf::Tfidf;
use crate::{FeatureColumn, Matrix};

/// `features_report.json`.
#[derive(Debug, Serialize)]
pub struct FeaturesReport {
    /// Users (rows of user_features).
    pub users: usize,
    /// User feature columns.
    pub user_features: usize,
    /// User feature groups and their column counts.
    pub user_groups: BTreeMap<String, usize>,
    /// Items.
    pub items: usize,
    /// Item feature columns.
    pub item_features: usize,
    /// Vocabulary size.
    pub vocabulary: usize,
    /// Non-zeros of item_tfidf.
    pub item_tfidf_nnz: usize,
    /// Non-zeros of user_tfidf.
    pub user_tfidf_nnz: usize,
    /// Items whose document is empty.
    pub items_without_text: usize,
    /// The 20 terms with the highest document frequency.
    pub top_terms_by_df: Vec<(String, u32)>,
}

fn write_matrix(
    ctx: &StageContext,
    file: &str,
    names_file: &str,
    id: &str,
    m: &Matrix,
) -> Result<()> {
    let path = ctx.out(file);
    let mut cols: Vec<(&str, ArrayRef)> = vec![(
        id,
        Arc::new(UInt32Array::from_iter_values(0..m.rows as u32)),
    )];
    for (c, values) in m.columns.iter().zip(&m.values) {
        cols.push((
            c.name.as_str(),
            Arc::new(Float32Array::from_iter_values(
                values.iter().map(|&v| v as f32),
            )),
        ));
    }
    write_parquet(&path, &batch(&path, cols)?)?;
    write_json_atomic(&ctx.out(names_file), &m.columns)?;
    Ok(())
}

fn write_sparse(ctx: &StageContext, file: &str, id: &str, rows: &[Vec<(u32, f64)>]) -> Result<()> {
    let path = ctx.out(file);
    let (mut ids, mut terms, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    for (r, row) in rows.iter().enumerate() {
        for &(t, w) in row {
            ids.push(r as u32);
            terms.push(t);
            weights.push(w as f32);
        }
    }
    let cols: Vec<(&str, ArrayRef)> = vec![
        (id, Arc::new(UInt32Array::from(ids))),
        ("term_idx", Arc::new(UInt32Array::from(terms))),
        ("weight", Arc::new(Float32Array::from(weights))),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    Ok(())
}

/// Writes every output and the report.
pub fn write(
    ctx: &StageContext,
    users: &Matrix,
    items: &Matrix,
    tfidf: &Tfidf,
    profiles: &[Vec<(u32, f64)>],
) -> Result<FeaturesReport> {
    // The five tables are independent: written side by side.
    let write_vocabulary = || -> Result<()> {
        let path = ctx.out("vocabulary.parquet");
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "term_idx",
                Arc::new(UInt32Array::from_iter_values(0..tfidf.terms.len() as u32)),
            ),
            (
                "term",
                Arc::new(StringArray::from_iter_values(tfidf.terms.iter())),
            ),
            ("df", Arc::new(UInt32Array::from(tfidf.df.clone()))),
            ("idf", Arc::new(Float64Array::from(tfidf.idf.clone()))),
        ];
        write_parquet(&path, &batch(&path, cols)?)?;
        Ok(())
    };
    let writes: [&(dyn Fn() -> Result<()> + Sync); 5] = [
        &|| {
            write_matrix(
                ctx,
                "user_features.parquet",
                "user_feature_names.json",
                USER_IDX,
                users,
            )
        },
        &|| {
            write_matrix(
                ctx,
                "item_features.parquet",
                "item_feature_names.json",
                ITEM_IDX,
                items,
            )
        },
        &|| write_sparse(ctx, "user_tfidf.parquet", USER_IDX, profiles),
        &|| write_sparse(ctx, "item_tfidf.parquet", ITEM_IDX, &tfidf.rows),
        &write_vocabulary,
    ];
    writes.par_iter().try_for_each(|write| write())?;
    let nnz = |rows: &[Vec<(u32, f64)>]| rows.iter().map(Vec::len).sum::<usize>();
    let (user_nnz, item_nnz) = (nnz(profiles), nnz(&tfidf.rows));
    let mut by_df: Vec<(String, u32)> = tfidf
        .terms
        .iter()
        .cloned()
        .zip(tfidf.df.iter().copied())
        .collect();
    by_df.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_df.truncate(20);
    let mut groups = BTreeMap::new();
    for c in &users.columns {
        *groups.entry(c.group.clone()).or_insert(0) += 1;
    }
    let report = FeaturesReport {
        users: users.rows,
        user_features: users.width(),
        user_groups: groups,
        items: items.rows,
        item_features: items.width(),
        vocabulary: tfidf.terms.len(),
        item_tfidf_nnz: item_nnz,
        user_tfidf_nnz: user_nnz,
        items_without_text: tfidf.rows.iter().filter(|r| r.is_empty()).count(),
        top_terms_by_df: by_df,
    };
    write_json_atomic(&ctx.out("features_report.json"), &report)?;
    Ok(report)
}

/// Reads a feature-names file.
pub fn read_columns(path: &std::path::Path) -> Result<Vec<FeatureColumn>> {
    Ok(recpipe_core::fsutil::read_json(path)?)
}
