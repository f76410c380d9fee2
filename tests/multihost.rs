//! The multi-host drill: the `spread` layout of the AWS deployment, run across Linux network
//! namespaces on this machine. One namespace per host of that layout (`web` with the frontend
//! and the catalog, `order-1`, `order-2`, `order-3`), plus one for the client, all joined by a
//! bridge that lives in a namespace of its own, on the private test subnet 10.77.0.0/24. The
//! cluster file is the one `aws/cluster-config.sh` writes on EC2, with these addresses.
//!
//! While two clients place orders through the frontend's address, the drill kills the leader's
//! process (SIGKILL), restarts it, then cuts the new leader off from the web host with a firewall
//! rule inside the leader's namespace (it still reaches its peers): orders go on through another
//! leader, no acknowledged order is lost, and once the partition heals every replica holds the
//! same log.
//!
//! All traffic stays inside these namespaces: none of them has a route out, and the bridge is
//! not in this machine's own namespace. Needs Linux, root, `ip` (iproute2), and `nft` (nftables)
//! or `iptables`; without root it is skipped, and a missing tool fails it under CI (`.ci/run`
//! must install it) and skips it otherwise, saying why. The namespaces and processes are
//! removed when the test ends, failed or not.

#![cfg(target_os = "linux")]

use common::wire::{Health, LogPage, Role, TOKEN_HEADER};
use common::{OrderEntry, ReplicaId};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "multihost-test-token";
/// The hosts of the spread layout and the client, with their test addresses.
const WEB: (&str, &str) = ("web", "10.77.0.10");
const ORDERS: [(&str, &str); 3] = [
    ("order-1", "10.77.0.11"),
    ("order-2", "10.77.0.12"),
    ("order-3", "10.77.0.13"),
];
const CLIENT: (&str, &str) = ("client", "10.77.0.100");
/// Prefix of every namespace this test makes (then the test's pid), to find leftovers.
const PREFIX: &str = "tsmh";

/// Bounds on every wait, so that a broken store fails the test instead of hanging it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const START_TIMEOUT: Duration = Duration::from_secs(60);
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Orders the clients must get acknowledged after each event to show that orders go on.
const ORDERS_PER_PHASE: usize = 25;
/// Most orders one client places; the drill needs far fewer.
const MAX_ORDERS_PER_CLIENT: usize = 3000;
/// Pause between two orders of one client, to stay well inside the catalog's stock.
const ORDER_PAUSE: Duration = Duration::from_millis(20);
const CLIENTS: usize = 2;

/// Why the test cannot run here. Under CI that is a failure, except for not being root.
fn unavailable(reason: &str, ci_must_fix: bool) {
    assert!(
        !(ci_must_fix && std::env::var_os("CI").is_some()),
        "multi-host drill cannot run, and CI is set: {reason}"
    );
    eprintln!("skipping the multi-host drill: {reason}");
}

fn runs(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs a command within [`COMMAND_TIMEOUT`] and returns its output (or why it could not run).
fn run(program: &str, args: &[&str]) -> Result<Output, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} {args:?} did not finish in {COMMAND_TIMEOUT:?}"
                ));
            }
        }
    }
    child
        .wait_with_output()
        .map_err(|e| format!("{program} {args:?}: {e}"))
}

