//! The MovieLens layouts checked against a model. ML-1M: `ratings.dat`
//! written with every kind of bad row, ratings of users and movies the other
//! two files do not list, ids with leading zeros, repeated (user, movie)
//! pairs and blank lines, grouped by user as the real file is or shuffled;
//! `users.dat` and a latin-1 `movies.dat` beside it. ML-100K: the same
//! through tabs and `|`, genres as flags named by `u.genre` or not, the
//! release date's year where a title has none. The CSV layout (latest,
//! 25M): the same ratings in half stars with a header, LF or CRLF line ends,
//! a quoted field now and then, `movies.csv` with quoted titles and
//! `tags.csv`, whose tags become the movies' text. The model applies the
//! documented rules (unknown references, then the latest rating of a pair by
//! time and line) one row at a time, and the stage's outputs must say the
//! same. Large files are parsed in several chunks.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray};
use common::{Rng, dense, dense_index, rejects_written, run_on};
use recpipe_core::ParquetTable;
use recpipe_ingest::movielens::{Layout, ML100K_GENRES};
use recpipe_ingest::synthetic::GENRES;

/// A user of `users.dat`: id, gender, age, occupation, zip.
type User = [String; 5];
/// A movie of `movies.dat`: id, title, year, genres.
type Movie = (String, String, Option<i32>, Vec<String>);
/// A row of `items.parquet`: id, title, year, genres, text.
type ItemRow = (
    String,
    Option<String>,
    Option<i32>,
    Vec<String>,
    Option<String>,
);
/// A rating that reaches the pairs: (ts, line, rating, raw text).
type PairRow<'a> = (i64, u64, f32, &'a str);

/// The release date year of every movie of `u.item`.
const RELEASE_YEAR: i32 = 1995;

/// The field separator of a layout's ratings file.
fn separator(layout: Layout) -> &'static str {
    match layout {
        Layout::Ml1m => "::",
        Layout::Ml100k => "\t",
        Layout::Csv => ",",
    }
}

