//! The replica's internal HTTP API (docs/protocol.md), behind the cluster token: each route
//! turns its body into a [`Request`] for the node and its answer into JSON.

use common::http::{
    internal_get, internal_path, internal_post, internal_reply, recover_internal, reject,
    require_token, MAX_BODY_BYTES,
};
use common::replica_api as route;
use common::wire::{AppendRequest, LeaderNotice, LogQuery, PlaceRequest, Placed, Prepare};
use common::{Error, OrderNumber, Result};
use futures_util::future::join_all;
use protocol::{Reply, Request};
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::driver::NodeHandle;
use crate::metrics::ReplicaMetrics;
use std::sync::Arc;

/// Appends carry the leader's whole suffix, so they may be far larger than client bodies.
const MAX_APPEND_BYTES: u64 = 256 * 1024 * 1024;
/// A full `place_batch`: [`route::MAX_PLACE_BATCH`] requests of a client body each at most.
const MAX_PLACE_BATCH_BYTES: u64 = route::MAX_PLACE_BATCH as u64 * MAX_BODY_BYTES;

/// All routes of the internal listener: the probes of `common::probes` (no token), then the
/// replica's API (token required).
pub(crate) fn routes(
    node: NodeHandle,
    metrics: Arc<ReplicaMetrics>,
    token: &str,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    let probes = {
        let ready = Arc::clone(&metrics);
        common::probes::routes(
            move || std::future::ready(ready.problems()),
            move || metrics.render(),
        )
    };
    let with = move || {
        let node = node.clone();
        warp::any().map(move || node.clone())
    };
    let health = internal_get(route::HEALTH)
        .and(with())
        .map(|n: NodeHandle| internal_reply(Ok(n.health())));
    let leader = internal_post::<LeaderNotice>(route::LEADER, MAX_BODY_BYTES)
        .and(with())
        .then(|notice, n: NodeHandle| ask(n, Request::Leader(notice)));
    let place = internal_post::<PlaceRequest>(route::PLACE, MAX_BODY_BYTES)
        .and(with())
        .then(|place, n: NodeHandle| ask(n, Request::Place(place)));
    let place_batch = internal_post::<Vec<PlaceRequest>>(route::PLACE_BATCH, MAX_PLACE_BATCH_BYTES)
        .and(with())
        .then(place_batch);
    let prepare = internal_post::<Prepare>(route::PREPARE, MAX_BODY_BYTES)
        .and(with())
        .then(|prepare, n: NodeHandle| ask(n, Request::Prepare(prepare)));
    let append = internal_post::<AppendRequest>(route::APPEND, MAX_APPEND_BYTES)
        .and(with())
        .then(|append, n: NodeHandle| ask(n, Request::Append(append)));
    let order = internal_path(route::ORDERS)
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::get())
        .and(with())
        .and_then(|number: String, n: NodeHandle| async move {
            let number: OrderNumber = number.parse().map_err(|_| {
                reject(Error::BadRequest(
                    "order number must be a non-negative integer".into(),
                ))
            })?;
            Ok::<_, Rejection>(ask(n, Request::Get(number)).await)
        });
    let log = internal_get(route::LOG)
        .and(warp::query::<LogQuery>())
        .and(with())
        .then(|query, n: NodeHandle| ask(n, Request::Log(query)));
    let api = require_token(token).and(
        health
            .or(leader)
            .unify()
            .or(place)
            .unify()
            .or(place_batch)
            .unify()
            .or(order)
            .unify()
            .or(prepare)
            .unify()
            .or(append)
            .unify()
            .or(log)
            .unify(),
    );
    probes.or(api).unify().recover(recover_internal).unify()
}

/// Every request of a batch handed to the node at once, as so many concurrent `place` calls: the
/// driver steps them together, so they share one catalog batch and one flush.
async fn place_batch(batch: Vec<PlaceRequest>, node: NodeHandle) -> Response {
    if batch.len() > route::MAX_PLACE_BATCH {
        return internal_reply::<()>(Err(Error::BadRequest(format!(
            "a place_batch holds at most {} requests, not {}",
            route::MAX_PLACE_BATCH,
            batch.len()
        ))));
    }
    let asks = batch.into_iter().map(|request| {
        let node = node.clone();
        async move {
            match node.ask(Request::Place(request)).await {
                Ok(Reply::Placed(placed)) => Ok(placed),
                Ok(other) => Err(Error::Internal(format!(
                    "the node answered a place with {other:?}"
                ))),
                Err(e) => Err(e),
            }
        }
    });
    let outcomes: Vec<Result<Placed>> = join_all(asks).await;
    internal_reply(Ok(outcomes))
}

/// Hands `request` to the node and answers with what it says. The node's task owns all state, so
/// a caller that hangs up cannot cut a step in half.
async fn ask(node: NodeHandle, request: Request) -> Response {
    match node.ask(request).await {
        Ok(reply) => reply_json(reply),
        Err(e) => internal_reply::<()>(Err(e)),
    }
}

fn reply_json(reply: Reply) -> Response {
    fn ok<T: Serialize>(value: T) -> Response {
        internal_reply(Result::Ok(value))
    }
    match reply {
        Reply::Health(h) => ok(h),
        Reply::Placed(p) => ok(p),
        Reply::Order(o) => ok(o),
        Reply::Promise(p) => ok(p),
        Reply::Appended(a) => ok(a),
        Reply::Page(p) => ok(p),
    }
}
