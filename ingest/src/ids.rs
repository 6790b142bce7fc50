//! Interning of original ids and the deterministic dense-id order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hasher for byte keys we produce ourselves
/// (ids, raw rows): 8 bytes per step, multiply-rotate (the FxHash scheme).
/// Not for keys an attacker chooses.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let mut tail = 0u64;
        for (i, &b) in chunks.remainder().iter().enumerate() {
            tail |= (b as u64) << (8 * i);
        }
        self.0 = (self.0.rotate_left(5) ^ tail ^ (bytes.len() as u64)).wrapping_mul(K);
    }

    /// One 64x64 -> 128-bit multiply folded to 64 bits: every input bit
    /// reaches the low bits that pick a bucket (a plain multiply leaves
    /// them to the key's low bytes, the first characters of an id).
    fn write_u64(&mut self, n: u64) {
        let m = u128::from(self.0 ^ n) * 0x5851_f42d_4c95_7f2d_u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Maps original id strings to small integers in order of first sight.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    /// Keys of up to 7 bytes, packed with their length into one integer:
    /// most ids are short, and these lookups compare no bytes.
    short: FastMap<u64, u32>,
    /// Longer keys.
    map: FastMap<Box<[u8]>, u32>,
    keys: Vec<Box<[u8]>>,
    /// The index returned last: logs repeat ids on consecutive rows (the
    /// lines of one order share the customer), which then skip the hash.
    last: u32,
    /// The packed key returned last, if it was short.
    last_short: Option<u64>,
}

impl Interner {
    /// The index of `key`, adding it if new.
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let packed = pack(key);
        let same_as_last = match packed {
            Some(p) => self.last_short == Some(p),
            None => self
                .keys
                .get(self.last as usize)
                .is_some_and(|k| **k == *key),
        };
        if same_as_last {
            return self.last;
        }
        let next = self.keys.len() as u32;
        let i = match packed {
            Some(packed) => *self.short.entry(packed).or_insert(next),
            None => match self.map.get(key) {
                Some(&i) => i,
                None => {
                    self.map.insert(key.into(), next);
                    next
                }
            },
        };
        self.last_short = packed;
        if i == next {
            self.keys.push(key.into());
        }
        self.last = i;
        i
    }

    /// The index of `key`, if seen.
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        match pack(key) {
            Some(packed) => self.short.get(&packed).copied(),
            None => self.map.get(key).copied(),
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key was interned.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys in order of first sight.
    pub fn keys(&self) -> &[Box<[u8]>] {
        &self.keys
    }

    /// Interns every key of `other` and returns the map from its indices to ours.
    pub fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        other.keys.iter().map(|k| self.intern(k)).collect()
    }
}

