//! What the frontend counts, and its Prometheus text rendering (`GET /metrics`, format 0.0.4).
//!
//! Counters are plain atomics written by whoever does the counted thing (the cache, the leader
//! tracker, the request wrapper); nothing here is global, one [`Metrics`] is built in `run`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets; `+Inf` is implied. Chosen around
/// a cache hit (well under 5 ms), a catalog read, an order commit, and a failover (seconds).
pub(crate) const LATENCY_BUCKETS: [f64; 6] = [0.005, 0.025, 0.1, 0.5, 2.5, 10.0];

/// Every count the frontend exposes.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Latency histogram by (route, status).
    requests: Mutex<BTreeMap<(&'static str, u16), Histogram>>,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_evictions: AtomicU64,
    pub cache_invalidations: AtomicU64,
    /// Fills refused because an invalidation (or a newer cached version) made them stale.
    pub cache_stale_fills: AtomicU64,
    pub elections: AtomicU64,
    pub leader_changes: AtomicU64,
    /// Id of the current order leader, 0 while there is none.
    pub leader_id: AtomicU64,
    /// Epoch of the current (or last) order leader.
    pub leader_epoch: AtomicU64,
    /// Order calls retried after a non-deterministic failure.
    pub order_retries: AtomicU64,
    /// Orders handed to a leader's batcher (each attempt of a call counts).
    pub place_orders: AtomicU64,
    /// `place_batch` calls sent to a leader.
    pub place_batches: AtomicU64,
    /// Orders that found every batch slot to their leader busy, so waited in the frontend for
    /// an earlier batch to be answered before they could leave.
    pub place_orders_held: AtomicU64,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    count: u64,
    sum_seconds: f64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The route label of a request path: the route pattern it matches, or `other`. Keeps the label
/// set small whatever paths clients send.
pub(crate) fn route_of(path: &str) -> &'static str {
    common::public_api::route_of(path).map_or("other", |(template, _)| template)
}

impl Metrics {
    /// Records one answered request.
    pub(crate) fn observe(&self, route: &'static str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        // A poisoned lock only means another thread panicked mid-update of plain counters.
        let mut requests = common::sync::lock(&self.requests);
        let h = requests.entry((route, status)).or_default();
        h.buckets[slot] += 1;
        h.count += 1;
        h.sum_seconds += seconds;
    }

    /// The Prometheus text exposition of every metric; `cache_entries` is read by the caller.
    pub(crate) fn render(&self, cache_entries: usize) -> String {
        let mut out = String::new();
        let requests = common::sync::lock(&self.requests).clone();

        header(
            &mut out,
            "requests_total",
            "counter",
            "Requests answered, by route and status.",
        );
        for ((route, status), h) in &requests {
            line(&mut out, "requests_total", &labels(route, *status), h.count);
        }
        header(
            &mut out,
            "request_duration_seconds",
            "histogram",
            "Time to answer a request, by route and status.",
        );
        for ((route, status), h) in &requests {
            let base = labels(route, *status);
            let mut cumulative = 0;
            for (i, count) in h.buckets.iter().enumerate() {
                cumulative += count;
                let le = LATENCY_BUCKETS
                    .get(i)
                    .map_or("+Inf".to_string(), |le| le.to_string());
                let name = "request_duration_seconds_bucket";
                line(&mut out, name, &format!("{base},le=\"{le}\""), cumulative);
            }
            let _ = writeln!(
                out,
                "toystore_frontend_request_duration_seconds_sum{{{base}}} {}",
                h.sum_seconds
            );
            line(&mut out, "request_duration_seconds_count", &base, h.count);
        }

        let counters: [(&str, &str, &AtomicU64); 12] = [
            (
                "cache_hits_total",
                "Product queries answered from the cache.",
                &self.cache_hits,
            ),
            (
                "cache_misses_total",
                "Product queries that went to the catalog.",
                &self.cache_misses,
            ),
            (
                "cache_evictions_total",
                "Entries the cache evicted to make room.",
                &self.cache_evictions,
            ),
            (
                "cache_invalidations_total",
                "Invalidations received from the catalog.",
                &self.cache_invalidations,
            ),
            (
                "cache_stale_fills_total",
                "Catalog answers not cached because already stale.",
                &self.cache_stale_fills,
            ),
            (
                "elections_total",
                "Order-leader elections run.",
                &self.elections,
            ),
            (
                "leader_changes_total",
                "Order leaders installed (one per successful election).",
                &self.leader_changes,
            ),
            (
                "order_retries_total",
                "Order calls retried after a replica failure.",
                &self.order_retries,
            ),
            (
                "place_orders_total",
                "Orders handed to the batcher of an order leader.",
                &self.place_orders,
            ),
            (
                "place_batches_total",
                "Batches of orders (place_batch calls) sent to an order leader.",
                &self.place_batches,
            ),
            (
                "place_orders_held_total",
                "Orders that waited in the frontend for an earlier batch to be answered.",
                &self.place_orders_held,
            ),
            (
                "leader_epoch",
                "Epoch of the current order leader.",
                &self.leader_epoch,
            ),
        ];
        for (name, help, value) in counters {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            header(&mut out, name, kind, help);
            line(&mut out, name, "", value.load(Ordering::Relaxed));
        }
        header(
            &mut out,
            "leader_id",
            "gauge",
            "Id of the current order leader (0: none).",
        );
        line(
            &mut out,
            "leader_id",
            "",
            self.leader_id.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "cache_entries",
            "gauge",
            "Products in the cache now.",
        );
        line(&mut out, "cache_entries", "", cache_entries as u64);
        out
    }
}

fn labels(route: &str, status: u16) -> String {
    format!("route=\"{route}\",status=\"{status}\"")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP toystore_frontend_{name} {help}");
    let _ = writeln!(out, "# TYPE toystore_frontend_{name} {kind}");
}

fn line(out: &mut String, name: &str, labels: &str, value: u64) {
    if labels.is_empty() {
        let _ = writeln!(out, "toystore_frontend_{name} {value}");
    } else {
        let _ = writeln!(out, "toystore_frontend_{name}{{{labels}}} {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_by_pattern() {
        for (path, route) in [
            ("/products/Tux", "/products/{name}"),
            ("/products/Rubik%27s%20Cube", "/products/{name}"),
            ("/products/", "other"),
            ("/products/a/b", "other"),
            ("/orders", "/orders"),
            ("/orders/12", "/orders/{number}"),
            ("/health", "/health"),
            ("/metrics", "/metrics"),
            ("/", "other"),
            ("/nope", "other"),
        ] {
            assert_eq!(route_of(path), route, "{path}");
        }
    }

    #[test]
    fn renders_histogram_and_counters() {
        let metrics = Metrics::default();
        metrics.observe("/orders", 200, Duration::from_millis(3));
        metrics.observe("/orders", 200, Duration::from_millis(30));
        metrics.observe("/orders", 200, Duration::from_secs(60));
        bump(&metrics.cache_hits);
        let text = metrics.render(4);
        for want in [
            "toystore_frontend_requests_total{route=\"/orders\",status=\"200\"} 3",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"0.005\"} 1",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"0.1\"} 2",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"+Inf\"} 3",
            "toystore_frontend_request_duration_seconds_count{route=\"/orders\",status=\"200\"} 3",
            "toystore_frontend_cache_hits_total 1",
            "toystore_frontend_cache_entries 4",
            "# TYPE toystore_frontend_leader_epoch gauge",
        ] {
            assert!(text.lines().any(|l| l == want), "missing {want:?} in\n{text}");
        }
    }
}
