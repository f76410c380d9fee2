//! The product cache: a quick_cache `sync::Cache` of product name → [`Product`] in front of the
//! catalog, kept fresh by the catalog's invalidation pushes and bounded by a time to live.
//!
//! quick_cache's replacement policy is **S3-FIFO, not strict LRU**: a new entry enters a small
//! probationary FIFO and is promoted to the main FIFO only if it is read again before it leaves;
//! entries evicted from probation are remembered in a ghost list so they come back straight into
//! the main queue. A one-off query therefore does not push out a popular toy, and which entry is
//! evicted need not be the least recently used one. A capacity of 0 turns the cache off: every
//! query goes to the catalog.
//!
//! Freshness, three rules:
//! - Once an invalidation for `(name, version)` has arrived, no product with a version below
//!   `version` enters the cache. A fill that raced with an invalidation (fetched before it,
//!   inserted after it) is refused by comparing versions under one mutex that both fills and
//!   invalidations take; reads never take it.
//! - After this frontend's own order, [`ProductCache::forget`] drops the toy and refuses every
//!   fill whose catalog read began before the forget, so a read that raced with the order cannot
//!   put the pre-order quantity back even if the catalog's push is lost.
//! - **Staleness bound**: an entry is served for at most [`CACHE_TTL`] (2 s) after its catalog
//!   read began. The catalog resends an invalidation until it is acknowledged, but a frontend
//!   cut off from the catalog (or one whose pushes a catalog restart forgot) would otherwise
//!   serve the old quantity until the toy changed again; with the time to live, a query never
//!   answers a quantity older than 2 s, whatever was lost.

use common::{Product, Version};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, UnitWeighter};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::metrics::{bump, Metrics};

/// How long a cached product may be served, counted from the start of the catalog read it came
/// from: the bound on how stale a query's answer can be when an invalidation never arrives.
/// Short enough to bound staleness tightly, long enough that a popular toy is read from the
/// catalog only once every 2 s per frontend.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(2);

type Store = Cache<String, Entry, UnitWeighter, DefaultHashBuilder, CountEvictions>;

/// One cached product and when the catalog read it came from began.
#[derive(Clone, Debug)]
struct Entry {
    product: Product,
    read_at: Instant,
}

/// Taken by [`ProductCache::ticket`] just before a catalog read, handed to
/// [`ProductCache::fill`] with its answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FillTicket {
    /// [`ProductCache::forgets`] when the read began.
    generation: u64,
    read_at: Instant,
}

/// What a fill of one name must clear.
#[derive(Debug, Default)]
struct Floor {
    /// Highest version invalidated.
    version: Version,
    /// Fills with a ticket generation below this began before this frontend's last order of the
    /// toy, and are refused.
    forgotten: u64,
}

/// quick_cache lifecycle hook that counts evictions (replacing a key's value is not one).
#[derive(Clone)]
struct CountEvictions(Arc<Metrics>);

impl Lifecycle<String, Entry> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: String, _value: Entry) {
        bump(&self.0.cache_evictions);
    }
}

/// The frontend's product cache.
///
/// Invariants:
/// - A cached product's version is at least the highest version invalidated for its name.
/// - A fill never replaces a cached product with an older version of it.
/// - A fill whose catalog read began before a [`Self::forget`] of its name is refused.
/// - A product is served only within [`CACHE_TTL`] of the start of the read it came from.
pub(crate) struct ProductCache {
    /// `None` when the capacity is 0.
    store: Option<Store>,
    /// Per name, what a fill must clear. Fills, invalidations and forgets hold this lock while
    /// they touch `store`, which is what makes the check and the insert one step.
    floors: Mutex<HashMap<String, Floor>>,
    /// How many forgets there have been; a [`FillTicket`] records it.
    forgets: AtomicU64,
    metrics: Arc<Metrics>,
}

