//! Disk: the bytes of a service's data directory (every file under it, walked), as allocated on
//! disk (what `du` shows) and as the files' lengths; the service's text log (`*.log`, written
//! there by `common::logging`) is also counted apart, so the sled part can be told from it.

use common::FileError;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::ToolError;

/// What a directory holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DirSize {
    /// Blocks allocated to its files, in bytes.
    pub allocated: u64,
    /// Sum of its files' lengths.
    pub apparent: u64,
    /// Blocks allocated to the text logs (`*.log` files) among them, in bytes.
    pub text_logs: u64,
    pub files: u64,
}

impl DirSize {
    /// What sled holds: everything but the text logs.
    pub(crate) fn sled(&self) -> u64 {
        self.allocated - self.text_logs
    }
}

/// Walks `dir` (symbolic links are not followed).
///
/// # Errors
/// A directory or file under it that cannot be listed or examined.
pub(crate) fn dir_size(dir: &Path) -> Result<DirSize, ToolError> {
    let mut size = DirSize::default();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(FileError::about("cannot list", &dir))?;
        for entry in entries {
            let entry = entry.map_err(FileError::about("cannot list", &dir))?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path)
                .map_err(FileError::about("cannot examine", &path))?;
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                size.allocated += meta.blocks() * 512;
                if path.extension().is_some_and(|e| e == "log") {
                    size.text_logs += meta.blocks() * 512;
                }
                size.apparent += meta.len();
                size.files += 1;
            }
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_below_counts() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("a"), [0u8; 1000]).expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/b.log"), [0u8; 24]).expect("write");
        let size = dir_size(dir.path()).expect("readable");
        assert_eq!((size.apparent, size.files), (1024, 2));
        assert!(size.allocated >= 1024 && size.text_logs > 0, "{size:?}");
        assert!(size.sled() < size.allocated, "{size:?}");
    }
}
