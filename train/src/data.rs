//! The interactions a model trains on, and compressed sparse rows over them.

use std::path::Path;

use recpipe_core::ParquetTable;
use recpipe_core::schema::{
    EVENT, INTERACTIONS_FILE, ITEM_ID, ITEM_IDX, ITEMS_FILE, TS, USER_ID, USER_IDX, USERS_FILE,
    VALUE,
};

use crate::Result;

/// Interactions with their ids.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Users.
    pub n_users: usize,
    /// Items.
    pub n_items: usize,
    /// Original user ids.
    pub user_ids: Vec<String>,
    /// Original item ids.
    pub item_ids: Vec<String>,
    /// user_idx per row.
    pub users: Vec<u32>,
    /// item_idx per row.
    pub items: Vec<u32>,
    /// value per row.
    pub values: Vec<f32>,
    /// ts per row.
    pub ts: Vec<i64>,
    /// Whether the rows are events (implicit) rather than ratings.
    pub is_events: bool,
}

impl Data {
    /// Reads an ingest stage's outputs.
    pub fn read(dir: &Path) -> Result<Self> {
        // Only the columns used, decoded side by side (a ratings table's
        // all-null `event` is not decoded at all).
        let t = ParquetTable::read_columns(
            &dir.join(INTERACTIONS_FILE),
            &[USER_IDX, ITEM_IDX, VALUE, TS, EVENT],
        )?;
        let is_events = t.any_value(EVENT)?;
        let users = ParquetTable::read(&dir.join(USERS_FILE))?;
        let items = ParquetTable::read(&dir.join(ITEMS_FILE))?;
        let ids = |t: &ParquetTable, c: &str| -> Result<Vec<String>> {
            Ok(t.strings(c)?
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect())
        };
        let user_ids = ids(&users, USER_ID)?;
        let item_ids = ids(&items, ITEM_ID)?;
        Ok(Data {
            n_users: user_ids.len(),
            n_items: item_ids.len(),
            user_ids,
            item_ids,
            users: t.u32s(USER_IDX)?,
            items: t.u32s(ITEM_IDX)?,
            values: t.f32s(VALUE)?,
            ts: t.i64s(TS)?,
            is_events,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Keeps only rows with value >= `min` (e.g. ratings >= 4 as implicit feedback).
    pub fn keep_min_value(&mut self, min: f32) {
        let keep: Vec<usize> = (0..self.len()).filter(|&r| self.values[r] >= min).collect();
        self.users = keep.iter().map(|&r| self.users[r]).collect();
        self.items = keep.iter().map(|&r| self.items[r]).collect();
        self.values = keep.iter().map(|&r| self.values[r]).collect();
        self.ts = keep.iter().map(|&r| self.ts[r]).collect();
    }
}

/// Compressed sparse rows: row r's entries are `idx[offsets[r]..offsets[r+1]]`, sorted.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    /// Row offsets (rows + 1).
    pub offsets: Vec<usize>,
    /// Column indices.
    pub idx: Vec<u32>,
    /// Values.
    pub val: Vec<f32>,
}

impl Csr {
    /// Builds rows from (row, col, value) triples of the selected rows of `data`.
    pub fn build(
        n_rows: usize,
        rows: &[u32],
        cols: &[u32],
        vals: &[f32],
        select: &[usize],
    ) -> Self {
        let mut offsets = vec![0usize; n_rows + 1];
        for &r in select {
            offsets[rows[r] as usize + 1] += 1;
        }
        for i in 0..n_rows {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut entries = vec![(0u32, 0f32); select.len()];
        for &r in select {
            let row = rows[r] as usize;
            entries[fill[row]] = (cols[r], vals[r]);
            fill[row] += 1;
        }
        for r in 0..n_rows {
            entries[offsets[r]..offsets[r + 1]].sort_unstable_by_key(|e| e.0);
        }
        Csr {
            offsets,
            idx: entries.iter().map(|e| e.0).collect(),
            val: entries.iter().map(|e| e.1).collect(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Column indices of row r.
    pub fn cols(&self, r: usize) -> &[u32] {
        &self.idx[self.offsets[r]..self.offsets[r + 1]]
    }

    /// Values of row r.
    pub fn vals(&self, r: usize) -> &[f32] {
        &self.val[self.offsets[r]..self.offsets[r + 1]]
    }
}

/// The user-major and item-major views of a training set.
#[derive(Debug, Clone)]
pub struct TrainSet {
    /// Rows = users.
    pub by_user: Csr,
    /// Rows = items.
    pub by_item: Csr,
    /// Global mean value.
    pub mean: f32,
}

impl TrainSet {
    /// Builds both views of the selected rows.
    pub fn new(data: &Data, select: &[usize]) -> Self {
        let mean = if select.is_empty() {
            0.0
        } else {
            (select.iter().map(|&r| data.values[r] as f64).sum::<f64>() / select.len() as f64)
                as f32
        };
        TrainSet {
            by_user: Csr::build(data.n_users, &data.users, &data.items, &data.values, select),
            by_item: Csr::build(data.n_items, &data.items, &data.users, &data.values, select),
            mean,
        }
    }

    /// Number of training interactions.
    pub fn nnz(&self) -> usize {
        self.by_user.idx.len()
    }
}
