//! A check's outcome, and the accumulator the checks fill: figures, and evidence capped so a
//! log that diverges everywhere still gives a readable report.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Display;

/// At most this many violations are listed per check (the rest are counted), so a log that
/// diverges everywhere still gives a readable report.
pub const MAX_LISTED_VIOLATIONS: usize = 50;

/// The outcome of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Which check: one of the names in [`crate::checks`] ([`crate::checks::STOCK_CONSERVED`], …).
    pub name: &'static str,
    /// True exactly when `violations` is empty.
    pub passed: bool,
    /// What was checked, in numbers (entries compared, toys, digests).
    pub figures: BTreeMap<String, String>,
    /// One line of evidence per violation; past [`MAX_LISTED_VIOLATIONS`], a last line counts
    /// the rest.
    pub violations: Vec<String>,
}

/// Accumulates a [`CheckResult`].
pub(super) struct Check {
    name: &'static str,
    figures: BTreeMap<String, String>,
    violations: Vec<String>,
    unlisted: usize,
}

impl Check {
    pub(super) fn new(name: &'static str) -> Check {
        Check {
            name,
            figures: BTreeMap::new(),
            violations: Vec::new(),
            unlisted: 0,
        }
    }

    pub(super) fn figure(&mut self, label: impl Into<String>, value: impl Display) {
        self.figures.insert(label.into(), value.to_string());
    }

    pub(super) fn violation(&mut self, evidence: String) {
        if self.violations.len() < MAX_LISTED_VIOLATIONS {
            self.violations.push(evidence);
        } else {
            self.unlisted += 1;
        }
    }

    pub(super) fn finish(mut self) -> CheckResult {
        if self.unlisted > 0 {
            let more = format!("... and {} more violations", self.unlisted);
            self.violations.push(more);
        }
        CheckResult {
            name: self.name,
            passed: self.violations.is_empty(),
            figures: self.figures,
            violations: self.violations,
        }
    }
}
