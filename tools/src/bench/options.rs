//! What a bench run measures and for how long: the flags of `toystore bench`, checked.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::ToolError;

/// One group of rows of the table, as `--only` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// Durable orders/s and order latency at each client count, one order alone, and the sled
    /// baseline.
    Orders,
    /// The cached `GET /products/Tux` against the bare warp baseline.
    Get,
    /// Buy latency of `tools::load` sessions at p = 0.2 to 0.8.
    Mixed,
    /// Catch-up of a follower that missed orders, restart of an up-to-date one.
    CatchUp,
    /// The leader killed with SIGKILL under load.
    Failover,
    /// Bytes on disk per order, each replica and the catalog.
    Disk,
    /// RSS of each replica, the catalog and the frontend.
    Memory,
}

impl Measure {
    /// Every group, in the order the bench measures them.
    pub const ALL: [Measure; 7] = [
        Measure::Orders,
        Measure::Get,
        Measure::Mixed,
        Measure::Memory,
        Measure::Disk,
        Measure::CatchUp,
        Measure::Failover,
    ];

    /// The name `--only` takes.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Orders => "orders",
            Measure::Get => "get",
            Measure::Mixed => "mixed",
            Measure::CatchUp => "catch-up",
            Measure::Failover => "failover",
            Measure::Disk => "disk",
            Measure::Memory => "memory",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Measure {
    type Err = ToolError;

    fn from_str(text: &str) -> Result<Measure, ToolError> {
        Measure::ALL
            .into_iter()
            .find(|m| m.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
                ToolError::Options(format!("--only takes {}, not {text:?}", names.join(", ")))
            })
    }
}

/// A bench run. [`BenchOptions::standard`] and [`BenchOptions::quick`] give the defaults of
/// `toystore bench` and `toystore bench --quick`; flags given on the command line replace fields.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// The `toystore` binary the services and the HTTP baseline are started from.
    pub exe: PathBuf,
    /// Concurrent clients of the orders/s runs; the table's rows for one order alone and for 64
    /// connections need 1 and 64 here.
    pub clients: Vec<usize>,
    /// Length of each timed run (orders/s, GET, the disk baseline, each p of the mixed load, the
    /// follower's time down).
    pub seconds: Duration,
    /// Runs of each orders/s client count and of each GET side (the table shows the median).
    pub runs: usize,
    /// Orders the log holds before each level is measured, ascending; each level tops the log up
    /// to that count, so the levels cost the largest one, not their sum.
    pub preload: Vec<u64>,
    /// Groups to measure; all of them when empty.
    pub only: BTreeSet<Measure>,
    /// A short smoke run: the defaults of [`BenchOptions::quick`] (recorded in the report).
    pub quick: bool,
    /// Draw a progress bar while preloading (on a terminal).
    pub progress: bool,
}

impl BenchOptions {
    /// The defaults of `toystore bench`: 1, 8 and 64 clients, 3 runs of 5 s, no preload.
    pub fn standard(exe: PathBuf) -> BenchOptions {
        BenchOptions {
            exe,
            clients: vec![1, 8, 64],
            seconds: Duration::from_secs(5),
            runs: 3,
            preload: vec![0],
            only: BTreeSet::new(),
            quick: false,
            progress: false,
        }
    }

    /// The defaults of `toystore bench --quick`, a smoke run of every row: 1 and 64 clients,
    /// one run of 1 s, no preload.
    pub fn quick(exe: PathBuf) -> BenchOptions {
        BenchOptions {
            clients: vec![1, 64],
            seconds: Duration::from_secs(1),
            runs: 1,
            quick: true,
            ..BenchOptions::standard(exe)
        }
    }

    /// Whether `measure` is part of this run.
    pub fn measures(&self, measure: Measure) -> bool {
        self.only.is_empty() || self.only.contains(&measure)
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// A message naming the flag that is out of range.
    pub fn validate(&self) -> Result<(), ToolError> {
        let bad = |message: &str| Err(ToolError::Options(message.into()));
        if self.clients.is_empty() || self.clients.contains(&0) {
            return bad("--clients takes positive numbers, for example 1,8,64");
        }
        if self.seconds.is_zero() || self.runs == 0 {
            return bad("--seconds and --runs must be at least 1");
        }
        if self.preload.is_empty() || self.preload.windows(2).any(|w| w[0] >= w[1]) {
            return bad("--preload takes ascending order counts, for example 0,100000,1000000");
        }
        if self.preload.last().is_some_and(|&n| n > MAX_PRELOAD) {
            return bad("--preload is at most 10,000,000 orders");
        }
        Ok(())
    }
}

/// Largest `--preload`: about an hour of filling at the speeds of docs/performance.md.
pub const MAX_PRELOAD: u64 = 10_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_round_trip_and_unknown_ones_are_named() {
        for measure in Measure::ALL {
            assert_eq!(measure.name().parse::<Measure>().ok(), Some(measure));
        }
        let error = "speed".parse::<Measure>().unwrap_err().to_string();
        assert!(
            error.contains("speed") && error.contains("catch-up"),
            "{error}"
        );
    }

    #[test]
    fn out_of_range_flags_are_named() {
        let good = BenchOptions::quick("toystore".into());
        assert!(good.validate().is_ok());
        let cases = [
            (
                BenchOptions {
                    clients: vec![0],
                    ..good.clone()
                },
                "--clients",
            ),
            (
                BenchOptions {
                    runs: 0,
                    ..good.clone()
                },
                "--runs",
            ),
            (
                BenchOptions {
                    preload: vec![100, 10],
                    ..good.clone()
                },
                "ascending",
            ),
            (
                BenchOptions {
                    preload: vec![MAX_PRELOAD + 1],
                    ..good.clone()
                },
                "at most",
            ),
        ];
        for (options, needle) in cases {
            let error = options.validate().unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
    }
}
