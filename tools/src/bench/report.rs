//! What a bench run found: one [`Row`] per figure, each with its baseline, ratio and target where
//! it has them, the table `toystore bench` prints, and the JSON `--json` writes.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::baseline_disk::DiskBaseline;
use super::orders::OrderRun;

/// A figure's goal, from the table. Printed next to the figure; nothing fails on it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The value is at least this.
    AtLeast(f64),
    /// The value is at most this.
    AtMost(f64),
    /// The ratio to the baseline is at least this.
    RatioAtLeast(f64),
    /// The value is below this and no request failed.
    BelowWithoutErrors(f64),
}

impl Target {
    /// Whether `row` meets it; `None` when the row lacks what it needs (a ratio).
    pub fn met(self, row: &Row) -> Option<bool> {
        Some(match self {
            Target::AtLeast(bound) => row.value >= bound,
            Target::AtMost(bound) => row.value <= bound,
            Target::RatioAtLeast(bound) => row.ratio? >= bound,
            Target::BelowWithoutErrors(bound) => row.value < bound && row.errors == Some(0),
        })
    }

    /// As the table prints it, in the row's unit.
    pub fn text(self, unit: &str) -> String {
        match self {
            Target::AtLeast(bound) => format!("≥ {} {unit}", number(bound)),
            Target::AtMost(bound) => format!("≤ {} {unit}", number(bound)),
            Target::RatioAtLeast(bound) => format!("≥ {bound}× baseline"),
            Target::BelowWithoutErrors(bound) => format!("< {} {unit}, 0 errors", number(bound)),
        }
    }
}

/// One figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// What is measured, the same in every run: `durable_orders_per_s`, `catch_up_orders_per_s`…
    pub key: &'static str,
    /// The table's words for it.
    pub what: String,
    /// Concurrent connections, for the rows that depend on them.
    pub clients: Option<usize>,
    /// The preload level (orders asked to be in the log first), for the rows measured per level.
    pub preload: Option<u64>,
    /// Orders the leader's log held when the row was measured.
    pub log_orders: Option<u64>,
    pub value: f64,
    pub unit: &'static str,
    /// The same quantity measured on the baseline, in the same unit as `baseline_unit`.
    pub baseline: Option<f64>,
    /// What the baseline is: `sled flushes/s`, `bare warp GET/s`, `sled flush p50 ms`.
    pub baseline_unit: Option<&'static str>,
    /// `value / baseline`.
    pub ratio: Option<f64>,
    /// Requests that failed while it was measured, for the rows made of requests.
    pub errors: Option<u64>,
    pub target: Option<Target>,
    pub target_met: Option<bool>,
    /// Further numbers of the same measurement, snake_case names with their unit
    /// (`p99_ms`, `missed_orders`, `order_2_bytes_per_order`).
    pub detail: BTreeMap<String, f64>,
}

impl Row {
    /// A row of `value` in `unit` and nothing else; the builder methods add the rest.
    pub fn new(key: &'static str, what: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            key,
            what: what.into(),
            clients: None,
            preload: None,
            log_orders: None,
            value,
            unit,
            baseline: None,
            baseline_unit: None,
            ratio: None,
            errors: None,
            target: None,
            target_met: None,
            detail: BTreeMap::new(),
        }
    }

    /// Compared with `baseline` (in `unit`): sets the ratio.
    pub fn baseline(mut self, baseline: f64, unit: &'static str) -> Row {
        self.baseline = Some(baseline);
        self.baseline_unit = Some(unit);
        self.ratio = (baseline > 0.0).then(|| self.value / baseline);
        self.met()
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self.met()
    }

    pub fn errors(mut self, errors: u64) -> Row {
        self.errors = Some(errors);
        self.met()
    }

    pub fn clients(mut self, clients: usize) -> Row {
        self.clients = Some(clients);
        self
    }

    /// Measured at preload level `preload` with `log_orders` in the log.
    pub fn level(mut self, preload: u64, log_orders: u64) -> Row {
        self.preload = Some(preload);
        self.log_orders = Some(log_orders);
        self
    }

    pub fn detail(mut self, name: impl Into<String>, value: f64) -> Row {
        self.detail.insert(name.into(), value);
        self
    }

    fn met(mut self) -> Row {
        self.target_met = self.target.and_then(|t| t.met(&self));
        self
    }
}

