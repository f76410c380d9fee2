//! Shared code of the AWS deployment tests (`tests/aws.rs`): where the deployment is, and one
//! module per concept. `command` runs tools with a time limit and skips (or, under CI, fails) a
//! test whose tool is missing; `units` prepares the systemd units for `systemd-analyze verify`;
//! `release` makes and checks the release bundle; `install` checks what install.sh writes on a
//! host; `moto` runs the AWS API emulator; `cli` runs the AWS CLI and the scripts against it,
//! isolated from any real account; `stack`, `instances` and `load_balancer` read back what a
//! deployment left in moto.

pub mod cli;
pub mod command;
pub mod install;
pub mod instances;
pub mod load_balancer;
pub mod moto;
pub mod release;
pub mod stack;
pub mod units;

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn aws_dir() -> PathBuf {
    repo().join("aws")
}
