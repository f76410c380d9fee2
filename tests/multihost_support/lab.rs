//! The lab: one network namespace per host of the spread layout and the client, on a bridge in a
//! namespace of its own, and the store's services running in them. The services are those of a
//! `supervisor::LocalCluster` read from the spread layout's cluster file, started under
//! `ip netns exec <their host's namespace>`, so the cluster spawns, kills and reaps them as it
//! does on loopback. Everything is removed when the lab is dropped.

use super::command::{must, run};
use super::netns::sweep_leftovers;
use super::{CLIENT, COMMAND_TIMEOUT, ORDERS, PREFIX, TOKEN, WEB};
use common::ClusterConfig;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use supervisor::{ChildOutput, LocalCluster, Service};

/// Lines of each service's stderr that a failure message shows.
const TAIL_LINES: usize = 15;

/// The host of the spread layout that runs `service`.
fn host(service: Service) -> &'static str {
    match service {
        Service::Catalog | Service::Frontend(_) => WEB.0,
        Service::Replica(id) => ORDERS[id as usize - 1].0,
    }
}

/// The namespaces and the cluster whose services run in them. Dropping it kills every service,
/// then deletes every namespace (with the bridge and the links), whatever state the test left
/// them in.
pub struct Lab {
    /// Namespace name of each host, by host name.
    namespaces: BTreeMap<&'static str, String>,
    /// The namespace holding the bridge.
    switch: String,
    /// Its addresses are the hosts' (10.77.0.x), reachable only from inside a namespace: ask it
    /// how the store is from a thread in the client's (see `netns::in_netns`).
    pub cluster: LocalCluster,
    _dir: tempfile::TempDir,
}

impl Lab {
    /// Writes the cluster file, then builds the network: one namespace per host, each with
    /// `eth0` on the bridge. Starts no service.
    pub fn build() -> io::Result<Lab> {
        sweep_leftovers();
        let tag = format!("{PREFIX}{}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("toystore-multihost-")
            .tempdir()?;
        let mut lab = Lab {
            namespaces: BTreeMap::new(),
            switch: format!("{tag}-switch"),
            cluster: spread_cluster(dir.path(), &tag),
            _dir: dir,
        };
        let step = |args: &[&str]| -> io::Result<()> {
            let out = run("ip", args)?;
            if out.status.success() {
                Ok(())
            } else {
                Err(io::Error::other(format!(
                    "ip {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        };
        step(&["netns", "add", &lab.switch])?;
        lab.namespaces.insert("switch", lab.switch.clone());
        step(&["-n", &lab.switch, "link", "add", "br0", "type", "bridge"])?;
        step(&["-n", &lab.switch, "link", "set", "br0", "up"])?;
        for (host, ip) in std::iter::once(WEB).chain(ORDERS).chain([CLIENT]) {
            let ns = format!("{tag}-{host}");
            step(&["netns", "add", &ns])?;
            lab.namespaces.insert(host, ns.clone());
            let port = format!("v-{host}");
            step(&[
                "-n",
                &lab.switch,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &ns,
            ])?;
            step(&["-n", &lab.switch, "link", "set", &port, "master", "br0"])?;
            step(&["-n", &lab.switch, "link", "set", &port, "up"])?;
            step(&["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
            step(&["-n", &ns, "link", "set", "eth0", "up"])?;
            step(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(lab)
    }

    pub fn ns(&self, host: &str) -> &str {
        &self.namespaces[host]
    }

    /// Starts a service in its host's namespace; its stderr goes to the cluster's
    /// `<data root>/<service>.stderr`.
    pub fn start(&mut self, service: Service) {
        let pid = self
            .cluster
            .spawn(service)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_runs_the_store(pid, service);
    }

    /// Starts every service of the cluster file, catalog first.
    pub fn start_all(&mut self) {
        for service in self.cluster.services() {
            self.start(service);
        }
    }

    /// The last lines each service wrote, for a failure message.
    pub fn logs(&self) -> String {
        self.cluster.stderr_tail(TAIL_LINES)
    }
}

/// The spread layout's cluster, its file written under `dir` by the script the EC2 instances
/// run, each service started in the namespace `<tag>-<its host>`.
fn spread_cluster(dir: &Path, tag: &str) -> LocalCluster {
    let orders: Vec<&str> = ORDERS.iter().map(|(_, ip)| *ip).collect();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = repo.join("aws/cluster-config.sh");
    let products = repo.join("data/products.json");
    let state = dir.join("state");
    let toml = must(
        script.to_str().unwrap(),
        &[
            "--layout",
            "spread",
            "--web",
            WEB.1,
            "--orders",
            &orders.join(","),
            "--token",
            TOKEN,
            "--data-root",
            state.to_str().unwrap(),
            "--products",
            products.to_str().unwrap(),
        ],
    );
    let path = dir.join("cluster.toml");
    fs::write(&path, toml).expect("write the cluster file");
    let config = ClusterConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let exe = Path::new(env!("CARGO_BIN_EXE_toystore"));
    let mut cluster = LocalCluster::from_config(exe, &path, config, ChildOutput::Files);
    let tag = tag.to_string();
    cluster.set_launcher(move |service| {
        let ns = format!("{tag}-{}", host(service));
        ["ip", "netns", "exec", &ns].map(OsString::from).to_vec()
    });
    cluster
}

/// `ip netns exec` execs the service in its own process instead of running it as a child, so
/// the pid the cluster signals is the service's. Checked, because if it were `ip`'s, a SIGKILL
/// would leave the service running and the crash of the drill would be no crash.
fn assert_runs_the_store(pid: u32, service: Service) {
    let store = fs::canonicalize(env!("CARGO_BIN_EXE_toystore")).expect("the toystore binary");
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        // Before the exec the pid runs `ip`, and before that this test's binary.
        let running: Option<PathBuf> = fs::read_link(format!("/proc/{pid}/exe")).ok();
        if running.as_ref() == Some(&store) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{service} (pid {pid}) runs {running:?}, not {}",
            store.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for service in self.cluster.services() {
            let _ = self.cluster.kill(service);
        }
        // The switch last: deleting it takes the bridge and the host ends of every link.
        let mut names: Vec<String> = self.namespaces.values().cloned().collect();
        names.sort_by_key(|n| *n == self.switch);
        for ns in names {
            if let Err(e) = run("ip", &["netns", "delete", &ns]) {
                eprintln!("could not delete namespace {ns}: {e}");
            }
        }
    }
}
