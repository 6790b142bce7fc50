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
        None => hay
            .iter()
            .enumerate()
            .filter(|(_, b)| needles.contains(b))
            .fold(0, |m, (i, _)| m | 1 << i),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn full_block_mask(block: &[u8; 64], needles: [u8; 3]) -> u64 {
    // SAFETY: SSE2 is part of x86-64: every x86-64 CPU has it.
    #[allow(unsafe_code)]
    unsafe {
        sse2_block_mask(block, needles)
    }
}

/// [`full_block_mask`] in four 16-byte compares per needle. The bytes are
/// loaded as u64 pairs (one unaligned load once optimised), so no pointer
/// is read.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_block_mask(block: &[u8; 64], needles: [u8; 3]) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };
    let [a, b, c] = needles.map(|n| _mm_set1_epi8(n as i8));
    let (lanes, _) = block.as_chunks::<8>();
    let mut mask = 0u64;
    for (k, pair) in lanes.chunks_exact(2).enumerate() {
        let v = _mm_set_epi64x(i64::from_le_bytes(pair[1]), i64::from_le_bytes(pair[0]));
        let hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, a), _mm_cmpeq_epi8(v, b)),
            _mm_cmpeq_epi8(v, c),
        );
        mask |= u64::from(_mm_movemask_epi8(hit) as u16) << (16 * k);
    }
    mask
}

/// The masks of `a` and of `b` in a 64-byte block.
#[cfg(target_arch = "x86_64")]
#[inline]
fn pair_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    // SAFETY: SSE2 is part of x86-64: every x86-64 CPU has it.
    #[allow(unsafe_code)]
    unsafe {
        sse2_pair_masks(block, a, b)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_pair_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
    let (va, vb) = (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8));
    let (lanes, _) = block.as_chunks::<8>();
    let (mut ma, mut mb) = (0u64, 0u64);
    for (k, pair) in lanes.chunks_exact(2).enumerate() {
        let v = _mm_set_epi64x(i64::from_le_bytes(pair[1]), i64::from_le_bytes(pair[0]));
        ma |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, va)) as u16) << (16 * k);
        mb |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) as u16) << (16 * k);
    }
    (ma, mb)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn pair_masks(block: &[u8; 64], a: u8, b: u8) -> (u64, u64) {
    block.iter().enumerate().fold((0, 0), |(ma, mb), (i, &x)| {
        (ma | u64::from(x == a) << i, mb | u64::from(x == b) << i)
    })
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn full_block_mask(block: &[u8; 64], needles: [u8; 3]) -> u64 {
    block
        .iter()
        .enumerate()
        .filter(|(_, b)| needles.contains(b))
        .fold(0, |m, (i, _)| m | 1 << i)
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
