//! The cache-replacement experiment: a cache of half the catalog, queried (no buys) first over
//! one half of the toys, then over the other half, then over all of them, while its keys are
//! listed at a fixed interval.

use crate::ToolError;
use common::Shutdown;
use std::time::{Duration, Instant};

use super::plan::Plan;
use super::probe::Probe;
use super::results::{CacheSnapshot, Phase, Replacement};
use crate::load::{run_load, LoadConfig};
use client::StoreClient;

/// Runs the phases and the listing side by side.
///
/// # Errors
/// The frontend's counters or cache keys cannot be read.
pub(crate) async fn run(
    client: &StoreClient,
    probe: &Probe,
    plan: &Plan,
    toys: &[String],
) -> Result<Replacement, ToolError> {
    let half = toys.len() / 2;
    let phases = [
        (format!("toys 1-{half}"), toys[..half].to_vec()),
        (
            format!("toys {}-{}", half + 1, toys.len()),
            toys[half..].to_vec(),
        ),
        (format!("all {} toys", toys.len()), toys.to_vec()),
    ];
    let start = Instant::now();
    let (done, done_signal) = Shutdown::new();
    let load = async {
        let result = run_phases(client, probe, plan, &phases, start).await;
        done.fire();
        result
    };
    let listing = list_keys(probe, plan.poll_interval, start, done_signal);
    let (phases, snapshots) = tokio::join!(load, listing);
    Ok(Replacement {
        cache_size: plan.replacement_cache_size,
        toys: toys.to_vec(),
        interval_ms: u64::try_from(plan.poll_interval.as_millis()).unwrap_or(u64::MAX),
        phases: phases?,
        snapshots: snapshots?,
    })
}

async fn run_phases(
    client: &StoreClient,
    probe: &Probe,
    plan: &Plan,
    phases: &[(String, Vec<String>)],
    start: Instant,
) -> Result<Vec<Phase>, ToolError> {
    // Kept alive for the phases: dropping a trigger stops a run.
    let (_never, stop) = Shutdown::new();
    let mut measured = Vec::new();
    for (index, (label, toys)) in phases.iter().enumerate() {
        let config = LoadConfig {
            sessions: plan.sessions,
            iterations: None,
            duration: Some(plan.replacement_phase),
            p: 0.0,
            max_quantity: plan.max_quantity,
            seed: Some(plan.seed.wrapping_add(500 + index as u64)),
            toys: toys.clone(),
            rate: None,
            keyless: false,
            buy_sold_out: false,
        };
        let before = probe.counters().await?;
        let start_s = start.elapsed().as_secs_f64();
        let report = run_load(client, &config, |_| {}, stop.clone()).await;
        let end_s = start.elapsed().as_secs_f64();
        let delta = probe.counters().await?.since(&before);
        measured.push(Phase {
            label: label.clone(),
            toys: toys.clone(),
            start_s,
            end_s,
            queries: report.iterations as u64,
            cache_hits: delta.hits,
            cache_misses: delta.misses,
            evictions: delta.evictions,
        });
    }
    Ok(measured)
}

/// Lists the cache's keys every `interval` until `done` fires.
async fn list_keys(
    probe: &Probe,
    interval: Duration,
    start: Instant,
    done: Shutdown,
) -> Result<Vec<CacheSnapshot>, ToolError> {
    let mut snapshots = Vec::new();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = done.wait() => return Ok(snapshots),
            _ = ticker.tick() => {}
        }
        let at_s = start.elapsed().as_secs_f64();
        let keys = probe.cache_keys().await?;
        snapshots.push(CacheSnapshot { at_s, keys });
    }
}
