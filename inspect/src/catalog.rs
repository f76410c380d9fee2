//! The catalog's data directory: its toys, its journal (streamed), a summary, and the
//! [`CatalogSnapshot`] the checks take. Value types are the catalog crate's own
//! ([`catalog::StockRecord`], [`catalog::Movement`]), so a format change there shows up here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use catalog::{Movement, MovementKind, StockRecord, JOURNAL_TREE, PRODUCTS_TREE};
use common::encoding::{decode, key_u64, u64_key};
use common::{Cents, Version};

use crate::datadir::{open_copy, Copied};
use crate::error::{Holder, InspectError, Result};
use common::db_lock::Kind;

/// The catalog's persisted stock: what the checks read. Built by [`CatalogDir::snapshot`], or by
/// anyone else from the same values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSnapshot {
    /// Every toy, by name.
    pub products: BTreeMap<String, StockRecord>,
    /// Every stock movement with its sequence number, oldest first. Sequence numbers grow but
    /// may skip (they come from sled's id generator).
    pub journal: Vec<(u64, Movement)>,
}

/// One toy as `inspect` shows it, with what its journal says about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ToyStock {
    /// The toy.
    pub name: String,
    /// Price in cents.
    pub price_cents: Cents,
    /// Price as shown to clients ("25.99").
    pub price: String,
    /// Units in stock.
    pub quantity: u32,
    /// What a restock refills to.
    pub initial_quantity: u32,
    /// Version of the toy's stock.
    pub version: Version,
    /// Units the journal records as bought.
    pub sold: u64,
    /// Restocks the journal records.
    pub restocks: u64,
}

/// What `toystore inspect PATH` and `inspect stock PATH` show about the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogSummary {
    /// The directory.
    pub path: PathBuf,
    /// Every toy, in name order.
    pub toys: Vec<ToyStock>,
    /// Movements in the journal.
    pub journal_len: u64,
}

/// The catalog's data directory, opened on a private copy.
pub struct CatalogDir {
    copied: Copied,
    products: sled::Tree,
    journal: sled::Tree,
}

impl CatalogDir {
    /// Opens the catalog directory at `path` read-only (on a copy).
    ///
    /// # Errors
    /// Not a data directory, a replica's directory, held by a running service (unless `force`),
    /// damaged, or an I/O failure while copying.
    pub fn open(path: &Path, force: bool) -> Result<CatalogDir> {
        CatalogDir::from_copied(open_copy(path, force)?)
    }

    pub(crate) fn from_copied(copied: Copied) -> Result<CatalogDir> {
        if copied.kind != Kind::Catalog {
            return Err(InspectError::WrongKind {
                path: copied.path.clone(),
                found: copied.kind.to_string(),
                wanted: "the catalog",
            });
        }
        let tree = |name: &str| {
            copied
                .db
                .open_tree(name)
                .map_err(|e| InspectError::damaged(&copied.path, format!("tree {name}: {e}")))
        };
        Ok(CatalogDir {
            products: tree(PRODUCTS_TREE)?,
            journal: tree(JOURNAL_TREE)?,
            copied,
        })
    }

    /// The directory this was copied from.
    pub fn path(&self) -> &Path {
        &self.copied.path
    }

    /// Who held the directory when `force` copied it anyway.
    pub fn held_by(&self) -> Option<&Holder> {
        self.copied.held_by.as_ref()
    }

    /// Every toy, by name.
    ///
    /// # Errors
    /// A damaged key or value.
    pub fn products(&self) -> Result<BTreeMap<String, StockRecord>> {
        self.products
            .iter()
            .map(|item| {
                let (key, value) = item.map_err(|e| self.damaged(format!("products scan: {e}")))?;
                let name = String::from_utf8(key.to_vec())
                    .map_err(|_| self.damaged(format!("product key {key:?} is not UTF-8")))?;
                let record =
                    decode(&value).map_err(|e| self.damaged(format!("toy {name}: {e}")))?;
                Ok((name, record))
            })
            .collect()
    }

    /// The journal from sequence number `from` on, read lazily.
    pub fn journal(&self, from: u64) -> Journal {
        Journal {
            path: Arc::from(self.copied.path.as_path()),
            inner: self.journal.range(u64_key(from)..),
        }
    }

    /// Every toy with its journal totals, and the journal's length, in one pass over the journal.
    ///
    /// # Errors
    /// A damaged key or value.
    pub fn summary(&self) -> Result<CatalogSummary> {
        let mut toys: BTreeMap<String, ToyStock> = self
            .products()?
            .into_iter()
            .map(|(name, r)| {
                let toy = ToyStock {
                    name: name.clone(),
                    price_cents: r.price_cents,
                    price: common::format_cents(r.price_cents),
                    quantity: r.quantity,
                    initial_quantity: r.initial_quantity,
                    version: r.version,
                    sold: 0,
                    restocks: 0,
                };
                (name, toy)
            })
            .collect();
        let mut journal_len = 0;
        for item in self.journal(0) {
            let (_, movement) = item?;
            journal_len += 1;
            // A movement of a toy the products tree lacks shows up in `check`, not here.
            let Some(toy) = toys.get_mut(&movement.name) else {
                continue;
            };
            match movement.kind {
                MovementKind::Buy { .. } => toy.sold += movement.delta.unsigned_abs(),
                MovementKind::Restock => toy.restocks += 1,
                MovementKind::Initial => {}
            }
        }
        Ok(CatalogSummary {
            path: self.copied.path.clone(),
            toys: toys.into_values().collect(),
            journal_len,
        })
    }

    /// The whole catalog in memory, for the checks.
    ///
    /// # Errors
    /// A damaged key or value.
    pub fn snapshot(&self) -> Result<CatalogSnapshot> {
        Ok(CatalogSnapshot {
            products: self.products()?,
            journal: self.journal(0).collect::<Result<_>>()?,
        })
    }

    fn damaged(&self, detail: impl std::fmt::Display) -> InspectError {
        InspectError::damaged(&self.copied.path, detail)
    }
}

/// Journal movements with their sequence numbers, oldest first, decoded lazily: see
/// [`CatalogDir::journal`].
pub struct Journal {
    path: Arc<Path>,
    inner: sled::Iter,
}

impl Iterator for Journal {
    type Item = Result<(u64, Movement)>;

    fn next(&mut self) -> Option<Self::Item> {
        let damaged = |detail: String| InspectError::damaged(&*self.path, detail);
        let item = self.inner.next()?;
        Some(
            item.map_err(|e| damaged(format!("journal scan: {e}")))
                .and_then(|(key, value)| {
                    let seq = key_u64(&key).map_err(|e| damaged(format!("journal key: {e}")))?;
                    let movement = decode(&value)
                        .map_err(|e| damaged(format!("journal movement {seq}: {e}")))?;
                    Ok((seq, movement))
                }),
        )
    }
}
