//! A drill's failed requests in a bounded number of lines: counted by kind, grouped into the
//! time windows they came in, and the first few listed. An outage can fail tens of thousands of
//! requests; the report must still fit on a screen and say when and what.

use crate::load::RequestFailure;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Failures less than this apart fall in one window.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Failures listed one by one, from the first.
pub const LISTED_FAILURES: usize = 5;
/// Windows listed, from the first; the rest are counted.
pub const LISTED_WINDOWS: usize = 10;

/// A span of the drill in which requests failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailureWindow {
    /// Seconds since the drill started, of the window's first and last failure.
    pub from_s: f64,
    pub to_s: f64,
    pub failures: usize,
}

/// Failed requests, summarised.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FailureSummary {
    pub total: usize,
    /// Counts by request and error kind (`buy transport`; `buy_transport` in JSON).
    #[serde(serialize_with = "common::report_keys::snake_keys")]
    pub by_kind: BTreeMap<String, usize>,
    /// The first [`LISTED_WINDOWS`] windows.
    pub windows: Vec<FailureWindow>,
    /// Windows beyond those listed.
    pub windows_unlisted: usize,
    /// The first [`LISTED_FAILURES`] failures, one line each.
    pub first: Vec<String>,
}

impl FailureSummary {
    /// The summary of `failures`, taken in the order they came.
    pub fn of<'a>(failures: impl IntoIterator<Item = &'a RequestFailure>) -> FailureSummary {
        let mut failures: Vec<&RequestFailure> = failures.into_iter().collect();
        failures.sort_by_key(|f| f.at);
        let mut summary = FailureSummary {
            total: failures.len(),
            ..FailureSummary::default()
        };
        let mut windows: Vec<FailureWindow> = Vec::new();
        for failure in &failures {
            let kind = format!("{} {}", failure.kind.name(), failure.error.kind());
            *summary.by_kind.entry(kind).or_default() += 1;
            let at = failure.at.as_secs_f64();
            match windows.last_mut() {
                Some(w) if at - w.to_s < WINDOW.as_secs_f64() => {
                    w.to_s = at;
                    w.failures += 1;
                }
                _ => windows.push(FailureWindow {
                    from_s: at,
                    to_s: at,
                    failures: 1,
                }),
            }
        }
        summary.windows_unlisted = windows.len().saturating_sub(LISTED_WINDOWS);
        windows.truncate(LISTED_WINDOWS);
        summary.windows = windows;
        summary.first = failures
            .iter()
            .take(LISTED_FAILURES)
            .map(|f| describe(f))
            .collect();
        summary
    }

    /// The summary for a terminal: at most 3 + [`LISTED_WINDOWS`] + [`LISTED_FAILURES`] lines,
    /// however many requests failed; none when none did.
    pub fn lines(&self) -> Vec<String> {
        if self.total == 0 {
            return Vec::new();
        }
        let kinds: Vec<String> = self
            .by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let mut lines = vec![format!(
            "{} failed requests: {}",
            self.total,
            kinds.join(", ")
        )];
        lines.extend(self.windows.iter().map(|w| {
            format!(
                "{} failed from {:.3} s to {:.3} s",
                w.failures, w.from_s, w.to_s
            )
        }));
        if self.windows_unlisted > 0 {
            lines.push(format!("... and {} more windows", self.windows_unlisted));
        }
        lines.push(format!("the first {} of {}:", self.first.len(), self.total));
        lines.extend(self.first.iter().map(|line| format!("  {line}")));
        lines
    }
}

/// One failure in a line.
pub fn describe(failure: &RequestFailure) -> String {
    format!(
        "{} at {:.3} s failed: {}",
        failure.kind.name(),
        failure.at.as_secs_f64(),
        failure.error
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::RequestKind;
    use client::ClientError;

    fn failure(kind: RequestKind, error: ClientError, at_ms: u64) -> RequestFailure {
        RequestFailure {
            kind,
            error,
            at: Duration::from_millis(at_ms),
        }
    }

    #[test]
    fn an_outage_of_many_failures_is_a_few_lines_grouped_by_kind_and_window() {
        let refused = || ClientError::Transport("connection refused".into());
        // A one-second outage at 10 s hammered by four sessions, a lone 503 at 20 s, then 30
        // short bursts 2 s apart from 30 s on: windows past the tenth are counted, not listed.
        let mut failures: Vec<RequestFailure> = (0..40_000)
            .map(|i| failure(RequestKind::Query, refused(), 10_000 + i / 40))
            .collect();
        failures.push(failure(
            RequestKind::Buy,
            ClientError::Unavailable("no majority".into()),
            20_000,
        ));
        failures.extend((0..30).map(|i| failure(RequestKind::Buy, refused(), 30_000 + 2_000 * i)));
        failures.reverse();

        let summary = FailureSummary::of(&failures);
        assert_eq!(summary.total, 40_031);
        let kinds: Vec<(&str, usize)> = summary
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        assert_eq!(
            kinds,
            [
                ("buy transport", 30),
                ("buy unavailable", 1),
                ("query transport", 40_000)
            ]
        );
        assert_eq!(
            summary.windows[0],
            FailureWindow {
                from_s: 10.0,
                to_s: 10.999,
                failures: 40_000
            }
        );
        assert_eq!(summary.windows[1].failures, 1);
        assert_eq!(summary.windows[2].from_s, 30.0);
        assert_eq!(summary.windows.len(), LISTED_WINDOWS);
        assert_eq!(summary.windows_unlisted, 32 - LISTED_WINDOWS);
        assert_eq!(summary.first.len(), LISTED_FAILURES);
        assert_eq!(
            summary.first[0],
            "query at 10.000 s failed: transport: connection refused"
        );

        let lines = summary.lines();
        assert!(
            lines.len() <= 3 + LISTED_WINDOWS + LISTED_FAILURES,
            "{lines:#?}"
        );
        assert_eq!(
            lines[0],
            "40031 failed requests: buy transport 30, buy unavailable 1, query transport 40000"
        );
        assert_eq!(lines[1], "40000 failed from 10.000 s to 10.999 s");
        assert!(lines.contains(&"... and 22 more windows".to_string()));

        let json = serde_json::to_value(&summary).expect("plain data");
        assert_eq!(json["by_kind"]["query_transport"], 40_000);
        assert_eq!(json["windows"][0]["failures"], 40_000);
    }

    #[test]
    fn no_failure_is_no_line() {
        assert!(FailureSummary::of(&[]).lines().is_empty());
    }
}
