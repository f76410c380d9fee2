//! Where two replica logs part: one streamed pass over both, in number order, so logs of any size
//! compare in constant memory.

use serde::Serialize;
use std::path::PathBuf;

use common::encoding::Digest;
use common::{OrderEntry, OrderNumber, ReplicaId};

use crate::error::Result;
use crate::replica::{add_to_digest, Entries, ReplicaDir};

/// One side of a [`LogDiff`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogSide {
    /// The directory.
    pub path: PathBuf,
    /// The replica's id (0 when the directory does not say).
    pub id: ReplicaId,
    /// Entries in the log.
    pub entries: u64,
    /// Digest of the log, as [`order::OrderLog::digest`] computes it.
    pub digest: String,
}

/// The comparison of two replica logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogDiff {
    /// The first log.
    pub a: LogSide,
    /// The second log.
    pub b: LogSide,
    /// Whether the logs hold the same entries, epoch stamps included, whatever format each
    /// stores them in (then the digests are equal).
    pub identical: bool,
    /// The first number at which they differ, epoch stamps included.
    pub first_difference: Option<OrderNumber>,
    /// What the first log holds there (`None`: nothing).
    pub a_holds: Option<OrderEntry>,
    /// What the second log holds there.
    pub b_holds: Option<OrderEntry>,
}

/// A log being read: its next entry, and the digest and count of those already passed.
struct Cursor {
    entries: Entries,
    next: Option<OrderEntry>,
    digest: Digest,
    count: u64,
}

impl Cursor {
    fn new(mut entries: Entries) -> Result<Cursor> {
        let next = entries.next().transpose()?;
        Ok(Cursor {
            entries,
            next,
            digest: Digest::default(),
            count: 0,
        })
    }

    /// Digests the current entry and moves to the next.
    fn advance(&mut self) -> Result<()> {
        if let Some(entry) = &self.next {
            add_to_digest(&mut self.digest, entry);
            self.count += 1;
        }
        self.next = self.entries.next().transpose()?;
        Ok(())
    }

    fn side(&self, dir: &ReplicaDir) -> LogSide {
        LogSide {
            path: dir.path().to_path_buf(),
            id: dir.id(),
            entries: self.count,
            digest: self.digest.hex(),
        }
    }
}

/// Compares the logs of `a` and `b` in one pass.
///
/// # Errors
/// A damaged key or value in either log.
pub fn diff(a: &ReplicaDir, b: &ReplicaDir) -> Result<LogDiff> {
    let mut left = Cursor::new(a.entries(0, None))?;
    let mut right = Cursor::new(b.entries(0, None))?;
    let mut first: Option<(OrderNumber, Option<OrderEntry>, Option<OrderEntry>)> = None;
    loop {
        let (number, step_left, step_right) = match (&left.next, &right.next) {
            (None, None) => break,
            (Some(l), None) => (l.number, true, false),
            (None, Some(r)) => (r.number, false, true),
            (Some(l), Some(r)) if l.number == r.number => (l.number, true, true),
            (Some(l), Some(r)) if l.number < r.number => (l.number, true, false),
            (Some(_), Some(r)) => (r.number, false, true),
        };
        let differs = !(step_left && step_right) || left.next != right.next;
        if differs && first.is_none() {
            let held = |cursor: &Cursor, here: bool| cursor.next.clone().filter(|_| here);
            first = Some((number, held(&left, step_left), held(&right, step_right)));
        }
        if step_left {
            left.advance()?;
        }
        if step_right {
            right.advance()?;
        }
    }
    let (first_difference, a_holds, b_holds) = match first {
        Some((number, a_holds, b_holds)) => (Some(number), a_holds, b_holds),
        None => (None, None, None),
    };
    Ok(LogDiff {
        a: left.side(a),
        b: right.side(b),
        identical: first_difference.is_none(),
        first_difference,
        a_holds,
        b_holds,
    })
}
