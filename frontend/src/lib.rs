//! The frontend: the only service clients talk to. It serves the public REST API (warp), answers
//! product queries from an in-memory cache (quick_cache, S3-FIFO) in front of the catalog,
//! forwards orders to the order-replica leader, elects a new leader when that one dies, and
//! retries with the same request id, so a client sees a replica crash only as a slower reply.
//!
//! Invariants kept here:
//! - Freshness: once the catalog's invalidation for `(name, version)` has arrived, no product
//!   older than `version` is served from or put into the cache; after this frontend's own order
//!   of a toy, no fill whose catalog read began before it gets in; and whatever was lost, a
//!   cached product is served for at most `CACHE_TTL` (2 s) after its catalog read (`cache.rs`).
//! - A non-deterministic failure (not leader, stale epoch, unreachable, storage) never reaches the
//!   client while retries last; only a deterministic answer (not found, out of stock, bad
//!   request) or the final 503 does. Every retry of an order resends the same request id, so it
//!   is placed at most once (`leader.rs`).
//! - The leader is the `protocol::Elector`'s choice (`leader.rs` drives it): a live leader is
//!   followed, never proposed over, so several frontends settle on the same one; a proposal
//!   carries an epoch above any a replica has seen or this frontend has used.
//! - Every public error has the body `{"error": {"code", "message"}}`; every 503 carries
//!   `Retry-After` (`api.rs`, through `common::probes`).
//! - `/ready` is 200 only while the catalog and a majority of the order replicas answer with this
//!   frontend's token; a refused token is named as such (`readiness.rs`).
//!
//! Deliberately left out: negative caching of unknown toys, TLS and client authentication on the
//! public port, and request-rate limits. Several frontends need no coordination of their own:
//! each follows the leader the replicas report.

mod api;
mod batcher;
mod cache;
mod catalog;
mod error;
mod input;
mod internal;
mod leader;
mod metrics;
mod readiness;
mod server;

pub use error::FrontendError;
pub use server::run;
