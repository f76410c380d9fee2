//! `toystore eval`: starts its own cluster from this binary, measures it, and writes a report
//! folder (`report.md`, `results.json`, PNG plots). The work is in `client::eval`.

use clap::Args;
use client::eval::EvalOptions;
use std::path::PathBuf;

/// Flags of `toystore eval`.
#[derive(Args, Clone, Debug)]
pub struct EvalArgs {
    /// The report folder (created if missing; its files are overwritten).
    #[arg(long, default_value = "data/state/eval")]
    out: PathBuf,
    /// A run of a few seconds that checks the evaluation works; too short for conclusions.
    #[arg(long)]
    quick: bool,
    /// The initial catalog of the cluster it starts.
    #[arg(long, default_value = "data/products.json")]
    products: PathBuf,
}

/// Runs the evaluation, logging its steps to stderr.
///
/// # Errors
/// A missing products file, no font for the plots, or a cluster that does not start or answer.
pub async fn run(args: EvalArgs) -> Result<(), String> {
    if !args.products.is_file() {
        return Err(format!(
            "no products file at {} (run from the repository root, or pass --products)",
            args.products.display()
        ));
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this binary to start services with: {e}"))?;
    let options = EvalOptions {
        exe,
        products: args.products,
        out: args.out,
        quick: args.quick,
    };
    client::eval::run(&options, |line| eprintln!("eval: {line}")).await?;
    println!("{}", options.out.join("report.md").display());
    Ok(())
}
