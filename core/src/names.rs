//! "Did you mean" help for misspelt names (columns, keys, stages), and
//! counts written with their noun.

/// `n` and `noun`, plural unless `n` is 1: `1 user`, `12 users` (for nouns
/// whose plural takes an `s`).
pub fn counted(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// Levenshtein distance between two strings (in characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a typo
/// (at most a third of the longer name, and at least 2, edits away).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// The candidate `word` was likely meant as: one equal to it but for ASCII
/// case (`85123a` for `85123A`), else the [`nearest`] one when no other is
/// as near (short numeric ids mostly have many neighbours, and a guess
/// among them would mislead).
pub fn likely_meant<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(c);
    }
    let near = nearest(word, candidates.iter().copied())?;
    let d = edit_distance(word, near);
    // (Candidates may repeat: a list table holds each user's id per row.)
    let tied = candidates
        .iter()
        .any(|&c| c != near && edit_distance(word, c) == d);
    (!tied).then_some(near)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(counted(1, "user"), "1 user");
        assert_eq!(counted(0, "row"), "0 rows");
        assert_eq!(counted(12, "seed user"), "12 seed users");
    }

    #[test]
    fn an_id_is_meant_when_it_differs_in_case_or_is_the_one_nearest() {
        let skus = ["85123A", "85099B", "22423", "POST"];
        assert_eq!(likely_meant("85123a", &skus), Some("85123A"));
        assert_eq!(likely_meant("post", &skus), Some("POST"));
        assert_eq!(likely_meant("2242", &skus), Some("22423"));
        assert_eq!(likely_meant("12345678", &skus), None, "none near");
        let rows = ["17850", "17850", "17852"];
        assert_eq!(
            likely_meant("17850x", &rows),
            Some("17850"),
            "one id, twice"
        );
        let users = ["12785", "17850", "17851"];
        assert_eq!(likely_meant("1785", &users), None, "three one edit away");
    }

    #[test]
    fn distances_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(nearest("trian", ["train", "ingest"]), Some("train"));
        assert_eq!(nearest("zzzzzz", ["train", "ingest"]), None);
    }
}
