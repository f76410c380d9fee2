//! The catalog as the frontend sees it: one call, read a product, on a cache miss, with the
//! catalog's failures turned into what a client of the public API should see.

use common::catalog_api::CatalogClient;
use common::{Error, Product, Result};
use log::warn;

/// Reads one product from the catalog.
///
/// # Errors
/// `NotFound("product not found")`; the catalog's own bad-request answer; anything else
/// (unreachable, timed out, a server error) becomes `Unavailable("catalog unavailable")`, with
/// the cause logged here rather than shown to the client.
pub(crate) async fn read_product(catalog: &CatalogClient, name: &str) -> Result<Product> {
    match catalog.product(name).await {
        Ok(product) => Ok(product),
        Err(Error::NotFound(_)) => Err(Error::NotFound("product not found".into())),
        Err(e) if e.is_deterministic() => Err(e),
        Err(e) => {
            warn!("catalog read of {name:?} failed: {e}");
            Err(Error::Unavailable("catalog unavailable".into()))
        }
    }
}
