//! The catalog's `GET /metrics`: its tallies of reads, buys and restocks, and per frontend the
//! invalidation pushes and how many failed.

use common::metrics::Exposition;

use crate::server::Catalog;

/// The Prometheus text of `catalog`'s counters.
pub(crate) fn render(catalog: &Catalog) -> String {
    let stats = &catalog.stats;
    let mut text = Exposition::new("toystore_catalog_", "catalog", catalog.build);
    text.counter(
        "product_reads_total",
        "Product reads asked of the catalog (cache misses of the frontends).",
        &stats.product_reads,
    );
    text.counter(
        "buys_total",
        "Buy requests taken (each request of a batch counts).",
        &stats.buys,
    );
    text.counter(
        "restocks_total",
        "Sold-out toys refilled by the restock loop.",
        &stats.restocks,
    );
    let pushes = catalog.invalidator.push_counts();
    text.family(
        "invalidation_pushes_total",
        "counter",
        "Invalidation messages sent to each frontend, resends included.",
    );
    for push in &pushes {
        let labels = format!("frontend=\"{}\"", push.frontend);
        text.sample("invalidation_pushes_total", &labels, push.pushes);
    }
    text.family(
        "invalidation_push_failures_total",
        "counter",
        "Invalidation messages a frontend did not acknowledge in time (resent later).",
    );
    for push in &pushes {
        let labels = format!("frontend=\"{}\"", push.frontend);
        text.sample("invalidation_push_failures_total", &labels, push.failures);
    }
    text.finish()
}
