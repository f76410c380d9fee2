//! Inspecting the store's data directories, and the store's invariants as checks.
//!
//! `toystore inspect` reads the sled databases of stopped (or crashed) services: an order
//! replica's log and meta values, the catalog's toys and stock journal. It summarizes them, lists
//! them streamed, compares two replica logs, and checks a whole data root against the store's
//! invariants (agreement, density, exactly once, stock conservation, convergence; listed in
//! docs/operations.md) in [`checks`], which are plain functions over [`ReplicaSnapshot`] and
//! [`CatalogSnapshot`] so a crash drill runs the very same checks on snapshots it builds itself.
//!
//! Invariants:
//! - Read-only: never changes a byte of what it inspects. sled 0.34 cannot open read-only
//!   (opening recovers, which may write, and locks), so every directory is copied into a
//!   temporary directory and the copy is opened; the original is only opened for reading.
//! - A directory a running service holds is refused with a message naming the service (found
//!   without taking its lock), unless `force` asks to copy it anyway.
//! - Bad input (not a data directory, damaged data) is an [`InspectError`] with a clear message, never a
//!   panic.
//! - Digests are [`order::OrderLog::digest`]'s: FNV-1a over the log tree's keys and each entry's
//!   format-1 bytes, so a log has one digest whichever format (1 or 2, see [`order::stored`])
//!   stores its entries; both formats are read, and `diff` compares entries, not stored bytes.
//!
//! Deliberately left out: repairing anything, and reading the frontends' directories (they hold
//! only log files). `check` loads whole logs into memory; the listings and `diff` stream.

mod catalog;
pub mod checks;
mod datadir;
mod diff;
mod dirs;
mod error;
pub mod render;
mod replica;

pub use crate::catalog::{CatalogDir, CatalogSnapshot, CatalogSummary, Journal, ToyStock};
pub use crate::diff::{diff, LogDiff, LogSide};
pub use crate::dirs::{check_data_root, open, CheckReport, DataDir, HeldDir};
pub use crate::error::{Holder, InspectError, Result};
pub use crate::replica::{
    log_digest, Entries, ReplicaDir, ReplicaMeta, ReplicaSnapshot, ReplicaSummary,
};
pub use common::db_lock::Kind;

#[cfg(test)]
mod tests;
