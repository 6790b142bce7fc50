//! Splitting a file's bytes into records and fields, in parallel chunks.
//!
//! Two formats cover every source: plain separated lines (`::`, tab, `|`,
//! no quoting, as the MovieLens 1M and 100K files are) and RFC 4180 CSV
//! (quoted fields with delimiters, doubled quotes and even newlines inside).
//! Files are cut into chunks at record boundaries, each chunk parsed on its
//! own thread, and the results concatenated in file order, so the output is
//! the same whatever the thread count. Line numbers are physical, 1-based.

use crate::hits::{Hits, count_two};
use std::borrow::Cow;

use rayon::prelude::*;

/// How a file's records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines split on a separator, no quoting.
    Separated(&'static str),
    /// RFC 4180 CSV with the given delimiter.
    Csv(u8),
}

/// One record of a file.
#[derive(Debug)]
pub struct Record<'a, 'f> {
    /// 1-based physical line where the record starts.
    pub line: u64,
    /// The record's bytes, without its line end.
    pub raw: &'a [u8],
    /// Its fields, unquoted (a buffer reused from record to record).
    pub fields: &'f [&'a [u8]],
    /// The numbers a typed source (a Parquet log) holds for some fields, by
    /// field index: where one is `Some`, it is the number the field's text
    /// reads as, and the field's text is left empty. Empty for text files.
    pub numbers: &'f [Option<f64>],
}

/// Chunks per worker thread: enough to even out the load, few enough that
/// merging the chunks' id tables (each holds most item ids again) stays cheap.
pub(crate) const CHUNKS_PER_THREAD: usize = 4;

/// The chunk size for a buffer of `len` bytes: [`CHUNKS_PER_THREAD`] chunks
/// per thread, but at least 1 MiB and at most 16 MiB. (The output does not
/// depend on it: chunks are merged in file order.)
fn chunk_bytes(len: usize) -> usize {
    (len / (CHUNKS_PER_THREAD * rayon::current_num_threads().max(1))).clamp(1 << 20, 16 << 20)
}

/// A slice of the file holding whole records, with the line it starts on.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    start: usize,
    end: usize,
    line: u64,
    /// Lines the chunk spans (a bound on its records), or for a chunk of
    /// the speculative cut an estimate of its records.
    lines: u64,
}

/// Cuts `buf[start..]` (which begins a record, on line `first_line`) into
/// chunks of about [`chunk_bytes`] at record boundaries.
///
/// The file is cut into equal slices whose quotes and newlines are counted
/// in parallel; the quote count before a slice says whether it begins
/// inside a quoted field, so each chunk ends at the first record end after
/// its slice, found by a short scan, and the newline counts give each
/// chunk's first line. Nothing scans the whole file on one thread.
fn chunks(buf: &[u8], start: usize, first_line: u64, format: Format) -> Vec<Chunk> {
    let len = buf.len();
    if start >= len {
        return Vec::new();
    }
    let size = chunk_bytes(len);
    let slices = (len - start).div_ceil(size);
    let slice_start = |k: usize| start + k * size;
    let quoted = matches!(format, Format::Csv(_));
    let counts: Vec<(u64, u64)> = (0..slices)
        .into_par_iter()
        .map(|k| {
            let bytes = &buf[slice_start(k)..slice_start(k + 1).min(len)];
            if quoted {
                count_two(b'"', b'\n', bytes)
            } else {
                (0, memchr::memchr_iter(b'\n', bytes).count() as u64)
            }
        })
        .collect();
    let mut out = Vec::with_capacity(slices);
    let (mut pos, mut line) = (start, first_line);
    let (mut quotes_before, mut lines_before) = (0u64, 0u64);
    for k in 1..slices {
        quotes_before += counts[k - 1].0;
        lines_before += counts[k - 1].1;
        let from = slice_start(k);
        if from < pos {
            // A quoted field ran past this slice: the chunk before covers it.
            continue;
        }
        // Just past the first record end at or after the slice's start.
        let end = (scan_to_record_end(buf, from, quotes_before % 2 == 1, format) + 1).min(len);
        let next_line =
            first_line + lines_before + memchr::memchr_iter(b'\n', &buf[from..end]).count() as u64;
        out.push(Chunk {
            start: pos,
            end,
            line,
            lines: next_line - line,
        });
        (pos, line) = (end, next_line);
    }
    if pos < len {
        let total = counts.iter().map(|c| c.1).sum::<u64>();
        out.push(Chunk {
            start: pos,
            end: len,
            line,
            lines: first_line + total + 1 - line,
        });
    }
    out
}

