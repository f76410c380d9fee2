//! When `toystore up` starts a crashed service again: [`RestartPolicy`] says whether, [`Restarts`]
//! says when. Delays double from [`FIRST_DELAY`] to [`MAX_DELAY`], so a service that fails at
//! once is not restarted in a tight loop, and go back to the first once a service stayed up
//! [`STABLE_AFTER`], so a crash a day later is not made to wait for the last one's backoff.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::service::Service;

/// The first restart delay.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest restart delay.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
/// A service up this long counts as healthy: its next crash waits [`FIRST_DELAY`] again.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Whether a service that exited with a failure (non-zero status or a signal) is started again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    OnFailure,
    Never,
}

impl std::str::FromStr for RestartPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "on-failure" => Ok(RestartPolicy::OnFailure),
            "never" => Ok(RestartPolicy::Never),
            other => Err(format!(
                "unknown restart policy {other:?} (on-failure, never)"
            )),
        }
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Never => "never",
        })
    }
}

#[derive(Debug)]
struct Backoff {
    /// The delay of the next restart.
    delay: Duration,
    started: Instant,
    /// When the pending restart is due, if one is.
    due: Option<Instant>,
    count: u32,
}

/// The restart schedule of every service.
#[derive(Debug, Default)]
pub struct Restarts {
    services: BTreeMap<Service, Backoff>,
}

impl Restarts {
    /// Notes that `service` (re)started at `at`.
    pub fn started(&mut self, service: Service, at: Instant) {
        let backoff = self.backoff(service, at);
        backoff.started = at;
        backoff.due = None;
    }

    fn backoff(&mut self, service: Service, at: Instant) -> &mut Backoff {
        self.services.entry(service).or_insert(Backoff {
            delay: FIRST_DELAY,
            started: at,
            due: None,
            count: 0,
        })
    }

    /// Schedules the restart of `service`, which failed at `at`; returns how long it waits.
    pub fn failed(&mut self, service: Service, at: Instant) -> Duration {
        let backoff = self.backoff(service, at);
        if at.duration_since(backoff.started) >= STABLE_AFTER {
            backoff.delay = FIRST_DELAY;
        }
        let delay = backoff.delay;
        backoff.due = Some(at + delay);
        backoff.delay = (delay * 2).min(MAX_DELAY);
        delay
    }

    /// The services whose restart is due at `now`, each counted as restarted.
    pub fn due(&mut self, now: Instant) -> Vec<Service> {
        let mut due = Vec::new();
        for (service, backoff) in &mut self.services {
            if backoff.due.is_some_and(|at| at <= now) {
                backoff.due = None;
                backoff.count += 1;
                due.push(*service);
            }
        }
        due
    }

    /// How often `service` was restarted.
    pub fn count(&self, service: Service) -> u32 {
        self.services.get(&service).map_or(0, |b| b.count)
    }

    /// Restarts of all services.
    pub fn total(&self) -> u32 {
        self.services.values().map(|b| b.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLICA: Service = Service::Replica(2);

    #[test]
    fn delays_double_up_to_the_cap_and_reset_after_a_stable_run() {
        let mut restarts = Restarts::default();
        let mut now = Instant::now();
        restarts.started(REPLICA, now);
        let mut delays = Vec::new();
        for _ in 0..8 {
            now += Duration::from_millis(10);
            let delay = restarts.failed(REPLICA, now);
            delays.push(delay.as_millis());
            assert!(restarts.due(now).is_empty(), "not due before its delay");
            now += delay;
            assert_eq!(restarts.due(now), vec![REPLICA]);
            restarts.started(REPLICA, now);
        }
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(restarts.count(REPLICA), 8);
        now += STABLE_AFTER;
        assert_eq!(restarts.failed(REPLICA, now), FIRST_DELAY);
    }

    #[test]
    fn counts_each_service_apart() {
        let mut restarts = Restarts::default();
        let now = Instant::now();
        restarts.started(REPLICA, now);
        restarts.started(Service::Catalog, now);
        restarts.failed(REPLICA, now);
        assert_eq!(restarts.due(now + MAX_DELAY), vec![REPLICA]);
        assert_eq!(restarts.count(Service::Catalog), 0);
        assert_eq!(restarts.total(), 1);
    }

    #[test]
    fn policies_parse_and_print() {
        for policy in [RestartPolicy::OnFailure, RestartPolicy::Never] {
            assert_eq!(policy.to_string().parse::<RestartPolicy>(), Ok(policy));
        }
        assert!("always".parse::<RestartPolicy>().is_err());
    }
}
