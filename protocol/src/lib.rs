//! The order protocol's decisions, as pure state machines: the order replica ([`Node`]) and the
//! frontend's election ([`Elector`]). Neither does I/O or reads a clock; they are driven by
//! messages and ticks and return what to send, write and answer. The `order` and `frontend`
//! crates drive them over sled and HTTP; the `simulator` crate drives them over a simulated
//! network and disk, from a seed, and checks the invariants below after every step.
//!
//! Invariants (docs/protocol.md has the rules in the order the code has them):
//! 1. No acknowledged order is lost: a `place` is answered only once a majority, the leader
//!    included, holds the order durably as the leader of its epoch has it.
//! 2. Agreement: every replica's committed prefix is the same.
//! 3. Density: a log is always `0..len`; committed numbers are `0..commit_len`.
//! 4. Exactly once: a request id is in a log at most once, and bought from the catalog by
//!    request id (which the catalog makes idempotent).
//! 5. One leader per epoch: a replica grants an epoch to one leader only, durably; a leader
//!    needs a majority of grants. Epochs never go backwards.
//! 6. Read after acknowledge: a read of an acknowledged order finds it (a leader's log holds every
//!    committed order, and a number past the log is "not found" only after a read index).
//!
//! The rule of the drivers: everything a step wrote is flushed before any of its outputs is sent.
//!
//! Deliberately left out: membership changes, log compaction, and pipelining more than one
//! append per follower.

mod buying;
mod election;
mod fetch;
mod follower;
mod io;
mod leading;
mod node;
mod observe;
mod pull;
mod reads;
mod replication;
pub mod rules;
pub mod store;
#[cfg(test)]
mod tests;

pub use election::{Action, Elector, ElectorConfig};
pub use fetch::{FETCH_WINDOW, MAX_RESEND_TICKS};
pub use io::{BuyId, BuyOutcome, Call, Output, Reply, Request, Tag};
pub use leading::{
    APPEND_RETRY_TICKS, COMMIT_TIMEOUT_TICKS, HEARTBEAT_TICKS, MAX_BATCH, MAX_BUYS_OUT,
    STEP_DOWN_TICKS,
};
pub use node::Node;
pub use observe::CatchUp;
pub use pull::{CATCH_UP_WAIT_TICKS, FETCH_STALL_TICKS, PULL_RESEND_TICKS, TAKEOVER_TICKS};
pub use store::{LogStore, MemoryStore, Position};

/// How long one tick is in the real drivers. The machines count ticks; only drivers know time.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(20);

/// Old behaviours, each a bug the protocol review found, kept switchable so that the simulator's
/// own tests prove it finds every one of them. All off outside those tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flaws {
    /// Finding 1: a replica takes a second leader for an epoch it already granted.
    pub grant_any_leader_in_epoch: bool,
    /// Finding 3: a number at or past the commit index reads as "not found" at once.
    pub read_commit_only: bool,
    /// Finding 4: a leader that hears from no majority keeps leading.
    pub no_check_quorum: bool,
    /// Finding 5: epochs and positions are not range-checked.
    pub unchecked_epochs: bool,
    /// Finding 5: catch-up labels the log with a peer's epoch without entering that epoch.
    pub catch_up_keeps_epoch: bool,
    /// Found while writing the node: an append that a newer one overtook drops the leader's own
    /// adopted entries past its end.
    pub drop_within_synced: bool,
    /// Found while writing the paged catch-up: a catch-up drops its own tail past a committed
    /// page even where the tail agrees with it (and may hold acknowledged orders).
    pub catch_up_drops_agreeing_tail: bool,
    /// Found while letting appends overlap the leader's flush: the leader counts entries it has
    /// written but not flushed towards a commit.
    pub commit_counts_unflushed_leader: bool,
    /// Found while letting two catalog buys be out: an answer is taken for the batch out now
    /// whatever buy it answers, so one sent before the leader stepped down and led again numbers
    /// orders of a later batch that the catalog never sold.
    pub buy_answer_any_batch: bool,
}
