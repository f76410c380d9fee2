//! How `toystore inspect` shows what it read: aligned text for people, JSON for scripts. Long
//! listings (orders, journal) are rendered one row at a time so the caller can stream them.

use serde::Serialize;
use std::fmt::Write;

use catalog::{Movement, MovementKind};
use common::{OrderEntry, ReplicaId};

use crate::catalog::CatalogSummary;
use crate::checks::show_entry;
use crate::diff::{LogDiff, LogSide};
use crate::dirs::CheckReport;
use crate::replica::ReplicaSummary;

/// `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("report types serialize: plain data, string keys")
}

/// `value` as one line of JSON, for streamed listings.
pub fn json_line<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("report types serialize: plain data, string keys")
}

fn replica_name(id: ReplicaId) -> String {
    match id {
        0 => "order replica (id unknown)".into(),
        id => format!("order replica {id}"),
    }
}

fn or_none<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "none".into(), |v| v.to_string())
}

/// The text of `toystore inspect REPLICA_DIR`.
pub fn replica_summary(s: &ReplicaSummary) -> String {
    let mut out = format!("{} at {}\n", replica_name(s.id), s.path.display());
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "  {label:<13} {value}");
    };
    line("epoch", s.epoch.to_string());
    line("log epoch", s.log_epoch.to_string());
    line(
        "commit index",
        format!("{} ({} entries committed)", or_none(s.commit), s.commit_len),
    );
    line("last number", or_none(s.last));
    let dense = if s.dense {
        ""
    } else {
        " (NOT DENSE: numbers skip; `toystore inspect check` shows where)"
    };
    line("entries", format!("{}{dense}", s.entries));
    line(
        "first entry",
        or_none(s.first_entry.as_ref().map(show_entry)),
    );
    line("last entry", or_none(s.last_entry.as_ref().map(show_entry)));
    line("digest", s.digest.clone());
    out
}

/// The text of `toystore inspect CATALOG_DIR`: toys with price, quantity and version.
pub fn catalog_summary(s: &CatalogSummary) -> String {
    let mut out = format!("the catalog at {}\n", s.path.display());
    let _ = writeln!(
        out,
        "  {:<20} {:>9} {:>9} {:>8}",
        "toy", "price", "quantity", "version"
    );
    for toy in &s.toys {
        let _ = writeln!(
            out,
            "  {:<20} {:>9} {:>9} {:>8}",
            toy.name, toy.price, toy.quantity, toy.version
        );
    }
    let _ = writeln!(
        out,
        "  {} toys; journal of {} movements",
        s.toys.len(),
        s.journal_len
    );
    out
}

/// The text of `toystore inspect stock CATALOG_DIR`: each toy with its journal totals.
pub fn stock(s: &CatalogSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9}",
        "toy", "price", "quantity", "initial", "version", "sold", "restocks"
    );
    for t in &s.toys {
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9}",
            t.name, t.price, t.quantity, t.initial_quantity, t.version, t.sold, t.restocks
        );
    }
    out
}

/// Header row of the orders listing.
pub fn orders_header() -> String {
    format!(
        "{:>8} {:>6} {:>8}  {:<20} request",
        "number", "epoch", "quantity", "toy"
    )
}

/// One row of the orders listing.
pub fn order_row(e: &OrderEntry) -> String {
    format!(
        "{:>8} {:>6} {:>8}  {:<20} {}",
        e.number, e.epoch, e.quantity, e.name, e.request_id
    )
}

/// A journal movement as one flat JSON object.
#[derive(Serialize)]
pub struct JournalRow<'a> {
    /// Sequence number in the journal.
    pub seq: u64,
    /// The toy.
    pub name: &'a str,
    /// `initial`, `buy` or `restock`.
    pub kind: &'static str,
    /// The buying request, for a buy.
    pub request_id: Option<&'a str>,
    /// Change of quantity.
    pub delta: i64,
    /// Quantity after the movement.
    pub quantity_after: u32,
    /// Version after the movement.
    pub version: u64,
}

impl<'a> JournalRow<'a> {
    /// The row of movement `seq`.
    pub fn new(seq: u64, m: &'a Movement) -> JournalRow<'a> {
        let (kind, request_id) = match &m.kind {
            MovementKind::Initial => ("initial", None),
            MovementKind::Buy { request_id } => ("buy", Some(request_id.0.as_str())),
            MovementKind::Restock => ("restock", None),
        };
        JournalRow {
            seq,
            name: &m.name,
            kind,
            request_id,
            delta: m.delta,
            quantity_after: m.quantity_after,
            version: m.version,
        }
    }
}

/// Header row of the journal listing.
pub fn journal_header() -> String {
    format!(
        "{:>8}  {:<8} {:<20} {:>6} {:>6} {:>8}  request",
        "seq", "movement", "toy", "delta", "after", "version"
    )
}

/// One row of the journal listing.
pub fn journal_row(row: &JournalRow) -> String {
    format!(
        "{:>8}  {:<8} {:<20} {:>+6} {:>6} {:>8}  {}",
        row.seq,
        row.kind,
        row.name,
        row.delta,
        row.quantity_after,
        row.version,
        row.request_id.unwrap_or("")
    )
}

fn side(label: &str, s: &LogSide) -> String {
    format!(
        "  {label}: {} at {}: {} entries, digest {}\n",
        replica_name(s.id),
        s.path.display(),
        s.entries,
        s.digest
    )
}

/// The text of `toystore inspect diff A B`.
pub fn diff(d: &LogDiff) -> String {
    let Some(number) = d.first_difference else {
        return format!(
            "identical: {} entries, digest {}\n{}{}",
            d.a.entries,
            d.a.digest,
            side("A", &d.a),
            side("B", &d.b)
        );
    };
    let held = |e: &Option<OrderEntry>| e.as_ref().map_or_else(|| "nothing".into(), show_entry);
    format!(
        "the logs differ first at number {number}\n  A holds {}\n  B holds {}\n{}{}",
        held(&d.a_holds),
        held(&d.b_holds),
        side("A", &d.a),
        side("B", &d.b)
    )
}

/// The text of `toystore inspect check DATA_ROOT`: one line per check with its figures, then each
/// violation indented under it.
pub fn check_report(r: &CheckReport) -> String {
    let ids: Vec<String> = r.replicas.iter().map(ToString::to_string).collect();
    let mut out = format!(
        "checked {}: the catalog and order replicas {}\n",
        r.data_root.display(),
        ids.join(", ")
    );
    for held in &r.held {
        let _ = writeln!(
            out,
            "warning: {} was in use by {}; its copy may be mid-write",
            held.path.display(),
            held.holder
        );
    }
    for check in &r.checks {
        let verdict = if check.passed { "PASS" } else { "FAIL" };
        let figures: Vec<String> = check
            .figures
            .iter()
            .map(|(label, value)| format!("{label}: {value}"))
            .collect();
        let _ = writeln!(out, "{verdict}  {:<24} {}", check.name, figures.join("; "));
        for violation in &check.violations {
            let _ = writeln!(out, "        - {violation}");
        }
    }
    let passed = r.checks.iter().filter(|c| c.passed).count();
    let _ = writeln!(out, "{passed} of {} checks passed", r.checks.len());
    out
}
