//! Load sessions with verification: the engine of `toystore client`, the evaluation and the
//! crash drill.
//!
//! A run ([`run_load`]) starts [`LoadConfig::sessions`] concurrent sessions. Each repeats one
//! step: query a random toy; if it is in stock, buy 1..=`max_quantity` of it with probability
//! `p`. Every acknowledged order is recorded as an [`AckedOrder`], every failed request as a
//! [`RequestFailure`], every latency in an hdrhistogram per [`RequestKind`] and in a timeline.
//! [`verify`] then reads every acknowledged order back and compares it. With several frontends,
//! [`run_load_spread`] spreads the sessions over them round-robin and [`verify_across`] reads
//! each order back through a different frontend than the one that acknowledged it.
//!
//! What holds:
//! - An order is recorded only once the store acknowledged it, with the toy and quantity the
//!   session asked for: a [`Mismatch`] is a lost or altered acknowledged order.
//! - Every buy carries its own idempotency key, and only retries of that buy reuse it, so a
//!   retry after a transport failure cannot order twice.
//! - Out-of-stock refusals are the store's correct answer to a race between sessions (the stock
//!   was read before another session bought it); they are counted apart from errors.
//!
//! - A session that gets a connection error backs off (doubling, up to [`BACKOFF_MAX`]) before
//!   its next request, so an outage does not turn into a flood of failed requests.
//!
//! Left out: think time between steps (sessions run closed-loop, as fast as answers come, or as
//! [`LoadConfig::rate`] allows buys), and
//! skewed toy popularity (toys are picked uniformly).

mod config;
mod pacing;
mod session;
mod stats;
mod verify;

pub use config::{
    toy_names, LoadConfig, RequestKind, DEFAULT_ITERATIONS, DEFAULT_MAX_QUANTITY, DEFAULT_P,
    DEFAULT_SESSIONS,
};
pub use pacing::{Backoff, RateCap, BACKOFF_FIRST, BACKOFF_MAX};
pub use session::{
    run_load, run_load_spread, AckedOrder, LoadProgress, RequestFailure, BUY_ATTEMPTS,
    BUY_RETRY_PAUSE,
};
pub use stats::{new_histogram, table, KindSummary, LoadReport, Sample};
pub use verify::{
    verify, verify_across, LookupFailure, Mismatch, Verification, LOOKUP_ATTEMPTS,
    VERIFY_CONCURRENCY,
};
