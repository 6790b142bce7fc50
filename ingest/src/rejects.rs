//! Reading a rejects.parquet back, batch by batch: the count of each
//! reason with its first row, and the first rows (of one reason, or all),
//! in memory that does not grow with the file.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, UInt64Type};
use serde::Serialize;

use crate::error::{IngestError, Result, parquet_error};

/// Rows decoded at a time.
const BATCH_ROWS: usize = 1 << 16;

/// One rejected row as rejects.parquet holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedRow {
    /// The file it came from.
    pub file: String,
    /// Its 1-based line.
    pub line: u64,
    /// The reason code.
    pub reason: String,
    /// What exactly was wrong.
    pub detail: String,
    /// The row as written.
    pub raw: String,
}

/// A reason, how many rows it rejected, and the first of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// Rows rejected for it.
    pub rows: u64,
    /// The first of them.
    pub first: RejectedRow,
}

/// What [`read_rejects`] gives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectsSummary {
    /// Rows in the file.
    pub rejected: u64,
    /// Each reason, most rows first (then by code).
    pub by_reason: Vec<ReasonCount>,
    /// The first rows (of the reason asked for, if any).
    pub rows: Vec<RejectedRow>,
}

/// Reads the rejects file at `path`: the count and first row of each
/// reason, and the first `n` rows whose reason is `only` (all when None).
pub fn read_rejects(path: &Path, only: Option<&str>, n: usize) -> Result<RejectsSummary> {
    let parquet_err = |source| parquet_error(path, source);
    let (builder, _) = recpipe_core::parquet_io::open_footer(path)?;
    let reader = builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(parquet_err)?;
    let mut counts: BTreeMap<String, (u64, RejectedRow)> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut rejected = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| parquet_err(e.into()))?;
        let schema_err = |e| IngestError::Core(recpipe_core::CoreError::schema(path, e));
        let columns = Columns::of(&batch).map_err(schema_err)?;
        rejected += batch.num_rows() as u64;
        for i in 0..batch.num_rows() {
            let reason = columns.reason.value(i);
            match counts.get_mut(reason) {
                Some(entry) => entry.0 += 1,
                None => {
                    let first = columns.row(i).map_err(schema_err)?;
                    counts.insert(reason.to_string(), (1, first));
                }
            }
            if rows.len() < n && only.is_none_or(|r| r == reason) {
                rows.push(columns.row(i).map_err(schema_err)?);
            }
        }
    }
    let mut by_reason: Vec<ReasonCount> = counts
        .into_iter()
        .map(|(reason, (rows, first))| ReasonCount {
            reason,
            rows,
            first,
        })
        .collect();
    by_reason.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.reason.cmp(&b.reason)));
    Ok(RejectsSummary {
        rejected,
        by_reason,
        rows,
    })
}

/// A batch's reasons and lines, and its other columns as text once a row
/// of the batch is kept: most batches of a large file only add to counts,
/// and decoding their raw lines would be the bulk of the work.
struct Columns<'b> {
    batch: &'b RecordBatch,
    line: arrow::array::PrimitiveArray<UInt64Type>,
    reason: arrow::array::StringArray,
    /// `file`, `detail` and `raw`, once a row is asked for.
    rest: OnceCell<[arrow::array::StringArray; 3]>,
}

/// A string column of a rejects batch as plain text.
fn text_column(
    batch: &RecordBatch,
    name: &str,
) -> std::result::Result<arrow::array::StringArray, String> {
    let column = batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column `{name}`: not a rejects file"))?;
    let cast = arrow::compute::cast(column, &DataType::Utf8)
        .map_err(|e| format!("column `{name}`: {e}"))?;
    Ok(cast.as_string::<i32>().clone())
}

impl<'b> Columns<'b> {
    fn of(batch: &'b RecordBatch) -> std::result::Result<Columns<'b>, String> {
        let line = batch
            .column_by_name("line")
            .and_then(|c| c.as_primitive_opt::<UInt64Type>())
            .ok_or("no u64 column `line`: not a rejects file")?
            .clone();
        Ok(Columns {
            batch,
            line,
            reason: text_column(batch, "reason")?,
            rest: OnceCell::new(),
        })
    }

    fn row(&self, i: usize) -> std::result::Result<RejectedRow, String> {
        let [file, detail, raw] = match self.rest.get() {
            Some(rest) => rest,
            None => {
                let rest = [
                    text_column(self.batch, "file")?,
                    text_column(self.batch, "detail")?,
                    text_column(self.batch, "raw")?,
                ];
                self.rest.get_or_init(|| rest)
            }
        };
        let text = |a: &arrow::array::StringArray| {
            if a.is_valid(i) {
                a.value(i).to_string()
            } else {
                String::new()
            }
        };
        Ok(RejectedRow {
            file: text(file),
            line: self.line.value(i),
            reason: text(&self.reason),
            detail: text(detail),
            raw: text(raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_firsts_and_rows_of_one_reason_across_batches() {
        use std::sync::Arc;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rejects.parquet");
        // More rows than a batch: every third row is `b`.
        let n = BATCH_ROWS + 10;
        let reason = |i: usize| if i % 3 == 2 { "b" } else { "a" };
        let text = |f: &dyn Fn(usize) -> String| -> arrow::array::ArrayRef {
            Arc::new(arrow::array::StringArray::from_iter_values((0..n).map(f)))
        };
        let columns = vec![
            ("file", text(&|_| "log.csv".to_string())),
            (
                "line",
                Arc::new(arrow::array::UInt64Array::from_iter_values(
                    (0..n as u64).map(|i| i + 2),
                )) as arrow::array::ArrayRef,
            ),
            ("raw", text(&|i| format!("row {i}"))),
            ("reason", text(&|i| reason(i).to_string())),
            ("detail", text(&|i| format!("detail {i}"))),
        ];
        let batch = recpipe_core::parquet_io::batch(&path, columns).expect("batch");
        recpipe_core::write_parquet(&path, &batch).expect("write");

        let all = read_rejects(&path, None, 2).expect("read");
        assert_eq!(all.rejected, n as u64);
        let counts: Vec<(&str, u64, u64)> = all
            .by_reason
            .iter()
            .map(|r| (r.reason.as_str(), r.rows, r.first.line))
            .collect();
        let b = (n / 3) as u64;
        assert_eq!(counts, [("a", n as u64 - b, 2), ("b", b, 4)]);
        assert_eq!(all.rows.len(), 2);
        assert_eq!(all.rows[1].raw, "row 1");

        let only_b = read_rejects(&path, Some("b"), usize::MAX).expect("read");
        assert_eq!(only_b.rows.len() as u64, b);
        assert!(only_b.rows.iter().all(|r| r.reason == "b"));
        assert_eq!(only_b.rows.last().map(|r| r.line), Some(3 * b + 1));
    }
}
