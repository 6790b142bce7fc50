//! Small parsers shared by the sources: numbers, timestamps, titles.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses a trimmed decimal number (as `str::parse::<f64>` does; finite only).
pub fn parse_f64(bytes: &[u8]) -> Option<f64> {
    let bytes = bytes.trim_ascii();
    if let Some(v) = parse_short_decimal(bytes) {
        return Some(v);
    }
    let v: f64 = std::str::from_utf8(bytes).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// [`parse_f64`] of a number written with a decimal comma (`2,55`, as
/// spreadsheets export in much of Europe) when `comma`; a number with a
/// decimal point reads as ever.
pub fn parse_decimal(bytes: &[u8], comma: bool) -> Option<f64> {
    if !comma {
        return parse_f64(bytes);
    }
    let bytes = bytes.trim_ascii();
    match memchr::memchr(b',', bytes) {
        Some(at) if at + 1 < bytes.len() && !bytes.contains(&b'.') => {
            let mut text = bytes.to_vec();
            text[at] = b'.';
            parse_f64(&text)
        }
        _ => parse_f64(bytes),
    }
}

/// The thousands separators a [`NumberFormat`] may have.
pub const THOUSANDS: [u8; 4] = [b',', b'.', b' ', b'\''];

/// How a log writes the numbers of its quantity, price and rating columns:
/// its decimal mark (a comma if `comma`) and the thousands separator, if
/// any, between groups of its integer digits (`1,234.50`, `1.234,50`,
/// `1 234,50`, `1'234.50`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumberFormat {
    /// Whether the decimal mark is a comma.
    pub comma: bool,
    /// The thousands separator.
    pub thousands: Option<u8>,
}

impl NumberFormat {
    /// The number `bytes` writes in this format. A thousands separator
    /// counts only between groups of three digits after a first group of
    /// one to three (so that `1,5` is no number with `thousands: ","`
    /// rather than 15); numbers without one read as [`parse_decimal`] reads
    /// them.
    #[inline]
    pub fn parse(self, bytes: &[u8]) -> Option<f64> {
        // Most fields are plain `digits[.digits]`, which every format but
        // one with a `.` thousands separator reads as the short decimal it
        // is: read at once, without the trimming and searches below
        // (Online Retail's 805,000 quantities and prices; its whole ingest
        // 1,713.6M -> 1,675.9M instructions).
        if self.thousands != Some(b'.')
            && let Some(v) = parse_short_decimal(bytes)
        {
            return Some(v);
        }
        self.parse_general(bytes)
    }

    /// [`NumberFormat::parse`] without its shortcut.
    fn parse_general(self, bytes: &[u8]) -> Option<f64> {
        match self.thousands {
            Some(t) if bytes.contains(&t) => {
                parse_f64(&ungrouped(bytes.trim_ascii(), t, self.decimal_mark())?)
            }
            _ => parse_decimal(bytes, self.comma),
        }
    }

    /// The decimal mark: `,` or `.`.
    pub fn decimal_mark(self) -> u8 {
        if self.comma { b',' } else { b'.' }
    }
}

/// `text` without its thousands separators `t` and with a decimal point
/// for its decimal `mark`, if its integer digits are grouped in thousands;
/// `None` otherwise.
fn ungrouped(text: &[u8], t: u8, mark: u8) -> Option<Vec<u8>> {
    let (sign, digits) = match text.first()? {
        b'-' | b'+' => text.split_at(1),
        _ => (&[][..], text),
    };
    let (int, fraction) = match digits.iter().position(|&c| c == mark) {
        Some(at) => (&digits[..at], Some(&digits[at + 1..])),
        None => (digits, None),
    };
    let mut out = sign.to_vec();
    for (i, group) in int.split(|&c| c == t).enumerate() {
        let sized = if i == 0 {
            (1..=3).contains(&group.len())
        } else {
            group.len() == 3
        };
        if !sized || !group.iter().all(u8::is_ascii_digit) {
            return None;
        }
        out.extend_from_slice(group);
    }
    if let Some(fraction) = fraction {
        if fraction.contains(&t) {
            return None;
        }
        out.push(b'.');
        out.extend_from_slice(fraction);
    }
    Some(out)
}

