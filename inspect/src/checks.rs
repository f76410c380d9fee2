//! The store's cross-service invariants, as plain functions over snapshots.
//!
//! Each check takes [`ReplicaSnapshot`]s and/or a [`CatalogSnapshot`], however they were built
//! (read from stopped services' directories by `toystore inspect check`, or gathered by a drill),
//! and returns a [`CheckResult`] whose violations carry the evidence: the numbers, request ids
//! and quantities that disagree. The checks do no I/O and never panic on any input.

use std::collections::{BTreeMap, HashMap};

use catalog::MovementKind;
use common::{OrderEntry, OrderNumber, RequestId};
use order::protocol::{best_log, LogSummary};

use crate::catalog::CatalogSnapshot;
use crate::replica::ReplicaSnapshot;

mod result;

use result::Check;
pub use result::{CheckResult, Figure, MAX_LISTED_VIOLATIONS};

/// Name of [`committed_entries_agree`].
pub const COMMITTED_AGREE: &str = "committed entries agree";
/// Name of [`numbers_dense`].
pub const NUMBERS_DENSE: &str = "numbers dense";
/// Name of [`one_order_per_request`].
pub const ONE_ORDER_PER_REQUEST: &str = "one order per request";
/// Name of [`stock_conserved`].
pub const STOCK_CONSERVED: &str = "stock conserved";
/// Name of [`buys_match_orders`].
pub const BUYS_MATCH_ORDERS: &str = "buys match orders";
/// Name of [`logs_identical`].
pub const LOGS_IDENTICAL: &str = "logs identical";

/// An entry as evidence: "#7: 2 Lego (epoch 3, request g-…)".
pub fn show_entry(entry: &OrderEntry) -> String {
    format!(
        "#{}: {} {} (epoch {}, request {})",
        entry.number, entry.quantity, entry.name, entry.epoch, entry.request_id
    )
}

fn show_held(entry: Option<&OrderEntry>) -> String {
    entry.map_or_else(|| "nothing".into(), show_entry)
}

/// The entry numbered `number`, wherever it sits (at its own index when the log is dense).
fn entry_at(replica: &ReplicaSnapshot, number: OrderNumber) -> Option<&OrderEntry> {
    let at_index = usize::try_from(number)
        .ok()
        .and_then(|i| replica.entries.get(i));
    match at_index {
        Some(entry) if entry.number == number => Some(entry),
        // Not dense (a violation of its own): entries are still in number order.
        _ => replica
            .entries
            .binary_search_by_key(&number, |e| e.number)
            .ok()
            .map(|i| &replica.entries[i]),
    }
}

/// The log the next leader would adopt, the highest `(log_epoch, length)` as
/// [`order::protocol::best_log`] decides: the reference for comparing the catalog with the orders.
pub fn reference_log(replicas: &[ReplicaSnapshot]) -> Option<&ReplicaSnapshot> {
    let summaries: Vec<LogSummary> = replicas
        .iter()
        .map(|r| LogSummary {
            log_epoch: r.log_epoch,
            len: r.entries.len() as u64,
        })
        .collect();
    best_log(&summaries).map(|i| &replicas[i])
}

/// **Agreement**: every number below the highest commit length any replica knows is held by some
/// replica, and every replica that holds it holds the same order. Stamps are compared too by the
/// digests; this check tolerates a differing stamp, which data written before entries were
/// copied unchanged may still hold.
pub fn committed_entries_agree(replicas: &[ReplicaSnapshot]) -> CheckResult {
    let mut check = Check::new(COMMITTED_AGREE);
    let knower = replicas.iter().max_by_key(|r| r.commit_len);
    let committed = knower.map_or(0, |r| r.commit_len);
    let knower = knower.map_or(0, |r| r.id);
    check.figure("replicas", replicas.len());
    check.figure("committed", committed);
    // Bounded by what is held, so a damaged huge commit length is one violation, not a hang.
    let held_len = replicas.iter().map(|r| r.entries.len() as u64).max();
    let held_len = held_len.unwrap_or(0).min(committed);
    if held_len < committed {
        check.violation(format!(
            "numbers {held_len}..{committed} are committed (replica {knower} knows {committed} \
             committed) but no replica holds them"
        ));
    }
    for number in 0..held_len {
        let held: Vec<_> = replicas
            .iter()
            .filter_map(|r| entry_at(r, number).map(|e| (r.id, e)))
            .collect();
        let Some(&(first_id, first)) = held.first() else {
            check.violation(format!(
                "number {number} is committed (replica {knower} knows {committed} committed) \
                 but no replica holds it"
            ));
            continue;
        };
        for &(id, entry) in &held[1..] {
            if !entry.same_order(first) {
                check.violation(format!(
                    "committed number {number}: replica {first_id} holds {}, replica {id} holds {}",
                    show_entry(first),
                    show_entry(entry)
                ));
            }
        }
    }
    check.finish()
}

