//! The disk baselines, each in a fresh directory next to the cluster's data (same disk, same file
//! system):
//! - a bare sled loop that inserts one small entry and flushes, again and again, for the length
//!   of a run. Every durable order needs a flush on the catalog, the leader and a follower
//!   (batched under load), so flushes per second bound what the store can do, and the ratio of
//!   orders/s to it reads the same on a fast disk and a slow one;
//! - a bare sled bulk write of [`BULK_ENTRIES`] entries into two trees (a log keyed by number and
//!   an index keyed by id, as a replica keeps them) in batches of 1,000 with a flush every
//!   10,000, as a catch-up writes its pages: the limit of a catch-up.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::load::new_histogram;
use crate::ToolError;

/// Bytes of each entry the baseline writes: about what an order takes in the log.
pub const ENTRY_BYTES: usize = 64;

/// What the baseline measured.
#[derive(Clone, Debug, Serialize)]
pub struct DiskBaseline {
    /// Insert + flush rounds completed.
    pub flushes: u64,
    pub seconds: f64,
    pub flushes_per_second: f64,
    /// Latency of one insert + flush.
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Entries the bulk baseline writes: about the gap of a catch-up the bench measures.
pub const BULK_ENTRIES: u64 = 50_000;
/// Entries in each batch of the bulk baseline, as a catch-up writes its committed pages.
const BULK_BATCH: u64 = 1_000;
/// Entries between the bulk baseline's flushes: a page of a catch-up.
const BULK_FLUSH_EVERY: u64 = 10_000;
/// Bytes of each bulk entry's value: about a compact log entry.
const BULK_VALUE_BYTES: usize = 24;

/// What the bulk baseline measured.
#[derive(Clone, Debug, Serialize)]
pub struct BulkBaseline {
    pub entries: u64,
    pub seconds: f64,
    pub entries_per_second: f64,
}

/// Writes [`BULK_ENTRIES`] in a new directory under `parent`, removed afterwards.
///
/// # Errors
/// The directory cannot be made, or sled fails to open, write or flush.
pub async fn measure_bulk(parent: &Path) -> Result<BulkBaseline, ToolError> {
    let dir = crate::machine::scratch_dir("bench-bulk-baseline-", parent)?;
    let path = dir.path().to_path_buf();
    let measured = tokio::task::spawn_blocking(move || bulk_write(&path))
        .await
        .map_err(|source| ToolError::Task {
            what: "the sled bulk baseline",
            source,
        })?;
    drop(dir);
    measured
}

fn bulk_write(path: &Path) -> Result<BulkBaseline, ToolError> {
    let failed = |source| ToolError::Sled {
        path: PathBuf::from(path),
        source,
    };
    let db = sled::open(path).map_err(failed)?;
    let log = db.open_tree("log").map_err(failed)?;
    let index = db.open_tree("requests").map_err(failed)?;
    let value = [0x5au8; BULK_VALUE_BYTES];
    let started = Instant::now();
    for first in (0..BULK_ENTRIES).step_by(BULK_BATCH as usize) {
        let (mut entries, mut ids) = (sled::Batch::default(), sled::Batch::default());
        for number in first..first + BULK_BATCH {
            // Ids that grow with time, as generated request ids do: a tag, the number, a mix.
            let mut id = [0u8; 17];
            id[0] = 0xf5;
            id[1..9].copy_from_slice(&number.to_be_bytes());
            id[9..].copy_from_slice(&number.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            entries.insert(&number.to_be_bytes(), &value[..]);
            ids.insert(&id[..], &number.to_be_bytes());
        }
        index.apply_batch(ids).map_err(failed)?;
        log.apply_batch(entries).map_err(failed)?;
        if (first + BULK_BATCH).is_multiple_of(BULK_FLUSH_EVERY) {
            db.flush().map_err(failed)?;
        }
    }
    db.flush().map_err(failed)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(BulkBaseline {
        entries: BULK_ENTRIES,
        seconds,
        entries_per_second: BULK_ENTRIES as f64 / seconds,
    })
}

/// Runs the loop for `length` in a new directory under `parent`, removed afterwards.
///
/// # Errors
/// The directory cannot be made, or sled fails to open, write or flush.
pub async fn measure(parent: &Path, length: Duration) -> Result<DiskBaseline, ToolError> {
    let dir = crate::machine::scratch_dir("bench-disk-baseline-", parent)?;
    let path = dir.path().to_path_buf();
    let measured = tokio::task::spawn_blocking(move || flush_loop(&path, length))
        .await
        .map_err(|source| ToolError::Task {
            what: "the sled baseline",
            source,
        })?;
    drop(dir);
    measured
}

fn flush_loop(path: &Path, length: Duration) -> Result<DiskBaseline, ToolError> {
    let failed = |source| ToolError::Sled {
        path: PathBuf::from(path),
        source,
    };
    let db = sled::open(path).map_err(failed)?;
    let value = [0x5au8; ENTRY_BYTES];
    let mut latency: Histogram<u64> = new_histogram();
    let started = Instant::now();
    let mut flushes = 0u64;
    while started.elapsed() < length {
        let start = Instant::now();
        db.insert(flushes.to_be_bytes(), &value[..])
            .map_err(failed)?;
        db.flush().map_err(failed)?;
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        latency.saturating_record(micros.max(1));
        flushes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let ms = |quantile| latency.value_at_quantile(quantile) as f64 / 1000.0;
    Ok(DiskBaseline {
        flushes,
        seconds,
        flushes_per_second: flushes as f64 / seconds,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_loop_flushes_and_leaves_nothing_behind() {
        let parent = tempfile::tempdir().expect("a temporary directory");
        let baseline = measure(parent.path(), Duration::from_millis(200))
            .await
            .expect("sled works in a temporary directory");
        assert!(baseline.flushes > 0 && baseline.flushes_per_second > 0.0);
        assert!(baseline.p50_ms > 0.0 && baseline.p99_ms >= baseline.p50_ms);
        let left = std::fs::read_dir(parent.path()).expect("readable").count();
        assert_eq!(left, 0, "the baseline's directory is removed");
    }

    #[tokio::test]
    async fn the_bulk_write_writes_every_entry_and_leaves_nothing_behind() {
        let parent = tempfile::tempdir().expect("a temporary directory");
        let bulk = measure_bulk(parent.path())
            .await
            .expect("sled works in a temporary directory");
        assert_eq!(bulk.entries, BULK_ENTRIES);
        assert!(bulk.seconds > 0.0 && bulk.entries_per_second > 0.0);
        let left = std::fs::read_dir(parent.path()).expect("readable").count();
        assert_eq!(left, 0, "the baseline's directory is removed");
    }
}
