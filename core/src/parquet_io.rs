//! Parquet in and out.
//!
//! Every artifact is written by [`write_parquet`] (or, in smaller row
//! groups, [`write_parquet_grouped`]): LZ4-compressed, one
//! writer configuration for all stages, written to a temporary sibling and
//! renamed, so the same table always gives the same bytes and a crash never
//! leaves half a file. [`ParquetTable`] reads one back with typed column access.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int64Type, SchemaRef, UInt16Type, UInt32Type, UInt64Type,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::error::{CoreError, Result};
use crate::fsutil::temp_sibling;

/// Rows per row group: large enough for good compression, small enough to stream.
pub const ROW_GROUP_SIZE: usize = 1 << 20;

/// Bytes of encoded values per data page, before compression, for columns
/// of long values (pages also end at arrow-rs's 20,000 rows, which is what
/// ends them for numbers). A page is gathered, encoded and compressed
/// through buffers of this size, which at 256 KiB stay in a core's L2
/// cache: with arrow-rs's default of 1 MiB, writing Online Retail's tables
/// (13 MB of rejected lines) took 5-7 ms longer (write phase 57.4 -> 52.6
/// and 62.2 -> 53.2 ms, medians of 13 interleaved runs; 64 and 128 KiB were
/// no faster).
pub const DATA_PAGE_BYTES: usize = 256 << 10;

/// What a table says of some of its columns, beyond their types, for how
/// the writer stores them. Columns not named are stored as their types
/// say: plain (dictionary-encoded if an Arrow dictionary), LZ4-compressed,
/// with min/max statistics (but for dictionary columns without nulls).
#[derive(Debug, Default, Clone, Copy)]
pub struct ColumnHints<'a> {
    /// String columns whose few distinct values recur all over the table:
    /// dictionary-encoded (see [`write_parquet_repeating`]).
    pub repeating: &'a [&'a str],
    /// Integer columns whose values climb in small steps (the line numbers
    /// of rejected rows): delta-encoded (Parquet's `DELTA_BINARY_PACKED`,
    /// which pandas / pyarrow, polars and DuckDB read). Online Retail's
    /// rejects.parquet went from 4.49 to 3.91 MB (its `line` column from
    /// 599 KB to a few KB), and the ingest from 1,628M to 1,609M
    /// instructions: LZ4 no longer compresses 1.2 MB of plain integers.
    pub ascending: &'a [&'a str],
    /// Columns no reader filters by (the raw text of rejected rows): no
    /// min/max statistics, which the writer finds by comparing every value
    /// with the bounds so far. Online Retail's ingest: 1,652M -> 1,628M
    /// instructions for its 13 MB of rejected lines.
    pub unfiltered: &'a [&'a str],
}

impl<'a> ColumnHints<'a> {
    /// Hints that name only `repeating` columns.
    pub fn repeating(repeating: &'a [&'a str]) -> Self {
        ColumnHints {
            repeating,
            ..ColumnHints::default()
        }
    }
}

/// The writer configuration: LZ4 (the `LZ4_RAW` codec, which pandas /
/// pyarrow, polars and DuckDB read; it decodes faster than Snappy, whose
/// decoder took 14% of the features stage at 1M ratings), one row group per
/// `ROW_GROUP_SIZE` rows in pages of `DATA_PAGE_BYTES`, chunk statistics
/// (but for dictionary columns without nulls, and the `unfiltered` ones),
/// and dictionary encoding where the table says the values repeat: its
/// Arrow dictionary columns (event types) and the `repeating` string
/// columns. The `ascending` columns are delta-encoded. Everything else goes
/// plain: ids, times, weights and free text rarely repeat enough to pay for
/// hashing every value into a dictionary the writer then drops (writing the
/// features stage's tables took 40% less time without it), and LZ4 still
/// packs the runs of sorted ids (delta-encoding the interactions' sorted
/// `user_idx` and `ts` made the file larger and the ingest slower).
fn writer_properties(schema: &arrow::datatypes::Schema, hints: &ColumnHints) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::LZ4_RAW)
        .set_max_row_group_row_count(Some(ROW_GROUP_SIZE))
        .set_data_page_size_limit(DATA_PAGE_BYTES)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_created_by(format!("recpipe {}", env!("CARGO_PKG_VERSION")));
    for field in schema.fields() {
        let path = || parquet::schema::types::ColumnPath::new(vec![field.name().clone()]);
        let named = |names: &[&str]| names.contains(&field.name().as_str());
        let dictionary = matches!(field.data_type(), DataType::Dictionary(..));
        if dictionary || named(hints.repeating) {
            builder = builder.set_column_dictionary_enabled(path(), true);
        } else if named(hints.ascending) {
            builder = builder.set_column_encoding(path(), Encoding::DELTA_BINARY_PACKED);
        }
        // A dictionary column's few values (event types, reject reasons)
        // recur in every row group, so min/max bounds prune nothing; the
        // writer found them by comparing every row's text: 8 ms of CPU in
        // Online Retail's ingest, whose write phase went from 54.9 to 51.4 ms
        // without them (median of 15 interleaved runs). A nullable one keeps
        // them: their null count tells a reader that a column (the `event`
        // of ratings) is all null (see [`ParquetTable::read_columns`]).
        if (dictionary && !field.is_nullable()) || named(hints.unfiltered) {
            builder = builder.set_column_statistics_enabled(path(), EnabledStatistics::None);
        }
    }
    builder.build()
}

