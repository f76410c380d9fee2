//! What a drill did and found, printed for people (PASS/FAIL lines with figures) and as JSON.

use super::summary::FailureSummary;
use common::report_keys::snake_keys;
use common::Epoch;
use inspect::checks::CheckResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// One kill and its restart.
#[derive(Clone, Debug, Serialize)]
pub struct KillEvent {
    /// Seconds since the drill started.
    pub at: f64,
    /// The service killed (`order-3`, `frontend-1`, `catalog`).
    pub service: String,
    /// Whether it was the order leader when it was killed.
    pub was_leader: bool,
    /// Seconds since the start when it was ready again (`None` if it never came back).
    pub ready_again_at: Option<f64>,
}

/// The order replicas' epoch over a drill: the highest any replica reported when the load
/// started and once the replicas converged at the end. Every election takes at least one epoch,
/// so the growth counts elections: about one per leader kill when elections are quiet, many
/// more when frontends fight over the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EpochGrowth {
    /// Highest epoch when the load started (`None`: no replica answered).
    pub at_start: Option<Epoch>,
    /// Highest epoch at the end, after convergence.
    pub at_end: Option<Epoch>,
    /// `at_end - at_start`, when both are known.
    pub grew_by: Option<u64>,
}

impl EpochGrowth {
    /// The growth between two readings of the highest epoch.
    pub fn new(at_start: Option<Epoch>, at_end: Option<Epoch>) -> EpochGrowth {
        let grew_by = match (at_start, at_end) {
            (Some(start), Some(end)) => Some(end.saturating_sub(start)),
            _ => None,
        };
        EpochGrowth {
            at_start,
            at_end,
            grew_by,
        }
    }
}

/// The whole outcome of a drill.
#[derive(Clone, Debug, Serialize)]
pub struct DrillReport {
    pub seed: u64,
    /// Seconds of load and kills.
    pub duration: f64,
    /// Frontends the load was spread over, and order replicas.
    pub frontends: usize,
    /// See `frontends`.
    pub replicas: usize,
    /// The epoch reached, and how much elections moved it during the drill.
    pub epochs: EpochGrowth,
    pub kills: Vec<KillEvent>,
    /// Client requests sent (queries and buys, retries included) and orders acknowledged.
    pub requests: usize,
    pub orders_acknowledged: usize,
    /// Client-visible errors (out-of-stock refusals excluded), by what was down when they came
    /// (`order replicas`, `frontend-1`; snake_case keys in JSON).
    #[serde(serialize_with = "snake_keys")]
    pub errors: BTreeMap<String, usize>,
    /// The same errors by kind and time window, the first few listed.
    pub failures: FailureSummary,
    /// Log digest of each replica after convergence (`replica 1`; `replica_1` in JSON).
    #[serde(serialize_with = "snake_keys")]
    pub digests: BTreeMap<String, String>,
    pub checks: Vec<CheckResult>,
    /// Whether every check passed.
    pub passed: bool,
}

impl DrillReport {
    /// The report for a terminal: figures, then one PASS/FAIL line per check with its evidence.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let leader_kills = self.kills.iter().filter(|k| k.was_leader).count();
        out.push_str(&format!(
            "drill: seed {}, {:.0} s, {} frontends, {} replicas, {} kills ({} of the leader), {} requests, {} orders acknowledged\n",
            self.seed,
            self.duration,
            self.frontends,
            self.replicas,
            self.kills.len(),
            leader_kills,
            self.requests,
            self.orders_acknowledged
        ));
        let shown = |e: Option<u64>| e.map_or("unknown".to_string(), |e| e.to_string());
        out.push_str(&format!(
            "epoch {} at the end, {} at the start: grew by {} ({} leader kills)\n",
            shown(self.epochs.at_end),
            shown(self.epochs.at_start),
            shown(self.epochs.grew_by),
            leader_kills
        ));
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        out.push_str(&format!("client-visible errors: {}\n", errors.join(", ")));
        for line in self.failures.lines() {
            out.push_str(&format!("  {line}\n"));
        }
        for (replica, digest) in &self.digests {
            out.push_str(&format!("{replica} log digest {digest}\n"));
        }
        for check in &self.checks {
            let verdict = if check.passed { "PASS" } else { "FAIL" };
            let figures: Vec<String> = check
                .figures
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            out.push_str(&format!(
                "{verdict} {}: {}\n",
                check.name,
                figures.join("; ")
            ));
            for violation in &check.violations {
                out.push_str(&format!("     {violation}\n"));
            }
        }
        out.push_str(if self.passed {
            "drill passed\n"
        } else {
            "drill FAILED\n"
        });
        out
    }
}