/// `[+-]digits[.digits]` with at most 15 digits, the way prices, quantities
/// and ratings are written: the integer of its digits divided by a power of
/// ten. Both are exact in an `f64` and the division rounds once, so this is
/// the correctly rounded value `str::parse` gives (Clinger's fast path).
/// `None` for anything else, which the general parser then reads.
fn parse_short_decimal(bytes: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    // At most 15 digits and a point.
    if digits.len() > 16 {
        return None;
    }
    let (mut mantissa, mut scale, mut dot) = (0u64, 0usize, false);
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d < 10 {
            mantissa = mantissa * 10 + u64::from(d);
            scale += usize::from(dot);
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            return None;
        }
    }
    let count = digits.len() - usize::from(dot);
    if count == 0 || count > 15 {
        return None;
    }
    let v = mantissa as f64 / POW10[scale];
    Some(if negative { -v } else { v })
}

/// Parses a trimmed integer.
pub fn parse_i64(bytes: &[u8]) -> Option<i64> {
    let bytes = bytes.trim_ascii();
    if !bytes.is_empty() && bytes.len() <= 18 && bytes.iter().all(u8::is_ascii_digit) {
        return Some(
            bytes
                .iter()
                .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0')),
        );
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// How timestamps are written.
#[derive(Debug, Clone)]
pub enum TimeFormat {
    /// Unix seconds, or ISO-8601, detected per value.
    Auto,
    /// As [`TimeFormat::Auto`], with numbers counted in ticks of which this
    /// many make a second (1,000 for milliseconds), rounded down.
    Ticks(i64),
    /// A chrono `strftime` format, in UTC; a time it does not read is
    /// read as [`TimeFormat::Auto`] reads it (a log that writes most times
    /// as unix seconds and some as `12/01/2010 08:26`).
    Chrono(String),
}

impl TimeFormat {
    /// Parses a timestamp to unix seconds (UTC).
    pub fn parse(&self, bytes: &[u8]) -> Option<i64> {
        let bytes = bytes.trim_ascii();
        // Dates first when the text has their shape (`YYYY-`): a failed
        // number parse per row cost more than the date.
        let per_second = match self {
            TimeFormat::Auto => 1,
            TimeFormat::Ticks(per_second) => (*per_second).max(1),
            TimeFormat::Chrono(_) => 0,
        };
        if per_second > 0 && bytes.get(4) == Some(&b'-') {
            return parse_iso8601(bytes);
        }
        let s = std::str::from_utf8(bytes).ok()?;
        match self {
            TimeFormat::Auto | TimeFormat::Ticks(_) => {
                if let Some(v) = parse_i64(bytes) {
                    return Some(v.div_euclid(per_second));
                }
                // (ISO dates were read above: `YYYY-` is their only shape.)
                // A float cast to i64 saturates: a time past the range of
                // i64 seconds (`1e30`, 20 digits) is unparseable, not
                // `i64::MAX`. 2^63 is exact as an f64; NaN fails both tests.
                let v = (s.parse::<f64>().ok()? / per_second as f64).floor();
                (v >= -(2f64.powi(63)) && v < 2f64.powi(63)).then_some(v as i64)
            }
            TimeFormat::Chrono(fmt) => NaiveDateTime::parse_from_str(s, fmt)
                .map(|d| d.and_utc().timestamp())
                .or_else(|_| DateTime::parse_from_str(s, fmt).map(|d| d.timestamp()))
                .or_else(|_| {
                    NaiveDate::parse_from_str(s, fmt).map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .map(|t| t.and_utc().timestamp())
                            .unwrap_or(0)
                    })
                })
                .ok()
                .or_else(|| TimeFormat::Auto.parse(bytes)),
        }
    }
}

