//! The one meaning of `--json` and `--out` across `client`, `drill`, `bench` and `inspect`:
//! `--json` prints the JSON report on stdout instead of the text, `--out FILE` writes the JSON
//! report to FILE as well; both together print and write the same JSON.

use crate::error::CliError;
use clap::Args;
use common::FileError;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `--json` and `--out`, flattened into each reporting command.
#[derive(Args, Clone, Debug, Default)]
pub struct ReportFlags {
    /// Print the report as JSON on stdout instead of text (snake_case keys, numbers as numbers).
    #[arg(long, global = true)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub out: Option<PathBuf>,
}

impl ReportFlags {
    /// Prints `text` (or the JSON of `report` with `--json`) and writes the JSON to `--out`.
    ///
    /// # Errors
    /// Stdout or the `--out` file cannot be written.
    pub fn emit(
        &self,
        text: impl FnOnce() -> String,
        report: &impl Serialize,
    ) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(self.shown(text, report).as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(CliError::Output)?;
        self.write_out(report)
    }

    /// What stdout gets: `text`, or the JSON of `report` with `--json`.
    pub fn shown(&self, text: impl FnOnce() -> String, report: &impl Serialize) -> String {
        match self.json {
            true => to_json(report),
            false => text(),
        }
    }

    /// Writes the JSON of `report` to the `--out` file, if one was given.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_out(&self, report: &impl Serialize) -> Result<(), CliError> {
        match &self.out {
            Some(path) => write_file(path, &to_json(report)),
            None => Ok(()),
        }
    }
}

/// A report as pretty JSON with a final newline.
pub fn to_json(report: &impl Serialize) -> String {
    serde_json::to_string_pretty(report).expect("reports are plain data") + "\n"
}

/// Writes `text` to `path`, naming the file when it cannot.
pub fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(FileError::about("cannot write", path))?;
    Ok(())
}
