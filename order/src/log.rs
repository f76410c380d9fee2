//! The order log of one replica, in sled.
//!
//! Trees:
//! - `log`: big-endian order number → encoded [`OrderEntry`], so range scans come out in order.
//! - `requests`: request id → big-endian number, the deduplication index; it always names exactly
//!   the entries in `log` (kept in the same transaction).
//! - `meta`: `epoch` (highest epoch seen) and `granted` (the leader it is granted to, id + 1, 0
//!   for none), written together; `log_epoch` (epoch of the leader whose log this one is a copy
//!   of); `led_epoch` (the last epoch this replica led); `commit_len` (entries `0..commit_len`
//!   are committed).
//!
//! Invariants:
//! - Numbers are dense from 0: the log is always `0..len`.
//! - A committed entry never changes what order it is: a rewrite below `commit_len` must carry the
//!   same order; this is asserted.
//! - `commit_len`, `epoch`, `log_epoch` and `led_epoch` never go backwards.
//!
//! [`OrderLog`] is the [`protocol::LogStore`] of the real replicas: the node decides, this writes.
//!
//! Nothing here is durable until [`OrderLog::flush`] returns.

use common::encoding::{decode, encode, key_u64, u64_key, Digest};
use common::{Epoch, Error, OrderEntry, OrderNumber, RequestId, Result};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use std::path::Path;

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

pub use protocol::Position;

/// The order log of one replica.
pub struct OrderLog {
    db: sled::Db,
    log: sled::Tree,
    requests: sled::Tree,
    meta: sled::Tree,
    /// Whether anything that must be flushed was written since the last flush.
    dirty: bool,
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

