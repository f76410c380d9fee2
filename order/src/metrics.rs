//! What a replica reports in `GET /metrics` and `GET /ready`.
//!
//! The node belongs to the driver's task, so the driver copies what is reported into atomics
//! after each flush ([`ReplicaMetrics::publish`]): a scrape or a readiness probe never waits
//! for the node, and publishing costs a few stores per flush, not per order.

use common::metrics::{BuildInfo, Exposition, Histogram};
use common::wire::Role;
use common::ReplicaId;
use protocol::Node;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::log::OrderLog;

/// Every role, in the order of their `role` label's index.
const ROLES: [(Role, &str); 4] = [
    (Role::Recovering, "recovering"),
    (Role::Follower, "follower"),
    (Role::Candidate, "candidate"),
    (Role::Leader, "leader"),
];
/// Upper bounds of the entries-per-flush histogram: one order alone up to a full group commit
/// ([`crate::driver`] steps at most 4,096 inputs per flush) and a catch-up's writes.
static BATCH_BOUNDS: [u64; 13] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/// A replica's reported state and its histograms.
#[derive(Debug)]
pub(crate) struct ReplicaMetrics {
    build: BuildInfo,
    epoch: AtomicU64,
    /// Index into [`ROLES`].
    role: AtomicU64,
    len: AtomicU64,
    commit_len: AtomicU64,
    /// 1 while the catch-up after start runs.
    catching_up: AtomicU64,
    catch_up_remaining: AtomicU64,
    caught_up_entries: AtomicU64,
    /// Each peer and, while this replica leads, the prefix it holds as the leader has it.
    followers: Vec<(ReplicaId, AtomicU64)>,
    /// Log entries made durable by each flush that wrote some.
    flush_entries: Histogram,
    flush_seconds: Histogram,
}

impl ReplicaMetrics {
    /// Metrics of a replica whose group has `peers` besides it; it reports catching up until
    /// the first [`Self::publish`].
    pub(crate) fn new(build: BuildInfo, peers: &[ReplicaId]) -> ReplicaMetrics {
        ReplicaMetrics {
            build,
            epoch: AtomicU64::new(0),
            role: AtomicU64::new(0),
            len: AtomicU64::new(0),
            commit_len: AtomicU64::new(0),
            catching_up: AtomicU64::new(1),
            catch_up_remaining: AtomicU64::new(0),
            caught_up_entries: AtomicU64::new(0),
            followers: peers.iter().map(|&id| (id, AtomicU64::new(0))).collect(),
            flush_entries: Histogram::new(&BATCH_BOUNDS, 1.0),
            flush_seconds: Histogram::latency(),
        }
    }

    /// Records one flush: how long it took and how many log entries it made durable.
    pub(crate) fn flushed(&self, elapsed: Duration, entries: u64) {
        self.flush_seconds.observe_duration(elapsed);
        if entries > 0 {
            self.flush_entries.observe(entries);
        }
    }

    /// Copies the node's state, as of its last flush, for scrapes and probes.
    pub(crate) fn publish(&self, node: &Node<OrderLog>) {
        let set = |cell: &AtomicU64, value: u64| cell.store(value, Ordering::Relaxed);
        let role = node.health().role;
        let role_index = ROLES.iter().position(|(r, _)| *r == role).unwrap_or(0);
        set(&self.epoch, node.epoch());
        set(&self.role, role_index as u64);
        set(&self.len, node.len());
        set(&self.commit_len, node.commit_len());
        let catch_up = node.catching_up();
        set(&self.catching_up, u64::from(catch_up.is_some()));
        set(
            &self.catch_up_remaining,
            catch_up.map_or(0, |c| c.remaining),
        );
        set(&self.caught_up_entries, node.caught_up_entries());
        for (id, matched) in node.followers_matched() {
            if let Some((_, cell)) = self.followers.iter().find(|(peer, _)| *peer == id) {
                set(cell, matched);
            }
        }
    }

    /// Why the replica is not ready: it is still catching up, so it may lack committed entries.
    pub(crate) fn problems(&self) -> Vec<String> {
        if self.catching_up.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        vec![format!(
            "catching up from its peers: {} entries fetched so far, {} to go",
            self.caught_up_entries.load(Ordering::Relaxed),
            self.catch_up_remaining.load(Ordering::Relaxed)
        )]
    }

    /// The Prometheus text.
    pub(crate) fn render(&self) -> String {
        let load = |cell: &AtomicU64| cell.load(Ordering::Relaxed);
        let mut text = Exposition::new("toystore_replica_", "order", self.build);
        text.gauge(
            "epoch",
            "Highest epoch this replica has seen.",
            load(&self.epoch),
        );
        let role = load(&self.role) as usize;
        text.family(
            "role",
            "gauge",
            "1 for the role this replica has now, 0 for the others.",
        );
        for (i, (_, name)) in ROLES.iter().enumerate() {
            text.sample("role", &format!("role=\"{name}\""), u64::from(i == role));
        }
        let len = load(&self.len);
        text.gauge(
            "last_index",
            "Entries in the log (numbers 0 to last_index - 1).",
            len,
        );
        text.gauge(
            "commit_index",
            "Entries known committed (numbers 0 to commit_index - 1).",
            load(&self.commit_len),
        );
        text.family(
            "follower_lag_entries",
            "gauge",
            "On the leader: entries each follower lacks of the leader's log.",
        );
        if ROLES[role.min(ROLES.len() - 1)].0 == Role::Leader {
            for (id, matched) in &self.followers {
                let lag = len.saturating_sub(load(matched));
                text.sample("follower_lag_entries", &format!("follower=\"{id}\""), lag);
            }
        }
        text.gauge(
            "catching_up",
            "1 while the catch-up after start runs (the replica is not ready), else 0.",
            load(&self.catching_up),
        );
        text.gauge(
            "catch_up_remaining_entries",
            "Entries the running catch-up still has to fetch from the chosen peer.",
            load(&self.catch_up_remaining),
        );
        text.counter(
            "catch_up_fetched_entries_total",
            "Entries catch-ups fetched from peers' logs since start.",
            &self.caught_up_entries,
        );
        text.histogram(
            "flush_entries",
            "Log entries made durable by one flush (the group-commit batch).",
            &self.flush_entries,
        );
        text.histogram(
            "flush_duration_seconds",
            "Time one flush of the log takes.",
            &self.flush_seconds,
        );
        text.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Until the driver first publishes the node's state, the replica counts as catching up:
    /// a probe that came before the first step must not call it ready.
    #[test]
    fn a_replica_is_not_ready_before_its_first_publish() {
        let build = BuildInfo {
            version: "0.1.0",
            commit: "abc",
        };
        let metrics = ReplicaMetrics::new(build, &[1, 3]);
        assert_eq!(
            metrics.problems(),
            vec!["catching up from its peers: 0 entries fetched so far, 0 to go".to_string()]
        );
        metrics.flushed(Duration::from_micros(70), 3);
        let text = metrics.render();
        for want in [
            "toystore_replica_catching_up 1",
            "toystore_replica_role{role=\"recovering\"} 1",
            "toystore_replica_flush_entries_bucket{le=\"5\"} 1",
            "toystore_replica_flush_duration_seconds_bucket{le=\"0.0001\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
        assert!(
            !text.contains("follower_lag_entries{"),
            "a replica that does not lead reports no lag\n{text}"
        );
    }
}
