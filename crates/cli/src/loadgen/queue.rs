//! The generator's shared state: the queue of offered units (their arrival times) and the counters
//! `/metrics` reports. Units taken by a worker that disconnects before finishing go back to the
//! front, so no offered unit is lost or counted twice.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Counters and the queue, behind one lock.
#[derive(Debug, Default)]
pub struct State {
    pub queue: VecDeque<Instant>,
    /// Units offered (arrived), served (completed), dropped (queue full).
    pub offered: u64,
    pub served: u64,
    pub dropped: u64,
    /// Sum of completed units' latency (arrival → completion), seconds.
    pub latency_sum_s: f64,
    pub workers: u64,
    pub busy: u64,
    /// Current offered rate from the pattern (units/s).
    pub rate: f64,
}

/// The queue with a condition variable workers wait on.
#[derive(Debug)]
pub struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    max_len: usize,
}

impl Queue {
    pub fn new(max_len: usize) -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            max_len,
        }
    }

    /// The state (a poisoned lock is still usable: every update leaves it consistent).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers `n` units arriving at `at`; beyond `max_len` they are dropped and counted.
    pub fn offer(&self, n: u64, at: Instant, rate: f64) {
        let mut s = self.lock();
        s.rate = rate;
        for _ in 0..n {
            s.offered += 1;
            if s.queue.len() >= self.max_len {
                s.dropped += 1;
            } else {
                s.queue.push_back(at);
            }
        }
        drop(s);
        if n > 0 {
            self.ready.notify_all();
        }
    }

    /// Takes the oldest unit, waiting up to `wait` for one.
    pub fn take(&self, wait: Duration) -> Option<Instant> {
        let deadline = Instant::now() + wait;
        let mut s = self.lock();
        loop {
            if let Some(at) = s.queue.pop_front() {
                s.busy += 1;
                return Some(at);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            s = self
                .ready
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A unit taken at `arrived` was completed now.
    pub fn done(&self, arrived: Instant) {
        let mut s = self.lock();
        s.busy = s.busy.saturating_sub(1);
        s.served += 1;
        s.latency_sum_s += arrived.elapsed().as_secs_f64();
    }

    /// A unit taken at `arrived` was not completed (its worker went away): back to the front.
    pub fn give_back(&self, arrived: Instant) {
        let mut s = self.lock();
        s.busy = s.busy.saturating_sub(1);
        s.queue.push_front(arrived);
        drop(s);
        self.ready.notify_one();
    }

    pub fn worker_joined(&self) {
        self.lock().workers += 1;
    }

    pub fn worker_left(&self) {
        let mut s = self.lock();
        s.workers = s.workers.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_served_once_and_given_back_on_loss() {
        let q = Queue::new(3);
        let t0 = Instant::now();
        q.offer(5, t0, 5.0);
        {
            let s = q.lock();
            assert_eq!((s.offered, s.dropped, s.queue.len()), (5, 2, 3));
        }
        let a = q.take(Duration::ZERO).unwrap();
        q.give_back(a);
        assert_eq!(q.lock().queue.len(), 3);
        for _ in 0..3 {
            let a = q.take(Duration::ZERO).unwrap();
            q.done(a);
        }
        assert!(q.take(Duration::from_millis(1)).is_none());
        let s = q.lock();
        assert_eq!((s.served, s.busy, s.queue.len()), (3, 0, 0));
    }
}
