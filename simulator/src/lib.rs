//! A deterministic simulator of the order protocol. It runs the real [`protocol::Node`] of every
//! replica and the real [`protocol::Elector`] of every frontend in one thread, over a simulated
//! network (loss, delay, reordering, duplication, partitions: symmetric, one-way, a leader cut off
//! from its followers) and simulated disks (a crash loses every write not yet flushed; disks can be
//! slow), with timers that drift, a catalog model with idempotent buys, and clients that place
//! orders with idempotency keys, retry them, and read them back through any frontend.
//!
//! All randomness comes from one seeded generator ([`rng::Rng`]); the same seed gives the same run,
//! event for event (a digest of the trace is reported so this can be checked). After every event
//! the invariants of `protocol` are checked (see `checks.rs`); once the faults heal, every
//! pending request must complete and every replica's log must become identical.
//!
//! What it models of the frontend is its forwarding and retry loop around the real elector; what
//! it leaves to the process tests is everything below the protocol: sled, HTTP, the OS.

mod actors;
mod batch;
mod checks;
mod client;
mod config;
mod events;
mod faults;
mod frontend;
mod inject;
mod replica;
pub mod rng;
mod verdict;
mod world;

pub use batch::run_seeds;
pub use config::{run, Config, Report, Violation};