/// Runs a command that must succeed.
fn must(program: &str, args: &[&str]) -> String {
    let out = run(program, args).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How the partition is made: nftables, or iptables where nft is missing.
#[derive(Clone, Copy, Debug)]
enum Firewall {
    Nft,
    Iptables,
}

impl Firewall {
    /// nft where it is installed, else iptables; `TOYSTORE_MULTIHOST_FIREWALL=iptables` (or
    /// `nft`) picks one.
    fn find() -> Option<Firewall> {
        match std::env::var("TOYSTORE_MULTIHOST_FIREWALL").as_deref() {
            Ok("iptables") => {
                return runs("iptables", &["--version"]).then_some(Firewall::Iptables)
            }
            Ok("nft") => return runs("nft", &["--version"]).then_some(Firewall::Nft),
            _ => {}
        }
        if runs("nft", &["--version"]) {
            Some(Firewall::Nft)
        } else if runs("iptables", &["--version"]) {
            Some(Firewall::Iptables)
        } else {
            None
        }
    }

    /// Drops everything between namespace `ns` and `peer`, both ways, inside `ns`.
    fn cut(self, ns: &str, peer: &str) {
        match self {
            Firewall::Nft => {
                let rules = format!(
                    "add table inet partition\n\
                     add chain inet partition input {{ type filter hook input priority 0; }}\n\
                     add chain inet partition output {{ type filter hook output priority 0; }}\n\
                     add rule inet partition input ip saddr {peer} drop\n\
                     add rule inet partition output ip daddr {peer} drop\n"
                );
                let file = std::env::temp_dir().join(format!("{ns}-partition.nft"));
                fs::write(&file, rules).expect("write nft rules");
                must(
                    "ip",
                    &["netns", "exec", ns, "nft", "-f", file.to_str().unwrap()],
                );
                let _ = fs::remove_file(file);
            }
            Firewall::Iptables => {
                must(
                    "ip",
                    &[
                        "netns", "exec", ns, "iptables", "-A", "INPUT", "-s", peer, "-j", "DROP",
                    ],
                );
                must(
                    "ip",
                    &[
                        "netns", "exec", ns, "iptables", "-A", "OUTPUT", "-d", peer, "-j", "DROP",
                    ],
                );
            }
        }
    }

    fn heal(self, ns: &str, peer: &str) {
        match self {
            Firewall::Nft => {
                must(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        ns,
                        "nft",
                        "delete",
                        "table",
                        "inet",
                        "partition",
                    ],
                );
            }
            Firewall::Iptables => {
                must(
                    "ip",
                    &[
                        "netns", "exec", ns, "iptables", "-D", "INPUT", "-s", peer, "-j", "DROP",
                    ],
                );
                must(
                    "ip",
                    &[
                        "netns", "exec", ns, "iptables", "-D", "OUTPUT", "-d", peer, "-j", "DROP",
                    ],
                );
            }
        }
    }

    /// Whether the firewall works inside namespace `ns` (the kernel may lack it).
    fn works_in(self, ns: &str) -> bool {
        let ok = |args: &[&str]| run("ip", args).map(|o| o.status.success()).unwrap_or(false);
        match self {
            Firewall::Nft => {
                ok(&["netns", "exec", ns, "nft", "add", "table", "inet", "probe"])
                    && ok(&[
                        "netns", "exec", ns, "nft", "delete", "table", "inet", "probe",
                    ])
            }
            Firewall::Iptables => ok(&["netns", "exec", ns, "iptables", "-L", "INPUT", "-n"]),
        }
    }
}

/// A service of the store, as run in the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Service {
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
struct Lab {
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
    fn build() -> Result<Lab, String> {
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

    fn ns(&self, host: &str) -> &str {
        &self.namespaces[host]
    }

    /// The spread layout's cluster file, written by the script the EC2 instances run.
    fn write_config(&self) {
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
    fn start(&mut self, service: Service) {
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
    fn kill(&mut self, service: Service) {
        let mut child = self.running.remove(&service).expect("the service runs");
        child.kill().expect("kill");
        child.wait().expect("reap");
    }

    /// The last lines each service printed, for a failure message.
    fn logs(&self) -> String {
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

/// Deletes namespaces left by an earlier run of this test that was killed before its clean-up.
fn sweep_leftovers() {
    let Ok(out) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("deleting leftover namespace {name}");
            let _ = run("ip", &["netns", "delete", name]);
        }
    }
}

/// Runs `f` on a thread that has entered the network namespace `ns`: every socket it opens is
/// in that namespace. The rest of the process stays where it was.
fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            let file = fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            use std::os::fd::AsRawFd;
            // SAFETY: setns(2) with a valid descriptor of a network namespace; it changes only
            // this thread's namespace, and the descriptor stays open during the call.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "setns into {path}: {}",
                std::io::Error::last_os_error()
            );
            f()
        });
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// An acknowledged order.
#[derive(Clone, Debug)]
struct Ack {
    number: u64,
    name: String,
    quantity: u32,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    acks: Vec<Ack>,
    /// Requests that did not get an order number (status and body, or the transport error).
    errors: Vec<String>,
    out_of_stock: usize,
}

