//! The three public MovieLens layouts, detected from a folder's files.
//!
//! - 1M: `ratings.dat`, `users.dat`, `movies.dat`, `::` separated, ISO-8859-1.
//! - 100K: `u.data` (tab), `u.user` and `u.item` (`|`), `u.genre` names the 19 genre flags.
//! - latest/25M: `ratings.csv`, `movies.csv` (quoted titles), optional `tags.csv`; no demographics.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{IngestError, Result};
use crate::ids::{FastMap, normalize_id};
use crate::params::IngestParams;
use crate::records::{
    Format, Record, check_line_count, decode_text, header, non_empty_text, par_parse,
};
use crate::rows::{
    ChunkRows, Columns, Interactions, ItemRecord, Reason, Row, SourceData, UserRecord,
    field_count_detail, parse_side_records,
};
use crate::source_file::{SourceBytes, read_file};
use crate::text::{parse_f64, parse_i64};
use recpipe_core::titles::year_from_title;

/// A MovieLens layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// MovieLens 1M (`ratings.dat`, `::`).
    Ml1m,
    /// MovieLens 100K (`u.data`).
    Ml100k,
    /// MovieLens latest / 20M / 25M (`ratings.csv`).
    Csv,
}

impl Layout {
    /// The layout's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Ml1m => "ml-1m",
            Layout::Ml100k => "ml-100k",
            Layout::Csv => "csv",
        }
    }
}

/// The 19 genre names of MovieLens 100K, used when `u.genre` is absent.
pub const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Detects the layout of `dir` from the files it holds.
pub fn detect(dir: &Path) -> Result<Layout> {
    if !dir.is_dir() {
        return Err(IngestError::MissingFile {
            path: dir.to_path_buf(),
            what: "a MovieLens folder".into(),
        });
    }
    if dir.join("ratings.dat").is_file() {
        Ok(Layout::Ml1m)
    } else if dir.join("u.data").is_file() {
        Ok(Layout::Ml100k)
    } else if dir.join("ratings.csv").is_file() {
        Ok(Layout::Csv)
    } else {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| recpipe_core::CoreError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        found.sort();
        found.truncate(12);
        Err(IngestError::UnknownLayout {
            path: dir.to_path_buf(),
            found: if found.is_empty() {
                "nothing".into()
            } else {
                found.join(", ")
            },
        })
    }
}

/// The files a layout reads (for input hashing), the optional ones only if present.
pub fn input_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let names: &[&str] = match detect(dir)? {
        Layout::Ml1m => &["ratings.dat", "users.dat", "movies.dat"],
        Layout::Ml100k => &["u.data", "u.user", "u.item", "u.genre"],
        Layout::Csv => &["ratings.csv", "movies.csv", "tags.csv"],
    };
    Ok(names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| p.is_file())
        .collect())
}

/// Reads a MovieLens folder.
pub fn read(dir: &Path, params: &IngestParams) -> Result<SourceData> {
    let layout = detect(dir)?;
    let scale = params.rating_scale.unwrap_or(match layout {
        Layout::Csv => [0.5, 5.0],
        _ => [1.0, 5.0],
    });
    let mut data = SourceData::default();
    data.notes.insert("layout".into(), layout.name().into());
    let (ratings, format, has_header) = match layout {
        Layout::Ml1m => ("ratings.dat", Format::Separated("::"), false),
        Layout::Ml100k => ("u.data", Format::Separated("\t"), false),
        Layout::Csv => ("ratings.csv", Format::Csv(b','), true),
    };
    read_ratings(
        &mut data.interactions,
        &dir.join(ratings),
        format,
        has_header,
        scale,
    )?;
    match layout {
        Layout::Ml1m => {
            data.users = Some(read_users(
                &mut data.interactions,
                &dir.join("users.dat"),
                Format::Separated("::"),
                [1, 2, 3, 4],
            )?);
            data.items = Some(read_movies_dat(
                &mut data.interactions,
                &dir.join("movies.dat"),
            )?);
            data.columns = Columns {
                demographics: true,
                country: false,
            };
        }
        Layout::Ml100k => {
            data.users = Some(read_users(
                &mut data.interactions,
                &dir.join("u.user"),
                Format::Separated("|"),
                [2, 1, 3, 4],
            )?);
            data.items = Some(read_u_item(&mut data.interactions, dir)?);
            data.columns = Columns {
                demographics: true,
                country: false,
            };
        }
        Layout::Csv => {
            let mut items = read_movies_csv(&mut data.interactions, &dir.join("movies.csv"))?;
            let tags = dir.join("tags.csv");
            if tags.is_file() {
                add_tags(&mut data.interactions, &tags, &mut items)?;
            }
            data.items = Some(items);
        }
    }
    Ok(data)
}

fn add_file(inter: &mut Interactions, path: &Path, buf: Option<Arc<SourceBytes>>) -> u16 {
    inter.files.push(path.to_path_buf());
    inter.buffers.push(buf);
    (inter.files.len() - 1) as u16
}

