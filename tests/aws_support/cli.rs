//! The AWS CLI and the scripts of `aws/`, run against moto in an environment that can reach
//! nothing else.

use super::aws_dir;
use super::command::{run, text, COMMAND_TIMEOUT};
use std::path::Path;
use std::process::Command;

/// An environment that reaches nothing but `endpoint`: dummy credentials, no config files, no
/// instance metadata lookup, nothing inherited but PATH.
pub fn isolated(command: &mut Command, endpoint: &str, home: &Path) {
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
pub struct Cli<'a> {
    pub endpoint: &'a str,
    pub home: &'a Path,
}

impl Cli<'_> {
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        isolated(&mut command, self.endpoint, self.home);
        command
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
        command
    }

    /// A script of `aws/`; asserts it succeeded and returns its standard output.
    pub fn script(&self, name: &str, args: &[&str]) -> String {
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
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
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

    pub fn stack(&self, name: &str) -> Option<serde_json::Value> {
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
