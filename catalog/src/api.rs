//! The catalog's internal HTTP API, on the paths of [`common::catalog_api`]. Every route needs
//! the cluster token; answers are JSON, a failure being the [`Error`] itself with its status.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /internal/health` | `{"ready": true}` |
//! | `GET /internal/products` | every [`common::Product`] |
//! | `GET /internal/products/{name}` | one [`common::Product`] (`{name}` percent-encoded) |
//! | `POST /internal/buy` ([`BuyRequest`]) | [`common::wire::BuyReceipt`] |
//! | `POST /internal/buy_batch` (`[BuyRequest]`) | one `Result<BuyReceipt>` per request, in order |
//! | `GET /internal/stats` | [`common::wire::CatalogStats`] |
//!
//! `GET /health`, `/ready` and `/metrics` (`common::probes`) need no token. The catalog binds
//! its listener only once its database is open, so it is ready whenever it answers.

use log::{debug, error, info, warn};
use std::convert::Infallible;
use std::sync::Arc;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use common::catalog_api as route;
use common::http::{
    internal_get, internal_path, internal_post, internal_reply, recover_internal, rejection_error,
    require_token, MAX_BODY_BYTES,
};
use common::wire::{BuyRequest, CatalogReady};
use common::{Error, Result};

use crate::server::{Catalog, Stats};

/// The internal API over `catalog`, guarded by `token`. Each route matches its path before its
/// method, so a known path with the wrong method is 405 and an unknown path 404.
pub(crate) fn routes(
    token: &str,
    catalog: Arc<Catalog>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone + Send + Sync + 'static {
    let probes = {
        let catalog = catalog.clone();
        common::probes::routes(
            || std::future::ready(Vec::new()),
            move || crate::metrics::render(&catalog),
        )
    };
    let with_catalog = warp::any().map(move || catalog.clone());
    // The catalog answers only once its store is open, so it is ready.
    let health =
        internal_get(route::HEALTH).map(|| internal_reply(Ok(CatalogReady { ready: true })));
    let list = internal_get(route::PRODUCTS)
        .and(with_catalog.clone())
        .then(|catalog: Arc<Catalog>| async move { internal_reply(catalog.store.list().await) });
    let product = internal_path(route::PRODUCTS)
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and(with_catalog.clone())
        .then(read_product);
    let buy = internal_post(route::BUY, MAX_BODY_BYTES)
        .and(with_catalog.clone())
        .then(buy);
    let buy_batch = internal_post(route::BUY_BATCH, MAX_BATCH_BYTES)
        .and(with_catalog.clone())
        .then(buy_batch);
    let stats = internal_get(route::STATS)
        .and(with_catalog)
        .map(|catalog: Arc<Catalog>| internal_reply(Ok(catalog.stats.snapshot())));
    let api = health
        .or(list)
        .unify()
        .or(product)
        .unify()
        .or(buy)
        .unify()
        .or(buy_batch)
        .unify()
        .or(stats)
        .unify();
    probes
        .or(require_token(token).and(api))
        .unify()
        .or_else(log_rejection)
        .recover(recover_internal)
}

/// `GET /internal/products/{name}`.
async fn read_product(raw_name: String, catalog: Arc<Catalog>) -> Response {
    Stats::add(&catalog.stats.product_reads, 1);
    let result = match percent_decode(&raw_name) {
        Ok(name) => catalog.store.get(&name).await,
        Err(e) => Err(e),
    };
    match &result {
        Ok(_) => {}
        Err(e @ (Error::NotFound(_) | Error::BadRequest(_))) => {
            info!("product read {raw_name:?} refused: {e}");
        }
        Err(e) => error!("product read {raw_name:?} failed: {e}"),
    }
    internal_reply(result)
}

/// Largest batch body: a full group-commit batch of buy requests.
const MAX_BATCH_BYTES: u64 = 16 * 1024 * 1024;

/// `POST /internal/buy`: on success every frontend is told before the answer goes out, so no
/// frontend serves the old quantity once the order is acknowledged (unless it missed the push).
async fn buy(request: BuyRequest, catalog: Arc<Catalog>) -> Response {
    Stats::add(&catalog.stats.buys, 1);
    let BuyRequest {
        request_id,
        name,
        quantity,
    } = &request;
    let result = catalog.store.buy(&request).await;
    match &result {
        Ok(receipt) => {
            // Debug, not info: one line per order would drown the log under load.
            debug!(
                "buy {request_id}: took {quantity} of {name}, {} left (version {})",
                receipt.remaining, receipt.version
            );
            catalog.invalidator.push(name, receipt.version).await;
        }
        Err(Error::OutOfStock) => debug!("buy {request_id}: out of stock for {name}"),
        Err(Error::NotFound(_)) => info!("buy {request_id}: no toy named {name:?}"),
        Err(e @ Error::BadRequest(_)) => info!("buy {request_id}: refused: {e}"),
        Err(e) => error!("buy {request_id}: failed: {e}"),
    }
    internal_reply(result)
}

/// `POST /internal/buy_batch`: [`buy`] for many requests at once (the order leader's group
/// commit sends one per batch): one flush and one invalidation push per frontend cover them all.
async fn buy_batch(requests: Vec<BuyRequest>, catalog: Arc<Catalog>) -> Response {
    Stats::add(&catalog.stats.buys, requests.len() as u64);
    let outcomes = match catalog.store.buy_many(&requests).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            error!("buy batch of {}: failed: {e}", requests.len());
            return internal_reply::<()>(Err(e));
        }
    };
    let mut changed: std::collections::BTreeMap<&str, common::Version> = Default::default();
    for (request, outcome) in requests.iter().zip(&outcomes) {
        match outcome {
            Ok(receipt) => {
                let version = changed.entry(&request.name).or_default();
                *version = (*version).max(receipt.version);
            }
            Err(e) => debug!("buy {}: refused: {e}", request.request_id),
        }
    }
    let changed: Vec<(String, common::Version)> = changed
        .into_iter()
        .map(|(name, version)| (name.to_string(), version))
        .collect();
    catalog.invalidator.push_all(&changed).await;
    internal_reply(Ok(outcomes))
}

/// Logs a request refused before reaching a handler (no token, unknown path, bad body), then
/// passes the rejection on to [`recover_internal`].
async fn log_rejection(rejection: Rejection) -> Result<(Response,), Rejection> {
    match rejection_error(&rejection) {
        e @ Error::Unauthorized => warn!("internal request refused: {e}"),
        e => info!("internal request refused: {e}"),
    }
    Err(rejection)
}

pub(crate) use common::path::decode_segment as percent_decode;
