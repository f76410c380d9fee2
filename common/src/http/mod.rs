//! HTTP plumbing shared by every service: the cluster-token filter, JSON bodies and replies,
//! mapping warp's rejections to [`Error`], the server loop ([`serve`]) with its limits and
//! graceful shutdown, and the internal client ([`Peer`]).

mod body;
mod connection;
mod peer;
mod serve;

pub use body::{json_body, refuse_duplicate_keys, BODY_READ_TIMEOUT};
pub use peer::{Peer, DEFAULT_PEER_TIMEOUT};
pub use serve::{serve, HttpLimits, DEFAULT_IDLE_TIMEOUT_MS};

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{Error, Result};
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

/// `GET` or `HEAD`: what a client may read, it may also ask about without the body.
pub fn get_or_head() -> impl Filter<Extract = (), Error = Rejection> + Copy {
    warp::get().or(warp::head()).unify()
}

/// `GET` (or `HEAD`) on `path` exactly.
pub fn internal_get(path: &'static str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    internal_path(path)
        .and(warp::path::end())
        .and(get_or_head())
}

/// `POST` on `path` exactly, with a JSON body of at most `limit` bytes (see [`json_body`]).
pub fn internal_post<T: DeserializeOwned + Send>(
    path: &'static str,
    limit: u64,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    internal_path(path)
        .and(warp::path::end())
        .and(warp::post())
        .and(json_body(limit))
        .and_then(|body: warp::hyper::body::Bytes| async move {
            serde_json::from_slice(&body)
                .map_err(|e| reject(Error::BadRequest(format!("malformed body: {e}"))))
        })
}

/// The value of header `name` when the request has one.
pub fn optional_header(
    name: &'static str,
) -> impl Filter<Extract = (Option<HeaderValue>,), Error = Infallible> + Copy {
    warp::header::value(name)
        .map(Some)
        .or(warp::any().map(|| None))
        .unify()
}

/// Whether a credential's bytes are all visible ASCII (no space, no control, nothing past 0x7E):
/// anything else cannot be a token this store issued, and is refused before any comparison.
pub fn is_visible_ascii(value: &[u8]) -> bool {
    value.iter().all(u8::is_ascii_graphic)
}

/// Passes only requests that carry the cluster token; answers 401 otherwise, a token with bytes
/// that are not visible ASCII included.
pub fn require_token(token: &str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    let token: Arc<str> = token.into();
    optional_header(TOKEN_HEADER)
        .and_then(move |got: Option<HeaderValue>| {
            let ok = got.is_some_and(|got| {
                let got = got.as_bytes();
                is_visible_ascii(got) && constant_time_eq(got, token.as_bytes())
            });
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
        Error::UnsupportedMediaType("unsupported content type: send application/json".into())
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
