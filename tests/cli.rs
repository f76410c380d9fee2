//! The command line's own conventions: `--version` names the commit, and completion scripts
//! come out for every shell clap knows.

use std::process::{Command, Output};

fn toystore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toystore"))
        .args(args)
        .output()
        .expect("the toystore binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = toystore(&["--version"]);
    assert!(out.status.success());
    let version = text(&out.stdout);
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_string());
    let commit = head.unwrap_or_else(|| "unknown".to_string());
    let expected = format!("toystore {} (commit {commit})\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(version, expected);
    let sub = text(&toystore(&["simulate", "--version"]).stdout);
    assert_eq!(sub, expected.replacen("toystore", "toystore-simulate", 1));
}

#[test]
fn completions_come_out_for_each_shell_and_an_unknown_one_is_refused() {
    let bash = toystore(&["completions", "bash"]);
    assert!(bash.status.success(), "{}", text(&bash.stderr));
    let script = text(&bash.stdout);
    assert!(script.contains("_toystore()"), "{script}");
    for command in ["up", "simulate", "inspect", "completions"] {
        assert!(script.contains(command), "bash completion lacks {command}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = toystore(&["completions", shell]);
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let unknown = toystore(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("invalid value 'tcsh'"));
}

/// `client --duration` takes the same durations as `drill --duration` (it took a bare number of
/// seconds only, and refused `2s`).
#[test]
fn client_durations_speak_the_drills_syntax() {
    // An --iterations of 0 is refused after the flags parse, before any request: reaching that
    // refusal proves the duration was accepted.
    for accepted in ["2s", "500ms", "1.5m", "3"] {
        let out = toystore(&["client", "--duration", accepted, "--iterations", "0"]);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("--iterations must be at least 1"),
            "{accepted}: {stderr}"
        );
    }
    let bad = toystore(&["client", "--duration", "2x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("bad duration \"2x\""),
        "{}",
        text(&bad.stderr)
    );
    let zero = toystore(&["client", "--duration", "0s"]);
    assert!(text(&zero.stderr).contains("--duration must be longer than 0"));
}
