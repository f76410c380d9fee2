//! The initial catalog: `data/products.json`, a JSON list of
//! `{"name": "Tux", "price": 25.99, "quantity": 100}`, read on the catalog's first start only.

use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

use crate::error::{ProductsError, ProductsProblem};
use crate::records::{StockRecord, FIRST_VERSION};

/// One toy of the products file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileProduct {
    name: String,
    /// Kept as a JSON number so its text, not a float, becomes cents.
    price: serde_json::Number,
    quantity: u32,
}

/// Reads the products file at `path` into records at their first version, in file order.
///
/// # Errors
/// A missing or unreadable file, bad JSON, an empty list, an empty or repeated name, or a price
/// that is not a non-negative decimal with at most two places; the message names the file.
pub(crate) fn read(path: &Path) -> Result<Vec<(String, StockRecord)>, ProductsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProductsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|problem| ProductsError::Bad {
        path: path.to_path_buf(),
        problem,
    })
}

/// Parses the text of a products file.
fn parse(text: &str) -> Result<Vec<(String, StockRecord)>, ProductsProblem> {
    let entries: Vec<FileProduct> = serde_json::from_str(text)?;
    if entries.is_empty() {
        return Err(ProductsProblem::Empty);
    }
    let mut seen = HashSet::new();
    let mut products = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        if entry.name.trim().is_empty() {
            return Err(ProductsProblem::EmptyName { index });
        }
        if !seen.insert(entry.name.clone()) {
            return Err(ProductsProblem::Twice { name: entry.name });
        }
        let price_cents = match common::parse_cents(&entry.price.to_string()) {
            Ok(cents) => cents,
            Err(source) => {
                return Err(ProductsProblem::Price {
                    name: entry.name,
                    source,
                })
            }
        };
        let record = StockRecord {
            price_cents,
            quantity: entry.quantity,
            initial_quantity: entry.quantity,
            version: FIRST_VERSION,
        };
        products.push((entry.name, record));
    }
    Ok(products)
}
