//! The numbers an evaluation measured, as written to `results.json` and read by the report and
//! the plots.

use serde::{Deserialize, Serialize};

use crate::load::{KindSummary, Sample};

/// Everything one `toystore eval` measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalResults {
    /// How the evaluation was run.
    pub setup: Setup,
    /// One run per cache setting and p.
    pub sweep: Vec<SweepRun>,
    /// Cache membership over time with a cache smaller than the catalog.
    pub replacement: Replacement,
    /// Latency over time with the order leader killed and restarted.
    pub failover: Failover,
    /// Refusals of sold-out toys through the leader and from the frontend's cache; absent from
    /// the results of evaluations older than the experiment.
    #[serde(default)]
    pub sold_out: Option<SoldOut>,
    /// Wall-clock time of the whole evaluation, cluster start-up included.
    pub total_seconds: f64,
}

/// The fixed parameters of an evaluation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Setup {
    /// `--quick`: a short run for tests, not for conclusions.
    pub quick: bool,
    /// Whether the binary was built with debug assertions (a debug build is much slower).
    pub debug_build: bool,
    /// Cores of this machine (`available_parallelism`).
    pub cores: usize,
    /// The machine's 1-minute load average before and after the evaluation (Linux only): other
    /// work on the machine shows here.
    pub load_before: Option<f64>,
    /// See `load_before`.
    pub load_after: Option<f64>,
    /// Client sessions of every run.
    pub sessions: usize,
    /// Steps per session in a sweep run.
    pub iterations: usize,
    /// The buy probabilities of the sweep.
    pub ps: Vec<f64>,
    /// Largest quantity of one order.
    pub max_quantity: u32,
    /// Toys in the catalog.
    pub toys: usize,
    /// Frontend cache capacity of the "cache on" runs (entries).
    pub cache_size: usize,
    /// Initial stock of every toy.
    pub stock: u32,
    /// Catalog restock period (ms).
    pub restock_period_ms: u64,
}

/// One load run of the sweep.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepRun {
    /// Cache on (`cache_size` entries) or off (0).
    pub cache: bool,
    /// The frontend's cache capacity in this run.
    pub cache_size: usize,
    /// Buy probability.
    pub p: f64,
    /// Wall-clock time of the load (verification excluded).
    pub seconds: f64,
    /// Steps done by all sessions (one query each).
    pub iterations: usize,
    /// Steps that found their toy sold out.
    pub sold_out: usize,
    /// Product queries.
    pub query: KindSummary,
    /// Buys, retried attempts included.
    pub buy: KindSummary,
    /// Order lookups of the verification.
    pub lookup: KindSummary,
    /// Orders acknowledged.
    pub orders: usize,
    /// Cache hits and misses the frontend counted during the load (`/metrics` deltas).
    pub cache_hits: u64,
    /// See `cache_hits`.
    pub cache_misses: u64,
    /// Orders the frontend refused out of stock from a fresh cached quantity, without a hop to
    /// the leader (`/metrics` delta). The sweep sends every buy with an idempotency key, and
    /// keyed orders always go on, so this stays 0 here; [`SoldOut`] measures that path.
    #[serde(default)]
    pub orders_refused_from_cache: u64,
    /// Orders read back and compared.
    pub verified: usize,
    /// Orders that differ from what was acknowledged.
    pub mismatches: usize,
    /// Orders that could not be read back.
    pub lookup_failures: usize,
}

impl SweepRun {
    /// Hits over hits and misses; `None` without any query.
    pub fn hit_ratio(&self) -> Option<f64> {
        let total = self.cache_hits + self.cache_misses;
        (total > 0).then(|| self.cache_hits as f64 / total as f64)
    }
}

