//! The stock store: every toy's price and quantity in sled, the outcome of every `buy` by request
//! id, and a journal of every stock movement.
//!
//! Three trees (value types in [`crate::records`]):
//! - [`PRODUCTS_TREE`]: name (UTF-8 bytes) → [`StockRecord`].
//! - [`BUYS_TREE`]: request id (UTF-8 bytes) → [`BuyOutcome`] and the digest of its order, so a
//!   retried `buy` gets its first answer back and never takes stock twice, and the same id with
//!   another order is an `IdempotencyConflict` (422), never the first order's answer.
//! - [`JOURNAL_TREE`]: [`u64_key`] of an increasing sequence number → [`Movement`].
//!
//! Every change to a product writes the product and its journal movement in one transaction and
//! is flushed before anyone is told about it.

use log::info;
use sled::transaction::Transactional;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::encoding::{decode, encode, key_u64};
use common::wire::{BuyReceipt, BuyRequest};
use common::{Error, Product, Result};

use crate::error::CatalogError;
use crate::products_file;
use crate::records::{
    BuyOutcome, Movement, MovementKind, StockRecord, BUYS_TREE, JOURNAL_TREE, PRODUCTS_TREE,
};
use transactions::{append, decide_one, not_found, read, tx_error};

/// The catalog's stock in sled. Cloning is cheap (sled handles are shared).
///
/// - A request id takes stock at most once, and always gets its first outcome back.
/// - A change of stock, its journal movement and (for a buy) its outcome commit together.
/// - Nothing is returned to the caller before it is flushed, reads included: a version is shown
///   only once it is on disk, so a restart never hands out a version anyone has seen.
#[derive(Clone, Debug)]
pub struct StockStore {
    db: sled::Db,
    products: sled::Tree,
    buys: sled::Tree,
    journal: sled::Tree,
    /// Committed writes whose flush has not finished; see [`StockStore::durable`].
    unflushed: Arc<AtomicU64>,
}

impl StockStore {
    /// Opens the database at `path`; on the first start (no products yet) loads `products_file`
    /// in one transaction and flushes it. Later starts ignore the file.
    ///
    /// # Errors
    /// The database cannot be opened, or the products file is missing or malformed (duplicate or
    /// empty names, bad prices, no products); the message names the path.
    pub fn open(path: &Path, products_file: &Path) -> Result<StockStore, CatalogError> {
        StockStore::open_with(sled::Config::new().path(path), products_file)
    }

    /// [`Self::open`] with sled's `config` (its path included): the service gives it its page
    /// cache; tests turn sled's background flush off with it, so that what is on disk is exactly
    /// what the store flushed.
    pub fn open_with(
        config: sled::Config,
        products_file: &Path,
    ) -> Result<StockStore, CatalogError> {
        let path = config.path.clone();
        let opening = |source: sled::Error| CatalogError::Open {
            why: common::db_lock::explain_open_error(&path, &source),
            path: path.clone(),
        };
        let db = config.open().map_err(opening)?;
        let tree = |name: &str| db.open_tree(name).map_err(opening);
        let store = StockStore {
            products: tree(PRODUCTS_TREE)?,
            buys: tree(BUYS_TREE)?,
            journal: tree(JOURNAL_TREE)?,
            unflushed: Arc::default(),
            db,
        };
        if store.products.is_empty() {
            let initial = products_file::read(products_file)?;
            store
                .load_initial(&initial)
                .map_err(|source| CatalogError::Load {
                    path: products_file.to_path_buf(),
                    source,
                })?;
            info!(
                "catalog loaded {} toys from {}",
                initial.len(),
                products_file.display()
            );
        } else {
            info!("catalog opened with {} toys", store.products.len());
        }
        Ok(store)
    }

    fn load_initial(&self, initial: &[(String, StockRecord)]) -> Result<()> {
        // One transaction, so a crash during the first start leaves an empty tree and the next
        // start loads the whole file again instead of keeping half of it.
        (&self.products, &self.journal)
            .transaction(|(products, journal)| {
                for (name, record) in initial {
                    products.insert(name.as_bytes(), encode(record))?;
                    let movement = Movement {
                        name: name.clone(),
                        kind: MovementKind::Initial,
                        delta: i64::from(record.quantity),
                        quantity_after: record.quantity,
                        version: record.version,
                    };
                    append(journal, &movement)?;
                }
                Ok(())
            })
            .map_err(tx_error)?;
        self.db.flush()?;
        Ok(())
    }

