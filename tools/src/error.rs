//! What can stop a tool before it has measured or checked anything. A check that ran and failed
//! is not an error: it is in the tool's report.

use common::ConfigError;
use std::path::{Path, PathBuf};
use supervisor::SupervisorError;

/// The failure of a tool run.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Options that make no sense together or out of range; the message names the flag.
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The tool's own binary, which it starts the services from, cannot be found.
    #[error("cannot find this binary to start services with: {0}")]
    Exe(#[source] std::io::Error),
    #[error(transparent)]
    Cluster(#[from] SupervisorError),
    /// A file that cannot be read, written or made.
    #[error(transparent)]
    File(#[from] common::FileError),
    /// A file that does not hold what it should.
    #[error("{} {expected}: {source}", path.display())]
    Format {
        path: PathBuf,
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} lists no toy", .0.display())]
    NoToys(PathBuf),
    /// A running service that does not answer what the tool needs (metrics, cache keys, a leader).
    #[error("{0}")]
    Service(String),
    #[error("cannot draw {}: {message}", path.display())]
    Plot { path: PathBuf, message: String },
    #[error(transparent)]
    Font(#[from] crate::eval::plot::FontError),
    /// A failure inside a cluster the tool started, with the end of each service's log (the
    /// cluster's temporary directory is gone once the tool returns).
    #[error("{source}{logs}")]
    WithLogs {
        source: Box<ToolError>,
        logs: String,
    },
    #[error("{what}: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    /// The store did not reach the state the tool waits for (convergence, readiness).
    #[error("{0}")]
    NotConverged(String),
    /// A process or listener of the tool's own (the bench's HTTP baseline) that cannot start.
    #[error("cannot start {what}: {source}")]
    Start {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The bench's bare sled baseline failed.
    #[error("sled baseline in {}: {source}", path.display())]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
}

impl ToolError {
    /// A closure for `map_err` on JSON that is not what the file should hold.
    pub(crate) fn format(
        path: &Path,
        expected: &'static str,
    ) -> impl FnOnce(serde_json::Error) -> ToolError {
        let path = path.to_path_buf();
        move |source| ToolError::Format {
            path,
            expected,
            source,
        }
    }
}