/// How a [`Scanner`] finds fields: a one-byte delimiter or the same byte
/// twice (`::`), and the quote byte that sends a record to the general path.
#[derive(Debug, Clone, Copy)]
struct Plain {
    delim: u8,
    double: bool,
    quote: Option<u8>,
}

impl Plain {
    /// The fast path for `format`, where it has one: not for a delimiter
    /// that is the newline or the quote, which [`Scanner::split`] would
    /// take for a delimiter first (params refuse both).
    fn of(format: Format) -> Option<Plain> {
        let plain = match format {
            Format::Csv(delim) => Some(Plain {
                delim,
                double: false,
                quote: Some(b'"'),
            }),
            Format::Separated(sep) => match sep.as_bytes() {
                [d] => Some(Plain {
                    delim: *d,
                    double: false,
                    quote: None,
                }),
                [a, b] if a == b => Some(Plain {
                    delim: *a,
                    double: true,
                    quote: None,
                }),
                _ => None,
            },
        };
        plain.filter(|p| p.delim != b'\n' && Some(p.delim) != p.quote)
    }
}

/// Splits quote-free records into fields from one vectorized scan of the
/// chunk for its delimiters, newlines and quotes ([`Hits`], 64 bytes a
/// step), instead of a search per field.
struct Scanner<'a> {
    buf: &'a [u8],
    end: usize,
    how: Plain,
    /// Where the scan started: its positions are relative to it.
    base: usize,
    hits: Hits<'a>,
}

impl<'a> Scanner<'a> {
    /// A scan of `buf[from..end]`.
    fn new(buf: &'a [u8], from: usize, end: usize, how: Plain) -> Self {
        // Without a quote byte the newline stands in for it.
        let quote = how.quote.unwrap_or(b'\n');
        Scanner {
            buf,
            end,
            how,
            base: from,
            hits: Hits::new(how.delim, b'\n', quote, &buf[from..end]),
        }
    }

    /// Splits the record starting at `pos`, where the scan stands. A
    /// doubled delimiter splits where the first of a pair starts, left to
    /// right, as [`split_fields`] does (`a:::b` is `a`, `:b`). Returns the
    /// index of the record's newline (or the chunk's end), or `None` when
    /// the record holds a quote: the caller reads it by the general path and
    /// restarts the scan after it.
    fn split(&mut self, pos: usize, fields: &mut Vec<&'a [u8]>) -> Option<usize> {
        if !self.how.double {
            return self.split_single(pos, fields);
        }
        // A doubled delimiter from here on.
        fields.clear();
        let (buf, base) = (self.buf, self.base);
        let Plain { delim, quote, .. } = self.how;
        // A local copy of the scan, so that its mask stays in a register
        // rather than being stored back at every hit.
        let mut hits = self.hits.clone();
        let mut field = pos;
        let end = loop {
            let Some(i) = hits.next() else {
                fields.push(trim_cr(&buf[field..self.end]));
                break Some(self.end);
            };
            let at = base + i;
            let b = buf[at];
            if b == b'\n' {
                fields.push(trim_cr(&buf[field..at]));
                break Some(at);
            }
            if Some(b) == quote {
                break None;
            }
            if at < field {
                // The second byte of a doubled delimiter.
                continue;
            }
            // A doubled delimiter's first byte.
            if at + 1 >= self.end || buf[at + 1] != delim {
                continue;
            }
            fields.push(&buf[field..at]);
            field = at + 2;
        };
        self.hits = hits;
        end
    }

