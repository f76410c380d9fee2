//! The sell-out experiment: a catalog with little stock and no restocks, so that toys sell out
//! under the load, and rounds that alternate keyed and keyless buys. A keyed buy of a sold-out
//! toy goes to the leader and is refused by the catalog; a keyless one may be refused by the
//! frontend from its fresh cached quantity. Both paths run on one cluster in the same minute,
//! so their refusal latencies compare.

use crate::ToolError;
use common::Shutdown;
use hdrhistogram::Histogram;
use std::time::Duration;

use super::plan::Plan;
use super::probe::Probe;
use super::results::{SoldOut, SoldOutRound};
use crate::load::{new_histogram, run_load, verify, KindSummary, LoadConfig, RequestKind};
use client::StoreClient;

/// Restocks would refill the sold-out toys mid-experiment: none within it.
pub(crate) const NO_RESTOCK_MS: u64 = 3_600_000;

/// Runs `plan.sold_out_rounds` rounds, keyed first, against a store whose toys started with
/// `plan.sold_out_stock` each.
///
/// # Errors
/// The frontend's counters cannot be read.
pub(crate) async fn run(
    client: &StoreClient,
    probe: &Probe,
    plan: &Plan,
    toys: &[String],
) -> Result<SoldOut, ToolError> {
    let mut rounds = Vec::new();
    // Refusals of each path over every round: index 0 keyed, 1 keyless.
    let mut refusals: [Histogram<u64>; 2] = [new_histogram(), new_histogram()];
    let mut elapsed = [Duration::ZERO; 2];
    for index in 0..plan.sold_out_rounds {
        let keyless = index % 2 == 1;
        let config = LoadConfig {
            sessions: plan.sessions,
            iterations: Some(plan.iterations),
            duration: Some(plan.run_time_limit),
            p: plan.sold_out_p,
            max_quantity: plan.max_quantity,
            seed: Some(plan.seed.wrapping_add(700 + index as u64)),
            toys: toys.to_vec(),
            rate: None,
            keyless,
            buy_sold_out: true,
        };
        // Kept alive for the run: dropping a trigger stops it.
        let (_never, stop) = Shutdown::new();
        let before = probe.counters().await?;
        let report = run_load(client, &config, |_| {}, stop).await;
        let delta = probe.counters().await?.since(&before);
        let verification = verify(client, &report.orders).await;
        let path = usize::from(keyless);
        refusals[path]
            .add(&report.refusals)
            .expect("histograms of one shape add");
        elapsed[path] += report.elapsed;
        rounds.push(SoldOutRound {
            keyless,
            seconds: report.elapsed.as_secs_f64(),
            buy: report.summary(RequestKind::Buy),
            refused: report.refusal_summary(),
            orders: report.orders.len(),
            refused_from_cache: delta.refused_from_cache,
            verified: verification.checked,
            mismatches: verification.mismatches.len(),
            lookup_failures: verification.lookup_failures.len(),
        });
    }
    let [keyed, keyless] = refusals;
    let summary = |histogram: &Histogram<u64>, elapsed| {
        KindSummary::new(RequestKind::Buy, histogram, 0, histogram.len(), elapsed)
    };
    Ok(SoldOut {
        stock: plan.sold_out_stock,
        p: plan.sold_out_p,
        keyed_refusals: summary(&keyed, elapsed[0]),
        keyless_refusals: summary(&keyless, elapsed[1]),
        rounds,
    })
}
