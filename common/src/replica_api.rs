//! The order replica's internal API in one place: its routes, and a typed client for it. The
//! replica's server mounts these paths; frontends, peers and tools call them through
//! [`ReplicaClient`], so a path, a query string and a body shape exist once.

use std::time::Duration;

use crate::error::Result;
use crate::http::Peer;
use crate::types::OrderNumber;
use crate::wire::{
    AppendReply, AppendRequest, Health, LeaderNotice, LogPage, LogQuery, PlaceRequest, Placed,
    Prepare, Promise,
};
use crate::OrderEntry;

/// `GET`: the replica's [`Health`].
pub const HEALTH: &str = "/internal/health";
/// `POST` [`LeaderNotice`] → [`Health`].
pub const LEADER: &str = "/internal/leader";
/// `POST` [`PlaceRequest`] → [`Placed`] (leader only).
pub const PLACE: &str = "/internal/place";
/// `POST` `[PlaceRequest]` → one `Result<Placed>` per request, in order (leader only): what a
/// frontend sends when many clients order at once, so an order costs no HTTP request of its own
/// between frontend and leader. Each request is placed exactly as a `place` of its own.
pub const PLACE_BATCH: &str = "/internal/place_batch";
/// Most requests in one `place_batch`.
pub const MAX_PLACE_BATCH: usize = 1024;
/// `GET /internal/orders/{n}` → [`OrderEntry`] (leader only).
pub const ORDERS: &str = "/internal/orders";
/// `POST` [`Prepare`] → [`Promise`] (candidate to peer).
pub const PREPARE: &str = "/internal/prepare";
/// `POST` [`AppendRequest`] → [`AppendReply`] (leader to follower).
pub const APPEND: &str = "/internal/append";
/// `GET ?from=N&limit=M` → [`LogPage`].
pub const LOG: &str = "/internal/log";

/// How long a health check may take before the replica counts as down.
pub const HEALTH_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a `place` may take: the leader answers once a majority has flushed the order.
pub const PLACE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long reading one order may take (a read index waits for a heartbeat round).
pub const ORDER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a candidate may take to answer its notice: it reads a majority first.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an append or a prepare may take.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a page of the log may take: up to [`MAX_LOG_PAGE`](crate::wire::MAX_LOG_PAGE)
/// entries, read and encoded (seconds in a debug build).
pub const LOG_TIMEOUT: Duration = Duration::from_secs(10);

/// A typed client for one replica's internal API.
#[derive(Clone, Debug)]
pub struct ReplicaClient {
    peer: Peer,
}

impl ReplicaClient {
    pub fn new(peer: Peer) -> ReplicaClient {
        ReplicaClient { peer }
    }

    /// The replica's base URL.
    pub fn base(&self) -> &str {
        self.peer.base()
    }

    pub async fn health(&self) -> Result<Health> {
        self.peer.get(HEALTH, HEALTH_TIMEOUT).await
    }

    pub async fn leader(&self, notice: &LeaderNotice) -> Result<Health> {
        self.peer.post(LEADER, notice, LEADER_TIMEOUT).await
    }

    pub async fn place(&self, request: &PlaceRequest) -> Result<Placed> {
        self.peer.post(PLACE, request, PLACE_TIMEOUT).await
    }

    /// The outcome of each request of `batch`, in order. The outer error is the call's (the
    /// replica unreachable); an inner one is that request's own answer.
    pub async fn place_batch(&self, batch: &[PlaceRequest]) -> Result<Vec<Result<Placed>>> {
        self.peer.post(PLACE_BATCH, batch, PLACE_TIMEOUT).await
    }

    pub async fn order(&self, number: OrderNumber) -> Result<OrderEntry> {
        self.peer
            .get(&format!("{ORDERS}/{number}"), ORDER_TIMEOUT)
            .await
    }

    pub async fn prepare(&self, prepare: &Prepare) -> Result<Promise> {
        self.peer.post(PREPARE, prepare, PEER_TIMEOUT).await
    }

    pub async fn append(&self, append: &AppendRequest) -> Result<AppendReply> {
        self.peer.post(APPEND, append, PEER_TIMEOUT).await
    }

    pub async fn log(&self, query: &LogQuery) -> Result<LogPage> {
        let path = format!("{LOG}?from={}&limit={}", query.from, query.limit);
        self.peer.get(&path, LOG_TIMEOUT).await
    }
}
