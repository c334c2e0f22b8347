//! Freed heap given back to the OS. glibc keeps what is freed in the arena of the thread that
//! allocated it and returns it only when the top of a heap is free; a daemon whose request,
//! blocking and control threads keep allocating and freeing (JSON bodies, decoded remote-write
//! chunks, query results) grows its resident size that way without holding more live data: in a
//! 10k-series soak RSS went from 80 to 670 MiB in ten minutes, and `malloc_trim(0)` on the running
//! daemon took it from 311 to 48 MiB. So the daemon trims after large remote-write requests and on
//! a timer.

use std::time::Duration;
use tokio::sync::watch;

/// How often the trimmer runs.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Asks the allocator to return free memory to the OS (glibc only; elsewhere nothing to do).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every `every` (on a blocking thread: a fragmented heap takes a few milliseconds) until
/// shutdown.
pub async fn run(every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = crate::loops::stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        let _ = tokio::task::spawn_blocking(release_free_memory).await;
    }
}
