//! Reading an export bundle: the answers behind `recpipe recommend`,
//! `similar`, `also-liked`, `segment` and `lookalike`.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use recpipe_core::schema::{ITEM_ID, TITLE};
use recpipe_core::{ParquetTable, Rng};
use serde::Serialize;

use crate::{ExportError, Result};

/// One line of an answer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// 1-based rank.
    pub rank: usize,
    /// Item (or user) id.
    pub id: String,
    /// Title (items) or empty.
    pub title: String,
    /// Score, lift or similarity, as the bundle stores it (f32, so that
    /// `--json` writes 0.1 where the bundle holds 0.1, not 0.10000000149).
    pub score: f32,
    /// A second figure where the list has one ([`Answer::second_name`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second: Option<f32>,
}

/// An answer to a query.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Answer {
    /// What the list is.
    pub title: String,
    /// Name of the score column.
    pub score_name: String,
    /// Name of the second figure, where the lines have one and it is the
    /// same for all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_name: Option<String>,
    /// The lines.
    pub lines: Vec<Line>,
    /// A remark for the reader (fallbacks, unknown ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A user's segment and its profile (segment_profiles.parquet).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SegmentAnswer {
    /// The user asked about.
    pub user: String,
    /// The user's segment.
    pub segment: u16,
    /// Users in the segment.
    pub users: u64,
    /// The segment's share of all users.
    pub share: f64,
    /// The profile, in the order of segment_profiles.parquet: features
    /// that differ most, then genres, items and terms by their own ranks.
    pub lines: Vec<ProfileLine>,
}

/// One line of a segment's profile: a figure in the segment, the same
/// figure over all users, and their ratio.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProfileLine {
    /// `feature` (a column's mean), `genre` (the mean share of users'
    /// interactions in the genre), `item` (the share of users who liked
    /// it) or `term` (the mean TF-IDF weight in users' text profiles).
    pub kind: String,
    /// The column, genre, item title or term.
    pub name: String,
    /// The figure in the segment.
    pub segment: f64,
    /// The figure over all users.
    pub overall: f64,
    /// `segment / overall`.
    pub lift: f64,
}

/// An export bundle on disk.
#[derive(Debug, Clone)]
pub struct Bundle {
    dir: PathBuf,
}

