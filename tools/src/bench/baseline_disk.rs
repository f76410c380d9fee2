//! The disk baseline: a bare sled loop that inserts one small entry and flushes, again and again,
//! for the length of a run, in a fresh directory next to the cluster's data (same disk, same
//! file system). Every durable order needs a flush on the catalog, the leader and a follower
//! (batched under load), so flushes per second bound what the store can do, and the ratio of
//! orders/s to it reads the same on a fast disk and a slow one.

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
}
