//! The cache's freshness rules, each race played out step by step.

use super::*;
use std::sync::atomic::Ordering;

fn product(name: &str, quantity: u32, version: Version) -> Product {
    Product {
        name: name.into(),
        price_cents: 2599,
        quantity,
        version,
    }
}

fn cache(capacity: usize) -> (ProductCache, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new(common::metrics::BuildInfo {
        version: "test",
        commit: "test",
    }));
    (ProductCache::new(capacity, Arc::clone(&metrics)), metrics)
}

#[test]
fn hit_after_fill_and_miss_after_invalidation() {
    let (cache, metrics) = cache(8);
    assert_eq!(cache.get("Tux"), None);
    assert!(cache.fill(&product("Tux", 100, 1), cache.ticket()));
    assert_eq!(cache.get("Tux"), Some(product("Tux", 100, 1)));
    cache.invalidate("Tux", 2);
    assert_eq!(cache.get("Tux"), None);
    assert_eq!(metrics.cache_hits.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.cache_misses.load(Ordering::Relaxed), 2);
    assert_eq!(metrics.cache_invalidations.load(Ordering::Relaxed), 1);
}

/// The race the freshness rule is about: a query reads version 1 from the catalog, an order
/// changes the product to version 2 and its invalidation arrives, then the query's fill comes.
#[test]
fn fill_that_raced_with_an_invalidation_is_refused() {
    let (cache, metrics) = cache(8);
    let fetched_before = product("Tux", 100, 1);
    cache.invalidate("Tux", 2);
    assert!(
        !cache.fill(&fetched_before, cache.ticket()),
        "stale fill must not enter"
    );
    assert_eq!(cache.get("Tux"), None);
    assert_eq!(metrics.cache_stale_fills.load(Ordering::Relaxed), 1);
    // An older invalidation arriving late does not lower the floor.
    cache.invalidate("Tux", 1);
    assert!(!cache.fill(&fetched_before, cache.ticket()));
    // The changed product itself may be cached.
    assert!(cache.fill(&product("Tux", 99, 2), cache.ticket()));
    assert_eq!(cache.get("Tux").map(|p| p.quantity), Some(99));
    // A late invalidation of an older version keeps the newer cached copy.
    cache.invalidate("Tux", 2);
    assert_eq!(cache.get("Tux").map(|p| p.version), Some(2));
}

/// The race `forget` is for: a query's catalog read gets the quantity from before this
/// frontend's own order, the order is acknowledged (its invalidation lost), then the query's
/// fill comes. It must not put the pre-order quantity back, whether or not a copy was cached.
#[test]
fn fill_that_raced_with_this_frontends_own_order_is_refused() {
    let (cache, metrics) = cache(8);
    let before_order = product("Tux", 100, 1);
    // Nothing cached: the query misses and starts its catalog read.
    let ticket = cache.ticket();
    cache.forget("Tux");
    assert!(
        !cache.fill(&before_order, ticket),
        "pre-order fill put back"
    );
    assert_eq!(cache.get("Tux"), None);
    // A copy cached: the same, for a read that began before the forget.
    assert!(cache.fill(&before_order, cache.ticket()));
    let ticket = cache.ticket();
    cache.forget("Tux");
    assert_eq!(cache.get("Tux"), None, "forget drops the copy");
    assert!(!cache.fill(&before_order, ticket));
    assert_eq!(metrics.cache_stale_fills.load(Ordering::Relaxed), 2);
    // A read begun after the order sees it, and is cached.
    assert!(cache.fill(&product("Tux", 99, 2), cache.ticket()));
    assert_eq!(cache.get("Tux").map(|p| p.quantity), Some(99));
    // Another toy's reads are not affected.
    let ticket = cache.ticket();
    cache.forget("Tux");
    assert!(cache.fill(&product("Fox", 5, 3), ticket));
}

/// An entry is served for [`CACHE_TTL`] from the start of its catalog read, then is a miss, and
/// the next read is cached again: the bound on staleness when an invalidation never arrives.
#[test]
fn entries_expire_after_the_time_to_live() {
    let (cache, metrics) = cache(8);
    let ticket = cache.ticket();
    assert!(cache.fill(&product("Tux", 100, 1), ticket));
    let just_before = ticket.read_at + CACHE_TTL - Duration::from_millis(1);
    assert_eq!(
        cache.get_at("Tux", just_before).map(|p| p.quantity),
        Some(100)
    );
    // Counted from the read, not from the insert: a slow read does not buy more time.
    assert_eq!(cache.get_at("Tux", ticket.read_at + CACHE_TTL), None);
    assert!(cache.keys().is_empty(), "the expired entry is dropped");
    assert_eq!(metrics.cache_hits.load(Ordering::Relaxed), 1);
    assert_eq!(metrics.cache_misses.load(Ordering::Relaxed), 1);
    assert!(cache.fill(&product("Tux", 97, 2), cache.ticket()));
    assert_eq!(cache.get("Tux").map(|p| p.quantity), Some(97));
}

#[test]
fn fill_never_replaces_a_newer_copy() {
    let (cache, _) = cache(8);
    assert!(cache.fill(&product("Tux", 98, 3), cache.ticket()));
    assert!(!cache.fill(&product("Tux", 100, 1), cache.ticket()));
    assert_eq!(cache.get("Tux").map(|p| p.version), Some(3));
}

#[test]
fn capacity_zero_caches_nothing() {
    let (cache, metrics) = cache(0);
    assert!(!cache.fill(&product("Tux", 100, 1), cache.ticket()));
    assert_eq!(cache.get("Tux"), None);
    assert!(cache.keys().is_empty());
    assert_eq!(metrics.cache_misses.load(Ordering::Relaxed), 1);
}

#[test]
fn evicts_beyond_capacity_and_lists_sorted_keys() {
    let (cache, metrics) = cache(2);
    for (i, name) in ["c", "a", "b", "d"].iter().enumerate() {
        cache.fill(&product(name, 1, i as Version), cache.ticket());
    }
    assert!(cache.len() <= 2, "len {}", cache.len());
    assert!(metrics.cache_evictions.load(Ordering::Relaxed) >= 2);
    let keys = cache.keys();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
}