/// How the run was made, for reading its figures later.
#[derive(Clone, Debug, Serialize)]
pub struct BenchSetup {
    pub quick: bool,
    pub debug_build: bool,
    pub cores: usize,
    /// The 1-minute load average before and after, from `/proc/loadavg`.
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub clients: Vec<usize>,
    pub seconds: f64,
    pub runs: usize,
    pub preload: Vec<u64>,
    /// The groups measured (`--only`), every one when all were.
    pub measured: Vec<String>,
    pub replicas: usize,
}

/// Everything a bench run found.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub setup: BenchSetup,
    pub rows: Vec<Row>,
    /// Every orders/s run, at every level and client count.
    pub order_runs: Vec<OrderRun>,
    /// The disk baseline at each preload level, in level order.
    pub disk_baselines: Vec<DiskBaseline>,
    pub total_seconds: f64,
}

impl BenchReport {
    /// The rows as an aligned text table, each row's `detail` numbers on an indented line below
    /// it.
    pub fn table(&self) -> String {
        let header = [
            "what", "preload", "log", "value", "unit", "baseline", "ratio", "errors", "target",
            "met",
        ];
        let cells: Vec<[String; 10]> = self.rows.iter().map(cells).collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |row: &[String; 10]| {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
                let pad = " ".repeat(width - cell.chars().count());
                // Text columns align left, numbers right.
                match i {
                    0 | 4 | 8 | 9 => line.push_str(&format!("{cell}{pad}  ")),
                    _ => line.push_str(&format!("{pad}{cell}  ")),
                }
            }
            line.trim_end().to_string()
        };
        let mut out = format!("{}\n", line(&header.map(String::from)));
        for (row, cells) in self.rows.iter().zip(&cells) {
            let _ = writeln!(out, "{}", line(cells));
            if !row.detail.is_empty() {
                let detail: Vec<String> = row
                    .detail
                    .iter()
                    .map(|(name, value)| format!("{name} {}", number(*value)))
                    .collect();
                let _ = writeln!(out, "    {}", detail.join(", "));
            }
        }
        out
    }
}

fn cells(row: &Row) -> [String; 10] {
    let or_dash = |cell: Option<String>| cell.unwrap_or_else(|| "-".into());
    let baseline = row
        .baseline
        .map(|b| format!("{} {}", number(b), row.baseline_unit.unwrap_or_default()));
    [
        row.what.clone(),
        or_dash(row.preload.map(|n| number(n as f64))),
        or_dash(row.log_orders.map(|n| number(n as f64))),
        number(row.value),
        row.unit.to_string(),
        or_dash(baseline),
        or_dash(row.ratio.map(|r| format!("{}×", number(r)))),
        or_dash(row.errors.map(|e| e.to_string())),
        or_dash(row.target.map(|t| t.text(row.unit))),
        or_dash(
            row.target_met
                .map(|m| if m { "yes" } else { "no" }.to_string()),
        ),
    ]
}

/// A number as the table prints it: thousands separated above 1,000, three significant digits
/// below.
pub(crate) fn number(value: f64) -> String {
    if value.abs() >= 1000.0 {
        let digits = format!("{:.0}", value.abs());
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if value < 0.0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if value.abs() >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_at_a_glance() {
        let cases = [
            (12_345.6, "12,346"),
            (1_000_000.0, "1,000,000"),
            (250.4, "250"),
            (42.0, "42"),
            (12.34, "12.3"),
            (1.234, "1.23"),
            (0.1234, "0.123"),
        ];
        for (value, text) in cases {
            assert_eq!(number(value), text, "{value}");
        }
    }

    #[test]
    fn targets_read_the_value_the_ratio_or_the_errors() {
        let row = |value| Row::new("k", "w", value, "ms");
        assert_eq!(row(9.0).target(Target::AtMost(10.0)).target_met, Some(true));
        assert_eq!(
            row(9.0).target(Target::AtLeast(10.0)).target_met,
            Some(false)
        );
        let ratio = row(96.0)
            .baseline(100.0, "x")
            .target(Target::RatioAtLeast(0.95));
        assert_eq!((ratio.ratio, ratio.target_met), (Some(0.96), Some(true)));
        let kill = row(40.0).target(Target::BelowWithoutErrors(50.0));
        assert_eq!(kill.clone().errors(0).target_met, Some(true));
        assert_eq!(kill.errors(1).target_met, Some(false));
    }
}