    /// [`Scanner::split`] for a one-byte delimiter: a hit is the
    /// delimiter, the newline or else the quote, and positions are taken
    /// within the scanned slice. The common case, in a loop of its own so
    /// that its few values stay in registers (Online Retail's ingest:
    /// 1,657.7M -> 1,630-1,637M instructions).
    fn split_single(&mut self, pos: usize, fields: &mut Vec<&'a [u8]>) -> Option<usize> {
        fields.clear();
        let hay = &self.buf[self.base..self.end];
        let delim = self.how.delim;
        let mut hits = self.hits.clone();
        let mut field = pos - self.base;
        let end = loop {
            let Some(at) = hits.next() else {
                fields.push(trim_cr(&hay[field..]));
                break Some(self.end);
            };
            let b = hay[at];
            if b == delim {
                fields.push(&hay[field..at]);
                field = at + 1;
            } else if b == b'\n' {
                fields.push(trim_cr(&hay[field..at]));
                break Some(self.base + at);
            } else {
                // The quote (without one, the newline stands in for it).
                break None;
            }
        };
        self.hits = hits;
        end
    }
}

/// The end of the record starting at `pos` (index of its `\n`, or the buffer end).
fn record_end(buf: &[u8], pos: usize, format: Format) -> usize {
    scan_to_record_end(buf, pos, false, format)
}

/// The index of the first newline at or after `from` that lies outside
/// quotes (or the buffer end), given whether `from` lies inside a quoted
/// field. Lines split on a separator have no quoting.
fn scan_to_record_end(buf: &[u8], from: usize, mut in_quotes: bool, format: Format) -> usize {
    let mut pos = from;
    loop {
        let hit = match format {
            Format::Separated(_) => memchr::memchr(b'\n', &buf[pos..]),
            Format::Csv(_) => memchr::memchr2(b'"', b'\n', &buf[pos..]),
        };
        let Some(i) = hit else {
            return buf.len();
        };
        let at = pos + i;
        if buf[at] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            return at;
        }
        pos = at + 1;
    }
}

/// Splits one record into fields.
pub fn split_fields(raw: &[u8], format: Format) -> Vec<Cow<'_, [u8]>> {
    let mut out = Vec::with_capacity(8);
    split_fields_into(raw, format, &mut out);
    out
}

/// Fields as [`split_fields`] gives them, viewed as the byte slices a
/// [`Record`] holds.
pub fn field_slices<'s>(fields: &'s [Cow<'_, [u8]>]) -> Vec<&'s [u8]> {
    fields.iter().map(|f| &**f).collect()
}

/// Splits one record into fields, replacing the contents of `out`.
pub fn split_fields_into<'a>(raw: &'a [u8], format: Format, out: &mut Vec<Cow<'a, [u8]>>) {
    out.clear();
    match format {
        Format::Separated(sep) => {
            let sep = sep.as_bytes();
            if sep.len() == 1 {
                out.extend(raw.split(|&b| b == sep[0]).map(Cow::Borrowed));
            } else {
                let mut start = 0;
                for i in memchr::memmem::find_iter(raw, sep) {
                    if i < start {
                        continue;
                    }
                    out.push(Cow::Borrowed(&raw[start..i]));
                    start = i + sep.len();
                }
                out.push(Cow::Borrowed(&raw[start..]));
            }
        }
        Format::Csv(delim) => split_csv(raw, delim, out),
    }
}

