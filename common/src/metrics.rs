//! What every service counts, and its Prometheus text exposition (`GET /metrics`, format 0.0.4).
//!
//! Counting is plain atomics: a [`Histogram`] is a fixed row of atomic buckets built once, so
//! observing takes no lock and allocates nothing. Only rendering (one scrape) builds a string.
//! Each service keeps its own counters (nothing here is global) and renders them with an
//! [`Exposition`], which names every family under the service's prefix and starts with the
//! `toystore_build_info` gauge.

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Content type of `GET /metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Upper bounds (nanoseconds) of every latency histogram; `+Inf` is implied. They start at 50 µs
/// because a cache hit, a flush of a few entries and a catalog read take well under the 5 ms a
/// coarser first bucket would lump them in, and reach seconds for a failover.
pub const LATENCY_BOUNDS_NANOS: [u64; 15] = [
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
];

/// Nanoseconds per second, the unit latency histograms are rendered in.
const NANOS_PER_SECOND: f64 = 1e9;

/// The version and commit a binary was built from, shown as `toystore_build_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: &'static str,
    pub commit: &'static str,
}

/// Adds one to a counter. Relaxed is enough: counters are independent tallies.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A histogram over whole numbers (nanoseconds, entries), with fixed bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// Divides a bound or the sum into the rendered unit (1e9 for seconds from nanoseconds).
    scale: f64,
    /// Per bucket, not cumulative; the last slot is `+Inf`.
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram of `bounds` (ascending), rendered divided by `scale`.
    pub fn new(bounds: &'static [u64], scale: f64) -> Histogram {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must ascend: {bounds:?}"
        );
        Histogram {
            bounds,
            scale,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// A latency histogram in seconds over [`LATENCY_BOUNDS_NANOS`].
    pub fn latency() -> Histogram {
        Histogram::new(&LATENCY_BOUNDS_NANOS, NANOS_PER_SECOND)
    }

    /// Records one value.
    pub fn observe(&self, value: u64) {
        let slot = self.bounds.partition_point(|&le| le < value);
        bump(&self.buckets[slot]);
        bump(&self.count);
        add(&self.sum, value);
    }

    /// Records one duration (latency histograms).
    pub fn observe_duration(&self, elapsed: Duration) {
        self.observe(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Values recorded so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// One scrape's text. Families are named `{prefix}{name}`; every label value given here is a
/// fixed word or a number, so none needs escaping.
pub struct Exposition {
    prefix: &'static str,
    out: String,
}

impl Exposition {
    /// A new text for `service`, opening with `toystore_build_info{version,commit,service} 1`.
    pub fn new(prefix: &'static str, service: &str, build: BuildInfo) -> Exposition {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP toystore_build_info The version and commit this process was built from.\n\
             # TYPE toystore_build_info gauge\n\
             toystore_build_info{{version=\"{}\",commit=\"{}\",service=\"{service}\"}} 1",
            build.version, build.commit
        );
        Exposition { prefix, out }
    }

    /// `# HELP` and `# TYPE` of a family.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let prefix = self.prefix;
        let _ = writeln!(self.out, "# HELP {prefix}{name} {help}");
        let _ = writeln!(self.out, "# TYPE {prefix}{name} {kind}");
    }

    /// One sample; `labels` is `a="x",b="y"` or empty.
    pub fn sample(&mut self, name: &str, labels: &str, value: impl Display) {
        let prefix = self.prefix;
        if labels.is_empty() {
            let _ = writeln!(self.out, "{prefix}{name} {value}");
        } else {
            let _ = writeln!(self.out, "{prefix}{name}{{{labels}}} {value}");
        }
    }

    /// A family of one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, "", value);
    }

    /// A counter family of one unlabelled sample.
    pub fn counter(&mut self, name: &str, help: &str, value: &AtomicU64) {
        self.single(name, "counter", help, value.load(Ordering::Relaxed));
    }

    /// A gauge family of one unlabelled sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.single(name, "gauge", help, value);
    }

    /// A histogram family with one histogram per label set (`labels` as in [`Self::sample`]).
    pub fn histograms<'a>(
        &mut self,
        name: &str,
        help: &str,
        each: impl IntoIterator<Item = (String, &'a Histogram)>,
    ) {
        self.family(name, "histogram", help);
        for (labels, histogram) in each {
            self.histogram_samples(name, &labels, histogram);
        }
    }

    /// A histogram family of one unlabelled histogram.
    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.histograms(name, help, [(String::new(), histogram)]);
    }

    fn histogram_samples(&mut self, name: &str, labels: &str, h: &Histogram) {
        let bucket = format!("{name}_bucket");
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, count) in h.buckets.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = h
                .bounds
                .get(i)
                .map_or("+Inf".to_string(), |&le| (le as f64 / h.scale).to_string());
            self.sample(&bucket, &format!("{labels}{sep}le=\"{le}\""), cumulative);
        }
        let sum = h.sum.load(Ordering::Relaxed) as f64 / h.scale;
        self.sample(&format!("{name}_sum"), labels, sum);
        // The count is the +Inf bucket, so the two agree even while observations race a scrape.
        self.sample(&format!("{name}_count"), labels, cumulative);
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: BuildInfo = BuildInfo {
        version: "0.1.0",
        commit: "abc",
    };

    #[test]
    fn latency_buckets_start_at_50_microseconds_and_are_cumulative() {
        let h = Histogram::latency();
        h.observe_duration(Duration::from_micros(20));
        h.observe_duration(Duration::from_micros(50));
        h.observe_duration(Duration::from_micros(700));
        h.observe_duration(Duration::from_secs(60));
        let mut text = Exposition::new("toystore_x_", "x", BUILD);
        text.histogram("wait_seconds", "Waits.", &h);
        let text = text.finish();
        for want in [
            "toystore_build_info{version=\"0.1.0\",commit=\"abc\",service=\"x\"} 1",
            "# TYPE toystore_x_wait_seconds histogram",
            "toystore_x_wait_seconds_bucket{le=\"0.00005\"} 2",
            "toystore_x_wait_seconds_bucket{le=\"0.0001\"} 2",
            "toystore_x_wait_seconds_bucket{le=\"0.001\"} 3",
            "toystore_x_wait_seconds_bucket{le=\"2.5\"} 3",
            "toystore_x_wait_seconds_bucket{le=\"+Inf\"} 4",
            "toystore_x_wait_seconds_sum 60.00077",
            "toystore_x_wait_seconds_count 4",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
    }

    #[test]
    fn labelled_histograms_put_le_last() {
        static BOUNDS: [u64; 2] = [1, 10];
        let h = Histogram::new(&BOUNDS, 1.0);
        h.observe(10);
        h.observe(11);
        let mut text = Exposition::new("p_", "x", BUILD);
        text.histograms("size", "Sizes.", [("k=\"v\"".to_string(), &h)]);
        let text = text.finish();
        for want in [
            "p_size_bucket{k=\"v\",le=\"1\"} 0",
            "p_size_bucket{k=\"v\",le=\"10\"} 1",
            "p_size_bucket{k=\"v\",le=\"+Inf\"} 2",
            "p_size_sum{k=\"v\"} 21",
            "p_size_count{k=\"v\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
    }
}
