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

/// Names one [`Output::Buy`] for the life of a node, so that its outcome is matched with its
/// batch: an outcome that arrives after its leadership ended, or after the same replica leads
/// again, must not be taken for a later batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuyId(pub u64);

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

/// Something the driver must do, once the writes of the step that produced it are flushed, but
/// for the outputs that [`Output::leaves_before_flush`] names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Answer the request behind `tag`.
    Reply { tag: Tag, reply: Result<Reply> },
    /// Send `request` to peer `to`; its answer goes to `Node::on_answer` with `call`.
    Send {
        to: ReplicaId,
        request: Request,
        call: Call,
        /// It may leave before this step's flush ([`Output::leaves_before_flush`]).
        early: bool,
    },
    /// Buy these from the catalog (idempotent by request id); the outcome goes to
    /// `Node::on_bought` with `id`. At most `Node::buys_out` batches are out at a time.
    Buy { id: BuyId, batch: Vec<BuyRequest> },
    /// The log's storage failed: stop the process without answering anything more.
    Halt { error: Error },
}

impl Output {
    /// Whether the driver may carry this out before the flush of the step that produced it,
    /// instead of after, so that the flush and the call overlap.
    ///
    /// - A catalog buy carries only requests in no log yet and says nothing of what the step
    ///   wrote: a crash before the flush leaves what a crash while a buy is out leaves too.
    /// - A leader's append may leave before the leader's own copy of its entries is on disk:
    ///   the leader counts itself towards a commit only up to what it has flushed
    ///   ([`crate::Node::on_flushed`]), so an entry still commits only once a majority holds it
    ///   on disk. Appends of a takeover not yet flushed wait: until then the leadership itself
    ///   may not survive a crash.
    ///
    /// Everything else waits: replies promise what is on disk, and a prepare must not leave
    /// before the grant it asks others to match is durable here.
    pub fn leaves_before_flush(&self) -> bool {
        match self {
            Output::Buy { .. } => true,
            Output::Send {
                request: Request::Append(_),
                early,
                ..
            } => *early,
            _ => false,
        }
    }
}

/// The catalog's answer to a [`Output::Buy`]: one outcome per request, in order.
pub type BuyOutcome = Result<Vec<Result<BuyReceipt>>>;
