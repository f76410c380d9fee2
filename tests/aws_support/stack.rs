//! What a deployment left in moto: a stack's outputs and parameters, the instance role's policy,
//! the security groups' public ranges, and that a teardown left nothing behind.

use super::cli::Cli;
use super::instances::live_instances;

pub fn outputs(stack: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    stack["Outputs"]
        .as_array()
        .map(|outputs| {
            outputs
                .iter()
                .map(|o| {
                    (
                        o["OutputKey"].as_str().unwrap().to_string(),
                        o["OutputValue"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn parameter(stack: &serde_json::Value, key: &str) -> String {
    stack["Parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["ParameterKey"] == key)
        .and_then(|p| p["ParameterValue"].as_str())
        .unwrap_or_else(|| panic!("no parameter {key}"))
        .to_string()
}

/// The instance role of stack `stack` may read the release object (`bucket`/`key`) and the
/// token, nothing else.
pub fn assert_instance_policy(cli: &Cli, stack: &str, bucket: &str, key: &str) {
    let resources = cli.json(&[
        "cloudformation",
        "describe-stack-resources",
        "--stack-name",
        stack,
    ]);
    let role_name = resources["StackResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["LogicalResourceId"] == "InstanceRole")
        .and_then(|r| r["PhysicalResourceId"].as_str())
        .expect("the instance role")
        .to_string();
    let policy = cli.json(&[
        "iam",
        "get-role-policy",
        "--role-name",
        &role_name,
        "--policy-name",
        "toystore-instance",
    ]);
    // AWS returns the document URL-encoded, moto as a Python literal: read it either way.
    let document = match &policy["PolicyDocument"] {
        serde_json::Value::String(s) => serde_json::from_str(&s.replace('\'', "\""))
            .unwrap_or_else(|e| panic!("policy document {s}: {e}")),
        other => other.clone(),
    };
    let mut granted = Vec::new();
    for statement in document["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        let action = statement["Action"]
            .as_str()
            .expect("one action per statement");
        granted.push(action.to_string());
        if action == "s3:GetObject" {
            assert_eq!(
                statement["Resource"].as_str(),
                Some(format!("arn:aws:s3:::{bucket}/{key}").as_str()),
                "the release object only"
            );
        }
    }
    granted.sort();
    assert_eq!(granted, ["s3:GetObject", "secretsmanager:GetSecretValue"]);
}

/// The address ranges of every security group rule for port 8080, the store's public port.
pub fn public_cidrs(cli: &Cli) -> Vec<String> {
    let groups = cli.json(&["ec2", "describe-security-groups"]);
    groups["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["IpPermissions"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["FromPort"] == 8080)
        .flat_map(|p| p["IpRanges"].as_array().cloned().unwrap_or_default())
        .map(|r| r["CidrIp"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// No instance, bucket, secret or role of ours is left, and no VPC but moto's default one.
pub fn assert_nothing_left(cli: &Cli) {
    assert!(live_instances(cli).is_empty(), "instances left");
    super::load_balancer::assert_no_load_balancer(cli);
    let buckets = cli.json(&["s3api", "list-buckets"]);
    assert_eq!(
        buckets["Buckets"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "buckets left: {buckets}"
    );
    let vpcs = cli.json(&["ec2", "describe-vpcs"]);
    let ours: Vec<&serde_json::Value> = vpcs["Vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["IsDefault"] != true)
        .collect();
    assert!(ours.is_empty(), "VPCs left: {ours:?}");
    let secrets = cli.json(&["secretsmanager", "list-secrets"]);
    assert_eq!(
        secrets["SecretList"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "secrets left: {secrets}"
    );
    let roles = cli.json(&["iam", "list-roles"]);
    let left: Vec<&str> = roles["Roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["RoleName"].as_str())
        .filter(|name| name.starts_with("ts"))
        .collect();
    assert!(left.is_empty(), "roles left: {left:?}");
}
