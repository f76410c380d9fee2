//! What the catalog's sled trees hold: their names and the value types, all written with
//! [`common::encoding::encode`]. The `inspect` tool and recovery drills read the trees with these.

use serde::{Deserialize, Serialize};

use common::wire::BuyReceipt;
use common::{Cents, Product, RequestId, Version};

/// Name of the tree of products (name → [`StockRecord`]).
pub const PRODUCTS_TREE: &str = "products";
/// Name of the tree of buy outcomes (request id → [`BuyOutcome`], then the [`order_digest`] of
/// the order it answered, see [`encode_buy`]).
pub const BUYS_TREE: &str = "buys";
/// Name of the tree of stock movements (big-endian sequence number → [`Movement`]).
pub const JOURNAL_TREE: &str = "journal";

/// The version a product starts at; 0 is left free to mean "never seen" to a cache.
pub const FIRST_VERSION: Version = 1;

/// One toy in the [`PRODUCTS_TREE`] (its name is the key).
///
/// - `version` grows by exactly one with every change of `quantity`, and never goes back, across
///   restarts too: [`crate::StockStore`] shows a version only once it is flushed.
/// - `quantity` never exceeds `initial_quantity`: buys take stock, restock only refills a
///   sold-out toy to `initial_quantity`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRecord {
    /// Price in integer cents.
    pub price_cents: Cents,
    /// Units in stock now.
    pub quantity: u32,
    /// Units the toy started with; what a restock brings it back to.
    pub initial_quantity: u32,
    /// Version of this toy's stock; see the invariants above.
    pub version: Version,
}

impl StockRecord {
    /// The toy as the API shows it.
    pub fn product(&self, name: &str) -> Product {
        Product {
            name: name.to_string(),
            price_cents: self.price_cents,
            quantity: self.quantity,
            version: self.version,
        }
    }
}

/// The recorded answer to one `buy`, kept in the [`BUYS_TREE`] under its request id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuyOutcome {
    /// Stock was taken.
    Bought(BuyReceipt),
    /// Not enough stock; nothing was taken.
    OutOfStock,
    /// No toy of that name.
    NotFound,
}

/// Why the stock of a toy moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MovementKind {
    /// The toy was loaded from the products file on the catalog's first start.
    Initial,
    /// A `buy` took stock.
    Buy {
        /// The request that took it.
        request_id: RequestId,
    },
    /// The toy was sold out and was refilled to its initial quantity.
    Restock,
}

/// One entry of the [`JOURNAL_TREE`]: a change of one toy's quantity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movement {
    /// The toy.
    pub name: String,
    /// Why it moved.
    pub kind: MovementKind,
    /// Change of quantity: negative for a buy, positive for the initial load and a restock.
    pub delta: i64,
    /// Quantity after the movement.
    pub quantity_after: u32,
    /// The toy's version after the movement.
    pub version: Version,
}

/// A digest of what one `buy` asked for, kept with its outcome so that the same request id with
/// another order is told so instead of getting the first order's outcome. FNV-1a over the
/// name's bytes and the quantity: stable across builds and platforms, unlike std's hasher.
pub fn order_digest(name: &str, quantity: u32) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = name.bytes().chain([0xff]).chain(quantity.to_le_bytes());
    bytes.fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

/// A [`BUYS_TREE`] value: the outcome as [`common::encoding::encode`] writes it, then the order's
/// digest as 8 little-endian bytes. Builds from before the digest read the outcome and skip it.
pub fn encode_buy(outcome: &BuyOutcome, digest: u64) -> Vec<u8> {
    let mut bytes = common::encoding::encode(outcome);
    bytes.extend_from_slice(&digest.to_le_bytes());
    bytes
}

/// The outcome and, when it was recorded with one, the order digest of a [`BUYS_TREE`] value.
///
/// # Errors
/// [`common::Error::Storage`] for damaged data.
pub fn decode_buy(bytes: &[u8]) -> common::Result<(BuyOutcome, Option<u64>)> {
    let (outcome, rest) = common::encoding::decode_with_rest(bytes)?;
    let digest = <[u8; 8]>::try_from(rest).ok().map(u64::from_le_bytes);
    Ok((outcome, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buy_record_carries_its_order_and_old_records_read() {
        let outcome = BuyOutcome::OutOfStock;
        let digest = order_digest("Tux", 2);
        assert_ne!(digest, order_digest("Tux", 3));
        assert_ne!(digest, order_digest("Tu", 2));
        let bytes = encode_buy(&outcome, digest);
        assert_eq!(decode_buy(&bytes).unwrap(), (outcome.clone(), Some(digest)));
        assert_eq!(
            common::encoding::decode::<BuyOutcome>(&bytes).unwrap(),
            outcome
        );
        let old = common::encoding::encode(&outcome);
        assert_eq!(decode_buy(&old).unwrap(), (outcome, None));
    }
}
