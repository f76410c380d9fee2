//! The order log of one replica, in sled.
//!
//! Trees:
//! - `log`: big-endian order number → the entry in its stored form ([`crate::stored`]: a format
//!   byte, then epoch, quantity, name and the request id in binary, without the number, which is
//!   the key), so range scans come out in order. Format 1 (the whole entry in bincode, as builds
//!   before the compact form wrote it) is still read.
//! - `requests`: request id in its compact form ([`crate::stored::request_key`]) → big-endian
//!   number, the deduplication index; it always names exactly the entries in `log` (kept in the
//!   same transaction). A directory whose index still has format-1 keys (the id's text) is moved
//!   to the compact keys when it is opened ([`upgrade`]).
//! - `meta`: `epoch` (highest epoch seen) and `granted` (the leader it is granted to, id + 1, 0
//!   for none), written together; `log_epoch` (epoch of the leader whose log this one is a copy
//!   of); `led_epoch` (the last epoch this replica led); `commit_len` (entries `0..commit_len`
//!   are committed); `requests_format` (the form of the `requests` keys, 2; absent means 1).
//!
//! Invariants:
//! - Numbers are dense from 0: the log is always `0..len`.
//! - A committed entry never changes what order it is: a rewrite below `commit_len` must carry the
//!   same order; this is asserted.
//! - `commit_len`, `epoch`, `log_epoch` and `led_epoch` never go backwards.
//! - The digest is over each key and the entry's format-1 bytes, whatever form it is stored in:
//!   the same log has the same digest in either format.
//!
//! [`OrderLog`] is the [`protocol::LogStore`] of the real replicas: the node decides, this writes.
//!
//! Nothing here is durable until [`OrderLog::flush`] returns.

use common::encoding::{key_u64, u64_key, Digest};
use common::{Epoch, Error, OrderEntry, OrderNumber, RequestId, Result};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::path::Path;

use crate::stored::{decode_entry, digest_form, encode_entry, request_key};

pub mod upgrade;

/// Tree names, public so tools can read a stopped replica's directory.
pub const LOG_TREE: &str = "log";
/// See [`LOG_TREE`].
pub const REQUESTS_TREE: &str = "requests";
/// See [`LOG_TREE`].
pub const META_TREE: &str = "meta";
/// Keys of the meta tree.
pub const META_EPOCH: &str = "epoch";
/// See [`META_EPOCH`].
pub const META_LOG_EPOCH: &str = "log_epoch";
/// See [`META_EPOCH`].
pub const META_COMMIT_LEN: &str = "commit_len";
/// See [`META_EPOCH`].
pub const META_GRANTED: &str = "granted";
/// See [`META_EPOCH`].
pub const META_LED_EPOCH: &str = "led_epoch";
pub use upgrade::META_REQUESTS_FORMAT;

pub use protocol::Position;

/// The order log of one replica.
pub struct OrderLog {
    db: sled::Db,
    log: sled::Tree,
    requests: sled::Tree,
    meta: sled::Tree,
    /// Whether anything that must be flushed was written since the last flush.
    dirty: bool,
    /// Log entries written through the node since the last [`OrderLog::take_written_entries`]:
    /// what the next flush makes durable, for the flush-size histogram. Counted as written, not
    /// from the length, which a truncation followed by an append leaves unchanged.
    written_entries: u64,
}

fn storage<E: std::fmt::Display>(e: E) -> Error {
    Error::Storage(e.to_string())
}

impl OrderLog {
    /// Opens (or creates) the log in `dir`, with sled's default settings.
    ///
    /// # Errors
    /// sled cannot open the directory (held by another process, damaged, no permission).
    pub fn open(dir: &Path) -> Result<OrderLog> {
        OrderLog::open_with(sled::Config::new().path(dir))
    }

    /// Opens (or creates) the log sled's `config` says (its path, its page cache). A directory
    /// an older build wrote gets its request index moved to the compact keys first
    /// ([`upgrade`]).
    ///
    /// # Errors
    /// As [`Self::open`], and a failed or refused upgrade (a damaged entry, a newer format).
    pub fn open_with(config: sled::Config) -> Result<OrderLog> {
        let dir = config.path.clone();
        let db = config.open().map_err(|e| {
            let why = common::db_lock::explain_open_error(&dir, &e);
            Error::Storage(format!("cannot open order log {}: {why}", dir.display()))
        })?;
        let log = OrderLog {
            log: db.open_tree(LOG_TREE)?,
            requests: db.open_tree(REQUESTS_TREE)?,
            meta: db.open_tree(META_TREE)?,
            db,
            dirty: false,
            written_entries: 0,
        };
        upgrade::upgrade_requests(&dir, &log.db, &log.log, &log.requests, &log.meta).map_err(
            |e| Error::Storage(format!("cannot upgrade order log {}: {e}", dir.display())),
        )?;
        Ok(log)
    }

