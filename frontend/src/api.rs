//! The public REST API: the only port clients use.
//!
//! Routes match the path first and the method second, so an unknown path is a 404 and a known
//! path with the wrong method a 405. Handlers never reject: every outcome, errors included,
//! becomes a response here, with `{"data": ...}` or the `{"error": {code, message}}` body, and a
//! `Retry-After` on every 503. Whatever warp itself rejects (no route, wrong method with its
//! `Allow`, a body over 4 KiB or not JSON, a credential header of bytes no credential has) gets
//! the same error body in [`recover`]. Every `GET` route answers `HEAD` too.

use common::http::{
    get_or_head, is_visible_ascii, json_body, optional_header, reject, rejection_error,
    MAX_BODY_BYTES,
};
use common::probes::{data_response as data, error_response};
use common::public_api::{
    self as route, allowed_methods, OrderBody, OrderPlaced, ProductBody, IDEMPOTENCY_KEY_HEADER,
};
use common::wire::{PlaceRequest, TOKEN_HEADER};
use common::{format_cents, Error, FrontendId, OrderEntry, Product, Result};
use log::{debug, warn};
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use warp::http::{HeaderMap, HeaderValue, Method};
use warp::hyper::body::Bytes;
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::input::{parse_order, parse_order_number, percent_decode, request_id};
use crate::metrics::{bump, route_of};
use crate::server::Frontend;

/// The OpenAPI 3.1 document of this API, served at `GET /openapi.json`.
pub(crate) const OPENAPI_DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// Every public route (the probes of `common::probes` among them), with errors turned into
/// bodies and each request timed into the metrics.
pub(crate) fn routes(
    frontend: Arc<Frontend>,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let id = frontend.id;
    let metrics = Arc::clone(&frontend.metrics);
    let state = {
        let frontend = Arc::clone(&frontend);
        warp::any().map(move || Arc::clone(&frontend))
    };

    let product = public_path(route::PRODUCTS)
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(get_or_head())
        .and(state.clone())
        .then(get_product);
    let place = public_path(route::ORDERS)
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::header::headers_cloned())
        .and(json_body(MAX_BODY_BYTES))
        .and(state.clone())
        .then(place_order);
    let order = public_path(route::ORDERS)
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(get_or_head())
        .and(state.clone())
        .then(get_order);
    let ready_state = Arc::clone(&frontend);
    let probes = common::probes::routes(
        move || {
            let frontend = Arc::clone(&ready_state);
            async move { crate::readiness::problems(&frontend).await }
        },
        move || frontend.metrics.render(frontend.cache.len()),
    );
    let openapi = public_path(route::OPENAPI)
        .and(warp::path::end())
        .and(get_or_head())
        .map(|| {
            warp::reply::with_header(OPENAPI_DOCUMENT, "content-type", "application/json")
                .into_response()
        });

    let routes = product
        .or(place)
        .unify()
        .or(order)
        .unify()
        .or(probes)
        .unify()
        .or(openapi)
        .unify();
    let routed = credentials_check()
        .and(routes)
        .map(Ok)
        .or_else(|rejection| async move { Ok::<_, Infallible>((Err(rejection),)) });
    // Method and path are taken before routing so a rejection can be logged with them.
    warp::method()
        .and(warp::path::full())
        .and(routed)
        .map(move |method, path, routed| match routed {
            Ok(response) => response,
            Err(rejection) => recover(id, &method, &path, &rejection),
        })
        .with(warp::log::custom(move |info| {
            metrics.observe(
                route_of(info.path()),
                info.status().as_u16(),
                info.elapsed(),
            )
        }))
}

/// Refuses a request with a credential header whose bytes no credential has: nothing on the
/// public API needs one, but a proxy or a log that passes such bytes on should not get them.
/// An `Authorization` value may hold spaces (`Bearer abc`); a token holds visible ASCII only.
/// Each header is looked up on its own, so the common request without one copies nothing.
fn credentials_check() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    optional_header("authorization")
        .and(optional_header("proxy-authorization"))
        .and(optional_header(TOKEN_HEADER))
        .and_then(|authorization, proxy, token| async move {
            let given: [(&str, Option<HeaderValue>, bool); 3] = [
                ("authorization", authorization, true),
                ("proxy-authorization", proxy, true),
                (TOKEN_HEADER, token, false),
            ];
            for (name, value, spaces_allowed) in given {
                let Some(value) = value else { continue };
                let fine = if spaces_allowed {
                    value
                        .as_bytes()
                        .iter()
                        .all(|&b| b.is_ascii_graphic() || b == b' ')
                } else {
                    is_visible_ascii(value.as_bytes())
                };
                if !fine {
                    return Err(reject(Error::BadCredentials(format!(
                        "the {name} header must be visible ASCII characters only"
                    ))));
                }
            }
            Ok(())
        })
        .untuple_one()
}

/// The one-segment path of a `common::public_api` constant (`"/orders"` → `orders`).
fn public_path(path: &'static str) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::path(path.trim_start_matches('/'))
}

/// Answers `result`, logging a refused request with what it asked for.
fn answer<T: Serialize>(id: FrontendId, request: &str, result: Result<T>) -> Response {
    match result {
        Ok(value) => data(value),
        Err(error) => {
            if error.status() >= 500 {
                warn!(
                    "frontend {id}: {request} refused: {} {error}",
                    error.status()
                );
            } else {
                // A client's mistake or an empty shelf is routine: not worth a line per request.
                debug!(
                    "frontend {id}: {request} refused: {} {error}",
                    error.status()
                );
            }
            error_response(&error)
        }
    }
}

