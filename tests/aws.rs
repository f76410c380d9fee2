//! The AWS deployment (`aws/`), tested with everything this machine has: `cfn-lint` on the
//! template, `systemd-analyze verify` on the units, `install.sh` laying out a host in a temporary
//! root, shellcheck on the scripts, and `deploy.sh` / `teardown.sh` end to end against moto, an
//! AWS API emulator, in server mode on a loopback port.
//!
//! No request leaves this machine: every AWS CLI call the scripts make is aimed at moto
//! (`AWS_ENDPOINT_URL`), with dummy credentials, no shared config files and the EC2 metadata
//! lookup off. A missing tool fails the test when `CI` is set (`.ci/run` must install it) and
//! skips it, saying why, otherwise.

use common::ClusterConfig;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long one script or tool may run before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long moto may take to answer after it starts.
const MOTO_START: Duration = Duration::from_secs(30);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn aws_dir() -> PathBuf {
    repo().join("aws")
}

/// Whether `tool` runs (`tool --version` or the given probe arguments exit 0). When it does not:
/// under CI, panic with what to install; otherwise print why the test is skipped.
fn have(tool: &str, probe: &[&str], install: &str) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{tool}` is not available, and CI is set: .ci/run must install it ({install})"
        );
        eprintln!("skipping: `{tool}` is not available ({install})");
    }
    ok
}

/// Runs a command to completion within `limit`, killing it past that.
fn run(command: &mut Command, limit: Duration) -> Output {
    let described = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {described}: {e}"));
    let pid = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    // The output is collected on a thread so that a hung command can be killed by pid from here.
    let collector = std::thread::spawn(move || {
        let output = child.wait_with_output();
        let _ = done.send(());
        output
    });
    if waited.recv_timeout(limit).is_err() {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet (the
        // collector thread is still waiting for it).
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        panic!("{described} did not finish within {limit:?}");
    }
    collector
        .join()
        .expect("collector thread")
        .unwrap_or_else(|e| panic!("waiting for {described}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn template_passes_cfn_lint() {
    if !have("cfn-lint", &["--version"], "pip install cfn-lint") {
        return;
    }
    let out = run(
        Command::new("cfn-lint").arg(aws_dir().join("template.yaml")),
        COMMAND_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "cfn-lint found problems:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn scripts_pass_shellcheck() {
    if !have("shellcheck", &["--version"], "apt-get install shellcheck") {
        return;
    }
    let scripts = [
        "deploy.sh",
        "teardown.sh",
        "lib.sh",
        "install.sh",
        "cluster-config.sh",
    ];
    let out = run(
        Command::new("shellcheck")
            .arg("-x")
            .args(scripts)
            .current_dir(aws_dir()),
        COMMAND_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The units as shipped, with `ExecStart` pointing at this build's binary (verify checks that
/// the command exists), in a temporary directory.
fn units_with_binary(dir: &Path) -> Vec<PathBuf> {
    let binary = env!("CARGO_BIN_EXE_toystore");
    let mut units = Vec::new();
    for entry in fs::read_dir(aws_dir().join("units")).expect("aws/units") {
        let path = entry.expect("unit").path();
        let body = fs::read_to_string(&path).expect("read unit");
        assert!(
            body.contains("ExecStart=/usr/local/bin/toystore "),
            "{} must run /usr/local/bin/toystore, where install.sh puts it",
            path.display()
        );
        let target = dir.join(path.file_name().expect("unit name"));
        fs::write(&target, body.replace("/usr/local/bin/toystore", binary)).expect("write unit");
        units.push(target);
    }
    units.sort();
    units
}

/// `systemd-analyze verify` on a unit file; a template is verified as its instance `@1`.
fn verify_unit(unit: &Path) {
    let name = unit.file_name().unwrap().to_string_lossy().into_owned();
    let target = if name.ends_with("@.service") {
        let instance = unit.with_file_name(name.replace("@.service", "@1.service"));
        let _ = fs::remove_file(&instance);
        std::os::unix::fs::symlink(unit, &instance).expect("instance link");
        instance
    } else {
        unit.to_path_buf()
    };
    let out = run(
        Command::new("systemd-analyze").arg("verify").arg(&target),
        COMMAND_TIMEOUT,
    );
    let stderr = text(&out.stderr);
    // Unknown keys and similar mistakes are only warnings (exit 0): refuse them too.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("toystore"))
        .collect();
    assert!(
        out.status.success() && complaints.is_empty(),
        "systemd-analyze verify {}: {}\n{stderr}",
        target.display(),
        out.status
    );
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !have("systemd-analyze", &["--version"], "apt-get install systemd") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let units = units_with_binary(dir.path());
    let names: Vec<String> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "toystore-catalog.service",
            "toystore-frontend@.service",
            "toystore-order@.service"
        ],
        "one unit per service"
    );
    for unit in &units {
        let body = fs::read_to_string(unit).unwrap();
        for line in [
            "User=toystore",
            "StateDirectory=toystore",
            "Restart=on-failure",
            "StandardOutput=journal",
            "WantedBy=multi-user.target",
        ] {
            assert!(body.contains(line), "{} lacks {line}", unit.display());
        }
        verify_unit(unit);
    }
}

/// A release bundle as deploy.sh makes it, unpacked.
fn bundle(dir: &Path, binary: &Path) {
    fs::create_dir_all(dir.join("units")).unwrap();
    fs::copy(binary, dir.join("toystore")).expect("copy binary");
    fs::copy(repo().join("data/products.json"), dir.join("products.json")).unwrap();
    for script in ["install.sh", "cluster-config.sh"] {
        fs::copy(aws_dir().join(script), dir.join(script)).unwrap();
    }
    for entry in fs::read_dir(aws_dir().join("units")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join("units").join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn install_sh_lays_out_each_host_of_both_layouts() {
    if !have("systemctl", &["--version"], "apt-get install systemd") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let release = dir.path().join("release");
    bundle(&release, Path::new(env!("CARGO_BIN_EXE_toystore")));
    let token_file = dir.path().join("token");
    fs::write(&token_file, "Abc123TokenFromSecretsManager\n").unwrap();
    let orders = "10.20.1.11,10.20.2.12,10.20.3.13";
    let cases: [(&str, &[&str]); 5] = [
        (
            "single",
            &[
                "toystore-catalog.service",
                "toystore-order@1.service",
                "toystore-order@2.service",
                "toystore-order@3.service",
                "toystore-frontend@1.service",
            ],
        ),
        (
            "web",
            &["toystore-catalog.service", "toystore-frontend@1.service"],
        ),
        ("order-1", &["toystore-order@1.service"]),
        ("order-2", &["toystore-order@2.service"]),
        ("order-3", &["toystore-order@3.service"]),
    ];
    for (role, enabled) in cases {
        let root = dir.path().join(role);
        let out = run(
            Command::new(release.join("install.sh"))
                .args(["--role", role, "--web", "10.20.1.10", "--orders", orders])
                .arg("--token-file")
                .arg(&token_file)
                .arg("--root")
                .arg(&root),
            COMMAND_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "install.sh --role {role}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(root.join("usr/local/bin/toystore").is_file());
        let wants = root.join("etc/systemd/system/multi-user.target.wants");
        let mut found: Vec<String> = fs::read_dir(&wants)
            .unwrap_or_else(|e| panic!("{}: {e}", wants.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        let mut expected: Vec<String> = enabled.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(found, expected, "units enabled for {role}");

        let config_path = root.join("etc/toystore/cluster.toml");
        let mode = fs::metadata(&config_path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            mode.mode() & 0o777,
            0o640,
            "the cluster file holds the token"
        );
        let config = ClusterConfig::load(&config_path).expect("the written cluster file loads");
        assert_eq!(config.token, "Abc123TokenFromSecretsManager");
        assert_eq!(config.data_root, Path::new("/var/lib/toystore"));
        assert_eq!(config.products, Path::new("/etc/toystore/products.json"));
        let frontend = &config.frontends[0];
        assert_eq!(frontend.public, "10.20.1.10:8080".parse().unwrap());
        let replicas: Vec<SocketAddr> = config.replicas.iter().map(|r| r.internal).collect();
        if role == "single" {
            assert_eq!(frontend.internal, "127.0.0.1:8100".parse().unwrap());
            assert_eq!(config.catalog.internal, "127.0.0.1:8200".parse().unwrap());
            assert!(
                replicas.iter().all(|a| a.ip().is_loopback()),
                "{replicas:?}"
            );
        } else {
            assert_eq!(config.catalog.internal, "10.20.1.10:8200".parse().unwrap());
            let expected: Vec<SocketAddr> =
                ["10.20.1.11:8301", "10.20.2.12:8302", "10.20.3.13:8303"]
                    .iter()
                    .map(|a| a.parse().unwrap())
                    .collect();
            assert_eq!(replicas, expected);
        }
    }
}

/// moto in server mode on a free loopback port, killed when dropped.
///
/// It is started through a small launcher that makes moto delete what AWS CloudFormation deletes
/// with a stack, which moto 5 does not: an instance's primary network interface, an internet
/// gateway and its attachment, routes, route tables and their subnet associations. Without it a
/// stack with its own VPC cannot be deleted in moto (DependencyViolation on the VPC).
struct Moto {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

const MOTO_LAUNCHER: &str = r#"
import sys
from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment

_terminate = Instance.terminate
def terminate(self):
    for nic in self.nics.values():
        nic.delete_on_termination = True
    return _terminate(self)
Instance.terminate = terminate

# moto deletes a stack's resources in no particular order, retrying what fails: each of these
# is a no-op once what it would remove is already gone.
def detach(self, account_id, region):
    backend = ec2_backends[account_id][region]
    gateway = backend.internet_gateways.get(self.gateway_id or "")
    if gateway is not None and gateway.vpc is not None:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)
VPCGatewayAttachment.delete = detach

def delete_gateway(self, account_id, region):
    backend = ec2_backends[account_id][region]
    if self.id in backend.internet_gateways:
        backend.delete_internet_gateway(self.id)
InternetGateway.delete = delete_gateway

def delete_route(self, account_id, region):
    backend = ec2_backends[account_id][region]
    table = backend.route_tables.get(self.route_table.id)
    if table is not None and self.id in table._routes:
        backend.delete_route(self.route_table.id, self.destination_cidr_block)
Route.delete = delete_route

def disassociate(self, account_id, region):
    table = ec2_backends[account_id][region].route_tables.get(self.route_table_id)
    if table is not None:
        for key, subnet in list(table._associations.items()):
            if subnet == self.subnet_id:
                del table._associations[key]
SubnetRouteTableAssociation.delete = disassociate

def delete_table(self, account_id, region):
    backend = ec2_backends[account_id][region]
    if self.id in backend.route_tables:
        backend.delete_route_table(self.id)
RouteTable.delete = delete_table

from moto.server import main
main(sys.argv[1:])
"#;

impl Moto {
    fn start() -> Moto {
        let dir = tempfile::tempdir().expect("temp dir");
        let launcher = dir.path().join("moto_launcher.py");
        fs::write(&launcher, MOTO_LAUNCHER).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let log = fs::File::create(dir.path().join("moto.log")).unwrap();
        let child = Command::new("python3")
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start moto");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + MOTO_START;
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not listen on {address} within {MOTO_START:?}: {}",
                moto.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn log(&self) -> String {
        fs::read_to_string(self._dir.path().join("moto.log")).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An environment that reaches nothing but `endpoint`: dummy credentials, no config files, no
/// instance metadata lookup, nothing inherited but PATH.
fn isolated(command: &mut Command, endpoint: &str, home: &Path) {
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TOYSTORE_POLL_SECONDS", "1")
        .env("TOYSTORE_WAIT_SECONDS", "120");
}

/// The AWS CLI against moto, with moto's dummy credentials.
struct Cli<'a> {
    endpoint: &'a str,
    home: &'a Path,
}

impl Cli<'_> {
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        isolated(&mut command, self.endpoint, self.home);
        command
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        command
    }

    /// A script of `aws/`; asserts it succeeded and returns its standard output.
    fn script(&self, name: &str, args: &[&str]) -> String {
        let out = run(
            self.command(&aws_dir().join(name)).args(args),
            COMMAND_TIMEOUT,
        );
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success(),
            "aws/{name} {args:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        );
        println!("--- aws/{name} {args:?}\n{stdout}{stderr}");
        stdout
    }

    /// `aws ARGS --output json`, parsed.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = run(
            self.command(Path::new("aws"))
                .args(["--region", "us-east-1", "--output", "json"])
                .args(args),
            COMMAND_TIMEOUT,
        );
        assert!(out.status.success(), "aws {args:?}: {}", text(&out.stderr));
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return serde_json::Value::Null;
        }
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("aws {args:?} printed no JSON ({e}): {}", text(&out.stdout)))
    }

    fn stack(&self, name: &str) -> Option<serde_json::Value> {
        let out = run(
            self.command(Path::new("aws"))
                .args(["--region", "us-east-1", "--output", "json"])
                .args(["cloudformation", "describe-stacks", "--stack-name", name]),
            COMMAND_TIMEOUT,
        );
        if !out.status.success() {
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("does not exist"),
                "describe-stacks: {stderr}"
            );
            return None;
        }
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stack JSON");
        Some(value["Stacks"][0].clone())
    }
}

fn outputs(stack: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    stack["Outputs"]
        .as_array()
        .map(|outputs| {
            outputs
                .iter()
                .map(|o| {
                    (
                        o["OutputKey"].as_str().unwrap().to_string(),
                        o["OutputValue"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn parameter(stack: &serde_json::Value, key: &str) -> String {
    stack["Parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["ParameterKey"] == key)
        .and_then(|p| p["ParameterValue"].as_str())
        .unwrap_or_else(|| panic!("no parameter {key}"))
        .to_string()
}

/// Instances that are not terminated: (role tag, private address, user data).
fn live_instances(cli: &Cli) -> Vec<(String, String, String)> {
    let reservations = cli.json(&["ec2", "describe-instances"]);
    let mut found = Vec::new();
    for reservation in reservations["Reservations"].as_array().unwrap() {
        for instance in reservation["Instances"].as_array().unwrap() {
            if instance["State"]["Name"] == "terminated" {
                continue;
            }
            let id = instance["InstanceId"].as_str().unwrap();
            let role = instance["Tags"]
                .as_array()
                .and_then(|tags| tags.iter().find(|t| t["Key"] == "toystore:role"))
                .and_then(|t| t["Value"].as_str())
                .unwrap_or("?")
                .to_string();
            let ip = instance["PrivateIpAddress"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let data = cli.json(&[
                "ec2",
                "describe-instance-attribute",
                "--instance-id",
                id,
                "--attribute",
                "userData",
            ]);
            let encoded = data["UserData"]["Value"].as_str().unwrap_or_default();
            found.push((role, ip, decode_base64(encoded)));
        }
    }
    found.sort();
    found
}

fn decode_base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in input
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|&c| c == byte)
            .expect("base64 character") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A smaller copy of the test binary (stripped when `strip` exists), to keep the upload short.
fn small_binary(dir: &Path) -> PathBuf {
    let target = dir.join("toystore");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&target)
        .arg(env!("CARGO_BIN_EXE_toystore"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !stripped {
        fs::copy(env!("CARGO_BIN_EXE_toystore"), &target).expect("copy binary");
    }
    target
}

/// Both scripts against moto: create (spread), a repeat with nothing new, an update of a
/// parameter, teardown twice; then the single layout, created and torn down.
#[test]
fn deploy_and_teardown_run_end_to_end_against_moto() {
    if !have("aws", &["--version"], "pip install awscli")
        || !have(
            "python3",
            &["-c", "import moto.server, flask_cors"],
            "pip install 'moto[server,cloudformation]'",
        )
    {
        return;
    }
    let started = Instant::now();
    let moto = Moto::start();
    let home = tempfile::tempdir().expect("temp home");
    let cli = Cli {
        endpoint: &moto.endpoint,
        home: home.path(),
    };
    let binary = small_binary(home.path());
    let binary_arg = binary.to_str().unwrap();
    let bucket = "tsdeploy-123456789012-us-east-1-releases";

    // 1. A new stack, spread layout.
    let deployed = cli.script(
        "deploy.sh",
        &[
            "--stack",
            "tsdeploy",
            "--layout",
            "spread",
            "--allowed-cidr",
            "203.0.113.7/32",
            "--binary",
            binary_arg,
        ],
    );
    assert!(deployed.contains("creating stack tsdeploy"), "{deployed}");
    assert!(deployed.contains("The store: http://"), "{deployed}");
    assert!(deployed.contains("curl -s"), "{deployed}");
    let stack = cli.stack("tsdeploy").expect("the stack exists");
    assert_eq!(stack["StackStatus"], "CREATE_COMPLETE");
    assert_eq!(parameter(&stack, "Layout"), "spread");
    assert_eq!(parameter(&stack, "AllowedCidr"), "203.0.113.7/32");
    assert_eq!(parameter(&stack, "InstanceType"), "t3.small");
    assert_eq!(parameter(&stack, "ReleaseBucket"), bucket);
    let key = parameter(&stack, "ReleaseKey");
    assert!(parameter(&stack, "ImageId").starts_with("ami-"));
    let out = outputs(&stack);
    assert_eq!(out.get("Layout").map(String::as_str), Some("spread"));
    assert!(out["FrontendUrl"].starts_with("http://"), "{out:?}");
    for (name, ip) in [
        ("WebPrivateIp", "10.20.1.10"),
        ("Order1PrivateIp", "10.20.1.11"),
        ("Order2PrivateIp", "10.20.2.12"),
        ("Order3PrivateIp", "10.20.3.13"),
    ] {
        assert_eq!(out.get(name).map(String::as_str), Some(ip), "{out:?}");
    }

    // The release is in the bucket, with the binary in it.
    let objects = cli.json(&["s3api", "list-objects-v2", "--bucket", bucket]);
    let keys: Vec<&str> = objects["Contents"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key.as_str()]);
    let download = home.path().join("release.tar.gz");
    cli.json(&[
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        &key,
        download.to_str().unwrap(),
    ]);
    let listing = run(
        Command::new("tar").arg("-tzf").arg(&download),
        COMMAND_TIMEOUT,
    );
    let listing = text(&listing.stdout);
    for file in [
        "./toystore",
        "./products.json",
        "./install.sh",
        "./cluster-config.sh",
        "./units/toystore-order@.service",
    ] {
        assert!(listing.lines().any(|l| l == file), "{file} in {listing}");
    }

    // Four instances, one per role, each told its role, the addresses and the release.
    let instances = live_instances(&cli);
    let roles: Vec<(&str, &str)> = instances
        .iter()
        .map(|(role, ip, _)| (role.as_str(), ip.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("order-1", "10.20.1.11"),
            ("order-2", "10.20.2.12"),
            ("order-3", "10.20.3.13"),
            ("web", "10.20.1.10")
        ]
    );
    for (role, _, user_data) in &instances {
        assert!(
            user_data.contains(&format!("install.sh\" --role {role} --web 10.20.1.10")),
            "{user_data}"
        );
        assert!(user_data.contains(&key), "{user_data}");
        assert!(
            user_data.contains("10.20.1.11,10.20.2.12,10.20.3.13"),
            "{user_data}"
        );
        assert!(user_data.contains("scripts-user, always"), "{user_data}");
        assert_valid_bash(user_data);
    }

    // The instance role may read the release object and the token, nothing else.
    let resources = cli.json(&[
        "cloudformation",
        "describe-stack-resources",
        "--stack-name",
        "tsdeploy",
    ]);
    let role_name = resources["StackResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["LogicalResourceId"] == "InstanceRole")
        .and_then(|r| r["PhysicalResourceId"].as_str())
        .expect("the instance role")
        .to_string();
    let policy = cli.json(&[
        "iam",
        "get-role-policy",
        "--role-name",
        &role_name,
        "--policy-name",
        "toystore-instance",
    ]);
    // AWS returns the document URL-encoded, moto as a Python literal: read it either way.
    let document = match &policy["PolicyDocument"] {
        serde_json::Value::String(s) => serde_json::from_str(&s.replace('\'', "\""))
            .unwrap_or_else(|e| panic!("policy document {s}: {e}")),
        other => other.clone(),
    };
    let mut granted = Vec::new();
    for statement in document["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        let action = statement["Action"]
            .as_str()
            .expect("one action per statement");
        granted.push(action.to_string());
        if action == "s3:GetObject" {
            assert_eq!(
                statement["Resource"].as_str(),
                Some(format!("arn:aws:s3:::{bucket}/{key}").as_str()),
                "the release object only"
            );
        }
    }
    granted.sort();
    assert_eq!(granted, ["s3:GetObject", "secretsmanager:GetSecretValue"]);

    // 2. The same deploy again: nothing to do, and no error.
    let again = cli.script(
        "deploy.sh",
        &["--stack", "tsdeploy", "--binary", binary_arg],
    );
    assert!(again.contains("already uploaded"), "{again}");
    assert!(again.contains("updating stack tsdeploy"), "{again}");
    assert!(again.contains("already up to date"), "{again}");

    // 3. A changed parameter: an update, the other parameters kept, the instances kept.
    let updated = cli.script(
        "deploy.sh",
        &[
            "--stack",
            "tsdeploy",
            "--allowed-cidr",
            "198.51.100.0/24",
            "--binary",
            binary_arg,
        ],
    );
    assert!(updated.contains("updating stack tsdeploy"), "{updated}");
    let stack = cli.stack("tsdeploy").expect("the stack still exists");
    assert_eq!(stack["StackStatus"], "UPDATE_COMPLETE");
    assert_eq!(parameter(&stack, "AllowedCidr"), "198.51.100.0/24");
    assert_eq!(parameter(&stack, "Layout"), "spread");
    assert_eq!(parameter(&stack, "ReleaseKey"), key);
    assert_eq!(live_instances(&cli).len(), 4);
    let groups = cli.json(&["ec2", "describe-security-groups"]);
    let public: Vec<String> = groups["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["IpPermissions"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["FromPort"] == 8080)
        .flat_map(|p| p["IpRanges"].as_array().cloned().unwrap_or_default())
        .map(|r| r["CidrIp"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        public,
        ["198.51.100.0/24"],
        "port 8080 open to the new CIDR only"
    );

    // A layout change is refused: it would strand the order log.
    let refused = run(
        cli.command(&aws_dir().join("deploy.sh")).args([
            "--stack", "tsdeploy", "--layout", "single", "--binary", binary_arg,
        ]),
        COMMAND_TIMEOUT,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("changing the layout"),
        "{}",
        text(&refused.stderr)
    );

    // 4. Teardown leaves nothing; a second teardown has nothing to do.
    let removed = cli.script("teardown.sh", &["--stack", "tsdeploy"]);
    assert!(removed.contains("deleted:"), "{removed}");
    assert!(removed.contains(&format!("s3://{bucket}")), "{removed}");
    assert!(cli.stack("tsdeploy").is_none(), "the stack is gone");
    assert_nothing_left(&cli);
    let again = cli.script("teardown.sh", &["--stack", "tsdeploy"]);
    assert!(again.contains("nothing deleted"), "{again}");

    // 5. The single layout: one instance, then nothing.
    cli.script(
        "deploy.sh",
        &[
            "--stack",
            "tssingle",
            "--allowed-cidr",
            "203.0.113.7/32",
            "--key-name",
            "my-key",
            "--binary",
            binary_arg,
        ],
    );
    let stack = cli.stack("tssingle").expect("the single stack");
    assert_eq!(parameter(&stack, "Layout"), "single");
    assert_eq!(parameter(&stack, "KeyName"), "my-key");
    let instances = live_instances(&cli);
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0].0, "single");
    assert!(instances[0]
        .2
        .contains("--role single --web 10.20.1.10 --orders none"));
    cli.script("teardown.sh", &["--stack", "tssingle"]);
    assert_nothing_left(&cli);
    println!("deploy and teardown against moto: {:?}", started.elapsed());
}

/// The shell script part of an instance's user data parses (`bash -n`).
fn assert_valid_bash(user_data: &str) {
    let start = user_data.find("#!/bin/bash").expect("a shell script part");
    let end = user_data
        .rfind("--==toystore==--")
        .expect("the end of the MIME message");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("user-data.sh");
    fs::write(&script, &user_data[start..end]).unwrap();
    let out = run(Command::new("bash").arg("-n").arg(&script), COMMAND_TIMEOUT);
    assert!(
        out.status.success(),
        "the user data script does not parse: {}\n{}",
        text(&out.stderr),
        &user_data[start..end]
    );
}

/// No instance, bucket, secret or role of ours is left, and no VPC but moto's default one.
fn assert_nothing_left(cli: &Cli) {
    assert!(live_instances(cli).is_empty(), "instances left");
    let buckets = cli.json(&["s3api", "list-buckets"]);
    assert_eq!(
        buckets["Buckets"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "buckets left: {buckets}"
    );
    let vpcs = cli.json(&["ec2", "describe-vpcs"]);
    let ours: Vec<&serde_json::Value> = vpcs["Vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["IsDefault"] != true)
        .collect();
    assert!(ours.is_empty(), "VPCs left: {ours:?}");
    let secrets = cli.json(&["secretsmanager", "list-secrets"]);
    assert_eq!(
        secrets["SecretList"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "secrets left: {secrets}"
    );
    let roles = cli.json(&["iam", "list-roles"]);
    let left: Vec<&str> = roles["Roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["RoleName"].as_str())
        .filter(|name| name.starts_with("ts"))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
}

/// Without the CLI, or without credentials, both scripts stop at once and say what is missing.
#[test]
fn scripts_fail_clearly_without_the_cli_or_credentials() {
    let home = tempfile::tempdir().expect("temp home");
    // A PATH with only what the scripts need before their first AWS call, and no `aws`.
    let bin = home.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    for tool in ["bash", "dirname"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    // A closed loopback port: had a request been made, it would have gone nowhere.
    let endpoint = "http://127.0.0.1:9";
    for script in ["deploy.sh", "teardown.sh"] {
        let mut command = Command::new(aws_dir().join(script));
        isolated(&mut command, endpoint, home.path());
        command.env("PATH", &bin);
        let out = run(&mut command, COMMAND_TIMEOUT);
        assert!(!out.status.success(), "{script} without aws succeeded");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("the AWS CLI ('aws') is not installed"),
            "{script}: {stderr}"
        );
    }
    if !have("aws", &["--version"], "pip install awscli") {
        return;
    }
    for script in ["deploy.sh", "teardown.sh"] {
        let mut command = Command::new(aws_dir().join(script));
        isolated(&mut command, endpoint, home.path());
        let out = run(&mut command, COMMAND_TIMEOUT);
        assert!(
            !out.status.success(),
            "{script} without credentials succeeded"
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no usable AWS credentials"),
            "{script}: {stderr}"
        );
    }
    // No region anywhere is also said plainly.
    let mut command = Command::new(aws_dir().join("deploy.sh"));
    isolated(&mut command, endpoint, home.path());
    command.env_remove("AWS_REGION");
    let out = run(&mut command, COMMAND_TIMEOUT);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no AWS region"),
        "{}",
        text(&out.stderr)
    );
}
