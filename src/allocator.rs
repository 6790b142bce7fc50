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
