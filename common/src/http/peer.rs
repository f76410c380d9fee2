//! The client side of the internal APIs: one [`Peer`] per service a caller talks to.

use serde::{de::DeserializeOwned, Serialize};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::wire::TOKEN_HEADER;

/// A client for one peer's internal API: adds the token, decodes the [`Error`] of a failure, and
/// turns a transport failure into [`Error::Unavailable`].
#[derive(Clone, Debug)]
pub struct Peer {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Default time an internal call may take before the peer counts as unreachable.
pub const DEFAULT_PEER_TIMEOUT: Duration = Duration::from_secs(2);

impl Peer {
    /// A client for the peer at `addr`; `http` is shared so connections are pooled.
    pub fn new(http: reqwest::Client, addr: std::net::SocketAddr, token: &str) -> Peer {
        Peer {
            http,
            base: format!("http://{addr}"),
            token: token.into(),
        }
    }

    /// A connection-pooling HTTP client with the default timeouts, shared by a service's peers.
    pub fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .timeout(DEFAULT_PEER_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("a plain HTTP client always builds")
    }

    /// The peer's base URL (`http://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`.
    ///
    /// # Errors
    /// The peer's own error, or [`Error::Unavailable`] when it cannot be reached.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<T> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request, timeout).await
    }

    /// `POST path` with a JSON body.
    ///
    /// # Errors
    /// The peer's own error, or [`Error::Unavailable`] when it cannot be reached.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<T> {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(request, timeout).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<T> {
        let unreachable =
            |e: reqwest::Error| Error::Unavailable(format!("{} unreachable: {e}", self.base));
        let response = request
            .header(TOKEN_HEADER, &self.token)
            .timeout(timeout)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| {
                Error::Internal(format!("{} sent an undecodable answer: {e}", self.base))
            })
        } else {
            Err(serde_json::from_slice::<Error>(&bytes).unwrap_or_else(|_| {
                let text = format!(
                    "{} answered {status}: {}",
                    self.base,
                    String::from_utf8_lossy(&bytes)
                );
                // A listener at its connection limit answers 503 before reading the request.
                if status == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    Error::Unavailable(text)
                } else {
                    Error::Internal(text)
                }
            }))
        }
    }
}
