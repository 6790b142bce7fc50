//! A deterministic generator of MovieLens-shaped data with planted structure.
//!
//! Users belong to hidden segments; each segment prefers a few genres and has
//! its own demographic mix. Items have genres, a year, and titles whose words
//! come from their genres. Ratings follow a low-rank model plus biases and
//! noise (`r = mu + b_u + b_i + p_u . q_i + e`, rounded to 1..5), items are
//! drawn with a Zipf-like popularity skew, and each user's hidden segment is
//! kept so that segmentation can be scored. Every user and item draws from
//! its own RNG sub-stream, so the data are the same whatever the thread count.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;
use recpipe_core::Rng;
use recpipe_core::fsutil::write_with;

use crate::error::Result;
use crate::movielens::{Layout, ML100K_GENRES};
use crate::params::SyntheticSpec;
use crate::rows::{Columns, Interactions, ItemRecord, Row, SourceData, UserRecord};

/// The 18 genres of MovieLens 1M: those of 100K without its `unknown`.
pub const GENRES: &[&str] = ML100K_GENRES.split_at(1).1;

const GENRE_WORDS: [[&str; 6]; 18] = [
    ["Fury", "Strike", "Mission", "Bullet", "Force", "Chase"],
    [
        "Quest",
        "Journey",
        "Island",
        "Treasure",
        "Voyage",
        "Expedition",
    ],
    ["Toon", "Bunny", "Dragon", "Kingdom", "Tale", "Paws"],
    ["Puppy", "Kids", "Christmas", "Family", "Friends", "Magic"],
    ["Wedding", "Crazy", "Dumb", "Party", "Vacation", "Funny"],
    ["Heist", "Mob", "Gangster", "Robbery", "Cartel", "Boss"],
    ["Story", "Life", "Planet", "Inside", "History", "Voices"],
    ["Heart", "Silence", "Memory", "Father", "River", "Letters"],
    ["Wizard", "Sword", "Spell", "Realm", "Enchanted", "Legend"],
    ["Shadow", "Noir", "Night", "Dame", "Rain", "Detective"],
    [
        "Blood",
        "Haunting",
        "Scream",
        "Curse",
        "Zombie",
        "Nightmare",
    ],
    ["Song", "Dance", "Melody", "Stage", "Rhythm", "Broadway"],
    [
        "Secret",
        "Riddle",
        "Clue",
        "Vanishing",
        "Puzzle",
        "Stranger",
    ],
    ["Love", "Kiss", "Paris", "Summer", "Romance", "Été"],
    ["Galaxy", "Robot", "Star", "Alien", "Future", "Cyborg"],
    ["Fear", "Trap", "Killer", "Edge", "Pursuit", "Witness"],
    ["Battle", "Soldier", "Front", "Glory", "Platoon", "Victory"],
    ["Outlaw", "Frontier", "Gun", "Sheriff", "Ranch", "Canyon"],
];

const FILLER: [&str; 16] = [
    "The", "Last", "Return", "City", "Blue", "Big", "Lost", "Dark", "Golden", "Wild", "Little",
    "Second", "American", "Hidden", "Broken", "Café",
];

const AGE_BANDS: [&str; 7] = ["1", "18", "25", "35", "45", "50", "56"];

const OCCUPATIONS_100K: [&str; 21] = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
];

const FACTORS: usize = 8;
const START_TS: i64 = 946_684_800; // 2000-01-01

/// One generated user: record, planted segment, ratings.
type UserDraw = (UserRecord, u16, Vec<(u32, u32, f32, i64)>);

/// A generated data set, in memory.
#[derive(Debug, Clone)]
pub struct SyntheticData {
    /// Users with demographics (ML-1M coding); id = 1-based index.
    pub users: Vec<UserRecord>,
    /// Items with titles, years and genres; id = 1-based index.
    pub items: Vec<ItemRecord>,
    /// (user index, item index, rating 1..5, unix seconds), grouped by user.
    pub ratings: Vec<(u32, u32, f32, i64)>,
    /// The hidden segment of each user.
    pub segment: Vec<u16>,
}

