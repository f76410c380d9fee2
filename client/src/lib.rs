//! The client side of the store.
//!
//! - [`StoreClient`] (`rest`): a typed async client of the public REST API, whose
//!   [`ClientError`] tells "not found", "out of stock", "bad request", "unavailable" and
//!   transport failures apart.
//! - [`load`]: concurrent load sessions that record every acknowledged order and verify them all
//!   at the end; `toystore client` and the crash drill run them.
//! - [`eval`]: the evaluation behind `toystore eval`: latency against the buy probability with
//!   the cache on and off, cache hit ratio, cache replacement over time, and failover under load,
//!   written as a Markdown report with PNG plots.
//! - [`cluster`]: a local-cluster launcher that starts and breaks real `toystore` processes, used
//!   by `up`, drills, the evaluation and the tests.
//!
//! Invariants: a [`cluster::LocalCluster`] only ever signals processes it started itself, by pid,
//! and kills them all when dropped; [`load::verify`] reports every acknowledged order that the
//! store does not hold as acknowledged.

pub mod cluster;
pub mod error;
pub mod eval;
pub mod load;
pub mod rest;

pub use cluster::{ClusterOptions, LocalCluster, Output, Service};
pub use error::ClientError;
pub use rest::{Order, Product, StoreClient};