    /// The persisted position, read at start.
    ///
    /// # Errors
    /// Storage failures or damaged meta values.
    pub fn position(&self) -> Result<Position> {
        let len = self.length()?;
        let granted = self.meta_u64(META_GRANTED)?;
        let position = Position {
            epoch: self.meta_u64(META_EPOCH)?,
            granted: granted
                .checked_sub(1)
                .map(|id| {
                    common::ReplicaId::try_from(id).map_err(|_| {
                        Error::Storage(format!("granted replica {id} is out of range"))
                    })
                })
                .transpose()?,
            log_epoch: self.meta_u64(META_LOG_EPOCH)?,
            led_epoch: self.meta_u64(META_LED_EPOCH)?,
            len,
            commit_len: self.meta_u64(META_COMMIT_LEN)?.min(len),
        };
        // Only the ends are checked here: counting the entries walks the whole tree (0.7 s and
        // about 100 MB of pages at a million orders, on every start). Every write keeps the log
        // dense by construction; `toystore inspect check` walks it offline.
        let first = match self.log.first()? {
            Some((key, _)) => Some(key_u64(&key)?),
            None => None,
        };
        if len > 0 && first != Some(0) {
            return Err(Error::Storage(format!(
                "log's last number is {} but its first is {first:?}, not 0: not dense",
                len - 1
            )));
        }
        Ok(position)
    }

    fn meta_u64(&self, key: &str) -> Result<u64> {
        match self.meta.get(key)? {
            Some(bytes) => key_u64(&bytes),
            None => Ok(0),
        }
    }

    /// Records a meta value (durable at the next flush). Values only grow.
    pub fn raise_meta(&self, key: &str, value: u64) -> Result<()> {
        self.meta.fetch_and_update(key, |old| {
            let old = old.and_then(|b| key_u64(b).ok()).unwrap_or(0);
            Some(u64_key(old.max(value)).to_vec())
        })?;
        Ok(())
    }

    /// The log's length: its last number plus one (cheap: one lookup, not a scan).
    ///
    /// # Errors
    /// Storage failures or a damaged key.
    pub fn length(&self) -> Result<u64> {
        match self.log.last()? {
            Some((key, _)) => Ok(key_u64(&key)? + 1),
            None => Ok(0),
        }
    }

    /// The entry at `number`.
    ///
    /// # Errors
    /// Storage failures or a damaged entry.
    pub fn get(&self, number: OrderNumber) -> Result<Option<OrderEntry>> {
        self.log
            .get(u64_key(number))?
            .map(|bytes| decode_entry(number, &bytes))
            .transpose()
    }