/// Talks to the store from the client namespace.
struct Client {
    http: reqwest::Client,
    frontend: String,
}

impl Client {
    fn new() -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            frontend: format!("http://{}:8080", WEB.1),
        }
    }

    fn replica_url(id: ReplicaId, path: &str) -> String {
        format!("http://{}:{}{path}", ORDERS[id as usize - 1].1, 8300 + id)
    }

    async fn health(&self, id: ReplicaId) -> Option<Health> {
        let response = self
            .http
            .get(Client::replica_url(id, "/internal/health"))
            .header(TOKEN_HEADER, TOKEN)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    async fn log(&self, id: ReplicaId) -> Option<Vec<OrderEntry>> {
        let response = self
            .http
            .get(Client::replica_url(id, "/internal/log?from=0&limit=10000"))
            .header(TOKEN_HEADER, TOKEN)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let page: LogPage = response.json().await.ok()?;
        Some(page.entries)
    }

    /// The replica that leads the highest epoch any replica reports, with that epoch.
    async fn leader(&self) -> Option<(ReplicaId, u64)> {
        let mut best: Option<(ReplicaId, u64)> = None;
        for (id, _) in (1..).zip(ORDERS) {
            if let Some(health) = self.health(id).await {
                if health.role == Role::Leader
                    && health.ready
                    && best.is_none_or(|(_, epoch)| health.epoch > epoch)
                {
                    best = Some((id, health.epoch));
                }
            }
        }
        best
    }

    /// One order, retried with the same idempotency key (so never placed twice) until it is
    /// acknowledged or refused for stock; every failed attempt is recorded.
    async fn order(&self, key: &str, name: &str, seen: &RefCell<Seen>) {
        for _attempt in 0..5 {
            let result = self
                .http
                .post(format!("{}/orders", self.frontend))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"name": name, "quantity": 1}))
                .send()
                .await;
            let failure = match result {
                Ok(response) => {
                    let status = response.status();
                    let body: serde_json::Value = response.json().await.unwrap_or_default();
                    if status == 200 {
                        let number = body["data"]["order_number"]
                            .as_u64()
                            .unwrap_or_else(|| panic!("no order number in {body}"));
                        seen.borrow_mut().acks.push(Ack {
                            number,
                            name: name.to_string(),
                            quantity: 1,
                        });
                        return;
                    }
                    if status == 400 && body.to_string().contains("out of stock") {
                        seen.borrow_mut().out_of_stock += 1;
                        return;
                    }
                    format!("{key}: {status} {body}")
                }
                Err(e) => format!("{key}: {e}"),
            };
            seen.borrow_mut().errors.push(failure);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Places orders one after another until `stop` is set.
    async fn load(&self, client: usize, toys: &[String], seen: &RefCell<Seen>, stop: &Cell<bool>) {
        for i in 0..MAX_ORDERS_PER_CLIENT {
            if stop.get() {
                return;
            }
            let toy = &toys[(client * 7 + i) % toys.len()];
            self.order(&format!("multihost-{client}-{i}"), toy, seen)
                .await;
            tokio::time::sleep(ORDER_PAUSE).await;
        }
    }
}

