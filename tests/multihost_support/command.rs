//! Running the tools the drill needs (`ip`, `nft`, `iptables`, the cluster-config script):
//! whether one runs at all, and a run bounded by [`COMMAND_TIMEOUT`].

use super::COMMAND_TIMEOUT;
use std::io;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn runs(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs a command within [`COMMAND_TIMEOUT`] and returns its output; the error names the command.
pub fn run(program: &str, args: &[&str]) -> io::Result<Output> {
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{program} {args:?}: {e}"));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(named)?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{program} {args:?} did not finish in {COMMAND_TIMEOUT:?}"),
                ));
            }
        }
    }
    child.wait_with_output().map_err(named)
}

/// Runs a command that must succeed.
pub fn must(program: &str, args: &[&str]) -> String {
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
