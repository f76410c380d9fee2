//! Why a frontend cannot start. Request failures are the store's one [`common::Error`]; these are
//! the failures of the process itself.

use common::http::BindError;
use common::{ConfigError, FrontendId};

/// Why a frontend could not start.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("frontend {id}: cannot read a listener's address: {source}")]
    Address {
        id: FrontendId,
        #[source]
        source: std::io::Error,
    },
}
