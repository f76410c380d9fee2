//! The catalog service: the price and stock of every toy, kept in sled. It answers product
//! queries, takes stock for orders (`buy`, and `buy_batch` for the order leader's batches, both
//! idempotent by request id), refills sold-out toys every restock period, and pushes a cache
//! invalidation to every frontend after each stock change.
//!
//! Invariants:
//! - A request id takes stock at most once: checking and taking stock, recording the outcome
//!   under the request id and journaling the movement are one sled transaction, and a repeated
//!   `buy` gets its first outcome back.
//! - Nothing is answered before it is flushed: `buy` and restock flush before anyone hears of them,
//!   and a product read that may see an unflushed change flushes first. So every version anyone
//!   was shown is on disk, and a catalog restarted after `kill -9` never hands it out again.
//! - Every change of a toy's quantity bumps its version by one and appends a journal movement.
//! - Every frontend is sent the invalidation of a successful `buy` (or of every toy a
//!   `buy_batch` changed) before the call is answered.
//! - An invalidation a frontend did not acknowledge is resent in the background until it is
//!   (newest version per toy, with backoff); `buy` waits only for the first, short attempt.
//!
//! Deliberately left out: the backlog of unacknowledged invalidations lives in memory, so a
//! catalog restart forgets it (the frontends' cache time to live bounds what that costs); the
//! products file is read only on the first start (later edits are ignored); prices never change;
//! the catalog is a single instance, not replicated.

mod api;
mod error;
mod invalidate;
mod metrics;
mod products_file;
mod records;
mod restock;
mod server;
mod stock;

pub use error::{CatalogError, ProductsError, ProductsProblem};
pub use invalidate::{
    Invalidator, PushCounts, INVALIDATE_TIMEOUT, MAX_BACKLOG, RESEND_FIRST_DELAY, RESEND_MAX_DELAY,
    RESEND_TIMEOUT,
};
pub use records::{
    BuyOutcome, Movement, MovementKind, StockRecord, BUYS_TREE, FIRST_VERSION, JOURNAL_TREE,
    PRODUCTS_TREE,
};
pub use server::run;
pub use stock::StockStore;
