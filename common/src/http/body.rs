//! What a request body must be before any handler reads it: JSON by its content type, within its
//! size limit, whole (as long as its `Content-Length` says, or a well-formed chunked body), and
//! for the public API free of duplicate object keys.

use futures_util::StreamExt;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;
use std::time::Duration;
use warp::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use warp::http::HeaderMap;
use warp::hyper::body::{Buf, Bytes};
use warp::{Filter, Rejection};

use super::reject;
use crate::error::{Error, Result};

/// How long a body may take to arrive once its head has: a client that declares more than it
/// sends, and keeps the connection open, is answered then.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole body of a request that declares JSON, at most `limit` bytes, chunked or not.
///
/// Rejects with 415 when the content type is missing or not `application/json` (so a browser
/// page cannot send one cross-site as a "simple" `text/plain` request), 413 over `limit`
/// (before reading, when `Content-Length` says so), 400 for a body that ends early or whose
/// chunked encoding is broken, and 408 for one that does not arrive in [`BODY_READ_TIMEOUT`].
pub fn json_body(limit: u64) -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and_then(move |headers: HeaderMap| async move { check_head(&headers, limit) })
        .and(warp::body::stream())
        .and_then(move |declared: Option<u64>, stream| async move {
            match tokio::time::timeout(BODY_READ_TIMEOUT, collect(stream, declared, limit)).await {
                Ok(body) => body.map_err(reject),
                Err(_) => Err(reject(Error::RequestTimeout(format!(
                    "the request body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                )))),
            }
        })
}

/// The declared length, once the content type and the length are acceptable.
fn check_head(headers: &HeaderMap, limit: u64) -> Result<Option<u64>, Rejection> {
    if !is_json(headers) {
        return Err(reject(Error::UnsupportedMediaType(
            "the request body must be sent as content-type: application/json".into(),
        )));
    }
    let declared = match headers.get(CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| reject(Error::BadRequest("invalid content-length".into())))?,
        ),
    };
    if declared.is_some_and(|length| length > limit) {
        return Err(reject(too_large(limit)));
    }
    Ok(declared)
}

/// Whether the media type is `application/json`, parameters such as `charset` aside.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn too_large(limit: u64) -> Error {
    Error::PayloadTooLarge(format!("request body over {limit} bytes"))
}

async fn collect(
    stream: impl futures_util::Stream<Item = Result<impl Buf, warp::Error>>,
    declared: Option<u64>,
    limit: u64,
) -> Result<Bytes> {
    let mut stream = std::pin::pin!(stream);
    let capacity = declared.unwrap_or(0).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk.map_err(|_| {
            Error::BadRequest(
                "the request body is incomplete: it ended before its content-length, or its \
                 chunked encoding is malformed"
                    .into(),
            )
        })?;
        if (body.len() + chunk.remaining()) as u64 > limit {
            return Err(too_large(limit));
        }
        while chunk.has_remaining() {
            let piece = chunk.chunk();
            body.extend_from_slice(piece);
            let taken = piece.len();
            chunk.advance(taken);
        }
    }
    Ok(Bytes::from(body))
}

/// Refuses a JSON document in which some object names a key twice: parsers disagree on which
/// one counts (serde keeps the last, others the first), so such a body means two things.
///
/// A document that is not JSON passes: the caller's own parser says what is wrong with it.
///
/// # Errors
/// [`Error::BadRequest`] naming the repeated key.
pub fn refuse_duplicate_keys(body: &[u8]) -> Result<()> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match UniqueKeys::deserialize(&mut deserializer) {
        Err(e) if e.is_data() => Err(Error::BadRequest(format!("malformed body: {e}"))),
        _ => Ok(()),
    }
}

/// Any JSON value, each of whose objects names every key once.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            map.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(UniqueKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let refused = |body: &str| match refuse_duplicate_keys(body.as_bytes()) {
            Err(Error::BadRequest(message)) => message,
            other => panic!("{body}: {other:?}"),
        };
        assert!(refused(r#"{"name":"Tux","name":"Whale","quantity":1}"#)
            .starts_with("malformed body: duplicate key `name`"));
        assert!(refused(r#"[{"a":{"b":1,"b":2}}]"#).contains("duplicate key `b`"));
        assert!(refused(r#"{"n\u0061me":1,"name":2}"#).contains("duplicate key `name`"));
        for fine in [
            r#"{"name":"Tux","quantity":1}"#,
            r#"{"a":{"x":1},"b":{"x":1}}"#,
            "[1, 2.5, -3, true, null, \"s\"]",
            "not json",
            "",
        ] {
            assert_eq!(refuse_duplicate_keys(fine.as_bytes()), Ok(()), "{fine}");
        }
    }

    #[test]
    fn only_json_media_types_pass() {
        let with = |value: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(CONTENT_TYPE, value.parse().unwrap());
            }
            is_json(&headers)
        };
        assert!(with(Some("application/json")));
        assert!(with(Some("Application/JSON; charset=utf-8")));
        for refused in [
            None,
            Some("text/plain"),
            Some("application/jsonx"),
            Some(""),
        ] {
            assert!(!with(refused), "{refused:?}");
        }
    }
}
