//! The replica's internal HTTP API (docs/protocol.md), behind the cluster token.

use common::http::{internal_reply, recover_internal, reject, require_token, MAX_BODY_BYTES};
use common::wire::{AppendRequest, LeaderNotice, LogQuery, PlaceRequest};
use common::{Error, OrderNumber};
use std::sync::Arc;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::replica::Replica;
use crate::replication;

/// Appends carry the leader's whole suffix, so they may be far larger than client bodies.
const MAX_APPEND_BYTES: u64 = 256 * 1024 * 1024;

/// All routes of the internal listener.
pub(crate) fn routes(
    replica: Arc<Replica>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let token = require_token(&replica.config.token);
    let with = move || {
        let replica = replica.clone();
        warp::any().map(move || replica.clone())
    };
    let health = warp::path!("internal" / "health")
        .and(warp::get())
        .and(with())
        .map(|r: Arc<Replica>| internal_reply(Ok(r.health())));
    let leader = warp::path!("internal" / "leader")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::json())
        .and(with())
        .then(|notice: LeaderNotice, r: Arc<Replica>| async move {
            internal_reply(detached(async move { r.on_leader_notice(notice).await }).await)
        });
    let place = warp::path!("internal" / "place")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::json())
        .and(with())
        .then(|request: PlaceRequest, r: Arc<Replica>| async move {
            internal_reply(detached(async move { replication::place(&r, request).await }).await)
        });
    let order = warp::path!("internal" / "orders" / String)
        .and(warp::get())
        .and(with())
        .and_then(|number: String, r: Arc<Replica>| async move {
            let number: OrderNumber = number.parse().map_err(|_| {
                reject(Error::BadRequest(
                    "order number must be a non-negative integer".into(),
                ))
            })?;
            Ok::<_, Rejection>(internal_reply(r.order(number)))
        });
    let append = warp::path!("internal" / "append")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_APPEND_BYTES))
        .and(warp::body::json())
        .and(with())
        .then(|request: AppendRequest, r: Arc<Replica>| async move {
            internal_reply(detached(async move { r.append(request).await }).await)
        });
    let log = warp::path!("internal" / "log")
        .and(warp::get())
        .and(warp::query::<LogQuery>())
        .and(with())
        .then(|query: LogQuery, r: Arc<Replica>| async move {
            internal_reply(detached(async move { r.log_page(query).await }).await)
        });
    token
        .and(
            health
                .or(leader)
                .unify()
                .or(place)
                .unify()
                .or(order)
                .unify()
                .or(append)
                .unify()
                .or(log)
                .unify(),
        )
        .recover(recover_internal)
        .unify()
}

/// Runs a handler to completion on its own task. hyper drops a request's future when the caller
/// hangs up (a leader killed mid-append does exactly that); a handler that wrote the log must
/// still update the replica's state and flush, so it must not be cancellable halfway.
async fn detached<T: Send + 'static>(
    handler: impl std::future::Future<Output = common::Result<T>> + Send + 'static,
) -> common::Result<T> {
    tokio::spawn(handler)
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("handler failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// Regression (found by a drill): a follower's append handler was dropped when the killed
    /// leader's connection closed, after it wrote the log but before it recorded the new length;
    /// the stale length later let a new leader overwrite committed entries. A detached handler
    /// runs to the end even when its caller goes away.
    #[tokio::test]
    async fn a_detached_handler_finishes_after_its_caller_is_dropped() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let caller = tokio::spawn(detached(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        }));
        tokio::time::sleep(Duration::from_millis(10)).await;
        caller.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            finished.load(Ordering::SeqCst),
            "the handler must finish without its caller"
        );
    }
}
