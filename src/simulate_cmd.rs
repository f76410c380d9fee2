//! `toystore simulate`: runs the deterministic simulator over a range of seeds, on every core,
//! with a progress bar; prints each failing seed's invariant, the end of its trace and the
//! command that replays it, and exits non-zero on any violation.

use clap::{Args, ValueEnum};
use protocol::Flaws;
use simulator::{Config, Report};

use crate::error::CliError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How many failing seeds are shown in full.
const SHOWN_FAILURES: usize = 3;
/// How many trace lines a failure shows (all with --verbose).
const TRACE_LINES: usize = 40;

#[derive(Args)]
#[command(after_help = "Examples:
  toystore simulate --seeds 10000                 every seed from 0 to 9999
  toystore simulate --start 4711 --seeds 1 --verbose
                                                  replay one seed with its whole trace
  toystore simulate --replicas 5 --frontends 3 --seeds 2000
  toystore simulate --flaw grant-any-leader-in-epoch --seeds 200
                                                  switch an old bug back on and watch it caught")]
pub struct SimulateArgs {
    /// How many seeds to run.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Order replicas in the simulated cluster.
    #[arg(long, default_value_t = 3, value_parser = replica_count)]
    replicas: usize,
    /// Frontends, each electing on its own.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=3))]
    frontends: u32,
    /// Print every failure's whole trace, and a passing seed's figures; with one seed, also
    /// every decision the replicas and frontends log, in order.
    #[arg(long)]
    verbose: bool,
    /// Make every partition cut the leader off from its followers, for longer than the
    /// transparency bound.
    #[arg(long)]
    leader_cutoffs: bool,
    /// Threads to run seeds on (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Switch an old bug back on, to see the simulator find it.
    #[arg(long, value_enum)]
    flaw: Option<Flaw>,
}

/// The bugs the protocol review found, each switchable again.
#[derive(Clone, Copy, ValueEnum)]
enum Flaw {
    GrantAnyLeaderInEpoch,
    RequestIndexInOnePass,
    ReadCommitOnly,
    NoCheckQuorum,
    UncheckedEpochs,
    CatchUpKeepsEpoch,
    DropWithinSynced,
    CatchUpDropsAgreeingTail,
    CommitCountsUnflushedLeader,
    BuyAnswerAnyBatch,
}

fn replica_count(text: &str) -> Result<usize, String> {
    match text {
        "3" => Ok(3),
        "5" => Ok(5),
        _ => Err(format!("{text:?}: the simulator runs 3 or 5 replicas")),
    }
}

pub fn run(args: SimulateArgs) -> Result<(), CliError> {
    let config = |seed| {
        let mut c = Config::new(seed);
        c.replicas = args.replicas;
        c.frontends = args.frontends as usize;
        c.leader_cutoffs = args.leader_cutoffs;
        let mut flaws = Flaws::default();
        match args.flaw {
            None => {}
            Some(Flaw::GrantAnyLeaderInEpoch) => flaws.grant_any_leader_in_epoch = true,
            Some(Flaw::RequestIndexInOnePass) => c.index_flaw = true,
            Some(Flaw::ReadCommitOnly) => flaws.read_commit_only = true,
            Some(Flaw::NoCheckQuorum) => flaws.no_check_quorum = true,
            Some(Flaw::UncheckedEpochs) => flaws.unchecked_epochs = true,
            Some(Flaw::CatchUpKeepsEpoch) => flaws.catch_up_keeps_epoch = true,
            Some(Flaw::DropWithinSynced) => flaws.drop_within_synced = true,
            Some(Flaw::CatchUpDropsAgreeingTail) => flaws.catch_up_drops_agreeing_tail = true,
            Some(Flaw::CommitCountsUnflushedLeader) => flaws.commit_counts_unflushed_leader = true,
            Some(Flaw::BuyAnswerAnyBatch) => flaws.buy_answer_any_batch = true,
        }
        c.flaws = flaws;
        c
    };
    if args.verbose && args.seeds == 1 {
        log::set_logger(&DecisionLog)
            .map_err(|e| CliError::Usage(format!("cannot log the decisions: {e}")))?;
        log::set_max_level(log::LevelFilter::Info);
    }
    // A panic in the protocol code is caught and reported as a violation; the default hook
    // would print it a second time, from every thread.
    std::panic::set_hook(Box::new(|_| {}));
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let bar = indicatif::ProgressBar::new(args.seeds);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {per_sec}, {msg}",
        )
        .expect("a fixed template")
        .progress_chars("=> "),
    );
    let failed = AtomicU64::new(0);
    let started = Instant::now();
    let reports = simulator::run_seeds(args.start, args.seeds, jobs, config, |report| {
        if report.violation.is_some() {
            let n = failed.fetch_add(1, Ordering::Relaxed) + 1;
            bar.set_message(format!("{n} failed"));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    let _ = std::panic::take_hook();
    let elapsed = started.elapsed();
    let faults: u64 = reports.iter().map(|r| r.faults).sum();
    let events: u64 = reports.iter().map(|r| r.events).sum();
    let acked: usize = reports.iter().map(|r| r.acked).sum();
    let n = reports.len().max(1) as f64;
    let failures: Vec<&Report> = reports.iter().filter(|r| r.violation.is_some()).collect();
    let flaw = args
        .flaw
        .and_then(|f| f.to_possible_value())
        .map(|v| format!(" --flaw {}", v.get_name()))
        .unwrap_or_default();
    for report in failures.iter().take(SHOWN_FAILURES) {
        print_failure(report, &config(report.seed), args.verbose, &flaw);
    }
    if failures.len() > SHOWN_FAILURES {
        let rest: Vec<String> = failures[SHOWN_FAILURES..]
            .iter()
            .map(|r| r.seed.to_string())
            .collect();
        println!("also failing: seeds {}", rest.join(", "));
    }
    if args.verbose && args.seeds == 1 && failures.is_empty() {
        let r = &reports[0];
        println!(
            "seed {}: {} ticks, {} events, {} faults, {} orders acknowledged, epoch {}, {} epochs after the faults healed, trace digest {:016x}",
            r.seed, r.ticks, r.events, r.faults, r.acked, r.max_epoch, r.quiet_epochs, r.digest
        );
    }
    println!(
        "{} of {} seeds passed ({}..{}, {} replicas, {} frontends) in {:.1} s: {:.0} seeds/s, {:.1} faults and {:.0} events per seed, {:.0} orders acknowledged per seed",
        reports.len() - failures.len(),
        reports.len(),
        args.start,
        args.start + args.seeds,
        args.replicas,
        args.frontends,
        elapsed.as_secs_f64(),
        reports.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        faults as f64 / n,
        events as f64 / n,
        acked as f64 / n,
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} seeds violated an invariant",
            failures.len()
        )))
    }
}

/// Prints the protocol's own log lines, for replaying one seed.
struct DecisionLog;

impl log::Log for DecisionLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            println!("  | {}", record.args());
        }
    }

    fn flush(&self) {}
}

fn print_failure(report: &Report, config: &Config, verbose: bool, flaw: &str) {
    let violation = report.violation.as_ref().expect("a failure");
    println!(
        "seed {}: {} violated at tick {}: {}",
        report.seed, violation.invariant, violation.tick, violation.detail
    );
    let shown = if verbose {
        violation.trace.len()
    } else {
        TRACE_LINES.min(violation.trace.len())
    };
    println!("  last {shown} events:");
    for line in &violation.trace[violation.trace.len() - shown..] {
        println!("    {line}");
    }
    println!("  replay: {}{flaw}", config.replay_command());
}
