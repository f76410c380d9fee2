//! `toystore`: one command for every part of the store. It parses arguments, sets up logging and
//! calls the service's `run`; the services live in their crates.

mod bench_cmd;
mod client_cmd;
mod drill_cmd;
mod duration;
mod error;
mod eval;
mod inspect_cmd;
mod report_output;
mod reset_cmd;
mod simulate_cmd;
mod up;

use clap::{Args, CommandFactory, Parser, Subcommand};
use common::logging::{LogFormat, LogSettings};
use common::metrics::BuildInfo;
use common::{ClusterConfig, FrontendId, ReplicaId, Shutdown};
use error::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

/// A replicated online toy store: frontends with a cache, a catalog, and three (or five) order
/// replicas.
/// The version with the commit the binary was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TOYSTORE_COMMIT"),
    ")"
);

/// What each service shows as `toystore_build_info` in `/metrics`: the same version and commit.
const BUILD: BuildInfo = BuildInfo {
    version: env!("CARGO_PKG_VERSION"),
    commit: env!("TOYSTORE_COMMIT"),
};

#[derive(Parser)]
#[command(name = "toystore", version = VERSION, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the whole store on this machine: catalog, every order replica and every frontend,
    /// each as its own process. Stops them all on Ctrl-C or SIGTERM.
    Up(UpArgs),
    /// Measure the performance table on a cluster of its own on loopback: durable orders/s and
    /// latency, cached reads, catch-up, failover, disk and memory, each next to a baseline
    /// started in the same run (release build recommended).
    Bench(bench_cmd::BenchArgs),
    /// The bench's HTTP baseline: a bare warp handler answering Tux's JSON on 127.0.0.1:PORT
    /// until killed (started by `toystore bench`).
    #[command(name = "bench-baseline-http", hide = true)]
    BenchBaselineHttp {
        #[arg(long)]
        port: u16,
    },
    /// Run load sessions against a frontend (query a random toy, buy it with probability p),
    /// print latency per request type, and verify every acknowledged order.
    Client(client_cmd::ClientArgs),
    /// Evaluate the store on a cluster of its own: latency and cache hit ratio against p with the
    /// cache on and off, cache replacement, failover; writes report.md and PNG plots.
    Eval(eval::EvalArgs),
    /// Run the catalog service (stock and prices).
    Catalog {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Restock period in milliseconds (overrides the cluster file).
        #[arg(long)]
        restock_period_ms: Option<u64>,
    },
    /// Run one order replica.
    Order {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Which replica, as numbered in the cluster file.
        #[arg(long)]
        id: ReplicaId,
    },
    /// Run a frontend (the public REST API).
    Frontend {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Which frontend, as numbered in the cluster file.
        #[arg(long, default_value_t = 1)]
        id: FrontendId,
        /// Product-cache capacity in entries; 0 turns caching off (overrides the cluster file).
        #[arg(long)]
        cache_size: Option<usize>,
    },
    /// See and check what is on disk: summarize a data directory, list orders, stock or the
    /// journal, compare two replica logs, or check a whole data root. Never changes what it reads.
    Inspect(inspect_cmd::InspectArgs),
    /// Remove the store's state under the cluster file's data root (the catalog, every replica's
    /// log, the frontends' logs), after asking; refused while any service runs.
    Reset(reset_cmd::ResetArgs),
    /// Crash-and-restart drill: kill services with SIGKILL under verified load, restart them,
    /// and check that no acknowledged order was lost and the replicas converge.
    Drill(drill_cmd::DrillArgs),
    /// Run the order protocol in the deterministic simulator over many seeds: the real replica
    /// and election code under message loss, partitions, crashes and slow disks, with every
    /// invariant checked after every event.
    Simulate(simulate_cmd::SimulateArgs),
    /// Print a completion script for SHELL to standard output.
    #[command(after_help = "Examples:
  toystore completions bash > ~/.local/share/bash-completion/completions/toystore
  toystore completions zsh > ~/.zfunc/_toystore      (with fpath+=~/.zfunc in ~/.zshrc)
  toystore completions fish > ~/.config/fish/completions/toystore.fish")]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `toystore up`'s arguments.
