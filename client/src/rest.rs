//! The typed REST client of the store's public API (`GET /products/{name}`, `POST /orders`,
//! `GET /orders/{number}`).

use common::error::ErrorBody;
use common::path::encode_segment;
use common::public_api::{self as route, Data, OrderBody, OrderPlaced, OrderRequest, ProductBody};
use common::{parse_cents, Cents, OrderNumber};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;

use crate::error::ClientError;

/// How long one request may take before it fails with [`ClientError::Transport`]. Longer than the
/// frontend's own retry budget during a failover (15 s), so a slow failover is a slow answer and
/// not a client-side timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

pub use common::public_api::IDEMPOTENCY_KEY_HEADER;

/// A toy as the store shows it: its price and stock when the store answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toy {
    /// The toy's name, as the catalog spells it.
    pub name: String,
    /// The price in integer cents, parsed exactly from the two-decimal JSON number (25.99 → 2599).
    pub price_cents: Cents,
    /// Items in stock when the store answered.
    pub quantity: u32,
}

/// An order as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's number in the replicated log (dense from 0).
    pub number: OrderNumber,
    /// The toy ordered.
    pub name: String,
    /// How many of it.
    pub quantity: u32,
}

/// An async client of one frontend. Cloning is cheap and shares the connection pool.
///
/// ```no_run
/// # async fn example() -> Result<(), client::ClientError> {
/// let store = client::StoreClient::new("http://127.0.0.1:8080");
/// let number = store.buy("Tux", 1).await?;
/// let order = store.order(number).await?;
/// assert_eq!((order.name.as_str(), order.quantity), ("Tux", 1));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct StoreClient {
    http: reqwest::Client,
    /// Without a trailing slash.
    base: String,
}

impl StoreClient {
    /// A client of the frontend at `base_url` (`http://127.0.0.1:8080`), with
    /// [`DEFAULT_TIMEOUT`] per request. Nothing is sent until the first call; a URL that cannot
    /// be reached shows up then as [`ClientError::Transport`].
    ///
    /// ```
    /// let store = client::StoreClient::new("http://127.0.0.1:8080/");
    /// assert_eq!(store.base_url(), "http://127.0.0.1:8080");
    /// ```
    pub fn new(base_url: impl Into<String>) -> StoreClient {
        StoreClient::with_timeout(base_url, DEFAULT_TIMEOUT)
    }

    /// Like [`StoreClient::new`] with another per-request timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = client::StoreClient::with_timeout("http://localhost:8080", Duration::from_secs(2));
    /// assert_eq!(store.base_url(), "http://localhost:8080");
    /// ```
    pub fn with_timeout(base_url: impl Into<String>, timeout: Duration) -> StoreClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            // Without TLS features the builder only fails if the system resolver cannot start,
            // which no caller could recover from either.
            .expect("an HTTP client without TLS can be built");
        let base = base_url.into().trim_end_matches('/').to_string();
        StoreClient { http, base }
    }

    /// The frontend's URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /products/{name}`: the toy's price and stock. The name is percent-encoded
    /// (`common::path`), so any name the catalog holds ("Rubik's Cube") works.
    ///
    /// # Errors
    /// [`ClientError::NotFound`] for a toy the catalog does not sell; [`ClientError::Unavailable`]
    /// while the catalog is unreachable (and the toy is not cached); transport failures.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), client::ClientError> {
    /// let store = client::StoreClient::new("http://127.0.0.1:8080");
    /// let cube = store.product("Rubik's Cube").await?;
    /// println!("{} costs {} cents, {} left", cube.name, cube.price_cents, cube.quantity);
    /// # Ok(()) }
    /// ```
    pub async fn product(&self, name: &str) -> Result<Toy, ClientError> {
        let url = format!("{}{}/{}", self.base, route::PRODUCTS, encode_segment(name));
        let (status, text) = self.send(self.http.get(url)).await?;
        let wire: ProductBody = interpret(status, &text)?;
        let price_cents =
            parse_cents(wire.price.get()).map_err(|_| ClientError::unexpected(status, &text))?;
        Ok(Toy {
            name: wire.name.into_owned(),
            price_cents,
            quantity: wire.quantity,
        })
    }

    /// `POST /orders`: buys `quantity` of the toy and returns the order's number. The frontend
    /// gives the request a fresh id, so sending it again after a transport failure may order
    /// twice; use [`StoreClient::buy_with_key`] when a retry must be safe.
    ///
    /// # Errors
    /// [`ClientError::OutOfStock`] when fewer than `quantity` are left; [`ClientError::NotFound`]
    /// for an unknown toy; [`ClientError::BadRequest`] for a quantity outside 1..=1000;
    /// [`ClientError::Unavailable`] without a catalog or a majority of order replicas.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), client::ClientError> {
    /// let store = client::StoreClient::new("http://127.0.0.1:8080");
    /// match store.buy("Lego", 2).await {
    ///     Ok(number) => println!("order {number}"),
    ///     Err(client::ClientError::OutOfStock) => println!("sold out, try later"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn buy(&self, name: &str, quantity: u32) -> Result<OrderNumber, ClientError> {
        self.place(name, quantity, None).await
    }

    /// `POST /orders` with an `Idempotency-Key`: the same key always gets the same order number
    /// back and never a second order, so the call can be retried after any failure. A key is 1
    /// to 128 visible ASCII characters.
    ///
    /// # Errors
    /// As [`StoreClient::buy`], plus [`ClientError::BadRequest`] for a malformed key.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), client::ClientError> {
    /// let store = client::StoreClient::new("http://127.0.0.1:8080");
    /// let first = store.buy_with_key("Kite", 1, "cart-42").await?;
    /// let again = store.buy_with_key("Kite", 1, "cart-42").await?;
    /// assert_eq!(first, again); // one order, one item taken from stock
    /// # Ok(()) }
    /// ```
    pub async fn buy_with_key(
        &self,
        name: &str,
        quantity: u32,
        key: &str,
    ) -> Result<OrderNumber, ClientError> {
        self.place(name, quantity, Some(key)).await
    }

    /// `GET /orders/{number}`: a committed order.
    ///
    /// # Errors
    /// [`ClientError::NotFound`] for a number not (yet) committed; [`ClientError::Unavailable`]
    /// without a majority of order replicas.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), client::ClientError> {
    /// let store = client::StoreClient::new("http://127.0.0.1:8080");
    /// let order = store.order(0).await?;
    /// println!("order {}: {} x {}", order.number, order.quantity, order.name);
    /// # Ok(()) }
    /// ```
    pub async fn order(&self, number: OrderNumber) -> Result<Order, ClientError> {
        let url = format!("{}{}/{number}", self.base, route::ORDERS);
        let (status, text) = self.send(self.http.get(url)).await?;
        let wire: OrderBody = interpret(status, &text)?;
        Ok(Order {
            number: wire.number,
            name: wire.name.into_owned(),
            quantity: wire.quantity,
        })
    }

    async fn place(
        &self,
        name: &str,
        quantity: u32,
        key: Option<&str>,
    ) -> Result<OrderNumber, ClientError> {
        let mut request = self
            .http
            .post(format!("{}{}", self.base, route::ORDERS))
            .json(&OrderRequest {
                name: Cow::Borrowed(name),
                quantity,
            });
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        let (status, text) = self.send(request).await?;
        interpret::<OrderPlaced>(status, &text).map(|p| p.order_number)
    }

    /// Sends and reads the whole body: status and text.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(u16, String), ClientError> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, text))
    }
}

