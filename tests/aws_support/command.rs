//! Running the tools the tests need: whether a tool is installed (a missing one skips the test,
//! or fails it under CI), and running a command to completion within a time limit.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long one script or tool may run before the test gives up on it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether `tool` runs (`tool --version` or the given probe arguments exit 0). When it does not:
/// under CI, panic with what to install; otherwise print why the test is skipped.
pub fn have(tool: &str, probe: &[&str], install: &str) -> bool {
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
pub fn run(command: &mut Command, limit: Duration) -> Output {
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

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
