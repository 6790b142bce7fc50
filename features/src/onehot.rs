//! One-hot / multi-hot encoding with stable, readable column names.

/// A fitted categorical encoder: `name=value` columns in a fixed order,
/// with a `name=(missing)` column when values are missing.
#[derive(Debug, Clone, PartialEq)]
pub struct OneHot {
    /// The feature name (`gender`, `age`, ...).
    pub name: String,
    /// Categories, sorted (numerically when all are numbers).
    pub categories: Vec<String>,
    /// Whether a missing-value column exists (it comes last).
    pub has_missing: bool,
}

/// Sorts category strings: numerically when every one is a number, else lexically.
pub fn sort_categories(values: &mut [String]) {
    let all_numeric = values.iter().all(|v| v.parse::<f64>().is_ok());
    if all_numeric {
        values.sort_by(|a, b| {
            let (x, y) = (
                a.parse::<f64>().unwrap_or(0.0),
                b.parse::<f64>().unwrap_or(0.0),
            );
            x.total_cmp(&y).then_with(|| a.cmp(b))
        });
    } else {
        values.sort();
    }
}

impl OneHot {
    /// Learns the categories of `values`.
    pub fn fit<'a>(name: &str, values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut cats = std::collections::BTreeSet::new();
        let mut has_missing = false;
        for v in values {
            match v.map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => {
                    cats.insert(s.to_string());
                }
                None => has_missing = true,
            }
        }
        let mut categories: Vec<String> = cats.into_iter().collect();
        sort_categories(&mut categories);
        OneHot {
            name: name.to_string(),
            categories,
            has_missing,
        }
    }

    /// Column names in order.
    pub fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self
            .categories
            .iter()
            .map(|c| format!("{}={c}", self.name))
            .collect();
        if self.has_missing {
            cols.push(format!("{}=(missing)", self.name));
        }
        cols
    }

    /// The column a value falls in; an unseen category gets none (all zeros).
    pub fn index(&self, value: Option<&str>) -> Option<usize> {
        match value.map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => self.categories.iter().position(|c| c == v),
            None => self.has_missing.then_some(self.categories.len()),
        }
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.categories.len() + usize::from(self.has_missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_names_numeric_order_missing_and_unseen() {
        let a = OneHot::fit("age", [Some("25"), Some("1"), None, Some("18")]);
        assert_eq!(
            a.columns(),
            vec!["age=1", "age=18", "age=25", "age=(missing)"]
        );
        let b = OneHot::fit("age", [Some("18"), None, Some("25"), Some("1")]);
        assert_eq!(a, b, "order of the data does not matter");
        assert_eq!(a.index(Some("18")), Some(1));
        assert_eq!(a.index(None), Some(3));
        assert_eq!(
            a.index(Some("99")),
            None,
            "an unseen category encodes as all zeros"
        );
    }
}
