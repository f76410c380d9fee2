//! The catalog as the frontend sees it: one call, read a product, on a cache miss.

use common::http::Peer;
use common::{Error, Product, Result};
use log::warn;
use std::time::Duration;

use crate::input::percent_encode;

/// How long a product read may take before the catalog counts as unreachable.
pub(crate) const CATALOG_TIMEOUT: Duration = Duration::from_secs(2);

/// Client of the catalog's internal API.
#[derive(Clone, Debug)]
pub(crate) struct CatalogClient {
    peer: Peer,
}

impl CatalogClient {
    /// A client for the catalog behind `peer`.
    pub(crate) fn new(peer: Peer) -> CatalogClient {
        CatalogClient { peer }
    }

    /// Reads one product (`GET /internal/products/{name}`).
    ///
    /// # Errors
    /// `NotFound("product not found")`; the catalog's own bad-request answer; anything else
    /// (unreachable, timed out, a server error) becomes `Unavailable("catalog unavailable")`,
    /// with the cause logged here rather than shown to the client.
    pub(crate) async fn product(&self, name: &str) -> Result<Product> {
        let path = format!("/internal/products/{}", percent_encode(name));
        match self.peer.get::<Product>(&path, CATALOG_TIMEOUT).await {
            Ok(product) => Ok(product),
            Err(Error::NotFound(_)) => Err(Error::NotFound("product not found".into())),
            Err(e) if e.is_deterministic() => Err(e),
            Err(e) => {
                warn!("catalog read of {name:?} failed: {e}");
                Err(Error::Unavailable("catalog unavailable".into()))
            }
        }
    }
}
