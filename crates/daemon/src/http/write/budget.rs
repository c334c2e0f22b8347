//! The receiver's in-flight byte budget: request bodies and their decompressed data held at once,
//! across all requests. A request that would go past it is answered 429 (the sender retries later)
//! instead of growing the process without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes held by requests being received, against a fixed limit.
#[derive(Debug)]
pub struct InFlight {
    limit: usize,
    used: AtomicUsize,
}

/// Bytes reserved by one request; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<InFlight>,
    bytes: usize,
}

impl InFlight {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(InFlight {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved right now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Reserves `bytes`, or `None` when that would go past the limit.
    pub fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<Reservation> {
        self.take(bytes).then(|| Reservation {
            budget: self.clone(),
            bytes,
        })
    }
}

impl Reservation {
    /// Bytes held by this reservation.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Changes the reservation to `bytes`; `false` (and unchanged) when growing it would go past
    /// the limit.
    pub fn resize(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            if !self.budget.take(bytes - self.bytes) {
                return false;
            }
        } else {
            self.budget
                .used
                .fetch_sub(self.bytes - bytes, Ordering::AcqRel);
        }
        self.bytes = bytes;
        true
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stay_within_the_limit_and_are_given_back() {
        let b = InFlight::new(100);
        let mut r1 = b.try_reserve(60).expect("fits");
        assert!(b.try_reserve(41).is_none());
        let r2 = b.try_reserve(40).expect("fits exactly");
        assert_eq!(b.used(), 100);
        assert!(!r1.resize(61), "growing past the limit is refused");
        assert_eq!(b.used(), 100);
        assert!(r1.resize(10));
        assert_eq!(b.used(), 50);
        assert!(r1.resize(60));
        drop(r2);
        assert_eq!(b.used(), 60);
        drop(r1);
        assert_eq!(b.used(), 0);
        assert!(b.try_reserve(usize::MAX).is_none(), "no overflow");
    }
}
