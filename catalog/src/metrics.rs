//! The catalog's `GET /metrics`: its tallies of reads, buys and restocks, and per frontend the
//! invalidation pushes and how many failed.

use common::metrics::Exposition;

use crate::invalidate::PushCounts;
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
    let per_frontend =
        |text: &mut Exposition, name: &str, help: &str, count: fn(&PushCounts) -> u64| {
            text.family(name, "counter", help);
            for push in &pushes {
                let labels = format!("frontend=\"{}\"", push.frontend);
                text.sample(name, &labels, count(push));
            }
        };
    per_frontend(
        &mut text,
        "invalidation_pushes_total",
        "Invalidation messages sent to each frontend, resends included.",
        |push| push.pushes,
    );
    per_frontend(
        &mut text,
        "invalidation_push_failures_total",
        "Invalidation messages a frontend did not acknowledge in time (resent later).",
        |push| push.failures,
    );
    text.finish()
}
