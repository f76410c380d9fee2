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