/// A key of up to 7 bytes as one integer: its bytes (little-endian), and
/// its length in the top byte (so that keys with trailing zero bytes stay
/// distinct). Built from two overlapping loads rather than copied into a
/// word: a copy of a variable length is a call to `memcpy`, and its byte
/// stores stall the word's load, which made this 40% of interning.
fn pack(key: &[u8]) -> Option<u64> {
    let n = key.len();
    let bytes = match n {
        0 => 0,
        1..=3 => {
            // The first, middle and last bytes cover 1 to 3 bytes.
            let byte = |i: usize| u64::from(key[i]) << (8 * i);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        4..=7 => {
            let first = u32::from_le_bytes([key[0], key[1], key[2], key[3]]);
            let last = u32::from_le_bytes([key[n - 4], key[n - 3], key[n - 2], key[n - 1]]);
            u64::from(first) | (u64::from(last) << (8 * (n - 4)))
        }
        _ => return None,
    };
    Some(bytes | ((n as u64) << 56))
}

/// A side file's (or a sample's) id as the stage reads a log's ids:
/// trimmed, `17850.0` as `17850`.
pub(crate) fn id_as_read(id: &str) -> String {
    String::from_utf8_lossy(normalize_id(id.as_bytes(), true)).into_owned()
}

/// Normalises an id as written: trims white space, and (if `strip_zero_fraction`)
/// turns a float-formatted integer such as `17850.0` into `17850`.
pub fn normalize_id(raw: &[u8], strip_zero_fraction: bool) -> &[u8] {
    let id = raw.trim_ascii();
    if strip_zero_fraction && let Some(dot) = id.iter().position(|&b| b == b'.') {
        let (int, frac) = (&id[..dot], &id[dot + 1..]);
        if !int.is_empty()
            && int.iter().all(u8::is_ascii_digit)
            && !frac.is_empty()
            && frac.iter().all(|&b| b == b'0')
        {
            return int;
        }
    }
    id
}

/// The dense order of ids: numeric order when every id is an unsigned
/// integer, byte order otherwise. Returns, for each id position, its rank.
pub fn dense_order(ids: &[&[u8]]) -> Vec<u32> {
    let numeric: Option<Vec<u64>> = ids
        .iter()
        .map(|id| {
            if id.is_empty() || id.len() > 19 || !id.iter().all(u8::is_ascii_digit) {
                None
            } else {
                std::str::from_utf8(id).ok()?.parse::<u64>().ok()
            }
        })
        .collect();
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    match &numeric {
        Some(nums) => order.sort_by_key(|&i| (nums[i as usize], ids[i as usize])),
        None => order.sort_by_key(|&i| ids[i as usize]),
    }
    let mut rank = vec![0u32; ids.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    rank
}

/// Each id's rank in dense order ([`dense_order`] of the ids as text, the
/// way the dense catalogs order them).
pub fn id_ranks(keys: &[Box<[u8]>]) -> Vec<u32> {
    let texts: Vec<std::borrow::Cow<'_, str>> =
        keys.iter().map(|k| String::from_utf8_lossy(k)).collect();
    let bytes: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
    dense_order(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_is_the_bytes_and_the_length_of_every_short_key() {
        let copy = |key: &[u8]| {
            let mut word = [0u8; 8];
            word[..key.len()].copy_from_slice(key);
            word[7] = key.len() as u8;
            u64::from_le_bytes(word)
        };
        let text = b"\x01\x02\xfe\x00abcdefgh";
        for start in 0..text.len() {
            for end in start..text.len() {
                let key = &text[start..end];
                let expected = (key.len() <= 7).then(|| copy(key));
                assert_eq!(pack(key), expected, "{key:?}");
            }
        }
    }

    #[test]
    fn interner_keeps_first_sight_order_for_short_long_and_zero_byte_keys() {
        let mut ids = Interner::default();
        let keys: [&[u8]; 7] = [
            b"17850",
            b"a\0",
            b"a",
            b"",
            b"85123A-LONGER",
            b"1234567",
            b"12345678",
        ];
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(ids.intern(k), n as u32, "{k:?}");
        }
        for (n, k) in keys.iter().enumerate().rev() {
            assert_eq!(ids.intern(k), n as u32, "{k:?} again");
            assert_eq!(ids.get(k), Some(n as u32));
        }
        assert_eq!(ids.get(b"a\0\0"), None);
        assert_eq!(ids.len(), keys.len());
        assert_eq!(ids.keys()[4].as_ref(), b"85123A-LONGER");
    }

    #[test]
    fn normalizes_float_formatted_ids() {
        assert_eq!(normalize_id(b" 17850.0 ", true), b"17850");
        assert_eq!(normalize_id(b"17850.5", true), b"17850.5");
        assert_eq!(normalize_id(b"85123A", true), b"85123A");
        assert_eq!(normalize_id(b"17850.0", false), b"17850.0");
        assert_eq!(normalize_id(b".0", true), b".0");
    }

    #[test]
    fn numeric_ids_sort_numerically_else_bytewise() {
        let ids: Vec<&[u8]> = vec![b"10", b"9", b"100"];
        assert_eq!(dense_order(&ids), vec![1, 0, 2]);
        let ids: Vec<&[u8]> = vec![b"10", b"9", b"A"];
        assert_eq!(dense_order(&ids), vec![0, 1, 2]);
    }

    #[test]
    fn absorb_maps_indices() {
        let mut a = Interner::default();
        a.intern(b"x");
        let mut b = Interner::default();
        b.intern(b"y");
        b.intern(b"x");
        assert_eq!(a.absorb(&b), vec![1, 0]);
        assert_eq!(a.len(), 2);
    }
}
