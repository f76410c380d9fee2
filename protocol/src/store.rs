//! What the node needs of its log's storage, and an in-memory store for the simulator and tests.
//!
//! The node calls the store synchronously (sled's reads and writes are synchronous too); nothing a
//! store writes is durable until the driver flushes it, which it does after every step that wrote
//! and before it sends any of that step's messages or replies.

use common::{Epoch, Error, OrderEntry, OrderNumber, ReplicaId, RequestId, Result};
use std::collections::BTreeMap;

/// The persisted state of a replica besides its entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Highest epoch seen.
    pub epoch: Epoch,
    /// The leader this replica granted `epoch` to, if any. Persisted with `epoch` as one pair.
    pub granted: Option<ReplicaId>,
    /// Epoch of the leader whose log this one is a copy of; never above `epoch`.
    pub log_epoch: Epoch,
    /// The last epoch this replica led (took over and began leading). A replica that granted an
    /// epoch to itself but never led it may give that vote to the epoch's winner.
    pub led_epoch: Epoch,
    /// Entries `0..len` exist.
    pub len: u64,
    /// Entries `0..commit_len` are committed.
    pub commit_len: u64,
}

/// The order log of one replica as the node sees it.
pub trait LogStore {
    /// The persisted position, read once at start.
    fn position(&self) -> Result<Position>;
    /// The entry at `number`.
    fn get(&self, number: OrderNumber) -> Result<Option<OrderEntry>>;
    /// Entries `from..to`, all of them (a hole is a storage error).
    fn slice(&self, from: OrderNumber, to: OrderNumber) -> Result<Vec<OrderEntry>>;
    /// The number a request got, if it is in the log.
    fn lookup(&self, request_id: &RequestId) -> Result<Option<OrderNumber>>;
    /// Writes `entries` (consecutive from `from`) over whatever is there, then removes the entries
    /// past them that `drop_past_end` selects (they must form the log's tail), keeping the
    /// request index in step (see [`index_changes`]). Returns the new length.
    fn write(
        &mut self,
        from: OrderNumber,
        entries: &[OrderEntry],
        drop_past_end: &dyn Fn(&OrderEntry) -> bool,
    ) -> Result<u64>;
    /// Records the epoch and the leader it is granted to.
    fn set_vote(&mut self, epoch: Epoch, granted: Option<ReplicaId>) -> Result<()>;
    /// Records the log's epoch.
    fn set_log_epoch(&mut self, log_epoch: Epoch) -> Result<()>;
    /// Records that this replica leads `epoch`.
    fn set_led_epoch(&mut self, epoch: Epoch) -> Result<()>;
    /// Records the commit length. It may be lost in a crash (the replica learns it again), so a
    /// store need not count it as a write that must be flushed.
    fn set_commit_len(&mut self, commit_len: u64) -> Result<()>;
}

/// How a write changes the request index, given what the log held past `from` (`old`), what
/// is written there (`new`) and which old entries past the written ones are dropped.
///
/// Every id of a replaced or dropped entry is removed first, and only then is every written id
/// inserted, so an id that merely moves (`[A@10, B@11]` rewritten as `[B@10, A@11]`, or B dropped
/// from a dead tail and written again earlier) is never left out.
pub fn index_changes<'a>(
    old_replaced: impl Iterator<Item = &'a OrderEntry>,
    dropped: impl Iterator<Item = &'a OrderEntry>,
    new: &'a [OrderEntry],
) -> (Vec<&'a RequestId>, Vec<(&'a RequestId, OrderNumber)>) {
    let removes = old_replaced.chain(dropped).map(|e| &e.request_id).collect();
    let inserts = new.iter().map(|e| (&e.request_id, e.number)).collect();
    (removes, inserts)
}