/// The last timestamp text parsed and its value, so that a run of rows with
/// the same time (the lines of one invoice, the events of one second) parses
/// it once: Online Retail's 541,909 rows hold 23,260 distinct times, each
/// in one run of rows.
#[derive(Debug, Default)]
pub struct LastTime {
    text: Vec<u8>,
    value: Option<i64>,
}

impl LastTime {
    /// `format.parse(bytes)`, from the last value when the text repeats.
    pub fn parse(&mut self, format: &TimeFormat, bytes: &[u8]) -> Option<i64> {
        if self.value.is_some() && self.text == bytes {
            return self.value;
        }
        self.value = format.parse(bytes);
        self.text.clear();
        self.text.extend_from_slice(bytes);
        self.value
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + (b - b'0') as i64)
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and
/// `HH:MM[:SS[.fff]]` and a zone (`Z`, `UTC`, `GMT` or `±HH[:MM]`, straight
/// after the time or after a space: e-commerce logs such as REES46's write
/// `2019-10-01 00:00:00 UTC`), to unix seconds. A fast path for the common
/// case that needs no allocation.
pub fn parse_iso8601(b: &[u8]) -> Option<i64> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(b, 0, 4)?, digits(b, 5, 2)?, digits(b, 8, 2)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut rest = &b[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    if rest[0] != b'T' && rest[0] != b' ' {
        return None;
    }
    rest = &rest[1..];
    let (h, mi) = (digits(rest, 0, 2)?, digits(rest, 3, 2)?);
    if rest.get(2) != Some(&b':') || h > 23 || mi > 59 {
        return None;
    }
    secs += h * 3600 + mi * 60;
    rest = &rest[5..];
    if rest.first() == Some(&b':') {
        let sec = digits(rest, 1, 2)?;
        if sec > 60 {
            return None;
        }
        secs += sec;
        rest = &rest[3..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            rest = &rest[1 + n..];
        }
    }
    // The zone, written straight after the time or after one space.
    if let [b' ', zone @ ..] = rest
        && !zone.is_empty()
    {
        rest = zone;
    }
    match rest {
        [] | b"Z" | b"UTC" | b"GMT" => Some(secs),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let oh = digits(tz, 0, 2)?;
            let om = match tz.len() {
                2 => 0,
                4 => digits(tz, 2, 2)?,
                5 if tz[2] == b':' => digits(tz, 3, 2)?,
                _ => return None,
            };
            let off = oh * 3600 + om * 60;
            Some(if *sign == b'+' {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_count_only_between_groups_of_three_digits() {
        let grouped = |comma, t| NumberFormat {
            comma,
            thousands: Some(t),
        };
        let (us, eu) = (grouped(false, b','), grouped(true, b'.'));
        let (swiss, spaced) = (grouped(false, b'\''), grouped(true, b' '));
        for (format, text, value) in [
            (us, "1,234.50", Some(1234.5)),
            (us, " -12,345,678 ", Some(-12_345_678.0)),
            (us, "999", Some(999.0)),
            (us, "2.55", Some(2.55)),
            (us, "1,5", None),
            (us, "1,2345", None),
            (us, ",123", None),
            (us, "1234,567", None),
            (us, "1,234.5,6", None),
            (eu, "1.234,50", Some(1234.5)),
            (eu, "2,55", Some(2.55)),
            (eu, "1.23,4", None),
            (swiss, "1'234.50", Some(1234.5)),
            (spaced, "1 234 567,5", Some(1_234_567.5)),
            (spaced, "12 34", None),
        ] {
            assert_eq!(format.parse(text.as_bytes()), value, "{format:?} {text:?}");
        }
        // Without a separator the format reads as the decimal mark alone does.
        assert_eq!(NumberFormat::default().parse(b"1,234"), None);
        assert_eq!(
            NumberFormat {
                comma: true,
                thousands: None
            }
            .parse(b"1,5"),
            Some(1.5)
        );
    }

    #[test]
    fn the_shortcut_reads_what_the_general_path_reads_in_every_format() {
        let formats: Vec<NumberFormat> = [false, true]
            .into_iter()
            .flat_map(|comma| {
                std::iter::once(None)
                    .chain(THOUSANDS.map(Some))
                    .map(move |thousands| NumberFormat { comma, thousands })
            })
            .collect();
        // Short strings over the bytes numbers are written with, and more.
        let alphabet = b"0123456789.,-+ 'e";
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut shortcut_took = 0;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 9) as usize;
            let text: Vec<u8> = (0..len)
                .map(|i| {
                    // Digits three times as often as the other bytes.
                    let k = (x >> (6 + i * 6)) as usize % (alphabet.len() + 20);
                    alphabet[if k < alphabet.len() { k } else { k % 10 }]
                })
                .collect();
            shortcut_took += usize::from(parse_short_decimal(&text).is_some());
            for f in &formats {
                let (got, want) = (f.parse(&text), f.parse_general(&text));
                assert_eq!(
                    got.map(f64::to_bits),
                    want.map(f64::to_bits),
                    "{f:?} {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
        assert!(shortcut_took > 10_000, "the shortcut took {shortcut_took}");
    }

    #[test]
    fn last_time_gives_what_a_fresh_parse_gives() {
        let mut last = LastTime::default();
        let texts: [&[u8]; 6] = [
            b"2010-12-01 08:26:00",
            b"2010-12-01 08:26:00",
            b"nope",
            b"nope",
            b"1291191960",
            b"2010-12-01 08:26:00",
        ];
        for t in texts {
            assert_eq!(last.parse(&TimeFormat::Auto, t), TimeFormat::Auto.parse(t));
        }
    }

    #[test]
    fn iso8601_matches_chrono() {
        for s in [
            "2010-12-01 08:26:00",
            "2011-12-09T12:50:00Z",
            "1970-01-01",
            "2000-02-29T23:59:59.123",
            "2020-06-01T10:00:00+02:00",
        ] {
            let chrono_secs = DateTime::parse_from_rfc3339(&match s.len() {
                10 => format!("{s}T00:00:00Z"),
                19 => format!("{}Z", s.replace(' ', "T")),
                _ if s.ends_with('Z') || s.contains('+') => s.to_string(),
                _ => format!("{s}Z"),
            })
            .expect("chrono")
            .timestamp();
            assert_eq!(parse_iso8601(s.as_bytes()), Some(chrono_secs), "{s}");
        }
        // Zones written after a space, as logs export them.
        let utc = parse_iso8601(b"2019-10-01 00:00:00Z");
        for s in [
            "2019-10-01 00:00:00 UTC",
            "2019-10-01 00:00:00UTC",
            "2019-10-01 00:00:00 GMT",
        ] {
            assert_eq!(parse_iso8601(s.as_bytes()), utc, "{s}");
        }
        assert_eq!(
            parse_iso8601(b"2019-10-01 02:00:00 +02:00"),
            parse_iso8601(b"2019-10-01T02:00:00+02:00")
        );
        for s in [
            "2019-10-01 00:00:00 CET",
            "2019-10-01 00:00:00 ",
            "2019-10-01 00:00:00 UTC+1",
        ] {
            assert_eq!(parse_iso8601(s.as_bytes()), None, "{s}");
        }
        assert_eq!(parse_iso8601(b"2010-13-01"), None);
        assert_eq!(parse_iso8601(b"12/1/2010 8:26"), None);
    }

    #[test]
    fn short_decimals_parse_as_std_does() {
        // Every shape the fast path takes, and some it leaves to std.
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+7",
            "2.55",
            ".5",
            "5.",
            "0.1",
            "0.3",
            "123456789012345",
            "1234567890123456",
            "99999.99999",
            "-3.14159",
            "1e3",
            "1.2.3",
            "",
            "-",
            ".",
            "0x10",
            " 4.5 ",
            "12,5",
            "inf",
            "NaN",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Pseudo-random prices and ratings: up to 15 digits, any point position.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 15 + 1) as usize;
            let mut s: String = (0..digits)
                .map(|i| char::from(b'0' + ((x >> (i * 4)) % 10) as u8))
                .collect();
            let dot = (x >> 60) as usize % (digits + 1);
            if dot < digits {
                s.insert(dot, '.');
            }
            cases.push(s);
        }
        for s in &cases {
            let expected = s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let got = parse_f64(s.as_bytes());
            assert_eq!(got.map(f64::to_bits), expected.map(f64::to_bits), "`{s}`");
        }
        assert_eq!(parse_i64(b" 881250949 "), Some(881_250_949));
        assert_eq!(parse_i64(b"-12"), Some(-12));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"12a"), None);
    }

    #[test]
    fn decimal_commas_read_where_asked() {
        assert_eq!(parse_decimal(b" 2,55 ", true), Some(2.55));
        assert_eq!(parse_decimal(b"-0,5", true), Some(-0.5));
        assert_eq!(
            parse_decimal(b"2.55", true),
            Some(2.55),
            "a point reads as ever"
        );
        assert_eq!(parse_decimal(b"12", true), Some(12.0));
        assert_eq!(parse_decimal(b"2,55", false), None);
        assert_eq!(parse_decimal(b"1,2,3", true), None);
        assert_eq!(parse_decimal(b"1.234,5", true), None, "no thousands marks");
        assert_eq!(parse_decimal(b"3,", true), None);
    }

    #[test]
    fn formats() {
        assert_eq!(TimeFormat::Auto.parse(b" 881250949 "), Some(881_250_949));
        // Milliseconds (and finer) to the second they fall in; ISO text
        // is read as ever.
        let ms = TimeFormat::Ticks(1_000);
        assert_eq!(ms.parse(b"1577836800999"), Some(1_577_836_800));
        assert_eq!(ms.parse(b"-1"), Some(-1), "before 1970: rounded down");
        assert_eq!(ms.parse(b"1577836800500.5"), Some(1_577_836_800));
        assert_eq!(
            TimeFormat::Ticks(1_000_000_000).parse(b"1577836800123456789"),
            Some(1_577_836_800)
        );
        assert_eq!(ms.parse(b"2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(ms.parse(b"soon"), None);
        // Past i64 seconds: no time at all, not a clamped one.
        for out_of_range in [
            &b"99999999999999999999"[..],
            b"-1e30",
            b"1e19",
            b"inf",
            b"NaN",
        ] {
            assert_eq!(
                TimeFormat::Auto.parse(out_of_range),
                None,
                "{out_of_range:?}"
            );
        }
        assert_eq!(TimeFormat::Auto.parse(b"1e9"), Some(1_000_000_000));
        assert_eq!(ms.parse(b"1.5e12"), Some(1_500_000_000));
        let us = TimeFormat::Chrono("%m/%d/%Y %H:%M".into());
        assert_eq!(
            us.parse(b"12/1/2010 8:26"),
            parse_iso8601(b"2010-12-01 08:26")
        );
        assert_eq!(us.parse(b"garbage"), None);
        // What the format does not read, the default does.
        assert_eq!(us.parse(b"1291191960"), Some(1_291_191_960));
        assert_eq!(
            us.parse(b"2010-12-01T08:26:00Z"),
            parse_iso8601(b"2010-12-01 08:26")
        );
        let days = TimeFormat::Chrono("%Y%m%d".into());
        assert_eq!(
            days.parse(b"20101201"),
            parse_iso8601(b"2010-12-01 00:00"),
            "the format first: these digits are a date"
        );
    }
}
