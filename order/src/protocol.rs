//! The replication protocol's decisions, as plain functions over values: which log a new leader
//! adopts, when a follower may take an append, how far entries are committed. No I/O here, so
//! every rule is unit-tested directly; `replica.rs` and friends do the network and sled calls.
//!
//! The rules, and why they are safe:
//! - **Every log is a copy of some leader's log.** A replica records `log_epoch`, the epoch of the
//!   leader whose log its own is a prefix of. Appends carry the leader's whole suffix from the
//!   follower's synced point to the leader's last entry, so after an append the follower's log is
//!   exactly the leader's; older-epoch entries past it (a dead leader's uncommitted tail) go.
//! - **Best log wins.** A new leader, and a restarted replica, adopt the log with the highest
//!   `(log_epoch, len)` among itself and the peers it reached. A committed entry sits on a majority;
//!   a new leader reads a majority (fenced at its epoch first), so one of them holds it, and every
//!   log with a higher `(log_epoch, len)` holds it too (every leader since held it).
//! - **No restamping.** An entry keeps the epoch of the leader that first wrote it, and is copied
//!   as it is, so every replica that holds it holds the same bytes. Which log wins is decided by
//!   `log_epoch`, never by entry stamps, so an old entry adopted by a new leader cannot lose later
//!   to a different entry of a middle epoch: every log that took the new leader's appends outranks
//!   the log that kept the middle entry.
//! - **Majority commit.** An entry is committed once a majority (the leader included) has flushed
//!   it in the leader's epoch.

use common::{Epoch, OrderNumber};

/// What a replica reports about its log when a peer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSummary {
    pub log_epoch: Epoch,
    pub len: u64,
}

/// Index of the log to adopt: the highest `(log_epoch, len)`; the first one wins a tie, so callers
/// put themselves first and only copy when another log is strictly better.
pub fn best_log(candidates: &[LogSummary]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in candidates.iter().enumerate() {
        if best.is_none_or(|b| (c.log_epoch, c.len) > (candidates[b].log_epoch, candidates[b].len))
        {
            best = Some(i);
        }
    }
    best
}

/// Whether a follower can take an append whose entries start at `from`: it must hold everything
/// before `from` exactly as this epoch's leader does, which it knows for `0..synced_len`.
pub fn follower_accepts(from: OrderNumber, synced_len: u64) -> bool {
    from <= synced_len
}

/// How many entries are committed: the largest length that a majority of replicas (the leader's
/// own flushed length among `lens`) have flushed in this epoch.
pub fn commit_len(lens: &[u64], majority: usize) -> u64 {
    assert!(
        majority >= 1 && majority <= lens.len(),
        "majority {majority} of {} replicas",
        lens.len()
    );
    let mut sorted = lens.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted[majority - 1]
}

/// Whether a follower, after an append of epoch `epoch` that ends at the leader's last entry
/// (`leader_len`), drops the entry at `number` stamped `entry_epoch`: yes for an older epoch past
/// the leader's end (it is a dead leader's uncommitted tail). Entries of the same epoch past the
/// end came from a newer append of the same leader that overtook this one, and stay.
pub fn drops_past_leader_end(
    epoch: Epoch,
    leader_len: u64,
    number: OrderNumber,
    entry_epoch: Epoch,
) -> bool {
    number >= leader_len && entry_epoch < epoch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(log_epoch: Epoch, len: u64) -> LogSummary {
        LogSummary { log_epoch, len }
    }

    #[test]
    fn best_log_prefers_epoch_then_length_then_first() {
        assert_eq!(best_log(&[]), None);
        assert_eq!(
            best_log(&[s(1, 10), s(2, 3), s(2, 2)]),
            Some(1),
            "a newer leader's copy beats a longer old one"
        );
        assert_eq!(best_log(&[s(2, 3), s(2, 5)]), Some(1));
        assert_eq!(
            best_log(&[s(2, 5), s(2, 5)]),
            Some(0),
            "self (first) wins a tie"
        );
    }

    #[test]
    fn commit_needs_a_majority() {
        assert_eq!(commit_len(&[10, 4, 7], 2), 7);
        assert_eq!(commit_len(&[10, 0, 0], 2), 0);
        assert_eq!(commit_len(&[3, 3, 3], 2), 3);
        assert_eq!(commit_len(&[5], 1), 5);
        assert_eq!(commit_len(&[9, 8, 7, 1, 0], 3), 7);
    }

    #[test]
    fn appends_need_a_synced_prefix() {
        assert!(follower_accepts(0, 0));
        assert!(follower_accepts(4, 4));
        assert!(follower_accepts(2, 4));
        assert!(!follower_accepts(5, 4));
    }

    #[test]
    fn only_older_epochs_past_the_end_are_dropped() {
        assert!(drops_past_leader_end(3, 10, 10, 2));
        assert!(
            !drops_past_leader_end(3, 10, 10, 3),
            "same-epoch entries from a newer append stay"
        );
        assert!(
            !drops_past_leader_end(3, 10, 9, 1),
            "inside the leader's log: overwritten, not dropped"
        );
    }
}
