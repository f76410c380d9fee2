//! `toystore drill`: arguments, then `tools::drill::run`, the report, and the exit status.

use crate::duration::parse_duration;
use crate::error::CliError;
use crate::report_output::ReportFlags;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tools::drill::{DrillOptions, Target};

/// Kill services with SIGKILL under verified client load, restart them, and check that nothing
/// was lost. Exit status 0 only when every check passes.
#[derive(Args)]
#[command(after_help = "Examples:
  toystore drill --duration 30s --seed 7
  toystore drill --targets replicas,frontend --frontends 2 --rate 200 --out drill.json
  toystore drill --attach data/cluster.toml --duration 1m --json | jq .errors")]
pub struct DrillArgs {
    /// How long load and kills go on (60s, 10m, ...).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Seed of the kill schedule and of the clients' choices: the same seed, the same draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent client sessions.
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Probability that a session buys the toy it queried.
    #[arg(long, default_value_t = 0.6)]
    p: f64,
    /// Largest quantity of one order.
    #[arg(long, default_value_t = 3)]
    max_quantity: u32,
    /// Mean time between kills (each gap is jittered by ±50%).
    #[arg(long, default_value = "4s", value_parser = parse_duration)]
    kill_every: Duration,
    /// How long a killed service stays down before it is restarted.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    down_for: Duration,
    /// Probability that a kill aims at the current order leader.
    #[arg(long, default_value_t = 0.5)]
    leader_bias: f64,
    /// What may be killed: replicas, frontend, catalog (comma-separated). Errors while the
    /// frontend or catalog is down are reported apart: only replica crashes are meant to be invisible.
    #[arg(long, value_delimiter = ',', default_value = "replicas")]
    targets: Vec<Target>,
    /// Frontends of the drill's own cluster. The sessions are spread over them round-robin and
    /// each acknowledged order is read back through another frontend than the one that placed
    /// it; with `frontend` among the targets, any of them may be killed. With --attach, every
    /// frontend of the cluster file is used.
    #[arg(long, default_value_t = 1, conflicts_with = "attach")]
    frontends: usize,
    /// Order replicas of the drill's own cluster: 3 (survives one crash) or 5 (two).
    #[arg(long, default_value_t = 3, value_parser = parse_replicas, conflicts_with = "attach")]
    replicas: usize,
    /// Run load and checks against a store already running from this cluster file, killing
    /// nothing (kill its services yourself meanwhile, e.g. `kill -9` or `systemctl kill`).
    #[arg(long)]
    attach: Option<PathBuf>,
    /// Keep the drill's own cluster data here instead of a temporary directory.
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// The initial catalog of the drill's own cluster.
    #[arg(long, default_value = "data/products.json")]
    products: PathBuf,
    /// At most this many orders per second across the sessions (retries included); without it
    /// the sessions buy as fast as answers come.
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    #[command(flatten)]
    output: ReportFlags,
}

/// `--replicas`: 3 or 5, the sizes whose majority survives one or two crashes.
fn parse_replicas(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ (3 | 5)) => Ok(n),
        _ => Err(format!("{text:?}: the drill runs 3 or 5 replicas")),
    }
}

/// Runs the drill; an `Err` only for a drill that could not run. A drill that ran and failed a
/// check prints its report and exits with status 1.
pub async fn run(args: DrillArgs) -> Result<(), CliError> {
    if let Some(rate) = args.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        return Err(CliError::Usage(format!(
            "--rate must be a positive number of orders/s, not {rate}"
        )));
    }
    if !(0.0..=1.0).contains(&args.leader_bias) {
        return Err(CliError::Usage(format!(
            "--leader-bias must be between 0 and 1, not {}",
            args.leader_bias
        )));
    }
    let options = DrillOptions {
        duration: args.duration,
        seed: args.seed,
        sessions: args.sessions,
        p: args.p,
        max_quantity: args.max_quantity,
        kill_every: args.kill_every,
        down_for: args.down_for,
        leader_bias: args.leader_bias,
        targets: args.targets,
        frontends: args.frontends,
        replicas: args.replicas,
        attach: args.attach,
        data_root: args.data_root,
        products: args.products,
        rate: args.rate,
        exe: std::env::current_exe().map_err(CliError::Exe)?,
        progress: std::io::stderr().is_terminal(),
    };
    let report = tools::drill::run(&options).await?;
    args.output.emit(|| report.render(), &report)?;
    if !report.passed {
        std::process::exit(1);
    }
    Ok(())
}