/// Waits, up to `limit`, for `check` to give a value.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The drill's script, from the client namespace, while the clients place orders.
async fn conduct(
    lab: &RefCell<&mut Lab>,
    client: &Client,
    firewall: Firewall,
    seen: &RefCell<Seen>,
    stop: &Cell<bool>,
) {
    let acks = || seen.borrow().acks.len();
    let orders_go_on = |what: &'static str| {
        let from = acks();
        wait_for(what, PHASE_TIMEOUT, move || async move {
            (acks() >= from + ORDERS_PER_PHASE).then_some(())
        })
    };
    orders_go_on("orders before any failure").await;

    // 1. The leader's process dies.
    let (first, epoch) = wait_for("a leader", PHASE_TIMEOUT, || client.leader()).await;
    println!("leader is order-{first} (epoch {epoch}); killing its process");
    lab.borrow_mut().kill(Service::Replica(first));
    orders_go_on("orders after the leader was killed").await;
    let (second, _) = wait_for("a new leader", PHASE_TIMEOUT, || async {
        client
            .leader()
            .await
            .filter(|(id, e)| *id != first && *e > epoch)
    })
    .await;
    println!("order-{second} leads now; restarting order-{first}");
    lab.borrow_mut().start(Service::Replica(first));
    wait_for(
        "the restarted replica to be ready",
        PHASE_TIMEOUT,
        || async { client.health(first).await.filter(|h| h.ready).map(|_| ()) },
    )
    .await;

    // 2. The leader is cut off from the web host (frontend and catalog), not from its peers.
    let (leader, epoch) = wait_for("the current leader", PHASE_TIMEOUT, || client.leader()).await;
    let ns = lab.borrow().ns(ORDERS[leader as usize - 1].0).to_string();
    println!(
        "cutting order-{leader} (epoch {epoch}) off from {} with {firewall:?}",
        WEB.1
    );
    firewall.cut(&ns, WEB.1);
    // The cut is real: from the leader's host the web host is unreachable, its peers are not.
    let (web_reachable, peers_reachable) = in_netns(&ns, || {
        let reach = |ip: &str, port: u16| {
            let address = std::net::SocketAddr::new(ip.parse().expect("an IP"), port);
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
        };
        let peers = (1..)
            .zip(ORDERS)
            .filter(|(id, _)| *id != leader)
            .all(|(id, (_, ip))| reach(ip, 8300 + id as u16));
        (reach(WEB.1, 8080) || reach(WEB.1, 8200), peers)
    });
    assert!(
        !web_reachable && peers_reachable,
        "partition: web reachable {web_reachable}, peers reachable {peers_reachable}"
    );
    orders_go_on("orders while the leader is partitioned").await;
    let (third, new_epoch) = wait_for("a leader outside the partition", PHASE_TIMEOUT, || async {
        client
            .leader()
            .await
            .filter(|(id, e)| *id != leader && *e > epoch)
    })
    .await;
    // Cut off from the frontend, the old leader still follows the new one through its peers.
    let newest = seen
        .borrow()
        .acks
        .iter()
        .map(|a| a.number)
        .max()
        .unwrap_or(0);
    wait_for(
        "the partitioned replica to receive the new leader's entries",
        PHASE_TIMEOUT,
        || async {
            client
                .health(leader)
                .await
                .filter(|h| h.last.is_some_and(|last| last >= newest))
                .map(|_| ())
        },
    )
    .await;
    println!(
        "order-{third} leads epoch {new_epoch}; order-{leader} holds order {newest} too; \
         healing the partition"
    );
    firewall.heal(&ns, WEB.1);
    orders_go_on("orders after the partition healed").await;
    stop.set(true);
}

#[test]
fn spread_layout_across_namespaces_survives_a_leader_crash_and_a_partition() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return unavailable("it needs root, to make network namespaces", false);
    }
    if !runs("ip", &["-V"]) {
        return unavailable("`ip` (iproute2) is not installed", true);
    }
    let Some(firewall) = Firewall::find() else {
        return unavailable("neither `nft` (nftables) nor `iptables` is installed", true);
    };
    let started = Instant::now();
    let mut lab = match Lab::build() {
        Ok(lab) => lab,
        Err(e) => return unavailable(&format!("cannot make network namespaces: {e}"), true),
    };
    if !firewall.works_in(lab.ns(CLIENT.0)) {
        return unavailable(
            &format!("{firewall:?} does not work inside a network namespace here"),
            true,
        );
    }
    lab.write_config();
    for service in [
        Service::Catalog,
        Service::Replica(1),
        Service::Replica(2),
        Service::Replica(3),
        Service::Frontend,
    ] {
        lab.start(service);
    }
    let products: Vec<serde_json::Value> = serde_json::from_str(
        &fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/products.json"))
            .expect("products.json"),
    )
    .expect("products JSON");
    let toys: Vec<String> = products
        .iter()
        .map(|p| p["name"].as_str().expect("a name").to_string())
        .collect();

    let client_ns = lab.ns(CLIENT.0).to_string();
    let lab_ref = &mut lab;
    let outcome = in_netns(&client_ns, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(drill(&RefCell::new(lab_ref), firewall, &toys))
    });
    if let Err(message) = outcome {
        panic!("{message}\n{}", lab.logs());
    }
    println!("multi-host drill passed in {:?}", started.elapsed());
}