fn split_csv<'a>(raw: &'a [u8], delim: u8, out: &mut Vec<Cow<'a, [u8]>>) {
    let mut pos = 0;
    loop {
        if raw.get(pos) == Some(&b'"') {
            // Quoted field: runs to the closing quote; "" is an escaped quote.
            let mut value = Vec::new();
            let mut p = pos + 1;
            loop {
                match memchr::memchr(b'"', &raw[p.min(raw.len())..]) {
                    Some(i) => {
                        value.extend_from_slice(&raw[p..p + i]);
                        p += i + 1;
                        if raw.get(p) == Some(&b'"') {
                            value.push(b'"');
                            p += 1;
                        } else {
                            break;
                        }
                    }
                    None => {
                        value.extend_from_slice(&raw[p.min(raw.len())..]);
                        p = raw.len();
                        break;
                    }
                }
            }
            // Anything between the closing quote and the delimiter is kept as written.
            let next = memchr::memchr(delim, &raw[p.min(raw.len())..]).map(|i| p + i);
            if let Some(n) = next {
                value.extend_from_slice(&raw[p..n]);
                out.push(Cow::Owned(value));
                pos = n + 1;
            } else {
                value.extend_from_slice(&raw[p.min(raw.len())..]);
                out.push(Cow::Owned(value));
                return;
            }
        } else {
            match memchr::memchr(delim, &raw[pos..]) {
                Some(i) => {
                    out.push(Cow::Borrowed(&raw[pos..pos + i]));
                    pos += i + 1;
                }
                None => {
                    out.push(Cow::Borrowed(&raw[pos..]));
                    return;
                }
            }
        }
    }
}

/// Strips a trailing `\r` (CRLF files).
fn trim_cr(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// The first record (a header) and the offset/line where the data starts.
pub fn header(buf: &[u8], format: Format) -> Option<(Vec<String>, usize, u64)> {
    if buf.is_empty() {
        return None;
    }
    let end = record_end(buf, 0, format);
    let raw = trim_cr(&buf[..end]);
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    let names = split_fields(raw, format)
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let lines = 1 + memchr::memchr_iter(b'\n', &buf[..end]).count() as u64;
    Some((names, (end + 1).min(buf.len()), lines + 1))
}

/// For a file with no header: the names polars gives its columns,
/// `column_1` to `column_n` for the fields of the first record, and where
/// the data start (past a byte-order mark), on line 1.
pub fn numbered_columns(buf: &[u8], format: Format) -> Option<(Vec<String>, usize, u64)> {
    let (first, _, _) = header(buf, format)?;
    let names = (1..=first.len()).map(|i| format!("column_{i}")).collect();
    let start = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    Some((names, start, 1))
}

/// Parses `buf[start..]` (which begins on line `first_line`) in parallel:
/// `parse` sees every non-empty record of a chunk with that chunk's state,
/// made by `init` from a bound on (or an estimate of) the chunk's records,
/// to reserve for; the states come back in file order.
///
/// The chunks are first cut just past the first newline after each slice
/// start, as if no quoted field spanned it, and parsed with lines counted
/// from the chunk's start: `shift(state, n)` then adds the lines before it.
/// If a chunk's last record ran past its end (a quoted newline was cut),
/// the file is cut again from its quote and newline counts (`chunks`) and
/// parsed again. Logs without quoted newlines at a cut, the usual case, are
/// read once instead of twice (the counting pass took 6.5 ms of Online
/// Retail's 48 MB).
pub fn par_parse<S, I, F, L>(
    buf: &[u8],
    start: usize,
    first_line: u64,
    format: Format,
    init: I,
    parse: F,
    shift: L,
) -> Vec<S>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, Record<'_, '_>) + Sync,
    L: Fn(&mut S, u64),
{
    if let Some(states) = parse_speculatively(buf, start, first_line, format, &init, &parse, shift)
    {
        return states;
    }
    chunks(buf, start, first_line, format)
        .par_iter()
        .map(|c| parse_chunk(buf, c, format, &init, &parse).state)
        .collect()
}

