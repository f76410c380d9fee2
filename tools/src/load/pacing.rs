//! How fast sessions send: a session that cannot reach the store waits longer after each
//! connection error (bounded exponential back-off), so an outage costs a few requests instead of
//! tens of thousands; and an optional cap on orders per second shared by every session.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The first pause after a connection error.
pub const BACKOFF_FIRST: Duration = Duration::from_millis(10);
/// The longest pause: an outage is noticed within this of its end.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// One session's back-off: doubles from [`BACKOFF_FIRST`] to [`BACKOFF_MAX`] while the store is
/// unreachable, back to nothing at the first answer.
#[derive(Debug, Default)]
pub struct Backoff {
    next: Option<Duration>,
}

impl Backoff {
    /// The pause to take after a connection error; the next one is twice as long, up to the cap.
    pub fn failed(&mut self) -> Duration {
        let pause = self.next.unwrap_or(BACKOFF_FIRST);
        self.next = Some((pause * 2).min(BACKOFF_MAX));
        pause
    }

    /// The store answered: the next error starts from the first pause again.
    pub fn answered(&mut self) {
        self.next = None;
    }
}

/// A cap on buys per second across every session: each buy takes the next free slot, slots
/// `1 / rate` apart, and waits for it.
#[derive(Debug)]
pub struct RateCap {
    gap: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateCap {
    /// A cap of `per_second` buys (positive and finite, as [`super::LoadConfig::validate`] checks).
    pub fn new(per_second: f64) -> RateCap {
        RateCap {
            gap: Duration::from_secs_f64(1.0 / per_second),
            next_slot: Mutex::new(None),
        }
    }

    /// Reserves the next slot and returns when it starts (now or later).
    pub fn reserve(&self, now: Instant) -> Instant {
        let mut next = common::sync::lock(&self.next_slot);
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.gap);
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_on_an_answer() {
        let mut backoff = Backoff::default();
        let pauses: Vec<Duration> = (0..10).map(|_| backoff.failed()).collect();
        assert_eq!(pauses[0], BACKOFF_FIRST);
        assert_eq!(pauses[1], BACKOFF_FIRST * 2);
        assert_eq!(pauses[9], BACKOFF_MAX);
        assert!(pauses.windows(2).all(|w| w[1] >= w[0]));
        backoff.answered();
        assert_eq!(backoff.failed(), BACKOFF_FIRST);
    }

    #[test]
    fn the_rate_cap_spaces_slots_by_its_gap() {
        let cap = RateCap::new(100.0);
        let now = Instant::now();
        let slots: Vec<Instant> = (0..5).map(|_| cap.reserve(now)).collect();
        assert_eq!(slots[0], now);
        assert_eq!(slots[4] - slots[0], Duration::from_millis(40));
        let later = now + Duration::from_secs(5);
        assert_eq!(cap.reserve(later), later, "an idle cap does not bank slots");
    }
}
