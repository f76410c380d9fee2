//! Preloading: orders placed through the frontend as fast as the store takes them (many
//! concurrent connections, so batches are large) until the log holds the level's count. Bounded
//! by count and by time: a store slower than [`MIN_RATE`] stops short, and the rows of the level
//! say how many orders the log really held.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use supervisor::LocalCluster;

use super::closed_loop::{self, Bound};
use super::orders::OrderTarget;
use crate::ToolError;

/// Concurrent connections while preloading: more than any measured load, for large batches.
pub(crate) const PRELOAD_CONNECTIONS: usize = 128;
/// Slowest preload the bench waits for, in orders per second (plus [`SLACK`]); docs/performance.md
/// has the store at about 5,000 on two cores.
pub(crate) const MIN_RATE: u64 = 1_000;
/// Time allowed on top of `count / MIN_RATE`.
const SLACK: Duration = Duration::from_secs(30);

/// What a preload did.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Preloaded {
    /// Orders acknowledged by this preload.
    pub placed: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Orders in the log afterwards.
    pub log_orders: u64,
}

/// Tops the log up to `level` orders; nothing when it holds that many already.
///
/// # Errors
/// No replica answers its health, or a connection's task panicked.
pub(crate) async fn fill(
    cluster: &LocalCluster,
    target: &OrderTarget,
    level: u64,
    progress: bool,
    say: &dyn Fn(&str),
) -> Result<Preloaded, ToolError> {
    let before = log_orders(cluster).await?;
    let missing = level.saturating_sub(before);
    if missing == 0 {
        return Ok(Preloaded {
            placed: 0,
            errors: 0,
            seconds: 0.0,
            log_orders: before,
        });
    }
    let length = SLACK + Duration::from_secs(missing / MIN_RATE);
    say(&format!(
        "preloading {missing} orders ({PRELOAD_CONNECTIONS} connections, at most {} s)",
        length.as_secs()
    ));
    let bar = if progress {
        let bar = ProgressBar::new(missing);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} orders, {per_sec}, eta {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let finished = Arc::new(AtomicU64::new(0));
    let ticker = {
        let (bar, finished) = (bar.clone(), finished.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(finished.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let bound = Bound {
        connections: PRELOAD_CONNECTIONS,
        length,
        max_requests: Some(missing),
    };
    let outcome = closed_loop::run(&bound, Some(finished), target.request()).await;
    ticker.abort();
    bar.finish_and_clear();
    let outcome = outcome?;
    let after = log_orders(cluster).await?;
    say(&format!(
        "preloaded {} orders in {:.1} s ({:.0}/s, {} errors); the log holds {after}",
        outcome.ok,
        outcome.seconds,
        outcome.per_second(),
        outcome.errors
    ));
    Ok(Preloaded {
        placed: outcome.ok,
        errors: outcome.errors,
        seconds: outcome.seconds,
        log_orders: after,
    })
}

/// Orders committed in the log: the highest commit length any replica reports.
///
/// # Errors
/// No replica answers.
pub(crate) async fn log_orders(cluster: &LocalCluster) -> Result<u64, ToolError> {
    let mut best = None;
    for replica in &cluster.config.replicas {
        if let Some(health) = cluster.replica_health(replica.id).await {
            best = best.max(Some(health.commit_len));
        }
    }
    best.ok_or_else(|| ToolError::Service("no order replica answers its health".into()))
}