/// Writes `batch` to `path` as Parquet, atomically, in row groups of
/// [`ROW_GROUP_SIZE`] rows. See [`write_parquet_grouped`].
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    write_parquet_grouped(path, batch, ROW_GROUP_SIZE, &ColumnHints::default())
}

/// Writes `batch` as [`write_parquet`] does, with the columns named in
/// `repeating` dictionary-encoded in the file: for columns whose few
/// distinct values recur all over the table (the item ids and titles of
/// per-user lists). The encoding is Parquet's own, under the column's
/// Arrow type, so readers still get plain strings. On the candidate lists
/// of 103,276 users x 50 (5.2M rows, 21,751 titles) the file went from 94
/// to 50 MB and the phase that writes it from 3.4 to 2.6 s.
pub fn write_parquet_repeating(path: &Path, batch: &RecordBatch, repeating: &[&str]) -> Result<()> {
    write_row_groups(
        path,
        &slices_of(batch),
        batch.num_rows(),
        ROW_GROUP_SIZE,
        &ColumnHints::repeating(repeating),
    )
}

/// Writes `batch` to `path` as Parquet, atomically, in row groups of
/// `group_rows` rows. The columns of the row groups within each
/// [`ROW_GROUP_SIZE`] rows are encoded side by side on the rayon pool
/// (arrow-rs's `ArrowWriter` encodes one column after another), then
/// appended in order, so the bytes do not depend on the thread count. Small
/// row groups let one long column (the raw lines of the rejects) be
/// compressed on every core. `hints` name the columns stored otherwise
/// than their types say ([`ColumnHints`]).
pub fn write_parquet_grouped(
    path: &Path,
    batch: &RecordBatch,
    group_rows: usize,
    hints: &ColumnHints,
) -> Result<()> {
    write_row_groups(path, &slices_of(batch), batch.num_rows(), group_rows, hints)
}

/// Writes a table of `rows` rows as [`write_parquet`] does (the same bytes
/// for the same rows), built a window of [`ROW_GROUP_SIZE`] rows at a
/// time: `window(range)` returns the batch of the rows in `range`, every
/// window with the same schema (and `0..0` an empty batch with it, for an
/// empty table). A large table is then never held whole as Arrow arrays,
/// and each window's arrays reuse the memory the last one freed (whole
/// arrays of 20M interactions were 420 MB, each faulted in fresh). Ingest
/// of 20M ratings, 3 interleaved runs: write phase 2.6-3.3 -> 1.4-1.8 s,
/// peak 2,180 -> 2,010 MiB, the same bytes.
///
/// The columns named in `repeating` are dictionary-encoded as
/// [`write_parquet_repeating`] says. Errors are the caller's, as `window`
/// returns them.
pub fn write_parquet_windows<E: From<CoreError>>(
    path: &Path,
    rows: usize,
    repeating: &[&str],
    window: impl Fn(Range<usize>) -> std::result::Result<RecordBatch, E>,
) -> std::result::Result<(), E> {
    write_row_groups(
        path,
        &window,
        rows,
        ROW_GROUP_SIZE,
        &ColumnHints::repeating(repeating),
    )
}

/// The windows of a batch built whole.
fn slices_of(batch: &RecordBatch) -> impl Fn(Range<usize>) -> Result<RecordBatch> + '_ {
    |rows| Ok(batch.slice(rows.start, rows.len()))
}

