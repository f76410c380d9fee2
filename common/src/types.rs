//! Domain types shared by every service.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Id of an order replica (1, 2, 3 in the default cluster). Higher ids are preferred as leader.
pub type ReplicaId = u32;
/// Id of a frontend instance.
pub type FrontendId = u32;
/// A leader term. Every leader choice gets a fresh, higher epoch; every log entry records the epoch
/// of the leader that first wrote it (entries are copied as they are, never restamped).
pub type Epoch = u64;

/// The largest epoch a replica accepts. Far above anything elections reach, and far below
/// `u64::MAX`, so that `epoch + 1` never overflows anywhere; a larger one is a 400.
pub const MAX_EPOCH: Epoch = 1 << 48;
/// The longest a log may grow; numbers and lengths past it are a 400, so arithmetic on them never
/// wraps.
pub const MAX_LOG_LEN: u64 = 1 << 48;
/// Position of an order in the replicated log. Numbers are dense from 0.
pub type OrderNumber = u64;
/// Version of a catalog product; grows with every stock change.
pub type Version = u64;
/// A price in integer cents.
pub type Cents = u64;

/// The smallest and largest quantity one order may ask for.
pub const MIN_ORDER_QUANTITY: u32 = 1;
/// See [`MIN_ORDER_QUANTITY`].
pub const MAX_ORDER_QUANTITY: u32 = 1000;

/// Identity of one client request, used for deduplication end to end: the catalog records the
/// outcome of `buy` under it and the order log maps it to the number it was given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub String);

impl RequestId {
    /// A fresh id, for requests that came without an idempotency key: the milliseconds since
    /// the Unix epoch in the high 48 bits and 80 random bits below (as a UUIDv7 lays them out),
    /// so ids made one after another sort together and each batch of new orders touches one
    /// corner of the log's request index instead of all of it (less to write, less on disk).
    pub fn fresh() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64 & ((1 << 48) - 1));
        let random = rand::random::<u128>() & ((1 << 80) - 1);
        RequestId(format!("g-{:032x}", (u128::from(millis) << 80) | random))
    }

    /// The id for a client-supplied idempotency key. The prefix keeps client keys and generated
    /// ids from ever colliding.
    pub fn from_idempotency_key(key: &str) -> Self {
        RequestId(format!("k-{key}"))
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A toy as the catalog holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub name: String,
    pub price_cents: Cents,
    pub quantity: u32,
    pub version: Version,
}

/// One order in the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEntry {
    pub number: OrderNumber,
    /// Epoch of the leader that first wrote this entry.
    pub epoch: Epoch,
    pub request_id: RequestId,
    pub name: String,
    pub quantity: u32,
}

impl OrderEntry {
    /// Whether two entries describe the same order, whatever epoch stamped them.
    pub fn same_order(&self, other: &OrderEntry) -> bool {
        self.number == other.number
            && self.request_id == other.request_id
            && self.name == other.name
            && self.quantity == other.quantity
    }
}

/// A price that is not a non-negative decimal with at most two places.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("price {0:?} is not a non-negative decimal with at most two places")]
pub struct BadPrice(pub String);

/// Formats cents as a decimal with two places: 2599 → "25.99".
pub fn format_cents(cents: Cents) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Parses a decimal price with at most two places ("25.99", "10", "3.5") into cents.
///
/// # Errors
/// A negative, non-numeric or over-precise price.
pub fn parse_cents(text: &str) -> Result<Cents, BadPrice> {
    let bad = || BadPrice(text.to_string());
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return Err(bad());
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_round_trip() {
        for (text, cents) in [("25.99", 2599), ("10", 1000), ("3.5", 350), ("0.07", 7)] {
            assert_eq!(parse_cents(text), Ok(cents), "{text}");
        }
        assert_eq!(format_cents(2599), "25.99");
        assert_eq!(format_cents(1000), "10.00");
        assert_eq!(format_cents(7), "0.07");
        for bad in ["", "-1", "1.234", "a", "1.a", ".5"] {
            assert!(parse_cents(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn fresh_ids_made_later_sort_later_and_never_repeat() {
        let first = RequestId::fresh();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later: Vec<RequestId> = (0..1000).map(|_| RequestId::fresh()).collect();
        assert!(later.iter().all(|id| *id > first), "{first} then {later:?}");
        assert!(later
            .iter()
            .all(|id| id.0.len() == 34 && id.0.starts_with("g-")));
        let distinct: std::collections::BTreeSet<&RequestId> = later.iter().collect();
        assert_eq!(distinct.len(), later.len());
    }
}
