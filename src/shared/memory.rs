//! Handing memory freed by the parse waves back to the operating system, so peak resident
//! memory follows what is in use rather than what glibc keeps after it.

/// How far resident memory may grow past its level after the last release before freed
/// memory is handed back again.
const RESIDENT_GROWTH_BYTES: u64 = 32 << 20;

/// Hands memory freed by earlier waves back to the operating system when the process's
/// resident memory has grown by [`RESIDENT_GROWTH_BYTES`] since the last release.
///
/// A wave's documents and batches are freed in a different order than they were allocated,
/// and glibc keeps the holes resident, more of them the longer the run, so peak RSS crept up
/// with the corpus. Each release costs time, as the next wave faults the pages in again.
/// Measured at 200,000 sessions (2 cores, two runs each): never releasing 249–257 MB;
/// every eighth wave 223 MB; on 64 MB of growth 232 MB in 12.7–13.2 s; on 32 MB (this)
/// 198–203 MB in 13.7–13.8 s; on 24 MB 187–188 MB in 14.5–15.3 s.
#[derive(Debug, Default)]
pub struct FreedMemory {
    /// Resident bytes after the last release (or the first wave).
    baseline: Option<u64>,
}

impl FreedMemory {
    /// Releases freed memory if resident memory grew past the allowance since the last time.
    pub fn release_if_grown(&mut self) {
        let Some(resident) = resident_bytes() else {
            return;
        };
        let baseline = *self.baseline.get_or_insert(resident);
        if resident > baseline + RESIDENT_GROWTH_BYTES {
            release_free_memory();
            self.baseline = resident_bytes();
        }
    }
}

/// The process's resident memory, from `/proc/self/statm` (`None` elsewhere).
fn resident_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        // SAFETY: sysconf only reads a system constant.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Some(pages * u64::try_from(page_size).ok()?)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Returns free memory of the allocator's arenas to the operating system (glibc only).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
