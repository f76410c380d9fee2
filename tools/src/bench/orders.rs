//! Durable orders per second and order latency: `clients` connections, each sending
//! `POST /orders` to the frontend one at a time for the length of a run. Every order counted was
//! flushed on a majority of replicas and by the catalog before it was answered.

use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::closed_loop::{self, Bound, Outcome};
use crate::ToolError;

/// What one run at one concurrency measured.
#[derive(Clone, Debug, Serialize)]
pub struct OrderRun {
    /// Orders in the log before the run (the preload level it belongs to).
    pub preload: u64,
    pub clients: usize,
    /// Which run of this client count, from 1.
    pub run: usize,
    /// Orders acknowledged.
    pub orders: u64,
    /// Orders that failed (no answer, or not a success).
    pub errors: u64,
    pub seconds: f64,
    pub orders_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Where orders go and what they buy: the frontend's `POST /orders`, one unit of a toy picked
/// round-robin (a different start per connection).
#[derive(Clone, Debug)]
pub(crate) struct OrderTarget {
    pub http: reqwest::Client,
    /// `http://127.0.0.1:<port>/orders`.
    pub url: String,
    pub toys: Arc<Vec<String>>,
}

impl OrderTarget {
    pub(crate) fn new(http: reqwest::Client, frontend_url: &str, toys: Vec<String>) -> Self {
        OrderTarget {
            http,
            url: format!("{frontend_url}{}", common::public_api::ORDERS),
            toys: Arc::new(toys),
        }
    }

    /// The request of [`closed_loop::run`]: one order, `true` when it was acknowledged.
    pub(crate) fn request(&self) -> impl Fn(usize, u64) -> PlaceFuture + Send + Sync + 'static {
        let target = self.clone();
        move |connection, sequence| {
            let toy = &target.toys[(connection + sequence as usize * 7) % target.toys.len()];
            let body = serde_json::json!({"name": toy, "quantity": 1});
            let sent = target.http.post(&target.url).json(&body).send();
            Box::pin(async move {
                match sent.await {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                }
            })
        }
    }

    /// Orders from `clients` connections for `length`.
    ///
    /// # Errors
    /// A connection's task panicked.
    pub(crate) async fn run_for(
        &self,
        clients: usize,
        length: Duration,
    ) -> Result<Outcome, ToolError> {
        closed_loop::run(&Bound::timed(clients, length), None, self.request()).await
    }
}

/// One order in flight.
pub(crate) type PlaceFuture = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;

/// One orders/s run, as a row of the per-run table.
///
/// # Errors
/// A connection's task panicked.
pub(crate) async fn one_run(
    target: &OrderTarget,
    preload: u64,
    clients: usize,
    run: usize,
    length: Duration,
) -> Result<OrderRun, ToolError> {
    let outcome = target.run_for(clients, length).await?;
    Ok(OrderRun {
        preload,
        clients,
        run,
        orders: outcome.ok,
        errors: outcome.errors,
        seconds: outcome.seconds,
        orders_per_second: outcome.per_second(),
        p50_ms: outcome.ms_at(0.5),
        p99_ms: outcome.ms_at(0.99),
        max_ms: outcome.max_ms(),
    })
}

/// The run of median orders/s among `runs` (the upper median of an even count).
///
/// # Panics
/// If `runs` is empty.
pub(crate) fn median(runs: &[OrderRun]) -> &OrderRun {
    let mut sorted: Vec<&OrderRun> = runs.iter().collect();
    sorted.sort_by(|a, b| a.orders_per_second.total_cmp(&b.orders_per_second));
    sorted[sorted.len() / 2]
}

/// The header of [`line`].
pub(crate) fn header() -> String {
    format!(
        "{:>8} {:>8} {:>4} {:>10} {:>8} {:>8} {:>8} {:>7}",
        "preload", "clients", "run", "orders/s", "p50 ms", "p99 ms", "max ms", "errors"
    )
}

/// One run as a line under [`header`].
pub(crate) fn line(run: &OrderRun) -> String {
    format!(
        "{:>8} {:>8} {:>4} {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>7}",
        run.preload,
        run.clients,
        run.run,
        run.orders_per_second,
        run.p50_ms,
        run.p99_ms,
        run.max_ms,
        run.errors
    )
}