/// The price as a JSON number with exactly two decimals.
pub(crate) fn price_json(cents: u64) -> Box<RawValue> {
    RawValue::from_string(format_cents(cents))
        .expect("digits, a dot and two digits are a JSON number")
}

async fn get_product(segment: String, frontend: Arc<Frontend>) -> Response {
    let result = lookup_product(&segment, &frontend).await;
    let view = result.as_ref().map(|p| ProductBody {
        name: Cow::Borrowed(&p.name),
        price: price_json(p.price_cents),
        quantity: p.quantity,
    });
    answer(
        frontend.id,
        &format!("GET /products/{segment}"),
        view.map_err(Clone::clone),
    )
}

/// The product from the cache, or from the catalog (then cached) on a miss.
async fn lookup_product(segment: &str, frontend: &Frontend) -> Result<Product> {
    let name = percent_decode(segment)?;
    if let Some(product) = frontend.cache.get(&name) {
        return Ok(product);
    }
    // Taken before the read, so a fill that raced with an invalidation or an order is refused
    // and the entry's time to live counts from when the catalog was asked.
    let ticket = frontend.cache.ticket();
    let product = crate::catalog::read_product(&frontend.catalog, &name).await?;
    frontend.cache.fill(&product, ticket);
    Ok(product)
}

async fn place_order(headers: HeaderMap, body: Bytes, frontend: Arc<Frontend>) -> Response {
    let result = async {
        let order = parse_order(&body)?;
        let key = headers.get(IDEMPOTENCY_KEY_HEADER);
        let request_id = request_id(key.map(|v| v.as_bytes()))?;
        if key.is_none() && sold_out_in_cache(&frontend, &order.name, order.quantity) {
            return Err(Error::OutOfStock);
        }
        let request = PlaceRequest {
            request_id,
            name: order.name,
            quantity: order.quantity,
        };
        let what = format!("place {}", request.request_id);
        let placed = frontend.orders.call(&what, |leader| {
            let request = &request;
            async move { leader.place(request).await }
        });
        let placed = placed.await?;
        debug!(
            "frontend {}: order {} placed: {} x {} ({})",
            frontend.id, placed.number, request.quantity, request.name, request.request_id
        );
        // The catalog pushes an invalidation before it answers `buy`; forgetting our copy (and
        // refusing fills whose catalog read began before now) means even a lost push cannot
        // make this client see the stock from before its order through this frontend.
        frontend.cache.forget(&request.name);
        Ok(OrderPlaced {
            order_number: placed.number,
        })
    };
    answer(frontend.id, "POST /orders", result.await)
}

/// Whether a fresh cached quantity of `name` is below `quantity`, so the order can be refused
/// `out of stock` without a hop: the same answer the catalog would give for a quantity no older
/// than a query through this frontend could return (the cache's freshness rules).
///
/// Only for orders without an `Idempotency-Key`: a keyed order may be the retry of an attempt
/// that was placed (its answer lost) before the stock ran out, and must get that order's number
/// back, which only the leader knows. A keyless order has a request id made here, so no earlier
/// attempt of it exists.
fn sold_out_in_cache(frontend: &Frontend, name: &str, quantity: u32) -> bool {
    let short = frontend
        .cache
        .fresh(name)
        .is_some_and(|p| p.quantity < quantity);
    if short {
        bump(&frontend.metrics.orders_refused_from_cache);
    }
    short
}

async fn get_order(segment: String, frontend: Arc<Frontend>) -> Response {
    let result: Result<OrderEntry> = async {
        let number = parse_order_number(&segment)?;
        let what = format!("read order {number}");
        frontend
            .orders
            .call(&what, |leader| async move { leader.order(number).await })
            .await
    }
    .await;
    let view = result.as_ref().map(|o| OrderBody {
        number: o.number,
        name: Cow::Borrowed(&o.name),
        quantity: o.quantity,
    });
    answer(
        frontend.id,
        &format!("GET /orders/{segment}"),
        view.map_err(Clone::clone),
    )
}

/// Turns whatever warp rejected (no route, wrong method, body too large) into the public
/// error body.
fn recover(id: FrontendId, method: &Method, path: &FullPath, rejection: &Rejection) -> Response {
    let error = rejection_error(rejection);
    debug!(
        "frontend {id}: {method} {} rejected: {} {error}",
        path.as_str(),
        error.status()
    );
    let mut response = error_response(&error);
    if error == Error::MethodNotAllowed {
        if let Some(methods) = allowed_methods(path.as_str()) {
            let allow = warp::http::HeaderValue::from_str(&methods.join(", "))
                .expect("method names are header-safe");
            response
                .headers_mut()
                .insert(warp::http::header::ALLOW, allow);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::public_api::Data;

    #[test]
    fn prices_show_two_decimals() {
        let view = |cents| {
            let p = ProductBody {
                name: Cow::Borrowed("Tux"),
                price: price_json(cents),
                quantity: 100,
            };
            serde_json::to_string(&Data { data: p }).unwrap()
        };
        assert_eq!(
            view(2599),
            r#"{"data":{"name":"Tux","price":25.99,"quantity":100}}"#
        );
        assert_eq!(
            view(1000),
            r#"{"data":{"name":"Tux","price":10.00,"quantity":100}}"#
        );
        assert_eq!(
            view(5),
            r#"{"data":{"name":"Tux","price":0.05,"quantity":100}}"#
        );
    }
}
