//! An order replica's data directory: its persisted position, its log (streamed), a summary, and
//! the [`ReplicaSnapshot`] the checks take.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::encoding::{key_u64, u64_key, Digest};
use common::{Epoch, OrderEntry, OrderNumber, ReplicaId};
use order::log::{LOG_TREE, META_COMMIT_LEN, META_EPOCH, META_LOG_EPOCH, META_TREE};
use order::stored::{decode_entry, digest_form};

use crate::datadir::{open_copy, Copied};
use crate::error::{Holder, InspectError, Result};
use common::db_lock::Kind;

/// The persisted state of one order replica: what the checks read. Built from a data directory by
/// [`ReplicaDir::snapshot`], or by anyone else (a drill reading replicas over HTTP) from the same
/// values.
///
/// `entries` are in number order, as a range scan of the log returns them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSnapshot {
    /// The replica's id (0 when unknown).
    pub id: ReplicaId,
    /// Highest epoch the replica has seen.
    pub epoch: Epoch,
    /// Epoch of the leader whose log this log copies.
    pub log_epoch: Epoch,
    /// Entries `0..commit_len` are known committed by this replica.
    pub commit_len: u64,
    /// The whole log.
    pub entries: Vec<OrderEntry>,
}

impl ReplicaSnapshot {
    /// Digest of the log, equal to [`order::OrderLog::digest`] of the replica it came from.
    pub fn digest(&self) -> String {
        log_digest(&self.entries)
    }

    /// Number of the last entry, `None` for an empty log.
    pub fn last(&self) -> Option<OrderNumber> {
        self.entries.last().map(|e| e.number)
    }
}

/// Digest of a log given as entries: FNV-1a over each big-endian key and the entry's
/// [`digest_form`], in order, exactly the bytes [`order::OrderLog::digest`] hashes (the form is
/// deterministic, and the same whatever format the entry is stored in).
pub fn log_digest<'a>(entries: impl IntoIterator<Item = &'a OrderEntry>) -> String {
    let mut digest = Digest::default();
    for entry in entries {
        add_to_digest(&mut digest, entry);
    }
    digest.hex()
}

/// Feeds one entry into a log digest.
pub(crate) fn add_to_digest(digest: &mut Digest, entry: &OrderEntry) {
    digest.update(&u64_key(entry.number));
    digest.update(&digest_form(entry));
}

/// The meta values of a replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReplicaMeta {
    /// Highest epoch seen.
    pub epoch: Epoch,
    /// Epoch of the leader whose log this one copies.
    pub log_epoch: Epoch,
    /// Entries known committed.
    pub commit_len: u64,
}

/// What `toystore inspect PATH` shows about a replica, computed in one streamed pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaSummary {
    /// The directory.
    pub path: PathBuf,
    /// The replica's id (0 when the directory does not say).
    pub id: ReplicaId,
    /// Highest epoch seen.
    pub epoch: Epoch,
    /// Epoch of the leader whose log this one copies.
    pub log_epoch: Epoch,
    /// Entries known committed.
    pub commit_len: u64,
    /// The commit index: the last committed number, `None` when nothing is.
    pub commit: Option<OrderNumber>,
    /// Number of the last entry.
    pub last: Option<OrderNumber>,
    /// How many entries the log holds.
    pub entries: u64,
    /// Whether the numbers are exactly `0..entries`.
    pub dense: bool,
    /// The first entry.
    pub first_entry: Option<OrderEntry>,
    /// The last entry.
    pub last_entry: Option<OrderEntry>,
    /// Digest of the log, as [`order::OrderLog::digest`] computes it.
    pub digest: String,
}

/// A replica's data directory, opened on a private copy.
pub struct ReplicaDir {
    copied: Copied,
    id: ReplicaId,
    log: sled::Tree,
    meta: sled::Tree,
}

impl ReplicaDir {
    /// Opens the replica directory at `path` read-only (on a copy).
    ///
    /// # Errors
    /// Not a data directory, a catalog's directory, held by a running service (unless `force`),
    /// damaged, or an I/O failure while copying.
    pub fn open(path: &Path, force: bool) -> Result<ReplicaDir> {
        ReplicaDir::from_copied(open_copy(path, force)?)
    }

    pub(crate) fn from_copied(copied: Copied) -> Result<ReplicaDir> {
        let Kind::Replica(id) = copied.kind else {
            return Err(InspectError::WrongKind {
                path: copied.path.clone(),
                found: copied.kind.to_string(),
                wanted: "an order replica",
            });
        };
        let tree = |name: &str| {
            copied
                .db
                .open_tree(name)
                .map_err(|e| InspectError::damaged(&copied.path, format!("tree {name}: {e}")))
        };
        Ok(ReplicaDir {
            log: tree(LOG_TREE)?,
            meta: tree(META_TREE)?,
            id,
            copied,
        })
    }

    /// The replica's id (0 when the directory does not say).
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The directory this was copied from.
    pub fn path(&self) -> &Path {
        &self.copied.path
    }

