//! What the invalidator decides without any I/O: which invalidations one frontend still owes an
//! acknowledgement for, and how long to wait before resending them.

use std::collections::BTreeMap;
use std::time::Duration;

use common::wire::Invalidation;
use common::Version;

/// The invalidations one frontend has not acknowledged yet, newest version per product.
///
/// - Coalesced: a product appears once, with the highest version pushed for it, because an
///   invalidation of version `v` covers every older one (the frontend drops copies below `v`).
/// - Bounded: at most `capacity` products. The catalog only pushes its own toys, so in practice
///   the bound is the catalog's size; a change beyond it is dropped, counted, and left to the
///   frontend cache's time to live.
/// - An acknowledgement removes a product only if the acknowledged version is the newest one,
///   so a change pushed while an older message was in flight is still owed.
#[derive(Debug)]
pub(crate) struct Backlog {
    pending: BTreeMap<String, Version>,
    capacity: usize,
}

impl Backlog {
    /// An empty backlog holding at most `capacity` products.
    pub(crate) fn new(capacity: usize) -> Backlog {
        Backlog {
            pending: BTreeMap::new(),
            capacity,
        }
    }

    /// Records `changes` as owed. Returns how many were dropped because the backlog is full.
    pub(crate) fn add(&mut self, changes: &[(String, Version)]) -> u64 {
        let mut dropped = 0;
        for (name, version) in changes {
            if let Some(owed) = self.pending.get_mut(name) {
                *owed = (*owed).max(*version);
            } else if self.pending.len() < self.capacity {
                self.pending.insert(name.clone(), *version);
            } else {
                dropped += 1;
            }
        }
        dropped
    }

    /// Everything owed, as one message.
    pub(crate) fn message(&self) -> Vec<Invalidation> {
        self.pending
            .iter()
            .map(|(name, version)| Invalidation {
                name: name.clone(),
                version: *version,
            })
            .collect()
    }

    /// The frontend took `sent`: what it covers is no longer owed.
    pub(crate) fn acknowledge(&mut self, sent: &[Invalidation]) {
        for invalidation in sent {
            if self
                .pending
                .get(&invalidation.name)
                .is_some_and(|owed| *owed <= invalidation.version)
            {
                self.pending.remove(&invalidation.name);
            }
        }
    }

    /// Whether nothing is owed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// How many products are owed.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

/// Exponential backoff between resends: `first`, doubled after each failure, at most `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff starting at `first` and never above `max`.
    pub(crate) fn new(first: Duration, max: Duration) -> Backoff {
        assert!(
            first <= max,
            "backoff starts at {first:?}, above its cap {max:?}"
        );
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The delay before the next attempt; each call doubles the one after it, up to the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    /// Back to the first delay (after a success).
    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(list: &[(&str, Version)]) -> Vec<(String, Version)> {
        list.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    }

    fn owed(backlog: &Backlog) -> Vec<(String, Version)> {
        backlog
            .message()
            .into_iter()
            .map(|i| (i.name, i.version))
            .collect()
    }

    /// Several changes of one toy leave one invalidation, at the newest version.
    #[test]
    fn coalesces_the_newest_version_per_product() {
        let mut backlog = Backlog::new(8);
        backlog.add(&changes(&[("Tux", 2), ("Fox", 5)]));
        backlog.add(&changes(&[("Tux", 4), ("Tux", 3)]));
        assert_eq!(owed(&backlog), changes(&[("Fox", 5), ("Tux", 4)]));
    }

    /// An acknowledgement of an older message keeps what was pushed after it.
    #[test]
    fn acknowledging_an_older_message_keeps_newer_changes() {
        let mut backlog = Backlog::new(8);
        backlog.add(&changes(&[("Tux", 2), ("Fox", 5)]));
        let in_flight = backlog.message();
        backlog.add(&changes(&[("Tux", 3)]));
        backlog.acknowledge(&in_flight);
        assert_eq!(owed(&backlog), changes(&[("Tux", 3)]));
        backlog.acknowledge(&backlog.message());
        assert!(backlog.is_empty());
    }

    /// A full backlog drops changes of new products (and counts them) but still updates the
    /// products it holds.
    #[test]
    fn is_bounded() {
        let mut backlog = Backlog::new(2);
        assert_eq!(backlog.add(&changes(&[("a", 1), ("b", 1), ("c", 1)])), 1);
        assert_eq!(backlog.add(&changes(&[("a", 2)])), 0);
        assert_eq!(owed(&backlog), changes(&[("a", 2), ("b", 1)]));
        assert_eq!(backlog.len(), 2);
    }

    /// Delays double up to the cap and start over after a reset.
    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(50), ms(300));
        let delays: Vec<_> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, [ms(50), ms(100), ms(200), ms(300), ms(300)]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(50));
    }
}
