//! What `toystore` prints after `error:` when a command fails, gathered from every crate's own
//! error type. Bad flags that clap cannot check on its own are [`CliError::Usage`]; a run that
//! completed and found problems (a failed verification, violated invariants) is
//! [`CliError::Failed`], after its report is printed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    #[error("cannot find this binary to start services with: {0}")]
    Exe(#[source] std::io::Error),
    #[error(transparent)]
    File(#[from] common::FileError),
    #[error("{} is not {expected}: {source}", path.display())]
    Format {
        path: PathBuf,
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Config(#[from] common::ConfigError),
    #[error(transparent)]
    Logging(#[from] common::logging::LoggingError),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
    #[error(transparent)]
    Replica(#[from] order::ReplicaError),
    #[error(transparent)]
    Frontend(#[from] frontend::FrontendError),
    #[error(transparent)]
    Cluster(#[from] supervisor::SupervisorError),
    /// Boxed: a tool's error holds any of the others, and would make every result large.
    #[error(transparent)]
    Tool(Box<tools::ToolError>),
    #[error(transparent)]
    Font(#[from] tools::eval::plot::FontError),
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
}

impl From<tools::ToolError> for CliError {
    fn from(error: tools::ToolError) -> Self {
        CliError::Tool(Box::new(error))
    }
}

impl CliError {}
