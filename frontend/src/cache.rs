//! The product cache: a quick_cache `sync::Cache` of product name → [`Product`] in front of the
//! catalog, kept fresh by the catalog's invalidation pushes.
//!
//! quick_cache's replacement policy is **S3-FIFO, not strict LRU**: a new entry enters a small
//! probationary FIFO and is promoted to the main FIFO only if it is read again before it leaves;
//! entries evicted from probation are remembered in a ghost list so they come back straight into
//! the main queue. A one-off query therefore does not push out a popular toy, and which entry is
//! evicted need not be the least recently used one. A capacity of 0 turns the cache off: every
//! query goes to the catalog.
//!
//! Freshness: once an invalidation for `(name, version)` has arrived, no product with a version
//! below `version` enters the cache. A fill that raced with an invalidation (fetched before it,
//! inserted after it) is refused by comparing versions under one mutex that both fills and
//! invalidations take; reads never take it.

use common::{Product, Version};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, UnitWeighter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::metrics::{bump, Metrics};

type Store = Cache<String, Product, UnitWeighter, DefaultHashBuilder, CountEvictions>;

/// quick_cache lifecycle hook that counts evictions (replacing a key's value is not one).
#[derive(Clone)]
struct CountEvictions(Arc<Metrics>);

impl Lifecycle<String, Product> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: String, _value: Product) {
        bump(&self.0.cache_evictions);
    }
}

/// The frontend's product cache.
///
/// Invariants:
/// - A cached product's version is at least the highest version invalidated for its name.
/// - A fill never replaces a cached product with an older version of it.
pub(crate) struct ProductCache {
    /// `None` when the capacity is 0.
    store: Option<Store>,
    /// Highest version invalidated per name. Fills and invalidations hold this lock while they
    /// touch `store`, which is what makes the version check and the insert one step.
    invalidated: Mutex<HashMap<String, Version>>,
    metrics: Arc<Metrics>,
}

impl ProductCache {
    /// A cache of up to `capacity` products; 0 means no caching at all.
    pub(crate) fn new(capacity: usize, metrics: Arc<Metrics>) -> ProductCache {
        let store = (capacity > 0).then(|| {
            Cache::with(
                capacity,
                capacity as u64,
                UnitWeighter,
                DefaultHashBuilder::default(),
                CountEvictions(Arc::clone(&metrics)),
            )
        });
        ProductCache {
            store,
            invalidated: Mutex::default(),
            metrics,
        }
    }

    /// The cached product, counting a hit or a miss. Lock-free with respect to fills.
    pub(crate) fn get(&self, name: &str) -> Option<Product> {
        let found = self.store.as_ref().and_then(|store| store.get(name));
        bump(if found.is_some() {
            &self.metrics.cache_hits
        } else {
            &self.metrics.cache_misses
        });
        found
    }

    /// Caches a product just read from the catalog, unless an invalidation (or a newer cached
    /// copy) already made it stale. Returns whether it was cached.
    pub(crate) fn fill(&self, product: &Product) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let invalidated = self.lock();
        let floor = invalidated.get(&product.name).copied().unwrap_or(0);
        let newer_cached = store
            .peek(product.name.as_str())
            .is_some_and(|p| p.version > product.version);
        if product.version < floor || newer_cached {
            log::debug!(
                "cache: not caching {} at version {} (invalidated up to {floor})",
                product.name,
                product.version
            );
            bump(&self.metrics.cache_stale_fills);
            return false;
        }
        store.insert(product.name.clone(), product.clone());
        true
    }

    /// Applies an invalidation: versions of `name` below `version` are stale from now on.
    pub(crate) fn invalidate(&self, name: &str, version: Version) {
        bump(&self.metrics.cache_invalidations);
        let mut invalidated = self.lock();
        let floor = invalidated.entry(name.to_string()).or_insert(version);
        *floor = (*floor).max(version);
        if let Some(store) = &self.store {
            // A cached copy at or above `version` is already the changed product: keep it.
            store.remove_if(name, |p| p.version < version);
        }
    }

    /// Drops the cached copy of `name` without recording a version, after this frontend's own
    /// order changed its stock: a backstop in case the catalog's push is lost.
    pub(crate) fn forget(&self, name: &str) {
        if let Some(store) = &self.store {
            let _guard = self.lock();
            store.remove(name);
        }
    }

    /// The cached names, sorted.
    pub(crate) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store
            .iter()
            .flat_map(|store| store.iter().map(|(k, _)| k))
            .collect();
        keys.sort();
        keys
    }

    /// How many products are cached now.
    pub(crate) fn len(&self) -> usize {
        self.store.as_ref().map_or(0, |store| store.len())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Version>> {
        // The map only ever holds whole versions, so a panic elsewhere cannot leave it torn.
        self.invalidated.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
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
        let metrics = Arc::new(Metrics::default());
        (ProductCache::new(capacity, Arc::clone(&metrics)), metrics)
    }

    #[test]
    fn hit_after_fill_and_miss_after_invalidation() {
        let (cache, metrics) = cache(8);
        assert_eq!(cache.get("Tux"), None);
        assert!(cache.fill(&product("Tux", 100, 1)));
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
        assert!(!cache.fill(&fetched_before), "stale fill must not enter");
        assert_eq!(cache.get("Tux"), None);
        assert_eq!(metrics.cache_stale_fills.load(Ordering::Relaxed), 1);
        // An older invalidation arriving late does not lower the floor.
        cache.invalidate("Tux", 1);
        assert!(!cache.fill(&fetched_before));
        // The changed product itself may be cached.
        assert!(cache.fill(&product("Tux", 99, 2)));
        assert_eq!(cache.get("Tux").map(|p| p.quantity), Some(99));
        // A late invalidation of an older version keeps the newer cached copy.
        cache.invalidate("Tux", 2);
        assert_eq!(cache.get("Tux").map(|p| p.version), Some(2));
    }

    #[test]
    fn fill_never_replaces_a_newer_copy() {
        let (cache, _) = cache(8);
        assert!(cache.fill(&product("Tux", 98, 3)));
        assert!(!cache.fill(&product("Tux", 100, 1)));
        assert_eq!(cache.get("Tux").map(|p| p.version), Some(3));
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let (cache, metrics) = cache(0);
        assert!(!cache.fill(&product("Tux", 100, 1)));
        assert_eq!(cache.get("Tux"), None);
        assert!(cache.keys().is_empty());
        assert_eq!(metrics.cache_misses.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn evicts_beyond_capacity_and_lists_sorted_keys() {
        let (cache, metrics) = cache(2);
        for (i, name) in ["c", "a", "b", "d"].iter().enumerate() {
            cache.fill(&product(name, 1, i as Version));
        }
        assert!(cache.len() <= 2, "len {}", cache.len());
        assert!(metrics.cache_evictions.load(Ordering::Relaxed) >= 2);
        let keys = cache.keys();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }
}
