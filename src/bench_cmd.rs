//! `toystore bench`: arguments, then `tools::bench::run`, the table on stdout and the JSON file;
//! and the hidden `toystore bench-baseline-http`, the bench's bare HTTP baseline process.

use crate::error::CliError;
use crate::report_output::ReportFlags;
use clap::Args;
use std::io::IsTerminal;
use std::time::Duration;
use tools::bench::{BenchOptions, Measure};

/// Measure every figure of docs/performance.md's table on a cluster of its own on loopback, each
/// next to a baseline started in the same run (a bare warp handler, a bare sled write + flush
/// loop) and as a ratio to it, with its target. Release build recommended.
#[derive(Args)]
#[command(after_help = "Examples:
  toystore bench --quick
  toystore bench --seconds 3 --runs 3 --preload 0,100000 --out bench.json
  toystore bench --only orders,get --json | jq '.rows[] | {key, value}'")]
pub struct BenchArgs {
    /// Concurrent clients of the orders/s runs, one run set per value (1 gives the one-order-alone
    /// row, 64 the target row) [default: 1,8,64; 1,64 with --quick].
    #[arg(long, value_delimiter = ',')]
    clients: Option<Vec<usize>>,
    /// Length of each timed run, in seconds [default: 5; 1 with --quick].
    #[arg(long)]
    seconds: Option<u64>,
    /// Runs per client count and per GET side; the table shows the median [default: 3; 1 with
    /// --quick].
    #[arg(long)]
    runs: Option<usize>,
    /// Orders to fill the log with before measuring, ascending; each value is a level measured in
    /// turn (order latency, memory, disk, catch-up, restart), e.g. 0,100000,1000000.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    preload: Vec<u64>,
    /// Measure only these groups: orders, get, mixed, memory, disk, catch-up, failover.
    #[arg(long, value_delimiter = ',', value_parser = parse_measure)]
    only: Vec<Measure>,
    /// A short smoke run of every row (1 s runs, one of each).
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    output: ReportFlags,
}

/// `--only`'s values, with the accepted names in the message of a wrong one.
fn parse_measure(text: &str) -> Result<Measure, CliError> {
    text.parse()
        .map_err(|e: tools::ToolError| CliError::Usage(e.to_string()))
}

/// Runs the bench and prints its table.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(CliError::Exe)?;
    let mut options = if args.quick {
        BenchOptions::quick(exe)
    } else {
        BenchOptions::standard(exe)
    };
    if let Some(clients) = args.clients {
        options.clients = clients;
    }
    if let Some(seconds) = args.seconds {
        options.seconds = Duration::from_secs(seconds);
    }
    if let Some(runs) = args.runs {
        options.runs = runs;
    }
    options.preload = args.preload;
    options.only = args.only.into_iter().collect();
    options.progress = std::io::stderr().is_terminal();
    let say = |line: &str| eprintln!("{line}");
    let report = tools::bench::run(&options, &say).await?;
    let text = || {
        format!(
            "\n{}\n{} rows in {:.0} s ({} build, {} cores, load {} before, {} after); ratios are value / baseline.\n",
            report.table(),
            report.rows.len(),
            report.total_seconds,
            if report.setup.debug_build { "debug" } else { "release" },
            report.setup.cores,
            load(report.setup.load_before),
            load(report.setup.load_after),
        )
    };
    args.output.emit(text, &report)
}

fn load(average: Option<f64>) -> String {
    average.map_or_else(|| "unknown".into(), |a| format!("{a:.2}"))
}
