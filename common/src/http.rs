//! HTTP plumbing shared by every service: the cluster-token filter, JSON replies, mapping warp's
//! rejections to [`Error`], the server loop with graceful shutdown, and the internal client.

use serde::{de::DeserializeOwned, Serialize};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{Error, Result};
use crate::shutdown::Shutdown;
use crate::wire::TOKEN_HEADER;

/// Largest request body any service reads (the public API answers 413 above it).
pub const MAX_BODY_BYTES: u64 = 4096;

/// A warp rejection carrying the store's [`Error`].
#[derive(Debug)]
pub struct Rejected(pub Error);

impl warp::reject::Reject for Rejected {}

/// Rejects with `error`.
pub fn reject(error: Error) -> Rejection {
    warp::reject::custom(Rejected(error))
}

/// The warp path of one of the `*_api` modules' `/internal/{name}` constants, so a server mounts
/// exactly the path its clients call. Matches the path's segments only: add
/// `warp::path::end()` or a parameter, then the method.
pub fn internal_path(path: &'static str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    let name = path
        .strip_prefix("/internal/")
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .unwrap_or_else(|| panic!("{path:?} is not an /internal/{{name}} route"));
    warp::path("internal").and(warp::path(name))
}

/// `GET` on `path` exactly.
pub fn internal_get(path: &'static str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    internal_path(path).and(warp::path::end()).and(warp::get())
}

/// `POST` on `path` exactly, with a JSON body of at most `limit` bytes.
pub fn internal_post<T: DeserializeOwned + Send>(
    path: &'static str,
    limit: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    internal_path(path)
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::body::content_length_limit(limit))
        .and(warp::body::json())
}

/// Passes only requests that carry the cluster token; answers 401 otherwise.
pub fn require_token(token: &str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    let token: Arc<str> = token.into();
    warp::header::optional::<String>(TOKEN_HEADER)
        .and_then(move |got: Option<String>| {
            let ok = got.is_some_and(|got| constant_time_eq(got.as_bytes(), token.as_bytes()));
            async move {
                if ok {
                    Ok(())
                } else {
                    Err(reject(Error::Unauthorized))
                }
            }
        })
        .untuple_one()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The HTTP status of an error.
pub fn status_of(error: &Error) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An internal reply: the value as JSON with 200, or the [`Error`] itself as JSON with its status.
pub fn internal_reply<T: Serialize>(result: Result<T>) -> Response {
    match result {
        Ok(value) => warp::reply::json(&value).into_response(),
        Err(error) => {
            warp::reply::with_status(warp::reply::json(&error), status_of(&error)).into_response()
        }
    }
}

/// What a rejection means, as the store's [`Error`].
pub fn rejection_error(rejection: &Rejection) -> Error {
    use warp::reject::{
        InvalidHeader, InvalidQuery, LengthRequired, MethodNotAllowed, MissingHeader,
        PayloadTooLarge, UnsupportedMediaType,
    };
    if let Some(Rejected(error)) = rejection.find() {
        error.clone()
    } else if rejection.is_not_found() {
        Error::NotFound("not found".into())
    } else if rejection.find::<MethodNotAllowed>().is_some() {
        Error::MethodNotAllowed
    } else if rejection.find::<PayloadTooLarge>().is_some() {
        Error::PayloadTooLarge(format!("request body over {MAX_BODY_BYTES} bytes"))
    } else if let Some(e) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        Error::BadRequest(format!("malformed body: {e}"))
    } else if rejection.find::<InvalidQuery>().is_some() {
        Error::BadRequest("invalid query string".into())
    } else if rejection.find::<LengthRequired>().is_some() {
        Error::BadRequest("a content-length header is required".into())
    } else if rejection.find::<UnsupportedMediaType>().is_some() {
        Error::BadRequest("unsupported content type: send application/json".into())
    } else if let Some(e) = rejection.find::<MissingHeader>() {
        Error::BadRequest(e.to_string())
    } else if let Some(e) = rejection.find::<InvalidHeader>() {
        Error::BadRequest(e.to_string())
    } else {
        Error::Internal(format!("unhandled rejection: {rejection:?}"))
    }
}

/// `recover` handler for internal listeners: every rejection becomes a JSON [`Error`].
pub async fn recover_internal(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(internal_reply::<()>(Err(rejection_error(&rejection))))
}

/// Binds a listener, with a clear error naming what failed to bind.
///
/// # Errors
/// The address is in use or not local.
pub async fn bind(addr: std::net::SocketAddr, what: &str) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|source| BindError {
        what: what.to_string(),
        addr,
        source,
    })
}

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for {what} on {addr}: {source}")]
pub struct BindError {
    pub what: String,
    pub addr: std::net::SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Serves `routes` on `listener` until `shutdown`, then lets in-flight requests finish.
pub async fn serve<F, T>(routes: F, listener: TcpListener, shutdown: Shutdown)
where
    F: Filter<Extract = (T,), Error = Infallible> + Clone + Send + Sync + 'static,
    T: Reply,
{
    warp::serve(routes)
        .incoming(listener)
        .graceful(async move { shutdown.wait().await })
        .run()
        .await
}

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
                Error::Internal(format!(
                    "{} answered {status}: {}",
                    self.base,
                    String::from_utf8_lossy(&bytes)
                ))
            }))
        }
    }
}
