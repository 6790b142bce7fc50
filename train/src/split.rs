//! Train / test splits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use recpipe_core::Rng;
use serde::{Deserialize, Serialize};

use crate::data::Data;
use crate::{Result, TrainError};

/// How interactions are split for evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitSpec {
    /// No evaluation.
    None,
    /// A seeded random fraction of interactions is held out.
    Random {
        /// Held-out fraction.
        #[serde(default = "default_fraction")]
        fraction: f64,
        /// Seed.
        #[serde(default = "default_seed")]
        seed: u64,
    },
    /// A seeded random fraction of each user's interactions (at least one, if the user has two).
    UserRandom {
        /// Held-out fraction.
        #[serde(default = "default_fraction")]
        fraction: f64,
        /// Seed.
        #[serde(default = "default_seed")]
        seed: u64,
    },
    /// Each user's last fraction of interactions by time (at least one, if the user has two).
    UserTemporal {
        /// Held-out fraction.
        #[serde(default = "default_fraction")]
        fraction: f64,
    },
    /// Interactions at or after a date (`YYYY-MM-DD` or ISO-8601) are held out.
    TimeCutoff {
        /// The cutoff.
        cutoff: String,
        /// Keep only test users that also have training interactions.
        #[serde(default)]
        users_in_both: bool,
    },
    /// The held-out pairs are listed in a file in the source's format
    /// (user id, item id first; tab, `::`, `|` or `,` separated).
    File {
        /// The file.
        path: PathBuf,
    },
    /// k folds: seeded random folds, or the files of a predefined fold set.
    Kfold {
        /// Number of random folds (ignored when `files` is given).
        #[serde(default = "default_folds")]
        folds: usize,
        /// Test files of predefined folds (e.g. u1.test .. u5.test).
        #[serde(default)]
        files: Vec<PathBuf>,
        /// Seed of the random folds.
        #[serde(default = "default_seed")]
        seed: u64,
    },
}

fn default_fraction() -> f64 {
    0.2
}
fn default_seed() -> u64 {
    42
}
fn default_folds() -> usize {
    5
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec::Random {
            fraction: 0.2,
            seed: 42,
        }
    }
}

/// One train / test partition (row indices into [`Data`]).
#[derive(Debug, Clone, Default)]
pub struct Fold {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
    /// Lines of a split file that matched no interaction.
    pub unmatched: usize,
}

impl SplitSpec {
    /// Checks the settings.
    pub fn check(&self) -> std::result::Result<(), String> {
        match self {
            SplitSpec::Random { fraction, .. }
            | SplitSpec::UserRandom { fraction, .. }
            | SplitSpec::UserTemporal { fraction }
                if !(*fraction > 0.0 && *fraction < 1.0) =>
            {
                Err("split.fraction must be in (0, 1)".into())
            }
            SplitSpec::TimeCutoff { cutoff, .. } if parse_date(cutoff).is_none() => Err(format!(
                "split.cutoff `{cutoff}` is not a date (YYYY-MM-DD)"
            )),
            SplitSpec::Kfold { folds, files, .. } if files.is_empty() && *folds < 2 => {
                Err("split.folds must be at least 2".into())
            }
            _ => Ok(()),
        }
    }

    /// The external files the split reads.
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            SplitSpec::File { path } => vec![path.clone()],
            SplitSpec::Kfold { files, .. } => files.clone(),
            _ => Vec::new(),
        }
    }
}

/// Fails when a fold of `folds` (made by `spec` from `n` interactions)
/// has nothing to train on: a cutoff before the first interaction, or a
/// held-out fraction that rounds to all of a small set. Training on nothing
/// has no model to evaluate.
pub fn check_training_left(folds: &[Fold], spec: &SplitSpec, n: usize) -> Result<()> {
    let Some((i, fold)) = folds.iter().enumerate().find(|(_, f)| f.train.is_empty()) else {
        return Ok(());
    };
    let which = match folds.len() {
        1 => String::new(),
        k => format!(" in fold {} of {k}", i + 1),
    };
    let why = match spec {
        SplitSpec::TimeCutoff { cutoff, .. } => {
            format!("every one of the {n} interactions is at or after `cutoff` {cutoff}")
        }
        _ => format!("it holds out {} of the {n} interactions", fold.test.len()),
    };
    Err(TrainError::Params(format!(
        "`split` leaves nothing to train on{which}: {why}"
    )))
}

/// Parses `YYYY-MM-DD[...]` to unix seconds (UTC).
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp());
    }
    chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// Makes the folds of `spec` (one fold unless k-fold).