    /// Up to `limit` entries from `from` on, in order.
    ///
    /// # Errors
    /// Storage failures or a damaged entry.
    pub fn range(&self, from: OrderNumber, limit: usize) -> Result<Vec<OrderEntry>> {
        self.log
            .range(u64_key(from)..)
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                decode_entry(key_u64(&key)?, &value)
            })
            .collect()
    }

    /// Entries `from..to`.
    ///
    /// # Errors
    /// Storage failures, a damaged entry, or a hole (which would break density).
    pub fn slice(&self, from: OrderNumber, to: OrderNumber) -> Result<Vec<OrderEntry>> {
        let entries = self.range(from, to.saturating_sub(from) as usize)?;
        if entries.len() as u64 != to.saturating_sub(from) {
            return Err(Error::Storage(format!(
                "log slice {from}..{to} has {} entries",
                entries.len()
            )));
        }
        Ok(entries)
    }

    /// The number a request got, if it is in the log.
    ///
    /// # Errors
    /// Storage failures.
    pub fn lookup(&self, request_id: &RequestId) -> Result<Option<OrderNumber>> {
        self.requests
            .get(request_key(request_id))?
            .map(|bytes| key_u64(&bytes))
            .transpose()
    }

    /// Writes `entries` (consecutive, starting at `from`) over whatever the log holds there, then
    /// removes every entry past them that `drop_past_end` selects (the log's tail), keeping the
    /// request index in step, all in one transaction. Returns the new log length.
    ///
    /// `commit_len` guards the committed prefix: a rewrite there must be the same order, and nothing
    /// below it is ever removed.
    ///
    /// # Errors
    /// Storage failures. A violated invariant panics: that is a protocol bug, not an input error.
    pub fn write(
        &self,
        from: OrderNumber,
        entries: &[OrderEntry],
        commit_len: u64,
        drop_past_end: impl Fn(&OrderEntry) -> bool,
    ) -> Result<u64> {
        // The length comes from the tree itself, never from a caller's copy that could lag it.
        let current_len = self.length()?;
        let old: Vec<OrderEntry> = self.range(from, usize::MAX)?;
        let (replaced, dropped, new_len) =
            protocol::store::plan_write(from, current_len, &old, entries, &drop_past_end)
                .unwrap_or_else(|e| panic!("{e}"));
        if let Some(first) = dropped.first() {
            assert!(
                first.number >= commit_len,
                "would remove committed entry {} (commit_len {commit_len})",
                first.number
            );
        }
        for (entry, was) in entries.iter().zip(replaced) {
            if entry.number < commit_len {
                assert!(
                    entry.same_order(was),
                    "committed entry {} would change from {was:?} to {entry:?}",
                    entry.number
                );
            }
        }
        if entries.is_empty() && dropped.is_empty() {
            // A heartbeat: nothing changes, nothing to write or flush.
            return Ok(new_len);
        }
        let (removes, inserts) =
            protocol::store::index_changes(replaced.iter(), dropped.iter().copied(), entries);
        let result = (&self.log, &self.requests).transaction(|(log, requests)| {
            // Every id that goes is removed before any that comes is inserted, so an id that
            // only moves to another number stays in the index.
            for id in &removes {
                requests.remove(request_key(id))?;
            }
            for entry in &dropped {
                log.remove(&u64_key(entry.number))?;
            }
            for (id, number) in &inserts {
                requests.insert(request_key(id), &u64_key(*number))?;
            }
            for entry in entries {
                log.insert(&u64_key(entry.number), encode_entry(entry))?;
            }
            Ok::<_, ConflictableTransactionError<Error>>(())
        });
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => storage(e),
        })?;
        Ok(new_len)
    }

    /// Whether anything that must be flushed was written since the last flush.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether anything that must be flushed was written since the last flush, and clears it.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Log entries the node wrote since the last call, and clears the count.
    pub fn take_written_entries(&mut self) -> u64 {
        std::mem::take(&mut self.written_entries)
    }

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// The flush failed: nothing written since the last flush may be acknowledged.
    pub async fn flush(&self) -> Result<()> {
        common::encoding::flush(&self.db).await
    }

    /// Digest of the whole log (every entry, epoch stamps included) and its entry count: over
    /// each key and [`digest_form`] of its entry, so either stored format gives the same digest.
    ///
    /// # Errors
    /// Storage failures or a damaged entry.
    pub fn digest(&self) -> Result<(String, u64)> {
        let mut digest = Digest::default();
        let mut count = 0;
        for item in self.log.iter() {
            let (key, value) = item?;
            digest.update(&key);
            digest.update(&digest_form(&decode_entry(key_u64(&key)?, &value)?));
            count += 1;
        }
        Ok((digest.hex(), count))
    }
}

impl protocol::LogStore for OrderLog {
    fn position(&self) -> Result<Position> {
        OrderLog::position(self)
    }

    fn get(&self, number: OrderNumber) -> Result<Option<OrderEntry>> {
        OrderLog::get(self, number)
    }

    fn slice(&self, from: OrderNumber, to: OrderNumber) -> Result<Vec<OrderEntry>> {
        OrderLog::slice(self, from, to)
    }

    fn lookup(&self, request_id: &RequestId) -> Result<Option<OrderNumber>> {
        OrderLog::lookup(self, request_id)
    }

    fn write(
        &mut self,
        from: OrderNumber,
        entries: &[OrderEntry],
        drop_past_end: &dyn Fn(&OrderEntry) -> bool,
    ) -> Result<u64> {
        // The node checked the committed prefix itself; 0 leaves only density to check here.
        let before = self.length()?;
        let len = OrderLog::write(self, from, entries, 0, drop_past_end)?;
        self.dirty |= !entries.is_empty() || len != before;
        self.written_entries += entries.len() as u64;
        Ok(len)
    }

    fn set_vote(&mut self, epoch: Epoch, granted: Option<common::ReplicaId>) -> Result<()> {
        let granted = granted.map_or(0, |id| u64::from(id) + 1);
        self.meta
            .transaction(|meta| {
                meta.insert(META_EPOCH, &u64_key(epoch))?;
                meta.insert(META_GRANTED, &u64_key(granted))?;
                Ok::<_, ConflictableTransactionError<Error>>(())
            })
            .map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => storage(e),
            })?;
        self.dirty = true;
        Ok(())
    }

    fn set_log_epoch(&mut self, log_epoch: Epoch) -> Result<()> {
        self.raise_meta(META_LOG_EPOCH, log_epoch)?;
        self.dirty = true;
        Ok(())
    }

    fn set_led_epoch(&mut self, epoch: Epoch) -> Result<()> {
        self.raise_meta(META_LED_EPOCH, epoch)?;
        self.dirty = true;
        Ok(())
    }

    fn set_commit_len(&mut self, commit_len: u64) -> Result<()> {
        // Lazily durable: the next flush carries it, and a restart that lost it learns it again.
        self.raise_meta(META_COMMIT_LEN, commit_len)
    }
}

#[cfg(test)]
mod tests;
