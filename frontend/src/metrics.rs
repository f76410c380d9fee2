//! What the frontend counts, rendered through `common::metrics` (`GET /metrics`).
//!
//! Counters are plain atomics written by whoever does the counted thing (the cache, the leader
//! tracker, the request wrapper); nothing here is global, one [`Metrics`] is built in `run`.
//! Request latencies sit in a fixed table by route and status, claimed slot by slot with a
//! compare-and-swap, so timing a request takes no lock and allocates nothing.

use common::metrics::{BuildInfo, Exposition, Histogram};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub(crate) use common::metrics::bump;

/// Every route label; a path matching none is `other` (the last).
const ROUTES: [&str; 8] = [
    "/products/{name}",
    "/orders",
    "/orders/{number}",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "other",
];
/// Distinct statuses timed per route; the last slot takes any status beyond, labelled `other`.
const STATUS_SLOTS: usize = 12;
/// A slot no status has claimed yet.
const UNCLAIMED: u64 = 0;

/// Every count the frontend exposes.
#[derive(Debug)]
pub(crate) struct Metrics {
    build: BuildInfo,
    /// Latency by route (index into [`ROUTES`]) and status slot.
    requests: [[StatusSlot; STATUS_SLOTS]; ROUTES.len()],
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub cache_evictions: AtomicU64,
    pub cache_invalidations: AtomicU64,
    /// Fills refused because an invalidation (or a newer cached version) made them stale.
    pub cache_stale_fills: AtomicU64,
    /// Orders refused `out of stock` from a fresh cached quantity, never sent to a leader.
    pub orders_refused_from_cache: AtomicU64,
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

/// The latencies of one (route, status).
#[derive(Debug)]
struct StatusSlot {
    status: AtomicU64,
    latency: Histogram,
}

/// The index in [`ROUTES`] of a request path's route pattern (`common::public_api`'s route
/// table), or of `other`. Keeps the label set small whatever paths clients send.
pub(crate) fn route_of(path: &str) -> usize {
    let route = common::public_api::route_of(path).map_or("other", |(template, _)| template);
    ROUTES
        .iter()
        .position(|&r| r == route)
        .expect("every route of the public route table is in ROUTES")
}

impl Metrics {
    pub(crate) fn new(build: BuildInfo) -> Metrics {
        Metrics {
            build,
            requests: std::array::from_fn(|_| {
                std::array::from_fn(|_| StatusSlot {
                    status: AtomicU64::new(UNCLAIMED),
                    latency: Histogram::latency(),
                })
            }),
            cache_hits: AtomicU64::default(),
            cache_misses: AtomicU64::default(),
            cache_evictions: AtomicU64::default(),
            cache_invalidations: AtomicU64::default(),
            cache_stale_fills: AtomicU64::default(),
            orders_refused_from_cache: AtomicU64::default(),
            elections: AtomicU64::default(),
            leader_changes: AtomicU64::default(),
            leader_id: AtomicU64::default(),
            leader_epoch: AtomicU64::default(),
            order_retries: AtomicU64::default(),
            place_orders: AtomicU64::default(),
            place_batches: AtomicU64::default(),
            place_orders_held: AtomicU64::default(),
        }
    }

    /// Records one answered request of route `route` (from [`route_of`]).
    pub(crate) fn observe(&self, route: usize, status: u16, elapsed: Duration) {
        let slots = &self.requests[route.min(ROUTES.len() - 1)];
        let status = u64::from(status);
        let (overflow, claimable) = slots.split_last().expect("STATUS_SLOTS is not 0");
        let slot = claimable
            .iter()
            .find(|slot| {
                match slot.status.compare_exchange(
                    UNCLAIMED,
                    status,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => true,
                    Err(held) => held == status,
                }
            })
            .unwrap_or(overflow);
        slot.latency.observe_duration(elapsed);
    }

