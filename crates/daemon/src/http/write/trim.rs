//! Gives freed heap back to the OS after large remote-write requests: glibc keeps freed memory in
//! its arenas (a maximum-size request left ~200 MB resident for good), `malloc_trim` returns it.

/// Asks the allocator to return free memory to the OS (glibc only; elsewhere nothing to do).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
