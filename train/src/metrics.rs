//! Evaluation metrics and baselines.
//!
//! Ranking metrics are computed per user over the users that have at least
//! one relevant test item, then averaged: precision@k = hits / k,
//! recall@k = hits / |relevant|, NDCG@k with binary gains and the ideal DCG
//! of min(k, |relevant|) hits, MAP@k = sum of precision at each hit /
//! min(k, |relevant|), hit rate = share of users with a hit, and catalogue
//! coverage = distinct recommended items / items.

use serde::Serialize;

/// RMSE and MAE of `pred` against `truth`.
pub fn rmse_mae(pred: &[f32], truth: &[f32]) -> (f64, f64) {
    let n = pred.len().max(1) as f64;
    let (mut se, mut ae) = (0.0, 0.0);
    for (p, t) in pred.iter().zip(truth) {
        let e = (*p - *t) as f64;
        se += e * e;
        ae += e.abs();
    }
    ((se / n).sqrt(), ae / n)
}

/// Ranking metrics at one k.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Ranking {
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// Mean average precision@k.
    pub map: f64,
    /// Share of users with at least one hit.
    pub hit_rate: f64,
    /// Distinct recommended items / all items.
    pub coverage: f64,
    /// Users evaluated.
    pub users: usize,
    /// Users skipped for having no relevant test item.
    pub skipped: usize,
}

/// Scores recommendation lists (`recs[u]`, best first) against sorted relevant sets.
pub fn ranking(recs: &[Vec<u32>], relevant: &[Vec<u32>], k: usize, n_items: usize) -> Ranking {
    let mut m = Ranking::default();
    let mut seen = vec![false; n_items];
    for (u, rel) in relevant.iter().enumerate() {
        let list = recs.get(u).map(Vec::as_slice).unwrap_or(&[]);
        let list = &list[..list.len().min(k)];
        for &i in list {
            if let Some(s) = seen.get_mut(i as usize) {
                *s = true;
            }
        }
        if rel.is_empty() {
            m.skipped += 1;
            continue;
        }
        m.users += 1;
        let (mut hits, mut dcg, mut ap) = (0usize, 0.0, 0.0);
        for (pos, &i) in list.iter().enumerate() {
            if rel.binary_search(&i).is_ok() {
                hits += 1;
                dcg += 1.0 / ((pos + 2) as f64).log2();
                ap += hits as f64 / (pos + 1) as f64;
            }
        }
        let ideal = rel.len().min(k);
        let idcg: f64 = (0..ideal).map(|p| 1.0 / ((p + 2) as f64).log2()).sum();
        m.precision += hits as f64 / k as f64;
        m.recall += hits as f64 / rel.len() as f64;
        m.ndcg += if idcg > 0.0 { dcg / idcg } else { 0.0 };
        m.map += ap / ideal.max(1) as f64;
        m.hit_rate += f64::from(u8::from(hits > 0));
    }
    let n = m.users.max(1) as f64;
    m.precision /= n;
    m.recall /= n;
    m.ndcg /= n;
    m.map /= n;
    m.hit_rate /= n;
    m.coverage = seen.iter().filter(|s| **s).count() as f64 / n_items.max(1) as f64;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_case_with_fewer_relevant_than_k_and_a_skipped_user() {
        // User 0: relevant {1, 5}; recs [5, 2, 1]: hits at positions 1 and 3.
        // User 1: no relevant item -> skipped.
        let recs = vec![vec![5, 2, 1], vec![3, 4, 0]];
        let rel = vec![vec![1, 5], vec![]];
        let m = ranking(&recs, &rel, 3, 10);
        assert_eq!((m.users, m.skipped), (1, 1));
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 1.0).abs() < 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((m.ndcg - dcg / idcg).abs() < 1e-12, "ndcg {}", m.ndcg);
        assert!((m.map - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(m.hit_rate, 1.0);
        assert!((m.coverage - 6.0 / 10.0).abs() < 1e-12);
        let (rmse, mae) = rmse_mae(&[3.0, 5.0], &[4.0, 5.0]);
        assert!((rmse - 0.5f64.sqrt()).abs() < 1e-12 && (mae - 0.5).abs() < 1e-12);
    }
}
