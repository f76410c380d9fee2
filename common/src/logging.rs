//! Logging set-up: a terminal logger plus a per-service file in the service's data directory.

use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, TermLogger,
    TerminalMode, WriteLogger,
};
use std::path::{Path, PathBuf};

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("unknown log level {0:?} (error, warn, info, debug, trace)")]
    UnknownLevel(String),
    #[error("cannot open log file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Starts logging for `service` (for example "order-2"): terminal and `<dir>/<service>.log`.
/// `RUST_LOG`, when set to a level name, overrides `level`. Call once per process.
///
/// # Errors
/// The log file cannot be created.
pub fn init(service: &str, dir: &Path, level: &str) -> Result<(), LoggingError> {
    let level = std::env::var("RUST_LOG")
        .ok()
        .unwrap_or_else(|| level.to_string());
    let filter: LevelFilter = level
        .parse()
        .map_err(|_| LoggingError::UnknownLevel(level.clone()))?;
    std::fs::create_dir_all(dir).map_err(|source| LoggingError::File {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(format!("{service}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| LoggingError::File { path, source })?;
    let config = ConfigBuilder::new()
        .add_filter_ignore_str("sled")
        .add_filter_ignore_str("hyper")
        .add_filter_ignore_str("reqwest")
        .add_filter_ignore_str("warp")
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let loggers: Vec<Box<dyn SharedLogger>> = vec![
        TermLogger::new(
            filter,
            config.clone(),
            TerminalMode::Stderr,
            ColorChoice::Auto,
        ),
        WriteLogger::new(filter, config, file),
    ];
    // A second init in one process (tests) keeps the first logger: that is fine.
    let _ = CombinedLogger::init(loggers);
    Ok(())
}
