//! Messages of the internal APIs (JSON bodies). docs/protocol.md documents each call.

use serde::{Deserialize, Serialize};

use crate::types::{Epoch, OrderEntry, OrderNumber, ReplicaId, RequestId, Version};

/// Header that carries the cluster token on every internal request.
pub const TOKEN_HEADER: &str = "x-cluster-token";

// ---- catalog ----

/// `POST /internal/buy` (and each element of a `POST /internal/buy_batch`): take `quantity` of
/// `name`, once per `request_id`.
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

/// `GET /internal/health` of the catalog: it answers only once its store is open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogReady {
    pub ready: bool,
}

// ---- frontend ----

/// `GET /internal/cache` of a frontend: the keys in its cache, sorted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKeys {
    pub keys: Vec<String>,
}

/// The empty answer `{}` of a call that only needs to be acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {}

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
    /// Chosen for its epoch, taking over: reading a majority's logs before it leads.
    Candidate,
    /// Leading its epoch.
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
    /// Entries in the local log: numbers `0..len`.
    pub len: u64,
    /// Entries `0..commit_len` are known committed.
    pub commit_len: u64,
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

/// `POST /internal/prepare` (candidate to peer): the fencing read of a takeover. The peer grants
/// `epoch` to `leader` (durably, and to that leader only) and answers with its log from `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepare {
    pub epoch: Epoch,
    pub leader: ReplicaId,
    /// The candidate's commit length: entries before it are committed and equal everywhere.
    pub from: u64,
}

/// Answer to [`Prepare`]: the epoch is granted, and here is the log past `from` (at most
/// [`MAX_LOG_PAGE`] entries; `len` says how long it really is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub epoch: Epoch,
    /// Epoch of the leader whose log this one is a copy of.
    pub log_epoch: Epoch,
    pub len: u64,
    pub commit_len: u64,
    pub from: u64,
    pub entries: Vec<OrderEntry>,
}

/// `POST /internal/append` (leader to follower).
///
/// `entries` are consecutive, start at number `from`, and run to the leader's last entry: an
/// append always carries the leader's whole suffix past `from`, so a follower that takes it holds
/// the leader's log. The follower takes it only if it holds `0..from` as this epoch's leader has
/// it; otherwise it answers with how far it does, and the leader resends from there. An append
/// with no entries and `from` at the leader's end is a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendRequest {
    pub epoch: Epoch,
    pub leader: ReplicaId,
    pub from: u64,
    pub entries: Vec<OrderEntry>,
    /// Entries `0..commit_len` are committed.
    pub commit_len: u64,
    /// The leader's heartbeat round, echoed back: a read waits for a majority to echo a round
    /// begun after it arrived (the read index).
    pub round: u64,
}

impl AppendRequest {
    /// The leader's log length when it sent this append.
    ///
    /// # Errors
    /// `from` plus the entry count overflows.
    pub fn leader_len(&self) -> crate::Result<u64> {
        self.from
            .checked_add(self.entries.len() as u64)
            .filter(|&len| len <= crate::types::MAX_LOG_LEN)
            .ok_or_else(|| crate::Error::BadRequest(format!("append from {} overflows", self.from)))
    }
}

/// Answer to [`AppendRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendReply {
    pub epoch: Epoch,
    /// Whether the entries were taken and flushed.
    pub ok: bool,
    /// Entries `0..synced_len` are held as this epoch's leader has them; resend from there.
    pub synced_len: u64,
    /// The round of the append this answers.
    pub round: u64,
    /// The follower is still catching up from its peers' logs after a restart and takes no
    /// entries until it is done: send it heartbeats only, not the whole suffix it lacks again.
    #[serde(default)]
    pub recovering: bool,
}

/// `GET /internal/log?from=N&limit=M`: a range scan of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub from: OrderNumber,
    #[serde(default = "default_page")]
    pub limit: usize,
}

/// Entries of a range scan, and the replica's position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<OrderEntry>,
    /// Highest epoch the replica has seen.
    pub epoch: Epoch,
    /// Epoch of the leader whose log this replica's log is a copy of.
    pub log_epoch: Epoch,
    /// Entries in the replica's log: numbers `0..len`.
    pub len: u64,
    /// Entries `0..commit_len` are known committed.
    pub commit_len: u64,
}

/// Largest page a range scan returns.
pub const MAX_LOG_PAGE: usize = 10_000;

fn default_page() -> usize {
    1000
}
