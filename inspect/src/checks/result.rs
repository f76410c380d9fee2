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
    /// What was checked, in numbers (entries compared, toys, digests), labelled in words; the
    /// JSON keys are the labels in snake_case.
    #[serde(serialize_with = "common::report_keys::snake_keys")]
    pub figures: BTreeMap<String, Figure>,
    /// One line of evidence per violation; past [`MAX_LISTED_VIOLATIONS`], a last line counts
    /// the rest.
    pub violations: Vec<String>,
}

/// One figure of a check: a count (a number in JSON) or a text (a digest, a replica's name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Figure {
    Count(i64),
    Text(String),
}

impl Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Figure::Count(n) => write!(f, "{n}"),
            Figure::Text(text) => f.write_str(text),
        }
    }
}

impl From<usize> for Figure {
    fn from(n: usize) -> Figure {
        Figure::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<u64> for Figure {
    fn from(n: u64) -> Figure {
        Figure::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<i64> for Figure {
    fn from(n: i64) -> Figure {
        Figure::Count(n)
    }
}

impl From<String> for Figure {
    fn from(text: String) -> Figure {
        Figure::Text(text)
    }
}

impl From<&str> for Figure {
    fn from(text: &str) -> Figure {
        Figure::Text(text.to_string())
    }
}

/// Accumulates a [`CheckResult`].
pub(super) struct Check {
    name: &'static str,
    figures: BTreeMap<String, Figure>,
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

    pub(super) fn figure(&mut self, label: impl Into<String>, value: impl Into<Figure>) {
        self.figures.insert(label.into(), value.into());
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
