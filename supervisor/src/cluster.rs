//! The [`LocalCluster`] and its knobs: starting, stopping and killing the processes.

use common::FileError;
use common::{ClusterConfig, FrontendId};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::SupervisorError;
use crate::launcher::{die_with_parent, Launcher};
use crate::relay::Relay;
use crate::service::Service;

/// Where a child's standard output and error go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildOutput {
    /// The parent's terminal (`toystore up`).
    Inherit,
    /// `<data_root>/<service>.stderr`, appended (drills, tests).
    Files,
    /// Standard output on the parent's; standard error relayed to the parent's line by line,
    /// its last line kept for [`LocalCluster::last_stderr_line`] (`toystore up`).
    Relay,
}

/// The services of a cluster, as child processes of this one.
pub struct LocalCluster {
    pub config: ClusterConfig,
    pub config_path: PathBuf,
    exe: PathBuf,
    output: ChildOutput,
    running: BTreeMap<Service, Child>,
    /// `--cache-size` passed to a frontend when it is next started (see [`LocalCluster::set_cache_size`]).
    cache_sizes: BTreeMap<FrontendId, usize>,
    pub(crate) http: reqwest::Client,
    /// What each service's command starts with (see [`LocalCluster::set_launcher`]).
    pub(crate) launcher: Launcher,
    /// Keeps a temporary data root alive as long as the cluster.
    pub(crate) _temp: Option<tempfile::TempDir>,
    /// The stderr relays of [`ChildOutput::Relay`] children.
    pub(crate) relays: BTreeMap<Service, Relay>,
    /// Environment every child gets (see [`LocalCluster::set_child_env`]).
    pub(crate) child_env: Vec<(String, String)>,
    /// See [`LocalCluster::set_die_with_parent`].
    pub(crate) die_with_parent: bool,
}

impl LocalCluster {
    /// A cluster described by an existing file; starts nothing (`attach` mode owns no process).
    pub fn from_config(
        exe: &Path,
        config_path: &Path,
        config: ClusterConfig,
        output: ChildOutput,
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
            relays: BTreeMap::new(),
            child_env: Vec::new(),
            die_with_parent: false,
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

    /// Where a service's captured stderr goes with [`ChildOutput::Files`].
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
            .envs(self.child_env.iter().map(|(k, v)| (k, v)))
            .envs(env.iter().copied());
        if self.die_with_parent {
            die_with_parent(&mut command);
        }
        if self.output == ChildOutput::Relay {
            command.stderr(Stdio::piped());
        }
        if self.output == ChildOutput::Files {
            std::fs::create_dir_all(&self.config.data_root)
                .map_err(FileError::about("cannot create", &self.config.data_root))?;
            let path = self.stderr_path(service);
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(FileError::about("cannot open", &path))?;
            command.stdout(Stdio::null()).stderr(file);
        }
        let mut child = command
            .spawn()
            .map_err(|source| SupervisorError::Spawn { service, source })?;
        if let Some(stderr) = child.stderr.take() {
            self.relays.insert(service, Relay::start(stderr));
        }
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

    /// Stops every service at once: SIGTERM to all, then SIGKILL to those still running after
    /// `grace`. For a store that never came up, where nothing waits on an orderly stop and a
    /// service still starting may not heed SIGTERM yet; [`Self::terminate_all`] otherwise.
    pub fn stop_all_at_once(&mut self, grace: Duration) {
        for child in self.running.values() {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && !self.running.is_empty() {
            self.running
                .retain(|_, child| !matches!(child.try_wait(), Ok(Some(_))));
            std::thread::sleep(Duration::from_millis(20));
        }
        for (_, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            let _ = child.wait();
        }
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
            ChildOutput::Files => format!("; see {}", self.stderr_path(service).display()),
            ChildOutput::Inherit | ChildOutput::Relay => String::new(),
        }
    }

    /// The pid of a service this cluster started and has not reaped, `None` otherwise (for
    /// reading its `/proc/<pid>` entries, such as its memory).
    pub fn pid(&self, service: Service) -> Option<u32> {
        self.running.get(&service).map(Child::id)
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
