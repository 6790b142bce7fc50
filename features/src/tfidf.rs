//! TF-IDF with the semantics of scikit-learn's `TfidfVectorizer`:
//! lowercase, tokens of two or more word characters (`(?u)\b\w\w+\b`),
//! optional English stop words, word n-grams, `min_df` / `max_df` /
//! `max_features` pruning, raw (or sublinear) term frequency, smooth idf
//! `ln((1 + n) / (1 + df)) + 1`, and l2 (or l1, or no) row normalisation.
//! The vocabulary is sorted alphabetically, as scikit-learn sorts it.
//!
//! CJK text has no spaces, so scikit-learn would make one token of a whole
//! run of Han / Kana / Hangul characters. With `cjk: bigrams` (the default) such a
//! run becomes its overlapping character bigrams instead (a one-character run
//! stays a unigram), which is what CJK search analyzers do; `cjk: whole`
//! keeps scikit-learn's behaviour. Text without CJK is unaffected.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::stop_words::is_english_stop_word;

/// A document-frequency bound: an absolute count (integer) or a fraction of documents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a count of documents (an integer) or a fraction of them (a number with a point, such as 0.5)"
)]
pub enum DfBound {
    /// At least / at most this many documents.
    Count(u64),
    /// At least / at most this fraction of documents.
    Fraction(f64),
}

impl DfBound {
    fn docs(self, n: usize) -> f64 {
        match self {
            DfBound::Count(c) => c as f64,
            DfBound::Fraction(f) => f * n as f64,
        }
    }
}

/// Row normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// Unit Euclidean length.
    #[default]
    L2,
    /// Unit sum of absolute values.
    L1,
    /// No normalisation.
    None,
}

/// Stop words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StopWords {
    /// Keep every token.
    #[default]
    None,
    /// scikit-learn's English list.
    English,
}

/// What a run of CJK characters becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Cjk {
    /// Overlapping character bigrams.
    #[default]
    Bigrams,
    /// One token per run (scikit-learn's behaviour).
    Whole,
}

/// TF-IDF settings; the defaults are scikit-learn's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TfidfParams {
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// Ignore terms in fewer documents (count, or fraction).
    pub min_df: DfBound,
    /// Ignore terms in more documents (count, or fraction).
    pub max_df: DfBound,
    /// Keep only the most frequent terms (by corpus term frequency).
    pub max_features: Option<usize>,
    /// Smallest and largest n of word n-grams.
    pub ngram_range: [usize; 2],
    /// Use `1 + ln(tf)` instead of tf.
    pub sublinear_tf: bool,
    /// Stop words.
    pub stop_words: StopWords,
    /// Row normalisation.
    pub norm: Norm,
    /// What a CJK run becomes.
    pub cjk: Cjk,
}

impl Default for TfidfParams {
    fn default() -> Self {
        TfidfParams {
            lowercase: true,
            min_df: DfBound::Count(1),
            max_df: DfBound::Fraction(1.0),
            max_features: None,
            ngram_range: [1, 1],
            sublinear_tf: false,
            stop_words: StopWords::None,
            norm: Norm::L2,
            cjk: Cjk::Bigrams,
        }
    }
}

impl TfidfParams {
    /// Checks the settings.
    pub fn check(&self) -> Result<(), String> {
        let [lo, hi] = self.ngram_range;
        if lo == 0 || hi < lo {
            return Err("tfidf.ngram_range must be [min, max] with 1 <= min <= max".into());
        }
        for (name, b) in [("min_df", self.min_df), ("max_df", self.max_df)] {
            if let DfBound::Fraction(f) = b
                && !(0.0..=1.0).contains(&f)
            {
                return Err(format!(
                    "tfidf.{name} must be a count of documents (a whole number, 0 or more) or a \
                     fraction of them in [0, 1] (got {f})"
                ));
            }
        }
        if self.max_features == Some(0) {
            return Err("tfidf.max_features must be positive".into());
        }
        Ok(())
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x1100..=0x11FF | 0x20000..=0x2FA1F)
}

