//! Buy latency under the evaluation's mixed load: `tools::load` sessions (5, as in
//! `toystore eval`) that query a toy and buy it with probability p, one run per p in 0.2, 0.4,
//! 0.6 and 0.8, each as long as a timed run. The row is the highest buy p50 of the four: the
//! target holds for each p.

use client::StoreClient;
use common::Shutdown;
use std::time::Duration;

use crate::load::{run_load, LoadConfig, RequestKind, DEFAULT_MAX_QUANTITY, DEFAULT_SESSIONS};
use crate::ToolError;

/// The buy probabilities of the table's row.
pub(crate) const PS: [f64; 4] = [0.2, 0.4, 0.6, 0.8];

/// One p's run.
#[derive(Clone, Debug)]
pub(crate) struct MixedRun {
    pub p: f64,
    pub buys: u64,
    pub buy_p50_ms: f64,
    pub query_p50_ms: f64,
    /// Failed requests, out-of-stock refusals excluded.
    pub errors: u64,
}

/// One run per p in [`PS`] of `length` each, against `frontend_url`.
///
/// # Errors
/// The sessions' config is out of range (no toys). A failed request is counted, not raised.
pub(crate) async fn measure(
    frontend_url: &str,
    toys: &[String],
    length: Duration,
) -> Result<Vec<MixedRun>, ToolError> {
    let client = StoreClient::new(frontend_url);
    let mut runs = Vec::new();
    for (i, p) in PS.into_iter().enumerate() {
        let config = LoadConfig {
            sessions: DEFAULT_SESSIONS,
            iterations: None,
            duration: Some(length),
            p,
            max_quantity: DEFAULT_MAX_QUANTITY,
            seed: Some(1000 * i as u64),
            toys: toys.to_vec(),
            rate: None,
            keyless: false,
            buy_sold_out: false,
        };
        config.validate()?;
        // Kept alive for the run: dropping the trigger stops it.
        let (_never, stop) = Shutdown::new();
        let report = run_load(&client, &config, |_| {}, stop).await;
        let buy = report.summary(RequestKind::Buy);
        let query = report.summary(RequestKind::Query);
        runs.push(MixedRun {
            p,
            buys: buy.count,
            buy_p50_ms: buy.p50_ms,
            query_p50_ms: query.p50_ms,
            errors: buy.errors + query.errors,
        });
    }
    Ok(runs)
}
