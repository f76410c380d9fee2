//! What a load run measured: latency histograms per request kind, their summaries, the timeline
//! of every request, and the table `toystore client` prints.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::config::RequestKind;
use super::session::{AckedOrder, RequestFailure};
use client::ClientError;

/// Highest latency a histogram tells apart, in microseconds (a minute); slower requests are
/// recorded as this.
const HISTOGRAM_MAX_MICROS: u64 = 60_000_000;
/// Significant decimal digits the histograms keep (0.1% relative error).
const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram, in microseconds from 1 µs to a minute.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, HISTOGRAM_SIGNIFICANT_DIGITS)
        .expect("1 µs to a minute with 3 digits are valid histogram bounds")
}

/// Records one latency, clamped into the histogram's range.
pub(crate) fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, HISTOGRAM_MAX_MICROS));
}

/// Serde of a [`Duration`] as a number of seconds (`1.5`), for readable JSON.
pub(crate) mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// One request as it happened, for timelines (the failover figure). Times are seconds in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the request was sent, since the start of the run.
    #[serde(with = "seconds")]
    pub at: Duration,
    /// What it was.
    pub kind: RequestKind,
    /// How long until its answer (or its failure).
    #[serde(with = "seconds")]
    pub latency: Duration,
    /// Whether it succeeded; an out-of-stock answer counts as a success of the store here.
    pub ok: bool,
}

/// The numbers of one request kind: the table row of `toystore client`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindSummary {
    /// Which requests.
    pub kind: RequestKind,
    /// Requests sent, answered or not.
    pub count: u64,
    /// Requests that failed for any reason but "out of stock".
    pub errors: u64,
    /// Buys refused as out of stock: the store's correct answer, not an error.
    pub out_of_stock: u64,
    /// Latency percentiles and maximum in milliseconds, over every request sent.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p90_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// See `p50_ms`.
    pub max_ms: f64,
    /// Requests per second over the run's wall-clock time.
    pub throughput_per_s: f64,
}

impl KindSummary {
    /// The summary of `histogram` over `elapsed`, with the failures counted by the caller.
    pub fn new(
        kind: RequestKind,
        histogram: &Histogram<u64>,
        errors: u64,
        out_of_stock: u64,
        elapsed: Duration,
    ) -> KindSummary {
        let ms = |micros: u64| micros as f64 / 1000.0;
        let count = histogram.len();
        let seconds = elapsed.as_secs_f64();
        KindSummary {
            kind,
            count,
            errors,
            out_of_stock,
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
            throughput_per_s: if seconds > 0.0 {
                count as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// Everything one [`run_load`](super::run_load) saw.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Wall-clock time of the run.
    pub elapsed: Duration,
    /// Steps completed by all sessions together.
    pub iterations: usize,
    /// Steps whose toy was sold out (quantity 0), so no buy was tried unless
    /// [`LoadConfig::buy_sold_out`](super::LoadConfig::buy_sold_out).
    pub sold_out: usize,
    /// Every acknowledged order, in the order the acknowledgements arrived.
    pub orders: Vec<AckedOrder>,
    /// Every failed request, retried attempts included, in the order they failed.
    pub failures: Vec<RequestFailure>,
    /// Latency of every request sent, per kind, in microseconds.
    pub latency: BTreeMap<RequestKind, Histogram<u64>>,
    /// Latency of the buys the store refused as out of stock (also in `latency`): the answer
    /// the frontend's out-of-stock fast path shortens.
    pub refusals: Histogram<u64>,
    /// Every request, in the order they finished.
    pub timeline: Vec<Sample>,
}

impl LoadReport {
    /// The summary of one kind of request (zeros if none was sent).
    pub fn summary(&self, kind: RequestKind) -> KindSummary {
        let empty = new_histogram();
        let histogram = self.latency.get(&kind).unwrap_or(&empty);
        let of_kind = || self.failures.iter().filter(move |f| f.kind == kind);
        let out_of_stock = of_kind()
            .filter(|f| f.error == ClientError::OutOfStock)
            .count() as u64;
        let errors = of_kind().count() as u64 - out_of_stock;
        KindSummary::new(kind, histogram, errors, out_of_stock, self.elapsed)
    }

    /// The summary of the buys refused as out of stock alone.
    pub fn refusal_summary(&self) -> KindSummary {
        let count = self.refusals.len();
        KindSummary::new(RequestKind::Buy, &self.refusals, 0, count, self.elapsed)
    }

    /// Summaries of queries and buys, the two kinds a run makes.
    pub fn summaries(&self) -> Vec<KindSummary> {
        vec![
            self.summary(RequestKind::Query),
            self.summary(RequestKind::Buy),
        ]
    }

    /// Failed requests other than out-of-stock refusals: what a client would call errors.
    pub fn errors(&self) -> usize {
        self.failures
            .iter()
            .filter(|f| f.error != ClientError::OutOfStock)
            .count()
    }
}

/// The summaries as an aligned text table, one row per kind.
///
/// ```
/// use tools::load::{new_histogram, table, KindSummary, RequestKind};
/// use std::time::Duration;
/// let mut latencies = new_histogram();
/// latencies.record(1500).unwrap(); // 1.5 ms
/// let row = KindSummary::new(RequestKind::Query, &latencies, 0, 0, Duration::from_secs(1));
/// let text = table(&[row]);
/// assert!(text.lines().nth(1).unwrap().starts_with("query"), "{text}");
/// ```
pub fn table(summaries: &[KindSummary]) -> String {
    let mut out = format!(
        "{:<8} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
        "request", "count", "errors", "no stock", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
    );
    for s in summaries {
        let _ = writeln!(
            out,
            "{:<8} {:>8} {:>7} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10.1}",
            s.kind.name(),
            s.count,
            s.errors,
            s.out_of_stock,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.max_ms,
            s.throughput_per_s
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_percentiles_in_milliseconds() {
        let mut histogram = new_histogram();
        for ms in 1..=100 {
            record(&mut histogram, Duration::from_millis(ms));
        }
        let s = KindSummary::new(RequestKind::Buy, &histogram, 2, 1, Duration::from_secs(4));
        assert_eq!((s.count, s.errors, s.out_of_stock), (100, 2, 1));
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{}", s.p99_ms);
        assert!((s.max_ms - 100.0).abs() < 0.1, "{}", s.max_ms);
        assert!((s.throughput_per_s - 25.0).abs() < 1e-9);
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut histogram = new_histogram();
        record(&mut histogram, Duration::ZERO);
        record(&mut histogram, Duration::from_secs(3600));
        assert_eq!(histogram.len(), 2);
        assert_eq!(
            histogram.max(),
            histogram.highest_equivalent(HISTOGRAM_MAX_MICROS)
        );
    }
}
