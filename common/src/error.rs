//! The one error type of the store. It crosses the wire as JSON on internal APIs and maps to an
//! HTTP status in [`Error::status`], so every service answers the same failure the same way.

use serde::{Deserialize, Serialize};

use crate::types::{Epoch, ReplicaId};

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a service can answer with, grouped by kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Error {
    /// The named thing does not exist ("product not found", "order not found").
    #[error("{0}")]
    NotFound(String),
    /// Not enough stock for the quantity asked.
    #[error("out of stock")]
    OutOfStock,
    /// The request itself is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The request body is not sent as `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Missing or wrong cluster token on an internal API.
    #[error("missing or wrong cluster token")]
    Unauthorized,
    /// A credential header on the public API that cannot be a credential (bytes that are not
    /// visible ASCII); the message names the header.
    #[error("{0}")]
    BadCredentials(String),
    /// A dependency is down or there is no majority; retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// This order replica does not lead the current epoch (or is not ready to).
    #[error("not leader (leader is {leader:?})")]
    NotLeader { leader: Option<ReplicaId> },
    /// This replica granted `epoch` to another leader; a replica grants an epoch to one leader only.
    #[error("epoch {epoch} is granted to replica {leader}")]
    EpochTaken { epoch: Epoch, leader: ReplicaId },
    /// The same idempotency key came with a different order.
    #[error("this Idempotency-Key was already used for a different order")]
    IdempotencyConflict,
    /// A message from an epoch older than the one this replica has seen.
    #[error("stale epoch {got}: replica is at epoch {current}")]
    StaleEpoch { got: Epoch, current: Epoch },
    /// The local database failed. A replica that hits this stops serving rather than diverge.
    #[error("storage: {0}")]
    Storage(String),
    /// A bug or an unexpected answer.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::OutOfStock | Error::BadRequest(_) => 400,
            Error::Unauthorized | Error::BadCredentials(_) => 401,
            Error::RequestTimeout(_) => 408,
            Error::UnsupportedMediaType(_) => 415,
            Error::MethodNotAllowed => 405,
            Error::NotLeader { .. } | Error::StaleEpoch { .. } | Error::EpochTaken { .. } => 409,
            Error::IdempotencyConflict => 422,
            Error::PayloadTooLarge(_) => 413,
            Error::Unavailable(_) => 503,
            Error::Storage(_) | Error::Internal(_) => 500,
        }
    }

    /// Whether every replica would answer this request the same way (so it can go back to the
    /// client), as opposed to a failure of this replica or its links (so it must be retried
    /// elsewhere and never be taken as an answer).
    pub fn is_deterministic(&self) -> bool {
        matches!(
            self,
            Error::NotFound(_)
                | Error::OutOfStock
                | Error::BadRequest(_)
                | Error::PayloadTooLarge(_)
                | Error::UnsupportedMediaType(_)
                | Error::IdempotencyConflict
        )
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

/// The public error body: `{"error": {"code": 404, "message": "product not found"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: u16,
    pub message: String,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: e.status(),
                message: e.to_string(),
            },
        }
    }
}