pub fn split(
    data: &Data,
    spec: &SplitSpec,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<Vec<Fold>> {
    let n = data.len();
    let all: Vec<usize> = (0..n).collect();
    Ok(match spec {
        SplitSpec::None => vec![Fold {
            train: all,
            test: Vec::new(),
            unmatched: 0,
        }],
        SplitSpec::Random { fraction, seed } => {
            let mut order = all;
            Rng::new(*seed).shuffle(&mut order);
            let cut = (n as f64 * fraction).round() as usize;
            let mut test = order[..cut].to_vec();
            let mut train = order[cut..].to_vec();
            test.sort_unstable();
            train.sort_unstable();
            vec![Fold {
                train,
                test,
                unmatched: 0,
            }]
        }
        SplitSpec::UserTemporal { fraction } => per_user_tail(data, *fraction, |rows| {
            rows.sort_by_key(|&r| (data.ts[r], data.items[r]))
        }),
        SplitSpec::UserRandom { fraction, seed } => per_user_tail(data, *fraction, |rows| {
            rows.sort_unstable();
            let u = data.users[rows[0]] as u64;
            Rng::derive(*seed, u).shuffle(rows);
        }),
        SplitSpec::TimeCutoff {
            cutoff,
            users_in_both,
        } => {
            let t = parse_date(cutoff)
                .ok_or_else(|| TrainError::Params(format!("bad cutoff `{cutoff}`")))?;
            let (train, mut test): (Vec<usize>, Vec<usize>) =
                all.into_iter().partition(|&r| data.ts[r] < t);
            if *users_in_both {
                let mut in_train = vec![false; data.n_users];
                for &r in &train {
                    in_train[data.users[r] as usize] = true;
                }
                test.retain(|&r| in_train[data.users[r] as usize]);
            }
            vec![Fold {
                train,
                test,
                unmatched: 0,
            }]
        }
        SplitSpec::File { path } => vec![file_fold(data, &resolve(path))?],
        SplitSpec::Kfold { folds, files, seed } => {
            if !files.is_empty() {
                files
                    .iter()
                    .map(|f| file_fold(data, &resolve(f)))
                    .collect::<Result<_>>()?
            } else {
                let mut order = all;
                Rng::new(*seed).shuffle(&mut order);
                let mut fold_of = vec![0usize; n];
                for (pos, &r) in order.iter().enumerate() {
                    fold_of[r] = pos % folds;
                }
                (0..*folds)
                    .map(|f| {
                        let (test, train): (Vec<usize>, Vec<usize>) =
                            (0..n).partition(|&r| fold_of[r] == f);
                        Fold {
                            train,
                            test,
                            unmatched: 0,
                        }
                    })
                    .collect()
            }
        }
    })
}

/// Holds out the last `fraction` of each user's rows after `order` arranged them
/// (at least one row, if the user has two).
fn per_user_tail(data: &Data, fraction: f64, order: impl Fn(&mut Vec<usize>)) -> Vec<Fold> {
    let mut by_user: Vec<Vec<usize>> = vec![Vec::new(); data.n_users];
    for r in 0..data.len() {
        by_user[data.users[r] as usize].push(r);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for rows in by_user.iter_mut().filter(|r| !r.is_empty()) {
        order(rows);
        let hold = if rows.len() >= 2 {
            ((rows.len() as f64 * fraction).round() as usize).clamp(1, rows.len() - 1)
        } else {
            0
        };
        let cut = rows.len() - hold;
        train.extend_from_slice(&rows[..cut]);
        test.extend_from_slice(&rows[cut..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    vec![Fold {
        train,
        test,
        unmatched: 0,
    }]
}

/// The held-out rows listed in `path`, matched by original (user, item) ids.
fn file_fold(data: &Data, path: &Path) -> Result<Fold> {
    let text = std::fs::read(path).map_err(|e| recpipe_core::CoreError::io(path, e))?;
    let text = String::from_utf8_lossy(&text);
    let uid: HashMap<&str, u32> = data
        .user_ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let iid: HashMap<&str, u32> = data
        .item_ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i as u32))
        .collect();
    let pair: HashMap<(u32, u32), usize> = (0..data.len())
        .map(|r| ((data.users[r], data.items[r]), r))
        .collect();
    let mut is_test = vec![false; data.len()];
    let (mut matched, mut unmatched) = (0, 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t').collect()
        } else if line.contains("::") {
            line.split("::").collect()
        } else if line.contains('|') {
            line.split('|').collect()
        } else {
            line.split(',').collect()
        };
        let (Some(u), Some(i)) = (fields.first(), fields.get(1)) else {
            unmatched += 1;
            continue;
        };
        let row = match (uid.get(u.trim()), iid.get(i.trim())) {
            (Some(&u), Some(&i)) => pair.get(&(u, i)).copied(),
            _ => None,
        };
        match row {
            Some(r) => {
                is_test[r] = true;
                matched += 1;
            }
            None => unmatched += 1,
        }
    }
    if matched == 0 {
        return Err(TrainError::Params(format!(
            "{}: no line matches an interaction (expected `user id, item id, ...` per line)",
            path.display()
        )));
    }
    let (test, train): (Vec<usize>, Vec<usize>) = (0..data.len()).partition(|&r| is_test[r]);
    Ok(Fold {
        train,
        test,
        unmatched,
    })
}