    /// Opens (or creates) the log sled's `config` says (its path, its page cache).
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_with(config: sled::Config) -> Result<OrderLog> {
        let dir = config.path.clone();
        let db = config
            .open()
            .map_err(|e| Error::Storage(format!("cannot open order log {}: {e}", dir.display())))?;
        Ok(OrderLog {
            log: db.open_tree(LOG_TREE)?,
            requests: db.open_tree(REQUESTS_TREE)?,
            meta: db.open_tree(META_TREE)?,
            db,
            dirty: false,
        })
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
        if self.log.len() as u64 != len {
            return Err(Error::Storage(format!(
                "log has {} entries but its last number is {}: not dense",
                self.log.len(),
                len.saturating_sub(1)
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
            .map(|bytes| decode(&bytes))
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
            .map(|item| decode(&item?.1))
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
            .get(request_id.0.as_bytes())?
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
                requests.remove(id.0.as_bytes())?;
            }
            for entry in &dropped {
                log.remove(&u64_key(entry.number))?;
            }
            for (id, number) in &inserts {
                requests.insert(id.0.as_bytes(), &u64_key(*number))?;
            }
            for entry in entries {
                log.insert(&u64_key(entry.number), encode(entry))?;
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

    /// Makes everything written so far durable.
    ///
    /// # Errors
    /// The flush failed: nothing written since the last flush may be acknowledged.
    pub async fn flush(&self) -> Result<()> {
        common::encoding::flush(&self.db).await
    }

    /// Digest of the whole log (every entry, epoch stamps included) and its entry count.
    ///
    /// # Errors
    /// Storage failures.
    pub fn digest(&self) -> Result<(String, u64)> {
        let mut digest = Digest::default();
        let mut count = 0;
        for item in self.log.iter() {
            let (key, value) = item?;
            digest.update(&key);
            digest.update(&value);
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
mod tests {
    use super::*;

    fn entry(number: u64, epoch: u64, request: &str) -> OrderEntry {
        OrderEntry {
            number,
            epoch,
            request_id: RequestId(request.into()),
            name: "Tux".into(),
            quantity: 1,
        }
    }

    #[test]
    fn write_overwrites_drops_tail_and_keeps_index() {
        let dir = tempfile::tempdir().unwrap();
        let log = OrderLog::open(dir.path()).unwrap();
        let first = [entry(0, 1, "a"), entry(1, 1, "b"), entry(2, 1, "c")];
        assert_eq!(log.write(0, &first, 0, |_| false).unwrap(), 3);
        assert_eq!(log.lookup(&RequestId("c".into())).unwrap(), Some(2));
        // A new leader (epoch 2) rewrites 1 and drops the older-epoch tail past its end.
        let second = [entry(1, 2, "x")];
        assert_eq!(log.write(1, &second, 1, |e| e.epoch < 2).unwrap(), 2);
        assert_eq!(log.get(1).unwrap(), Some(entry(1, 2, "x")));
        assert_eq!(log.get(2).unwrap(), None);
        assert_eq!(log.lookup(&RequestId("b".into())).unwrap(), None);
        assert_eq!(log.lookup(&RequestId("c".into())).unwrap(), None);
        assert_eq!(log.lookup(&RequestId("x".into())).unwrap(), Some(1));
        log.raise_meta(META_COMMIT_LEN, 2).unwrap();
        log.raise_meta(META_COMMIT_LEN, 1).unwrap();
        let position = log.position().unwrap();
        assert_eq!((position.len, position.commit_len), (2, 2));
    }

    /// Regression (found by a drill): `write` took the log's length from its caller, whose copy
    /// could lag the tree; it now reads the tree, so the tail past a rewrite is always seen.
    #[test]
    fn write_measures_the_log_itself() {
        let dir = tempfile::tempdir().unwrap();
        let log = OrderLog::open(dir.path()).unwrap();
        let four: Vec<_> = (0..4).map(|n| entry(n, 1, &format!("r{n}"))).collect();
        log.write(0, &four, 0, |_| false).unwrap();
        let rewritten = [entry(1, 2, "x")];
        assert_eq!(
            log.write(1, &rewritten, 1, |e| e.epoch < 2).unwrap(),
            2,
            "entries 2 and 3 dropped"
        );
        assert_eq!(log.length().unwrap(), 2);
    }

    #[test]
    #[should_panic(expected = "committed entry 0 would change")]
    fn committed_entries_never_change_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = OrderLog::open(dir.path()).unwrap();
        log.write(0, &[entry(0, 1, "a")], 0, |_| false).unwrap();
        log.write(0, &[entry(0, 2, "other")], 1, |_| false).unwrap();
    }

    /// Regression (finding 2 of the protocol review): an id that moves to another number in one
    /// rewrite stayed out of the index, so a retry with its key made a second order.
    #[test]
    fn a_request_that_moves_keeps_its_index_entry() {
        let dir = tempfile::tempdir().unwrap();
        let log = OrderLog::open(dir.path()).unwrap();
        let first: Vec<_> = (0..10).map(|n| entry(n, 1, &format!("r{n}"))).collect();
        log.write(0, &first, 0, |_| false).unwrap();
        log.write(10, &[entry(10, 1, "A"), entry(11, 1, "B")], 10, |_| false)
            .unwrap();
        log.write(10, &[entry(10, 2, "B"), entry(11, 2, "A")], 10, |_| false)
            .unwrap();
        assert_eq!(log.lookup(&RequestId("B".into())).unwrap(), Some(10));
        assert_eq!(log.lookup(&RequestId("A".into())).unwrap(), Some(11));
        log.write(10, &[entry(10, 3, "A")], 10, |_| true).unwrap();
        assert_eq!(log.lookup(&RequestId("A".into())).unwrap(), Some(10));
        assert_eq!(log.lookup(&RequestId("B".into())).unwrap(), None);
    }

    #[test]
    fn a_vote_and_its_epoch_are_read_back_together() {
        use protocol::LogStore;
        let dir = tempfile::tempdir().unwrap();
        let mut log = OrderLog::open(dir.path()).unwrap();
        log.set_vote(7, Some(3)).unwrap();
        log.set_led_epoch(5).unwrap();
        let position = log.position().unwrap();
        assert_eq!(
            (position.epoch, position.granted, position.led_epoch),
            (7, Some(3), 5)
        );
        log.set_vote(8, None).unwrap();
        assert_eq!(log.position().unwrap().granted, None);
    }
}
