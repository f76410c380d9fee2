//! The AWS deployment (`aws/`), tested with everything this machine has: `cfn-lint` on the
//! template, `systemd-analyze verify` on the units, `install.sh` laying out a host in a temporary
//! root, shellcheck on the scripts, and `deploy.sh` / `teardown.sh` end to end against moto, an
//! AWS API emulator, in server mode on a loopback port.
//!
//! No request leaves this machine: every AWS CLI call the scripts make is aimed at moto
//! (`AWS_ENDPOINT_URL`), with dummy credentials, no shared config files and the EC2 metadata
//! lookup off. A missing tool fails the test when `CI` is set (`.ci/run` must install it) and
//! skips it, saying why, otherwise.

mod aws_support;

use aws_support::aws_dir;
use aws_support::cli::{isolated, Cli};
use aws_support::command::{have, run, text, COMMAND_TIMEOUT};
use aws_support::install::assert_cluster_file;
use aws_support::instances::{assert_valid_bash, live_instances};
use aws_support::load_balancer::assert_load_balancer;
use aws_support::moto::Moto;
use aws_support::release::{assert_release_uploaded, bundle, small_binary};
use aws_support::stack::{
    assert_instance_policy, assert_nothing_left, outputs, parameter, public_cidrs,
};
use aws_support::units::{units_with_binary, verify_unit};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    let cases: [(&str, &[&str]); 6] = [
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
        ("frontend-2", &["toystore-frontend@2.service"]),
        ("order-1", &["toystore-order@1.service"]),
        ("order-2", &["toystore-order@2.service"]),
        ("order-3", &["toystore-order@3.service"]),
    ];
    for (role, enabled) in cases {
        let root = dir.path().join(role);
        let out = run(
            Command::new(release.join("install.sh"))
                .args(["--role", role, "--web", "10.20.1.10", "--orders", orders])
                .args(match role {
                    "single" => &[][..],
                    _ => &["--frontend2", "10.20.2.10"][..],
                })
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

        assert_cluster_file(&root, role);
    }
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
        ("Frontend2PrivateIp", "10.20.2.10"),
        ("Order1PrivateIp", "10.20.1.11"),
        ("Order2PrivateIp", "10.20.2.12"),
        ("Order3PrivateIp", "10.20.3.13"),
    ] {
        assert_eq!(out.get(name).map(String::as_str), Some(ip), "{out:?}");
    }

    // The release is in the bucket, with the binary in it.
    assert_release_uploaded(&cli, bucket, &key, home.path());

    // Five instances, one per role, each told its role, the addresses and the release.
    let instances = live_instances(&cli);
    let roles: Vec<(&str, &str)> = instances
        .iter()
        .map(|(role, ip, _)| (role.as_str(), ip.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("frontend-2", "10.20.2.10"),
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
            user_data.contains("10.20.1.11,10.20.2.12,10.20.3.13 --frontend2 10.20.2.10"),
            "{user_data}"
        );
        assert!(user_data.contains("scripts-user, always"), "{user_data}");
        assert_valid_bash(user_data);
    }

    // Both frontends behind the load balancer, health-checked on /ready.
    assert_load_balancer(&cli, "tsdeploy", &out["FrontendUrl"]);

    // The instance role may read the release object and the token, nothing else.
    assert_instance_policy(&cli, "tsdeploy", bucket, &key);

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
    assert_eq!(live_instances(&cli).len(), 5);
    let public = public_cidrs(&cli);
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
