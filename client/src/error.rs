//! What can go wrong with a request to the store, as a client sees it.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// The failure of one [`StoreClient`](crate::StoreClient) call, by kind.
///
/// The kinds follow the public API's error contract: the store's own refusals (`NotFound`,
/// `OutOfStock`, `BadRequest`, `Unavailable`) are told apart from failures to reach it at all
/// (`Transport`) and from answers that do not follow the contract (`Unexpected`).
///
/// In JSON it is `{"kind": "transport", "message": "transport: connection refused"}`: the
/// [`kind`](ClientError::kind) and the whole message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// 404 with the store's error body: no such toy, or no such order.
    #[error("not found")]
    NotFound,
    /// 400 "out of stock": the toy has fewer items than asked for. Nothing was ordered.
    #[error("out of stock")]
    OutOfStock,
    /// Any other 400: the request was malformed; the store's message says how.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 503: the catalog or a majority of order replicas is unreachable; retrying later may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No answer: connection refused or reset, timeout, unreadable body.
    #[error("transport: {0}")]
    Transport(String),
    /// An answer outside the API contract (another status, a body of another shape).
    #[error("unexpected answer {status}: {body}")]
    Unexpected {
        /// The HTTP status received.
        status: u16,
        /// The body received, cut to [`MAX_BODY_IN_ERROR`] bytes.
        body: String,
    },
}

impl Serialize for ClientError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("ClientError", 2)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("message", &self.to_string())?;
        out.end()
    }
}

/// How much of an unexpected body an error keeps.
pub const MAX_BODY_IN_ERROR: usize = 512;

impl ClientError {
    /// Whether the same request may succeed if sent again: the store was unreachable or said so
    /// itself. A buy retried after such an error must reuse its idempotency key.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ClientError::Transport(_) | ClientError::Unavailable(_)
        )
    }

    /// A short, stable name of the kind, for tables and JSON (`"not_found"`, `"transport"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::NotFound => "not_found",
            ClientError::OutOfStock => "out_of_stock",
            ClientError::BadRequest(_) => "bad_request",
            ClientError::Unavailable(_) => "unavailable",
            ClientError::Transport(_) => "transport",
            ClientError::Unexpected { .. } => "unexpected",
        }
    }

    /// An [`Unexpected`](ClientError::Unexpected) error, keeping at most
    /// [`MAX_BODY_IN_ERROR`] bytes of the body.
    pub(crate) fn unexpected(status: u16, body: &str) -> ClientError {
        let mut end = body.len().min(MAX_BODY_IN_ERROR);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        ClientError::Unexpected {
            status,
            body: body[..end].to_string(),
        }
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        // The chain of sources says *why* (connection refused, timed out), not just "error
        // sending request".
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ClientError::Transport(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unexpected_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(MAX_BODY_IN_ERROR);
        match ClientError::unexpected(500, &body) {
            ClientError::Unexpected { status, body } => {
                assert_eq!(status, 500);
                assert!(body.len() <= MAX_BODY_IN_ERROR, "{}", body.len());
                assert!(body.chars().all(|c| c == 'é'));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_unreachable_stores_are_retryable() {
        assert!(ClientError::Transport("reset".into()).is_retryable());
        assert!(ClientError::Unavailable("no majority".into()).is_retryable());
        assert!(!ClientError::OutOfStock.is_retryable());
        assert!(!ClientError::NotFound.is_retryable());
        assert!(!ClientError::BadRequest("quantity".into()).is_retryable());
    }
}
