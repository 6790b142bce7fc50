//! The allocator's policy for the process (glibc only; elsewhere the
//! allocator keeps its defaults).
//!
//! glibc maps every block from 128 KiB up on its own (raising that
//! threshold only as such blocks are freed) and unmaps it when freed, so
//! the pages a stage frees (a chunk's parsed rows once gathered by user, a
//! file's columns once written) go back to the kernel and its next
//! allocations fault fresh zeroed pages in: ingesting Online Retail took
//! 34,500 page faults, a fifth of its CPU time in the kernel's fault path.
//! [`tune`] keeps blocks under 16 MiB in the allocator's heaps, where what
//! is freed serves the next allocations. One binary with and without it:
//! Online Retail 34,500 -> 27,000 page faults, 149 -> 135 ms (median of 11
//! interleaved runs), peak 140 -> 149 MiB; a 1M-rating ingest 236 -> 220
//! ms, 159 -> 177 MiB (median of 7). At 8 MiB a 1M-rating ingest kept less
//! (161 MiB) but lost most of its gain (209 against 192 ms at 16 MiB); at
//! 32 MiB it was no faster, and a 2M-rating ingest peaked at 391 MiB (325
//! at 16 MiB, 327 without the setting).
//!
//! Setting that threshold also stops glibc from raising its trim threshold
//! with it, which then stays at 128 KiB: each free at a heap's top handed
//! the memory back and the next allocation faulted it in again. Training
//! implicit ALS on Online Retail took 111,000 page faults at a peak of 69
//! MiB. [`tune`] sets it to 32 MiB (twice the mmap threshold, glibc's own
//! ratio). The same binary with and without it (median of 5 interleaved
//! runs): that stage 111,000 -> 14,500 faults and 1.43 -> 1.26 s, export
//! 0.47 -> 0.45 s; on ML-100K explicit ALS (u1) 3.58 -> 3.39 s and implicit
//! ALS 0.69 -> 0.62 s. Ingest and K-means did not move; peaks grew by 1-13
//! MiB (Online Retail's ingest 146 -> 157 MiB).
//!
//! [`release_free_memory`] hands what the heaps hold free back to the
//! system before each stage, so that a stage does not carry its
//! predecessor's memory: on 100,000 synthetic users, K-means peaked at 635
//! MiB instead of 790 after ingest and features ran in the same process.
//!
//! [`HugePages`], the process's global allocator, is glibc's with one
//! request to the kernel: back every block of 2 MiB or more with
//! transparent huge pages, where the system grants them on request (its
//! `madvise` mode, the default of Debian, Ubuntu and Fedora). A block's
//! pages are then faulted in 2 MiB at a time instead of 4 KiB. The same
//! binary with and without it, medians of interleaved runs: Online
//! Retail's ingest 23,700 -> 12,300 page faults, 177 -> 166 ms and 208 ->
//! 203 ms (two series of 21 runs); its implicit ALS 1.53 -> 1.30 s and
//! export 0.29 -> 0.27 s (5 runs); a 1M-rating ingest 269 -> 255 ms (5);
//! K-means on 100,000 users 2.23 -> 2.07 s (3). Peaks moved by 0-5 MiB.
//! Where huge pages are off (`never` in
//! `/sys/kernel/mm/transparent_hugepage/enabled`, the switch for hosts
//! whose administrators keep them off) or not built in, the request does
//! nothing and the allocator is glibc's.

/// Serves blocks under 16 MiB from the allocator's heaps, and keeps up to
/// 32 MiB free at a heap's top. Runs first thing in `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    // SAFETY: mallopt only sets a parameter of glibc's allocator, and runs
    // before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}

/// Returns the memory the allocator's heaps hold free to the system. The
/// runner calls it before each stage, outside the stage's timer (3 ms after
/// Online Retail's ingest, 6-14 ms after the stages of a 2M-rating set).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() {
    // SAFETY: malloc_trim only releases free pages of glibc's heaps; it is
    // thread-safe and touches no memory in use.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

/// Other platforms keep their allocator's defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

/// glibc's allocator, asking the kernel for huge pages under every block
/// of [`HUGE_PAGE`] or more (see the module's documentation).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub struct HugePages;

