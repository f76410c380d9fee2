//! Why the catalog cannot start or stopped with a failure. Request failures are the store's one
//! [`common::Error`]; these are the failures of the process itself.

use common::http::BindError;
use common::{BadPrice, ConfigError};
use std::path::PathBuf;

/// Why the catalog service could not start, or could not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Products(#[from] ProductsError),
    /// `why` is [`common::db_lock::explain_open_error`]'s: the holder when another process has
    /// the database, sled's words otherwise.
    #[error("cannot open catalog database {}: {why}", path.display())]
    Open { path: PathBuf, why: String },
    #[error("cannot load products file {}: {source}", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: common::Error,
    },
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("cannot read the catalog's listening address: {0}")]
    Address(#[source] std::io::Error),
    #[error("cannot flush the catalog database: {0}")]
    Flush(#[source] common::Error),
}

/// A products file that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProductsError {
    #[error("cannot read products file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad products file {}: {problem}", path.display())]
    Bad {
        path: PathBuf,
        problem: ProductsProblem,
    },
}

/// What is wrong inside a products file.
#[derive(Debug, thiserror::Error)]
pub enum ProductsProblem {
    #[error("expected a JSON list of {{name, price, quantity}}: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the list of products is empty")]
    Empty,
    #[error("product {index} has an empty name")]
    EmptyName { index: usize },
    #[error("product {name:?} is listed twice")]
    Twice { name: String },
    #[error("product {name:?}: {source}")]
    Price {
        name: String,
        #[source]
        source: BadPrice,
    },
}
