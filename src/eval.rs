//! `toystore eval`: starts its own cluster from this binary, measures it, and writes a report
//! folder (`report.md`, `results.json`, PNG plots). The work is in `tools::eval`.

use clap::Args;
use common::FileError;
use std::path::PathBuf;

use crate::error::CliError;
use tools::eval::EvalOptions;

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
    /// Measure nothing: redraw report.md and the plots from the results.json already in --out.
    #[arg(long)]
    rerender: bool,
}

/// Runs the evaluation, logging its steps to stderr.
///
/// # Errors
/// A missing products file, no font for the plots, a cluster that does not start or answer, or
/// (with `--rerender`) no readable results.json in the folder.
pub async fn run(args: EvalArgs) -> Result<(), CliError> {
    if args.rerender {
        return rerender(&args.out);
    }
    if !args.products.is_file() {
        return Err(CliError::Usage(format!(
            "no products file at {} (run from the repository root, or pass --products)",
            args.products.display()
        )));
    }
    let exe = std::env::current_exe().map_err(CliError::Exe)?;
    let options = EvalOptions {
        exe,
        products: args.products,
        out: args.out,
        quick: args.quick,
    };
    tools::eval::run(&options, |line| eprintln!("eval: {line}")).await?;
    println!("{}", options.out.join("report.md").display());
    Ok(())
}

/// Redraws the report folder `out` from its `results.json`.
fn rerender(out: &std::path::Path) -> Result<(), CliError> {
    let path = out.join("results.json");
    let text = std::fs::read_to_string(&path).map_err(FileError::about("cannot read", &path))?;
    let results: tools::eval::EvalResults =
        serde_json::from_str(&text).map_err(|source| CliError::Format {
            path: path.clone(),
            expected: "an evaluation's results",
            source,
        })?;
    tools::eval::plot::register_font()?;
    tools::eval::write_report(out, &results)?;
    println!("{}", out.join("report.md").display());
    Ok(())
}
