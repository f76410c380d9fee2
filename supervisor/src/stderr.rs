//! The services' captured standard error, read back for failure messages.

use crate::cluster::LocalCluster;

impl LocalCluster {
    /// The last `lines` lines each service wrote to its [`Self::stderr_path`], under a header
    /// naming it; services that wrote nothing there are left out. For a test or a drill that
    /// fails, to say what the store said.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for service in self.services() {
            if let Ok(text) = std::fs::read_to_string(self.stderr_path(service)) {
                let all: Vec<&str> = text.lines().collect();
                let tail = all[all.len().saturating_sub(lines)..].join("\n");
                out.push_str(&format!("--- {service}\n{tail}\n"));
            }
        }
        out
    }
}