    /// The toy called `name`, as it is on disk: a version is shown only once it is flushed.
    ///
    /// # Errors
    /// [`Error::NotFound`] ("product not found"), or [`Error::Storage`].
    pub async fn get(&self, name: &str) -> Result<Product> {
        let product = match self.products.get(name.as_bytes())? {
            Some(bytes) => decode::<StockRecord>(&bytes)?.product(name),
            None => return Err(not_found()),
        };
        self.durable(product).await
    }

    /// Every toy, in name order, as it is on disk (see [`Self::get`]).
    ///
    /// # Errors
    /// [`Error::Storage`] when the tree cannot be read or holds damaged data.
    pub async fn list(&self) -> Result<Vec<Product>> {
        let products = self.scan()?;
        self.durable(products).await
    }

    /// Every toy as committed, flushed or not: for the store's own decisions, never to be shown.
    fn scan(&self) -> Result<Vec<Product>> {
        self.products
            .iter()
            .map(|item| {
                let (key, bytes) = item?;
                let name = std::str::from_utf8(&key)
                    .map_err(|_| Error::Storage(format!("product key {key:?} is not UTF-8")))?;
                Ok(decode::<StockRecord>(&bytes)?.product(name))
            })
            .collect()
    }

    /// Returns `read` (just read from the trees) once everything it can contain is on disk.
    ///
    /// Why: a version that a frontend saw and caches must survive a crash. Were it lost, the
    /// restarted catalog would give the same version to a different quantity, and the frontend
    /// would keep its copy through that version's invalidation. A write counts itself in
    /// `unflushed` before it commits and leaves only after its flush, so a read that may have
    /// seen an unflushed write finds the count above 0 and flushes (which covers that write).
    async fn durable<T>(&self, read: T) -> Result<T> {
        if self.unflushed.load(Ordering::SeqCst) > 0 {
            self.flush().await?;
        }
        Ok(read)
    }

    /// Runs `commit` (one sled transaction) counted in `unflushed`; the caller must call
    /// [`Self::flush_commit`] once for every successful one.
    fn commit<T>(&self, commit: impl FnOnce() -> Result<T>) -> Result<T> {
        // Counted before the transaction commits, so any reader of its writes sees the count.
        self.unflushed.fetch_add(1, Ordering::SeqCst);
        let result = commit();
        if result.is_err() {
            // A sled transaction is all or nothing: a failed one made nothing visible.
            self.unflushed.fetch_sub(1, Ordering::SeqCst);
        }
        result
    }

