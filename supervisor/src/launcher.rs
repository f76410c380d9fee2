//! What a service's command line starts with: the `toystore` binary itself, or a wrapper that
//! execs it somewhere else (another network namespace, for the multi-host drill).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::cluster::LocalCluster;
use crate::service::Service;

type Prefix = Box<dyn Fn(Service) -> Vec<OsString> + Send + Sync>;

/// The wrapper of a [`LocalCluster`]'s services, none by default.
#[derive(Default)]
pub(crate) struct Launcher(Option<Prefix>);

impl Launcher {
    /// The command that starts `service` from `exe`, before its own arguments.
    pub(crate) fn command(&self, exe: &Path, service: Service) -> Command {
        let prefix = self.0.as_ref().map(|prefix| prefix(service));
        match prefix.as_deref() {
            Some([program, args @ ..]) => {
                let mut command = Command::new(program);
                command.args(args).arg(exe);
                command
            }
            _ => Command::new(exe),
        }
    }
}

impl LocalCluster {
    /// Starts every service from now on under a wrapper: `prefix(service)` is the program and
    /// arguments put before the `toystore` binary and its own arguments, for example
    /// `ip netns exec <namespace>`; an empty prefix runs the binary itself.
    ///
    /// The wrapper must exec the binary in its own process (as `ip netns exec`, `env` or `nice`
    /// do), not run it as a child: this cluster signals and reaps the pid it spawned, and that
    /// must be the service's, or a kill would leave the service running.
    pub fn set_launcher(
        &mut self,
        prefix: impl Fn(Service) -> Vec<OsString> + Send + Sync + 'static,
    ) {
        self.launcher = Launcher(Some(Box::new(prefix)));
    }
}
