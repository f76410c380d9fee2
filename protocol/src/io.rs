//! What goes into a node and what comes out of it. The driver turns HTTP requests into
//! [`Request`]s, hands peers' answers back with the [`Call`] it was given, and carries out every
//! [`Output`] once the step's writes are flushed.

use common::wire::{
    AppendReply, AppendRequest, BuyReceipt, BuyRequest, Health, LeaderNotice, LogPage, LogQuery,
    PlaceRequest, Placed, Prepare, Promise,
};
use common::{Epoch, Error, OrderEntry, OrderNumber, ReplicaId, Result};

/// The driver's handle on one inbound request: the node answers it with [`Output::Reply`],
/// at once or later (a `place` waits for its commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u64);

/// A request to a replica, from a frontend or from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `GET /internal/health`.
    Health,
    /// `POST /internal/leader`: a frontend proposes `id` for `epoch`.
    Leader(LeaderNotice),
    /// `POST /internal/place` (leader only).
    Place(PlaceRequest),
    /// `GET /internal/orders/{n}` (leader only).
    Get(OrderNumber),
    /// `POST /internal/prepare` (candidate to peer).
    Prepare(Prepare),
    /// `POST /internal/append` (leader to follower).
    Append(AppendRequest),
    /// `GET /internal/log`: a range scan.
    Log(LogQuery),
}

/// A successful answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Health(Health),
    Placed(Placed),
    Order(OrderEntry),
    Promise(Promise),
    Appended(AppendReply),
    Page(LogPage),
}

/// What a request to a peer was, handed back with its answer so the node knows what the answer
/// (or the failure) is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Prepare { epoch: Epoch },
    Append { epoch: Epoch },
    Log { from: u64 },
}

/// Something the driver must do, once the writes of the step that produced it are flushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Answer the request behind `tag`.
    Reply { tag: Tag, reply: Result<Reply> },
    /// Send `request` to peer `to`; its answer goes to `Node::on_answer` with `call`.
    Send {
        to: ReplicaId,
        request: Request,
        call: Call,
    },
    /// Buy these from the catalog (idempotent by request id); the outcome goes to
    /// `Node::on_bought`. At most one batch is out at a time.
    Buy { batch: Vec<BuyRequest> },
    /// The log's storage failed: stop the process without answering anything more.
    Halt { error: Error },
}

/// The catalog's answer to a [`Output::Buy`]: one outcome per request, in order.
pub type BuyOutcome = Result<Vec<Result<BuyReceipt>>>;
