//! The systemd units of `aws/units`, prepared for and checked with `systemd-analyze verify`.

use super::aws_dir;
use super::command::{run, text, COMMAND_TIMEOUT};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The units as shipped, with `ExecStart` pointing at this build's binary (verify checks that
/// the command exists), in a temporary directory.
pub fn units_with_binary(dir: &Path) -> Vec<PathBuf> {
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
pub fn verify_unit(unit: &Path) {
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
