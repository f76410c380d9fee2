//! The spread layout's load balancer as moto holds it: one internet-facing application load
//! balancer over the three subnets, a listener on port 80 forwarding to one target group, and
//! that group health-checking both frontend instances' port 8080 on `/ready`.

use super::aws_dir;
use super::cli::Cli;
use super::command::{run, text, COMMAND_TIMEOUT};
use serde_json::Value;
use std::process::Command;

fn one<'a>(value: &'a Value, list: &str) -> &'a Value {
    match value[list].as_array().map(Vec::as_slice) {
        Some([only]) => only,
        other => panic!("one of {list} expected, got {other:?}"),
    }
}

/// The load balancer is the store's address and forwards to the web and frontend-2 instances.
pub fn assert_load_balancer(cli: &Cli, stack: &str, frontend_url: &str) {
    let balancers = cli.json(&["elbv2", "describe-load-balancers"]);
    let balancer = one(&balancers, "LoadBalancers");
    assert_eq!(balancer["Type"], "application", "{balancer:#}");
    assert_eq!(balancer["Scheme"], "internet-facing", "{balancer:#}");
    assert_eq!(
        balancer["AvailabilityZones"].as_array().map(Vec::len),
        Some(3),
        "one subnet per availability zone: {balancer:#}"
    );
    let dns = balancer["DNSName"].as_str().expect("a DNS name");
    assert_eq!(frontend_url, format!("http://{dns}"));
    let balancer_arn = balancer["LoadBalancerArn"].as_str().expect("an ARN");

    // moto keeps no idle timeout from a template, so it is read from the template itself.
    let attributes = template_properties("LoadBalancer")["LoadBalancerAttributes"].clone();
    let idle_s: u64 = attributes
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|a| a["Key"] == "idle_timeout.timeout_seconds")
        })
        .and_then(|a| a["Value"].as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("an idle timeout in the template: {attributes:#}"));
    assert!(
        idle_s * 1000 < common::http::DEFAULT_IDLE_TIMEOUT_MS,
        "the balancer keeps idle connections {idle_s} s, not shorter than the frontends do"
    );

    let listeners = cli.json(&[
        "elbv2",
        "describe-listeners",
        "--load-balancer-arn",
        balancer_arn,
    ]);
    let listener = one(&listeners, "Listeners");
    assert_eq!(
        (&listener["Port"], &listener["Protocol"]),
        (&80.into(), &"HTTP".into())
    );
    let action = one(listener, "DefaultActions");
    assert_eq!(action["Type"], "forward", "{listener:#}");

    let groups = cli.json(&[
        "elbv2",
        "describe-target-groups",
        "--load-balancer-arn",
        balancer_arn,
    ]);
    let group = one(&groups, "TargetGroups");
    assert_eq!(action["TargetGroupArn"], group["TargetGroupArn"]);
    assert_eq!(group["HealthCheckPath"], "/ready", "{group:#}");
    assert_eq!(group["Matcher"]["HttpCode"], "200", "{group:#}");
    assert_eq!(
        (&group["Port"], &group["Protocol"]),
        (&8080.into(), &"HTTP".into())
    );

    // moto does not register a template's `Targets`, so they are read from the template (with
    // cfn-lint's own decoder, which knows the short-form tags) and resolved through the stack.
    let resources = cli.json(&[
        "cloudformation",
        "describe-stack-resources",
        "--stack-name",
        stack,
    ]);
    let physical = |logical: &str| {
        resources["StackResources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["LogicalResourceId"] == logical)
            .and_then(|r| r["PhysicalResourceId"].as_str())
            .unwrap_or_else(|| panic!("no {logical} in the stack"))
            .to_string()
    };
    let mut targets: Vec<(String, u64)> = template_targets()
        .into_iter()
        .map(|(logical, port)| (physical(&logical), port))
        .collect();
    targets.sort();
    let frontends = cli.json(&[
        "ec2",
        "describe-instances",
        "--filters",
        "Name=private-ip-address,Values=10.20.1.10,10.20.2.10",
        "Name=instance-state-name,Values=running,pending",
    ]);
    let mut expected: Vec<(String, u64)> = frontends["Reservations"]
        .as_array()
        .expect("reservations")
        .iter()
        .flat_map(|r| r["Instances"].as_array().cloned().unwrap_or_default())
        .map(|i| (i["InstanceId"].as_str().unwrap().to_string(), 8080))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 2, "{frontends:#}");
    assert_eq!(targets, expected, "both frontends are targets on 8080");
}

/// The `Properties` of resource `logical` in aws/template.yaml, read with cfn-lint's own
/// decoder, which knows the short-form tags.
fn template_properties(logical: &str) -> Value {
    let script = "import json, sys\n\
                  from cfnlint.decode import decode\n\
                  template, _ = decode(sys.argv[1])\n\
                  print(json.dumps(template['Resources'][sys.argv[2]]['Properties']))\n";
    let out = run(
        Command::new("python3")
            .args(["-c", script])
            .arg(aws_dir().join("template.yaml"))
            .arg(logical),
        COMMAND_TIMEOUT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON properties")
}

/// The target group's targets in aws/template.yaml: (logical id referenced, port).
fn template_targets() -> Vec<(String, u64)> {
    template_properties("FrontendTargetGroup")["Targets"]
        .as_array()
        .expect("a list of targets")
        .iter()
        .map(|t| {
            (
                t["Id"]["Ref"]
                    .as_str()
                    .expect("a Ref to an instance")
                    .to_string(),
                t["Port"].as_u64().expect("a port"),
            )
        })
        .collect()
}

/// No load balancer or target group is left.
pub fn assert_no_load_balancer(cli: &Cli) {
    let balancers = cli.json(&["elbv2", "describe-load-balancers"]);
    assert_eq!(
        balancers["LoadBalancers"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0,
        "load balancers left: {balancers}"
    );
    let groups = cli.json(&["elbv2", "describe-target-groups"]);
    assert_eq!(
        groups["TargetGroups"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "target groups left: {groups}"
    );
}
