//! Opening a data directory without changing a byte of it.
//!
//! sled 0.34 has no read-only mode: opening runs recovery (which may write) and takes an exclusive
//! `flock` on the `db` file. So the tool first checks, without taking anything, whether a running
//! service holds that lock, then copies the sled files into a temporary directory and opens the
//! copy. The original is only ever opened for reading.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::db_lock::{self, kind_from_path, Kind, SLED_DB_FILE};
use tempfile::TempDir;

use crate::error::{Holder, InspectError, Result};

/// The file sled 0.34 writes its settings to on first open.
const SLED_CONF_FILE: &str = "conf";
/// sled's page cache for the copy. Reading is one pass in key order, so a small cache loses
/// nothing and keeps a large log's listing in bounded memory (sled's default is 1 GiB).
const CACHE_BYTES: u64 = 16 << 20;

/// A private copy of a data directory, open in sled. Dropping it deletes the copy.
pub(crate) struct Copied {
    pub(crate) db: sled::Db,
    /// The original directory, for messages.
    pub(crate) path: PathBuf,
    pub(crate) kind: Kind,
    /// Set when `--force` copied a directory a running service holds.
    pub(crate) held_by: Option<Holder>,
    // Declared after `db` so the database is closed before its files are removed.
    _copy: TempDir,
}

/// Copies `path` and opens the copy. A directory held by a running service is refused unless
/// `force`.
pub(crate) fn open_copy(path: &Path, force: bool) -> Result<Copied> {
    require_database(path)?;
    let held = db_lock::holder(path).map_err(|e| InspectError::io(path.join(SLED_DB_FILE), e))?;
    let held_by = if let Some(holder) = held {
        if !force {
            return Err(InspectError::Held {
                path: path.to_path_buf(),
                holder,
            });
        }
        Some(holder)
    } else {
        None
    };
    let copy = tempfile::Builder::new()
        .prefix("toystore-inspect-")
        .tempdir()
        .map_err(|e| InspectError::io(std::env::temp_dir(), e))?;
    copy_dir(path, copy.path())?;
    let db = open_sled(path, copy.path())?;
    let kind = kind_of(path, &db)?;
    Ok(Copied {
        db,
        path: path.to_path_buf(),
        kind,
        held_by,
        _copy: copy,
    })
}

/// Refuses anything that is not a directory with sled's two files in it.
fn require_database(path: &Path) -> Result<()> {
    let not = |why: String| InspectError::NotDataDir {
        path: path.to_path_buf(),
        why,
    };
    match fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(not("there is no such directory".into()))
        }
        Err(e) => return Err(InspectError::io(path, e)),
        Ok(meta) if !meta.is_dir() => return Err(not("it is a file, not a directory".into())),
        Ok(_) => {}
    }
    if path.join(SLED_DB_FILE).is_file() && path.join(SLED_CONF_FILE).is_file() {
        return Ok(());
    }
    let root_hint = if path.join("catalog").is_dir() || has_replica_dirs(path) {
        "; it looks like a data root: `toystore inspect check PATH` checks all of it, \
         `toystore inspect PATH/order-1` shows one replica"
    } else {
        ""
    };
    Err(not(format!(
        "it holds no sled database (files `{SLED_DB_FILE}` and `{SLED_CONF_FILE}`){root_hint}"
    )))
}

fn has_replica_dirs(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("order-"))
        })
    })
}

/// Copies the sled files of `from` into `to`. Service log files (`*.log`, rotated `*.log.N`) are
/// left out: they are not part of the database and can be large.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for entry in fs::read_dir(from).map_err(|e| InspectError::io(from, e))? {
        let entry = entry.map_err(|e| InspectError::io(from, e))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let file_type = entry
            .file_type()
            .map_err(|e| InspectError::io(&source, e))?;
        if file_type.is_dir() {
            fs::create_dir(&target).map_err(|e| InspectError::io(&target, e))?;
            copy_dir(&source, &target)?;
        } else if file_type.is_file() && !is_log_file(&entry.file_name()) {
            fs::copy(&source, &target).map_err(|e| InspectError::io(&source, e))?;
            // The copy keeps the original's mode; an archived read-only directory must still
            // give a copy sled can open for writing.
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600))
                .map_err(|e| InspectError::io(&target, e))?;
        }
    }
    Ok(())
}

/// A service's log file, current (`order-1.log`) or rotated (`order-1.log.2`).
fn is_log_file(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.ends_with(".log") || n.contains(".log."))
}

/// Opens the copy. sled reports damage as an error, or on some damage panics; both become
/// [`InspectError::Damaged`] naming the original directory.
fn open_sled(original: &Path, copy: &Path) -> Result<sled::Db> {
    let opened = catch_unwind(AssertUnwindSafe(|| {
        sled::Config::new()
            .path(copy)
            .cache_capacity(CACHE_BYTES)
            .open()
    }));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(InspectError::damaged(
            original,
            format!("sled cannot open it: {e}"),
        )),
        Err(panic) => Err(InspectError::damaged(
            original,
            format!("sled failed while recovering it: {}", panic_message(&panic)),
        )),
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Tells a catalog from a replica by its trees; the id of a replica comes from its path.
fn kind_of(path: &Path, db: &sled::Db) -> Result<Kind> {
    let names = db.tree_names();
    let has = |tree: &str| names.iter().any(|n| n == tree.as_bytes());
    if has(catalog::PRODUCTS_TREE) && has(catalog::JOURNAL_TREE) {
        return Ok(Kind::Catalog);
    }
    if has(order::log::LOG_TREE) && has(order::log::META_TREE) {
        let id = match kind_from_path(path) {
            Some(Kind::Replica(id)) => id,
            _ => 0,
        };
        return Ok(Kind::Replica(id));
    }
    let names: Vec<String> = names
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .filter(|n| n != "__sled__default")
        .collect();
    if names.is_empty() {
        // Every service creates its trees on its first start, so a database without any is one
        // whose records sled dropped while recovering: it keeps only what passes its checksums.
        return Err(InspectError::damaged(
            path,
            "sled recovered no trees from its database: it is empty, or damaged beyond what \
             sled's recovery keeps",
        ));
    }
    Err(InspectError::NotDataDir {
        path: path.to_path_buf(),
        why: format!(
            "it is a sled database but neither a catalog nor an order replica (its trees: {})",
            names.join(", ")
        ),
    })
}
