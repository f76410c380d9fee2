//! The public REST API's shapes in one place: its paths, its headers and the bodies of its
//! answers. The frontend serializes these and `client::StoreClient` reads them, so the two can
//! only disagree by failing to compile. The README's API table is the contract they follow.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

use crate::types::OrderNumber;

/// `GET /products/{name}` (percent-encoded) → [`ProductBody`].
pub const PRODUCTS: &str = "/products";
/// `POST /orders` ([`OrderRequest`]) → [`OrderPlaced`]; `GET /orders/{number}` → [`OrderBody`].
pub const ORDERS: &str = "/orders";
/// `GET` → [`ServingStatus`]: the frontend serves.
pub const HEALTH: &str = "/health";
/// `GET` → [`ServingStatus`] `ready` with 200, or 503 with why not (`crate::probes`).
pub const READY: &str = "/ready";
/// `GET` → Prometheus text.
pub const METRICS: &str = "/metrics";

/// `GET` → the OpenAPI 3.1 document of this API (docs/openapi.json).
pub const OPENAPI: &str = "/openapi.json";

/// Every public route: its path as the OpenAPI document writes it (`{name}` stands for one
/// segment) and the methods it answers, in the order an `Allow` header lists them. The frontend
/// answers a 405 with these, and a test holds the document and the served routes to this table.
pub const ROUTES: &[(&str, &[&str])] = &[
    ("/products/{name}", &["GET", "HEAD"]),
    ("/orders", &["POST"]),
    ("/orders/{number}", &["GET", "HEAD"]),
    ("/health", &["GET", "HEAD"]),
    ("/ready", &["GET", "HEAD"]),
    ("/metrics", &["GET", "HEAD"]),
    ("/openapi.json", &["GET", "HEAD"]),
];

/// The entry of [`ROUTES`] that `path` matches, if any.
///
/// It runs on every request that metrics are counted for, so it compares segment by segment
/// without collecting either side.
pub fn route_of(path: &str) -> Option<(&'static str, &'static [&'static str])> {
    let segments = || path.trim_start_matches('/').split('/');
    ROUTES.iter().copied().find(|(template, _)| {
        let mut pattern = template.trim_start_matches('/').split('/');
        let mut got = segments();
        loop {
            match (pattern.next(), got.next()) {
                (None, None) => return true,
                (Some(want), Some(got))
                    if (want.starts_with('{') && !got.is_empty()) || want == got => {}
                _ => return false,
            }
        }
    })
}

/// The methods of the route `path` matches, if any.
pub fn allowed_methods(path: &str) -> Option<&'static [&'static str]> {
    route_of(path).map(|(_, methods)| methods)
}

/// The header that makes a `POST /orders` idempotent.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// `{"data": ...}`, the shape of every success.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Data<T> {
    pub data: T,
}

/// A toy as the public API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProductBody<'a> {
    pub name: Cow<'a, str>,
    /// A JSON number with two decimals (`10.00`), written and read as text so no float ever
    /// touches a price.
    pub price: Box<RawValue>,
    pub quantity: u32,
}

/// The body of `POST /orders`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderRequest<'a> {
    pub name: Cow<'a, str>,
    pub quantity: u32,
}

/// The answer to `POST /orders`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub order_number: OrderNumber,
}

/// A committed order as the public API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderBody<'a> {
    pub number: OrderNumber,
    pub name: Cow<'a, str>,
    pub quantity: u32,
}

/// The answer to `GET /health`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServingStatus {
    pub status: Cow<'static, str>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_find_their_route() {
        use super::allowed_methods;
        assert_eq!(allowed_methods("/orders"), Some(&["POST"][..]));
        assert_eq!(allowed_methods("/orders/12"), Some(&["GET", "HEAD"][..]));
        assert_eq!(allowed_methods("/products/Tux"), Some(&["GET", "HEAD"][..]));
        for unknown in ["/", "/orders/1/2", "/products/", "/nope", "/health/x"] {
            assert_eq!(allowed_methods(unknown), None, "{unknown}");
        }
    }
}
