//! The [`LocalCluster`] and its knobs: starting, stopping and killing the processes.

use common::config::{FrontendPorts, LocalPorts};
use common::{ClusterConfig, FrontendId, ReplicaId};
use std::collections::BTreeMap;
use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::SupervisorError;
use crate::launcher::Launcher;

/// One process of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Catalog,
    Replica(ReplicaId),
    Frontend(FrontendId),
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Service::Catalog => write!(f, "catalog"),
            Service::Replica(id) => write!(f, "order-{id}"),
            Service::Frontend(id) => write!(f, "frontend-{id}"),
        }
    }
}

/// Where a child's standard output and error go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The parent's terminal (`toystore up`).
    Inherit,
    /// `<data_root>/<service>.stderr`, appended (drills, tests).
    Files,
}

/// Knobs for a cluster made by [`LocalCluster::create`].
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Frontends (ids 1..=N), at least 1. Each gets its own pair of ports; all share the
    /// replicas, so with several of them their elections meet.
    pub frontends: usize,
    /// Order replicas (ids 1..=N), at least 1; 3 or 5 so that a majority survives 1 or 2 crashes.
    pub replicas: usize,
    /// Product-cache capacity of every frontend; 0 turns caching off.
    pub cache_size: usize,
    /// The catalog's restock period.
    pub restock_period_ms: u64,
    /// The cluster token every internal request carries.
    pub token: String,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            frontends: 1,
            replicas: 3,
            cache_size: common::config::DEFAULT_CACHE_SIZE,
            restock_period_ms: common::config::DEFAULT_RESTOCK_PERIOD_MS,
            token: format!("local-{:032x}", rand::random::<u128>()),
        }
    }
}

/// The services of a cluster, as child processes of this one.
pub struct LocalCluster {
    pub config: ClusterConfig,
    pub config_path: PathBuf,
    exe: PathBuf,
    output: Output,
    running: BTreeMap<Service, Child>,
    /// `--cache-size` passed to a frontend when it is next started (see [`LocalCluster::set_cache_size`]).
    cache_sizes: BTreeMap<FrontendId, usize>,
    pub(crate) http: reqwest::Client,
    /// What each service's command starts with (see [`LocalCluster::set_launcher`]).
    pub(crate) launcher: Launcher,
    /// Keeps a temporary data root alive as long as the cluster.
    _temp: Option<tempfile::TempDir>,
}

/// Free loopback ports: bound to port 0 together, so none repeats, then released.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

