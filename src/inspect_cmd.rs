//! `toystore inspect`: see and check what is on disk. This parses the arguments and writes the
//! output; reading the directories, the checks and the formats live in the `inspect` crate.

use clap::{Args, Subcommand};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;
use crate::report_output::ReportFlags;
use inspect::render;
use serde::Serialize;

/// Arguments of `toystore inspect`.
#[derive(Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Inspect never changes what it reads: it copies the directory to a temporary \
                  directory ($TMPDIR) and opens the copy. A directory a running service holds is \
                  refused unless --force.

Examples:
  toystore inspect data/order-1
  toystore inspect orders data/order-1 --from 100 --to 120 --json
  toystore inspect check data --out check.json"
)]
pub struct InspectArgs {
    #[command(subcommand)]
    command: Option<InspectCommand>,
    /// A service's data directory: the catalog's (DATA_ROOT/catalog) or an order replica's
    /// (DATA_ROOT/order-N). Shows a replica's position, first and last entries and digest, or
    /// every toy of the catalog.
    #[arg(required = true)]
    path: Option<PathBuf>,
    #[command(flatten)]
    output: InspectFlags,
}

/// Options every inspect command takes.
#[derive(Args, Clone)]
struct InspectFlags {
    #[command(flatten)]
    report: ReportFlags,
    /// Inspect a directory even while a service holds it, by copying it anyway; the copy may
    /// catch a write half done (it then reads as if the service had crashed at that instant).
    #[arg(long, global = true)]
    force: bool,
}

#[derive(Subcommand)]
enum InspectCommand {
    /// List an order replica's log entries (number, epoch, quantity, toy, request id), streamed.
    Orders {
        /// The replica's data directory (DATA_ROOT/order-N).
        path: PathBuf,
        /// First number to list.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Last number to list (included); the end of the log without it.
        #[arg(long)]
        to: Option<u64>,
    },
    /// Show every toy of the catalog: price, quantity, initial quantity, version, and the units
    /// sold and restocks its journal records.
    Stock {
        /// The catalog's data directory (DATA_ROOT/catalog).
        path: PathBuf,
    },
    /// List the catalog's stock journal (initial loads, buys, restocks), streamed.
    Journal {
        /// The catalog's data directory (DATA_ROOT/catalog).
        path: PathBuf,
        /// First journal sequence number to list.
        #[arg(long, default_value_t = 0)]
        from: u64,
    },
    /// Compare two replica logs: the first number where they differ and what each holds there,
    /// or "identical" with the shared digest.
    Diff {
        /// One replica's data directory.
        a: PathBuf,
        /// The other's.
        b: PathBuf,
    },
    /// Check the store's invariants over a whole data root (catalog/ and every order-N/):
    /// committed entries agree, numbers dense, one order per request, stock conserved, buys
    /// match orders, logs identical. Exits 0 only when every check passes.
    Check {
        /// The data root (the directory holding catalog/ and order-N/).
        data_root: PathBuf,
    },
}

/// What can stop the output: the inspection itself, or stdout.
enum Failure {
    Inspect(inspect::InspectError),
    Output(io::Error),
    /// `check` ran and found violations; the report is already printed.
    ChecksFailed(String),
    /// The `--out` file could not be written (boxed: a `CliError` is large).
    Out(Box<CliError>),
}

