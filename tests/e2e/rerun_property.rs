//! Property: for random sequences of parameter edits, the stages that rerun
//! are exactly the edited stages and their descendants.

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

fn descendants(edited: &BTreeSet<usize>) -> BTreeSet<&'static str> {
    // ingest -> features -> cluster -> export; ingest -> train -> export.
    let children: [&[usize]; 5] = [&[1, 3], &[2], &[4], &[4], &[]];
    let mut out = BTreeSet::new();
    let mut todo: Vec<usize> = edited.iter().copied().collect();
    while let Some(s) = todo.pop() {
        if out.insert(STAGES[s]) {
            todo.extend(children[s]);
        }
    }
    out
}

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
        for edits in steps {
            let mut changed = BTreeSet::new();
            for (&stage, &value) in &edits {
                if current[stage] != value {
                    changed.insert(stage);
                }
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
            let want: BTreeSet<String> = descendants(&changed).into_iter().map(str::to_string).collect();
            prop_assert_eq!(got, want, "edits {:?}\n{}", edits, out);
        }
    }
}