    /// The Prometheus text exposition of every metric; `cache_entries` is read by the caller.
    pub(crate) fn render(&self, cache_entries: usize) -> String {
        let mut text = Exposition::new("toystore_frontend_", "frontend", self.build);
        let timed: Vec<(String, &Histogram)> = self.timed_requests().collect();
        text.family(
            "requests_total",
            "counter",
            "Requests answered, by route and status.",
        );
        for (labels, latency) in &timed {
            text.sample("requests_total", labels, latency.count());
        }
        text.histograms(
            "request_duration_seconds",
            "Time to answer a request, by route and status.",
            timed,
        );
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
                "orders_refused_from_cache_total",
                "Orders refused out of stock from a fresh cached quantity, not sent on.",
                &self.orders_refused_from_cache,
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
        ];
        for (name, help, value) in counters {
            text.counter(name, help, value);
        }
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        text.gauge(
            "leader_epoch",
            "Epoch of the current order leader.",
            load(&self.leader_epoch),
        );
        text.gauge(
            "leader_id",
            "Id of the current order leader (0: none).",
            load(&self.leader_id),
        );
        text.gauge("cache_entries", "Products in the cache now.", cache_entries);
        text.finish()
    }

    /// The labels and latencies of every (route, status) seen, in route order.
    fn timed_requests(&self) -> impl Iterator<Item = (String, &Histogram)> {
        ROUTES
            .iter()
            .zip(&self.requests)
            .flat_map(|(route, slots)| {
                slots.iter().enumerate().filter_map(move |(i, slot)| {
                    let status = match slot.status.load(Ordering::Relaxed) {
                        UNCLAIMED if i + 1 == STATUS_SLOTS && slot.latency.count() > 0 => {
                            "other".to_string()
                        }
                        UNCLAIMED => return None,
                        status => status.to_string(),
                    };
                    let labels = format!("route=\"{route}\",status=\"{status}\"");
                    Some((labels, &slot.latency))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(BuildInfo {
            version: "0.1.0",
            commit: "abc",
        })
    }

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
            ("/ready", "/ready"),
            ("/metrics", "/metrics"),
            ("/", "other"),
            ("/nope", "other"),
        ] {
            assert_eq!(ROUTES[route_of(path)], route, "{path}");
        }
    }

    #[test]
    fn renders_histogram_and_counters() {
        let metrics = metrics();
        let orders = route_of("/orders");
        metrics.observe(orders, 200, Duration::from_micros(80));
        metrics.observe(orders, 200, Duration::from_millis(30));
        metrics.observe(orders, 200, Duration::from_secs(60));
        bump(&metrics.cache_hits);
        let text = metrics.render(4);
        for want in [
            "toystore_build_info{version=\"0.1.0\",commit=\"abc\",service=\"frontend\"} 1",
            "toystore_frontend_requests_total{route=\"/orders\",status=\"200\"} 3",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"0.00005\"} 0",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"0.0001\"} 1",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"0.05\"} 2",
            "toystore_frontend_request_duration_seconds_bucket{route=\"/orders\",status=\"200\",le=\"+Inf\"} 3",
            "toystore_frontend_request_duration_seconds_count{route=\"/orders\",status=\"200\"} 3",
            "toystore_frontend_cache_hits_total 1",
            "toystore_frontend_cache_entries 4",
            "# TYPE toystore_frontend_leader_epoch gauge",
        ] {
            assert!(text.lines().any(|l| l == want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn statuses_beyond_the_table_share_the_other_slot() {
        let metrics = metrics();
        let route = route_of("/nope");
        for status in 400..420 {
            metrics.observe(route, status, Duration::from_millis(1));
        }
        metrics.observe(route, 400, Duration::from_millis(1));
        let text = metrics.render(0);
        let count = |status: &str| {
            let want =
                format!("toystore_frontend_requests_total{{route=\"other\",status=\"{status}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&want))
                .map(|n| n.parse::<u64>().unwrap())
        };
        assert_eq!(count("400"), Some(2));
        assert_eq!(count("410"), Some(1));
        assert_eq!(count("411"), None, "{text}");
        let other_statuses = (420 - 400) - (STATUS_SLOTS as u64 - 1);
        assert_eq!(count("other"), Some(other_statuses), "{text}");
    }
}
