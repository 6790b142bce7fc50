//! Where any of three bytes occurs in a slice: one bit mask per 64 bytes,
//! read bit by bit; and counts of two bytes from the same masks.
//!
//! A record of Online Retail holds a delimiter or newline every ten bytes.
//! memchr's `memchr3_iter` restarts its vector search after each of them;
//! here each 64-byte block is compared once (four SSE2 compares per
//! needle, SSE2 being part of x86-64) and the positions come from its mask.

/// The positions of `needles` in a slice, in order.
#[derive(Debug, Clone)]
pub struct Hits<'a> {
    hay: &'a [u8],
    needles: [u8; 3],
    /// Start of the block `mask` describes.
    block: usize,
    /// Bits of the hits in that block not yet returned.
    mask: u64,
}

impl<'a> Hits<'a> {
    /// The positions of `a`, `b` or `c` in `hay`.
    pub fn new(a: u8, b: u8, c: u8, hay: &'a [u8]) -> Self {
        let needles = [a, b, c];
        Hits {
            hay,
            needles,
            block: 0,
            mask: block_mask(hay, needles),
        }
    }
}

impl Iterator for Hits<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.block += 64;
            if self.block >= self.hay.len() {
                return None;
            }
            self.mask = block_mask(&self.hay[self.block..], self.needles);
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.block + bit)
    }
}

/// How many times `a` and `b` occur in `hay`, from one pass over it (two
/// searches of memchr's read it twice).
pub fn count_two(a: u8, b: u8, hay: &[u8]) -> (u64, u64) {
    let (blocks, tail) = hay.as_chunks::<64>();
    let (mut na, mut nb) = (0u64, 0u64);
    for block in blocks {
        let (ma, mb) = pair_masks(block, a, b);
        na += u64::from(ma.count_ones());
        nb += u64::from(mb.count_ones());
    }
    for &x in tail {
        na += u64::from(x == a);
        nb += u64::from(x == b);
    }
    (na, nb)
}

/// Bit i set where `hay[i]` is one of `needles`, for the first 64 bytes.
#[inline]
fn block_mask(hay: &[u8], needles: [u8; 3]) -> u64 {
    match hay.first_chunk::<64>() {
        Some(block) => full_block_mask(block, needles),
        None => scalar_mask(hay, |x| needles.contains(&x)),
    }
}

/// Bit i set where `matches(bytes[i])`, for up to 64 bytes, a byte at a time.
#[inline]
fn scalar_mask(bytes: &[u8], matches: impl Fn(u8) -> bool) -> u64 {
    bytes
        .iter()
        .take(64)
        .enumerate()
        .filter(|&(_, &x)| matches(x))
        .fold(0, |m, (i, _)| m | 1 << i)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn full_block_mask(block: &[u8; 64], needles: [u8; 3]) -> u64 {
    // SAFETY: SSE2 is part of x86-64: every x86-64 CPU has it.
    #[allow(unsafe_code)]
    unsafe {
        sse2::any_of_three(block, needles)
    }
}

/// The masks of `a` and of `b` in a 64-byte block.
#[cfg(target_arch = "x86_64")]
#[inline]
fn pair_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    // SAFETY: SSE2 is part of x86-64: every x86-64 CPU has it.
    #[allow(unsafe_code)]
    unsafe {
        sse2::each_of_two(block, a, b)
    }
}

/// The block masks in 16-byte SSE2 compares. The bytes are loaded as u64
/// pairs (one unaligned load once optimised), so no pointer is read.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };

    /// The block as four 16-byte vectors.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn lanes(block: &[u8; 64]) -> [__m128i; 4] {
        let (words, _) = block.as_chunks::<8>();
        std::array::from_fn(|k| {
            _mm_set_epi64x(
                i64::from_le_bytes(words[2 * k + 1]),
                i64::from_le_bytes(words[2 * k]),
            )
        })
    }

    /// The 64-bit mask of four 16-byte compare results.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn mask(hits: [__m128i; 4]) -> u64 {
        hits.iter().enumerate().fold(0, |m, (k, &h)| {
            m | u64::from(_mm_movemask_epi8(h) as u16) << (16 * k)
        })
    }

    /// Bit i set where byte i is one of `needles`.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn any_of_three(block: &[u8; 64], needles: [u8; 3]) -> u64 {
        let [a, b, c] = needles.map(|n| _mm_set1_epi8(n as i8));
        let v = lanes(block);
        mask(std::array::from_fn(|k| {
            _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v[k], a), _mm_cmpeq_epi8(v[k], b)),
                _mm_cmpeq_epi8(v[k], c),
            )
        }))
    }

    /// The masks of `a` and of `b`.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn each_of_two(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
        let v = lanes(block);
        let of = |n: u8| {
            let n = _mm_set1_epi8(n as i8);
            mask(std::array::from_fn(|k| _mm_cmpeq_epi8(v[k], n)))
        };
        (of(a), of(b))
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn full_block_mask(block: &[u8; 64], needles: [u8; 3]) -> u64 {
    scalar_mask(block, |x| needles.contains(&x))
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn pair_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    (
        scalar_mask(block, |x| x == a),
        scalar_mask(block, |x| x == b),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same positions as memchr's scan, on bytes drawn mostly from
        /// the needles, at every length and alignment around a block.
        #[test]
        fn hits_equal_memchr3(
            hay in proptest::collection::vec(prop_oneof![Just(b','), Just(b'\n'), Just(b'"'), any::<u8>()], 0..300),
            skip in 0usize..70,
        ) {
            let hay = &hay[skip.min(hay.len())..];
            let ours: Vec<usize> = Hits::new(b',', b'\n', b'"', hay).collect();
            let theirs: Vec<usize> = memchr::memchr3_iter(b',', b'\n', b'"', hay).collect();
            prop_assert_eq!(ours, theirs);
        }
    }

    proptest! {
        /// The counts of a naive pass, across block edges.
        #[test]
        fn count_two_equals_a_naive_count(
            hay in proptest::collection::vec(prop_oneof![Just(b'"'), Just(b'\n'), any::<u8>()], 0..400),
        ) {
            let naive = |n: u8| hay.iter().filter(|&&x| x == n).count() as u64;
            prop_assert_eq!(count_two(b'"', b'\n', &hay), (naive(b'"'), naive(b'\n')));
        }
    }

    #[test]
    fn repeated_needles_and_edges_of_blocks() {
        let mut hay = vec![b'x'; 200];
        for i in [0, 63, 64, 127, 128, 199] {
            hay[i] = b':';
        }
        let hits: Vec<usize> = Hits::new(b':', b':', b'\n', &hay).collect();
        assert_eq!(hits, [0, 63, 64, 127, 128, 199]);
        assert_eq!(Hits::new(b'a', b'b', b'c', &[]).count(), 0);
    }
}
