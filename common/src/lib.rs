//! Shared vocabulary of the toy store: the domain types (products, order entries, ids), the wire
//! messages of every internal API, the one error type that crosses the wire and maps to an HTTP
//! status in one place, the storage encoding (bincode 2 with a leading format-version byte), the
//! cluster configuration, logging set-up, naming the holder of a locked sled database
//! ([`db_lock`]), and the small HTTP plumbing every service shares (the cluster-token filter, JSON
//! replies, the internal client, the server loop with shutdown), what every service exposes to
//! operators (Prometheus metrics and the `/health`, `/ready` and `/metrics` probes), and the
//! snake_case keys of the command line's JSON reports.
//!
//! Invariants kept here:
//! - Every value written to sled or sent as a bincode body starts with a format byte: this
//!   encoding's [`encoding::FORMAT_VERSION`], or, for the order log's entries, the compact
//!   format of `order::stored` (which reads this encoding's entries as its format 1); a value with
//!   an unknown leading byte is refused, never misread.
//! - Every internal request carries the cluster token; [`http::require_token`] answers 401 otherwise.
//! - Prices are integer cents ([`Cents`]); only the public API shows them as decimals.
//!
//! Deliberately left out: any service logic. This crate knows shapes, not behaviour.

pub mod catalog_api;
pub mod config;
pub mod db_lock;
pub mod encoding;
pub mod error;
pub mod file_error;
pub mod frontend_api;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod path;
pub mod probes;
pub mod public_api;
pub mod replica_api;
pub mod report_keys;
pub mod shutdown;
pub mod sync;
pub mod types;
pub mod wire;

pub use config::{ClusterConfig, ConfigError};
pub use error::{Error, Result};
pub use file_error::FileError;
pub use shutdown::Shutdown;
pub use types::*;
