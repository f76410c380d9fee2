//! `toystore client`: concurrent load sessions against a frontend, a progress bar, a latency
//! table per request kind, and the verification of every acknowledged order. Exits non-zero
//! when any order does not read back as acknowledged.

use crate::duration::parse_duration;
use crate::error::CliError;
use crate::report_output::ReportFlags;
use clap::Args;
use client::StoreClient;
use common::Shutdown;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;
use tools::load::{self, LoadConfig, LoadProgress, LoadReport, Verification};

/// Mismatches and lookup failures printed in full; the rest are counted.
const PRINTED_PROBLEMS: usize = 10;

/// Flags of `toystore client`.
#[derive(Args, Clone, Debug)]
#[command(after_help = "Examples:
  toystore client --url http://127.0.0.1:8080 --sessions 5 --iterations 100 --p 0.5
  toystore client --duration 30s --seed 1 --out client.json
  toystore client --toy Tux --iterations 10 --json | jq .verification.ok
  toystore client --toy Tux --keyless --buy-sold-out --p 1 --iterations 20")]
pub struct ClientArgs {
    /// The frontend's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrent sessions.
    #[arg(long, default_value_t = load::DEFAULT_SESSIONS)]
    sessions: usize,
    /// Steps per session (query a toy, maybe buy it); 100 unless --duration is given.
    #[arg(long)]
    iterations: Option<usize>,
    /// Stop after this long, like 30s, 1.5m or 500ms (a bare number is seconds); with
    /// --iterations, whichever comes first.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Probability of buying a toy that is in stock, from 0 to 1.
    #[arg(long, default_value_t = load::DEFAULT_P)]
    p: f64,
    /// Largest quantity of one order (each order takes 1 to this many).
    #[arg(long, default_value_t = load::DEFAULT_MAX_QUANTITY)]
    max_quantity: u32,
    /// Seed of the sessions' random choices, for a repeatable sequence of requests.
    #[arg(long)]
    seed: Option<u64>,
    /// Products file whose toys the sessions query.
    #[arg(long, default_value = "data/products.json")]
    products: PathBuf,
    /// At most this many orders per second across the sessions (retries included).
    #[arg(long, value_name = "N")]
    rate: Option<f64>,
    /// Send buys without an Idempotency-Key, each once (a retry could order twice); the
    /// frontend may then refuse one from its cache when the toy is sold out.
    #[arg(long)]
    keyless: bool,
    /// Buy with probability p even a toy the query shows sold out (as a client with a stale
    /// page would); the store must refuse each such buy.
    #[arg(long)]
    buy_sold_out: bool,
    /// Query only this toy (repeat the flag for several); replaces --products.
    #[arg(long = "toy")]
    toys: Vec<String>,
    #[command(flatten)]
    output: ReportFlags,
    /// Test hook: alter the first acknowledged order's quantity before verifying, so the
    /// verification must fail.
    #[arg(long, hide = true)]
    tamper: bool,
}

impl ClientArgs {
    /// The load run the flags ask for.
    fn config(&self) -> Result<LoadConfig, CliError> {
        let toys = if self.toys.is_empty() {
            load::toy_names(&self.products)?
        } else {
            self.toys.clone()
        };
        let duration = match self.duration {
            Some(d) if d.is_zero() => {
                return Err(CliError::Usage("--duration must be longer than 0".into()))
            }
            duration => duration,
        };
        let iterations = match (self.iterations, duration) {
            (Some(0), _) => return Err(CliError::Usage("--iterations must be at least 1".into())),
            (None, None) => Some(load::DEFAULT_ITERATIONS),
            (iterations, _) => iterations,
        };
        let config = LoadConfig {
            sessions: self.sessions,
            iterations,
            duration,
            p: self.p,
            max_quantity: self.max_quantity,
            seed: self.seed,
            toys,
            rate: self.rate,
            keyless: self.keyless,
            buy_sold_out: self.buy_sold_out,
        };
        config
            .validate()
            .map_err(|e| CliError::Usage(format!("bad flags: {e}")))?;
        Ok(config)
    }
}

