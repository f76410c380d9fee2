//! The catalog's internal API in one place: its routes, and a typed client for it. The catalog's
//! server mounts these paths; the frontends (product reads on a cache miss), the order leader
//! (stock for a batch of orders) and the tools call them through [`CatalogClient`], so a path and
//! a body shape exist once.

use std::time::Duration;

use crate::error::Result;
use crate::http::Peer;
use crate::path::encode_segment;
use crate::types::Product;
use crate::wire::{BuyReceipt, BuyRequest, CatalogReady, CatalogStats};

/// `GET` → [`CatalogReady`].
pub const HEALTH: &str = "/internal/health";
/// `GET` → every [`Product`]; `GET /internal/products/{name}` (percent-encoded) → one.
pub const PRODUCTS: &str = "/internal/products";
/// `POST` [`BuyRequest`] → [`BuyReceipt`], idempotent by request id.
pub const BUY: &str = "/internal/buy";
/// `POST` `[BuyRequest]` → one `Result<BuyReceipt>` per request, in order (the order leader).
pub const BUY_BATCH: &str = "/internal/buy_batch";
/// `GET` → [`CatalogStats`].
pub const STATS: &str = "/internal/stats";

/// How long a product read or a health check may take before the catalog counts as unreachable.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a buy or a batch of buys may take: the catalog flushes and tells every frontend
/// before it answers.
pub const BUY_TIMEOUT: Duration = Duration::from_secs(3);

/// A typed client for the catalog's internal API.
#[derive(Clone, Debug)]
pub struct CatalogClient {
    peer: Peer,
}

impl CatalogClient {
    pub fn new(peer: Peer) -> CatalogClient {
        CatalogClient { peer }
    }

    pub async fn health(&self) -> Result<CatalogReady> {
        self.peer.get(HEALTH, READ_TIMEOUT).await
    }

    pub async fn products(&self) -> Result<Vec<Product>> {
        self.peer.get(PRODUCTS, READ_TIMEOUT).await
    }

    pub async fn product(&self, name: &str) -> Result<Product> {
        let path = format!("{PRODUCTS}/{}", encode_segment(name));
        self.peer.get(&path, READ_TIMEOUT).await
    }

    pub async fn buy(&self, request: &BuyRequest) -> Result<BuyReceipt> {
        self.peer.post(BUY, request, BUY_TIMEOUT).await
    }

    /// The outcome of each buy of `batch`, in order. The outer error is the call's (the catalog
    /// unreachable); an inner one is that buy's own answer.
    pub async fn buy_batch(&self, batch: &[BuyRequest]) -> Result<Vec<Result<BuyReceipt>>> {
        self.peer.post(BUY_BATCH, batch, BUY_TIMEOUT).await
    }

    pub async fn stats(&self) -> Result<CatalogStats> {
        self.peer.get(STATS, READ_TIMEOUT).await
    }
}