/// The table of `rows` rows that `window` builds, as
/// [`write_parquet_windows`] says, in row groups of `group_rows` rows, with
/// the columns stored as `hints` say.
fn write_row_groups<E: From<CoreError>>(
    path: &Path,
    window: &dyn Fn(Range<usize>) -> std::result::Result<RecordBatch, E>,
    rows: usize,
    group_rows: usize,
    hints: &ColumnHints,
) -> std::result::Result<(), E> {
    use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
    use parquet::file::writer::SerializedFileWriter;
    use rayon::prelude::*;
    let group_rows = group_rows.clamp(1, ROW_GROUP_SIZE);
    let tmp = temp_sibling(path);
    let parquet_err = |source| CoreError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| -> std::result::Result<(), E> {
        // The first window gives the schema.
        let first_window = window(0..rows.min(ROW_GROUP_SIZE))?;
        let schema = first_window.schema();
        let mut first = Some(first_window);
        let mut props = writer_properties(&schema, hints);
        parquet::arrow::add_encoded_arrow_schema_to_metadata(&stored_schema(&schema), &mut props);
        let parquet_schema = parquet::arrow::ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)
            .map_err(parquet_err)?;
        let file = File::create(&tmp).map_err(|e| CoreError::io(&tmp, e))?;
        let mut writer =
            SerializedFileWriter::new(file, parquet_schema.root_schema_ptr(), Arc::new(props))
                .map_err(parquet_err)?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&schema));
        // Each field's leaf columns (one, but for nested types).
        let field_leaves: Vec<usize> = parquet_schema
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| leaf_count(f))
            .collect();
        let mut group = 0;
        // Row groups in windows of up to ROW_GROUP_SIZE rows (none for an
        // empty table): every column of a window's groups is one task.
        for from in (0..rows).step_by(ROW_GROUP_SIZE) {
            let range = from..rows.min(from + ROW_GROUP_SIZE);
            let batch = match first.take() {
                Some(batch) => batch,
                None => window(range.clone())?,
            };
            if batch.schema() != schema || batch.num_rows() != range.len() {
                return Err(CoreError::schema(
                    path,
                    format!("rows {range:?} were built with another schema or row count"),
                )
                .into());
            }
            // A task per field of each group: it computes the field's leaves
            // (levels, and the index of every value: 8 bytes a row) and
            // encodes them, so that only the running tasks' indices are held,
            // not every column's at once. Online Retail's ingest: 24,200 ->
            // 22,700 page faults, write phase 61.7 -> 59.3 ms (median of 15
            // interleaved runs); 10M ratings, 0.60-1.55 -> 0.55-0.80 s.
            let (mut tasks, mut groups) = (Vec::new(), 0);
            for start in (0..range.len()).step_by(group_rows) {
                let part = batch.slice(start, group_rows.min(range.len() - start));
                let mut writers = factory
                    .create_column_writers(group)
                    .map_err(parquet_err)?
                    .into_iter();
                for ((field, column), &leaves) in schema
                    .fields()
                    .iter()
                    .zip(part.columns())
                    .zip(&field_leaves)
                {
                    tasks.push((
                        writers.by_ref().take(leaves).collect::<Vec<_>>(),
                        field,
                        column.clone(),
                    ));
                }
                groups += 1;
                group += 1;
            }
            let chunks = tasks
                .into_par_iter()
                .map(|(writers, field, column)| {
                    let leaves = compute_leaves(field, &column)?;
                    writers
                        .into_iter()
                        .zip(leaves)
                        .map(|(mut w, leaf)| {
                            w.write(&leaf)?;
                            w.close()
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(parquet_err)?;
            let mut chunks = chunks.into_iter().flatten();
            let count: usize = field_leaves.iter().sum();
            for _ in 0..groups {
                let mut row_group = writer.next_row_group().map_err(parquet_err)?;
                for chunk in chunks.by_ref().take(count) {
                    chunk
                        .append_to_row_group(&mut row_group)
                        .map_err(parquet_err)?;
                }
                row_group.close().map_err(parquet_err)?;
            }
        }
        let file = writer.into_inner().map_err(parquet_err)?;
        file.sync_all().map_err(|e| CoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| CoreError::io(path, e).into())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The leaf columns of a Parquet schema node.
fn leaf_count(node: &parquet::schema::types::Type) -> usize {
    if node.is_primitive() {
        1
    } else {
        node.get_fields().iter().map(|f| leaf_count(f)).sum()
    }
}

/// The Arrow schema a file records for its readers: string and binary view
/// columns (views into a buffer built elsewhere, such as a source file) hold
/// the same values as plain ones and are stored as plain ones, so that every
/// reader (including pyarrow before 16) reads them as `Utf8` / `Binary`.
fn stored_schema(schema: &arrow::datatypes::Schema) -> arrow::datatypes::Schema {
    let fields: Vec<arrow::datatypes::FieldRef> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8View => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8)),
            DataType::BinaryView => Arc::new(f.as_ref().clone().with_data_type(DataType::Binary)),
            _ => Arc::clone(f),
        })
        .collect();
    arrow::datatypes::Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Builds a record batch from named columns, naming `path` in any error.
pub fn batch(path: &Path, columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    RecordBatch::try_from_iter(
        columns
            .into_iter()
            .map(|(name, array)| (name.to_string(), array)),
    )
    .map_err(|source| CoreError::Arrow {
        path: path.to_path_buf(),
        source,
    })
}

/// A Parquet file read whole into one record batch, with typed column access.
#[derive(Debug, Clone)]
pub struct ParquetTable {
    path: PathBuf,
    batch: RecordBatch,
}

/// Opens a Parquet file and reads its footer: a reader builder, and the
/// file's row count.
pub fn open_footer(path: &Path) -> Result<(ParquetRecordBatchReaderBuilder<File>, usize)> {
    let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|source| CoreError::Parquet {
            path: path.to_path_buf(),
            source,
        })?;
    let rows = usize::try_from(builder.metadata().file_metadata().num_rows())
        .map_err(|_| CoreError::schema(path, "negative row count"))?;
    Ok((builder, rows))
}