/// Checks and plans a [`LogStore::write`]: the entries are consecutive from `from`, `from` leaves
/// no hole, and the dropped entries are the log's tail. Returns the old entries past `from` that
/// are replaced, those that are dropped, and the new length.
///
/// # Errors
/// A plan that would break density: that is a protocol bug, reported as internal.
pub fn plan_write<'a>(
    from: OrderNumber,
    len: u64,
    old: &'a [OrderEntry],
    entries: &[OrderEntry],
    drop_past_end: &dyn Fn(&OrderEntry) -> bool,
) -> Result<(&'a [OrderEntry], Vec<&'a OrderEntry>, u64)> {
    if from > len {
        return Err(Error::Internal(format!(
            "write at {from} would leave a hole after {len}"
        )));
    }
    if let Some((i, e)) = entries
        .iter()
        .enumerate()
        .find(|(i, e)| e.number != from + *i as u64)
    {
        return Err(Error::Internal(format!(
            "entry {i} of a write at {from} is numbered {}",
            e.number
        )));
    }
    let end = from + entries.len() as u64;
    let replaced = &old[..old.len().min(entries.len())];
    let past: &[OrderEntry] = &old[replaced.len()..];
    let dropped: Vec<&OrderEntry> = past.iter().filter(|e| drop_past_end(e)).collect();
    if let Some(first) = dropped.first() {
        if past
            .iter()
            .any(|e| e.number > first.number && !drop_past_end(e))
        {
            return Err(Error::Internal(format!(
                "dropping from {} would leave a hole in the log",
                first.number
            )));
        }
    }
    let new_len = end.max(len) - dropped.len() as u64;
    Ok((replaced, dropped, new_len))
}

/// An order log in memory whose writes are durable only once [`MemoryStore::flush`] runs, and a
/// crash ([`MemoryStore::crash`]) loses every write since: what a disk does to a process that
/// dies. The simulator's store.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    live: MemoryImage,
    durable: MemoryImage,
    /// Whether anything that must be flushed was written since the last flush.
    pub dirty: bool,
    /// Finding 2 of the protocol review, kept so the simulator proves it finds it: the index is
    /// updated entry by entry, which loses an id that moves to another number.
    pub flaw_index_in_one_pass: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct MemoryImage {
    entries: BTreeMap<OrderNumber, OrderEntry>,
    requests: BTreeMap<RequestId, OrderNumber>,
    position: Position,
}

impl MemoryStore {
    /// Makes every write so far durable.
    pub fn flush(&mut self) {
        self.durable = self.live.clone();
        self.dirty = false;
    }

    /// Loses every write since the last flush.
    pub fn crash(&mut self) {
        self.live = self.durable.clone();
        self.dirty = false;
    }

    /// The durable entries, in order.
    pub fn durable_entries(&self) -> impl Iterator<Item = &OrderEntry> {
        self.durable.entries.values()
    }

    /// The live entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = &OrderEntry> {
        self.live.entries.values()
    }

    /// The durable entry at `number`.
    pub fn durable_get(&self, number: OrderNumber) -> Option<&OrderEntry> {
        self.durable.entries.get(&number)
    }

    /// The position as it is on disk.
    pub fn durable_position(&self) -> Position {
        self.durable.position
    }

    /// The live request index: every id with its number.
    pub fn request_index(&self) -> &BTreeMap<RequestId, OrderNumber> {
        &self.live.requests
    }
}

impl LogStore for MemoryStore {
    fn position(&self) -> Result<Position> {
        Ok(self.live.position)
    }

    fn get(&self, number: OrderNumber) -> Result<Option<OrderEntry>> {
        Ok(self.live.entries.get(&number).cloned())
    }

    fn slice(&self, from: OrderNumber, to: OrderNumber) -> Result<Vec<OrderEntry>> {
        let entries: Vec<OrderEntry> = self
            .live
            .entries
            .range(from..to.max(from))
            .map(|(_, e)| e.clone())
            .collect();
        if entries.len() as u64 != to.saturating_sub(from) {
            return Err(Error::Storage(format!(
                "log slice {from}..{to} has {} entries",
                entries.len()
            )));
        }
        Ok(entries)
    }

    fn lookup(&self, request_id: &RequestId) -> Result<Option<OrderNumber>> {
        Ok(self.live.requests.get(request_id).copied())
    }