/// The text tokens are taken from: lowercased when asked, borrowed when
/// that changes nothing.
fn prepared<'a>(text: &'a str, params: &TfidfParams) -> Cow<'a, str> {
    let unchanged =
        !params.lowercase || (text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()));
    if unchanged {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Pushes a run of word characters: itself when it has two or more, or
/// with `cjk: bigrams` and CJK in it, its CJK segments' bigrams and its
/// other segments of two or more characters.
fn push_run<'a>(run: &'a str, chars: usize, params: &TfidfParams, out: &mut Vec<Cow<'a, str>>) {
    if params.cjk == Cjk::Bigrams && !run.is_ascii() && run.chars().any(is_cjk) {
        let run: Vec<char> = run.chars().collect();
        let mut s = 0;
        while s < run.len() {
            let cjk = is_cjk(run[s]);
            let mut e = s;
            while e < run.len() && is_cjk(run[e]) == cjk {
                e += 1;
            }
            let seg = &run[s..e];
            if cjk {
                if seg.len() == 1 {
                    out.push(Cow::Owned(seg[0].to_string()));
                } else {
                    out.extend(seg.windows(2).map(|w| Cow::Owned(w.iter().collect())));
                }
            } else if seg.len() >= 2 {
                out.push(Cow::Owned(seg.iter().collect()));
            }
            s = e;
        }
    } else if chars >= 2 {
        out.push(Cow::Borrowed(run));
    }
}

/// The tokens of already prepared text, borrowed from it where they can be.
fn tokens<'a>(text: &'a str, params: &TfidfParams) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    if text.is_ascii() {
        let bytes = text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut i = 0;
        while i < bytes.len() {
            if !word(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            if i - start >= 2 {
                out.push(Cow::Borrowed(&text[start..i]));
            }
        }
    } else {
        let mut run: Option<(usize, usize)> = None; // (start byte, chars)
        for (at, c) in text.char_indices() {
            match (is_word(c), run) {
                (true, Some((start, n))) => run = Some((start, n + 1)),
                (true, None) => run = Some((at, 1)),
                (false, Some((start, n))) => {
                    push_run(&text[start..at], n, params, &mut out);
                    run = None;
                }
                (false, None) => {}
            }
        }
        if let Some((start, n)) = run {
            push_run(&text[start..], n, params, &mut out);
        }
    }
    if params.stop_words == StopWords::English {
        out.retain(|t| !is_english_stop_word(t));
    }
    let [lo, hi] = params.ngram_range;
    if hi == 1 {
        return out;
    }
    let mut grams = Vec::new();
    for n in lo..=hi {
        for w in out.windows(n) {
            grams.push(Cow::Owned(w.join(" ")));
        }
    }
    grams
}

/// Splits text into tokens (after lowercasing when asked).
pub fn tokenize(text: &str, params: &TfidfParams) -> Vec<String> {
    tokens(&prepared(text, params), params)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// A fitted TF-IDF model and the document vectors.
#[derive(Debug, Clone, Default)]
pub struct Tfidf {
    /// Terms, sorted (index = term_idx).
    pub terms: Vec<String>,
    /// Document frequency of each term.
    pub df: Vec<u32>,
    /// Inverse document frequency of each term.
    pub idf: Vec<f64>,
    /// Per document, its (term_idx, weight) pairs sorted by term.
    pub rows: Vec<Vec<(u32, f64)>>,
}

/// Documents per counting task: each task interns its documents' terms
/// in a vocabulary of its own.
const DOCS_PER_TASK: usize = 2048;

/// The terms of a run of documents: a vocabulary of the run's own (terms in
/// order of first sight, with their document and total frequencies), and
/// each document's distinct terms as (id in it, count), sorted by term.
/// Eight bytes per (document, term) instead of a string's 24 and a count:
/// 50,000 descriptions of 150 words peaked at 763 MiB with the strings.
struct Counted<'a> {
    terms: Vec<Cow<'a, str>>,
    freq: Vec<(u32, u64)>,
    docs: Vec<Vec<(u32, u32)>>,
}