/// The size of a transparent huge page on x86-64 and aarch64 (with 4 KiB
/// base pages): blocks this large are worth backing with them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HUGE_PAGE: usize = 2 << 20;

/// The whole huge pages inside the block at address `p` of `size` bytes:
/// `(start, length)`, or `None` if it holds none.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn huge_page_span(p: usize, size: usize) -> Option<(usize, usize)> {
    let start = p.checked_next_multiple_of(HUGE_PAGE)?;
    let end = p.checked_add(size)? & !(HUGE_PAGE - 1);
    (end > start).then(|| (start, end - start))
}

/// Asks the kernel to back the huge pages inside the block at `p` of
/// `size` bytes with huge pages. A request it refuses (huge pages not built
/// in) changes nothing, so its answer is not read.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn advise_huge_pages(p: *mut u8, size: usize) {
    if p.is_null() || size < HUGE_PAGE {
        return;
    }
    if let Some((start, len)) = huge_page_span(p as usize, size) {
        // SAFETY: the range lies inside the block just allocated, on page
        // boundaries, and MADV_HUGEPAGE only changes how the kernel backs
        // it, never its contents.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
}

// SAFETY: every block comes from and goes back to `System` with the layout
// the caller gave; the advice only changes how the kernel backs its pages.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { std::alloc::System.alloc(layout) };
        advise_huge_pages(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { std::alloc::System.alloc_zeroed(layout) };
        advise_huge_pages(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let q = unsafe { std::alloc::System.realloc(p, layout, new_size) };
        advise_huge_pages(q, new_size);
        q
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn the_huge_page_span_is_every_whole_huge_page_inside_the_block() {
        let h = HUGE_PAGE;
        // (address, size, expected span)
        let cases = [
            (h, h, Some((h, h))),
            (h, h - 1, None),
            (h + 1, h, None),
            (h + 1, 2 * h, Some((2 * h, h))),
            (h - 4096, 3 * h + 4096, Some((h, 3 * h))),
            (7 * h + 8, 5 * h, Some((8 * h, 4 * h))),
            (usize::MAX - h, h, None),
        ];
        for (p, size, want) in cases {
            assert_eq!(huge_page_span(p, size), want, "block at {p:#x} of {size}");
        }
        // Brute force on a small grid: the span lies in the block, on huge
        // page boundaries, and no huge page inside the block is left out.
        for p in (0..4 * h).step_by(h / 4) {
            for size in (0..4 * h).step_by(h / 8) {
                let whole = (0..8)
                    .filter(|k| k * h >= p && (k + 1) * h <= p + size)
                    .count();
                match huge_page_span(p, size) {
                    Some((start, len)) => {
                        assert!(start >= p && start + len <= p + size);
                        assert_eq!((start % h, len % h), (0, 0));
                        assert_eq!(len / h, whole);
                    }
                    None => assert_eq!(whole, 0),
                }
            }
        }
    }

    #[test]
    fn blocks_of_every_size_keep_their_bytes_through_growth_and_shrinking() {
        use std::alloc::{GlobalAlloc, Layout};
        let a = HugePages;
        for size in [16, 4096, HUGE_PAGE - 1, HUGE_PAGE, 3 * HUGE_PAGE + 17] {
            let layout = Layout::from_size_align(size, 8).expect("a valid layout");
            // SAFETY: each block is used within its size and freed once,
            // with the layout it was (re)allocated with.
            #[allow(unsafe_code)]
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                for i in (0..size).step_by(997) {
                    *p.add(i) = (i % 251) as u8;
                }
                let grown = a.realloc(p, layout, 2 * size + HUGE_PAGE);
                assert!(!grown.is_null());
                for i in (0..size).step_by(997) {
                    assert_eq!(*grown.add(i), (i % 251) as u8);
                }
                let big = Layout::from_size_align(2 * size + HUGE_PAGE, 8).expect("a valid layout");
                let shrunk = a.realloc(grown, big, size);
                assert!(!shrunk.is_null());
                for i in (0..size).step_by(997) {
                    assert_eq!(*shrunk.add(i), (i % 251) as u8);
                }
                a.dealloc(shrunk, layout);
                let z = a.alloc_zeroed(layout);
                assert!(!z.is_null());
                assert!((0..size).step_by(991).all(|i| *z.add(i) == 0));
                a.dealloc(z, layout);
            }
        }
    }
}
