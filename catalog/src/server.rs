//! The catalog service's state and lifecycle: open the store, bind, serve until shutdown, stop the
//! restock and resend tasks, flush sled last.

use log::info;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::metrics::BuildInfo;
use common::wire::CatalogStats;
use common::{ClusterConfig, Shutdown};

use crate::error::CatalogError;
use crate::invalidate::Invalidator;
use crate::restock::RestockTask;
use crate::stock::StockStore;

/// What the API handlers and the restock task share.
pub(crate) struct Catalog {
    pub(crate) store: StockStore,
    pub(crate) invalidator: Invalidator,
    pub(crate) stats: Stats,
    /// Shown in `/metrics`.
    pub(crate) build: BuildInfo,
}

/// Counters behind `GET /internal/stats` (so tests can see how often the catalog was asked) and
/// `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) product_reads: AtomicU64,
    pub(crate) buys: AtomicU64,
    pub(crate) restocks: AtomicU64,
}

impl Stats {
    /// Adds `n` to `counter`. Relaxed is enough: the counters are independent tallies.
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> CatalogStats {
        CatalogStats {
            product_reads: self.product_reads.load(Ordering::Relaxed),
            buys: self.buys.load(Ordering::Relaxed),
            restocks: self.restocks.load(Ordering::Relaxed),
        }
    }
}

/// Runs the catalog until `shutdown`: opens the stock store at `config.catalog_dir()` (loading
/// `config.products` on the first start), serves the internal API on `config.catalog.internal`,
/// restocks sold-out toys every `config.catalog.restock_period_ms`, resends undelivered
/// invalidations, and on shutdown lets in-flight requests finish, stops the restock and resend
/// tasks and flushes sled last. `build` is shown in `/metrics`.
///
/// # Errors
/// The database cannot be opened, the products file is missing or malformed, the restock period
/// is 0, the listener cannot be bound, or the final flush fails.
pub async fn run(
    config: ClusterConfig,
    build: BuildInfo,
    shutdown: Shutdown,
) -> Result<(), CatalogError> {
    config.validate()?;
    let store = StockStore::open_with(config.sled_config(&config.catalog_dir()), &config.products)?;
    let listener = common::http::bind(config.catalog.internal, "the catalog").await?;
    let addr = listener.local_addr().map_err(CatalogError::Address)?;
    let catalog = Arc::new(Catalog {
        store: store.clone(),
        invalidator: Invalidator::for_cluster(&config),
        stats: Stats::default(),
        build,
    });
    let period = Duration::from_millis(config.catalog.restock_period_ms);
    let restock = RestockTask::start(catalog.clone(), period, shutdown.clone());
    info!("catalog listening on {addr}");
    let routes = crate::api::routes(&config.token, catalog.clone());
    common::http::serve(routes, listener, shutdown, config.http).await;
    restock.stop().await;
    catalog.invalidator.stop();
    store.flush().await.map_err(CatalogError::Flush)?;
    info!("catalog stopped");
    Ok(())
}