impl LocalCluster {
    /// A new cluster on free loopback ports under `data_root` (a fresh temporary directory when
    /// `None`), with its cluster file written there. Starts nothing.
    ///
    /// # Errors
    /// No frontend or no replica asked for, no free ports, or the directory or file cannot be
    /// written.
    pub fn create(
        exe: &Path,
        data_root: Option<&Path>,
        products: &Path,
        options: &ClusterOptions,
    ) -> Result<LocalCluster, SupervisorError> {
        if options.frontends == 0 || options.replicas == 0 {
            return Err(SupervisorError::EmptyCluster {
                frontends: options.frontends,
                replicas: options.replicas,
            });
        }
        let (root, temp) = match data_root {
            Some(root) => (root.to_path_buf(), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("toystore-")
                    .tempdir()
                    .map_err(SupervisorError::file(
                        "cannot make a temporary data root in",
                        &std::env::temp_dir(),
                    ))?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        std::fs::create_dir_all(&root).map_err(SupervisorError::file("cannot create", &root))?;
        // Catalog first, then a public and an internal port per frontend, then the replicas.
        let frontend_ports = 2 * options.frontends;
        let ports =
            free_ports(1 + frontend_ports + options.replicas).map_err(SupervisorError::Ports)?;
        let ports = LocalPorts {
            catalog: ports[0],
            frontends: ports[1..=frontend_ports]
                .chunks(2)
                .map(|pair| FrontendPorts {
                    public: pair[0],
                    internal: pair[1],
                })
                .collect(),
            replicas: ports[1 + frontend_ports..].to_vec(),
        };
        let products = std::path::absolute(products)
            .map_err(SupervisorError::file("bad products path", products))?;
        let mut config = ClusterConfig::local(root.join("state"), products, &options.token, &ports);
        for frontend in &mut config.frontends {
            frontend.cache_size = options.cache_size;
        }
        config.catalog.restock_period_ms = options.restock_period_ms;
        let config_path = root.join("cluster.toml");
        std::fs::write(&config_path, config.to_toml())
            .map_err(SupervisorError::file("cannot write", &config_path))?;
        let mut cluster = LocalCluster::from_config(exe, &config_path, config, Output::Files);
        cluster._temp = temp;
        Ok(cluster)
    }

    /// A cluster described by an existing file; starts nothing (`attach` mode owns no process).
    pub fn from_config(
        exe: &Path,
        config_path: &Path,
        config: ClusterConfig,
        output: Output,
    ) -> LocalCluster {
        LocalCluster {
            config,
            config_path: config_path.to_path_buf(),
            exe: exe.to_path_buf(),
            output,
            running: BTreeMap::new(),
            cache_sizes: BTreeMap::new(),
            http: reqwest::Client::new(),
            launcher: Launcher::default(),
            _temp: None,
        }
    }

    /// Every service of the cluster file, catalog first.
    pub fn services(&self) -> Vec<Service> {
        let mut all = vec![Service::Catalog];
        all.extend(self.config.replicas.iter().map(|r| Service::Replica(r.id)));
        all.extend(
            self.config
                .frontends
                .iter()
                .map(|f| Service::Frontend(f.id)),
        );
        all
    }

    /// The public URL of the first frontend (the one clients of a one-frontend store use).
    pub fn frontend_url(&self) -> String {
        format!("http://{}", self.config.frontends[0].public)
    }

    /// The public URL of every frontend, in the cluster file's order (the first is
    /// [`Self::frontend_url`]).
    pub fn frontend_urls(&self) -> Vec<String> {
        self.config
            .frontends
            .iter()
            .map(|f| format!("http://{}", f.public))
            .collect()
    }

    /// Where a service's captured stderr goes with [`Output::Files`].
    pub fn stderr_path(&self, service: Service) -> PathBuf {
        self.config.data_root.join(format!("{service}.stderr"))
    }

    pub fn is_running(&self, service: Service) -> bool {
        self.running.contains_key(&service)
    }

    /// The cache size a frontend gets from its next start on, overriding the cluster file
    /// (`--cache-size`); `None` goes back to the file's. A running frontend keeps its cache until
    /// it is restarted.
    pub fn set_cache_size(&mut self, id: FrontendId, size: Option<usize>) {
        match size {
            Some(size) => self.cache_sizes.insert(id, size),
            None => self.cache_sizes.remove(&id),
        };
    }

    /// The cache size a frontend starts with: the override, else the cluster file's.
    pub fn cache_size(&self, id: FrontendId) -> Option<usize> {
        self.cache_sizes.get(&id).copied().or_else(|| {
            let frontend = self.config.frontend(id).ok()?;
            Some(frontend.cache_size)
        })
    }

    /// Starts one service as a child process.
    ///
    /// # Errors
    /// It already runs, or the binary cannot be started.
    pub fn spawn(&mut self, service: Service) -> Result<u32, SupervisorError> {
        self.spawn_with_env(service, &[])
    }

    /// [`Self::spawn`] with extra environment variables (tests arm faults this way).
    ///
    /// # Errors
    /// It already runs, or the binary cannot be started.
    pub fn spawn_with_env(
        &mut self,
        service: Service,
        env: &[(&str, &str)],
    ) -> Result<u32, SupervisorError> {
        if self.running.contains_key(&service) {
            return Err(SupervisorError::AlreadyRunning(service));
        }
        let mut command = self.launcher.command(&self.exe, service);
        match service {
            Service::Catalog => command.arg("catalog"),
            Service::Replica(id) => command.args(["order", "--id", &id.to_string()]),
            Service::Frontend(id) => command.args(["frontend", "--id", &id.to_string()]),
        };
        if let Service::Frontend(id) = service {
            if let Some(size) = self.cache_sizes.get(&id) {
                command.args(["--cache-size", &size.to_string()]);
            }
        }
        command
            .arg("--config")
            .arg(&self.config_path)
            .env("TOYSTORE_TOKEN", &self.config.token)
            .env("TOYSTORE_DATA_ROOT", &self.config.data_root)
            .envs(env.iter().copied());
        if self.output == Output::Files {
            std::fs::create_dir_all(&self.config.data_root).map_err(SupervisorError::file(
                "cannot create",
                &self.config.data_root,
            ))?;
            let path = self.stderr_path(service);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(SupervisorError::file("cannot open", &path))?;
            command.stdout(Stdio::null()).stderr(file);
        }
        let child = command
            .spawn()
            .map_err(|source| SupervisorError::Spawn { service, source })?;
        let pid = child.id();
        self.running.insert(service, child);
        Ok(pid)
    }

    /// SIGKILL: no flush, no goodbye. Returns once the process is reaped.
    ///
    /// # Errors
    /// The service is not running under this cluster.
    pub fn kill(&mut self, service: Service) -> Result<(), SupervisorError> {
        let mut child = self
            .running
            .remove(&service)
            .ok_or(SupervisorError::NotRunning(service))?;
        let _ = child.kill();
        child
            .wait()
            .map_err(|source| SupervisorError::Reap { service, source })?;
        Ok(())
    }

    /// SIGTERM, then up to `grace` for a clean exit, then SIGKILL.
    ///
    /// # Errors
    /// The service is not running under this cluster.
    pub fn terminate(
        &mut self,
        service: Service,
        grace: Duration,
    ) -> Result<Option<ExitStatus>, SupervisorError> {
        let mut child = self
            .running
            .remove(&service)
            .ok_or(SupervisorError::NotRunning(service))?;
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped; no memory is shared.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Ok(None)
    }

    /// Stops every service this cluster started (SIGTERM, then SIGKILL after `grace`), frontends
    /// first so clients stop before the services behind them.
    pub fn terminate_all(&mut self, grace: Duration) -> Vec<(Service, Option<ExitStatus>)> {
        let mut order: Vec<Service> = self.running.keys().copied().collect();
        order.sort_by_key(|s| match s {
            Service::Frontend(_) => 0,
            Service::Replica(_) => 1,
            Service::Catalog => 2,
        });
        order
            .into_iter()
            .filter_map(|s| self.terminate(s, grace).ok().map(|status| (s, status)))
            .collect()
    }

    /// Services that exited on their own since they were started (reaped here).
    pub fn reap_exited(&mut self) -> Vec<(Service, ExitStatus)> {
        let mut exited = Vec::new();
        for (service, child) in self.running.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                exited.push((*service, status));
            }
        }
        for (service, _) in &exited {
            self.running.remove(service);
        }
        exited
    }

    /// Starts every service and waits until each is ready and every frontend serves orders.
    ///
    /// # Errors
    /// A service that cannot start or is not ready within `timeout`.
    pub async fn start_all(&mut self, timeout: Duration) -> Result<(), SupervisorError> {
        // Frontends start last, once every replica is ready, so their first election sees all
        // replicas and picks the highest id, as a store started by hand would.
        let (frontends, backends): (Vec<Service>, Vec<Service>) = self
            .services()
            .into_iter()
            .partition(|s| matches!(s, Service::Frontend(_)));
        for group in [backends, frontends] {
            for &service in &group {
                if !self.is_running(service) {
                    self.spawn(service)?;
                }
            }
            for &service in &group {
                self.wait_ready(service, timeout).await?;
            }
        }
        self.wait_orders_served(timeout).await
    }

    pub(crate) fn log_hint(&self, service: Service) -> String {
        match self.output {
            Output::Files => format!("; see {}", self.stderr_path(service).display()),
            Output::Inherit => String::new(),
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
