//! The evaluation behind `toystore eval`: it starts its own local cluster and measures it.
//!
//! - **Sweep**: 5 client sessions for each buy probability p in 0, 0.2, 0.4, 0.6, 0.8, once with
//!   the frontend's cache on and once with it off; latency per request kind, cache hit ratio
//!   (from the frontend's `/metrics`), and every acknowledged order read back and verified.
//! - **Replacement**: a cache of half the catalog, queried in phases over different toys while
//!   its keys are listed (`GET /internal/cache`), showing S3-FIFO replacement at work.
//! - **Failover**: load during which the order leader is killed (SIGKILL) and restarted, every
//!   request's latency kept, every order verified.
//! - **Sell-out**: a second cluster whose toys start with little stock and never restock, and
//!   rounds of keyed and keyless buys of toys sold out or not; the latency of a refusal through
//!   the leader and catalog against one from the frontend's cache (the out-of-stock fast path).
//!
//! It writes `results.json` (every number), `report.md` (tables and observations computed from
//! those numbers) and PNG plots drawn with plotters. Text in the plots needs one TrueType font
//! file on the machine ([`plot::register_font`]); the evaluation checks for it before it starts.
//!
//! Left out: multiple frontends, other hosts than this one, and warm-up runs (each sweep run
//! starts from whatever the previous one left in the cache and stock).

mod failover;
pub mod observe;
pub mod plan;
pub mod plot;
mod probe;
mod replacement;
pub mod report;
pub mod results;
mod run;
mod sold_out;
mod sweep;

pub use plan::{EvalOptions, Plan};
pub use results::EvalResults;
pub use run::{run, write_report, REPORT_FILES};