impl ParquetTable {
    /// Reads the whole file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_part(path, None, None)
    }

    /// Reads only the named columns (in the file's order), and only the
    /// rows in `rows` when given: what a query needs from a large table.
    pub fn read_part(
        path: &Path,
        columns: Option<&[&str]>,
        rows: Option<std::ops::Range<usize>>,
    ) -> Result<Self> {
        let parquet_err = |source| CoreError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let (mut builder, total) = open_footer(path)?;
        if let Some(names) = columns {
            let schema = builder.parquet_schema();
            let roots: Vec<usize> = (0..schema.root_schema().get_fields().len())
                .filter(|&i| names.contains(&schema.root_schema().get_fields()[i].name()))
                .collect();
            let mask = parquet::arrow::ProjectionMask::roots(schema, roots);
            builder = builder.with_projection(mask);
        }
        // One batch for the whole selection: no concatenation copy after.
        let batch_size = rows.as_ref().map_or(total, |r| r.len()).max(1);
        if let Some(range) = rows {
            use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
            builder = builder.with_row_selection(RowSelection::from(vec![
                RowSelector::skip(range.start),
                RowSelector::select(range.len()),
            ]));
        }
        let reader = builder
            .with_batch_size(batch_size)
            .build()
            .map_err(parquet_err)?;
        // The reader's schema is the projected one.
        let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
        let batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|source| CoreError::Arrow {
                path: path.to_path_buf(),
                source,
            })?;
        let batch = concat_batches(&schema, &batches).map_err(|source| CoreError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ParquetTable {
            path: path.to_path_buf(),
            batch,
        })
    }

    /// Reads the named columns that exist in the file (in the file's
    /// order), each decoded by its own reader on the rayon pool: arrow-rs
    /// decodes a file's columns one after another, and the tables stages
    /// pass each other are a few long columns. Missing names are skipped;
    /// [`ParquetTable::has`] tells which were there.
    pub fn read_columns(path: &Path, names: &[&str]) -> Result<Self> {
        use rayon::prelude::*;
        let (builder, rows) = open_footer(path)?;
        let metadata = Arc::clone(builder.metadata());
        // Columns whose statistics say every value is null (`event` of a
        // ratings table) are made, not decoded: arrow-rs spent 0.1 s on a
        // million null dictionary entries.
        let all_null = |root: usize| {
            metadata.num_row_groups() > 0
                && metadata.row_groups().iter().all(|g| {
                    let chunk = g.column(root);
                    chunk
                        .statistics()
                        .and_then(|s| s.null_count_opt())
                        .is_some_and(|n| n == chunk.num_values() as u64)
                })
        };
        // Top-level Arrow fields are the Parquet schema's root columns, in order.
        let schema = builder.schema();
        let present: Vec<(usize, &arrow::datatypes::FieldRef)> = schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| names.contains(&f.name().as_str()))
            .collect();
        let columns = present
            .par_iter()
            .map(|&(root, field)| -> Result<(String, ArrayRef)> {
                let column = if all_null(root) {
                    arrow::array::new_null_array(field.data_type(), rows)
                } else {
                    Self::read_part(path, Some(&[field.name().as_str()]), None)?
                        .batch
                        .column(0)
                        .clone()
                };
                Ok((field.name().clone(), column))
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = if columns.is_empty() {
            RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty()))
        } else {
            RecordBatch::try_from_iter(columns).map_err(|source| CoreError::Arrow {
                path: path.to_path_buf(),
                source,
            })?
        };
        Ok(ParquetTable {
            path: path.to_path_buf(),
            batch,
        })
    }

    /// A file's Arrow schema and row count, from its footer alone: nothing
    /// is decoded.
    pub fn schema_and_rows(path: &Path) -> Result<(SchemaRef, usize)> {
        let (builder, rows) = open_footer(path)?;
        Ok((Arc::clone(builder.schema()), rows))
    }

    /// The file this table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole table.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// The table's schema.
    pub fn schema(&self) -> SchemaRef {
        self.batch.schema()
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether the named column holds at least one value (not all nulls).
    pub fn any_value(&self, name: &str) -> Result<bool> {
        let column = self.column(name)?;
        Ok(column.null_count() < column.len())
    }

    /// Whether a column exists.
    pub fn has(&self, name: &str) -> bool {
        self.batch.column_by_name(name).is_some()
    }

    /// A column by name, or a schema error that lists the columns present.
    pub fn column(&self, name: &str) -> Result<&ArrayRef> {
        self.batch.column_by_name(name).ok_or_else(|| {
            let names: Vec<_> = self
                .batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            CoreError::schema(
                &self.path,
                format!("no column `{name}` (columns: {})", names.join(", ")),
            )
        })
    }

    /// A non-null primitive column's buffer, shared with the table (no copy).
    pub fn values<T: arrow::datatypes::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<arrow::buffer::ScalarBuffer<T::Native>> {
        let col = self.column(name)?;
        if col.data_type() != &T::DATA_TYPE {
            return Err(CoreError::schema(
                &self.path,
                format!(
                    "column `{name}` is {}, expected {}",
                    col.data_type(),
                    T::DATA_TYPE
                ),
            ));
        }
        let arr = col.as_primitive::<T>();
        if arr.null_count() > 0 {
            return Err(CoreError::schema(
                &self.path,
                format!("column `{name}` has nulls"),
            ));
        }
        Ok(arr.values().clone())
    }

    fn typed<T: arrow::datatypes::ArrowPrimitiveType>(&self, name: &str) -> Result<Vec<T::Native>> {
        Ok(self.values::<T>(name)?.to_vec())
    }

    /// A non-null u32 column.
    pub fn u32s(&self, name: &str) -> Result<Vec<u32>> {
        self.typed::<UInt32Type>(name)
    }

    /// A non-null u16 column.
    pub fn u16s(&self, name: &str) -> Result<Vec<u16>> {
        self.typed::<UInt16Type>(name)
    }

    /// A non-null u64 column.
    pub fn u64s(&self, name: &str) -> Result<Vec<u64>> {
        self.typed::<UInt64Type>(name)
    }

    /// A non-null i64 column.
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        self.typed::<Int64Type>(name)
    }

    /// A non-null f32 column.
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>> {
        self.typed::<Float32Type>(name)
    }

    /// A non-null f64 column.
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        self.typed::<Float64Type>(name)
    }

    /// A string column (plain or dictionary-encoded) as a plain `Utf8`
    /// array, to read its values in place (`as_string::<i32>()`).
    pub fn utf8(&self, name: &str) -> Result<ArrayRef> {
        arrow::compute::cast(self.column(name)?, &DataType::Utf8).map_err(|source| {
            CoreError::Arrow {
                path: self.path.clone(),
                source,
            }
        })
    }

    /// A string column (plain or dictionary-encoded); nulls become `None`.
    pub fn strings(&self, name: &str) -> Result<Vec<Option<String>>> {
        let casted = self.utf8(name)?;
        let arr = casted.as_string::<i32>();
        Ok((0..arr.len())
            .map(|i| (!arr.is_null(i)).then(|| arr.value(i).to_string()))
            .collect())
    }

    /// Rows whose string column `name` equals `value`, without
    /// materialising the column as owned strings.
    pub fn rows_equal(&self, name: &str, value: &str) -> Result<Vec<usize>> {
        let casted = self.utf8(name)?;
        let arr = casted.as_string::<i32>();
        Ok((0..arr.len())
            .filter(|&i| !arr.is_null(i) && arr.value(i) == value)
            .collect())
    }

    /// A list-of-strings column; a null list becomes empty.
    pub fn string_lists(&self, name: &str) -> Result<Vec<Vec<String>>> {
        let col = self.column(name)?;
        let list = col.as_list_opt::<i32>().ok_or_else(|| {
            CoreError::schema(&self.path, format!("column `{name}` is not a list"))
        })?;
        let mut out = Vec::with_capacity(list.len());
        for i in 0..list.len() {
            if list.is_null(i) {
                out.push(Vec::new());
                continue;
            }
            let values =
                arrow::compute::cast(&list.value(i), &DataType::Utf8).map_err(|source| {
                    CoreError::Arrow {
                        path: self.path.clone(),
                        source,
                    }
                })?;
            let s = values.as_string::<i32>();
            out.push(
                (0..s.len())
                    .filter(|&j| !s.is_null(j))
                    .map(|j| s.value(j).to_string())
                    .collect(),
            );
        }
        Ok(out)
    }

    /// A fixed-size-list-of-f32 column flattened row-major, with its width.
    pub fn f32_matrix(&self, name: &str) -> Result<(Vec<f32>, usize)> {
        let col = self.column(name)?;
        let list = col.as_fixed_size_list_opt().ok_or_else(|| {
            CoreError::schema(
                &self.path,
                format!("column `{name}` is not a fixed-size list"),
            )
        })?;
        let width = list.value_length() as usize;
        let values: &arrow::array::Float32Array =
            list.values().as_primitive_opt().ok_or_else(|| {
                CoreError::schema(&self.path, format!("column `{name}` does not hold f32"))
            })?;
        let start = list.offset() * width;
        Ok((
            values.values()[start..start + list.len() * width].to_vec(),
            width,
        ))
    }
}

