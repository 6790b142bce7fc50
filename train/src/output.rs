//! The train stage's files.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int64Array, StringArray, UInt16Array,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field};
use recpipe_core::parquet_io::batch;
use recpipe_core::schema::{ITEM_ID, ITEM_IDX, TS, USER_ID, USER_IDX, VALUE};
use recpipe_core::{StageContext, write_json_atomic, write_parquet, write_parquet_windows};

use crate::data::Data;
use crate::model::Factors;
use crate::params::TrainParams;
use crate::split::Fold;
use crate::{HistoryRow, Result};

/// A factor matrix as a fixed-size list column.
pub fn factor_column(m: &ndarray::Array2<f32>) -> ArrayRef {
    let k = m.ncols() as i32;
    let values = Float32Array::from_iter_values(m.iter().copied());
    Arc::new(FixedSizeListArray::new(
        Arc::new(Field::new("item", DataType::Float32, false)),
        k,
        Arc::new(values),
        None,
    ))
}

fn write_factors(
    ctx: &StageContext,
    file: &str,
    idx: &str,
    id: &str,
    ids: &[String],
    bias: &[f32],
    f: &ndarray::Array2<f32>,
) -> Result<()> {
    let path = ctx.out(file);
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            idx,
            Arc::new(UInt32Array::from_iter_values(0..ids.len() as u32)),
        ),
        (id, Arc::new(StringArray::from_iter_values(ids.iter()))),
        ("bias", Arc::new(Float32Array::from(bias.to_vec()))),
        ("factors", factor_column(f)),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    Ok(())
}

/// A split's (fold, row) pairs with their ids, values and times, built a
/// row group at a time: a random split of 20M ratings has 16M train pairs,
/// whose id columns alone would be 300 MB of strings if built whole.
fn write_pairs(ctx: &StageContext, file: &str, data: &Data, all: &[(u16, usize)]) -> Result<()> {
    let path = ctx.out(file);
    let window = |range: std::ops::Range<usize>| -> Result<_> {
        let rows = &all[range];
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "fold",
                Arc::new(UInt16Array::from_iter_values(rows.iter().map(|r| r.0))),
            ),
            (
                USER_IDX,
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| data.users[r.1]),
                )),
            ),
            (
                ITEM_IDX,
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| data.items[r.1]),
                )),
            ),
            (
                USER_ID,
                Arc::new(StringArray::from_iter_values(
                    rows.iter()
                        .map(|r| &data.user_ids[data.users[r.1] as usize]),
                )),
            ),
            (
                ITEM_ID,
                Arc::new(StringArray::from_iter_values(
                    rows.iter()
                        .map(|r| &data.item_ids[data.items[r.1] as usize]),
                )),
            ),
            (
                VALUE,
                Arc::new(Float32Array::from_iter_values(
                    rows.iter().map(|r| data.values[r.1]),
                )),
            ),
            (
                TS,
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| data.ts[r.1]),
                )),
            ),
        ];
        Ok(batch(&path, cols)?)
    };
    write_parquet_windows(&path, all.len(), &[], window)
}

/// Writes factors, model.json, metrics.json, history.parquet and the split files.
#[allow(clippy::too_many_arguments)]
pub fn write(
    ctx: &StageContext,
    params: &TrainParams,
    data: &Data,
    model: &Factors,
    metrics: &BTreeMap<String, f64>,
    history: &[HistoryRow],
    folds: &[Fold],
    evaluating: bool,
) -> Result<()> {
    write_factors(
        ctx,
        "user_factors.parquet",
        USER_IDX,
        USER_ID,
        &data.user_ids,
        &model.user_bias,
        &model.user,
    )?;
    write_factors(
        ctx,
        "item_factors.parquet",
        ITEM_IDX,
        ITEM_ID,
        &data.item_ids,
        &model.item_bias,
        &model.item,
    )?;
    let doc = serde_json::json!({
        "model": params.model,
        "params": params,
        "resolved": params.resolved(),
        "global_mean": model.mu,
        "factors": model.k(),
        "users": data.n_users,
        "items": data.n_items,
        "interactions": data.len(),
        "implicit": params.model == crate::ModelKind::ImplicitAls,
        "recpipe_version": env!("CARGO_PKG_VERSION"),
    });
    write_json_atomic(&ctx.out("model.json"), &doc)?;
    let rounded: BTreeMap<&String, f64> = metrics
        .iter()
        .map(|(k, v)| (k, (v * 1e6).round() / 1e6))
        .collect();
    write_json_atomic(&ctx.out("metrics.json"), &rounded)?;
    let path = ctx.out("history.parquet");
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "fold",
            Arc::new(UInt16Array::from_iter_values(
                history.iter().map(|h| h.fold),
            )),
        ),
        (
            "iteration",
            Arc::new(UInt32Array::from_iter_values(
                history.iter().map(|h| h.iteration),
            )),
        ),
        (
            "train_loss",
            Arc::new(Float64Array::from_iter_values(
                history.iter().map(|h| h.train_loss),
            )),
        ),
        (
            "validation",
            Arc::new(Float64Array::from_iter_values(
                history.iter().map(|h| h.validation),
            )),
        ),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    if evaluating {
        let test: Vec<(u16, usize)> = folds
            .iter()
            .enumerate()
            .flat_map(|(f, fold)| fold.test.iter().map(move |&r| (f as u16, r)))
            .collect();
        write_pairs(ctx, "test_pairs.parquet", data, &test)?;
        if folds.len() == 1 {
            let train: Vec<(u16, usize)> = folds[0].train.iter().map(|&r| (0, r)).collect();
            write_pairs(ctx, "train_pairs.parquet", data, &train)?;
        }
    }
    Ok(())
}

/// `user_cold_start.parquet`: per user feature (`gender=F`, `segment=3`, `bias`),
/// its ridge weights onto the factors, the user bias last. A new user's
/// factors are the sum of the weight rows of the features they have.
pub fn write_cold_start(
    ctx: &StageContext,
    file: &str,
    names: &[String],
    w: &ndarray::Array2<f64>,
) -> Result<()> {
    let path = ctx.out(file);
    let f32s = w.mapv(|v| v as f32);
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "feature",
            Arc::new(StringArray::from_iter_values(names.iter())),
        ),
        ("weights", factor_column(&f32s)),
    ];
    write_parquet(&path, &batch(&path, cols)?)?;
    Ok(())
}