/// Maps a status and body to the call's value or its [`ClientError`], per the API contract.
fn interpret<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, ClientError> {
    if status == 200 {
        return serde_json::from_str::<Data<T>>(text)
            .map(|d| d.data)
            .map_err(|_| ClientError::unexpected(status, text));
    }
    let message = serde_json::from_str::<ErrorBody>(text)
        .ok()
        .filter(|body| body.error.code == status)
        .map(|body| body.error.message);
    match (status, message) {
        (404, Some(_)) => Err(ClientError::NotFound),
        (400, Some(m)) if m == "out of stock" => Err(ClientError::OutOfStock),
        (400, Some(m)) => Err(ClientError::BadRequest(m)),
        (503, Some(m)) => Err(ClientError::Unavailable(m)),
        _ => Err(ClientError::unexpected(status, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer table of the public API, one case a line.
    #[test]
    fn answers_map_to_values_and_error_kinds() {
        let order = r#"{"data":{"number":7,"name":"Tux","quantity":2}}"#;
        let expected = Order {
            number: 7,
            name: "Tux".into(),
            quantity: 2,
        };
        assert_eq!(interpret::<Order>(200, order), Ok(expected));
        let cases: [(&str, u16, &str, ClientError); 6] = [
            (
                "not found",
                404,
                r#"{"error":{"code":404,"message":"order not found"}}"#,
                ClientError::NotFound,
            ),
            (
                "out of stock",
                400,
                r#"{"error":{"code":400,"message":"out of stock"}}"#,
                ClientError::OutOfStock,
            ),
            (
                "bad request",
                400,
                r#"{"error":{"code":400,"message":"quantity must be 1 to 1000"}}"#,
                ClientError::BadRequest("quantity must be 1 to 1000".into()),
            ),
            (
                "unavailable",
                503,
                r#"{"error":{"code":503,"message":"no majority"}}"#,
                ClientError::Unavailable("no majority".into()),
            ),
            (
                "404 without the error body",
                404,
                "nope",
                ClientError::unexpected(404, "nope"),
            ),
            (
                "a 200 of another shape",
                200,
                r#"{"data":{"order_number":1}}"#,
                ClientError::unexpected(200, r#"{"data":{"order_number":1}}"#),
            ),
        ];
        for (case, status, body, error) in cases {
            assert_eq!(interpret::<Order>(status, body), Err(error), "{case}");
        }
    }
}