    /// Who held the directory when `force` copied it anyway.
    pub fn held_by(&self) -> Option<&Holder> {
        self.copied.held_by.as_ref()
    }

    /// The persisted epoch, log epoch and commit length (0 when never written).
    ///
    /// # Errors
    /// A meta value that is not a big-endian u64.
    pub fn meta(&self) -> Result<ReplicaMeta> {
        let read = |key: &str| -> Result<u64> {
            let value = self.meta.get(key).map_err(|e| self.damaged(e))?;
            value.map_or(Ok(0), |bytes| {
                key_u64(&bytes).map_err(|e| self.damaged(format!("meta {key}: {e}")))
            })
        };
        Ok(ReplicaMeta {
            epoch: read(META_EPOCH)?,
            log_epoch: read(META_LOG_EPOCH)?,
            commit_len: read(META_COMMIT_LEN)?,
        })
    }

    /// The entries numbered `from..=to` (to the end without `to`), read lazily from disk so any
    /// log size streams in constant memory.
    pub fn entries(&self, from: OrderNumber, to: Option<OrderNumber>) -> Entries {
        Entries {
            raw: self.raw(from, to),
        }
    }

    /// Keys and values of `from..=to`, as stored.
    pub(crate) fn raw(&self, from: OrderNumber, to: Option<OrderNumber>) -> RawEntries {
        let inner = match to {
            Some(to) => self.log.range(u64_key(from)..=u64_key(to)),
            None => self.log.range(u64_key(from)..),
        };
        RawEntries {
            path: Arc::from(self.copied.path.as_path()),
            inner,
        }
    }

    /// The summary, in one streamed pass over the log.
    ///
    /// # Errors
    /// A damaged key, value or meta value.
    pub fn summary(&self) -> Result<ReplicaSummary> {
        let meta = self.meta()?;
        let mut digest = Digest::default();
        let (mut count, mut dense) = (0u64, true);
        let (mut first_entry, mut last_entry) = (None, None);
        for raw in self.raw(0, None) {
            let raw = raw?;
            dense &= raw.number == count;
            count += 1;
            let entry = raw.entry()?;
            add_to_digest(&mut digest, &entry);
            if first_entry.is_none() {
                first_entry = Some(entry.clone());
            }
            last_entry = Some(entry);
        }
        Ok(ReplicaSummary {
            path: self.copied.path.clone(),
            id: self.id,
            epoch: meta.epoch,
            log_epoch: meta.log_epoch,
            commit_len: meta.commit_len,
            commit: meta.commit_len.checked_sub(1),
            last: last_entry.as_ref().map(|e: &OrderEntry| e.number),
            entries: count,
            dense,
            first_entry,
            last_entry,
            digest: digest.hex(),
        })
    }

    /// The whole replica in memory, for the checks.
    ///
    /// # Errors
    /// A damaged key, value or meta value.
    pub fn snapshot(&self) -> Result<ReplicaSnapshot> {
        let meta = self.meta()?;
        Ok(ReplicaSnapshot {
            id: self.id,
            epoch: meta.epoch,
            log_epoch: meta.log_epoch,
            commit_len: meta.commit_len,
            entries: self.entries(0, None).collect::<Result<_>>()?,
        })
    }

    fn damaged(&self, detail: impl std::fmt::Display) -> InspectError {
        InspectError::damaged(&self.copied.path, detail)
    }
}

/// One stored log entry: its number (from the key) and its value, in either stored format.
pub(crate) struct RawEntry {
    path: Arc<Path>,
    pub(crate) number: OrderNumber,
    pub(crate) value: sled::IVec,
}

impl RawEntry {
    /// Decodes the value (format 1 or 2, see [`order::stored`]); a format-1 entry whose number
    /// differs from its key is refused as damage.
    pub(crate) fn entry(&self) -> Result<OrderEntry> {
        decode_entry(self.number, &self.value).map_err(|e| {
            InspectError::damaged(&*self.path, format!("log entry {}: {e}", self.number))
        })
    }
}

/// Stored log entries in number order, read lazily.
pub(crate) struct RawEntries {
    path: Arc<Path>,
    inner: sled::Iter,
}

impl Iterator for RawEntries {
    type Item = Result<RawEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.inner.next()?;
        Some(
            item.map_err(|e| InspectError::damaged(&*self.path, format!("log scan: {e}")))
                .and_then(|(key, value)| {
                    let number = key_u64(&key)
                        .map_err(|e| InspectError::damaged(&*self.path, format!("log key: {e}")))?;
                    Ok(RawEntry {
                        path: self.path.clone(),
                        number,
                        value,
                    })
                }),
        )
    }
}

/// Log entries in number order, decoded lazily: see [`ReplicaDir::entries`].
pub struct Entries {
    raw: RawEntries,
}

impl Iterator for Entries {
    type Item = Result<OrderEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.raw.next()?.and_then(|raw| raw.entry()))
    }
}