fn unit_vec(rng: &mut Rng, scale: f64) -> [f64; FACTORS] {
    let mut v = [0.0; FACTORS];
    for x in &mut v {
        *x = rng.normal() * scale;
    }
    v
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Moves `counts` (each in `1..=cap`) to add up to `total`, in passes
/// over the users from the first: each user that can still move takes a
/// step of the difference over their number (at least 1), within its
/// bounds. A difference smaller than the number of users (the rounding of
/// shares) is one pass, one rating to each user from the first. `total`
/// must lie in `counts.len()..=counts.len() * cap`
/// ([`SyntheticSpec::check_ratings`]); outside, the counts stop at the
/// nearest bound.
fn spread_difference(counts: &mut [u64], total: u64, cap: u64) {
    let diff = total as i128 - counts.iter().map(|&c| c as i128).sum::<i128>();
    // Counts move one way only: up towards `cap`, or down towards 1.
    let (sign, mut left) = (diff.signum(), diff.unsigned_abs());
    let room = |c: u64| if sign > 0 { cap - c } else { c - 1 } as u128;
    while left > 0 {
        let open = counts.iter().filter(|&&c| room(c) > 0).count() as u128;
        if open == 0 {
            return;
        }
        let step = (left / open).max(1);
        for c in counts.iter_mut() {
            let moved = step.min(room(*c)).min(left);
            *c = (*c as i128 + sign * moved as i128) as u64;
            left -= moved;
            if left == 0 {
                break;
            }
        }
    }
}

/// Generates a data set from `spec`.
pub fn generate(spec: &SyntheticSpec) -> SyntheticData {
    let n_genres = GENRES.len();
    let mut world = Rng::derive(spec.seed, u64::MAX);
    // Genre embeddings and popularity.
    let genre_vec: Vec<[f64; FACTORS]> = (0..n_genres)
        .map(|_| unit_vec(&mut world, 1.0 / (FACTORS as f64).sqrt()))
        .collect();
    let genre_pop: Vec<f64> = (0..n_genres)
        .map(|g| 1.0 / (1.0 + (g as f64 * 7.0) % 5.0))
        .collect();
    // Segments: favourite genres, demographic mix, sizes.
    let segs = spec.segments as usize;
    let seg_genres: Vec<Vec<f64>> = (0..segs)
        .map(|_| {
            let mut w = vec![0.3 / n_genres as f64; n_genres];
            for k in 0..3 {
                let g = world.below(n_genres as u64) as usize;
                w[g] += [0.35, 0.22, 0.13][k];
            }
            w
        })
        .collect();
    let seg_vec: Vec<[f64; FACTORS]> = seg_genres
        .iter()
        .map(|w| {
            let mut v = [0.0; FACTORS];
            for (g, wg) in w.iter().enumerate() {
                for f in 0..FACTORS {
                    v[f] += wg * genre_vec[g][f] * 2.5;
                }
            }
            v
        })
        .collect();
    let seg_female: Vec<f64> = (0..segs)
        .map(|s| 0.15 + 0.7 * ((s * 5 + 2) % segs.max(1)) as f64 / segs.max(2) as f64)
        .collect();
    let seg_age: Vec<usize> = (0..segs).map(|s| (s * 3 + 1) % AGE_BANDS.len()).collect();
    let seg_occ: Vec<[u64; 2]> = (0..segs)
        .map(|s| [(s as u64 * 4 + 1) % 21, (s as u64 * 7 + 3) % 21])
        .collect();
    let seg_size = cumulative((0..segs).map(|s| 1.0 + 0.6 * (s % 3) as f64));

    // Items.
    let n_items = spec.items as usize;
    let mut pop_rank: Vec<u32> = (0..spec.items).collect();
    world.shuffle(&mut pop_rank);
    let genre_cum = cumulative(genre_pop.iter().copied());
    let items: Vec<(ItemRecord, [f64; FACTORS], f64, f64)> = (0..n_items)
        .into_par_iter()
        .map(|i| {
            let mut r = Rng::derive(spec.seed, 1 << 40 | i as u64);
            let primary = r.weighted_index(&genre_cum);
            let mut genres = vec![primary];
            for p in [0.3, 0.1] {
                if r.next_f64() < p {
                    let g = r.weighted_index(&genre_cum);
                    if !genres.contains(&g) {
                        genres.push(g);
                    }
                }
            }
            let mut q = unit_vec(&mut r, 0.5 / (FACTORS as f64).sqrt());
            for &g in &genres {
                for f in 0..FACTORS {
                    q[f] += genre_vec[g][f] / genres.len() as f64;
                }
            }
            let year = 1995 - (r.next_f64().powi(2) * 65.0) as i32;
            let mut words: Vec<&str> = Vec::new();
            if r.next_f64() < 0.5 {
                words.push(FILLER[r.below(FILLER.len() as u64) as usize]);
            }
            words.push(GENRE_WORDS[primary][r.below(6) as usize]);
            if let Some(&g2) = genres.get(1) {
                words.push(GENRE_WORDS[g2][r.below(6) as usize]);
            } else if r.next_f64() < 0.5 {
                words.push(GENRE_WORDS[primary][r.below(6) as usize]);
            }
            let mut title = words.join(" ");
            if r.next_f64() < 0.08 {
                title = format!("{title}, The");
            }
            let popularity = 1.0 / (1.0 + pop_rank[i] as f64).powf(0.9);
            let bias =
                r.normal() * 0.35 + 0.15 * (popularity * n_items as f64).ln().clamp(-3.0, 3.0);
            let mut sorted = genres.clone();
            sorted.sort();
            let record = ItemRecord {
                id: (i + 1).to_string(),
                title: Some(format!("{title} ({year})")),
                year: Some(year),
                genres: sorted.iter().map(|&g| GENRES[g].to_string()).collect(),
                text: None,
            };
            (record, q, bias, popularity)
        })
        .collect();
    // Per-genre popularity samplers.
    let by_genre: Vec<(Vec<u32>, Vec<f64>)> = (0..n_genres)
        .map(|g| {
            let ids: Vec<u32> = (0..n_items as u32)
                .filter(|&i| items[i as usize].0.genres.iter().any(|n| n == GENRES[g]))
                .collect();
            let cum = cumulative(ids.iter().map(|&i| items[i as usize].3));
            (ids, cum)
        })
        .collect();
    let all_cum = cumulative(items.iter().map(|it| it.3));

    // Users: activity first, so the rating counts add up to spec.ratings.
    let n_users = spec.users as usize;
    let activity: Vec<f64> = (0..n_users)
        .map(|u| (Rng::derive(spec.seed, 2 << 40 | u as u64).normal() * 0.9).exp())
        .collect();
    let total: f64 = activity.iter().sum();
    let cap = spec.max_per_user();
    let mut counts: Vec<u64> = activity
        .iter()
        .map(|a| ((a / total * spec.ratings as f64).round() as u64).clamp(1, cap))
        .collect();
    spread_difference(&mut counts, spec.ratings, cap);
    let users: Vec<UserDraw> = (0..n_users)
        .into_par_iter()
        .map(|u| {
            let mut r = Rng::derive(spec.seed, 3 << 40 | u as u64);
            let seg = r.weighted_index(&seg_size);
            let female = r.next_f64() < seg_female[seg];
            let age = if r.next_f64() < 0.6 {
                seg_age[seg]
            } else {
                r.below(AGE_BANDS.len() as u64) as usize
            };
            let occ = if r.next_f64() < 0.5 {
                seg_occ[seg][r.below(2) as usize]
            } else {
                r.below(21)
            };
            let zip_head = if r.next_f64() < 0.5 {
                (seg % 10) as u64
            } else {
                r.below(10)
            };
            let user = UserRecord {
                id: (u + 1).to_string(),
                gender: Some(if female { "F" } else { "M" }.to_string()),
                age: Some(AGE_BANDS[age].to_string()),
                occupation: Some(occ.to_string()),
                zip: Some(format!("{zip_head}{:04}", r.below(10_000))),
                country: None,
            };
            let mut p = unit_vec(&mut r, 0.45 / (FACTORS as f64).sqrt());
            for f in 0..FACTORS {
                p[f] += seg_vec[seg][f];
            }
            let b_u = r.normal() * 0.3;
            let pref = cumulative(
                seg_genres[seg]
                    .iter()
                    .zip(&genre_pop)
                    .map(|(w, gp)| w * gp.sqrt()),
            );
            let n = counts[u] as usize;
            let mut seen: HashSet<u32> = HashSet::with_capacity(n * 2);
            let mut picked = Vec::with_capacity(n);
            let mut tries = 0;
            while picked.len() < n {
                tries += 1;
                let item = if tries < 20 * n + 100 {
                    let g = r.weighted_index(&pref);
                    let (ids, cum) = &by_genre[g];
                    if ids.is_empty() {
                        continue;
                    }
                    ids[r.weighted_index(cum)]
                } else {
                    r.weighted_index(&all_cum) as u32
                };
                if seen.insert(item) {
                    picked.push(item);
                }
            }
            let start = START_TS + r.below(3 * 365 * 86_400) as i64;
            let span = 86_400 * (1 + r.below(180)) as i64;
            let mut times: Vec<i64> = (0..n)
                .map(|_| start + r.below(span as u64) as i64)
                .collect();
            times.sort_unstable();
            let ratings = picked
                .iter()
                .zip(times)
                .map(|(&i, ts)| {
                    let (_, q, b_i, _) = &items[i as usize];
                    let dot: f64 = (0..FACTORS).map(|f| p[f] * q[f]).sum();
                    let x = 3.55 + b_u + b_i + 1.6 * dot + r.normal() * 0.55;
                    (u as u32, i, x.round().clamp(1.0, 5.0) as f32, ts)
                })
                .collect();
            (user, seg as u16, ratings)
        })
        .collect();
    let mut data = SyntheticData {
        users: Vec::with_capacity(n_users),
        items: items.into_iter().map(|it| it.0).collect(),
        ratings: Vec::with_capacity(spec.ratings as usize),
        segment: Vec::with_capacity(n_users),
    };
    for (user, seg, ratings) in users {
        data.users.push(user);
        data.segment.push(seg);
        data.ratings.extend(ratings);
    }
    data
}

/// The generated data as an in-memory source (no files parsed).
pub fn to_source(data: SyntheticData) -> SourceData {
    let mut inter = Interactions::default();
    for u in &data.users {
        inter.users.intern(u.id.as_bytes());
    }
    for i in &data.items {
        inter.items.intern(i.id.as_bytes());
    }
    inter.files.push("synthetic".into());
    inter.buffers.push(None);
    inter.rows = data
        .ratings
        .iter()
        .enumerate()
        .map(|(n, &(user, item, value, ts))| Row {
            user,
            item,
            value,
            ts,
            event: 0,
            quantity: 0.0,
            amount: 0.0,
            file: 0,
            line: n as u32 + 1, // below u32::MAX: the parameters say so
            offset: 0,
            len: 0,
        })
        .collect();
    inter.rows_read = inter.rows.len() as u64;
    inter.raw_users = data.users.len();
    let true_segments = data
        .users
        .iter()
        .zip(&data.segment)
        .map(|(u, &s)| (u.id.clone(), s))
        .collect();
    let mut notes = std::collections::BTreeMap::new();
    notes.insert("layout".into(), "synthetic".into());
    SourceData {
        interactions: inter,
        users: Some(data.users),
        items: Some(data.items),
        columns: Columns {
            demographics: true,
            country: false,
        },
        true_segments: Some(true_segments),
        notes,
    }
}

/// Encodes text as ISO-8859-1 (as MovieLens 1M/100K files are); characters
/// outside it become `?`.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
        .collect()
}

