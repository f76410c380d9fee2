//! The replica's internal HTTP API (docs/protocol.md), behind the cluster token: each route
//! turns its body into a [`Request`] for the node and its answer into JSON.

use common::http::{
    internal_get, internal_path, internal_post, internal_reply, recover_internal, reject,
    require_token, MAX_BODY_BYTES,
};
use common::replica_api as route;
use common::wire::{AppendRequest, LeaderNotice, LogQuery, PlaceRequest, Prepare};
use common::{Error, OrderNumber, Result};
use protocol::{Reply, Request};
use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::driver::NodeHandle;

/// Appends carry the leader's whole suffix, so they may be far larger than client bodies.
const MAX_APPEND_BYTES: u64 = 256 * 1024 * 1024;

/// All routes of the internal listener.
pub(crate) fn routes(
    node: NodeHandle,
    token: &str,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
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
    require_token(token)
        .and(
            health
                .or(leader)
                .unify()
                .or(place)
                .unify()
                .or(order)
                .unify()
                .or(prepare)
                .unify()
                .or(append)
                .unify()
                .or(log)
                .unify(),
        )
        .recover(recover_internal)
        .unify()
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
