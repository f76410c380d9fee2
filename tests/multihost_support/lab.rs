//! The lab: one network namespace per host of the spread layout and the client, on a bridge in a
//! namespace of its own, and the store's services running in them. Everything is removed when
//! the lab is dropped.

use super::command::{must, run};
use super::netns::sweep_leftovers;
use super::{CLIENT, ORDERS, PREFIX, TOKEN, WEB};
use common::ReplicaId;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A service of the store, as run in the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    Catalog,
    Frontend,
    Replica(ReplicaId),
}

impl Service {
    fn host(self) -> &'static str {
        match self {
            Service::Catalog | Service::Frontend => WEB.0,
            Service::Replica(id) => ORDERS[id as usize - 1].0,
        }
    }

    fn name(self) -> String {
        match self {
            Service::Catalog => "catalog".into(),
            Service::Frontend => "frontend-1".into(),
            Service::Replica(id) => format!("order-{id}"),
        }
    }
}

/// The namespaces and the processes in them. Dropping it kills every process, then deletes
/// every namespace (with the bridge and the links), whatever state the test left them in.
pub struct Lab {
    /// Namespace name of each host, by host name.
    namespaces: BTreeMap<&'static str, String>,
    /// The namespace holding the bridge.
    switch: String,
    running: BTreeMap<Service, Child>,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Lab {
    /// Builds the network: one namespace per host, each with `eth0` on the bridge.
    pub fn build() -> Result<Lab, String> {
        sweep_leftovers();
        let tag = format!("{PREFIX}{}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("toystore-multihost-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let mut lab = Lab {
            namespaces: BTreeMap::new(),
            switch: format!("{tag}-switch"),
            running: BTreeMap::new(),
            config: dir.path().join("cluster.toml"),
            dir,
        };
        let step = |args: &[&str]| -> Result<(), String> {
            let out = run("ip", args)?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "ip {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
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

    /// The spread layout's cluster file, written by the script the EC2 instances run.
    pub fn write_config(&self) {
        let orders: Vec<&str> = ORDERS.iter().map(|(_, ip)| *ip).collect();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let script = repo.join("aws/cluster-config.sh");
        let products = repo.join("data/products.json");
        let state = self.dir.path().join("state");
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
        fs::write(&self.config, toml).expect("write the cluster file");
    }

    /// Starts a service in its host's namespace; its output goes to `<service>.log`.
    pub fn start(&mut self, service: Service) {
        assert!(!self.running.contains_key(&service), "{service:?} runs");
        let log_path = self.dir.path().join(format!("{}.log", service.name()));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("service log");
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.ns(service.host())])
            .arg(env!("CARGO_BIN_EXE_toystore"));
        match service {
            Service::Catalog => command.arg("catalog"),
            Service::Frontend => command.args(["frontend", "--id", "1"]),
            Service::Replica(id) => command.args(["order", "--id", &id.to_string()]),
        };
        let child = command
            .arg("--config")
            .arg(&self.config)
            .env_remove("TOYSTORE_TOKEN")
            .env_remove("TOYSTORE_DATA_ROOT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start a service with ip netns exec");
        // `ip netns exec` execs the command itself: this pid is the service's.
        self.running.insert(service, child);
    }

    /// SIGKILL, as a crash.
    pub fn kill(&mut self, service: Service) {
        let mut child = self.running.remove(&service).expect("the service runs");
        child.kill().expect("kill");
        child.wait().expect("reap");
    }

    /// The last lines each service printed, for a failure message.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for service in [
            Service::Catalog,
            Service::Frontend,
            Service::Replica(1),
            Service::Replica(2),
            Service::Replica(3),
        ] {
            let path = self.dir.path().join(format!("{}.log", service.name()));
            let text = fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            all.push_str(&format!(
                "--- {} (last lines)\n{}\n",
                service.name(),
                tail.join("\n")
            ));
        }
        all
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.running) {
            let _ = child.kill();
            let _ = child.wait();
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