fn csv_quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `data` as files of a MovieLens layout into `dir`, plus
/// `true_segments.csv` (user id, segment).
pub fn write_layout(data: &SyntheticData, layout: Layout, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| recpipe_core::CoreError::io(dir, e))?;
    let genre_str = |it: &ItemRecord| it.genres.join("|");
    match layout {
        Layout::Ml1m => {
            write_with(&dir.join("ratings.dat"), |w| {
                for &(u, i, r, ts) in &data.ratings {
                    writeln!(w, "{}::{}::{}::{ts}", u + 1, i + 1, r as u8)?;
                }
                Ok(())
            })?;
            write_with(&dir.join("users.dat"), |w| {
                for u in &data.users {
                    let g = |o: &Option<String>| o.clone().unwrap_or_default();
                    writeln!(
                        w,
                        "{}::{}::{}::{}::{}",
                        u.id,
                        g(&u.gender),
                        g(&u.age),
                        g(&u.occupation),
                        g(&u.zip)
                    )?;
                }
                Ok(())
            })?;
            write_with(&dir.join("movies.dat"), |w| {
                for it in &data.items {
                    w.write_all(&latin1(&format!(
                        "{}::{}::{}\n",
                        it.id,
                        it.title.as_deref().unwrap_or(""),
                        genre_str(it)
                    )))?;
                }
                Ok(())
            })?;
        }
        Layout::Ml100k => {
            write_with(&dir.join("u.data"), |w| {
                for &(u, i, r, ts) in &data.ratings {
                    writeln!(w, "{}\t{}\t{}\t{ts}", u + 1, i + 1, r as u8)?;
                }
                Ok(())
            })?;
            write_with(&dir.join("u.user"), |w| {
                for (n, u) in data.users.iter().enumerate() {
                    let band: u32 = u.age.as_deref().and_then(|a| a.parse().ok()).unwrap_or(25);
                    let age = band.max(7) + (n as u32 % 5);
                    let occ: usize = u
                        .occupation
                        .as_deref()
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(0);
                    writeln!(
                        w,
                        "{}|{age}|{}|{}|{}",
                        u.id,
                        u.gender.as_deref().unwrap_or("M"),
                        OCCUPATIONS_100K[occ % 21],
                        u.zip.as_deref().unwrap_or("")
                    )?;
                }
                Ok(())
            })?;
            write_with(&dir.join("u.genre"), |w| {
                for (i, g) in ML100K_GENRES.iter().enumerate() {
                    writeln!(w, "{g}|{i}")?;
                }
                writeln!(w)
            })?;
            write_with(&dir.join("u.item"), |w| {
                for it in &data.items {
                    let flags: Vec<&str> = ML100K_GENRES
                        .iter()
                        .map(|g| {
                            if it.genres.iter().any(|x| x == g) {
                                "1"
                            } else {
                                "0"
                            }
                        })
                        .collect();
                    let year = it.year.unwrap_or(1995);
                    let line = format!(
                        "{}|{}|01-Jan-{year}||http://example.org/{}|{}\n",
                        it.id,
                        it.title.as_deref().unwrap_or(""),
                        it.id,
                        flags.join("|")
                    );
                    w.write_all(&latin1(&line))?;
                }
                Ok(())
            })?;
        }
        Layout::Csv => {
            write_with(&dir.join("ratings.csv"), |w| {
                writeln!(w, "userId,movieId,rating,timestamp")?;
                for &(u, i, r, ts) in &data.ratings {
                    writeln!(w, "{},{},{r:.1},{ts}", u + 1, i + 1)?;
                }
                Ok(())
            })?;
            write_with(&dir.join("movies.csv"), |w| {
                writeln!(w, "movieId,title,genres")?;
                for it in &data.items {
                    let genres = if it.genres.is_empty() {
                        "(no genres listed)".to_string()
                    } else {
                        genre_str(it)
                    };
                    writeln!(
                        w,
                        "{},{},{}",
                        it.id,
                        csv_quote(it.title.as_deref().unwrap_or("")),
                        genres
                    )?;
                }
                Ok(())
            })?;
            write_with(&dir.join("tags.csv"), |w| {
                writeln!(w, "userId,movieId,tag,timestamp")?;
                for (n, &(u, i, _, ts)) in
                    data.ratings.iter().enumerate().filter(|(n, _)| n % 50 == 0)
                {
                    let item = &data.items[i as usize];
                    let tag = item.genres.first().map_or("classic".to_string(), |g| {
                        format!("great {}", g.to_lowercase())
                    });
                    let tag = if n % 100 == 0 {
                        format!("{tag}, must see")
                    } else {
                        tag
                    };
                    writeln!(w, "{},{},{},{ts}", u + 1, i + 1, csv_quote(&tag))?;
                }
                Ok(())
            })?;
        }
    }
    write_with(&dir.join("true_segments.csv"), |w| {
        writeln!(w, "user_id,segment")?;
        for (u, s) in data.users.iter().zip(&data.segment) {
            writeln!(w, "{},{s}", u.id)?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SyntheticSpec {
        SyntheticSpec {
            seed: 7,
            users: 300,
            items: 200,
            ratings: 6_000,
            segments: 4,
        }
    }

    #[test]
    fn exact_counts_no_duplicate_pairs_and_valid_ratings() {
        let d = generate(&spec());
        assert_eq!(d.users.len(), 300);
        assert_eq!(d.items.len(), 200);
        assert_eq!(d.ratings.len(), 6_000);
        let pairs: HashSet<(u32, u32)> = d.ratings.iter().map(|r| (r.0, r.1)).collect();
        assert_eq!(pairs.len(), d.ratings.len());
        assert!(
            d.ratings
                .iter()
                .all(|r| (1.0..=5.0).contains(&r.2) && r.2.fract() == 0.0)
        );
        assert!(d.segment.iter().all(|&s| s < 4));
    }

    #[test]
    fn any_count_the_checks_allow_is_drawn_exactly() {
        // The bounds (one rating a user; half the items a user, rounded
        // down) and a skew that leaves most users at the cap or at one.
        for (users, items, ratings) in [
            (10, 1000, 5000),
            (100, 1000, 40_000),
            (10, 7, 30),
            (40, 1, 40),
            (50, 300, 50),
            (3, 3, 3),
        ] {
            let s = SyntheticSpec {
                users,
                items,
                ratings,
                ..spec()
            };
            assert_eq!(s.check_ratings(), Ok(()), "{users} x {items}: {ratings}");
            let d = generate(&s);
            assert_eq!(d.ratings.len() as u64, ratings, "{users} x {items}");
            let pairs: HashSet<(u32, u32)> = d.ratings.iter().map(|r| (r.0, r.1)).collect();
            assert_eq!(pairs.len(), d.ratings.len());
        }
        let s = |users, items, ratings| SyntheticSpec {
            users,
            items,
            ratings,
            ..spec()
        };
        assert!(s(10, 7, 31).check_ratings().is_err(), "3 a user at most");
        assert!(s(10, 7, 9).check_ratings().is_err(), "one a user at least");
    }

    #[test]
    fn a_difference_is_spread_within_the_bounds() {
        for (counts, total, cap) in [
            (vec![1, 1, 5, 5], 16, 5),
            (vec![5, 5, 5, 1], 4, 5),
            (vec![2, 3, 4], 10, 9),
            (vec![9, 9, 9], 5, 9),
            (vec![1; 1000], 9000, 9),
        ] {
            let mut c = counts.clone();
            spread_difference(&mut c, total, cap);
            assert_eq!(c.iter().sum::<u64>(), total, "{counts:?} -> {c:?}");
            assert!(c.iter().all(|&x| (1..=cap).contains(&x)), "{c:?}");
        }
        // Rounding's difference: one each from the first user.
        let mut c = vec![2, 2, 2, 2];
        spread_difference(&mut c, 10, 9);
        assert_eq!(c, [3, 3, 2, 2]);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(&spec());
        let b = generate(&spec());
        assert_eq!(a.ratings, b.ratings);
        assert_eq!(a.items, b.items);
        let c = generate(&SyntheticSpec { seed: 8, ..spec() });
        assert_ne!(a.ratings, c.ratings);
    }

    #[test]
    fn popularity_is_skewed_and_segments_differ_in_taste() {
        let d = generate(&spec());
        let mut counts = vec![0usize; 200];
        for r in &d.ratings {
            counts[r.1 as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top10: usize = counts[..20].iter().sum();
        assert!(
            top10 as f64 > 0.2 * 6_000.0,
            "top 10% of items get >20% of ratings: {top10}"
        );
        // Genre shares of two segments differ.
        let share = |seg: u16| {
            let mut g = vec![0f64; GENRES.len()];
            for r in d.ratings.iter().filter(|r| d.segment[r.0 as usize] == seg) {
                for name in &d.items[r.1 as usize].genres {
                    g[GENRES.iter().position(|x| x == name).unwrap_or(0)] += 1.0;
                }
            }
            let t: f64 = g.iter().sum();
            g.into_iter().map(|x| x / t.max(1.0)).collect::<Vec<_>>()
        };
        let (a, b) = (share(0), share(1));
        let l1: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum();
        assert!(l1 > 0.3, "segments prefer different genres: L1 {l1}");
    }
}
