//! A file or directory that cannot be read, written or made, named with what was being done to
//! it: the one shape every tool's error uses for that.

use std::path::{Path, PathBuf};

/// `{what} {path}: {source}`, as in "cannot write /tmp/report.json: No space left on device".
#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", path.display())]
pub struct FileError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// A closure for `map_err` that names the file and what was being done to it; `?` then
    /// turns the `FileError` into the caller's error.
    pub fn about(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.to_path_buf();
        move |source| FileError { what, path, source }
    }
}