/// The files of a generated data set, and what each rating means.
struct DataSet {
    layout: Layout,
    /// Line ends of the CSV layout's files: `\r\n` or `\n`.
    line_end: &'static str,
    /// The users file (not in the CSV layout).
    users: Option<Vec<User>>,
    /// Whether ML-100K's `u.genre` is written (else the stage's own list).
    genre_file: bool,
    /// `tags.csv` (CSV layout only): (movie id, tag) in file order, tags of
    /// movies not in `movies.csv` among them.
    tags: Vec<(String, String)>,
    movies: Vec<Movie>,
    /// Each record of `ratings.dat` as written, and its meaning: `None`
    /// for a blank line, else the reason it is rejected while parsing or
    /// the (user, movie, rating, time) it gives.
    ratings: Vec<(String, Option<Result<Rating, &'static str>>)>,
}

/// A rating that parses.
#[derive(Debug, Clone)]
struct Rating {
    user: String,
    movie: String,
    value: f32,
    ts: i64,
}

/// A data set of `rows` ratings from `seed`: about a twentieth of the
/// users and movies are missing from their files.
fn data_set(seed: u64, rows: usize, layout: Layout) -> DataSet {
    let mut rng = Rng::new(seed);
    let sep = separator(layout);
    let (n_users, n_movies) = (1 + rows as u64 / 15, 1 + rows as u64 / 25);
    // Id 1 always, so that no file is empty.
    let listed = |rng: &mut Rng, n: u64| {
        (1..=n)
            .filter(|&k| k == 1 || !rng.percent(5))
            .collect::<Vec<_>>()
    };
    let users: Vec<User> = listed(&mut rng, n_users)
        .into_iter()
        .map(|u| {
            [
                u.to_string(),
                rng.pick(&["F", "M"]).to_string(),
                rng.pick(&["1", "18", "25", "35", "45", "50", "56"])
                    .to_string(),
                rng.below(21).to_string(),
                format!("{:05}", rng.below(100_000)),
            ]
        })
        .collect();
    let movies: Vec<Movie> = listed(&mut rng, n_movies)
        .into_iter()
        .map(|m| {
            let year = 1930 + rng.below(70) as i32;
            let (title, year) = match rng.below(3) {
                0 => (format!("Cité {m} ({year})"), Some(year)),
                1 => (format!("Heat, The {m} ({year})"), Some(year)),
                _ => (format!("Untitled {m}"), None),
            };
            // The CSV layout writes `(no genres listed)` for none.
            let none = layout == Layout::Csv && rng.percent(10);
            let mut genres: Vec<String> = (0..if none { 0 } else { 1 + rng.below(3) })
                .map(|_| rng.pick(GENRES).to_string())
                .collect();
            genres.dedup();
            (m.to_string(), title, year, genres)
        })
        .collect();
    let mut ratings = Vec::with_capacity(rows);
    while ratings.len() < rows {
        if rng.percent(1) {
            ratings.push((String::new(), None));
            continue;
        }
        let (u, m) = (1 + rng.below(n_users + 2), 1 + rng.below(n_movies + 2));
        let user = if rng.percent(2) {
            format!("00{u}")
        } else {
            u.to_string()
        };
        // Whole stars in ML-1M ([1, 5]), half stars in CSV ([0.5, 5]).
        let value = match layout {
            Layout::Ml1m | Layout::Ml100k => (1 + rng.below(5)) as f32,
            Layout::Csv => (1 + rng.below(10)) as f32 / 2.0,
        };
        let ts = 978_300_000 + rng.below(5_000) as i64;
        let mut fields = [
            user.clone(),
            m.to_string(),
            value.to_string(),
            ts.to_string(),
        ];
        let mut written = 4;
        let split_time = format!("12{sep}5");
        let meaning = if rng.percent(15) {
            let (field, text, why) = match rng.below(9) {
                0 => (0, "", "missing_user"),
                1 => (1, "", "missing_item"),
                2 => (2, "x", "bad_rating"),
                3 => (2, "6", "rating_out_of_scale"),
                4 => (2, "0", "rating_out_of_scale"),
                5 => (3, "soon", "bad_timestamp"),
                // ML-1M: `r:::5` splits as `r`, `:5`, the first `::` of a
                // run. CSV: a quoted field is read without its quotes.
                6 if layout == Layout::Ml1m => (3, ":5", "bad_timestamp"),
                6 if layout == Layout::Csv => (3, "\"soon\"", "bad_timestamp"),
                6 => (3, "5.5", "bad_timestamp"),
                7 => (3, split_time.as_str(), "wrong_field_count"),
                _ => {
                    written = 3;
                    (3, "", "wrong_field_count")
                }
            };
            fields[field] = text.to_string();
            Err(why)
        } else {
            if layout == Layout::Csv && rng.percent(3) {
                fields[1] = format!("\"{m}\"");
            }
            Ok(Rating {
                user,
                movie: m.to_string(),
                value,
                ts,
            })
        };
        ratings.push((fields[..written].join(sep), Some(meaning)));
    }
    // The real file lists each user's ratings together.
    if rng.percent(50) {
        ratings.sort_by_key(|(_, m)| match m {
            Some(Ok(r)) => r.user.parse::<u64>().unwrap_or(0),
            _ => 0,
        });
    }
    // Tags, some with a comma or blanks around them, some of movies that
    // are not listed (they are rejected as unknown items).
    let tags = match layout {
        Layout::Ml1m | Layout::Ml100k => Vec::new(),
        Layout::Csv => (0..rows / 10)
            .map(|k| {
                let m = 1 + rng.below(n_movies + 2);
                let tag = match rng.below(3) {
                    0 => format!("dark, funny {k}"),
                    1 => format!(" twist {k} "),
                    _ => format!("quote\"{k}"),
                };
                (m.to_string(), tag)
            })
            .collect(),
    };
    DataSet {
        layout,
        tags,
        line_end: if layout == Layout::Csv && rng.percent(50) {
            "\r\n"
        } else {
            "\n"
        },
        users: (layout != Layout::Csv).then_some(users),
        genre_file: rng.percent(50),
        movies,
        ratings,
    }
}

/// What the stage must write, in the shape both sides are read into.
#[derive(Debug, PartialEq)]
struct Outputs {
    /// (line, reason, raw text), by line.
    rejects: Vec<(u64, String, String)>,
    /// `users.parquet`: id, gender, age, occupation, zip.
    users: Vec<Vec<Option<String>>>,
    /// `items.parquet`: id, title, year, genres.
    items: Vec<ItemRow>,
    /// (user_idx, item_idx, value, ts), sorted by (user_idx, ts, item_idx).
    interactions: Vec<(u32, u32, f32, i64)>,
    rows_read: u64,
    rows_kept: u64,
}

/// What the documented rules give for `data`.
fn model(data: &DataSet) -> Outputs {
    let known_users: Option<HashSet<&str>> =
        (data.users.as_ref()).map(|u| u.iter().map(|u| u[0].as_str()).collect());
    let known_movies: HashSet<&str> = data.movies.iter().map(|m| m.0.as_str()).collect();
    let mut rejects = Vec::new();
    let mut pairs: BTreeMap<(&str, &str), Vec<PairRow<'_>>> = BTreeMap::new();
    let mut rows_read = 0;
    for (k, (text, meaning)) in data.ratings.iter().enumerate() {
        let line = k as u64 + if data.layout == Layout::Csv { 2 } else { 1 };
        match meaning {
            None => continue,
            Some(Err(why)) => rejects.push((line, why.to_string(), text.clone())),
            Some(Ok(r))
                if known_users
                    .as_ref()
                    .is_some_and(|k| !k.contains(r.user.as_str())) =>
            {
                rejects.push((line, "unknown_user".into(), text.clone()))
            }
            Some(Ok(r)) if !known_movies.contains(r.movie.as_str()) => {
                rejects.push((line, "unknown_item".into(), text.clone()))
            }
            Some(Ok(r)) => pairs
                .entry((&r.user, &r.movie))
                .or_default()
                .push((r.ts, line, r.value, text)),
        }
        rows_read += 1;
    }
    // The latest rating of a pair (by time, then line) is kept.
    let mut kept: Vec<((&str, &str), f32, i64)> = Vec::new();
    for (&pair, rows) in &mut pairs {
        rows.sort_by_key(|&(ts, line, _, _)| (ts, line));
        let (last, earlier) = rows.split_last().expect("a row");
        for &(_, line, _, raw) in earlier {
            rejects.push((line, "duplicate_pair".into(), raw.to_string()));
        }
        kept.push((pair, last.2, last.0));
    }
    rejects.sort_by_key(|r| r.0);
    // Then tags.csv's: a tag of a movie the movies file does not list.
    for (k, (movie, tag)) in data.tags.iter().enumerate() {
        if !known_movies.contains(movie.as_str()) {
            let raw = tag_line(movie, tag);
            rejects.push((k as u64 + 2, "unknown_item".into(), raw));
        }
    }
    // Every user and movie of the files is listed, rated or not; without a
    // users file, the users who rated.
    let users = match &known_users {
        Some(known) => dense(known.iter().map(|u| u.to_string())),
        None => dense(kept.iter().map(|((u, _), _, _)| u.to_string())),
    };
    let items = dense(known_movies.iter().map(|m| m.to_string()));
    let (user_idx, item_idx) = (dense_index(&users), dense_index(&items));
    let mut interactions: Vec<(u32, u32, f32, i64)> = kept
        .iter()
        .map(|&((u, m), value, ts)| (user_idx[u], item_idx[m], value, ts))
        .collect();
    interactions.sort_by_key(|r| (r.0, r.3, r.1));
    let user_of: HashMap<&str, &User> = (data.users.iter().flatten())
        .map(|u| (u[0].as_str(), u))
        .collect();
    let movie_of: HashMap<&str, &Movie> = data.movies.iter().map(|m| (m.0.as_str(), m)).collect();
    // Each movie's tags, trimmed, in file order (joined by a space).
    let mut tags_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (movie, tag) in &data.tags {
        tags_of.entry(movie).or_default().push(tag.trim());
    }
    Outputs {
        rejects,
        users: users
            .iter()
            .map(|u| match user_of.get(u.as_str()) {
                Some(fields) => fields.iter().map(|f| Some(f.clone())).collect(),
                None => vec![Some(u.clone())],
            })
            .collect(),
        items: items
            .iter()
            .map(|m| {
                let (id, title, year, genres) = movie_of[m.as_str()];
                let text = tags_of.get(id.as_str()).map(|tags| tags.join(" "));
                // ML-100K's genres are flags: listed in the flags' order.
                let genres = match data.layout {
                    Layout::Ml100k => (ML100K_GENRES.iter())
                        .filter(|g| genres.iter().any(|x| x == *g))
                        .map(|g| g.to_string())
                        .collect(),
                    _ => genres.clone(),
                };
                // ML-100K falls back on the release date's year.
                let year = match data.layout {
                    Layout::Ml100k => year.or(Some(RELEASE_YEAR)),
                    _ => *year,
                };
                (id.clone(), Some(title.clone()), year, genres, text)
            })
            .collect(),
        interactions,
        rows_read,
        rows_kept: kept.len() as u64,
    }
}

/// A line of tags.csv: user 7 tagged `movie` with `tag`.
fn tag_line(movie: &str, tag: &str) -> String {
    let quoted = match tag.contains([',', '"']) {
        true => format!("\"{}\"", tag.replace('"', "\"\"")),
        false => tag.to_string(),
    };
    format!("7,{movie},{quoted},1100000000")
}

/// What the stage wrote into `dir`.
fn written(dir: &std::path::Path, report: &serde_json::Value, layout: Layout) -> Outputs {
    let table = |name: &str| ParquetTable::read(&dir.join(name)).expect(name);
    let strings = |t: &ParquetTable, c: &str| t.strings(c).expect(c);
    let (users, items, inter) = (
        table("users.parquet"),
        table("items.parquet"),
        table("interactions.parquet"),
    );
    let user_columns: Vec<Vec<Option<String>>> = match layout {
        Layout::Ml1m | Layout::Ml100k => &["user_id", "gender", "age", "occupation", "zip"][..],
        Layout::Csv => &["user_id"][..],
    }
    .iter()
    .map(|c| strings(&users, c))
    .collect();
    let years = items.column("year").expect("year");
    let years = years.as_primitive::<arrow::datatypes::Int32Type>();
    let (u, i, v, ts) = (
        inter.u32s("user_idx").expect("u"),
        inter.u32s("item_idx").expect("i"),
        inter.f32s("value").expect("v"),
        inter.i64s("ts").expect("ts"),
    );
    assert!(
        strings(&inter, "event").iter().all(Option::is_none),
        "ratings have no event"
    );
    let n = |key: &str| report[key].as_u64().expect(key);
    assert_eq!(n("rows_read"), n("rows_kept") + n("rows_rejected"));
    Outputs {
        rejects: rejects_written(dir),
        users: (0..users.num_rows())
            .map(|r| user_columns.iter().map(|c| c[r].clone()).collect())
            .collect(),
        items: strings(&items, "item_id")
            .into_iter()
            .zip(strings(&items, "title"))
            .zip(items.string_lists("genres").expect("genres"))
            .zip(strings(&items, "text"))
            .enumerate()
            .map(|(k, (((id, title), genres), text))| {
                let year = (!years.is_null(k)).then(|| years.value(k));
                (id.expect("id"), title, year, genres, text)
            })
            .collect(),
        interactions: (0..u.len()).map(|k| (u[k], i[k], v[k], ts[k])).collect(),
        rows_read: n("rows_read"),
        rows_kept: n("rows_kept"),
    }
}

/// `text` in ISO-8859-1, as movies.dat and u.item are written: `é` is one
/// byte.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(c).expect("latin-1"))
        .collect()
}