/// Wraps a primitive vector as an Arrow array.
pub fn array<T>(values: Vec<T::Native>) -> ArrayRef
where
    T: arrow::datatypes::ArrowPrimitiveType,
{
    Arc::new(arrow::array::PrimitiveArray::<T>::from_iter_values(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, StringArray, UInt32Array, UInt64Array};

    #[test]
    fn reads_chosen_columns_and_a_row_range() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        let n = 200_000u32;
        let b = batch(
            &path,
            vec![
                (
                    "key",
                    Arc::new(StringArray::from_iter_values(
                        (0..n).map(|i| format!("u{}", i / 50)),
                    )),
                ),
                ("value", Arc::new(UInt32Array::from_iter_values(0..n))),
            ],
        )
        .expect("batch");
        write_parquet(&path, &b).expect("write");
        let keys = ParquetTable::read_part(&path, Some(&["key"]), None).expect("keys");
        assert!(keys.has("key") && !keys.has("value"));
        let rows = keys.rows_equal("key", "u3001").expect("rows");
        assert_eq!(rows, (150_050..150_100).collect::<Vec<_>>());
        let part = ParquetTable::read_part(&path, None, Some(150_050..150_100)).expect("part");
        assert_eq!(part.num_rows(), 50);
        assert_eq!(
            part.u32s("value").expect("values"),
            (150_050..150_100).collect::<Vec<u32>>()
        );
    }

    #[test]
    fn data_pages_of_long_values_hold_at_most_a_page_of_bytes() {
        use parquet::column::page::Page;
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        // 40,000 texts of 100 bytes: 4 MB of plain values, which the
        // writer's 20,000-row page limit alone would cut in two pages.
        let n = 40_000usize;
        let text = |i: usize| format!("{i:0>100}");
        let b = batch(
            &path,
            vec![(
                "text",
                Arc::new(StringArray::from_iter_values((0..n).map(text))) as ArrayRef,
            )],
        )
        .expect("batch");
        write_parquet(&path, &b).expect("write");
        let reader = SerializedFileReader::new(File::open(&path).expect("open")).expect("reader");
        let group = reader.get_row_group(0).expect("row group");
        let mut pages = group.get_column_page_reader(0).expect("pages");
        let (mut count, mut values) = (0, 0);
        while let Some(page) = pages.get_next_page().expect("page") {
            if let Page::DataPage { num_values, .. } = &page {
                // Decompressed bytes (a value's length and text each): the
                // writer ends a page once a batch of 1,024 values fills it.
                let bytes = page.buffer().len();
                assert!(bytes <= DATA_PAGE_BYTES + 1024 * 104, "{bytes}");
                count += 1;
                values += *num_values as usize;
            }
        }
        assert_eq!(values, n);
        assert!(
            count >= n * 104 / (DATA_PAGE_BYTES + 1024 * 104),
            "{count} pages"
        );
        let t = ParquetTable::read(&path).expect("read");
        let back = t.strings("text").expect("texts");
        assert!(
            back.iter()
                .enumerate()
                .all(|(i, s)| s.as_deref() == Some(&*text(i)))
        );
    }

    #[test]
    fn reads_named_columns_in_parallel_across_row_groups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.parquet");
        // More rows than one row group holds, so columns come in parts.
        let n = ROW_GROUP_SIZE as u32 + 1000;
        let kinds: arrow::array::DictionaryArray<arrow::datatypes::UInt8Type> = (0..n)
            .map(|i| if i.is_multiple_of(3) { "x" } else { "y" })
            .collect();
        let b = batch(
            &path,
            vec![
                (
                    "a",
                    Arc::new(UInt32Array::from_iter_values(0..n)) as ArrayRef,
                ),
                ("kind", Arc::new(kinds)),
                ("b", Arc::new(UInt32Array::from_iter_values((0..n).rev()))),
            ],
        )
        .expect("batch");
        write_parquet(&path, &b).expect("write");
        let t = ParquetTable::read_columns(&path, &["b", "kind", "nope"]).expect("read");
        assert!(t.has("b") && t.has("kind") && !t.has("a") && !t.has("nope"));
        assert_eq!(t.num_rows(), n as usize);
        assert_eq!(t.u32s("b").expect("b"), (0..n).rev().collect::<Vec<_>>());
        let kinds = t.strings("kind").expect("kind");
        let expected = |i: u32| Some(if i.is_multiple_of(3) { "x" } else { "y" });
        assert!((0..n).all(|i| kinds[i as usize].as_deref() == expected(i)));
        let kind = t.column("kind").expect("kind");
        assert!(matches!(kind.data_type(), DataType::Dictionary(..)));
    }

    #[test]
    fn small_row_groups_keep_order_and_bytes_whatever_the_thread_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = 10_000u32;
        let table = |path: &Path| {
            batch(
                path,
                vec![
                    (
                        "id",
                        Arc::new(UInt32Array::from_iter_values(0..n)) as ArrayRef,
                    ),
                    (
                        "raw",
                        Arc::new(StringArray::from_iter_values(
                            (0..n).map(|i| format!("line {i},{}", i % 7)),
                        )),
                    ),
                ],
            )
            .expect("batch")
        };
        let write_with = |threads: usize, name: &str| {
            let path = dir.path().join(name);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| {
                write_parquet_grouped(&path, &table(&path), 3_000, &ColumnHints::default())
            })
            .expect("write");
            path
        };
        let (one, two) = (write_with(1, "one.parquet"), write_with(2, "two.parquet"));
        assert_eq!(
            std::fs::read(&one).expect("one"),
            std::fs::read(&two).expect("two")
        );
        let reader =
            parquet::file::reader::SerializedFileReader::new(File::open(&one).expect("open"))
                .expect("reader");
        let groups: Vec<i64> = parquet::file::reader::FileReader::metadata(&reader)
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, vec![3_000, 3_000, 3_000, 1_000]);
        let t = ParquetTable::read(&one).expect("read");
        let (schema, rows) = ParquetTable::schema_and_rows(&one).expect("footer");
        assert_eq!((schema, rows), (t.schema(), t.num_rows()));
        assert_eq!(t.u32s("id").expect("ids"), (0..n).collect::<Vec<_>>());
        let raw = t.strings("raw").expect("raw");
        assert_eq!(raw[9_999].as_deref(), Some("line 9999,3"));
    }

    #[test]
    fn nested_columns_beside_flat_ones_round_trip_in_small_groups() {
        // A list (one leaf) and a struct holding a list (two leaves) between
        // flat columns: each field's leaf columns go to its own writers.
        use arrow::array::{Int32Array, ListBuilder, StringBuilder, StructArray};
        use arrow::datatypes::Field;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested.parquet");
        let n = 2_500;
        let mut tags = ListBuilder::new(StringBuilder::new());
        let mut scores = ListBuilder::new(arrow::array::Int32Builder::new());
        for i in 0..n {
            for t in 0..i % 3 {
                tags.values().append_value(format!("t{t}"));
            }
            tags.append(true);
            scores.values().append_value(i);
            scores.append(i % 5 != 0);
        }
        let scores = Arc::new(scores.finish()) as ArrayRef;
        let pair = StructArray::from(vec![
            (
                Arc::new(Field::new("rank", DataType::Int32, false)),
                Arc::new(Int32Array::from_iter_values(0..n)) as ArrayRef,
            ),
            (
                Arc::new(Field::new("scores", scores.data_type().clone(), true)),
                scores,
            ),
        ]);
        let table = batch(
            &path,
            vec![
                (
                    "id",
                    Arc::new(UInt32Array::from_iter_values(0..n as u32)) as ArrayRef,
                ),
                ("tags", Arc::new(tags.finish())),
                ("pair", Arc::new(pair)),
                (
                    "x",
                    Arc::new(Float64Array::from_iter_values((0..n).map(f64::from))),
                ),
            ],
        )
        .expect("batch");
        write_parquet_grouped(&path, &table, 1_000, &ColumnHints::default()).expect("write");
        let back = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
            .expect("reader")
            .build()
            .expect("build")
            .collect::<std::result::Result<Vec<_>, _>>()
            .expect("read");
        let back = concat_batches(&back[0].schema(), &back).expect("concat");
        assert_eq!(back, table);
    }

    #[test]
    fn a_table_built_window_by_window_is_the_file_of_the_whole_table() {
        use std::sync::Mutex;
        let dir = tempfile::tempdir().expect("tempdir");
        // Two and a half windows of rows, and none.
        for n in [ROW_GROUP_SIZE * 5 / 2, 0] {
            let columns = |rows: Range<usize>| -> Vec<(&str, ArrayRef)> {
                vec![
                    (
                        "id",
                        Arc::new(UInt32Array::from_iter_values(
                            rows.clone().map(|i| (i as u32).wrapping_mul(2_654_435_761)),
                        )),
                    ),
                    (
                        "value",
                        Arc::new(Float64Array::from_iter_values(rows.map(|i| i as f64 / 7.0))),
                    ),
                ]
            };
            let (whole, windows) = (dir.path().join("whole"), dir.path().join("windows"));
            write_parquet(&whole, &batch(&whole, columns(0..n)).expect("batch")).expect("whole");
            let asked = Mutex::new(Vec::new());
            write_parquet_windows(&windows, n, &[], |rows| {
                asked.lock().expect("lock").push(rows.clone());
                batch(&windows, columns(rows))
            })
            .expect("windows");
            assert_eq!(
                std::fs::read(&whole).expect("whole"),
                std::fs::read(&windows).expect("windows"),
                "{n} rows"
            );
            // Each window built once, in order.
            let want: Vec<Range<usize>> = if n == 0 {
                std::iter::once(0..0).collect()
            } else {
                (0..n)
                    .step_by(ROW_GROUP_SIZE)
                    .map(|from| from..n.min(from + ROW_GROUP_SIZE))
                    .collect()
            };
            assert_eq!(asked.into_inner().expect("lock"), want);
        }
        // A window of another length is an error, and leaves no file.
        let path = dir.path().join("short.parquet");
        let err = write_parquet_windows(&path, ROW_GROUP_SIZE + 10, &[], |rows| {
            batch(&path, columns_of_len(rows.len().min(5)))
        })
        .expect_err("short window");
        assert!(err.to_string().contains("row count"), "{err}");
        assert!(!path.exists() && !temp_sibling(&path).exists());
    }

    /// A one-column table of `n` rows.
    fn columns_of_len(n: usize) -> Vec<(&'static str, ArrayRef)> {
        vec![("id", Arc::new(UInt32Array::from_iter_values(0..n as u32)))]
    }

    #[test]
    fn an_empty_table_round_trips_with_its_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty.parquet");
        let empty: Vec<u32> = Vec::new();
        let b = batch(
            &path,
            vec![("id", Arc::new(UInt32Array::from(empty)) as ArrayRef)],
        )
        .expect("batch");
        write_parquet(&path, &b).expect("write");
        let t = ParquetTable::read(&path).expect("read");
        assert_eq!(t.num_rows(), 0);
        assert!(t.u32s("id").expect("ids").is_empty());
        let (schema, rows) = ParquetTable::schema_and_rows(&path).expect("footer");
        assert_eq!((schema, rows), (t.schema(), 0));
        let t = ParquetTable::read_columns(&path, &["id"]).expect("read columns");
        assert_eq!(t.num_rows(), 0);
        assert!(t.has("id"));
    }

    #[test]
    fn a_string_view_column_is_stored_as_the_string_column_it_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (plain, view) = (dir.path().join("p.parquet"), dir.path().join("v.parquet"));
        let values = [
            Some("short"),
            None,
            Some("a value longer than twelve bytes"),
            Some(""),
        ];
        let write = |path: &Path, column: ArrayRef| {
            let b = batch(path, vec![("raw", column)]).expect("batch");
            write_parquet(path, &b).expect("write");
        };
        write(&plain, Arc::new(StringArray::from(values.to_vec())));
        write(
            &view,
            Arc::new(arrow::array::StringViewArray::from(values.to_vec())),
        );
        assert_eq!(
            std::fs::read(&plain).expect("plain"),
            std::fs::read(&view).expect("view"),
            "same bytes, schema metadata included"
        );
        let t = ParquetTable::read(&view).expect("read");
        assert_eq!(t.column("raw").expect("raw").data_type(), &DataType::Utf8);
        let expected: Vec<Option<String>> = values.iter().map(|v| v.map(String::from)).collect();
        assert_eq!(t.strings("raw").expect("strings"), expected);
    }

    #[test]
    fn round_trip_is_byte_identical_and_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.parquet");
        let b = dir.path().join("b.parquet");
        let make = || {
            batch(
                &a,
                vec![
                    ("id", Arc::new(UInt32Array::from(vec![3, 1, 2])) as ArrayRef),
                    (
                        "name",
                        Arc::new(StringArray::from(vec![Some("x"), None, Some("é")])),
                    ),
                    (
                        "kind",
                        Arc::new(
                            vec![Some("a"), Some("b"), Some("a")]
                                .into_iter()
                                .collect::<arrow::array::DictionaryArray<UInt16Type>>(),
                        ),
                    ),
                ],
            )
            .expect("batch")
        };
        write_parquet(&a, &make()).expect("write a");
        write_parquet(&b, &make()).expect("write b");
        assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
        // LZ4_RAW throughout; a dictionary for the dictionary column only.
        let reader =
            parquet::file::reader::SerializedFileReader::new(File::open(&a).expect("open"))
                .expect("reader");
        let group = parquet::file::reader::FileReader::metadata(&reader).row_group(0);
        for c in group.columns() {
            assert_eq!(c.compression(), Compression::LZ4_RAW);
        }
        let dictionary = |i: usize| group.column(i).dictionary_page_offset().is_some();
        assert!(
            !dictionary(0) && !dictionary(1) && dictionary(2),
            "dictionary for `kind` only"
        );
        let t = ParquetTable::read(&a).expect("read");
        assert_eq!(t.u32s("id").expect("ids"), vec![3, 1, 2]);
        assert_eq!(
            t.strings("name").expect("names"),
            vec![Some("x".into()), None, Some("é".into())]
        );
        let err = t.u32s("nope").expect_err("missing column");
        assert!(err.to_string().contains("columns: id, name"), "{err}");
        assert!(t.i64s("id").is_err(), "type mismatch is an error");
    }

    #[test]
    fn hinted_columns_are_delta_encoded_or_without_statistics_and_read_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rejects.parquet");
        let lines: Vec<u64> = (0..20_000u64).map(|i| 2 + 3 * i + i % 5).collect();
        let raw: Vec<String> = (0..20_000)
            .map(|i| format!("{i},row text {}", i % 13))
            .collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("line", Arc::new(UInt64Array::from(lines.clone()))),
            ("raw", Arc::new(StringArray::from_iter_values(&raw))),
            ("other", Arc::new(UInt64Array::from(lines.clone()))),
        ];
        let table = batch(&path, cols).expect("batch");
        let hints = ColumnHints {
            ascending: &["line"],
            unfiltered: &["raw"],
            ..ColumnHints::default()
        };
        write_parquet_grouped(&path, &table, 7_000, &hints).expect("write");
        let reader =
            parquet::file::reader::SerializedFileReader::new(File::open(&path).expect("open"))
                .expect("reader");
        let meta = parquet::file::reader::FileReader::metadata(&reader);
        assert_eq!(meta.num_row_groups(), 3);
        for group in meta.row_groups() {
            let delta = |i: usize| {
                group
                    .column(i)
                    .encodings()
                    .any(|e| e == Encoding::DELTA_BINARY_PACKED)
            };
            assert!(
                delta(0) && !delta(1) && !delta(2),
                "only `line` is delta-encoded"
            );
            let stats = |i: usize| group.column(i).statistics().is_some();
            assert!(
                stats(0) && !stats(1) && stats(2),
                "no statistics for `raw` alone"
            );
        }
        let t = ParquetTable::read(&path).expect("read");
        assert_eq!(t.u64s("line").expect("line"), lines);
        assert_eq!(t.u64s("other").expect("other"), lines);
        let back: Vec<Option<String>> = raw.into_iter().map(Some).collect();
        assert_eq!(t.strings("raw").expect("raw"), back);
    }

    #[test]
    fn repeating_columns_are_dictionary_encoded_and_read_back_as_plain_strings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lists.parquet");
        let titles: Vec<String> = (0..5000).map(|i| format!("Title {}", i % 7)).collect();
        let ids: Vec<String> = (0..5000).map(|i| format!("u{i}")).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("owner", Arc::new(StringArray::from_iter_values(&ids))),
            ("title", Arc::new(StringArray::from_iter_values(&titles))),
        ];
        let batch = batch(&path, cols).expect("batch");
        write_parquet_repeating(&path, &batch, &["title"]).expect("write");
        let reader =
            parquet::file::reader::SerializedFileReader::new(File::open(&path).expect("open"))
                .expect("reader");
        let group = parquet::file::reader::FileReader::metadata(&reader).row_group(0);
        let dictionary = |i: usize| group.column(i).dictionary_page_offset().is_some();
        assert!(
            !dictionary(0) && dictionary(1),
            "a dictionary for `title` only"
        );
        let t = ParquetTable::read(&path).expect("read");
        assert_eq!(
            t.column("title").expect("title").data_type(),
            &DataType::Utf8
        );
        let back: Vec<Option<String>> = titles.into_iter().map(Some).collect();
        assert_eq!(t.strings("title").expect("titles"), back);
        // Smaller than the same table written plain.
        let plain = dir.path().join("plain.parquet");
        write_parquet(&plain, &batch).expect("plain");
        let size = |p: &Path| std::fs::metadata(p).expect("size").len();
        assert!(
            size(&path) < size(&plain),
            "{} vs {}",
            size(&path),
            size(&plain)
        );
    }

    #[test]
    fn dictionary_columns_without_nulls_carry_no_bounds_and_null_ones_their_count() {
        use arrow::array::DictionaryArray;
        use arrow::datatypes::UInt8Type;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dict.parquet");
        let n = 1000;
        let reason: DictionaryArray<UInt8Type> = (0..n).map(|i| ["a", "b", "c"][i % 3]).collect();
        let event: DictionaryArray<UInt8Type> = (0..n).map(|_| None::<&str>).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(UInt32Array::from_iter_values(0..n as u32))),
            ("reason", Arc::new(reason)),
            ("event", Arc::new(event)),
        ];
        let table = batch(&path, cols).expect("batch");
        assert!(!table.schema().field(1).is_nullable() && table.schema().field(2).is_nullable());
        write_parquet(&path, &table).expect("write");
        let reader =
            parquet::file::reader::SerializedFileReader::new(File::open(&path).expect("open"))
                .expect("reader");
        let group = parquet::file::reader::FileReader::metadata(&reader).row_group(0);
        let stats = |i: usize| group.column(i).statistics();
        assert!(
            stats(0).is_some_and(|s| s.min_bytes_opt().is_some()),
            "ids keep bounds"
        );
        assert!(stats(1).is_none(), "no bounds for `reason`");
        assert_eq!(stats(2).and_then(|s| s.null_count_opt()), Some(n as u64));
        let t = ParquetTable::read_columns(&path, &["reason", "event"]).expect("read");
        assert_eq!(t.column("event").expect("event").null_count(), n);
        let back = t.column("reason").expect("reason");
        assert_eq!(back.as_ref(), table.column(1).as_ref());
    }
}
