//! The protocol's small decisions as plain functions over values, each with its reason.

use common::{Epoch, OrderNumber};

/// What a replica reports about its log when a peer reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSummary {
    pub log_epoch: Epoch,
    pub len: u64,
}

/// Index of the log to adopt: the highest `(log_epoch, len)`; the first one wins a tie, so callers
/// put themselves first and only copy when another log is strictly better.
///
/// Why it is safe: a log labelled `e` is a prefix of leader `e`'s log, and holds at least what
/// leader `e` held when it took over. Every entry committed before `e` was on the log leader `e`
/// adopted, so it is on every log labelled `e` or later; every entry leader `e` committed is on a
/// majority of logs labelled `e`, and the longest of those holds it.
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

/// How many entries are committed: the largest length that a majority of replicas (the leader's
/// own length among `lens`) hold as the leader of this epoch has them.
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
/// the leader's end (a dead leader's uncommitted tail). Entries of the same epoch past the end
/// came from a newer append of the same leader that overtook this one, and stay.
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