/// Writes the files of `data` into `dir`.
fn write_files(data: &DataSet, dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let end = data.line_end;
    let lines = |rows: Vec<String>| rows.iter().map(|r| format!("{r}{end}")).collect::<String>();
    let ratings = lines(data.ratings.iter().map(|(text, _)| text.clone()).collect());
    match data.layout {
        Layout::Ml1m => {
            let users = data.users.iter().flatten().map(|u| u.join("::")).collect();
            let movies = lines(
                data.movies
                    .iter()
                    .map(|(id, title, _, genres)| format!("{id}::{title}::{}", genres.join("|")))
                    .collect(),
            );
            std::fs::write(dir.join("users.dat"), lines(users)).expect("write");
            std::fs::write(dir.join("movies.dat"), latin1(&movies)).expect("write");
            std::fs::write(dir.join("ratings.dat"), ratings).expect("write");
        }
        Layout::Ml100k => {
            // u.user: id|age|gender|occupation|zip.
            let users = (data.users.iter().flatten())
                .map(|[id, gender, age, occupation, zip]| {
                    format!("{id}|{age}|{gender}|{occupation}|{zip}")
                })
                .collect();
            // u.item: id|title|release date|video release date|URL|19 flags.
            let movies = lines(
                data.movies
                    .iter()
                    .map(|(id, title, _, genres)| {
                        let flags: Vec<&str> = ML100K_GENRES
                            .iter()
                            .map(|g| {
                                if genres.iter().any(|x| x == g) {
                                    "1"
                                } else {
                                    "0"
                                }
                            })
                            .collect();
                        let date = format!("01-Jan-{RELEASE_YEAR}");
                        format!("{id}|{title}|{date}||http://x|{}", flags.join("|"))
                    })
                    .collect(),
            );
            std::fs::write(dir.join("u.user"), lines(users)).expect("write");
            std::fs::write(dir.join("u.item"), latin1(&movies)).expect("write");
            std::fs::write(dir.join("u.data"), ratings).expect("write");
            if data.genre_file {
                let genres = (ML100K_GENRES.iter().enumerate())
                    .map(|(i, g)| format!("{g}|{i}"))
                    .collect();
                std::fs::write(dir.join("u.genre"), lines(genres)).expect("write");
            }
        }
        Layout::Csv => {
            let movies: Vec<String> = data
                .movies
                .iter()
                .map(|(id, title, _, genres)| {
                    let title = if title.contains(',') {
                        format!("\"{title}\"")
                    } else {
                        title.clone()
                    };
                    let genres = match genres.is_empty() {
                        true => "(no genres listed)".to_string(),
                        false => genres.join("|"),
                    };
                    format!("{id},{title},{genres}")
                })
                .collect();
            let header = |h: &str| format!("{h}{end}");
            std::fs::write(
                dir.join("movies.csv"),
                header("movieId,title,genres") + &lines(movies),
            )
            .expect("write");
            std::fs::write(
                dir.join("ratings.csv"),
                header("userId,movieId,rating,timestamp") + &ratings,
            )
            .expect("write");
            let tags: Vec<String> = (data.tags.iter())
                .map(|(movie, tag)| tag_line(movie, tag))
                .collect();
            std::fs::write(
                dir.join("tags.csv"),
                header("userId,movieId,tag,timestamp") + &lines(tags),
            )
            .expect("write");
        }
    }
}

