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
            internal_reply(r.on_leader_notice(notice).await)
        });
    let place = warp::path!("internal" / "place")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::json())
        .and(with())
        .then(|request: PlaceRequest, r: Arc<Replica>| async move {
            internal_reply(replication::place(&r, request).await)
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
            internal_reply(r.append(request).await)
        });
    let log =
        warp::path!("internal" / "log")
            .and(warp::get())
            .and(warp::query::<LogQuery>())
            .and(with())
            .then(|query: LogQuery, r: Arc<Replica>| async move {
                internal_reply(r.log_page(query).await)
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
