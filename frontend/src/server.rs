//! Start-up and shut-down of one frontend: bind both listeners, build the shared state, run the
//! leader monitor, serve until shutdown.

use common::catalog_api::CatalogClient;
use common::http::{bind, serve, Peer};
use common::metrics::BuildInfo;
use common::{ClusterConfig, FrontendId, Shutdown};
use log::info;
use std::sync::Arc;

use crate::cache::ProductCache;
use crate::error::FrontendError;
use crate::leader::Leadership;
use crate::metrics::Metrics;
use crate::{api, internal};

/// What every request handler of one frontend shares. Built in [`run`]; nothing is global.
pub(crate) struct Frontend {
    pub id: FrontendId,
    pub cache: ProductCache,
    pub catalog: CatalogClient,
    pub orders: Arc<Leadership>,
    pub metrics: Arc<Metrics>,
}

/// Runs frontend `id` of `config` until `shutdown`: the public REST API on its `public`
/// address, the internal API (invalidations, cache keys) on its `internal` address, and the
/// order-leader monitor; `build` is shown in `/metrics`. On shutdown it stops taking connections, lets in-flight requests finish
/// (order retries give up early), stops the monitor and returns.
///
/// # Errors
/// No frontend `id` in the config, or an address that cannot be bound.
pub async fn run(
    config: ClusterConfig,
    id: FrontendId,
    build: BuildInfo,
    shutdown: Shutdown,
) -> Result<(), FrontendError> {
    let me = config.frontend(id)?.clone();
    let public = bind(me.public, &format!("frontend {id} public API")).await?;
    let internal = bind(me.internal, &format!("frontend {id} internal API")).await?;
    let address = |source| FrontendError::Address { id, source };
    let public_addr = public.local_addr().map_err(address)?;
    let internal_addr = internal.local_addr().map_err(address)?;

    let http = Peer::http_client();
    let metrics = Arc::new(Metrics::new(build));
    let orders = Arc::new(Leadership::new(
        id,
        &config,
        http.clone(),
        Arc::clone(&metrics),
        shutdown.clone(),
    ));
    let frontend = Arc::new(Frontend {
        id,
        cache: ProductCache::new(me.cache_size, Arc::clone(&metrics)),
        catalog: CatalogClient::new(Peer::new(http, config.catalog.internal, &config.token)),
        orders: Arc::clone(&orders),
        metrics,
    });
    let monitor = orders.start_monitor();

    info!("frontend {id} serving clients on http://{public_addr}");
    info!(
        "frontend {id}: internal API on http://{internal_addr}, cache of {} products, {} order replicas",
        me.cache_size,
        config.replicas.len()
    );
    tokio::join!(
        serve(
            api::routes(Arc::clone(&frontend)),
            public,
            shutdown.clone(),
            config.http
        ),
        serve(
            internal::routes(Arc::clone(&frontend), &config.token),
            internal,
            shutdown,
            config.http
        ),
    );
    drop(monitor);
    info!("frontend {id} stopped");
    Ok(())
}
