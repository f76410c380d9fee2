//! Crash-and-restart drills: run verified client load against a cluster while killing its
//! services with SIGKILL on a (seeded) schedule, then restart everything, wait for convergence,
//! and check that nothing was lost.
//!
//! Invariants of a drill:
//! - It is bounded: it stops by itself after `duration` plus the time to converge and check.
//! - It signals only processes it started (its own cluster's children, by pid); `--attach` runs
//!   the load and the checks against a running store and kills nothing.
//! - Order replicas are killed one at a time and a replica is back and ready before the next kill,
//!   so a majority is always up: the store promises clients no error then, and the drill checks it.
//! - Its report stays a screenful however many requests fail: failures are summarised by kind
//!   and time window (`summary`), never listed one by one.
//! - The checks over the data directories are `inspect::checks`, the same code as
//!   `toystore inspect check`.

mod checks;
mod report;
mod run;
mod schedule;
mod summary;

pub use report::{DrillReport, EpochGrowth, KillEvent};
pub use run::{run, DrillOptions};
pub use schedule::{Schedule, Target, UnknownTarget};
pub use summary::{FailureSummary, FailureWindow};