impl Bundle {
    /// Opens the bundle in `dir` (it must hold a manifest.json).
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.join("manifest.json").is_file() {
            return Err(ExportError::Bundle(format!(
                "{} is not an export bundle (no manifest.json); run the pipeline or pass --bundle",
                dir.display()
            )));
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
        })
    }

    /// The bundle's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> Result<std::path::PathBuf> {
        let p = self.dir.join(name);
        if !p.is_file() {
            return Err(ExportError::Bundle(format!(
                "{} has no {name}",
                self.dir.display()
            )));
        }
        Ok(p)
    }

    fn table(&self, name: &str) -> Result<ParquetTable> {
        Ok(ParquetTable::read(&self.path_of(name)?)?)
    }

    /// The rows of table `name` whose `key` equals `value`: the key column
    /// is read first, then only the row range that holds the matches (the
    /// tables are sorted by their key), so a query on a large bundle decodes
    /// a few rows, not the whole file. Returns that range as a table and
    /// the matches' positions in it; with no match, the key column alone.
    fn rows_of(&self, name: &str, key: &str, value: &str) -> Result<(ParquetTable, Vec<usize>)> {
        let path = self.path_of(name)?;
        let keys = ParquetTable::read_part(&path, Some(&[key]), None)?;
        let rows = keys.rows_equal(key, value)?;
        let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else {
            return Ok((keys, rows));
        };
        let t = ParquetTable::read_part(&path, None, Some(lo..hi + 1))?;
        Ok((t, rows.iter().map(|r| r - lo).collect()))
    }

    /// The id of the `key` column of `keys` that `value` (absent from it)
    /// was likely meant as ([`recpipe_core::names::likely_meant`]).
    fn meant(keys: &ParquetTable, key: &str, value: &str) -> Option<String> {
        let ids = keys.strings(key).ok()?;
        let mut ids: Vec<&str> = ids.iter().flatten().map(String::as_str).collect();
        // A list table repeats each id over its rows, one after another.
        ids.dedup();
        recpipe_core::names::likely_meant(value, &ids).map(str::to_string)
    }

    /// "; did you mean `X`?" after an unknown id, where [`Bundle::meant`]
    /// finds one.
    fn did_you_mean(keys: &ParquetTable, key: &str, value: &str) -> String {
        Self::meant(keys, key, value)
            .map(|id| format!("; did you mean `{id}`?"))
            .unwrap_or_default()
    }

    /// Whether the bundle's catalogue (`embeddings/ids.parquet`, every user
    /// and item the model knows) holds `id` as a `kind` (`user`, `item`):
    /// an id absent from a list table may still be known, with an empty
    /// list (a user who already has every item, the only item of a log).
    fn knows(&self, kind: &str, id: &str) -> bool {
        self.catalogue(kind, id).1
    }

    /// How many ids of `kind` the bundle's catalogue holds, and whether
    /// `id` is one of them (none, and no, if it cannot be read).
    fn catalogue(&self, kind: &str, id: &str) -> (usize, bool) {
        let Ok(t) = self.table("embeddings/ids.parquet") else {
            return (0, false);
        };
        let (Ok(kinds), Ok(ids)) = (t.utf8("kind"), t.utf8("id")) else {
            return (0, false);
        };
        let (kinds, ids) = (kinds.as_string::<i32>(), ids.as_string::<i32>());
        let of_kind = (0..ids.len()).filter(|&i| !kinds.is_null(i) && kinds.value(i) == kind);
        of_kind.fold((0, false), |(n, found), i| {
            (n + 1, found || (!ids.is_null(i) && ids.value(i) == id))
        })
    }

    /// The error for an item without a `list` (`similar items`) in the list
    /// table whose `key` column `keys` holds: known to the bundle but
    /// without neighbours, or not in it.
    fn item_without_list(
        &self,
        keys: &ParquetTable,
        key: &str,
        item: &str,
        list: &str,
    ) -> ExportError {
        let (items, known) = self.catalogue("item", item);
        if known {
            let why = match items {
                1 => "it is the bundle's only item".to_string(),
                _ => "the bundle lists none for it".to_string(),
            };
            return ExportError::Unknown(format!(
                "item `{item}` is in the bundle but has no {list}: {why}"
            ));
        }
        let hint = Self::did_you_mean(keys, key, item);
        ExportError::Unknown(format!("item `{item}` is not in the bundle{hint}"))
    }

    /// The cold-start list of a profile (`all`, `segment=3`, `gender=F`, ...).
    pub fn cold_start(&self, profile: &str, n: usize) -> Result<Answer> {
        let t = self.table("cold_start.parquet")?;
        let rows = t.rows_equal("profile", profile)?;
        if rows.is_empty() {
            let mut profiles: Vec<String> = t.strings("profile")?.into_iter().flatten().collect();
            // By key, then numbers in order before other values (occupation=2
            // before occupation=10).
            let split = |p: &str| {
                let (key, value) = p.split_once('=').unwrap_or((p, ""));
                (
                    key.to_string(),
                    value.parse::<f64>().ok(),
                    value.to_string(),
                )
            };
            profiles.sort_by(|a, b| {
                let ((ka, na, va), (kb, nb, vb)) = (split(a), split(b));
                ka.cmp(&kb).then(match (na, nb) {
                    (Some(x), Some(y)) => x.total_cmp(&y).then(va.cmp(&vb)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => va.cmp(&vb),
                })
            });
            profiles.dedup();
            return Err(ExportError::Unknown(format!(
                "no cold-start profile `{profile}` (profiles: {})",
                profiles.join(", ")
            )));
        }
        let title = format!("popular with {profile}");
        ranked_items(title, (&t, &rows), n, ("support", "support"), Some("lift"))
    }

    /// A user's top items; with `explore`, a draw from the candidates in proportion to score.
    pub fn recommend(&self, user: &str, n: usize, explore: Option<u64>) -> Result<Answer> {
        let name = if explore.is_some() {
            "candidates.parquet"
        } else {
            "recommendations.parquet"
        };
        let (t, rows) = self.rows_of(name, "user_id", user)?;
        if rows.is_empty() {
            let mut a = self.cold_start("all", n)?;
            a.note = Some(if self.knows("user", user) {
                format!(
                    "user `{user}` is in the bundle but has no recommended items (none is left \
                     outside their history): showing the cold-start list"
                )
            } else {
                let hint = Self::meant(&t, "user_id", user)
                    .map(|id| format!(" (did you mean `{id}`?)"))
                    .unwrap_or_default();
                format!(
                    "user `{user}` is not in the bundle{hint}: showing the cold-start list \
                     (recpipe recommend --profile gender=F narrows it)"
                )
            });
            return Ok(a);
        }
        let rows = match explore {
            None => rows,
            Some(seed) => {
                let scores = t.f32s("score")?;
                let lo = rows
                    .iter()
                    .map(|&r| scores[r])
                    .fold(f32::INFINITY, f32::min);
                let mut pool: Vec<usize> = rows.clone();
                let mut rng = Rng::new(seed);
                let mut picked = Vec::new();
                while picked.len() < n && !pool.is_empty() {
                    let cum: Vec<f64> = pool
                        .iter()
                        .scan(0.0, |acc, &r| {
                            *acc += (scores[r] - lo) as f64 + 1e-3;
                            Some(*acc)
                        })
                        .collect();
                    let k = rng.weighted_index(&cum);
                    picked.push(pool.remove(k));
                }
                picked
            }
        };
        let title = if explore.is_some() {
            format!("explore picks for user {user}")
        } else {
            format!("top items for user {user}")
        };
        ranked_items(title, (&t, &rows), n, ("score", "score"), None)
    }

    /// The item whose title `text` names, for a query's item that is no
    /// item's id: the item whose title equals it (case aside, with or
    /// without its year, `The Matrix` for `Matrix, The (1999)`), else the
    /// one whose title contains it. Returns its id and title; none where no
    /// title does, and an error listing them (the shortest titles first)
    /// where several do. Titles are those of the similar-item lists (every
    /// item with neighbours).
    pub fn item_titled(&self, text: &str) -> Result<Option<(String, String)>> {
        let wanted = text.trim().to_lowercase();
        let Ok(path) = self.path_of("similar_items.parquet") else {
            return Ok(None);
        };
        let t = ParquetTable::read_columns(&path, &[ITEM_ID, TITLE])?;
        if wanted.is_empty() || !t.has(TITLE) {
            return Ok(None);
        }
        // Each item once (a list table repeats its items over many rows).
        let (ids, titles) = (t.utf8(ITEM_ID)?, t.utf8(TITLE)?);
        let (ids, titles) = (ids.as_string::<i32>(), titles.as_string::<i32>());
        let mut seen = std::collections::HashSet::new();
        // Each title in the forms it matches by, lower-cased.
        let items: Vec<(&str, &str, [String; 3])> = (0..ids.len())
            .filter(|&i| !ids.is_null(i) && !titles.is_null(i))
            .map(|i| (ids.value(i), titles.value(i)))
            .filter(|&(id, _)| seen.insert(id))
            .map(|(id, title)| {
                let stem = recpipe_core::titles::title_without_year(title);
                let forms = [title.to_string(), stem.to_string(), reading_order(stem)];
                (id, title, forms.map(|f| f.to_lowercase()))
            })
            .collect();
        let matching = |equal: bool| -> Vec<(&str, &str)> {
            (items.iter())
                .filter(|(_, _, forms)| match equal {
                    true => forms.contains(&wanted),
                    false => forms.iter().any(|f| f.contains(&wanted)),
                })
                .map(|&(id, title, _)| (id, title))
                .collect()
        };
        let equal = matching(true);
        let matches = if equal.is_empty() {
            matching(false)
        } else {
            equal
        };
        match matches[..] {
            [] => Ok(None),
            [(id, title)] => Ok(Some((id.to_string(), title.to_string()))),
            _ => {
                // The shortest titles first: the nearest to the text given.
                const SHOWN: usize = 8;
                let mut matches = matches;
                matches.sort_by_key(|&(id, title)| (title.chars().count(), id));
                let shown: Vec<String> = matches
                    .iter()
                    .take(SHOWN)
                    .map(|(id, title)| format!("`{id}` {title}"))
                    .collect();
                let more = match matches.len().saturating_sub(SHOWN) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                Err(ExportError::Unknown(format!(
                    "`{text}` is no item's id and matches the titles of {} items: {}{more}; give the id",
                    matches.len(),
                    shown.join(", ")
                )))
            }
        }
    }

    /// The answer `ask` gives for the item whose title `item` names, when
    /// it is no item's id ([`Bundle::item_titled`]), with a note that says
    /// which item that is.
    fn by_title(
        &self,
        item: &str,
        ask: impl FnOnce(&str) -> Result<Answer>,
    ) -> Result<Option<Answer>> {
        if self.knows("item", item) {
            return Ok(None);
        }
        let Some((id, title)) = self.item_titled(item)? else {
            return Ok(None);
        };
        let mut answer = ask(&id)?;
        let named = format!("`{item}` is taken as the title of item {id}: {title}");
        answer.note = Some(match answer.note {
            Some(note) => format!("{named}; {note}"),
            None => named,
        });
        Ok(Some(answer))
    }

    /// Items like `item` (an id, or else a title), by factors or content.
    pub fn similar(&self, item: &str, n: usize, by: &str) -> Result<Answer> {
        let (t, all) = self.rows_of("similar_items.parquet", "source_item_id", item)?;
        if all.is_empty() {
            if let Some(answer) = self.by_title(item, |id| self.similar(id, n, by))? {
                return Ok(answer);
            }
            return Err(self.item_without_list(&t, "source_item_id", item, "similar items"));
        }
        let kinds = t.strings("kind")?;
        let rows: Vec<usize> = all
            .into_iter()
            .filter(|&r| kinds[r].as_deref() == Some(by))
            .collect();
        if rows.is_empty() {
            return Err(self.unknown_item(&t, item, by));
        }
        let title = format!("more like item {item} (by {by})");
        ranked_items(title, (&t, &rows), n, ("score", "cosine"), None)
    }

    fn unknown_item(&self, t: &ParquetTable, item: &str, by: &str) -> ExportError {
        let known = t
            .strings("source_item_id")
            .map(|v| v.iter().any(|x| x.as_deref() == Some(item)))
            .unwrap_or(false);
        let any = t
            .strings("kind")
            .map(|v| v.iter().any(|k| k.as_deref() == Some(by)))
            .unwrap_or(false);
        if known && any {
            ExportError::Unknown(format!(
                "item `{item}` has no `{by}` neighbours: no other item's text shares a term with its own \
                 (within `content_postings`)"
            ))
        } else if known {
            ExportError::Unknown(format!(
                "this bundle has no `{by}` neighbours: they come from the item TF-IDF vectors of a \
                 features stage the export needs, and here there was none or its vocabulary is empty \
                 (the items have no title or text)"
            ))
        } else {
            ExportError::Unknown(format!("item `{item}` is not in the bundle"))
        }
    }

    /// "People who liked this also liked", for `item` (an id, or else a title).
    pub fn also_liked(&self, item: &str, n: usize) -> Result<Answer> {
        let (t, rows) = self.rows_of("also_liked.parquet", "source_item_id", item)?;
        if rows.is_empty() {
            if let Some(answer) = self.by_title(item, |id| self.also_liked(id, n))? {
                return Ok(answer);
            }
            let (t, known) = self.rows_of("similar_items.parquet", "source_item_id", item)?;
            if known.is_empty() && !self.knows("item", item) {
                let hint = Self::did_you_mean(&t, "source_item_id", item);
                return Err(ExportError::Unknown(format!(
                    "item `{item}` is not in the bundle{hint}"
                )));
            }
            return Ok(Answer {
                title: format!("people who liked {item} also liked"),
                score_name: "lift".into(),
                second_name: None,
                lines: vec![],
                note: Some("too few users liked this item for a reliable list".into()),
            });
        }
        let title = format!("people who liked {item} also liked");
        ranked_items(title, (&t, &rows), n, ("score", "lift"), Some("support"))
    }

    /// The user's segment: its size and the lines of its profile.
    pub fn segment(&self, user: &str) -> Result<SegmentAnswer> {
        let seg = self.table("segments.parquet")?;
        let rows = seg.rows_equal("user_id", user)?;
        let &[r] = rows.as_slice() else {
            let hint = Self::did_you_mean(&seg, "user_id", user);
            return Err(ExportError::Unknown(format!(
                "user `{user}` is not in the bundle's segments{hint}"
            )));
        };
        let segment = seg.u16s("segment")?[r];
        let prof = self.table("segment_profiles.parquet")?;
        let (segs, kinds, names) = (
            prof.u16s("segment")?,
            prof.strings("kind")?,
            prof.strings("name")?,
        );
        let (sv, pv, lift) = (
            prof.f64s("segment_value")?,
            prof.f64s("population_value")?,
            prof.f64s("lift")?,
        );
        let mut answer = SegmentAnswer {
            user: user.to_string(),
            segment,
            users: 0,
            share: 0.0,
            lines: Vec::new(),
        };
        for i in (0..prof.num_rows()).filter(|&i| segs[i] == segment) {
            let kind = kinds[i].clone().unwrap_or_default();
            if kind == "size" {
                // The size row holds the count and, as its lift, the share.
                (answer.users, answer.share) = (sv[i] as u64, lift[i]);
                continue;
            }
            answer.lines.push(ProfileLine {
                kind,
                name: names[i].clone().unwrap_or_default(),
                segment: sv[i],
                overall: pv[i],
                lift: lift[i],
            });
        }
        Ok(answer)
    }

    /// The `n` users closest (cosine of factors) to the mean of the seed users' unit vectors.
    pub fn lookalike(&self, seeds: &[String], n: usize) -> Result<Answer> {
        let (values, rows, k) =
            crate::npy::read_f32(&self.dir.join("embeddings/user_factors.npy"))?;
        let ids_t = self.table("embeddings/ids.parquet")?;
        let (kinds, ids) = (ids_t.strings("kind")?, ids_t.strings("id")?);
        let user_ids: Vec<&str> = (0..ids_t.num_rows())
            .filter(|&i| kinds[i].as_deref() == Some("user"))
            .map(|i| ids[i].as_deref().unwrap_or(""))
            .collect();
        let index: std::collections::HashMap<&str, usize> =
            user_ids.iter().enumerate().map(|(i, s)| (*s, i)).collect();
        let unit = |u: usize| {
            let row = &values[u * k..(u + 1) * k];
            let norm = row
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            row.iter().map(move |x| x / norm)
        };
        let mut centroid = vec![0f32; k];
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for s in seeds {
            match index.get(s.as_str()) {
                Some(&u) if u < rows => {
                    for (c, x) in centroid.iter_mut().zip(unit(u)) {
                        *c += x;
                    }
                    found.push(u as u32);
                }
                _ => missing.push(s.clone()),
            }
        }
        if found.is_empty() {
            return Err(ExportError::Unknown(match seeds.len() {
                1 => format!("seed user `{}` is not in the bundle", seeds[0]),
                n => format!("none of the {n} seed users is in the bundle"),
            }));
        }
        found.sort_unstable();
        let scores: Vec<f32> = (0..rows)
            .map(|u| unit(u).zip(&centroid).map(|(a, b)| a * b).sum::<f32>() / found.len() as f32)
            .collect();
        let top =
            recpipe_core::topk::top_n(&scores, n, |u| found.binary_search(&(u as u32)).is_ok());
        let lines = top
            .into_iter()
            .enumerate()
            .map(|(r, (u, s))| Line {
                rank: r + 1,
                id: user_ids[u as usize].to_string(),
                title: String::new(),
                score: s,
                second: None,
            })
            .collect();
        let note = (!missing.is_empty()).then(|| {
            let shown: Vec<&str> = missing.iter().take(5).map(|m| m.as_str()).collect();
            let more = match missing.len() - shown.len() {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            match missing.len() {
                1 => format!("1 seed id is not in the bundle: {}", shown.join(", ")),
                n => format!(
                    "{n} seed ids are not in the bundle: {}{more}",
                    shown.join(", ")
                ),
            }
        });
        Ok(Answer {
            title: format!(
                "users most like {}",
                recpipe_core::names::counted(found.len() as u64, "seed user")
            ),
            score_name: "cosine".into(),
            second_name: None,
            lines,
            note,
        })
    }
}

/// The first `n` of `rows` of `t`, a table of items, as an answer: each
/// line's item id and title, its `score` column (shown under its name)
/// and, where given, the `second` column, shown under its own name.
fn ranked_items(
    title: String,
    (t, rows): (&ParquetTable, &[usize]),
    n: usize,
    (score_col, score_name): (&str, &str),
    second: Option<&str>,
) -> Result<Answer> {
    let ids = t.strings("item_id")?;
    let titles = if t.has("title") {
        t.strings("title")?
    } else {
        vec![None; t.num_rows()]
    };
    let scores = t.f32s(score_col)?;
    let seconds = second.map(|c| t.f32s(c)).transpose()?;
    let lines = rows
        .iter()
        .take(n)
        .enumerate()
        .map(|(r, &i)| Line {
            rank: r + 1,
            id: ids[i].clone().unwrap_or_default(),
            title: titles[i].clone().unwrap_or_default(),
            score: scores[i],
            second: seconds.as_ref().map(|s| s[i]),
        })
        .collect();
    Ok(Answer {
        title,
        score_name: score_name.into(),
        second_name: second.map(str::to_string),
        lines,
        note: None,
    })
}

/// A title MovieLens writes with its article last, in reading order:
/// `Matrix, The` as `The Matrix`; any other title as it is.
fn reading_order(stem: &str) -> String {
    for article in ["The", "A", "An"] {
        if let Some(rest) = stem.strip_suffix(article)
            && let Some(rest) = rest.strip_suffix(", ")
        {
            return format!("{article} {rest}");
        }
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::reading_order;

    #[test]
    fn titles_with_their_article_last_read_in_order() {
        assert_eq!(reading_order("Matrix, The"), "The Matrix");
        assert_eq!(reading_order("Fish Called Wanda, A"), "A Fish Called Wanda");
        assert_eq!(
            reading_order("Officer and a Gentleman, An"),
            "An Officer and a Gentleman"
        );
        assert_eq!(reading_order("Heat"), "Heat");
        assert_eq!(reading_order("Them, Theme"), "Them, Theme");
        assert_eq!(reading_order("The"), "The");
    }
}
