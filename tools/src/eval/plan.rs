//! How big an evaluation is: the standard one (under 3 minutes on 2 cores, release build) and
//! the quick one for tests (seconds).

use std::path::PathBuf;
use std::time::Duration;

/// What `toystore eval` was asked for.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The `toystore` binary that runs the services (normally the running one).
    pub exe: PathBuf,
    /// The initial catalog (`data/products.json`).
    pub products: PathBuf,
    /// The report folder; created if missing, files in it overwritten.
    pub out: PathBuf,
    /// A short run for tests: same experiments, far fewer steps.
    pub quick: bool,
}

/// The sizes of every experiment.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Client sessions of every run.
    pub sessions: usize,
    /// Steps per session in each sweep run.
    pub iterations: usize,
    /// Safety bound on one sweep run, in case the store is much slower than expected.
    pub run_time_limit: Duration,
    /// Buy probabilities of the sweep.
    pub ps: Vec<f64>,
    /// Largest quantity of one order.
    pub max_quantity: u32,
    /// Cache capacity of the "cache on" runs: the cluster default, more than the catalog.
    pub cache_size: usize,
    /// Cache capacity of the replacement experiment: half the catalog.
    pub replacement_cache_size: usize,
    /// Length of each phase of the replacement experiment.
    pub replacement_phase: Duration,
    /// Interval between two listings of the cache's keys.
    pub poll_interval: Duration,
    /// Buy probability of the failover run.
    pub failover_p: f64,
    /// Length of the failover run; the leader is killed at [`KILL_AT`] of it and restarted at
    /// [`RESTART_AT`].
    pub failover_duration: Duration,
    /// Stock of every toy in the evaluation's catalog: enough that no toy sells out, so every
    /// run buys at its p (sold-out handling is the tests' business, not the measurement's).
    pub stock: u32,
    /// Catalog restock period.
    pub restock_period_ms: u64,
    /// Initial stock of every toy in the sell-out experiment: little enough that its first
    /// round sells most toys out.
    pub sold_out_stock: u32,
    /// Buy probability of the sell-out experiment.
    pub sold_out_p: f64,
    /// Rounds of the sell-out experiment, keyed and keyless in turn (even, so both paths get as
    /// many).
    pub sold_out_rounds: usize,
    /// Seed of the sessions' choices (each run adds its index).
    pub seed: u64,
}

/// When the failover run kills the leader, as a fraction of its length.
pub const KILL_AT: f64 = 0.3;
/// When it restarts it.
pub const RESTART_AT: f64 = 0.6;
/// The sweep's buy probabilities.
pub const PS: [f64; 5] = [0.0, 0.2, 0.4, 0.6, 0.8];

impl Plan {
    /// The evaluation of `toystore eval`, for a catalog of `toys` toys.
    pub fn standard(toys: usize) -> Plan {
        Plan {
            sessions: 5,
            iterations: 1000,
            run_time_limit: Duration::from_secs(20),
            ps: PS.to_vec(),
            max_quantity: 3,
            cache_size: common::config::DEFAULT_CACHE_SIZE.max(toys),
            replacement_cache_size: (toys / 2).max(1),
            replacement_phase: Duration::from_secs(3),
            poll_interval: Duration::from_millis(100),
            failover_p: 0.5,
            failover_duration: Duration::from_secs(15),
            stock: 1_000_000,
            restock_period_ms: common::config::DEFAULT_RESTOCK_PERIOD_MS,
            sold_out_stock: 50,
            sold_out_p: 0.8,
            sold_out_rounds: 4,
            seed: 2024,
        }
    }

    /// The same experiments in a few seconds (`--quick`).
    pub fn quick(toys: usize) -> Plan {
        Plan {
            iterations: 8,
            run_time_limit: Duration::from_secs(10),
            replacement_phase: Duration::from_millis(600),
            poll_interval: Duration::from_millis(50),
            failover_duration: Duration::from_secs(4),
            sold_out_stock: 2,
            ..Plan::standard(toys)
        }
    }
}
