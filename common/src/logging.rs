//! Logging set-up: every line goes to the terminal (standard error) and to the service's own
//! `<service>.log` in its data directory, which rotates at a size cap ([`rotate`]).
//!
//! Each line starts with the UTC time to the millisecond and names the service (`order-2`), as
//! text or as one JSON object ([`LogFormat`]); colour only on a terminal, never in the file.
//! Which records are written follows the `RUST_LOG` syntax ([`filter`]) layered over the cluster
//! file's `log_level`. The store's own logger rather than simplelog's: simplelog cannot parse
//! `module=level` lists, writes no milliseconds in its default format, has no JSON and does not
//! rotate.

pub mod filter;
mod format;
pub mod rotate;

pub use filter::Filter;
pub use format::LogFormat;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use format::Line;
use rotate::RotatingFile;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error(
        "bad log directive {0:?}: expected LEVEL or TARGET=LEVEL, comma-separated, with levels \
         off, error, warn, info, debug, trace (RUST_LOG=order=debug,info)"
    )]
    BadDirective(String),
    #[error("cannot open log file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How a service logs: the cluster file's level and log-file cap, and `--log-format`.
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// The cluster file's `log_level` (directives allowed); `RUST_LOG` goes on top.
    pub level: String,
    pub format: LogFormat,
    /// The size at which `<service>.log` rotates.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: u32,
}

impl LogSettings {
    /// The settings of `config`, written as `format`.
    pub fn of(config: &crate::ClusterConfig, format: LogFormat) -> LogSettings {
        LogSettings {
            level: config.log_level.clone(),
            format,
            max_bytes: config.log_max_mb.saturating_mul(1024 * 1024),
            keep: config.log_keep,
        }
    }
}

struct Logger {
    service: String,
    filter: Filter,
    format: LogFormat,
    colour: bool,
    file: Mutex<RotatingFile>,
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.filter.enabled(metadata.target(), metadata.level())
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = Line {
            ts: format::timestamp_now(),
            level: record.level(),
            service: &self.service,
            target: record.target(),
            message: record.args().to_string(),
        };
        // A log line that cannot be written is dropped: logging must never stop the service.
        let _ = std::io::stderr()
            .lock()
            .write_all(line.render(self.format, self.colour).as_bytes());
        let plain = line.render(self.format, false);
        if let Ok(mut file) = self.file.lock() {
            let _ = file.write_line(plain.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// Starts logging for `service` (for example "order-2"): standard error and
/// `<dir>/<service>.log`. Call once per process; a second call keeps the first logger.
///
/// # Errors
/// A bad level directive (in `settings.level` or `RUST_LOG`), or the log file cannot be created.
pub fn init(service: &str, dir: &Path, settings: &LogSettings) -> Result<(), LoggingError> {
    let overrides = std::env::var("RUST_LOG").ok();
    let filter = Filter::parse(&settings.level, overrides.as_deref())?;
    std::fs::create_dir_all(dir).map_err(|source| LoggingError::File {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{service}.log"));
    let file = RotatingFile::open(&path, settings.max_bytes, settings.keep)
        .map_err(|source| LoggingError::File { path, source })?;
    let max_level = filter.max_level();
    let logger = Logger {
        service: service.to_string(),
        filter,
        format: settings.format,
        colour: settings.format == LogFormat::Text && std::io::stderr().is_terminal(),
        file: Mutex::new(file),
    };
    // Leaked: the logger lives as long as the process (a second init leaks one unused logger).
    if log::set_logger(Box::leak(Box::new(logger))).is_ok() {
        log::set_max_level(max_level);
    }
    Ok(())
}
