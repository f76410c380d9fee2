//! Why an order replica cannot start or stopped with a failure. Request failures are the store's
//! one [`common::Error`]; these are the failures of the process itself.

use common::http::BindError;
use common::{ConfigError, ReplicaId};

/// Why an order replica could not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The log cannot be opened or read at start.
    #[error("order replica {id}: {source}")]
    Log {
        id: ReplicaId,
        #[source]
        source: common::Error,
    },
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("order replica {id}: the driver task failed: {source}")]
    Driver {
        id: ReplicaId,
        #[source]
        source: tokio::task::JoinError,
    },
}