/// Parses `user, item, rating, timestamp` rows.
fn read_ratings(
    inter: &mut Interactions,
    path: &Path,
    format: Format,
    has_header: bool,
    scale: [f32; 2],
) -> Result<()> {
    let buf = read_file(path, "ratings")?;
    check_line_count(path, &buf)?;
    let file = add_file(inter, path, Some(buf.clone()));
    let (start, line) = if has_header {
        let (_, start, line) = header(&buf, format).ok_or_else(|| IngestError::EmptyFile {
            path: path.to_path_buf(),
        })?;
        (start, line)
    } else {
        (0, 1)
    };
    let base = buf.as_ptr() as usize;
    let chunks = par_parse(
        &buf,
        start,
        line,
        format,
        |lines| ChunkRows::in_buffer(&buf, lines),
        |st, rec: Record<'_, '_>| {
            let offset = rec.raw.as_ptr() as usize - base;
            if rec.fields.len() != 4 {
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::WrongFieldCount,
                    field_count_detail(4, rec.fields.len(), rec.raw),
                );
                return;
            }
            let user = normalize_id(rec.fields[0], false);
            let item = normalize_id(rec.fields[1], false);
            if user.is_empty() {
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::MissingUser,
                    "empty user id",
                );
                return;
            }
            if item.is_empty() {
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::MissingItem,
                    "empty item id",
                );
                return;
            }
            let Some(rating) = parse_f64(rec.fields[2]) else {
                let v = decode_text(rec.fields[2]).into_owned();
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::BadRating,
                    format!("rating `{v}` is not a number"),
                );
                return;
            };
            let rating = rating as f32;
            if rating < scale[0] || rating > scale[1] {
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::RatingOutOfScale,
                    format!("{rating} is outside [{}, {}]", scale[0], scale[1]),
                );
                return;
            }
            let Some(ts) = parse_i64(rec.fields[3]) else {
                let v = decode_text(rec.fields[3]).into_owned();
                st.reject(
                    file,
                    rec.line,
                    rec.raw,
                    Reason::BadTimestamp,
                    format!("timestamp `{v}` is not unix seconds"),
                );
                return;
            };
            let (user, item) = (st.users.intern(user), st.items.intern(item));
            st.push(Row {
                user,
                item,
                value: rating,
                ts,
                event: 0,
                quantity: 0.0,
                amount: 0.0,
                file,
                line: rec.line as u32, // within u32: checked above
                offset: offset as u64,
                len: rec.raw.len() as u32,
            });
        },
        ChunkRows::shift_lines,
    );
    inter.absorb_chunks(chunks);
    inter.raw_users = inter.users.len();
    Ok(())
}

/// Parses a catalog file on every core ([`parse_side_records`]): a record
/// of `fields` fields goes to `make`, which gives its value, nothing (a
/// record to pass over) or why it is rejected; one of another field count
/// is rejected.
fn read_catalog<T: Send>(
    inter: &mut Interactions,
    path: &Path,
    what: &str,
    format: Format,
    (has_header, fields): (bool, usize),
    make: impl Fn(&Record<'_, '_>) -> std::result::Result<Option<T>, (Reason, String)> + Sync,
    key: impl Fn(&T) -> Option<String>,
) -> Result<Vec<T>> {
    let buf = read_file(path, what)?;
    let file = add_file(inter, path, None);
    let (start, line) = if has_header {
        let (_, start, line) = header(&buf, format).ok_or_else(|| IngestError::EmptyFile {
            path: path.to_path_buf(),
        })?;
        (start, line)
    } else {
        (0, 1)
    };
    let (out, rejects) = parse_side_records(&buf, (start, line), format, (file, fields), make, key);
    inter.rejects.extend(rejects);
    Ok(out)
}

fn id_of(
    rec: &Record<'_, '_>,
    i: usize,
    reason: Reason,
) -> std::result::Result<String, (Reason, String)> {
    id_text(rec, i, reason).map(Cow::into_owned)
}

/// Field `i` of `rec` as an id, or `reason` if it is empty.
fn id_text<'a>(
    rec: &Record<'a, '_>,
    i: usize,
    reason: Reason,
) -> std::result::Result<Cow<'a, str>, (Reason, String)> {
    let id = normalize_id(rec.fields[i], false);
    if id.is_empty() {
        return Err((reason, "empty id".into()));
    }
    Ok(decode_text(id))
}

/// users.dat / u.user; `order` gives the field index of gender, age, occupation, zip.
fn read_users(
    inter: &mut Interactions,
    path: &Path,
    format: Format,
    order: [usize; 4],
) -> Result<Vec<UserRecord>> {
    read_catalog(
        inter,
        path,
        "users",
        format,
        (false, 5),
        |rec| {
            Ok(Some(UserRecord {
                id: id_of(rec, 0, Reason::MissingUser)?,
                gender: non_empty_text(rec.fields[order[0]]),
                age: non_empty_text(rec.fields[order[1]]),
                occupation: non_empty_text(rec.fields[order[2]]),
                zip: non_empty_text(rec.fields[order[3]]),
                country: None,
            }))
        },
        user_id,
    )
}