impl ProductCache {
    /// A cache of up to `capacity` products, each served for [`CACHE_TTL`]; 0 means no caching.
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
            floors: Mutex::default(),
            forgets: AtomicU64::new(0),
            metrics,
        }
    }

    /// The cached product, counting a hit or a miss (an expired entry is a miss). Lock-free with
    /// respect to fills.
    pub(crate) fn get(&self, name: &str) -> Option<Product> {
        self.get_at(name, Instant::now())
    }

    /// The cached product if it is fresh by the rules above, without counting a hit or a miss:
    /// for deciding an order, which is not a query.
    pub(crate) fn fresh(&self, name: &str) -> Option<Product> {
        self.fresh_at(name, Instant::now())
    }

    /// [`Self::get`] as of `now`.
    fn get_at(&self, name: &str, now: Instant) -> Option<Product> {
        let found = self.fresh_at(name, now);
        bump(if found.is_some() {
            &self.metrics.cache_hits
        } else {
            &self.metrics.cache_misses
        });
        found
    }

    /// [`Self::fresh`] as of `now`.
    fn fresh_at(&self, name: &str, now: Instant) -> Option<Product> {
        self.store.as_ref().and_then(|store| {
            let entry = store.get(name)?;
            if now.saturating_duration_since(entry.read_at) < CACHE_TTL {
                return Some(entry.product);
            }
            // Expired: drop it (only it, not a fresher copy filled meanwhile). No lock needed:
            // removing never lets a stale copy in.
            store.remove_if(name, |e| e.read_at == entry.read_at);
            None
        })
    }

    /// To take just before reading a product from the catalog; pass it to [`Self::fill`].
    pub(crate) fn ticket(&self) -> FillTicket {
        FillTicket {
            // SeqCst, paired with `forget`: a read that begins after a forget sees its count.
            generation: self.forgets.load(Ordering::SeqCst),
            read_at: Instant::now(),
        }
    }

    /// Caches a product read from the catalog under `ticket`, unless an invalidation, a newer
    /// cached copy, or this frontend's own order since the read began made it stale. Returns
    /// whether it was cached.
    pub(crate) fn fill(&self, product: &Product, ticket: FillTicket) -> bool {
        let Some(store) = &self.store else {
            return false;
        };
        let floors = self.lock();
        let floor = floors.get(&product.name);
        let below_floor = floor.is_some_and(|f| product.version < f.version);
        let raced_with_order = floor.is_some_and(|f| ticket.generation < f.forgotten);
        let newer_cached = store
            .peek(product.name.as_str())
            .is_some_and(|e| e.product.version > product.version);
        if below_floor || raced_with_order || newer_cached {
            log::debug!(
                "cache: not caching {} at version {} (floor {:?}, ticket {})",
                product.name,
                product.version,
                floor,
                ticket.generation
            );
            bump(&self.metrics.cache_stale_fills);
            return false;
        }
        let entry = Entry {
            product: product.clone(),
            read_at: ticket.read_at,
        };
        store.insert(product.name.clone(), entry);
        true
    }

    /// Applies an invalidation: versions of `name` below `version` are stale from now on.
    pub(crate) fn invalidate(&self, name: &str, version: Version) {
        bump(&self.metrics.cache_invalidations);
        let mut floors = self.lock();
        let floor = floors.entry(name.to_string()).or_default();
        floor.version = floor.version.max(version);
        if let Some(store) = &self.store {
            // A cached copy at or above `version` is already the changed product: keep it.
            store.remove_if(name, |e| e.product.version < version);
        }
    }

    /// After this frontend's own order of `name` was acknowledged: drops the cached copy and
    /// raises the floor so that no fill whose catalog read began before now gets in. A backstop
    /// for a lost push: the order's buy was done before the acknowledgement, so only a read begun
    /// later is sure to see it.
    ///
    /// Why not a version floor: the order's answer does not carry the catalog's new version,
    /// and the cached version + 1 would refuse fills of the current version when the copy was
    /// already the post-order one, turning the cache off for that toy until it changes again.
    pub(crate) fn forget(&self, name: &str) {
        let Some(store) = &self.store else {
            return;
        };
        let mut floors = self.lock();
        // Under the lock, so a fill that checks after this sees the new floor.
        let now = self.forgets.fetch_add(1, Ordering::SeqCst) + 1;
        floors.entry(name.to_string()).or_default().forgotten = now;
        store.remove(name);
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

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Floor>> {
        // The map only ever holds whole values, so a panic elsewhere cannot leave it torn.
        common::sync::lock(&self.floors)
    }
}

#[cfg(test)]
mod tests;
