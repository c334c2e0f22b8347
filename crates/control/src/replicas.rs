//! The simulated replica set (the replay's and a shadow's counterfactual): ready replicas plus starting ones that become ready after a delay.
//!
//! Added replicas become ready `delay` steps after the request; removals take effect at once and
//! cancel starting replicas first (the most recently requested first), then ready ones.

use std::collections::VecDeque;

/// Ready and starting replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSet {
    ready: u32,
    /// (step at which they become ready, count), oldest request first.
    starting: VecDeque<(usize, u32)>,
    delay: usize,
}

impl ReplicaSet {
    /// `initial` replicas, all ready; added replicas take `delay` steps.
    pub fn new(initial: u32, delay: usize) -> Self {
        ReplicaSet {
            ready: initial,
            starting: VecDeque::new(),
            delay,
        }
    }

    /// Replicas ready to serve.
    pub fn ready(&self) -> u32 {
        self.ready
    }

    /// Ready plus starting replicas (the requested count).
    pub fn requested(&self) -> u32 {
        self.ready + self.starting.iter().map(|&(_, n)| n).sum::<u32>()
    }

    /// Makes every replica due by `step` ready.
    pub fn advance_to(&mut self, step: usize) {
        while let Some(&(at, n)) = self.starting.front() {
            if at > step {
                break;
            }
            self.ready += n;
            self.starting.pop_front();
        }
    }

    /// Sets the requested count at `step`: adds starting replicas (ready at `step + delay`) or
    /// removes replicas at once, cancelling starting ones first.
    pub fn request(&mut self, step: usize, target: u32) {
        let current = self.requested();
        if target > current {
            self.starting
                .push_back((step + self.delay, target - current));
            self.advance_to(step);
        } else {
            let mut remove = current - target;
            while remove > 0 {
                match self.starting.back_mut() {
                    Some((_, n)) if *n > remove => {
                        *n -= remove;
                        remove = 0;
                    }
                    Some(&mut (_, n)) => {
                        remove -= n;
                        self.starting.pop_back();
                    }
                    None => {
                        self.ready = self.ready.saturating_sub(remove);
                        remove = 0;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_additions_and_cancels_starting_first() {
        let mut r = ReplicaSet::new(3, 2);
        r.request(0, 5);
        assert_eq!((r.ready(), r.requested()), (3, 5));
        r.advance_to(1);
        r.request(1, 7);
        assert_eq!((r.ready(), r.requested()), (3, 7));
        r.request(1, 4); // cancels the 2 from step 1 and 1 of the 2 from step 0
        assert_eq!((r.ready(), r.requested()), (3, 4));
        r.advance_to(2);
        assert_eq!(r.ready(), 4);
        r.request(2, 1);
        assert_eq!((r.ready(), r.requested()), (1, 1));
        let mut z = ReplicaSet::new(1, 0);
        z.request(0, 4);
        assert_eq!(z.ready(), 4);
    }
}