    /// Flushes, then takes one committed write out of `unflushed`. A failed flush leaves the
    /// count up, so every later read flushes (and fails) rather than show unflushed data.
    async fn flush_commit(&self) -> Result<()> {
        self.flush().await?;
        self.unflushed.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    /// Every movement of the journal with its sequence number, oldest first.
    ///
    /// # Errors
    /// [`Error::Storage`] when the tree cannot be read or holds damaged data.
    pub fn journal(&self) -> Result<Vec<(u64, Movement)>> {
        self.journal
            .iter()
            .map(|item| {
                let (key, bytes) = item?;
                Ok((key_u64(&key)?, decode(&bytes)?))
            })
            .collect()
    }

    /// Takes `request.quantity` of `request.name`, once per request id: checking the stock,
    /// taking it, recording the outcome and journaling the movement are one transaction, and
    /// the database is flushed before this returns. A request id seen before gets its first
    /// outcome back, whatever the stock is now.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a quantity outside 1..=1000, [`Error::NotFound`] for an unknown
    /// toy, [`Error::OutOfStock`] when there is not enough, [`Error::Storage`] when sled fails.
    pub async fn buy(&self, request: &BuyRequest) -> Result<BuyReceipt> {
        let mut outcomes = self.buy_many(std::slice::from_ref(request)).await?;
        outcomes.pop().expect("one outcome per request")
    }

    /// [`Self::buy`] for a batch: one transaction decides them all, a refused request recording
    /// its refusal rather than aborting it (so one refusal does not undo the others), and one
    /// flush covers them all before this returns.
    ///
    /// # Errors
    /// The outer error is a storage failure (nothing may be acknowledged); the inner ones are
    /// each request's own outcome.
    pub async fn buy_many(&self, requests: &[BuyRequest]) -> Result<Vec<Result<BuyReceipt>>> {
        let mut outcomes = Vec::with_capacity(requests.len());
        for (request, decided) in requests.iter().zip(self.decide_buys(requests)?) {
            let decided = decided.map(|(outcome, repeated)| {
                if repeated {
                    info!(
                        "buy {}: repeated request, answering its first outcome",
                        request.request_id
                    );
                }
                outcome
            });
            outcomes.push(decided.and_then(|outcome| match outcome {
                BuyOutcome::Bought(receipt) => Ok(receipt),
                BuyOutcome::OutOfStock => Err(Error::OutOfStock),
                BuyOutcome::NotFound => Err(not_found()),
            }));
        }
        // Even a repeated request flushes: its first answer may not be on disk yet.
        self.flush_commit().await?;
        Ok(outcomes)
    }

    /// The transaction of [`Self::buy_many`]: every request's outcome (or its refusal), and
    /// whether it was recorded before. One transaction for the batch: sled's per-transaction cost
    /// dominates a buy, and requests that fail still record their own outcome.
    /// Counted as unflushed until [`Self::flush_commit`].
    fn decide_buys(&self, requests: &[BuyRequest]) -> Result<Vec<Result<(BuyOutcome, bool)>>> {
        self.commit(|| {
            (&self.products, &self.buys, &self.journal)
                .transaction(|(products, buys, journal)| {
                    let mut decided = Vec::with_capacity(requests.len());
                    for request in requests {
                        decided.push(decide_one(products, buys, journal, request)?);
                    }
                    Ok(decided)
                })
                .map_err(tx_error)
        })
    }

    /// Refills every sold-out toy to its initial quantity, bumping its version and journaling a
    /// restock, in one transaction, flushed before this returns. Toys that started at 0 are left
    /// alone (there is nothing to refill them to).
    ///
    /// Returns the restocked toys as they now stand.
    ///
    /// # Errors
    /// [`Error::Storage`] when sled fails.
    pub async fn restock_sold_out(&self) -> Result<Vec<Product>> {
        // sled transactions cannot scan, so find candidates first and re-check each inside the
        // transaction (a concurrent restock may have refilled it already).
        let sold_out: Vec<String> = self
            .scan()?
            .into_iter()
            .filter(|p| p.quantity == 0)
            .map(|p| p.name)
            .collect();
        if sold_out.is_empty() {
            return Ok(Vec::new());
        }
        let restocked = self.commit_restock(&sold_out)?;
        self.flush_commit().await?;
        Ok(restocked)
    }

    /// The transaction of [`Self::restock_sold_out`] over the candidates `sold_out`; counted as
    /// unflushed until [`Self::flush_commit`].
    fn commit_restock(&self, sold_out: &[String]) -> Result<Vec<Product>> {
        self.commit(|| {
            (&self.products, &self.journal)
                .transaction(|(products, journal)| {
                    let mut restocked = Vec::new();
                    for name in sold_out {
                        let Some(mut record) = read(products, name)? else {
                            continue;
                        };
                        if record.quantity != 0 || record.initial_quantity == 0 {
                            continue;
                        }
                        record.quantity = record.initial_quantity;
                        record.version += 1;
                        products.insert(name.as_bytes(), encode(&record))?;
                        let movement = Movement {
                            name: name.clone(),
                            kind: MovementKind::Restock,
                            delta: i64::from(record.quantity),
                            quantity_after: record.quantity,
                            version: record.version,
                        };
                        append(journal, &movement)?;
                        restocked.push(record.product(name));
                    }
                    Ok(restocked)
                })
                .map_err(tx_error)
        })
    }

    /// Flushes everything written so far to disk.
    ///
    /// This is sled's blocking `flush` on tokio's blocking pool, not `flush_async`: in sled
    /// 0.34.7 concurrent `flush_async` calls can deadlock (spacejam/sled#1308, fixed only on
    /// sled's unreleased main branch), and concurrent buys flush concurrently.
    ///
    /// # Errors
    /// [`Error::Storage`] when the flush fails.
    pub async fn flush(&self) -> Result<()> {
        common::encoding::flush(&self.db).await
    }
}

mod transactions;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;