impl<'a> Counted<'a> {
    fn of(texts: &'a [Cow<'a, str>], params: &TfidfParams) -> Self {
        let mut ids: HashMap<Cow<'a, str>, u32> = HashMap::new();
        let mut freq: Vec<(u32, u64)> = Vec::new();
        let mut docs = Vec::with_capacity(texts.len());
        for text in texts {
            let mut tokens = tokens(text, params);
            tokens.sort_unstable();
            let mut doc: Vec<(u32, u32)> = Vec::new();
            let mut tokens = tokens.into_iter().peekable();
            while let Some(t) = tokens.next() {
                let mut count = 1u32;
                while tokens.next_if(|next| *next == t).is_some() {
                    count += 1;
                }
                let id = match ids.get(t.as_ref()) {
                    Some(&id) => id,
                    None => {
                        let id = freq.len() as u32;
                        ids.insert(t, id);
                        freq.push((0, 0));
                        id
                    }
                };
                let f = &mut freq[id as usize];
                f.0 += 1;
                f.1 += u64::from(count);
                doc.push((id, count));
            }
            docs.push(doc);
        }
        let mut terms = vec![Cow::Borrowed(""); freq.len()];
        for (t, id) in ids {
            terms[id as usize] = t;
        }
        Counted { terms, freq, docs }
    }
}

/// Fits TF-IDF on `docs` and transforms them. As scikit-learn's
/// `TfidfVectorizer.fit`, fails when `max_df` comes to fewer documents than
/// `min_df`, or when they leave no term of a text that had some; text with
/// no terms at all (a log without item names) gives an empty vocabulary.
pub fn fit_transform(docs: &[String], params: &TfidfParams) -> Result<Tfidf, String> {
    let n = docs.len();
    let texts: Vec<Cow<'_, str>> = docs.par_iter().map(|d| prepared(d, params)).collect();
    let parts: Vec<Counted<'_>> = texts
        .par_chunks(DOCS_PER_TASK)
        .map(|texts| Counted::of(texts, params))
        .collect();
    // Vocabulary with document and total frequencies, sorted by term.
    let mut vocab: HashMap<&str, (u32, u64)> = HashMap::new();
    for part in &parts {
        for (t, &(df, tf)) in part.terms.iter().zip(&part.freq) {
            let e = vocab.entry(t.as_ref()).or_insert((0, 0));
            e.0 += df;
            e.1 += tf;
        }
    }
    let mut vocab: Vec<(&str, (u32, u64))> = vocab.into_iter().collect();
    vocab.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let (min_docs, max_docs) = (params.min_df.docs(n), params.max_df.docs(n));
    // (No documents at all: an empty vocabulary, as for documents without text.)
    if n > 0 && max_docs < min_docs {
        return Err(format!(
            "tfidf.max_df comes to fewer documents ({max_docs}) than tfidf.min_df ({min_docs}) of {n}"
        ));
    }
    let seen = vocab.len();
    let mut kept: Vec<(&str, u32, u64)> = vocab
        .into_iter()
        .filter(|(_, (df, _))| (*df as f64) >= min_docs && (*df as f64) <= max_docs)
        .map(|(t, (df, tf))| (t, df, tf))
        .collect();
    if kept.is_empty() && seen > 0 {
        return Err(format!(
            "tfidf.min_df and tfidf.max_df leave none of the {seen} terms of the {n} documents: \
             lower min_df or raise max_df"
        ));
    }
    if let Some(limit) = params.max_features
        && kept.len() > limit
    {
        // Most frequent in the corpus; ties broken by term order.
        let mut order: Vec<usize> = (0..kept.len()).collect();
        order.sort_by(|&a, &b| kept[b].2.cmp(&kept[a].2).then(a.cmp(&b)));
        let mut keep: Vec<usize> = order[..limit].to_vec();
        keep.sort_unstable();
        kept = keep.into_iter().map(|i| kept[i]).collect();
    }
    let index: HashMap<&str, u32> = kept
        .iter()
        .enumerate()
        .map(|(i, (t, _, _))| (*t, i as u32))
        .collect();
    let idf: Vec<f64> = kept
        .iter()
        .map(|(_, df, _)| ((1.0 + n as f64) / (1.0 + *df as f64)).ln() + 1.0)
        .collect();
    let rows = parts
        .par_iter()
        .flat_map_iter(|part| {
            // The part's ids to the kept vocabulary's.
            let global: Vec<Option<u32>> = part
                .terms
                .iter()
                .map(|t| index.get(t.as_ref()).copied())
                .collect();
            let idf = &idf;
            part.docs.iter().map(move |doc| {
                let mut row: Vec<(u32, f64)> = doc
                    .iter()
                    .filter_map(|&(id, c)| {
                        let j = global[id as usize]?;
                        let tf = if params.sublinear_tf {
                            1.0 + (c as f64).ln()
                        } else {
                            c as f64
                        };
                        Some((j, tf * idf[j as usize]))
                    })
                    .collect();
                row.sort_unstable_by_key(|e| e.0);
                normalize(&mut row, params.norm);
                row
            })
        })
        .collect();
    Ok(Tfidf {
        terms: kept.iter().map(|(t, _, _)| t.to_string()).collect(),
        df: kept.iter().map(|(_, df, _)| *df).collect(),
        idf,
        rows,
    })
}

