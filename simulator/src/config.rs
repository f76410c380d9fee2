//! What a run is given and what it reports.

use common::Epoch;
use protocol::Flaws;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::world::World;

/// One simulation run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub replicas: usize,
    pub frontends: usize,
    pub clients: usize,
    pub orders_per_client: usize,
    /// Ticks with faults, then ticks without for everything to settle.
    pub fault_ticks: u64,
    pub quiet_ticks: u64,
    /// Whether to inject faults at all.
    pub faults: bool,
    /// Every partition cuts the leader off from its followers (not from frontends or the
    /// catalog), for longer than the transparency bound, and nothing crashes: the scenario of a
    /// leader that must notice it lost its majority.
    pub leader_cutoffs: bool,
    /// Old bugs to switch back on (the simulator's own tests).
    pub flaws: Flaws,
    /// Finding 2's old request-index update.
    pub index_flaw: bool,
    /// Entries per page of a log read: a few, so that the short logs of a run are read in
    /// pages, several at once, as a real catch-up of a long gap is.
    pub page_limit: usize,
    /// Catalog buys a leader may have out at once: one (as in production) or two.
    pub buys_out: usize,
}

impl Config {
    /// The defaults for `seed`: 3 replicas, 2 frontends, faults on.
    pub fn new(seed: u64) -> Config {
        Config {
            seed,
            replicas: 3,
            frontends: 2,
            clients: 4,
            orders_per_client: 25,
            fault_ticks: 3000,
            quiet_ticks: 3000,
            faults: true,
            leader_cutoffs: false,
            flaws: Flaws::default(),
            index_flaw: false,
            page_limit: 1 + (seed % 7) as usize,
            buys_out: 1 + (seed % 2) as usize,
        }
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "toystore simulate --start {} --seeds 1 --replicas {} --frontends {}{} --verbose",
            self.seed,
            self.replicas,
            self.frontends,
            if self.leader_cutoffs {
                " --leader-cutoffs"
            } else {
                ""
            }
        )
    }
}

/// A broken invariant, where and when, with the end of the trace that led to it.
#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
    pub tick: u64,
    pub trace: Vec<String>,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    pub ticks: u64,
    pub events: u64,
    /// Faults injected: crashes, partitions, slow disks, rogue calls.
    pub faults: u64,
    pub acked: usize,
    pub max_epoch: Epoch,
    /// Epochs begun after the faults healed.
    pub quiet_epochs: Epoch,
    /// A digest of the whole trace: the same seed gives the same digest.
    pub digest: u64,
    pub violation: Option<Violation>,
}

/// Runs one seed to its end, or to its first violation (a panic in the protocol code is one).
pub fn run(cfg: &Config) -> Report {
    let mut world = World::new(cfg.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| world.run_to_end()));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        world.violate(("no panic", message));
    }
    let max_epoch = world.max_epoch();
    Report {
        seed: cfg.seed,
        ticks: world.now,
        events: world.events,
        faults: world.faults,
        acked: world.checks.acked.len(),
        max_epoch,
        quiet_epochs: max_epoch.saturating_sub(world.quiet_start_epoch),
        digest: world.digest,
        violation: world.violation,
    }
}