/// Checks that `url` is an http(s) URL with a host.
fn check_url(url: &str) -> Result<(), CliError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| CliError::Usage(format!("--url {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(CliError::Usage(format!(
            "--url {url:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(())
}

/// Runs the sessions, prints the table and the verification.
///
/// # Errors
/// Bad flags, an unwritable JSON file, a store that answered no request at all, or a
/// verification that found any problem.
pub async fn run(args: ClientArgs) -> Result<(), CliError> {
    check_url(&args.url)?;
    let config = args.config()?;
    let store = StoreClient::new(args.url.as_str());
    let bar = progress_bar(&config);
    let stop = Shutdown::on(common::shutdown::terminate_signal());
    let update = |p: &LoadProgress| {
        bar.set_position(p.iterations as u64);
        bar.set_message(format!("{} orders, {} errors", p.orders, p.errors));
    };
    let mut report = load::run_load(&store, &config, update, stop).await;
    bar.finish_and_clear();
    if args.tamper {
        let first = report.orders.first_mut().ok_or_else(|| {
            CliError::Usage("--tamper needs at least one acknowledged order".into())
        })?;
        first.quantity += 1;
    }
    let verification = load::verify(&store, &report.orders).await;

    let mut summaries = report.summaries();
    summaries.push(verification.summary());
    let text = || {
        let mut out = format!(
            "{} sessions, {} steps in {:.1} s against {}\n\n",
            config.sessions,
            report.iterations,
            report.elapsed.as_secs_f64(),
            store.base_url()
        );
        out.push_str(&load::table(&summaries));
        write_errors(&mut out, &report);
        write_verification(&mut out, &report, &verification);
        out
    };
    let doc = json!({
        "url": store.base_url(),
        "config": {
            "sessions": config.sessions,
            "iterations": config.iterations,
            "duration_s": config.duration.map(|d| d.as_secs_f64()),
            "p": config.p,
            "max_quantity": config.max_quantity,
            "seed": config.seed,
            "toys": config.toys,
            "rate": config.rate,
            "keyless": config.keyless,
            "buy_sold_out": config.buy_sold_out,
        },
        "elapsed_s": report.elapsed.as_secs_f64(),
        "iterations": report.iterations,
        "sold_out": report.sold_out,
        "orders": report.orders.len(),
        "summaries": summaries,
        "failures": report.failures,
        "verification": {
            "ok": verification.is_ok(),
            "checked": verification.checked,
            "mismatches": verification.mismatches,
            "lookup_failures": verification.lookup_failures,
        },
    });
    args.output.emit(text, &doc)?;
    let answered = report.timeline.iter().any(|s| s.ok);
    if !answered && !report.timeline.is_empty() {
        return Err(CliError::Failed(format!(
            "no request got an answer from {} ({} failed); is the frontend running there?",
            store.base_url(),
            report.failures.len()
        )));
    }
    if verification.is_ok() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "verification failed: {} mismatched, {} unreadable of {} acknowledged orders",
            verification.mismatches.len(),
            verification.lookup_failures.len(),
            report.orders.len()
        )))
    }
}

fn progress_bar(config: &LoadConfig) -> ProgressBar {
    match config.planned_iterations() {
        Some(planned) => {
            let bar = ProgressBar::new(planned as u64);
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} steps, {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            let style =
                ProgressStyle::with_template("{spinner} {elapsed_precise} {pos} steps, {msg}")
                    .expect("the template is valid");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }
    }
}

fn write_errors(out: &mut String, report: &LoadReport) {
    let mut by_kind: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for failure in &report.failures {
        *by_kind
            .entry((failure.kind.name(), failure.error.kind()))
            .or_default() += 1;
    }
    if !by_kind.is_empty() {
        let parts: Vec<String> = by_kind
            .iter()
            .map(|((request, error), n)| format!("{request} {error}: {n}"))
            .collect();
        let _ = writeln!(out, "\nfailed requests: {}", parts.join(", "));
    }
    if report.sold_out > 0 {
        let _ = writeln!(
            out,
            "steps that found their toy sold out: {}",
            report.sold_out
        );
    }
}

fn write_verification(out: &mut String, report: &LoadReport, verification: &Verification) {
    out.push('\n');
    if verification.is_ok() {
        let _ = writeln!(
            out,
            "verification: all {} acknowledged orders read back as acknowledged",
            report.orders.len()
        );
        return;
    }
    let _ = writeln!(
        out,
        "verification FAILED: {} checked, {} mismatched, {} unreadable",
        verification.checked,
        verification.mismatches.len(),
        verification.lookup_failures.len()
    );
    for mismatch in verification.mismatches.iter().take(PRINTED_PROBLEMS) {
        let _ = writeln!(out, "  mismatch: {mismatch}");
    }
    for failure in verification.lookup_failures.iter().take(PRINTED_PROBLEMS) {
        let _ = writeln!(
            out,
            "  unreadable: order {} ({} x {:?}): {}",
            failure.expected.number,
            failure.expected.quantity,
            failure.expected.name,
            failure.error
        );
    }
    let problems = verification.mismatches.len() + verification.lookup_failures.len();
    if problems > 2 * PRINTED_PROBLEMS {
        let _ = writeln!(out, "  … and more (use --json for all)");
    }
}