/// Normalises a sparse row in place.
pub fn normalize(row: &mut [(u32, f64)], norm: Norm) {
    let total = match norm {
        Norm::L2 => row.iter().map(|(_, w)| w * w).sum::<f64>().sqrt(),
        Norm::L1 => row.iter().map(|(_, w)| w.abs()).sum::<f64>(),
        Norm::None => return,
    };
    if total > 0.0 {
        for (_, w) in row.iter_mut() {
            *w /= total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_out_of_range_are_named_with_what_they_may_be() {
        let with = |yaml: &str| -> TfidfParams { serde_yaml::from_str(yaml).expect(yaml) };
        assert!(with("{min_df: 2, max_df: 0.5}").check().is_ok());
        for (yaml, says) in [
            (
                "{min_df: -1}",
                "tfidf.min_df must be a count of documents (a whole number, 0 or more) or a \
                 fraction of them in [0, 1] (got -1)",
            ),
            ("{max_df: 1.5}", "tfidf.max_df must be a count of documents"),
            (
                "{ngram_range: [2, 1]}",
                "tfidf.ngram_range must be [min, max]",
            ),
            ("{max_features: 0}", "tfidf.max_features must be positive"),
        ] {
            let err = with(yaml).check().expect_err(yaml);
            assert!(err.starts_with(says), "{yaml}: {err}");
        }
    }

    #[test]
    fn tokenizer_matches_the_sklearn_pattern() {
        let p = TfidfParams::default();
        assert_eq!(
            tokenize("Hello, World! a I x_y 42 Été's", &p),
            vec!["hello", "world", "x_y", "42", "été"]
        );
        let sw = TfidfParams {
            stop_words: StopWords::English,
            ..Default::default()
        };
        assert_eq!(
            tokenize("The heart of the city", &sw),
            vec!["heart", "city"]
        );
        let bi = TfidfParams {
            ngram_range: [1, 2],
            ..Default::default()
        };
        assert_eq!(
            tokenize("red blue car", &bi),
            vec!["red", "blue", "car", "red blue", "blue car"]
        );
    }

    #[test]
    fn cjk_runs_become_bigrams_or_stay_whole() {
        let p = TfidfParams::default();
        assert_eq!(
            tokenize("很好看 abc中文", &p),
            vec!["很好", "好看", "abc", "中文"]
        );
        let whole = TfidfParams {
            cjk: Cjk::Whole,
            ..Default::default()
        };
        assert_eq!(
            tokenize("很好看 abc中文", &whole),
            vec!["很好看", "abc中文"]
        );
    }

    #[test]
    fn documents_counted_in_several_parts_give_the_counts_of_one_pass() {
        // More documents than one counting task takes, over a vocabulary
        // whose terms first appear in different parts.
        let mut rng = recpipe_core::Rng::new(11);
        let docs: Vec<String> = (0..3 * DOCS_PER_TASK + 17)
            .map(|d| {
                let words = 1 + rng.below(12);
                (0..words)
                    .map(|_| format!("t{}", rng.below(40 + d as u64 / 50)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let params = TfidfParams {
            min_df: DfBound::Count(2),
            ..Default::default()
        };
        let t = fit_transform(&docs, &params).expect("fit");
        // One pass, the way the formula reads.
        let n = docs.len() as f64;
        let mut df: std::collections::BTreeMap<String, u32> = Default::default();
        for d in &docs {
            let distinct: std::collections::BTreeSet<&str> = d.split(' ').collect();
            for w in distinct {
                *df.entry(w.to_string()).or_default() += 1;
            }
        }
        df.retain(|_, n| *n >= 2);
        assert_eq!(t.terms, df.keys().cloned().collect::<Vec<_>>());
        assert_eq!(t.df, df.values().copied().collect::<Vec<_>>());
        for (d, row) in docs.iter().zip(&t.rows) {
            let mut want: Vec<(u32, f64)> = t
                .terms
                .iter()
                .enumerate()
                .filter_map(|(j, term)| {
                    let tf = d.split(' ').filter(|w| w == term).count() as f64;
                    let idf = ((1.0 + n) / (1.0 + t.df[j] as f64)).ln() + 1.0;
                    (tf > 0.0).then_some((j as u32, tf * idf))
                })
                .collect();
            normalize(&mut want, params.norm);
            assert_eq!(row.len(), want.len(), "{d}");
            for (got, want) in row.iter().zip(&want) {
                assert_eq!(got.0, want.0);
                assert!((got.1 - want.1).abs() < 1e-12, "{d}");
            }
        }
    }

    #[test]
    fn pruning_and_idf() {
        let docs: Vec<String> = ["apple banana", "apple cherry", "apple banana banana", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = fit_transform(&docs, &TfidfParams::default()).expect("fit");
        assert_eq!(t.terms, vec!["apple", "banana", "cherry"]);
        assert_eq!(t.df, vec![3, 2, 1]);
        assert!((t.idf[0] - ((5.0f64 / 4.0).ln() + 1.0)).abs() < 1e-12);
        assert!(t.rows[3].is_empty(), "an empty document has an empty row");
        for row in &t.rows[..3] {
            let norm: f64 = row.iter().map(|(_, w)| w * w).sum();
            assert!((norm - 1.0).abs() < 1e-12);
        }
        let min2 = fit_transform(
            &docs,
            &TfidfParams {
                min_df: DfBound::Count(2),
                ..Default::default()
            },
        )
        .expect("fit");
        assert_eq!(min2.terms, vec!["apple", "banana"]);
        let max = fit_transform(
            &docs,
            &TfidfParams {
                max_df: DfBound::Fraction(0.5),
                ..Default::default()
            },
        )
        .expect("fit");
        assert_eq!(
            max.terms,
            vec!["banana", "cherry"],
            "apple is in 3 of 4 docs > 0.5"
        );
        let top = fit_transform(
            &docs,
            &TfidfParams {
                max_features: Some(1),
                ..Default::default()
            },
        )
        .expect("fit");
        assert_eq!(
            top.terms,
            vec!["apple"],
            "apple and banana tie at 3 occurrences; term order breaks it"
        );
        // scikit-learn's two errors: bounds that cross, bounds that leave nothing.
        let fit = |min_df, max_df| {
            fit_transform(
                &docs,
                &TfidfParams {
                    min_df,
                    max_df,
                    ..Default::default()
                },
            )
        };
        let crossed = fit(DfBound::Count(3), DfBound::Fraction(0.5)).expect_err("3 > 2");
        assert!(
            crossed.contains("fewer documents (2) than tfidf.min_df (3)"),
            "{crossed}"
        );
        let none = fit(DfBound::Count(4), DfBound::Count(4)).expect_err("no term in 4");
        assert!(
            none.contains("leave none of the 3 terms of the 4 documents"),
            "{none}"
        );
        // No text at all is not an error: an empty vocabulary.
        let blank = vec![String::new(); 3];
        let t = fit_transform(&blank, &TfidfParams::default()).expect("no text");
        assert!(t.terms.is_empty() && t.rows.iter().all(Vec::is_empty));
        let t = fit_transform(&[], &TfidfParams::default()).expect("no documents");
        assert!(t.terms.is_empty() && t.rows.is_empty());
    }
}
