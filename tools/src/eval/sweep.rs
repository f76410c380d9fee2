//! The sweep: one verified load run per buy probability, with the frontend's cache counters read
//! before and after.

use crate::ToolError;
use common::Shutdown;

use super::plan::Plan;
use super::probe::Probe;
use super::results::SweepRun;
use crate::load::{run_load, verify, LoadConfig, RequestKind};
use client::StoreClient;

/// One sweep run at buy probability `p` against a frontend whose cache holds `cache_size`
/// entries; `index` varies the seed.
///
/// # Errors
/// The frontend's counters cannot be read.
pub(crate) async fn run_one(
    client: &StoreClient,
    probe: &Probe,
    plan: &Plan,
    toys: &[String],
    cache_size: usize,
    p: f64,
    index: u64,
) -> Result<SweepRun, ToolError> {
    let config = LoadConfig {
        sessions: plan.sessions,
        iterations: Some(plan.iterations),
        duration: Some(plan.run_time_limit),
        p,
        max_quantity: plan.max_quantity,
        seed: Some(plan.seed.wrapping_add(index * 1000)),
        toys: toys.to_vec(),
        rate: None,
        keyless: false,
        buy_sold_out: false,
    };
    // Kept alive for the run: dropping a trigger stops the run.
    let (_never, stop) = Shutdown::new();
    let before = probe.counters().await?;
    let report = run_load(client, &config, |_| {}, stop).await;
    let cache = probe.counters().await?.since(&before);
    let verification = verify(client, &report.orders).await;
    Ok(SweepRun {
        cache: cache_size > 0,
        cache_size,
        p,
        seconds: report.elapsed.as_secs_f64(),
        iterations: report.iterations,
        sold_out: report.sold_out,
        query: report.summary(RequestKind::Query),
        buy: report.summary(RequestKind::Buy),
        lookup: verification.summary(),
        orders: report.orders.len(),
        cache_hits: cache.hits,
        cache_misses: cache.misses,
        orders_refused_from_cache: cache.refused_from_cache,
        verified: verification.checked,
        mismatches: verification.mismatches.len(),
        lookup_failures: verification.lookup_failures.len(),
    })
}
