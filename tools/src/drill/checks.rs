//! The drill's own checks, on what the clients saw; the checks on what the services hold are
//! `inspect::checks`.

use super::summary::FailureSummary;
use crate::load::{RequestFailure, Verification};
use client::ClientError;
use inspect::checks::{CheckResult, Figure};
use std::collections::BTreeMap;
use std::time::Duration;

/// Check name: every acknowledged order reads back with the same content.
pub const ACKED_ORDERS_READ_BACK: &str = "acknowledged orders read back";
/// Check name: no client error while only order replicas were down.
pub const NO_REPLICA_CRASH_ERRORS: &str = "no client error from replica crashes";

/// A span during which a service whose failures clients may see (frontend, catalog) was down,
/// with the name the errors are filed under.
#[derive(Clone, Debug)]
pub struct Outage {
    pub service: String,
    pub from: Duration,
    pub to: Duration,
}

/// How long after a frontend or catalog is ready again its errors are still blamed on it (a
/// request sent just before it came back may fail just after).
pub const OUTAGE_GRACE: Duration = Duration::from_secs(2);

/// Every acknowledged order read back as acknowledged; with `frontends` above 1 each was read
/// through another frontend than the one that acknowledged it.
pub fn acked_orders_read_back(verification: &Verification, frontends: usize) -> CheckResult {
    let mut violations: Vec<String> = verification
        .mismatches
        .iter()
        .map(|m| m.to_string())
        .collect();
    violations.extend(verification.lookup_failures.iter().map(|f| {
        format!(
            "order {} ({} x {:?}) not read back: {}",
            f.expected.number, f.expected.quantity, f.expected.name, f.error
        )
    }));
    let mut figures = BTreeMap::new();
    figures.insert(
        "orders read back".to_string(),
        Figure::from(verification.checked),
    );
    let through = match frontends {
        1 => "the frontend that placed them".to_string(),
        n => format!("another of {n} frontends than the one that placed them"),
    };
    figures.insert("read through".to_string(), Figure::Text(through));
    CheckResult {
        name: ACKED_ORDERS_READ_BACK,
        passed: violations.is_empty(),
        figures,
        violations,
    }
}

/// Files every failure (out-of-stock refusals excluded) under the outage it fell in, or under
/// "order replicas" when none did: those are the errors the store promises never happen, and
/// the check's violations are their [`FailureSummary`] (a few lines however many there are).
pub fn classify_errors(
    failures: &[RequestFailure],
    outages: &[Outage],
) -> (BTreeMap<String, usize>, CheckResult) {
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    errors.insert("order replicas".into(), 0);
    let mut unexcused = Vec::new();
    for failure in client_visible(failures) {
        let outage = outages
            .iter()
            .find(|o| o.from <= failure.at && failure.at <= o.to + OUTAGE_GRACE);
        match outage {
            Some(outage) => *errors.entry(outage.service.clone()).or_default() += 1,
            None => {
                *errors.entry("order replicas".into()).or_default() += 1;
                unexcused.push(failure);
            }
        }
    }
    let mut figures = BTreeMap::new();
    for (service, count) in &errors {
        figures.insert(format!("errors while {service} down"), Figure::from(*count));
    }
    let check = CheckResult {
        name: NO_REPLICA_CRASH_ERRORS,
        passed: unexcused.is_empty(),
        figures,
        violations: FailureSummary::of(unexcused).lines(),
    };
    (errors, check)
}

/// The failures a client sees as errors: all but out-of-stock refusals, which are the store's
/// right answer to sessions racing for the last items.
pub fn client_visible(failures: &[RequestFailure]) -> impl Iterator<Item = &RequestFailure> {
    failures
        .iter()
        .filter(|f| f.error != ClientError::OutOfStock)
}

/// Check name: no service panicked (a panic in a request handler leaves the process running,
/// so only its stderr tells).
pub const NO_PANICS: &str = "no service panicked";

/// Looks for Rust panic messages in each service's captured stderr.
pub fn no_service_panicked(stderr_files: &[(String, std::path::PathBuf)]) -> CheckResult {
    let mut violations = Vec::new();
    for (service, path) in stderr_files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let panics: Vec<&str> = text.lines().filter(|l| l.contains("panicked at")).collect();
        if let Some(first) = panics.first() {
            violations.push(format!(
                "{service}: {} panics, the first: {first}",
                panics.len()
            ));
        }
    }
    let mut figures = BTreeMap::new();
    figures.insert(
        "services read".to_string(),
        Figure::from(stderr_files.len()),
    );
    CheckResult {
        name: NO_PANICS,
        passed: violations.is_empty(),
        figures,
        violations,
    }
}
