//! Segment profiles: what a marketer needs to name and target a segment.

use std::collections::HashMap;

/// One line of a segment's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// Segment.
    pub segment: u16,
    /// `size`, `feature`, `genre`, `item` or `term`.
    pub kind: &'static str,
    /// What the row is about (column, genre, item title, term).
    pub name: String,
    /// The value in the segment (share, mean, support).
    pub segment_value: f64,
    /// The value in the whole population.
    pub population_value: f64,
    /// segment_value / population_value.
    pub lift: f64,
    /// Rank within its kind (1 = first).
    pub rank: u16,
}

/// Segment sizes as rows: `segment_value` is the size, `lift` the share.
pub fn sizes(labels: &[u16], k: usize) -> Vec<ProfileRow> {
    let n = labels.len() as f64;
    let mut size = vec![0usize; k];
    for &l in labels {
        size[l as usize] += 1;
    }
    (0..k)
        .map(|s| ProfileRow {
            segment: s as u16,
            kind: "size",
            name: "users".into(),
            segment_value: size[s] as f64,
            population_value: n,
            lift: size[s] as f64 / n.max(1.0),
            rank: 1,
        })
        .collect()
}

/// Per segment, the mean of each column of a row-major matrix, and the population mean.
pub fn column_means(
    values: &[f64],
    width: usize,
    labels: &[u16],
    k: usize,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut seg = vec![vec![0.0; width]; k];
    let mut cnt = vec![0usize; k];
    let mut all = vec![0.0; width];
    for (r, &l) in labels.iter().enumerate() {
        cnt[l as usize] += 1;
        for j in 0..width {
            let v = values[r * width + j];
            seg[l as usize][j] += v;
            all[j] += v;
        }
    }
    for s in 0..k {
        for v in &mut seg[s] {
            *v /= cnt[s].max(1) as f64;
        }
    }
    for v in &mut all {
        *v /= labels.len().max(1) as f64;
    }
    (seg, all)
}

/// Items over-represented among a segment's users: support = share of the
/// segment's users who liked the item, lift = support / population support.
/// Items liked by fewer than `min_users` of the segment are left out;
/// ranked by lift, then support, then item index.
pub fn item_lift(
    liked: &[Vec<u32>],
    labels: &[u16],
    k: usize,
    min_users: usize,
    top: usize,
) -> Vec<Vec<(u32, f64, f64, f64)>> {
    let n = labels.len() as f64;
    let mut size = vec![0usize; k];
    let mut all: HashMap<u32, usize> = HashMap::new();
    let mut per: Vec<HashMap<u32, usize>> = vec![HashMap::new(); k];
    for (u, items) in liked.iter().enumerate() {
        let s = labels[u] as usize;
        size[s] += 1;
        for &i in items {
            *all.entry(i).or_insert(0) += 1;
            *per[s].entry(i).or_insert(0) += 1;
        }
    }
    per.iter()
        .enumerate()
        .map(|(s, counts)| {
            let mut rows: Vec<(u32, f64, f64, f64)> = counts
                .iter()
                .filter(|(_, c)| **c >= min_users)
                .map(|(&i, &c)| {
                    let support = c as f64 / size[s].max(1) as f64;
                    let pop = all[&i] as f64 / n;
                    (i, support, pop, support / pop)
                })
                .collect();
            rows.sort_by(|a, b| {
                b.3.total_cmp(&a.3)
                    .then(b.1.total_cmp(&a.1))
                    .then(a.0.cmp(&b.0))
            });
            rows.truncate(top);
            rows.shrink_to_fit();
            rows
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one() {
        let rows = sizes(&[0, 0, 1, 2, 2, 2], 3);
        let total: f64 = rows.iter().map(|r| r.lift).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(rows[2].segment_value, 3.0);
    }

    #[test]
    fn lift_equals_hand_computation() {
        // 4 users: segment 0 = users 0, 1; segment 1 = users 2, 3.
        // Item 7 liked by users 0, 1, 2: support in seg 0 = 2/2 = 1, population 3/4, lift 4/3.
        // Item 9 liked by user 3 only: seg 1 support 1/2, population 1/4, lift 2.
        let liked = vec![vec![7], vec![7], vec![7], vec![9]];
        let out = item_lift(&liked, &[0, 0, 1, 1], 2, 1, 5);
        assert_eq!(out[0], vec![(7, 1.0, 0.75, 4.0 / 3.0)]);
        assert_eq!(out[1][0], (9, 0.5, 0.25, 2.0));
        assert_eq!(out[1][1], (7, 0.5, 0.75, 0.5 / 0.75));
        let strict = item_lift(&liked, &[0, 0, 1, 1], 2, 2, 5);
        assert!(strict[1].is_empty(), "no item has 2 likers in segment 1");
    }
}
