//! Verification after a load run: every acknowledged order is read back and compared with what
//! the session asked for.

use futures_util::stream::{self, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use super::config::RequestKind;
use super::session::AckedOrder;
use super::stats::{new_histogram, record, KindSummary};
use client::ClientError;
use client::{Order, StoreClient};

/// Lookups in flight at once while verifying.
pub const VERIFY_CONCURRENCY: usize = 8;
/// Attempts of one lookup while the store is unreachable or unavailable.
pub const LOOKUP_ATTEMPTS: u32 = 3;
/// Pause before a lookup is sent again.
const LOOKUP_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// An acknowledged order that the store does not hold as acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Mismatch {
    /// The store holds another toy or quantity under the number.
    Differs {
        /// What the session asked for and was acknowledged.
        expected: AckedOrder,
        /// What the store holds under that number.
        found: Order,
    },
    /// The store acknowledged two different buys with one number: one of them is lost.
    SameNumber {
        /// The first buy acknowledged with the number.
        first: AckedOrder,
        /// Another buy acknowledged with it.
        second: AckedOrder,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Differs { expected, found } => write!(
                f,
                "order {}: bought {} x {:?} (key {}), the store holds {} x {:?}",
                expected.number,
                expected.quantity,
                expected.name,
                expected.key,
                found.quantity,
                found.name
            ),
            Mismatch::SameNumber { first, second } => write!(
                f,
                "order {} acknowledged twice: {} x {:?} (key {}) and {} x {:?} (key {})",
                first.number,
                first.quantity,
                first.name,
                first.key,
                second.quantity,
                second.name,
                second.key
            ),
        }
    }
}

/// An acknowledged order that could not be read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LookupFailure {
    /// The order.
    pub expected: AckedOrder,
    /// The last attempt's error ([`ClientError::NotFound`] means the order is lost).
    pub error: ClientError,
}

/// The outcome of [`verify`].
#[derive(Clone, Debug)]
pub struct Verification {
    /// Orders read back and compared.
    pub checked: usize,
    /// Orders that differ from what was acknowledged.
    pub mismatches: Vec<Mismatch>,
    /// Orders that could not be read back (after [`LOOKUP_ATTEMPTS`] attempts).
    pub lookup_failures: Vec<LookupFailure>,
    /// Lookup attempts that failed, retried ones included.
    pub failed_attempts: u64,
    /// Latency of every lookup attempt, in microseconds.
    pub latency: Histogram<u64>,
    /// Wall-clock time of the verification.
    pub elapsed: Duration,
}

impl Verification {
    /// Whether every acknowledged order was read back as acknowledged.
    pub fn is_ok(&self) -> bool {
        self.mismatches.is_empty() && self.lookup_failures.is_empty()
    }

    /// The lookups' table row.
    pub fn summary(&self) -> KindSummary {
        KindSummary::new(
            RequestKind::Lookup,
            &self.latency,
            self.failed_attempts,
            0,
            self.elapsed,
        )
    }
}

/// Reads every order in `orders` back through `client` ([`VERIFY_CONCURRENCY`] at a time) and
/// compares name and quantity; also reports two acknowledgements that share a number.
///
/// ```no_run
/// # async fn example(orders: Vec<tools::load::AckedOrder>) {
/// let store = client::StoreClient::new("http://127.0.0.1:8080");
/// let verification = tools::load::verify(&store, &orders).await;
/// for mismatch in &verification.mismatches {
///     eprintln!("{mismatch}");
/// }
/// # }
/// ```
pub async fn verify(client: &StoreClient, orders: &[AckedOrder]) -> Verification {
    verify_across(std::slice::from_ref(client), orders).await
}

/// [`verify`] over several frontends (the clients given to
/// [`run_load_spread`](super::run_load_spread), in the same order): each order is read back
/// through the frontend after the one that acknowledged it (`frontend + 1`, wrapping), so with
/// two or more every frontend reads back orders that another one placed: read after
/// acknowledge holds across frontends, not only on the one that answered the buy.
///
/// # Panics
/// If `clients` is empty (a caller's bug).
pub async fn verify_across(clients: &[StoreClient], orders: &[AckedOrder]) -> Verification {
    assert!(!clients.is_empty(), "verify_across needs a client");
    let start = Instant::now();
    let mut mismatches = duplicate_numbers(orders);
    let mut latency = new_histogram();
    let mut failed_attempts = 0;
    let mut lookup_failures = Vec::new();
    let mut checked = 0;
    let mut lookups = stream::iter(orders)
        .map(|expected| async move {
            let reader = &clients[(expected.frontend + 1) % clients.len()];
            (expected, lookup(reader, expected.number).await)
        })
        .buffer_unordered(VERIFY_CONCURRENCY);
    while let Some((expected, (answer, attempts))) = lookups.next().await {
        for (took, ok) in &attempts {
            record(&mut latency, *took);
            failed_attempts += u64::from(!ok);
        }
        match answer {
            Ok(found) => {
                checked += 1;
                if found.name != expected.name || found.quantity != expected.quantity {
                    mismatches.push(Mismatch::Differs {
                        expected: expected.clone(),
                        found,
                    });
                }
            }
            Err(error) => lookup_failures.push(LookupFailure {
                expected: expected.clone(),
                error,
            }),
        }
    }
    Verification {
        checked,
        mismatches,
        lookup_failures,
        failed_attempts,
        latency,
        elapsed: start.elapsed(),
    }
}

/// One order read back, retried while the store is unreachable; also each attempt's latency and
/// whether it succeeded.
async fn lookup(
    client: &StoreClient,
    number: common::OrderNumber,
) -> (Result<Order, ClientError>, Vec<(Duration, bool)>) {
    let mut attempts = Vec::new();
    loop {
        let sent = Instant::now();
        let answer = client.order(number).await;
        attempts.push((sent.elapsed(), answer.is_ok()));
        match &answer {
            Err(e) if e.is_retryable() && attempts.len() < LOOKUP_ATTEMPTS as usize => {
                tokio::time::sleep(LOOKUP_RETRY_PAUSE).await;
            }
            _ => return (answer, attempts),
        }
    }
}

/// Acknowledgements of different buys (different keys) that share a number.
fn duplicate_numbers(orders: &[AckedOrder]) -> Vec<Mismatch> {
    let mut first_by_number: HashMap<common::OrderNumber, &AckedOrder> = HashMap::new();
    let mut mismatches = Vec::new();
    for order in orders {
        match first_by_number.get(&order.number) {
            Some(first) if first.key != order.key => mismatches.push(Mismatch::SameNumber {
                first: (*first).clone(),
                second: order.clone(),
            }),
            Some(_) => {}
            None => {
                first_by_number.insert(order.number, order);
            }
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(number: u64, key: &str) -> AckedOrder {
        AckedOrder {
            number,
            name: "Tux".into(),
            quantity: 1,
            key: key.into(),
            frontend: 0,
            acked_at: Duration::ZERO,
        }
    }

    #[test]
    fn two_buys_with_one_number_are_a_mismatch() {
        let orders = [acked(0, "a"), acked(1, "b"), acked(1, "c"), acked(0, "a")];
        let found = duplicate_numbers(&orders);
        assert_eq!(
            found,
            vec![Mismatch::SameNumber {
                first: acked(1, "b"),
                second: acked(1, "c"),
            }]
        );
        assert!(found[0].to_string().contains("order 1 acknowledged twice"));
    }
}