    fn write(
        &mut self,
        from: OrderNumber,
        entries: &[OrderEntry],
        drop_past_end: &dyn Fn(&OrderEntry) -> bool,
    ) -> Result<u64> {
        let len = self.live.position.len;
        let old: Vec<OrderEntry> = self
            .live
            .entries
            .range(from..)
            .map(|(_, e)| e.clone())
            .collect();
        let (replaced, dropped, new_len) = plan_write(from, len, &old, entries, drop_past_end)?;
        if entries.is_empty() && dropped.is_empty() {
            return Ok(new_len);
        }
        let (removes, inserts) = index_changes(replaced.iter(), dropped.iter().copied(), entries);
        let image = &mut self.live;
        if self.flaw_index_in_one_pass {
            for (i, e) in entries.iter().enumerate() {
                if let Some(was) = replaced.get(i).filter(|w| w.request_id != e.request_id) {
                    image.requests.remove(&was.request_id);
                }
                image.requests.insert(e.request_id.clone(), e.number);
                image.entries.insert(e.number, e.clone());
            }
            for e in &dropped {
                image.requests.remove(&e.request_id);
                image.entries.remove(&e.number);
            }
            image.position.len = new_len;
            self.dirty = true;
            return Ok(new_len);
        }
        for id in removes {
            image.requests.remove(id);
        }
        for e in &dropped {
            image.entries.remove(&e.number);
        }
        for (id, number) in inserts {
            image.requests.insert(id.clone(), number);
        }
        for e in entries {
            image.entries.insert(e.number, e.clone());
        }
        image.position.len = new_len;
        self.dirty = true;
        Ok(new_len)
    }

    fn set_vote(&mut self, epoch: Epoch, granted: Option<ReplicaId>) -> Result<()> {
        self.live.position.epoch = epoch;
        self.live.position.granted = granted;
        self.dirty = true;
        Ok(())
    }

    fn set_log_epoch(&mut self, log_epoch: Epoch) -> Result<()> {
        self.live.position.log_epoch = log_epoch;
        self.dirty = true;
        Ok(())
    }

    fn set_led_epoch(&mut self, epoch: Epoch) -> Result<()> {
        self.live.position.led_epoch = epoch;
        self.dirty = true;
        Ok(())
    }

    fn set_commit_len(&mut self, commit_len: u64) -> Result<()> {
        self.live.position.commit_len = commit_len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(number: u64, request: &str) -> OrderEntry {
        OrderEntry {
            number,
            epoch: 1,
            request_id: RequestId(request.into()),
            name: "Tux".into(),
            quantity: 1,
        }
    }

    /// Regression (finding 2 of the protocol review): an id that moves to another number in a
    /// rewrite stayed out of the index, so a retry with its key made a second order.
    #[test]
    fn a_request_that_moves_keeps_its_index_entry() {
        let mut store = MemoryStore::default();
        store
            .write(
                10 - 10,
                &(0..12)
                    .map(|n| entry(n, &format!("r{n}")))
                    .collect::<Vec<_>>(),
                &|_| false,
            )
            .unwrap();
        store
            .write(10, &[entry(10, "A"), entry(11, "B")], &|_| false)
            .unwrap();
        store
            .write(10, &[entry(10, "B"), entry(11, "A")], &|_| false)
            .unwrap();
        assert_eq!(store.lookup(&RequestId("B".into())).unwrap(), Some(10));
        assert_eq!(store.lookup(&RequestId("A".into())).unwrap(), Some(11));
        // B dropped from a dead tail while written again earlier.
        store.write(10, &[entry(10, "B")], &|_| true).unwrap();
        assert_eq!(store.lookup(&RequestId("B".into())).unwrap(), Some(10));
        assert_eq!(store.lookup(&RequestId("A".into())).unwrap(), None);
        assert_eq!(store.position().unwrap().len, 11);
    }

    #[test]
    fn a_crash_loses_what_was_not_flushed() {
        let mut store = MemoryStore::default();
        store.write(0, &[entry(0, "a")], &|_| false).unwrap();
        store.flush();
        store.write(1, &[entry(1, "b")], &|_| false).unwrap();
        store.set_vote(4, Some(2)).unwrap();
        store.crash();
        assert_eq!(store.position().unwrap().len, 1);
        assert_eq!(store.position().unwrap().epoch, 0);
        assert_eq!(store.lookup(&RequestId("b".into())).unwrap(), None);
    }

    #[test]
    fn a_write_that_would_leave_a_hole_is_refused() {
        let mut store = MemoryStore::default();
        assert!(store.write(1, &[entry(1, "a")], &|_| false).is_err());
        store
            .write(0, &[entry(0, "a"), entry(1, "b"), entry(2, "c")], &|_| {
                false
            })
            .unwrap();
        assert!(
            store
                .write(0, &[entry(0, "a")], &|e| e.number == 1)
                .is_err(),
            "hole at 1"
        );
    }
}
