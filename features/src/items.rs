//! Item features and the text documents TF-IDF reads.

use recpipe_core::ParquetTable;
use recpipe_core::schema::{GENRES, TEXT, TITLE, YEAR};
use recpipe_core::titles::title_without_year;

use crate::error::Result;
use crate::onehot::OneHot;
use crate::params::TextField;
use crate::users::Interactions;
use crate::{FeatureColumn, Matrix};

/// The genre column that pools the genres beyond `max_genres`.
pub const OTHER_GENRES: &str = "(other)";

/// What the features stage needs of items.parquet.
#[derive(Debug, Clone, Default)]
pub struct ItemInfo {
    /// Titles.
    pub titles: Vec<Option<String>>,
    /// Years.
    pub years: Vec<Option<i32>>,
    /// Genres as written.
    pub genres: Vec<Vec<String>>,
    /// Free text.
    pub text: Vec<Option<String>>,
    /// All genre names, sorted.
    pub genre_names: Vec<String>,
    /// Genres as indices into `genre_names` (each genre pooled by
    /// [`ItemInfo::keep_top_genres`] as the `(other)` column's).
    pub genre_idx: Vec<Vec<u32>>,
}

impl ItemInfo {
    /// Reads items.parquet.
    pub fn read(items: &ParquetTable) -> Result<Self> {
        let titles = items.strings(TITLE)?;
        let years = {
            use arrow::array::{Array, AsArray};
            let c = items
                .column(YEAR)?
                .as_primitive::<arrow::datatypes::Int32Type>();
            (0..c.len())
                .map(|i| (!c.is_null(i)).then(|| c.value(i)))
                .collect()
        };
        let genres = items.string_lists(GENRES)?;
        let text = items.strings(TEXT)?;
        let mut genre_names: Vec<String> = genres.iter().flatten().cloned().collect();
        genre_names.sort();
        genre_names.dedup();
        let genre_idx = genres
            .iter()
            .map(|gs| {
                gs.iter()
                    .filter_map(|g| genre_names.binary_search(g).ok().map(|i| i as u32))
                    .collect()
            })
            .collect();
        Ok(ItemInfo {
            titles,
            years,
            genres,
            text,
            genre_names,
            genre_idx,
        })
    }

    /// Keeps at most `max` genre columns: the genres of the most
    /// interactions (ties by name), in name order,
    /// then [`OTHER_GENRES`] for all the others. An item's dropped genres
    /// each map to that column, so that a user's shares still sum to 1.
    /// Returns the number of genres there were when some were pooled.
    pub fn keep_top_genres(&mut self, inter: &Interactions, max: usize) -> Option<usize> {
        let n = self.genre_names.len();
        if n <= max {
            return None;
        }
        let mut weight = vec![0u64; n];
        for &i in inter.item.iter() {
            for &g in self
                .genre_idx
                .get(i as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                weight[g as usize] += 1;
            }
        }
        // The top `max - 1` by weight, and one column for the rest.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&g| (std::cmp::Reverse(weight[g]), g));
        let mut kept: Vec<usize> = order[..max - 1].to_vec();
        kept.sort_unstable();
        let other = kept.len() as u32;
        let mut new_index = vec![other; n];
        for (j, &g) in kept.iter().enumerate() {
            new_index[g] = j as u32;
        }
        for gs in &mut self.genre_idx {
            gs.iter_mut().for_each(|g| *g = new_index[*g as usize]);
        }
        let mut names: Vec<String> = kept.iter().map(|&g| self.genre_names[g].clone()).collect();
        names.push(OTHER_GENRES.to_string());
        self.genre_names = names;
        Some(n)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.titles.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.titles.is_empty()
    }
}

fn col(name: String, group: &str) -> FeatureColumn {
    FeatureColumn {
        name,
        group: group.into(),
        mean: 0.0,
        std: 1.0,
        standardized: false,
    }
}

/// Multi-hot genres, one-hot release decade, log1p popularity and mean value.
pub fn item_features(inter: &Interactions, items: &ItemInfo) -> Matrix {
    let n = items.len();
    let mut m = Matrix::with_rows(n);
    let mut genre_cols = vec![vec![0.0; n]; items.genre_names.len()];
    for (i, gs) in items.genre_idx.iter().enumerate() {
        for &g in gs {
            genre_cols[g as usize][i] = 1.0;
        }
    }
    m.push_columns(
        items
            .genre_names
            .iter()
            .zip(genre_cols)
            .map(|(g, c)| (col(format!("genre={g}"), "genres"), c))
            .collect(),
    );
    let decades: Vec<Option<String>> = items
        .years
        .iter()
        .map(|y| y.map(|y| (y.div_euclid(10) * 10).to_string()))
        .collect();
    if decades.iter().any(Option::is_some) {
        let enc = OneHot::fit("decade", decades.iter().map(|d| d.as_deref()));
        let mut data = vec![vec![0.0; n]; enc.width()];
        for (i, d) in decades.iter().enumerate() {
            if let Some(j) = enc.index(d.as_deref()) {
                data[j][i] = 1.0;
            }
        }
        m.push_columns(
            enc.columns()
                .into_iter()
                .zip(data)
                .map(|(c, d)| (col(c, "decade"), d))
                .collect(),
        );
    }
    let mut count = vec![0.0; n];
    let mut sum = vec![0.0; n];
    for (&i, &v) in inter.item.iter().zip(&inter.value) {
        if (i as usize) < n {
            count[i as usize] += 1.0;
            sum[i as usize] += v as f64;
        }
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, c)| if *c > 0.0 { s / c } else { 0.0 })
        .collect();
    m.push_columns(vec![
        (
            col("popularity".into(), "behaviour"),
            count.iter().map(|c: &f64| c.ln_1p()).collect(),
        ),
        (col("mean_value".into(), "behaviour"), mean),
    ]);
    m
}

/// One document per item from the chosen text fields.
pub fn documents(items: &ItemInfo, fields: &[TextField]) -> Vec<String> {
    (0..items.len())
        .map(|i| {
            let mut parts: Vec<&str> = Vec::new();
            for f in fields {
                match f {
                    TextField::Title => {
                        parts.extend(items.titles[i].as_deref().map(title_without_year))
                    }
                    TextField::Genres => parts.extend(items.genres[i].iter().map(String::as_str)),
                    TextField::Text => parts.extend(items.text[i].as_deref()),
                }
            }
            parts.join(" ")
        })
        .collect()
}
