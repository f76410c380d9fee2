//! What every tool run records about the machine it ran on, and the scratch directories it makes.

use common::FileError;
use std::path::Path;
use tempfile::TempDir;

/// The 1-minute load average from `/proc/loadavg`, where there is one: other work on the machine
/// shows here, next to the figures it disturbed.
pub(crate) fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A new directory `<parent>/<prefix>…`, removed when the returned guard is dropped.
///
/// # Errors
/// The directory cannot be made.
pub(crate) fn scratch_dir(prefix: &str, parent: &Path) -> Result<TempDir, FileError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(FileError::about("cannot make a directory in", parent))
}
