//! From paths to snapshots: one data directory of either kind ([`open`]), or a whole data root
//! checked at once ([`check_data_root`]).

use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

use common::ReplicaId;

use crate::catalog::CatalogDir;
use crate::checks::{self, CheckResult};
use crate::datadir::open_copy;
use crate::error::{Holder, InspectError, Result};
use crate::replica::ReplicaDir;
use common::db_lock::Kind;

/// A data directory of either kind, opened read-only on a copy.
pub enum DataDir {
    /// The catalog's.
    Catalog(CatalogDir),
    /// An order replica's.
    Replica(ReplicaDir),
}

impl DataDir {
    /// Who held the directory when `force` copied it anyway.
    pub fn held_by(&self) -> Option<&Holder> {
        match self {
            DataDir::Catalog(dir) => dir.held_by(),
            DataDir::Replica(dir) => dir.held_by(),
        }
    }
}

/// Opens the data directory at `path`, telling a catalog from a replica by its trees.
///
/// # Errors
/// Not a data directory, held by a running service (unless `force`), damaged, or an I/O failure
/// while copying.
pub fn open(path: &Path, force: bool) -> Result<DataDir> {
    let copied = open_copy(path, force)?;
    match copied.kind {
        Kind::Catalog => CatalogDir::from_copied(copied).map(DataDir::Catalog),
        Kind::Replica(_) => ReplicaDir::from_copied(copied).map(DataDir::Replica),
    }
}

/// A directory `--force` copied while a service held it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldDir {
    /// The directory.
    pub path: PathBuf,
    /// Who held it.
    pub holder: Holder,
}

/// What `toystore inspect check DATA_ROOT` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The data root.
    pub data_root: PathBuf,
    /// The replicas read, by id.
    pub replicas: Vec<ReplicaId>,
    /// True exactly when every check passed.
    pub passed: bool,
    /// Every check, in [`checks::all`]'s order.
    pub checks: Vec<CheckResult>,
    /// Directories copied while running (their copy may be mid-write).
    pub held: Vec<HeldDir>,
}

/// Reads `DATA_ROOT/catalog` and every `DATA_ROOT/order-N`, and runs [`checks::all`] over them.
///
/// # Errors
/// The root lacks a catalog or replicas, or one of the directories cannot be read (see [`open`]).
pub fn check_data_root(root: &Path, force: bool) -> Result<CheckReport> {
    let not_root = |why: String| InspectError::NotDataDir {
        path: root.to_path_buf(),
        why,
    };
    if !root.is_dir() {
        return Err(not_root("there is no such directory".into()));
    }
    let catalog_path = root.join("catalog");
    if !catalog_path.is_dir() {
        return Err(not_root(
            "it has no catalog/ directory; `check` takes a data root (the directory holding \
             catalog/ and order-N/), `toystore inspect PATH` reads one service's directory"
                .into(),
        ));
    }
    let replica_paths = replica_dirs(root)?;
    if replica_paths.is_empty() {
        return Err(not_root("it has no order-N/ directories".into()));
    }
    let mut held = Vec::new();
    let mut note_held = |path: &Path, holder: Option<&Holder>| {
        if let Some(holder) = holder {
            let path = path.to_path_buf();
            held.push(HeldDir {
                path,
                holder: holder.clone(),
            });
        }
    };
    let catalog = CatalogDir::open(&catalog_path, force)?;
    note_held(&catalog_path, catalog.held_by());
    let catalog = catalog.snapshot()?;
    let mut replicas = Vec::new();
    for (id, path) in &replica_paths {
        let dir = ReplicaDir::open(path, force)?;
        note_held(path, dir.held_by());
        let mut snapshot = dir.snapshot()?;
        // The directory name is authoritative here: it is where the cluster file puts replica id.
        snapshot.id = *id;
        replicas.push(snapshot);
    }
    let checks = checks::all(&catalog, &replicas);
    Ok(CheckReport {
        data_root: root.to_path_buf(),
        replicas: replicas.iter().map(|r| r.id).collect(),
        passed: checks.iter().all(|c| c.passed),
        checks,
        held,
    })
}

/// The `order-N` directories of a data root, by id.
fn replica_dirs(root: &Path) -> Result<Vec<(ReplicaId, PathBuf)>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| InspectError::io(root, e))? {
        let entry = entry.map_err(|e| InspectError::io(root, e))?;
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_prefix("order-"))
            .and_then(|n| n.parse::<ReplicaId>().ok());
        if let Some(id) = id.filter(|_| entry.path().is_dir()) {
            dirs.push((id, entry.path()));
        }
    }
    dirs.sort();
    Ok(dirs)
}
