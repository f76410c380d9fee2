//! The typed client of the store's public REST API.
//!
//! [`StoreClient`] queries products, places orders (with an idempotency key, so a retry cannot
//! order twice) and reads orders back; its [`ClientError`] tells "not found", "out of stock",
//! "bad request", "unavailable" and transport failures apart, so a caller can decide
//! what to retry. It depends on reqwest, serde and `common` only: anyone who wants to talk to a
//! store compiles nothing else.

pub mod error;
pub mod rest;

pub use error::ClientError;
pub use rest::{Order, StoreClient, Toy};