/// **Density**: each replica's log is numbered exactly `0..len`, and holds every entry it counts as
/// committed.
pub fn numbers_dense(replicas: &[ReplicaSnapshot]) -> CheckResult {
    let mut check = Check::new(NUMBERS_DENSE);
    for replica in replicas {
        let id = replica.id;
        check.figure(format!("replica {id} entries"), replica.entries.len());
        let misplaced = replica
            .entries
            .iter()
            .zip(0u64..)
            .find(|(entry, position)| entry.number != *position);
        if let Some((entry, position)) = misplaced {
            let why = if entry.number > position {
                format!("numbers {position}..{} are missing", entry.number)
            } else {
                format!("number {} repeats or is out of order", entry.number)
            };
            check.violation(format!(
                "replica {id}: position {position} holds number {}: {why}",
                entry.number
            ));
        }
        let len = replica.entries.len() as u64;
        if replica.commit_len > len {
            check.violation(format!(
                "replica {id}: counts {} entries committed but holds {len}",
                replica.commit_len
            ));
        }
    }
    check.finish()
}

/// **Exactly once**: within each replica's log a request id has at most one number, and in the
/// catalog's journal at most one stock decrement.
pub fn one_order_per_request(
    catalog: &CatalogSnapshot,
    replicas: &[ReplicaSnapshot],
) -> CheckResult {
    let mut check = Check::new(ONE_ORDER_PER_REQUEST);
    for replica in replicas {
        let mut seen: HashMap<&RequestId, OrderNumber> = HashMap::new();
        for entry in &replica.entries {
            if let Some(first) = seen.insert(&entry.request_id, entry.number) {
                check.violation(format!(
                    "replica {}: request {} has orders {first} and {}",
                    replica.id, entry.request_id, entry.number
                ));
            }
        }
        check.figure(format!("replica {} requests", replica.id), seen.len());
    }
    let mut taken: HashMap<&RequestId, u64> = HashMap::new();
    for (seq, movement) in &catalog.journal {
        if let MovementKind::Buy { request_id } = &movement.kind {
            if let Some(first) = taken.insert(request_id, *seq) {
                check.violation(format!(
                    "catalog: request {request_id} took stock twice, journal {first} and {seq} \
                     ({} {})",
                    movement.delta.unsigned_abs(),
                    movement.name
                ));
            }
        }
    }
    check.figure("catalog buys", taken.len());
    check.finish()
}

/// Per toy, what the journal and an order log say about its stock. Sums saturate: damaged
/// values must give a violation, not an overflow panic.
#[derive(Default)]
struct Tally {
    initial: i64,
    restocked: i64,
    restocks: u64,
    journal_sold: i64,
    order_sold: i64,
    last_after: Option<u32>,
}

/// **Stock conservation**, per toy: initial quantity + restocks − units sold in `orders` equals
/// the quantity the catalog holds; and the journal's last movement leaves that quantity. `orders`
/// is normally the [`reference_log`]'s entries.
pub fn stock_conserved(catalog: &CatalogSnapshot, orders: &[OrderEntry]) -> CheckResult {
    let mut check = Check::new(STOCK_CONSERVED);
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for (_, movement) in &catalog.journal {
        let tally = tallies.entry(&movement.name).or_default();
        match movement.kind {
            MovementKind::Initial => tally.initial = tally.initial.saturating_add(movement.delta),
            MovementKind::Restock => {
                tally.restocked = tally.restocked.saturating_add(movement.delta);
                tally.restocks = tally.restocks.saturating_add(1);
            }
            MovementKind::Buy { .. } => {
                tally.journal_sold = tally.journal_sold.saturating_sub(movement.delta)
            }
        }
        tally.last_after = Some(movement.quantity_after);
    }
    for entry in orders {
        let tally = tallies.entry(&entry.name).or_default();
        tally.order_sold = tally.order_sold.saturating_add(i64::from(entry.quantity));
    }
    for name in catalog.products.keys() {
        tallies.entry(name).or_default();
    }
    let total = |f: fn(&Tally) -> i64| tallies.values().map(f).fold(0i64, i64::saturating_add);
    check.figure("toys", catalog.products.len());
    check.figure("sold in the order log", total(|t| t.order_sold));
    check.figure("sold in the journal", total(|t| t.journal_sold));
    check.figure(
        "restocks",
        tallies
            .values()
            .map(|t| t.restocks)
            .fold(0u64, u64::saturating_add),
    );
    for (name, t) in &tallies {
        let Some(record) = catalog.products.get(*name) else {
            check.violation(format!(
                "{name}: {} sold in the order log and {} in the journal, but the catalog has no \
                 such toy",
                t.order_sold, t.journal_sold
            ));
            continue;
        };
        let expected = t
            .initial
            .saturating_add(t.restocked)
            .saturating_sub(t.order_sold);
        if expected != i64::from(record.quantity) {
            check.violation(format!(
                "{name}: initial {} + restocked {} ({} restocks) - sold {} (order log) = \
                 {expected}, but the catalog holds {} (its journal records {} sold)",
                t.initial, t.restocked, t.restocks, t.order_sold, record.quantity, t.journal_sold
            ));
        }
        if let Some(after) = t.last_after.filter(|&a| a != record.quantity) {
            check.violation(format!(
                "{name}: the journal's last movement leaves {after}, but the catalog holds {}",
                record.quantity
            ));
        }
    }
    check.finish()
}

