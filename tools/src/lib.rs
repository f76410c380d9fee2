//! The store's tools: everything that drives a running store from outside, as a user, a tester
//! or an operator would. Each module is one job:
//!
//! - [`load`]: concurrent load sessions that record every acknowledged order and verify them all
//!   at the end (`toystore client`, and the load of every other tool).
//! - [`bench`]: durable orders per second and order latency at several concurrencies
//!   (`toystore bench`).
//! - [`eval`]: latency against the buy probability with the cache on and off, cache hit ratio,
//!   cache replacement and failover, written as a Markdown report with PNG plots
//!   (`toystore eval`).
//! - [`drill`]: crash-and-restart drills under verified load (`toystore drill`).
//!
//! Every tool that needs a cluster of its own starts it through [`supervisor::LocalCluster`].
//!
//! Invariants: every run is bounded in time and count and stops by itself; traffic goes only to
//! the addresses of the cluster file it was given (loopback for a cluster of its own); processes
//! are signalled only when the tool started them; [`load::verify`] reports every acknowledged
//! order that the store does not hold as acknowledged.

pub mod bench;
pub mod drill;
mod error;
pub mod eval;
pub mod load;
mod machine;

pub use error::ToolError;
