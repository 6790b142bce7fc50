//! Our TF-IDF equals scikit-learn's TfidfVectorizer to 1e-6 on a fixture
//! computed once with scikit-learn (see fixtures/make_tfidf_fixture.py; the
//! version is recorded in the fixture).

use recpipe_features::tfidf::{DfBound, Norm, StopWords, TfidfParams, fit_transform};
use serde_json::Value;

fn params(p: &Value) -> TfidfParams {
    let mut t = TfidfParams::default();
    if let Some(n) = p.get("ngram_range") {
        t.ngram_range = [
            n[0].as_u64().expect("n") as usize,
            n[1].as_u64().expect("n") as usize,
        ];
    }
    if p.get("sublinear_tf").and_then(Value::as_bool) == Some(true) {
        t.sublinear_tf = true;
    }
    if p.get("stop_words").and_then(Value::as_str) == Some("english") {
        t.stop_words = StopWords::English;
    }
    if let Some(m) = p.get("min_df").and_then(Value::as_u64) {
        t.min_df = DfBound::Count(m);
    }
    if let Some(m) = p.get("max_df").and_then(Value::as_f64) {
        t.max_df = DfBound::Fraction(m);
    }
    if let Some(m) = p.get("max_features").and_then(Value::as_u64) {
        t.max_features = Some(m as usize);
    }
    match p.get("norm") {
        Some(Value::Null) => t.norm = Norm::None,
        Some(Value::String(s)) if s == "l1" => t.norm = Norm::L1,
        _ => {}
    }
    t
}

#[test]
fn weights_equal_scikit_learn() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/tfidf_sklearn.json")).expect("fixture");
    let corpus: Vec<String> = fixture["corpus"]
        .as_array()
        .expect("corpus")
        .iter()
        .map(|d| d.as_str().expect("doc").to_string())
        .collect();
    let settings = fixture["settings"].as_object().expect("settings");
    assert_eq!(settings.len(), 4);
    for (name, s) in settings {
        let t = fit_transform(&corpus, &params(&s["params"])).expect("fit");
        let vocab: Vec<String> = s["vocabulary"]
            .as_array()
            .expect("vocab")
            .iter()
            .map(|v| v.as_str().expect("term").to_string())
            .collect();
        assert_eq!(t.terms, vocab, "{name}: vocabulary");
        for (j, idf) in s["idf"].as_array().expect("idf").iter().enumerate() {
            assert!(
                (t.idf[j] - idf.as_f64().expect("idf")).abs() < 1e-9,
                "{name}: idf of {}",
                vocab[j]
            );
        }
        let mut ours: Vec<(usize, usize, f64)> = t
            .rows
            .iter()
            .enumerate()
            .flat_map(|(r, row)| row.iter().map(move |&(c, w)| (r, c as usize, w)))
            .collect();
        ours.sort_by_key(|a| (a.0, a.1));
        let theirs: Vec<(usize, usize, f64)> = s["weights"]
            .as_array()
            .expect("w")
            .iter()
            .map(|e| {
                (
                    e[0].as_u64().expect("r") as usize,
                    e[1].as_u64().expect("c") as usize,
                    e[2].as_f64().expect("w"),
                )
            })
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{name}: non-zeros");
        let max_diff = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| {
                assert_eq!((a.0, a.1), (b.0, b.1), "{name}: sparsity pattern");
                (a.2 - b.2).abs()
            })
            .fold(0.0, f64::max);
        assert!(max_diff < 1e-6, "{name}: max abs difference {max_diff}");
    }
}