/// [`par_parse`] on chunks cut at the first newline after each slice start;
/// `None` where a record crosses a cut.
fn parse_speculatively<S, I, F, L>(
    buf: &[u8],
    start: usize,
    first_line: u64,
    format: Format,
    init: &I,
    parse: &F,
    shift: L,
) -> Option<Vec<S>>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    F: Fn(&mut S, Record<'_, '_>) + Sync,
    L: Fn(&mut S, u64),
{
    let len = buf.len();
    if start >= len {
        return Some(Vec::new());
    }
    let size = chunk_bytes(len);
    // Records per byte, from the first 64 KiB, to reserve room for rows.
    let sample = &buf[start..len.min(start + (64 << 10))];
    let per_byte = (memchr::memchr_iter(b'\n', sample).count() + 1) as f64 / sample.len() as f64;
    let mut chunks = Vec::with_capacity((len - start).div_ceil(size));
    let mut pos = start;
    while pos < len {
        let end = match pos.checked_add(size).filter(|&e| e < len) {
            Some(e) => memchr::memchr(b'\n', &buf[e..]).map_or(len, |i| e + i + 1),
            None => len,
        };
        let estimate = ((end - pos) as f64 * per_byte * 1.1) as u64 + 16;
        chunks.push(Chunk {
            start: pos,
            end,
            line: 0,
            lines: estimate,
        });
        pos = end;
    }
    let parsed: Vec<Parsed<S>> = chunks
        .par_iter()
        .map(|c| parse_chunk(buf, c, format, init, parse))
        .collect();
    if parsed.iter().any(|p| p.crossed_end) {
        return None;
    }
    let mut line = first_line;
    Some(
        parsed
            .into_iter()
            .map(|mut p| {
                shift(&mut p.state, line);
                line += p.lines;
                p.state
            })
            .collect(),
    )
}

/// A parsed chunk.
struct Parsed<S> {
    state: S,
    /// Lines the chunk's records span.
    lines: u64,
    /// Whether its last record ran past the chunk's end.
    crossed_end: bool,
}

/// Parses the records of chunk `c`.
fn parse_chunk<S, I, F>(buf: &[u8], c: &Chunk, format: Format, init: &I, parse: &F) -> Parsed<S>
where
    I: Fn(usize) -> S,
    F: Fn(&mut S, Record<'_, '_>),
{
    let mut state = init(c.lines as usize);
    // The fields of a record split by the scan (slices of `buf`, dropped
    // in one step), and those of a record read by the general path, which
    // unquotes them (an escaped quote makes a field its own bytes).
    let mut fields: Vec<&[u8]> = Vec::with_capacity(16);
    let mut unquoted = Vec::with_capacity(16);
    let mut pos = c.start;
    let mut line = c.line;
    let mut crossed_end = false;
    let mut scan = Plain::of(format).map(|how| Scanner::new(buf, c.start, c.end, how));
    while pos < c.end {
        let fast = scan.as_mut().and_then(|s| s.split(pos, &mut fields));
        let (end, lines_in_record, general) = match fast {
            Some(end) => (end, 1, false),
            None => {
                let full = record_end(buf, pos, format);
                crossed_end |= full >= c.end && c.end < buf.len();
                let end = full.min(c.end);
                let raw = trim_cr(&buf[pos..end]);
                split_fields_into(raw, format, &mut unquoted);
                let lines = match format {
                    Format::Separated(_) => 1,
                    Format::Csv(_) => 1 + memchr::memchr_iter(b'\n', raw).count() as u64,
                };
                if let Some(s) = scan.as_mut() {
                    *s = Scanner::new(buf, (end + 1).min(c.end), c.end, s.how);
                }
                (end, lines, true)
            }
        };
        let raw = trim_cr(&buf[pos..end]);
        if !raw.iter().all(u8::is_ascii_whitespace) {
            let view: Vec<&[u8]>;
            let fields: &[&[u8]] = if general {
                view = field_slices(&unquoted);
                &view
            } else {
                &fields
            };
            let numbers = &[];
            let record = Record {
                line,
                raw,
                fields,
                numbers,
            };
            parse(&mut state, record);
        }
        line += lines_in_record;
        pos = end + 1;
    }
    Parsed {
        state,
        lines: line - c.line,
        crossed_end,
    }
}

/// A clear error if interaction file `path` has more lines than a
/// [`crate::rows::Row`] can number ([`too_many_lines`]).
pub fn check_line_count(path: &std::path::Path, buf: &[u8]) -> crate::error::Result<()> {
    match too_many_lines(buf) {
        Some(lines) => Err(crate::error::IngestError::TooManyLines {
            path: path.to_path_buf(),
            lines,
        }),
        None => Ok(()),
    }
}

