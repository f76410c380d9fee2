//! Opening a directory an older build wrote: its `requests` index is moved to the compact keys
//! of [`crate::stored`] once, at open, so that a lookup only ever needs one form.
//!
//! The index is rebuilt from the log, which it always mirrors: for every entry, the format-1 key
//! (the id's text) goes and the compact key comes, [`UPGRADE_BATCH`] entries per atomic batch.
//! That is idempotent, so an upgrade cut short by a crash simply runs again at the next open, and
//! the two key forms never meet (no compact key is UTF-8 text). `meta` records
//! [`META_REQUESTS_FORMAT`] = [`REQUESTS_FORMAT`] only after the last batch is flushed. Log values
//! are left as they are: each carries its format byte, and format 1 is read as well as 2.

use std::path::Path;
use std::time::Instant;

use common::encoding::{key_u64, u64_key};
use common::{Error, Result};

use crate::stored::{decode_entry, request_key};

/// Meta key: the form of the `requests` tree's keys (absent: format 1, the id's text).
pub const META_REQUESTS_FORMAT: &str = "requests_format";
/// The form this build writes and reads: [`crate::stored::request_key`].
pub const REQUESTS_FORMAT: u64 = 2;
/// Entries moved per atomic batch: bounds what one write holds in memory.
pub const UPGRADE_BATCH: usize = 10_000;

/// Brings the `requests` index of `db` (in `dir`) to [`REQUESTS_FORMAT`], if it is not there
/// yet. Returns how many entries were moved (0 for a directory already in the format, or empty).
///
/// # Errors
/// Storage failures, a damaged entry, or an index in a format newer than this build's.
pub(crate) fn upgrade_requests(
    dir: &Path,
    db: &sled::Db,
    log: &sled::Tree,
    requests: &sled::Tree,
    meta: &sled::Tree,
) -> Result<u64> {
    let format = match meta.get(META_REQUESTS_FORMAT)? {
        Some(bytes) => key_u64(&bytes)?,
        None => 1,
    };
    if format == REQUESTS_FORMAT {
        return Ok(0);
    }
    if format > REQUESTS_FORMAT {
        return Err(Error::Storage(format!(
            "the requests index is in format {format}; this build reads {REQUESTS_FORMAT}"
        )));
    }
    let total = log.len();
    if total == 0 {
        // Nothing to move (a new directory): the mark is durable with the first flush, and the
        // upgrade is harmless to run again if it is lost before that.
        meta.insert(META_REQUESTS_FORMAT, &u64_key(REQUESTS_FORMAT))?;
        return Ok(0);
    }
    let dir = dir.display();
    ::log::info!(
        "order log {dir}: moving the requests index of {total} entries to format \
         {REQUESTS_FORMAT}, {UPGRADE_BATCH} per batch"
    );
    let started = Instant::now();
    let mut moved = 0u64;
    let mut entries = log.iter();
    loop {
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        for item in entries.by_ref().take(UPGRADE_BATCH) {
            let (key, value) = item?;
            let number = key_u64(&key)?;
            let entry = decode_entry(number, &value)?;
            batch.remove(entry.request_id.0.as_bytes());
            batch.insert(request_key(&entry.request_id), &u64_key(number));
            in_batch += 1;
        }
        if in_batch == 0 {
            break;
        }
        requests.apply_batch(batch)?;
        moved += in_batch;
        ::log::debug!("order log {dir}: requests index, {moved} of {total} entries moved");
    }
    db.flush()?;
    meta.insert(META_REQUESTS_FORMAT, &u64_key(REQUESTS_FORMAT))?;
    db.flush()?;
    ::log::info!(
        "order log {dir}: requests index in format {REQUESTS_FORMAT}: {moved} entries moved in \
         {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(moved)
}
