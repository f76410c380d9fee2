//! Messages of the internal APIs (JSON bodies). docs/protocol.md documents each call.

use serde::{Deserialize, Serialize};

use crate::types::{Epoch, OrderEntry, OrderNumber, ReplicaId, RequestId, Version};

/// Header that carries the cluster token on every internal request.
pub const TOKEN_HEADER: &str = "x-cluster-token";

// ---- catalog ----

/// `POST /internal/buy`: take `quantity` of `name`, once per `request_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyRequest {
    pub request_id: RequestId,
    pub name: String,
    pub quantity: u32,
}

/// A successful buy: the product's version and quantity after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyReceipt {
    pub version: Version,
    pub remaining: u32,
}

/// `GET /internal/stats` of the catalog: how often it was asked, so tests can see cache hits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogStats {
    pub product_reads: u64,
    pub buys: u64,
    pub restocks: u64,
}

// ---- frontend ----

/// `POST /internal/invalidate`: the product changed; versions below `version` are stale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    pub name: String,
    pub version: Version,
}

// ---- order replica ----

/// What a replica is doing in its current epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Catching up after a start, not yet ready.
    Recovering,
    /// Following the leader of its epoch (or waiting for one).
    Follower,
    /// Leading its epoch, taking over (pulling from peers) until `ready`.
    Leader,
}

/// `GET /internal/health` of a replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub id: ReplicaId,
    pub epoch: Epoch,
    pub role: Role,
    /// Leader of `epoch`, when known.
    pub leader: Option<ReplicaId>,
    /// Last number in the local log.
    pub last: Option<OrderNumber>,
    /// Highest number known committed.
    pub commit: Option<OrderNumber>,
    /// Caught up after start and able to serve (and to lead if chosen).
    pub ready: bool,
}

/// `POST /internal/leader`: replica `id` leads `epoch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderNotice {
    pub id: ReplicaId,
    pub epoch: Epoch,
}

/// `POST /internal/place` (leader only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceRequest {
    pub request_id: RequestId,
    pub name: String,
    pub quantity: u32,
}

/// The number a placed (committed) order got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    pub number: OrderNumber,
}

/// `POST /internal/append` (leader to follower).
///
/// `entries` are consecutive and start at `prev + 1` (at 0 when `prev` is `None`). The follower
/// takes them only if it holds everything up to `prev` as the leader has it; otherwise it answers
/// with how far it does, and the leader resends from there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendRequest {
    pub epoch: Epoch,
    pub leader: ReplicaId,
    pub prev: Option<OrderNumber>,
    pub entries: Vec<OrderEntry>,
    /// The leader's last number: a follower drops older-epoch entries past it (a dead leader's
    /// uncommitted tail).
    pub last: Option<OrderNumber>,
    pub commit: Option<OrderNumber>,
}

/// Answer to [`AppendRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendReply {
    /// Whether the entries were taken and flushed.
    pub ok: bool,
    /// Last number the follower holds as this epoch's leader has it; resend after it.
    pub synced: Option<OrderNumber>,
}

/// `GET /internal/log?from=N&limit=M`: a range scan of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub from: OrderNumber,
    #[serde(default = "default_page")]
    pub limit: usize,
    /// Fencing read: a new leader of this epoch is reading; the replica adopts the epoch first, so
    /// an older leader can no longer commit behind the reader's back.
    #[serde(default)]
    pub epoch: Option<Epoch>,
    /// The leader doing the fencing read.
    #[serde(default)]
    pub leader: Option<ReplicaId>,
}

/// Entries of a range scan, and the replica's position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<OrderEntry>,
    /// Highest epoch the replica has seen.
    pub epoch: Epoch,
    /// Epoch of the leader whose log this replica's log is a copy of.
    pub log_epoch: Epoch,
    pub last: Option<OrderNumber>,
    pub commit: Option<OrderNumber>,
}

/// Largest page a range scan returns.
pub const MAX_LOG_PAGE: usize = 10_000;

fn default_page() -> usize {
    1000
}
