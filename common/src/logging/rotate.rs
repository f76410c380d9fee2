//! A log file with a size cap: past `max_bytes` it is renamed to `<name>.1` (the older ones
//! shift up to `<name>.<keep>`, the oldest is dropped) and a fresh file is started, so a
//! long-running service never fills the disk with its log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An appending log file that rotates itself.
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    /// Bytes in the current file, counted from its size at open.
    written: u64,
    max_bytes: u64,
    keep: u32,
}

impl RotatingFile {
    /// Opens (appending) or creates `path`.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<RotatingFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
            written,
            max_bytes,
            keep,
        })
    }

    /// Appends one whole line, rotating first when it would take the file past its cap (a line
    /// is never split across two files).
    ///
    /// A rotation that fails (a directory in the way of `<name>.1`, a read-only directory) is
    /// said once on standard error and tried again a cap's worth of bytes later; meanwhile the
    /// lines go on into the current file, since a log past its cap beats lost lines.
    ///
    /// # Errors
    /// Writing failed.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 > self.max_bytes {
            if let Err(e) = self.rotate() {
                self.written = 0;
                eprintln!(
                    "warning: cannot rotate the log {}: {e}; writing on past its cap",
                    self.path.display()
                );
            }
        }
        self.file.write_all(line)?;
        self.written += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: u32| {
            let mut name = self.path.clone().into_os_string();
            name.push(format!(".{n}"));
            PathBuf::from(name)
        };
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                match fs::rename(numbered(n), numbered(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            fs::rename(&self.path, numbered(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn rotates_at_the_cap_and_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("order-1.log");
        let mut file = RotatingFile::open(&path, 10, 2).unwrap();
        for line in [
            "aaaa\n", "bbbb\n", "cccc\n", "dddd\n", "eeee\n", "ffff\n", "gg\n",
        ] {
            file.write_line(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "gg\n");
        assert_eq!(read(&dir.path().join("order-1.log.1")), "eeee\nffff\n");
        assert_eq!(read(&dir.path().join("order-1.log.2")), "cccc\ndddd\n");
        assert!(!dir.path().join("order-1.log.3").exists());
    }

    #[test]
    fn counts_what_the_file_held_before_it_was_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.log");
        fs::write(&path, "123456789\n").unwrap();
        let mut file = RotatingFile::open(&path, 12, 1).unwrap();
        file.write_line(b"next\n").unwrap();
        assert_eq!(read(&path), "next\n");
        assert_eq!(read(&dir.path().join("catalog.log.1")), "123456789\n");
    }

    #[test]
    fn a_failed_rotation_keeps_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("order-3.log");
        fs::create_dir(dir.path().join("order-3.log.1")).unwrap();
        let mut file = RotatingFile::open(&path, 8, 1).unwrap();
        for line in ["one\n", "two\n", "three\n", "four\n"] {
            file.write_line(line.as_bytes()).unwrap();
        }
        assert_eq!(read(&path), "one\ntwo\nthree\nfour\n");
    }

    #[test]
    fn keep_zero_drops_the_full_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frontend-1.log");
        let mut file = RotatingFile::open(&path, 4, 0).unwrap();
        file.write_line(b"one\n").unwrap();
        file.write_line(b"two\n").unwrap();
        assert_eq!(read(&path), "two\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_line_longer_than_the_cap_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut file = RotatingFile::open(&path, 4, 1).unwrap();
        file.write_line(b"a long line\n").unwrap();
        assert_eq!(read(&path), "a long line\n");
    }
}