/// The cache-replacement experiment: a frontend with a cache smaller than the catalog, queried
/// in phases over different sets of toys, its keys listed at a fixed interval.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Replacement {
    /// The cache capacity (entries).
    pub cache_size: usize,
    /// Every toy of the catalog, in catalog order (the figure's rows).
    pub toys: Vec<String>,
    /// Interval of the key listings (ms).
    pub interval_ms: u64,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// The key listings, in order.
    pub snapshots: Vec<CacheSnapshot>,
}

/// One phase of the replacement experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Phase {
    /// What the sessions query ("toys 1-8").
    pub label: String,
    /// The toys queried, uniformly.
    pub toys: Vec<String>,
    /// Start and end since the start of the experiment (s).
    pub start_s: f64,
    /// See `start_s`.
    pub end_s: f64,
    /// Queries made.
    pub queries: u64,
    /// `/metrics` deltas over the phase.
    pub cache_hits: u64,
    /// See `cache_hits`.
    pub cache_misses: u64,
    /// See `cache_hits`.
    pub evictions: u64,
}

/// The cache's keys at one moment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheSnapshot {
    /// Since the start of the experiment (s).
    pub at_s: f64,
    /// The cached toys, sorted.
    pub keys: Vec<String>,
}

/// The failover experiment: load with the order leader killed (SIGKILL) and restarted mid-run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Failover {
    /// Buy probability.
    pub p: f64,
    /// Length of the load (s).
    pub seconds: f64,
    /// The replica killed: the leader when the run started.
    pub killed: u32,
    /// The frontend's leader at the start and at the end (`/metrics`; 0 for none).
    pub leader_before: u64,
    /// See `leader_before`.
    pub leader_after: u64,
    /// When the leader was killed, restarted, and ready again, since the start (s).
    pub kill_at_s: f64,
    /// See `kill_at_s`.
    pub restart_at_s: f64,
    /// See `kill_at_s`.
    pub ready_at_s: f64,
    /// Leader changes and retried order calls the frontend counted during the run.
    pub leader_changes: u64,
    /// See `leader_changes`.
    pub order_retries: u64,
    /// Product queries.
    pub query: KindSummary,
    /// Buys.
    pub buy: KindSummary,
    /// Order lookups of the verification.
    pub lookup: KindSummary,
    /// Failed requests the client saw, out-of-stock refusals excluded.
    pub errors: usize,
    /// Their messages (at most a few).
    pub error_examples: Vec<String>,
    /// Orders acknowledged.
    pub orders: usize,
    /// Orders read back and compared.
    pub verified: usize,
    /// Orders that differ from what was acknowledged.
    pub mismatches: usize,
    /// Orders that could not be read back.
    pub lookup_failures: usize,
    /// Every request of the run, for the figure.
    pub samples: Vec<Sample>,
}

/// The sell-out experiment: little stock, no restocks, rounds of keyed and keyless buys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SoldOut {
    /// Initial stock of every toy.
    pub stock: u32,
    /// Buy probability; the sessions buy sold-out toys too.
    pub p: f64,
    /// Latency of every refused keyed buy: through the leader to the catalog and back.
    pub keyed_refusals: KindSummary,
    /// Latency of every refused keyless buy: from the frontend's cache when it was fresh.
    pub keyless_refusals: KindSummary,
    /// The rounds, in order (keyed first, then alternating).
    pub rounds: Vec<SoldOutRound>,
}

/// One round of the sell-out experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SoldOutRound {
    /// Buys without an Idempotency-Key (each sent once).
    pub keyless: bool,
    /// Wall-clock time of the load (verification excluded).
    pub seconds: f64,
    /// Every buy.
    pub buy: KindSummary,
    /// The buys refused as out of stock alone.
    pub refused: KindSummary,
    /// Orders acknowledged.
    pub orders: usize,
    /// Orders the frontend refused from its cache (`/metrics` delta).
    pub refused_from_cache: u64,
    /// Orders read back and compared.
    pub verified: usize,
    /// Orders that differ from what was acknowledged.
    pub mismatches: usize,
    /// Orders that could not be read back.
    pub lookup_failures: usize,
}
