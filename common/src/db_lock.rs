//! Who holds a service's sled database: sled 0.34 keeps an exclusive `flock` on the `db` file of
//! an open database, so a second opener fails with a bare `EWOULDBLOCK`. This finds the holder
//! without taking the lock, so that the services, `toystore up`, `inspect` and `reset` all say
//! "in use by order replica 2 (pid 4242)" instead of `Os { code: 11, .. }`.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::ReplicaId;

/// The file sled 0.34 locks (`Config::db_path`, locked in `Config::try_lock`).
pub const SLED_DB_FILE: &str = "db";

/// Which service a data directory belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    /// The catalog's stock store.
    Catalog,
    /// An order replica's log. The id comes from the directory's name (`order-N`) or its log
    /// file (`order-N.log`); 0 when neither says (real ids start at 1).
    Replica(ReplicaId),
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Catalog => f.write_str("the catalog"),
            Kind::Replica(0) => f.write_str("an order replica"),
            Kind::Replica(id) => write!(f, "order replica {id}"),
        }
    }
}

/// Who holds a data directory: a description from its name or files, and the process when the
/// system says so.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// "order replica 2", "the catalog", or "a toystore service" when the directory does not say.
    pub service: String,
    /// The holding process, when `/proc/locks` names it.
    pub pid: Option<u32>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "{} (pid {pid})", self.service),
            None => f.write_str(&self.service),
        }
    }
}

/// The holder of the sled database in `dir`, `None` when no process holds it (or there is no
/// database there).
///
/// # Errors
/// The `db` file exists but cannot be opened or probed.
pub fn holder(dir: &Path) -> io::Result<Option<Holder>> {
    let db_file = dir.join(SLED_DB_FILE);
    if !is_locked(&db_file)? {
        return Ok(None);
    }
    Ok(Some(Holder {
        service: describe(dir),
        pid: lock_holder_pid(&db_file),
    }))
}

/// The file `toystore up` keeps an exclusive `flock` on, under the data root, for as long as it
/// supervises the store there: it outlives the services it restarts, so `reset` (and a second
/// `up`) can tell the store is running even while every service is down between two restarts.
pub const UP_LOCK_FILE: &str = "up.lock";

/// Takes the supervision lock of `data_root` ([`UP_LOCK_FILE`]); it holds as long as the
/// returned file is open. The descriptor is close-on-exec, so the services do not inherit it.
///
/// # Errors
/// Another process holds it (the message names its pid when the system does), or the file
/// cannot be created.
pub fn supervise(data_root: &Path) -> io::Result<fs::File> {
    let path = data_root.join(UP_LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    // SAFETY: `file` owns the descriptor for the whole call; flock only reads the fd number.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(file);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
        return Err(error);
    }
    Err(io::Error::new(
        io::ErrorKind::WouldBlock,
        format!(
            "{} is supervised by {}",
            data_root.display(),
            supervisor_text(lock_holder_pid(&path))
        ),
    ))
}

/// Who supervises `data_root`: "toystore up (pid 4242)", `None` when nobody does.
///
/// # Errors
/// The lock file exists but cannot be opened or probed.
pub fn supervisor(data_root: &Path) -> io::Result<Option<String>> {
    let path = data_root.join(UP_LOCK_FILE);
    if !is_locked(&path)? {
        return Ok(None);
    }
    Ok(Some(supervisor_text(lock_holder_pid(&path))))
}

fn supervisor_text(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("toystore up (pid {pid})"),
        None => "toystore up".into(),
    }
}

/// What to say about a sled open failure of `dir`: the holder when another process has the
/// database ("in use by order replica 2 (pid 4242)"), sled's own words otherwise. sled 0.34
/// reports the lock as an `Other` I/O error whose text embeds `Os { code: 11, .. }`, so the lock
/// is probed again rather than the error read.
pub fn explain_open_error(dir: &Path, error: &sled::Error) -> String {
    match holder(dir) {
        Ok(Some(holder)) => format!("in use by {holder}"),
        // The holder stopped in between: still say what the failure was.
        _ if error.to_string().contains("could not acquire lock") => {
            "in use by another process".into()
        }
        _ => error.to_string(),
    }
}

/// Whether some process holds an exclusive `flock` on `db_file` (sled's, or `up`'s). sled keeps an exclusive `flock` on it for
/// as long as the database is open, so a shared non-blocking `flock` on a read-only handle fails
/// exactly then. It writes nothing; the probe's own lock lives for two system calls (a service
/// starting in that very instant would fail to lock and exit, and starting it again is enough).
fn is_locked(db_file: &Path) -> io::Result<bool> {
    let file = match fs::File::open(db_file) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    // SAFETY: `file` owns the descriptor for the whole call; flock only reads the fd number.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        // Closing `file` (on return) releases the probe's lock.
        return Ok(false);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(true)
    } else {
        Err(error)
    }
}

/// The process holding a write `flock` on `db_file`, from `/proc/locks` (Linux), best effort.
/// Matches on the inode only: on overlay file systems the lock is listed under the underlying
/// device, which `stat` does not show.
fn lock_holder_pid(db_file: &Path) -> Option<u32> {
    let inode = fs::metadata(db_file).ok()?.ino();
    let locks = fs::read_to_string("/proc/locks").ok()?;
    // A line reads "1: FLOCK  ADVISORY  WRITE 5864 fe:00:5308480 0 EOF"; waiters have "->" in
    // the second field and are skipped.
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&"FLOCK") || fields.get(3) != Some(&"WRITE") {
            return None;
        }
        let lock_inode: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        (lock_inode == inode).then(|| fields.get(4)?.parse().ok())?
    })
}

/// Which service a directory belongs to, from its name or the log file the service writes in it.
pub fn describe(path: &Path) -> String {
    match kind_from_path(path) {
        Some(kind) => kind.to_string(),
        None => "a toystore service".into(),
    }
}

/// The kind a directory's name (`catalog`, `order-N`) or log file (`catalog.log`,
/// `order-N.log`) announces.
pub fn kind_from_path(path: &Path) -> Option<Kind> {
    let from_name = |name: &str| {
        if name == "catalog" {
            Some(Kind::Catalog)
        } else {
            name.strip_prefix("order-")?.parse().ok().map(Kind::Replica)
        }
    };
    if let Some(kind) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(from_name)
    {
        return Some(kind);
    }
    fs::read_dir(path).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        from_name(name.to_str()?.strip_suffix(".log")?)
    })
}
