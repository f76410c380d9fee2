//! The restock loop: every period, sold-out toys go back to their initial quantity and every
//! frontend is told.

use log::{error, info};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use common::shutdown::ShutdownTrigger;
use common::Shutdown;

use crate::server::{Catalog, Stats};

/// The running restock loop. It stops when the service shuts down, when [`Self::stop`] is
/// called, or when this guard is dropped, so it never outlives its owner.
#[derive(Debug)]
pub(crate) struct RestockTask {
    /// Dropping it ends the loop (a dropped trigger counts as fired).
    stop: ShutdownTrigger,
    task: JoinHandle<()>,
}

impl RestockTask {
    /// Starts restocking every `period` (the first round one period from now).
    pub(crate) fn start(catalog: Arc<Catalog>, period: Duration, shutdown: Shutdown) -> Self {
        let (stop, stopped) = Shutdown::new();
        let task = tokio::spawn(restock_loop(catalog, period, shutdown, stopped));
        RestockTask { stop, task }
    }

    /// Stops the loop and waits for it: a round in progress (restock and its invalidations)
    /// finishes first, so sled can be flushed after it.
    pub(crate) async fn stop(self) {
        self.stop.fire();
        if let Err(e) = self.task.await {
            error!("restock task ended abnormally: {e}");
        }
    }
}

async fn restock_loop(catalog: Arc<Catalog>, period: Duration, shutdown: Shutdown, stop: Shutdown) {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    // After a slow round, wait a full period rather than restocking in a burst.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.wait() => break,
            () = stop.wait() => break,
            _ = ticks.tick() => {}
        }
        // Outside the select: a round, once begun, runs to the end.
        restock_round(&catalog).await;
    }
}

/// One round: refill sold-out toys, log each, count them, and push their invalidations.
async fn restock_round(catalog: &Catalog) {
    let restocked = match catalog.store.restock_sold_out().await {
        Ok(restocked) => restocked,
        Err(e) => {
            // Only storage fails here; the next tick tries again rather than stop the service.
            error!("restock failed: {e}");
            return;
        }
    };
    if restocked.is_empty() {
        return;
    }
    for product in &restocked {
        info!(
            "restocked {} to {} (version {})",
            product.name, product.quantity, product.version
        );
    }
    Stats::add(&catalog.stats.restocks, restocked.len() as u64);
    let changes: Vec<_> = restocked.into_iter().map(|p| (p.name, p.version)).collect();
    catalog.invalidator.push_all(&changes).await;
}