/// **Buys match orders**: every buy in the catalog's journal has an order with its request id in
/// `orders`, for the same toy and quantity, and every order has its buy. `orders` is normally the
/// [`reference_log`]'s entries.
pub fn buys_match_orders(catalog: &CatalogSnapshot, orders: &[OrderEntry]) -> CheckResult {
    let mut check = Check::new(BUYS_MATCH_ORDERS);
    let mut buys = Vec::new();
    let mut buy_of = HashMap::new();
    for (seq, movement) in &catalog.journal {
        if let MovementKind::Buy { request_id } = &movement.kind {
            buys.push((request_id, *seq, movement));
            buy_of.entry(request_id).or_insert((*seq, movement));
        }
    }
    let order_of: HashMap<&RequestId, &OrderEntry> =
        orders.iter().map(|e| (&e.request_id, e)).collect();
    check.figure("buys", buys.len());
    check.figure("orders", orders.len());
    for order in orders {
        match buy_of.get(&order.request_id) {
            None => check.violation(format!(
                "order {} has no buy in the catalog's journal",
                show_entry(order)
            )),
            Some((seq, buy)) => {
                let took = buy.delta.unsigned_abs();
                if buy.name != order.name || took != u64::from(order.quantity) {
                    check.violation(format!(
                        "order {} but its buy (journal {seq}) took {took} {}",
                        show_entry(order),
                        buy.name
                    ));
                }
            }
        }
    }
    for (request_id, seq, buy) in buys {
        if !order_of.contains_key(request_id) {
            check.violation(format!(
                "the catalog took {} {} for request {request_id} (journal {seq}), but no order \
                 has that request",
                buy.delta.unsigned_abs(),
                buy.name
            ));
        }
    }
    check.finish()
}

/// The first number at which two logs differ (an entry missing on one side counts), `None` when
/// they are identical. Epoch stamps count: this compares what the digests hash.
pub fn first_difference(a: &[OrderEntry], b: &[OrderEntry]) -> Option<OrderNumber> {
    let same_prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    (same_prefix < a.len().max(b.len())).then(|| {
        a.get(same_prefix)
            .or(b.get(same_prefix))
            .map_or(same_prefix as u64, |e| e.number)
    })
}

/// **Convergence**: every replica's log has the same digest as the [`reference_log`]. Run it once
/// all replicas are up and caught up (after a drill); while one lags, it fails by design.
pub fn logs_identical(replicas: &[ReplicaSnapshot]) -> CheckResult {
    let mut check = Check::new(LOGS_IDENTICAL);
    let digests: Vec<String> = replicas.iter().map(ReplicaSnapshot::digest).collect();
    for (replica, digest) in replicas.iter().zip(&digests) {
        let len = replica.entries.len();
        check.figure(
            format!("replica {} digest", replica.id),
            format!("{digest} ({len} entries)"),
        );
    }
    // Each differing replica is compared with the reference log, so a replica that lags is the
    // one named, not every replica that is ahead of it.
    let Some(reference) = reference_log(replicas) else {
        return check.finish();
    };
    let expected = reference.digest();
    for (replica, digest) in replicas.iter().zip(&digests) {
        if *digest == expected {
            continue;
        }
        let at = first_difference(&reference.entries, &replica.entries);
        let detail = at.map_or_else(String::new, |n| {
            format!(
                ", first at number {n}: replica {} holds {}, replica {} holds {}",
                replica.id,
                show_held(entry_at(replica, n)),
                reference.id,
                show_held(entry_at(reference, n))
            )
        });
        check.violation(format!(
            "replica {} ({} entries, digest {digest}) differs from replica {} ({} entries, \
             digest {expected}){detail}",
            replica.id,
            replica.entries.len(),
            reference.id,
            reference.entries.len(),
        ));
    }
    check.finish()
}

/// Every check, in a fixed order, comparing the catalog with the [`reference_log`].
pub fn all(catalog: &CatalogSnapshot, replicas: &[ReplicaSnapshot]) -> Vec<CheckResult> {
    let reference = reference_log(replicas);
    let orders = reference.map_or(&[][..], |r| &r.entries[..]);
    let mut against_orders = [
        stock_conserved(catalog, orders),
        buys_match_orders(catalog, orders),
    ];
    if let Some(reference) = reference {
        for result in &mut against_orders {
            let log = format!("replica {}", reference.id);
            result.figures.insert("order log of".into(), log.into());
        }
    }
    let [stock, buys] = against_orders;
    vec![
        committed_entries_agree(replicas),
        numbers_dense(replicas),
        one_order_per_request(catalog, replicas),
        stock,
        buys,
        logs_identical(replicas),
    ]
}

#[cfg(test)]
mod tests;
