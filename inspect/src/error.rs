//! Why a directory could not be inspected. Every message names the path and says what to do.

use std::path::PathBuf;

pub use common::db_lock::Holder;

/// The inspect tool's errors. None of them leaves anything changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The path is missing, not a directory, or holds no store database.
    #[error("{} is not a toystore data directory: {why}", path.display())]
    NotDataDir {
        /// What was asked for.
        path: PathBuf,
        /// What is wrong with it, and a hint where there is one.
        why: String,
    },
    /// A running service holds the database (sled's exclusive lock on its `db` file).
    #[error(
        "{} is in use by a running service: {holder}. Stop it first (Ctrl-C for `toystore up`, \
         SIGTERM for a single service), or pass --force to inspect a copy taken anyway; the copy \
         may catch a write half done, which reads as if the service had crashed at that instant",
        path.display()
    )]
    Held {
        /// The directory.
        path: PathBuf,
        /// Which service, as far as the directory tells.
        holder: Holder,
    },
    /// A database of the wrong kind for the command (a catalog where a replica was wanted).
    #[error("{} is {found}'s data directory, not {wanted}'s", path.display())]
    WrongKind {
        /// The directory.
        path: PathBuf,
        /// What it holds.
        found: String,
        /// What the command reads.
        wanted: &'static str,
    },
    /// The database opened (or failed to) in a way only damage explains.
    #[error("{} looks damaged: {detail}", path.display())]
    Damaged {
        /// The directory.
        path: PathBuf,
        /// What could not be read, and where.
        detail: String,
    },
    /// Reading the directory or writing the temporary copy failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the failure was about.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// Result with the inspect [`InspectError`].
pub type Result<T, E = InspectError> = std::result::Result<T, E>;

impl InspectError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> InspectError {
        InspectError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn damaged(
        path: impl Into<PathBuf>,
        detail: impl std::fmt::Display,
    ) -> InspectError {
        InspectError::Damaged {
            path: path.into(),
            detail: detail.to_string(),
        }
    }
}
