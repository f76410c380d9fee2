//! What a load run does: how many sessions, for how long, how often they buy, which toys.

use common::FileError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

use crate::ToolError;

/// The three kinds of request a load run makes, each with its own latency histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// `GET /products/{name}`.
    Query,
    /// `POST /orders`.
    Buy,
    /// `GET /orders/{number}`, made by [`verify`](super::verify).
    Lookup,
}

impl RequestKind {
    /// Every kind, in table order.
    pub const ALL: [RequestKind; 3] = [RequestKind::Query, RequestKind::Buy, RequestKind::Lookup];

    /// Lower-case name for tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::Query => "query",
            RequestKind::Buy => "buy",
            RequestKind::Lookup => "lookup",
        }
    }
}

/// Defaults of [`LoadConfig::new`], the same as `toystore client`'s flags.
pub const DEFAULT_SESSIONS: usize = 5;
/// See [`DEFAULT_SESSIONS`].
pub const DEFAULT_ITERATIONS: usize = 100;
/// See [`DEFAULT_SESSIONS`].
pub const DEFAULT_P: f64 = 0.5;
/// See [`DEFAULT_SESSIONS`].
pub const DEFAULT_MAX_QUANTITY: u32 = 3;

/// A load run: `sessions` concurrent sessions, each repeating *query a random toy; if it is in
/// stock (or `buy_sold_out`), buy 1..=`max_quantity` of it with probability `p`* until `iterations` steps are done,
/// `duration` has passed, or the run is stopped, whichever comes first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadConfig {
    /// Concurrent sessions (at least 1).
    pub sessions: usize,
    /// Steps per session; `None` for no bound on steps.
    pub iterations: Option<usize>,
    /// Wall-clock bound of the whole run; `None` for no bound on time. With neither bound the run
    /// lasts until it is stopped.
    pub duration: Option<Duration>,
    /// Probability of buying a toy that is in stock, from 0 to 1.
    pub p: f64,
    /// Largest quantity of one order (at least 1); each order takes 1..=`max_quantity` at random.
    pub max_quantity: u32,
    /// Seed of the sessions' random choices (session `i` uses `seed + i`); `None` for entropy.
    /// Idempotency keys stay unique per run even with a seed.
    pub seed: Option<u64>,
    /// The toys sessions pick from (at least one).
    pub toys: Vec<String>,
    /// At most this many buys per second across every session (retries included); `None` for
    /// as fast as answers come.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Buys carry no Idempotency-Key, so the frontend may refuse one from a fresh cached
    /// quantity without a hop to the leader. Such a buy is sent once: after an ambiguous failure
    /// a second try could order twice.
    #[serde(default)]
    pub keyless: bool,
    /// Buy with probability `p` even when the query says the toy is sold out, as a client whose
    /// page predates the sell-out would; the store must refuse those buys.
    #[serde(default)]
    pub buy_sold_out: bool,
}

impl LoadConfig {
    /// The defaults of `toystore client` over `toys`: 5 sessions of 100 steps, p = 0.5, up to 3
    /// per order, no time bound, no seed.
    ///
    /// ```
    /// let config = tools::load::LoadConfig::new(vec!["Tux".into()]);
    /// assert_eq!((config.sessions, config.iterations, config.p), (5, Some(100), 0.5));
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn new(toys: Vec<String>) -> LoadConfig {
        LoadConfig {
            sessions: DEFAULT_SESSIONS,
            iterations: Some(DEFAULT_ITERATIONS),
            duration: None,
            p: DEFAULT_P,
            max_quantity: DEFAULT_MAX_QUANTITY,
            seed: None,
            toys,
            rate: None,
            keyless: false,
            buy_sold_out: false,
        }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// A message naming the field that is out of range.
    pub fn validate(&self) -> Result<(), ToolError> {
        let bad = |message: String| Err(ToolError::Options(message));
        if self.sessions == 0 {
            return bad("sessions must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.p) {
            return bad(format!("p must be between 0 and 1, not {}", self.p));
        }
        if !(common::MIN_ORDER_QUANTITY..=common::MAX_ORDER_QUANTITY).contains(&self.max_quantity) {
            return bad(format!(
                "max quantity must be {} to {}, not {}",
                common::MIN_ORDER_QUANTITY,
                common::MAX_ORDER_QUANTITY,
                self.max_quantity
            ));
        }
        if self.toys.is_empty() {
            return bad("there must be at least one toy to query".into());
        }
        if let Some(rate) = self.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
            return bad(format!(
                "rate must be a positive number of orders/s, not {rate}"
            ));
        }
        Ok(())
    }

    /// Steps planned in all, when the run is bounded by steps.
    pub fn planned_iterations(&self) -> Option<usize> {
        self.iterations.map(|i| i * self.sessions)
    }
}

/// One toy of a products file; only the name matters here.
#[derive(Deserialize)]
struct ProductEntry {
    name: String,
}

/// The toy names of a products file (`data/products.json`: `[{"name","price","quantity"}]`).
///
/// # Errors
/// The file cannot be read, is not such a list, or lists no toy.
pub fn toy_names(products: &Path) -> Result<Vec<String>, ToolError> {
    let text =
        std::fs::read_to_string(products).map_err(FileError::about("cannot read", products))?;
    let entries: Vec<ProductEntry> = serde_json::from_str(&text)
        .map_err(ToolError::format(products, "is not a products list"))?;
    if entries.is_empty() {
        return Err(ToolError::NoToys(products.to_path_buf()));
    }
    Ok(entries.into_iter().map(|e| e.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_fields_are_named() {
        let good = LoadConfig::new(vec!["Tux".into()]);
        let cases: [(&str, LoadConfig, &str); 6] = [
            (
                "no sessions",
                LoadConfig {
                    sessions: 0,
                    ..good.clone()
                },
                "sessions",
            ),
            (
                "p above 1",
                LoadConfig {
                    p: 1.5,
                    ..good.clone()
                },
                "p must",
            ),
            (
                "p NaN",
                LoadConfig {
                    p: f64::NAN,
                    ..good.clone()
                },
                "p must",
            ),
            (
                "quantity 0",
                LoadConfig {
                    max_quantity: 0,
                    ..good.clone()
                },
                "max quantity",
            ),
            (
                "no toys",
                LoadConfig {
                    toys: vec![],
                    ..good.clone()
                },
                "toy",
            ),
            (
                "rate 0",
                LoadConfig {
                    rate: Some(0.0),
                    ..good.clone()
                },
                "rate must",
            ),
        ];
        for (case, config, needle) in cases {
            let error = config.validate().expect_err(case).to_string();
            assert!(error.contains(needle), "{case}: {error}");
        }
    }

    #[test]
    fn the_shipped_products_file_has_toys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/products.json");
        let toys = toy_names(&path).expect("data/products.json");
        assert!(toys.iter().any(|t| t == "Rubik's Cube"), "{toys:?}");
    }
}
