//! The instances of a deployment in moto, with the user data each was given, and the check that
//! the user data's shell script parses.

use super::cli::Cli;
use super::command::{run, text, COMMAND_TIMEOUT};
use std::fs;
use std::process::Command;

/// Instances that are not terminated: (role tag, private address, user data).
pub fn live_instances(cli: &Cli) -> Vec<(String, String, String)> {
    let reservations = cli.json(&["ec2", "describe-instances"]);
    let mut found = Vec::new();
    for reservation in reservations["Reservations"].as_array().unwrap() {
        for instance in reservation["Instances"].as_array().unwrap() {
            if instance["State"]["Name"] == "terminated" {
                continue;
            }
            let id = instance["InstanceId"].as_str().unwrap();
            let role = instance["Tags"]
                .as_array()
                .and_then(|tags| tags.iter().find(|t| t["Key"] == "toystore:role"))
                .and_then(|t| t["Value"].as_str())
                .unwrap_or("?")
                .to_string();
            let ip = instance["PrivateIpAddress"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            let data = cli.json(&[
                "ec2",
                "describe-instance-attribute",
                "--instance-id",
                id,
                "--attribute",
                "userData",
            ]);
            let encoded = data["UserData"]["Value"].as_str().unwrap_or_default();
            found.push((role, ip, decode_base64(encoded)));
        }
    }
    found.sort();
    found
}

fn decode_base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in input
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET
            .iter()
            .position(|&c| c == byte)
            .expect("base64 character") as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The shell script part of an instance's user data parses (`bash -n`).
pub fn assert_valid_bash(user_data: &str) {
    let start = user_data.find("#!/bin/bash").expect("a shell script part");
    let end = user_data
        .rfind("--==toystore==--")
        .expect("the end of the MIME message");
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("user-data.sh");
    fs::write(&script, &user_data[start..end]).unwrap();
    let out = run(Command::new("bash").arg("-n").arg(&script), COMMAND_TIMEOUT);
    assert!(
        out.status.success(),
        "the user data script does not parse: {}\n{}",
        text(&out.stderr),
        &user_data[start..end]
    );
}