/// A user's id, the key of a users file.
fn user_id(user: &UserRecord) -> Option<String> {
    Some(user.id.clone())
}

/// An item's id, the key of an items file.
fn item_id(item: &ItemRecord) -> Option<String> {
    Some(item.id.clone())
}

fn genres_of(field: &[u8]) -> Vec<String> {
    crate::records::pipe_list(&decode_text(field))
        .filter(|g| *g != "(no genres listed)")
        .map(str::to_string)
        .collect()
}

fn movie(id: String, title: &[u8], genres: Vec<String>) -> ItemRecord {
    let title = non_empty_text(title);
    let year = title.as_deref().and_then(year_from_title);
    ItemRecord {
        id,
        title,
        year,
        genres,
        text: None,
    }
}

fn read_movies_dat(inter: &mut Interactions, path: &Path) -> Result<Vec<ItemRecord>> {
    read_catalog(
        inter,
        path,
        "movies",
        Format::Separated("::"),
        (false, 3),
        movie_of_record,
        item_id,
    )
}

/// A movie of movies.dat or movies.csv: id, title, `|`-separated genres.
fn movie_of_record(
    rec: &Record<'_, '_>,
) -> std::result::Result<Option<ItemRecord>, (Reason, String)> {
    Ok(Some(movie(
        id_of(rec, 0, Reason::MissingItem)?,
        rec.fields[1],
        genres_of(rec.fields[2]),
    )))
}

fn read_movies_csv(inter: &mut Interactions, path: &Path) -> Result<Vec<ItemRecord>> {
    read_catalog(
        inter,
        path,
        "movies",
        Format::Csv(b','),
        (true, 3),
        movie_of_record,
        item_id,
    )
}

fn read_u_item(inter: &mut Interactions, dir: &Path) -> Result<Vec<ItemRecord>> {
    let genre_path = dir.join("u.genre");
    let names: Vec<String> = if genre_path.is_file() {
        let buf =
            std::fs::read(&genre_path).map_err(|e| recpipe_core::CoreError::io(&genre_path, e))?;
        let mut pairs: Vec<(usize, String)> = decode_text(&buf)
            .lines()
            .filter_map(|l| {
                let (name, idx) = l.trim().rsplit_once('|')?;
                Some((idx.trim().parse().ok()?, name.to_string()))
            })
            .collect();
        pairs.sort();
        pairs.into_iter().map(|(_, n)| n).collect()
    } else {
        ML100K_GENRES.iter().map(|s| s.to_string()).collect()
    };
    let n = names.len();
    read_catalog(
        inter,
        &dir.join("u.item"),
        "items",
        Format::Separated("|"),
        (false, 5 + n),
        |rec| {
            let id = id_of(rec, 0, Reason::MissingItem)?;
            let mut genres = Vec::new();
            for (g, name) in names.iter().enumerate() {
                match rec.fields[5 + g] {
                    b"1" => genres.push(name.clone()),
                    b"0" => {}
                    other => {
                        return Err((
                            Reason::WrongFieldCount,
                            format!(
                                "genre flag `{}` for {name} is not 0 or 1",
                                decode_text(other)
                            ),
                        ));
                    }
                }
            }
            let mut item = movie(id, rec.fields[1], genres);
            if item.year.is_none() {
                // Fall back on the release date, e.g. 01-Jan-1995.
                let date = decode_text(rec.fields[2]);
                item.year = date
                    .rsplit('-')
                    .next()
                    .and_then(|y| y.trim().parse().ok())
                    .filter(|y| *y > 1800);
            }
            Ok(Some(item))
        },
        item_id,
    )
}

/// tags.csv: the tag text of each movie is appended to the item's text.
fn add_tags(inter: &mut Interactions, path: &Path, items: &mut [ItemRecord]) -> Result<()> {
    // Each tag goes to its item's index as it is parsed; a tag of an item
    // the movies file does not list is rejected, an empty one passed over.
    let tags = {
        let index: FastMap<&str, usize> = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.id.as_str(), i))
            .collect();
        let tag = |rec: &Record<'_, '_>| {
            let item = id_text(rec, 1, Reason::MissingItem)?;
            let Some(&i) = index.get(&*item) else {
                let detail = format!("item `{item}` is not in the movies file");
                return Err((Reason::UnknownItem, detail));
            };
            Ok(non_empty_text(rec.fields[2]).map(|text| (i, text)))
        };
        read_catalog(
            inter,
            path,
            "tags",
            Format::Csv(b','),
            (true, 4),
            tag,
            |_| None,
        )?
    };
    for (i, tag) in tags {
        let text = items[i].text.get_or_insert_with(String::new);
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&tag);
    }
    Ok(())
}
