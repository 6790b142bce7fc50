//! Property: for random sequences of parameter edits, the stages that rerun
//! are exactly the edited stages and their descendants, less those whose
//! parameters and ancestors' parameters are a combination run before (the
//! content-addressed cache restores those).

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::{Env, ran};

const STAGES: [&str; 5] = ["ingest", "features", "cluster", "train", "export"];
const CHAIN: &str = "version: 1
stages:
  ingest: {uses: ingest, with: {source: synthetic, users: 120, items: 80, ratings: 1500, segments: 2}}
  features: {uses: features, needs: [ingest]}
  cluster: {uses: cluster, needs: [features], with: {k: 2, n_runs: 1}}
  train: {uses: train, needs: [ingest], with: {factors: 4, iterations: 2}}
  export: {uses: serve-export, needs: [train, cluster]}
";

/// Each stage and its ancestors: ingest -> features -> cluster -> export;
/// ingest -> train -> export.
const LINEAGE: [&[usize]; 5] = [&[0], &[0, 1], &[0, 1, 2], &[0, 3], &[0, 1, 2, 3, 4]];

fn setting(stage: usize, value: u32) -> String {
    match stage {
        0 => format!("ingest.seed={}", 100 + value),
        1 => format!("features.profile_terms={}", 5 + value),
        2 => format!("cluster.seed={}", 100 + value),
        3 => format!("train.seed={}", 100 + value),
        _ => format!("export.top_n={}", 3 + value),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn reruns_are_exactly_the_edited_stages_and_their_descendants(steps in prop::collection::vec(prop::collection::btree_map(0usize..5, 0u32..3, 1..3), 1..4)) {
        let env = Env::new(CHAIN);
        env.ok(&["run", "-q"]);
        let mut current: [u32; 5] = [u32::MAX; 5];
        // The settings of each stage's lineage it has run with.
        let lineage = |current: &[u32; 5], s: usize| -> Vec<u32> {
            LINEAGE[s].iter().map(|&a| current[a]).collect()
        };
        let mut seen: Vec<BTreeSet<Vec<u32>>> =
            (0..5).map(|s| BTreeSet::from([lineage(&current, s)])).collect();
        for edits in steps {
            for (&stage, &value) in &edits {
                current[stage] = value;
            }
            let mut args = vec!["run".to_string()];
            for (s, v) in current.iter().enumerate() {
                if *v != u32::MAX {
                    args.push("--set".into());
                    args.push(setting(s, *v));
                }
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = env.ok(&args);
            let got: BTreeSet<String> = ran(&out).into_iter().collect();
            // A stage runs when its lineage's settings are new: an edit to it or
            // an ancestor, unless that combination ran before.
            let want: BTreeSet<String> = (0..5)
                .filter(|&s| seen[s].insert(lineage(&current, s)))
                .map(|s| STAGES[s].to_string())
                .collect();
            prop_assert_eq!(got, want, "edits {:?}\n{}", edits, out);
        }
    }
}