/// Starts the load, runs the script, then checks every invariant; `Err` carries what broke.
async fn drill(lab: &RefCell<&mut Lab>, firewall: Firewall, toys: &[String]) -> Result<(), String> {
    let client = Client::new();
    let seen = RefCell::new(Seen::default());
    let stop = Cell::new(false);

    // The store serves orders through the frontend's address.
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let ok = client
            .http
            .get(format!("{}/health", client.frontend))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map(|r| r.status() == 200)
            .unwrap_or(false);
        if ok && client.leader().await.is_some() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the store did not serve within {START_TIMEOUT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let script = async {
        let result = std::panic::AssertUnwindSafe(conduct(lab, &client, firewall, &seen, &stop));
        let result = futures_catch(result).await;
        stop.set(true);
        result
    };
    let loads = async {
        let mut all = Vec::new();
        for c in 0..CLIENTS {
            all.push(client.load(c, toys, &seen, &stop));
        }
        join_all(all).await;
    };
    let (script, ()) = tokio::join!(script, loads);
    script?;

    let seen = seen.into_inner();
    println!(
        "{} orders acknowledged, {} refused for stock, {} failed attempts",
        seen.acks.len(),
        seen.out_of_stock,
        seen.errors.len()
    );
    if !seen.errors.is_empty() {
        return Err(format!(
            "clients saw errors while a majority was up: {:#?}",
            seen.errors
        ));
    }

    // Every replica converges on one log.
    let highest = seen.acks.iter().map(|a| a.number).max().unwrap_or(0);
    let logs = {
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        loop {
            let mut logs = Vec::new();
            for id in 1..=3 {
                logs.push(client.log(id).await.unwrap_or_default());
            }
            let same = logs.windows(2).all(|w| w[0] == w[1]);
            if same && logs[0].len() as u64 > highest {
                break logs;
            }
            if Instant::now() > deadline {
                let lengths: Vec<usize> = logs.iter().map(Vec::len).collect();
                return Err(format!(
                    "replicas did not converge within {CONVERGE_TIMEOUT:?}: lengths {lengths:?}, \
                     highest acknowledged {highest}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let log = &logs[0];

    // Dense, exactly once, and every acknowledged order is there as acknowledged.
    for (i, entry) in log.iter().enumerate() {
        if entry.number != i as u64 {
            return Err(format!(
                "log not dense: entry {i} is number {}",
                entry.number
            ));
        }
    }
    let request_ids: BTreeSet<_> = log.iter().map(|e| e.request_id.clone()).collect();
    if request_ids.len() != log.len() {
        return Err("a request id appears twice in the log".into());
    }
    let mut numbers = BTreeSet::new();
    for ack in &seen.acks {
        if !numbers.insert(ack.number) {
            return Err(format!("order number {} acknowledged twice", ack.number));
        }
        let entry = &log[ack.number as usize];
        if entry.name != ack.name || entry.quantity != ack.quantity {
            return Err(format!("acknowledged {ack:?} but the log holds {entry:?}"));
        }
        // And the frontend reads it back.
        let response = client
            .http
            .get(format!("{}/orders/{}", client.frontend, ack.number))
            .send()
            .await
            .map_err(|e| format!("GET /orders/{}: {e}", ack.number))?;
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if body["data"]["name"] != ack.name.as_str() || body["data"]["quantity"] != ack.quantity {
            return Err(format!(
                "GET /orders/{} gave {body}, wanted {ack:?}",
                ack.number
            ));
        }
    }
    println!(
        "{} replicas hold the same {} entries; every acknowledged order is among them",
        logs.len(),
        log.len()
    );
    Ok(())
}

/// Turns a panic in the script (a failed wait) into an `Err`, so the clients stop first.
async fn futures_catch<F: std::future::Future<Output = ()>>(
    future: std::panic::AssertUnwindSafe<F>,
) -> Result<(), String> {
    let mut future = std::pin::pin!(future.0);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(())) => std::task::Poll::Ready(Ok(())),
            Err(panic) => std::task::Poll::Ready(Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the drill script panicked".into()))),
        }
    })
    .await
}

/// Polls every future until all are done (the clients, on this one thread).
async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut futures: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for slot in futures.iter_mut() {
            if let Some(future) = slot {
                if future.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await
}