/// Writes the data set of `seed` in `layout`, ingests it on `threads`
/// threads and compares the outputs with the model.
fn check(seed: u64, rows: usize, threads: usize, layout: Layout) {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = data_set(seed, rows, layout);
    let dir = tmp.path().join("data");
    write_files(&data, &dir);
    let out = tmp.path().join("out");
    // Any share of bad rows: the limit on it is the events model's to check.
    let yaml = format!(
        "{{source: movielens, path: {}, max_rejected_fraction: 1}}",
        dir.display()
    );
    let result = run_on(threads, &yaml, &out);
    let want = model(&data);
    if want.rows_kept == 0 {
        let err = result.expect_err("nothing to keep").to_string();
        assert!(err.contains("all rejected"), "{err}");
        return;
    }
    let report = result.expect("ingest");
    assert_eq!(report["notes"]["layout"], layout.name());
    let got = written(&out, &report, layout);
    assert_eq!(got.rows_read, want.rows_read, "rows read");
    assert_eq!(got.rejects, want.rejects, "rejects");
    assert_eq!(got.users, want.users, "users");
    assert_eq!(got.items, want.items, "items");
    assert_eq!(got.interactions, want.interactions, "interactions");
    assert_eq!(got, want);
}

#[test]
fn ratings_parsed_in_several_chunks_give_what_the_model_gives() {
    // About 2.5 MB of ratings: at least two chunks whatever the threads;
    // the seeds shuffle the users or leave them grouped, and write the CSV
    // layout with LF or CRLF.
    for (seed, threads) in [(1, 1), (2, 2), (3, 3)] {
        for layout in [Layout::Ml1m, Layout::Ml100k, Layout::Csv] {
            check(seed, 120_000, threads, layout);
        }
    }
}

#[test]
fn small_rating_files_give_what_the_model_gives() {
    for seed in 0..40 {
        for layout in [Layout::Ml1m, Layout::Ml100k, Layout::Csv] {
            check(seed, 20 + seed as usize * 7, 2, layout);
        }
    }
}
