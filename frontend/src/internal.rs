//! The frontend's internal API (cluster token required), on the paths of
//! [`common::frontend_api`]: the catalog's invalidation pushes, and the cache's keys for the
//! evaluation's cache-replacement timeline.
//!
//! - `POST /internal/invalidate` `[{"name", "version"}, ...]` → `{}`
//! - `GET /internal/cache` → `{"keys": ["Tux", ...]}` (sorted)

use common::frontend_api as route;
use common::http::{internal_get, internal_post, internal_reply, recover_internal, require_token};
use common::wire::{Acknowledged, CacheKeys, Invalidation};
use common::Result;
use log::debug;
use std::convert::Infallible;
use std::sync::Arc;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::server::Frontend;

/// An invalidation push carries every product a batch of buys changed.
const MAX_INVALIDATION_BYTES: u64 = 1024 * 1024;

/// Every internal route, behind the cluster token; errors come back as the JSON `Error`.
pub(crate) fn routes(
    frontend: Arc<Frontend>,
    token: &str,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let state = warp::any().map(move || Arc::clone(&frontend));
    let invalidate = internal_post(route::INVALIDATE, MAX_INVALIDATION_BYTES)
        .and(state.clone())
        .map(invalidate);
    let keys = internal_get(route::CACHE).and(state).map(cache_keys);
    require_token(token)
        .and(invalidate.or(keys).unify())
        .recover(recover_internal)
        .unify()
}

fn invalidate(invalidations: Vec<Invalidation>, frontend: Arc<Frontend>) -> Response {
    for invalidation in invalidations {
        debug!(
            "frontend {}: invalidate {} below version {}",
            frontend.id, invalidation.name, invalidation.version
        );
        frontend
            .cache
            .invalidate(&invalidation.name, invalidation.version);
    }
    internal_reply(Result::Ok(Acknowledged {}))
}

fn cache_keys(frontend: Arc<Frontend>) -> Response {
    internal_reply(Result::Ok(CacheKeys {
        keys: frontend.cache.keys(),
    }))
    .into_response()
}