#[derive(Args)]
struct UpArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Whether a service that fails after the store is up is started again (with backoff from
    /// 100 ms doubling to 5 s): on-failure or never.
    #[arg(long, default_value_t = supervisor::RestartPolicy::OnFailure)]
    restart: supervisor::RestartPolicy,
}

/// Where the cluster is described, and overrides of it.
#[derive(Args, Clone)]
struct ClusterArgs {
    /// The cluster file.
    #[arg(long, env = "TOYSTORE_CONFIG", default_value = "data/cluster.toml")]
    config: PathBuf,
    /// Cluster token (overrides the file).
    #[arg(long, env = "TOYSTORE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Root of the services' data directories (overrides the file).
    #[arg(long, env = "TOYSTORE_DATA_ROOT")]
    data_root: Option<PathBuf>,
    /// How the services write their log lines: text, or json (one object a line, for log
    /// shippers). `up` passes it to every service it starts.
    #[arg(long, env = "TOYSTORE_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

impl ClusterArgs {
    fn load(&self) -> Result<ClusterConfig, CliError> {
        let mut config = ClusterConfig::load(&self.config)?;
        if let Some(token) = &self.token {
            config.token = token.clone();
        }
        if let Some(root) = &self.data_root {
            config.data_root = root.clone();
        }
        config.validate()?;
        Ok(config)
    }

    /// Starts logging for `service`, whose data directory is `dir`.
    fn init_logging(
        &self,
        service: &str,
        dir: &std::path::Path,
        config: &ClusterConfig,
    ) -> Result<(), CliError> {
        let settings = LogSettings::of(config, self.log_format);
        common::logging::init(service, dir, &settings)?;
        common::sync::abort_on_panic(service);
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(CliError::Runtime(e)),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(error: CliError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

async fn dispatch(command: Command) -> Result<(), CliError> {
    let shutdown = || Shutdown::on(common::shutdown::terminate_signal());
    match command {
        Command::Up(UpArgs { cluster, restart }) => {
            let options = up::UpOptions {
                log_format: cluster.log_format,
                restart,
            };
            up::run(&cluster.config, cluster.load()?, options).await
        }
        Command::Bench(args) => bench_cmd::run(args).await,
        Command::BenchBaselineHttp { port } => Ok(tools::bench::baseline_http::serve(port).await?),
        Command::Client(args) => client_cmd::run(args).await,
        Command::Eval(args) => eval::run(args).await,
        Command::Catalog {
            cluster,
            restock_period_ms,
        } => {
            let mut config = cluster.load()?;
            if let Some(period) = restock_period_ms {
                config.catalog.restock_period_ms = period;
            }
            cluster.init_logging("catalog", &config.catalog_dir(), &config)?;
            Ok(catalog::run(config, BUILD, shutdown()).await?)
        }
        Command::Order { cluster, id } => {
            let config = cluster.load()?;
            config.replica(id)?;
            let name = format!("order-{id}");
            cluster.init_logging(&name, &config.replica_dir(id), &config)?;
            Ok(order::run(config, id, BUILD, shutdown()).await?)
        }
        Command::Frontend {
            cluster,
            id,
            cache_size,
        } => {
            let mut config = cluster.load()?;
            let frontend = config.frontends.iter_mut().find(|f| f.id == id);
            match (frontend, cache_size) {
                (Some(frontend), Some(size)) => frontend.cache_size = size,
                (None, _) => return Err(config.frontend(id).unwrap_err().into()),
                _ => {}
            }
            let name = format!("frontend-{id}");
            cluster.init_logging(&name, &config.frontend_dir(id), &config)?;
            Ok(frontend::run(config, id, BUILD, shutdown()).await?)
        }
        Command::Inspect(args) => inspect_cmd::run(args),
        Command::Reset(args) => reset_cmd::run(args),
        Command::Drill(args) => drill_cmd::run(args).await,
        Command::Simulate(args) => simulate_cmd::run(args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "toystore",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}
