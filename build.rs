//! Stamps the binary with the commit it was built from, for `toystore --version` and the
//! services' `toystore_build_info` gauge. The binary hands it to each service's `run` as a
//! `common::metrics::BuildInfo` rather than each crate reading it, so a new commit rebuilds the
//! binary alone, not every crate of the workspace.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TOYSTORE_COMMIT={commit}");
    // A new commit moves HEAD or the branch it names; only then is the stamp rebuilt.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
