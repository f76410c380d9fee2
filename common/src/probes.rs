//! `GET /health`, `GET /ready` and `GET /metrics`, which every service answers in the public
//! API's shapes: `/health` says the process serves (always 200 while it runs), `/ready` whether it
//! can do its job (200, or 503 with the reasons and `Retry-After`), `/metrics` Prometheus text.
//!
//! They need no cluster token, on the internal listeners too: load balancers and Prometheus
//! probe without one, and none of them shows an order, a product or the token. A wrong token
//! shows only as "refused the cluster token" in a frontend's `/ready`.

use std::borrow::Cow;
use std::future::Future;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::error::{Error, ErrorBody};
use crate::metrics::CONTENT_TYPE;
use crate::public_api::{self as route, Data, ServingStatus};

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// The public error body with the error's status, and `Retry-After` on a 503.
pub fn error_response(error: &Error) -> Response {
    let body = ErrorBody::from(error);
    let status = StatusCode::from_u16(body.error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    response
}

/// `{"data": value}` with 200.
pub fn data_response<T: serde::Serialize>(value: T) -> Response {
    warp::reply::json(&Data { data: value }).into_response()
}

/// `{"data":{"status":"ok"}}`, the answer to `/health`.
pub fn serving() -> Response {
    data_response(ServingStatus {
        status: Cow::Borrowed("ok"),
    })
}

/// The answer to `/ready`: `{"data":{"status":"ready"}}`, or with any `problems` a 503 whose
/// message is `not ready: ` and each problem, separated by `; `.
pub fn readiness(problems: &[String]) -> Response {
    if problems.is_empty() {
        data_response(ServingStatus {
            status: Cow::Borrowed("ready"),
        })
    } else {
        let why = problems.join("; ");
        error_response(&Error::Unavailable(format!("not ready: {why}")))
    }
}

/// Prometheus text with its content type.
pub fn metrics_text(text: String) -> Response {
    warp::reply::with_header(text, "content-type", CONTENT_TYPE).into_response()
}

/// The one-segment path of a `public_api` constant, exactly, with `GET` (or `HEAD`).
pub fn get_exactly(path: &'static str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::path(path.trim_start_matches('/'))
        .and(warp::path::end())
        .and(crate::http::get_or_head())
}

/// `/health`, `/ready` (what `problems` finds wrong) and `/metrics` (what `render` writes).
pub fn routes<P, F, M>(
    problems: P,
    render: M,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone
where
    P: Fn() -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Vec<String>> + Send,
    M: Fn() -> String + Clone + Send + Sync + 'static,
{
    let health = get_exactly(route::HEALTH).map(serving);
    let ready = get_exactly(route::READY).then(move || {
        let found = problems();
        async move { readiness(&found.await) }
    });
    let metrics = get_exactly(route::METRICS).map(move || metrics_text(render()));
    health.or(ready).unify().or(metrics).unify()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_the_public_body_and_503s_a_retry_after() {
        let response = error_response(&Error::Unavailable("catalog unavailable".into()));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.headers()["content-type"], "application/json");
        let response = error_response(&Error::NotFound("product not found".into()));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get("retry-after").is_none());
    }

    #[test]
    fn readiness_is_200_without_problems_and_503_with() {
        assert_eq!(readiness(&[]).status(), StatusCode::OK);
        let refused = readiness(&["the catalog refused the cluster token".to_string()]);
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()["retry-after"], "1");
        let metrics = metrics_text("x 1\n".to_string());
        assert_eq!(metrics.headers()["content-type"], CONTENT_TYPE);
    }
}