/// The lines of `buf` if there are more than a [`crate::rows::Row`] can
/// number (`u32::MAX`): files under 4 GiB cannot have that many (a line
/// takes a byte at least); larger ones are counted.
pub fn too_many_lines(buf: &[u8]) -> Option<u64> {
    lines_beyond(buf, u64::from(u32::MAX))
}

/// The lines of `buf` if there are more than `max` (counted only when
/// `buf` has `max` bytes or more).
fn lines_beyond(buf: &[u8], max: u64) -> Option<u64> {
    if (buf.len() as u64) < max {
        return None;
    }
    let lines = 1 + memchr::memchr_iter(b'\n', buf).count() as u64;
    (lines > max).then_some(lines)
}

/// Decodes text that is UTF-8, or else ISO-8859-1 (as MovieLens 1M/100K are).
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// [`decode_text`] without the whitespace around it.
pub fn decode_trimmed(bytes: &[u8]) -> Cow<'_, str> {
    match decode_text(bytes) {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
    }
}

/// A field's text, trimmed, if any is left.
pub fn non_empty_text(bytes: &[u8]) -> Option<String> {
    let text = decode_trimmed(bytes);
    (!text.is_empty()).then(|| text.into_owned())
}

/// A list field's values (`Action|Comedy`), trimmed, the empty ones left out.
pub fn pipe_list(text: &str) -> impl Iterator<Item = &str> {
    text.split('|').map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds `by` to the line of every `(line, ..)` pair: the `shift` of
    /// [`par_parse`] for states that list their records.
    fn shift_lines<T>(records: &mut [(u64, T)], by: u64) {
        for (line, _) in records {
            *line += by;
        }
    }

    fn collect(buf: &[u8], format: Format) -> Vec<(u64, Vec<String>)> {
        let states = par_parse(
            buf,
            0,
            1,
            format,
            Vec::with_capacity,
            |st: &mut Vec<(u64, Vec<String>)>, r| {
                st.push((
                    r.line,
                    r.fields
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                ))
            },
            |st, by| shift_lines(st, by),
        );
        states.into_iter().flatten().collect()
    }

    /// Three CSV records, the second with a quoted field of 3 MiB (newlines,
    /// commas and escaped quotes inside) that covers several chunk cuts.
    fn long_quoted_field() -> Vec<u8> {
        let mut buf = b"1,a,x\n2,\"".to_vec();
        for _ in 0..(3 << 20) / 8 {
            buf.extend_from_slice(b"ab,\ncd\"\"");
        }
        buf.extend_from_slice(b"\",y\n3,c,z\n");
        buf
    }

    /// The records' lines and first fields by the speculative cut alone.
    fn speculative_lines(buf: &[u8], first_line: u64) -> Option<Vec<(u64, Vec<u8>)>> {
        let states = parse_speculatively(
            buf,
            0,
            first_line,
            Format::Csv(b','),
            &Vec::with_capacity,
            &|st: &mut Vec<(u64, Vec<u8>)>, r: Record<'_, '_>| {
                st.push((r.line, r.fields[0].to_vec()))
            },
            |st, by| shift_lines(st, by),
        )?;
        Some(states.into_iter().flatten().collect())
    }

    #[test]
    fn a_file_without_a_header_gets_numbered_columns_and_starts_on_line_1() {
        let format = Format::Csv(b',');
        let (names, start, line) =
            numbered_columns(b"\xEF\xBB\xBF1,\"a,b\",3\n4,5,6\n", format).expect("columns");
        assert_eq!(names, ["column_1", "column_2", "column_3"]);
        assert_eq!((start, line), (3, 1), "past the byte-order mark, on line 1");
        assert_eq!(numbered_columns(b"", format), None);
    }

    #[test]
    fn files_with_more_lines_than_a_row_numbers_are_found() {
        assert_eq!(lines_beyond(b"a\nb\nc", 2), Some(3));
        assert_eq!(lines_beyond(b"a\nbc", 2), None, "two lines");
        assert_eq!(lines_beyond(b"a\n\n", 5), None, "shorter than 5 bytes");
        assert_eq!(too_many_lines(b"1,2,3\n"), None);
    }

    #[test]
    fn the_speculative_cut_numbers_lines_across_chunks() {
        // 6 MB of records (several chunks), quoted commas on some and blank
        // lines between some: no quoted newline, so the first cut holds.
        let mut buf = Vec::new();
        let mut expected = Vec::new();
        let mut line = 10;
        for i in 0..300_000u64 {
            if i % 7 == 0 {
                buf.extend_from_slice(format!("{i},\"x, y\",z\n").as_bytes());
            } else {
                buf.extend_from_slice(format!("{i},plain,z\n").as_bytes());
            }
            expected.push((line, i.to_string().into_bytes()));
            line += 1;
            if i % 1000 == 999 {
                buf.extend_from_slice(b"\n");
                line += 1;
            }
        }
        let got = speculative_lines(&buf, 10).expect("no record crosses a cut");
        assert_eq!(got, expected);
    }

    #[test]
    fn a_cut_inside_quotes_sends_the_file_to_the_counted_cut() {
        // A quoted field longer than a chunk covers cuts made at its
        // newlines: the speculative parse gives up, par_parse gives the
        // records as written.
        let buf = long_quoted_field();
        assert!(speculative_lines(&buf, 1).is_none());
        let rows = collect(&buf, Format::Csv(b','));
        assert_eq!(
            rows.iter().map(|r| r.1[0].as_str()).collect::<Vec<_>>(),
            ["1", "2", "3"]
        );
    }

    #[test]
    fn separated_lines_with_crlf_and_blank_lines() {
        let rows = collect(b"1::2::5\r\n\r\n3::4::1\n", Format::Separated("::"));
        assert_eq!(
            rows,
            vec![
                (1, vec!["1".into(), "2".into(), "5".into()]),
                (3, vec!["3".into(), "4".into(), "1".into()])
            ]
        );
    }

    #[test]
    fn csv_quotes_commas_escaped_quotes_and_newlines() {
        let buf =
            b"1,\"Heat, The (1995)\",x\n2,\"say \"\"hi\"\"\",y\n3,\"two\nlines\",z\n4,plain,w";
        let rows = collect(buf, Format::Csv(b','));
        assert_eq!(
            rows[0],
            (1, vec!["1".into(), "Heat, The (1995)".into(), "x".into()])
        );
        assert_eq!(rows[1].1[1], "say \"hi\"");
        assert_eq!(
            rows[2],
            (3, vec!["3".into(), "two\nlines".into(), "z".into()])
        );
        assert_eq!(rows[3].0, 5, "line numbers count the newline inside quotes");
    }

    #[test]
    fn chunked_parse_equals_sequential_parse() {
        // Big enough for several chunks; quoted newlines straddle boundaries.
        let mut buf = Vec::new();
        for i in 0..120_000 {
            buf.extend_from_slice(format!("{i},\"a,\nb {i}\",{}\n", i * 3).as_bytes());
        }
        let rows = collect(&buf, Format::Csv(b','));
        assert_eq!(rows.len(), 120_000);
        for (i, (line, f)) in rows.iter().enumerate() {
            assert_eq!(*line, 1 + 2 * i as u64);
            assert_eq!(f[0], i.to_string());
            assert_eq!(f[2], (i * 3).to_string());
        }
    }

    /// The fields of record `raw` as the general path splits them, as text.
    fn split_text(raw: &[u8], format: Format) -> Vec<String> {
        (split_fields(raw, format).iter())
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    /// `lines` lines of up to `max_len` bytes drawn from `alphabet` by a
    /// xorshift generator whose state is `seed`.
    fn random_lines(alphabet: &[u8], lines: usize, max_len: u64, seed: &mut u64) -> Vec<u8> {
        let mut next = || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        let mut buf = Vec::new();
        for _ in 0..lines {
            for _ in 0..next() % max_len {
                buf.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            buf.push(b'\n');
        }
        buf
    }

    #[test]
    fn the_one_pass_split_equals_the_general_one() {
        // Lines over a small alphabet, so that doubled and tripled
        // delimiters, CRs and blanks meet word boundaries in every position.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for format in [
            Format::Separated("::"),
            Format::Separated("|"),
            Format::Csv(b','),
        ] {
            let buf = random_lines(b"ab:|,\t \r", 3000, 30, &mut seed);
            let parsed = collect(&buf, format);
            let expected: Vec<(u64, Vec<String>)> = buf
                .split(|&b| b == b'\n')
                .enumerate()
                .map(|(i, raw)| (i as u64 + 1, trim_cr(raw)))
                .filter(|(_, raw)| !raw.iter().all(u8::is_ascii_whitespace))
                .map(|(line, raw)| (line, split_text(raw, format)))
                .collect();
            assert_eq!(parsed, expected, "{format:?}");
        }
        let rows = collect(b"a:::b::c\n1::2:\r\n", Format::Separated("::"));
        assert_eq!(rows[0].1, vec!["a", ":b", "c"]);
        assert_eq!(rows[1].1, vec!["1", "2:"]);
    }

    #[test]
    fn records_with_and_without_quotes_split_as_one_at_a_time() {
        // Quoted records (read by the general path) between plain ones (read
        // by the one-pass split), over an alphabet where quotes, delimiters,
        // CRs and newlines meet in every order: the chunked parse gives the
        // records that reading the file one record at a time gives.
        let format = Format::Csv(b',');
        let buf = random_lines(b"ab,\"\r\n ", 20_000, 24, &mut 0x9e37_79b9_7f4a_7c15);
        let mut expected = Vec::new();
        let (mut pos, mut line) = (0, 1u64);
        while pos < buf.len() {
            let end = record_end(&buf, pos, format);
            let raw = trim_cr(&buf[pos..end]);
            if !raw.iter().all(u8::is_ascii_whitespace) {
                expected.push((line, split_text(raw, format)));
            }
            line += 1 + memchr::memchr_iter(b'\n', &buf[pos..end]).count() as u64;
            pos = end + 1;
        }
        assert!(expected.len() > 1000, "{}", expected.len());
        assert_eq!(collect(&buf, format), expected);
    }

    #[test]
    fn a_newline_or_quote_delimiter_takes_the_general_path() {
        // Refused by params; were the one-pass split used, a newline would
        // split fields rather than end records, and a quote would no
        // longer open a quoted field.
        let rows = collect(b"a,b\nc\n", Format::Separated("\n"));
        assert_eq!(rows, [(1, vec!["a,b".into()]), (2, vec!["c".into()])]);
        let rows = collect(b"a,b\nc\n", Format::Csv(b'\n'));
        assert_eq!(rows, [(1, vec!["a,b".into()]), (2, vec!["c".into()])]);
        let rows = collect(b"\"x\",1\n", Format::Csv(b'"'));
        assert_eq!(rows[0].1, split_text(b"\"x\",1", Format::Csv(b'"')));
    }

    #[test]
    fn a_quoted_field_longer_than_a_chunk_stays_one_record() {
        // 3 MiB inside quotes (newlines and commas too): the slices it
        // covers begin inside quotes and must not start a chunk.
        let buf = long_quoted_field();
        let rows = collect(&buf, Format::Csv(b','));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].1[1].len(), (3 << 20) / 8 * 7);
        assert_eq!(rows[1].1[2], "y");
        assert_eq!(
            rows[2],
            (
                2 + (3 << 20) / 8 + 1,
                vec!["3".into(), "c".into(), "z".into()]
            )
        );
    }

    #[test]
    fn header_skips_bom_and_reports_data_start() {
        let (names, start, line) =
            header(b"\xEF\xBB\xBFa,b\r\n1,2\n", Format::Csv(b',')).expect("header");
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(start, 8);
        assert_eq!(line, 2);
    }

    #[test]
    fn latin1_fallback() {
        assert_eq!(decode_text(b"caf\xe9"), "café");
        assert_eq!(decode_text("café".as_bytes()), "café");
    }
}
