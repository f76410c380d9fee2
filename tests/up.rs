//! `toystore up` as a user runs it, on a cluster file on free loopback ports: a service that
//! cannot start fails `up` with one line saying which and why, no child outlives `up` (even
//! SIGKILLed), and a crashed service comes back (`--restart on-failure`) or stays down
//! (`--restart never`).

mod cluster;

use cluster::{ClusterOptions, TestCluster};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `up` may take to start the store or to report a failure.
const UP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `toystore up`, its standard output and error collected line by line.
struct Up {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl Up {
    fn start(cluster: &TestCluster, args: &[&str]) -> Up {
        let mut child = Command::new(env!("CARGO_BIN_EXE_toystore"))
            .arg("up")
            .arg("--config")
            .arg(&cluster.local.config_path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start toystore up");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Up {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// The first line of standard output `matches` accepts, waiting up to `timeout`.
    fn wait_line(&self, timeout: Duration, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| matches(l)) {
                return line;
            }
            if Instant::now() > deadline {
                panic!(
                    "no such line within {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                    self.stdout().join("\n"),
                    self.stderr().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_up(&self) {
        self.wait_line(UP_TIMEOUT, |l| l.starts_with("toy store up"));
    }

    /// The pid of each service `up` reported starting, by name ("order-2").
    fn started_pids(&self) -> BTreeMap<String, u32> {
        self.stdout()
            .iter()
            .filter_map(|line| started_pid(line.strip_prefix("started ")?))
            .collect()
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for up") {
                // Let the collecting threads read what is left in the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "up still runs after {timeout:?}\nstdout:\n{}\nstderr:\n{}",
                self.stdout().join("\n"),
                self.stderr().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: libc::c_int) {
        send(self.child.id(), signal);
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            if self.child.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_secs(1));
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

/// `order-2 (pid 4242)` and `order-2 (pid 4242): restart 1 ...` as (name, pid).
fn started_pid(text: &str) -> Option<(String, u32)> {
    let (name, rest) = text.split_once(" (pid ")?;
    let pid = rest.split(')').next()?.parse().ok()?;
    Some((name.to_string(), pid))
}

fn send(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a pid this test read from `up`'s output or started itself.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Whether `pid` is a live process: a zombie nobody reaped yet counts as gone.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| Some(stat.rsplit_once(") ")?.1.starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

fn wait_gone(pids: &[u32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while pids.iter().any(|&pid| alive(pid)) {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        assert!(Instant::now() < deadline, "still running: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `up` on a cluster the caller sabotaged, expects it to fail before serving, and returns
/// its last line on standard error once every child it started is gone.
fn failed_start(cluster: &TestCluster) -> String {
    let mut up = Up::start(cluster, &[]);
    let status = up.wait_exit(UP_TIMEOUT);
    assert!(!status.success(), "up exited {status}");
    assert!(
        !up.stdout().iter().any(|l| l.starts_with("toy store up")),
        "{:?}",
        up.stdout()
    );
    let pids: Vec<u32> = up.started_pids().into_values().collect();
    assert_eq!(pids.len(), 5, "{:?}", up.stdout());
    wait_gone(&pids, Duration::from_secs(5));
    up.stderr().last().cloned().unwrap_or_default()
}

#[test]
fn a_port_in_use_fails_up_with_the_service_and_the_address() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let taken = cluster.local.config.catalog.internal;
    let _holder = std::net::TcpListener::bind(taken).expect("take the catalog's port");
    let line = failed_start(&cluster);
    assert!(
        line.starts_with("error: catalog could not start: ") && line.contains(&taken.to_string()),
        "{line}"
    );
}

#[test]
fn a_locked_data_directory_names_the_store_that_holds_it() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let dir = cluster.local.config.replica_dir(2);
    let _held = sled::open(&dir).expect("hold replica 2's database");
    let line = failed_start(&cluster);
    let holder = format!("in use by order replica 2 (pid {})", std::process::id());
    assert!(
        line.starts_with("error: order-2 could not start: ") && line.contains(&holder),
        "{line}"
    );
    assert!(!line.contains("Os {"), "{line}");
}

#[test]
fn no_child_outlives_a_sigkilled_up() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let mut up = Up::start(&cluster, &[]);
    up.wait_up();
    let pids: Vec<u32> = up.started_pids().into_values().collect();
    assert_eq!(pids.len(), 5, "{:?}", up.stdout());
    assert!(pids.iter().all(|&pid| alive(pid)));
    up.signal(libc::SIGKILL);
    up.wait_exit(Duration::from_secs(5));
    wait_gone(&pids, Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_replica_is_restarted_and_counted() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let mut up = Up::start(&cluster, &["--log-format", "json"]);
    up.wait_up();
    let old = up.started_pids()["order-2"];
    send(old, libc::SIGKILL);
    let line = up.wait_line(UP_TIMEOUT, |l| l.starts_with("restarted order-2 "));
    let (_, new) = started_pid(line.strip_prefix("restarted ").unwrap()).unwrap();
    assert_ne!(new, old);
    assert!(line.ends_with(": restart 1 of order-2, 1 in all"), "{line}");
    let exited = up.wait_line(Duration::ZERO, |l| l.starts_with("order-2 exited"));
    assert!(
        exited == "order-2 exited: signal: 9 (SIGKILL); restarting it in 100ms",
        "{exited}"
    );
    cluster.wait_replica(2).await;
    let health = cluster
        .replica(2)
        .health()
        .await
        .expect("replica 2 answers");
    assert_eq!(health.id, 2);
    // `--log-format json` reached the restarted replica too: its lines are JSON objects.
    let log = std::fs::read_to_string(cluster.local.config.replica_dir(2).join("order-2.log"))
        .expect("order-2.log");
    let last: serde_json::Value =
        serde_json::from_str(log.lines().last().expect("a line")).expect("a JSON line");
    assert_eq!(last["service"], "order-2");
    up.signal(libc::SIGTERM);
    assert!(up.wait_exit(Duration::from_secs(20)).success());
    assert_eq!(
        up.stdout().last().map(String::as_str),
        Some("toy store stopped (1 restarts)")
    );
}

#[test]
fn restart_never_leaves_a_crashed_replica_down() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let up = Up::start(&cluster, &["--restart", "never"]);
    up.wait_up();
    send(up.started_pids()["order-3"], libc::SIGKILL);
    let line = up.wait_line(UP_TIMEOUT, |l| l.starts_with("order-3 exited"));
    assert!(line.ends_with("; the rest keep running"), "{line}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !up.stdout().iter().any(|l| l.starts_with("restarted")),
        "{:?}",
        up.stdout()
    );
}

/// `up` holds its data root for as long as it runs, restart pauses included (when no service
/// holds anything): `reset` and a second `up` on it are refused, naming the first `up`.
#[test]
fn reset_and_a_second_up_are_refused_while_up_supervises() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let up = Up::start(&cluster, &[]);
    up.wait_up();
    let supervisor = format!("supervised by toystore up (pid {})", up.child.id());

    let mut second = Up::start(&cluster, &[]);
    assert!(!second.wait_exit(UP_TIMEOUT).success());
    let line = second.stderr().last().cloned().unwrap_or_default();
    assert!(line.contains(&supervisor), "{line}");
    assert!(second.started_pids().is_empty(), "{:?}", second.stdout());

    let reset = Command::new(env!("CARGO_BIN_EXE_toystore"))
        .args(["reset", "--yes", "--config"])
        .arg(&cluster.local.config_path)
        .output()
        .expect("run toystore reset");
    let stderr = String::from_utf8_lossy(&reset.stderr);
    assert!(!reset.status.success(), "reset ran: {stderr}");
    assert!(stderr.contains(&supervisor), "{stderr}");
    assert!(
        cluster.local.config.replica_dir(1).exists(),
        "nothing removed"
    );
}