impl From<inspect::InspectError> for Failure {
    fn from(e: inspect::InspectError) -> Self {
        Failure::Inspect(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

/// Runs `toystore inspect`.
///
/// # Errors
/// The message to print: why a directory cannot be read, or how many checks failed.
pub fn run(args: InspectArgs) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    // Flushed on failure too: rows listed before a damaged entry, or a failed check's report,
    // come out before the error line.
    let result = dispatch(args, &mut out);
    let flushed = out.flush().map_err(Failure::Output);
    match result.and(flushed) {
        Ok(()) => Ok(()),
        // A reader that stopped early (`| head`) is not an error.
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(Failure::Output(e)) => Err(CliError::Output(e)),
        Err(Failure::Inspect(e)) => Err(e.into()),
        Err(Failure::ChecksFailed(message)) => Err(CliError::Failed(message)),
        Err(Failure::Out(e)) => Err(*e),
    }
}

fn dispatch(args: InspectArgs, out: &mut impl Write) -> Result<(), Failure> {
    let InspectFlags {
        report: flags,
        force,
    } = args.output;
    let json = flags.json;
    let command = match (args.command, args.path) {
        (Some(command), _) => command,
        (None, Some(path)) => return summary(&path, &flags, force, out),
        (None, None) => unreachable!("clap requires PATH when no subcommand is given"),
    };
    match command {
        InspectCommand::Orders { path, from, to } => {
            let dir = inspect::ReplicaDir::open(&path, force)?;
            warn_held(&path, dir.held_by());
            let header = (!json).then(render::orders_header);
            list(out, json, header, dir.entries(from, to), |e| {
                if json {
                    render::json_line(e)
                } else {
                    render::order_row(e)
                }
            })?;
            list_out(&flags, dir.entries(from, to), render::json_line)
        }
        InspectCommand::Stock { path } => {
            let dir = inspect::CatalogDir::open(&path, force)?;
            warn_held(&path, dir.held_by());
            let summary = dir.summary()?;
            whole(&flags, out, &summary.toys, || render::stock(&summary))
        }
        InspectCommand::Journal { path, from } => {
            let dir = inspect::CatalogDir::open(&path, force)?;
            warn_held(&path, dir.held_by());
            let header = (!json).then(render::journal_header);
            list(out, json, header, dir.journal(from), |(seq, m)| {
                let row = render::JournalRow::new(*seq, m);
                if json {
                    render::json_line(&row)
                } else {
                    render::journal_row(&row)
                }
            })?;
            list_out(&flags, dir.journal(from), |(seq, m)| {
                render::json_line(&render::JournalRow::new(*seq, m))
            })
        }
        InspectCommand::Diff { a, b } => {
            let dir_a = inspect::ReplicaDir::open(&a, force)?;
            warn_held(&a, dir_a.held_by());
            let dir_b = inspect::ReplicaDir::open(&b, force)?;
            warn_held(&b, dir_b.held_by());
            let diff = inspect::diff(&dir_a, &dir_b)?;
            whole(&flags, out, &diff, || render::diff(&diff))
        }
        InspectCommand::Check { data_root } => {
            let report = inspect::check_data_root(&data_root, force)?;
            let written = whole(&flags, out, &report, || render::check_report(&report));
            // The exit status tells the verdict even when the reader stopped early.
            let failed = report.checks.iter().filter(|c| !c.passed).count();
            match failed {
                0 => written,
                n => Err(Failure::ChecksFailed(format!(
                    "{n} of {} checks failed",
                    report.checks.len()
                ))),
            }
        }
    }
}

/// `toystore inspect PATH`: the summary of whichever kind of directory it is.
fn summary(
    path: &Path,
    flags: &ReportFlags,
    force: bool,
    out: &mut impl Write,
) -> Result<(), Failure> {
    let dir = inspect::open(path, force)?;
    warn_held(path, dir.held_by());
    match dir {
        inspect::DataDir::Replica(dir) => {
            let summary = dir.summary()?;
            whole(flags, out, &summary, || render::replica_summary(&summary))
        }
        inspect::DataDir::Catalog(dir) => {
            let summary = dir.summary()?;
            whole(flags, out, &summary, || render::catalog_summary(&summary))
        }
    }
}

/// A report shown whole: its text (or JSON) on `out`, its JSON in the `--out` file.
fn whole<T: Serialize>(
    flags: &ReportFlags,
    out: &mut impl Write,
    report: &T,
    text: impl FnOnce() -> String,
) -> Result<(), Failure> {
    out.write_all(flags.shown(text, report).as_bytes())?;
    flags
        .write_out(report)
        .map_err(|e| Failure::Out(Box::new(e)))
}

/// A listing's JSON array in the `--out` file, if one was given (read a second time, so stdout
/// still streams).
fn list_out<T>(
    flags: &ReportFlags,
    rows: impl Iterator<Item = inspect::Result<T>>,
    show: impl Fn(&T) -> String,
) -> Result<(), Failure> {
    let Some(path) = &flags.out else {
        return Ok(());
    };
    let cannot = |e| {
        let error = common::FileError::about("cannot write", path)(e);
        Failure::Out(Box::new(error.into()))
    };
    let file = std::fs::File::create(path).map_err(cannot)?;
    let mut file = BufWriter::new(file);
    let listed = list(&mut file, true, None, rows, show);
    match listed.and_then(|()| Ok(file.flush()?)) {
        Err(Failure::Output(e)) => Err(cannot(e)),
        other => other,
    }
}

/// Writes a listing row by row as it is read: with a header in text, as one JSON array (one
/// element per line) with `json`.
fn list<T>(
    out: &mut impl Write,
    json: bool,
    header: Option<String>,
    rows: impl Iterator<Item = inspect::Result<T>>,
    show: impl Fn(&T) -> String,
) -> Result<(), Failure> {
    if let Some(header) = header {
        writeln!(out, "{header}")?;
    }
    if json {
        write!(out, "[")?;
    }
    for (i, row) in rows.enumerate() {
        let row = row?;
        match (json, i) {
            (true, 0) => write!(out, "\n{}", show(&row))?,
            (true, _) => write!(out, ",\n{}", show(&row))?,
            (false, _) => writeln!(out, "{}", show(&row))?,
        }
    }
    if json {
        writeln!(out, "\n]")?;
    }
    Ok(())
}

fn warn_held(path: &Path, holder: Option<&inspect::Holder>) {
    if let Some(holder) = holder {
        eprintln!(
            "warning: {} is in use by {holder}; inspecting a copy taken anyway, which may catch \
             a write half done",
            path.display()
        );
    }
}
