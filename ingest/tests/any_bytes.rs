//! Whatever bytes the source files hold, the stage gives a report or an
//! error, never a panic; and when it gives a report, every row read is
//! either kept or rejected. The bytes are drawn mostly from what structures
//! these files (delimiters, quotes, CR and LF, digits, a latin-1 byte, NUL),
//! for each source layout; large files mix valid rows with such noise so
//! that unbalanced quotes fall on the cuts between chunks.

mod common;

use std::path::Path;

use common::{Rng, run_on};
use proptest::prelude::*;

/// Bytes that give these files their structure, and a few that break it.
const ALPHABET: &[u8] = b"01239aZ,,::||\t\"\"\n\n\r .-\xe9\xff\x00";

/// `n` bytes of noise.
fn noise(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| *rng.pick(ALPHABET)).collect()
}

/// A file of `rows` lines, each valid (`valid(k)`) or, one time in `noisy`,
/// noise.
fn mixed(rng: &mut Rng, rows: usize, noisy: u64, valid: impl Fn(usize) -> String) -> Vec<u8> {
    let mut out = Vec::new();
    for k in 0..rows {
        if rng.below(noisy) == 0 {
            let n = rng.below(40) as usize;
            out.extend(noise(rng, n));
        } else {
            out.extend(valid(k).bytes());
        }
        out.push(b'\n');
    }
    out
}

/// A valid rating line of the MovieLens layouts, fields joined by `sep`.
fn rating(sep: &'static str) -> impl Fn(usize) -> String {
    move |k| format!("{}{sep}{}{sep}{}{sep}97830{k}", k % 97, k % 61, 1 + k % 5)
}

/// The files of one source in `dir` and the stage's `with:` block for them.
fn source(kind: u64, dir: &Path, rng: &mut Rng, rows: usize, noisy: u64) -> String {
    std::fs::create_dir_all(dir).expect("mkdir");
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).expect("write");
    match kind {
        0 => {
            let mut log = b"user,item,ts,qty,title\n".to_vec();
            log.extend(mixed(rng, rows, noisy, |k| {
                format!(
                    "{},{},{},{},\"a, {k}\"",
                    k % 97,
                    k % 61,
                    1_000_000 + k,
                    1 + k % 3
                )
            }));
            write("log.csv", log);
            let path = dir.join("log.csv");
            format!(
                "{{source: events, path: {}, drop_duplicate_rows: true, columns: {{user: user, item: item, timestamp: ts, quantity: qty, title: title}}}}",
                path.display()
            )
        }
        1 => {
            write("ratings.dat", mixed(rng, rows, noisy, rating("::")));
            write(
                "users.dat",
                mixed(rng, 97, noisy, |k| format!("{k}::F::1::2::0")),
            );
            write(
                "movies.dat",
                mixed(rng, 61, noisy, |k| format!("{k}::Cit\u{e9} ({k})::Drama")),
            );
            format!("{{source: movielens, path: {}}}", dir.display())
        }
        2 => {
            write("u.data", mixed(rng, rows, noisy, rating("\t")));
            write(
                "u.user",
                mixed(rng, 97, noisy, |k| format!("{k}|24|M|writer|85711")),
            );
            let flags = "|0".repeat(18);
            write(
                "u.item",
                mixed(rng, 61, noisy, |k| {
                    format!("{k}|Heat ({k})|01-Jan-1995||http://x|1{flags}")
                }),
            );
            format!("{{source: movielens, path: {}}}", dir.display())
        }
        _ => {
            let mut ratings = b"userId,movieId,rating,timestamp\r\n".to_vec();
            ratings.extend(mixed(rng, rows, noisy, rating(",")));
            write("ratings.csv", ratings);
            let mut movies = b"movieId,title,genres\n".to_vec();
            movies.extend(mixed(rng, 61, noisy, |k| {
                format!("{k},\"Heat, The ({k})\",Drama")
            }));
            write("movies.csv", movies);
            format!("{{source: movielens, path: {}}}", dir.display())
        }
    }
}

/// Ingests source `kind` made from `seed`; fails only on a panic or on a
/// report whose rows do not add up.
fn check(kind: u64, seed: u64, rows: usize, noisy: u64) {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut rng = Rng::new(seed);
    let yaml = source(kind, &tmp.path().join("data"), &mut rng, rows, noisy);
    if let Ok(report) = run_on(2, &yaml, &tmp.path().join("out")) {
        let n = |key: &str| report[key].as_u64().expect(key);
        assert_eq!(
            n("rows_read"),
            n("rows_kept") + n("rows_rejected"),
            "{report}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_small_file_gives_a_report_or_an_error(kind in 0u64..4, seed in any::<u64>(), rows in 0usize..60, noisy in 1u64..4) {
        check(kind, seed, rows, noisy);
    }
}

#[test]
fn noise_across_the_cuts_of_large_files_gives_a_report_or_an_error() {
    // 1.5-2 MB: two chunks or more; a line in 50 is noise.
    for kind in 0..4 {
        for seed in 0..2 {
            check(kind, seed, 80_000, 50);
        }
    }
}
