//! [`ChildOutput::Relay`](crate::ChildOutput::Relay): a child's standard error copied line by
//! line to ours, its last line kept, so that `toystore up` can say in one line why a service
//! stopped (its `error: ...`), which a shared terminal alone would not let it read.

use std::io::{BufRead, BufReader, Write};
use std::process::ChildStderr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::cluster::LocalCluster;
use crate::service::Service;

/// The thread copying one child's standard error.
pub(crate) struct Relay {
    last: Arc<Mutex<Option<String>>>,
    thread: JoinHandle<()>,
}

impl Relay {
    pub(crate) fn start(stderr: ChildStderr) -> Relay {
        let last = Arc::new(Mutex::new(None));
        let kept = Arc::clone(&last);
        let thread = std::thread::spawn(move || {
            relay_lines(BufReader::new(stderr), &mut std::io::stderr(), |line| {
                *common::sync::lock(&kept) = Some(line);
            });
        });
        Relay { last, thread }
    }

    /// The last non-empty line, once the child closed its end (it exited).
    fn finish(self) -> Option<String> {
        let _ = self.thread.join();
        common::sync::lock(&self.last).take()
    }
}

/// Copies `from` to `to` line by line until `from` ends, handing each non-empty line to `last`.
///
/// Lines are read as bytes: a child that writes a byte that is not UTF-8 (a file name, a panic
/// message) must not stop the copy, or the child would block on a full pipe. Such a line is kept
/// with the byte replaced.
fn relay_lines(mut from: impl BufRead, to: &mut impl Write, mut last: impl FnMut(String)) {
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match from.read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        // Our own standard error gone is no reason to block the child on a full pipe: keep
        // reading, drop the copy.
        let _ = to.write_all(&bytes);
        if !bytes.ends_with(b"\n") {
            let _ = to.write_all(b"\n");
        }
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\n', '\r']);
        if !line.trim().is_empty() {
            last(line.to_string());
        }
    }
}

impl LocalCluster {
    /// The last line a service that exited wrote to its standard error, with
    /// [`ChildOutput::Relay`](crate::ChildOutput::Relay); `None` with other outputs, or if it
    /// wrote nothing. Call only once the service was reaped ([`Self::reap_exited`]): it waits
    /// for the child's end of the pipe to close.
    pub fn last_stderr_line(&mut self, service: Service) -> Option<String> {
        self.relays.remove(&service)?.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_copied_and_the_relay_goes_on() {
        let input: &[u8] = b"started\nbad \xff byte\n\nerror: port in use";
        let mut copy = Vec::new();
        let mut lines = Vec::new();
        relay_lines(input, &mut copy, |line| lines.push(line));
        assert_eq!(copy, b"started\nbad \xff byte\n\nerror: port in use\n");
        assert_eq!(
            lines,
            ["started", "bad \u{fffd} byte", "error: port in use"],
            "every non-empty line, the last one kept whole"
        );
    }
}
