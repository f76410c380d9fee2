//! The release bundle: made as deploy.sh makes it (for install.sh), a smaller binary to upload,
//! and the check that the uploaded release is the only object in its bucket and holds the files.

use super::cli::Cli;
use super::command::{run, text, COMMAND_TIMEOUT};
use super::{aws_dir, repo};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A release bundle as deploy.sh makes it, unpacked.
pub fn bundle(dir: &Path, binary: &Path) {
    fs::create_dir_all(dir.join("units")).unwrap();
    fs::copy(binary, dir.join("toystore")).expect("copy binary");
    fs::copy(repo().join("data/products.json"), dir.join("products.json")).unwrap();
    for script in ["install.sh", "cluster-config.sh"] {
        fs::copy(aws_dir().join(script), dir.join(script)).unwrap();
    }
    for entry in fs::read_dir(aws_dir().join("units")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, dir.join("units").join(path.file_name().unwrap())).unwrap();
    }
}

/// A smaller copy of the test binary (stripped when `strip` exists), to keep the upload short.
pub fn small_binary(dir: &Path) -> PathBuf {
    let target = dir.join("toystore");
    let stripped = Command::new("strip")
        .arg("-o")
        .arg(&target)
        .arg(env!("CARGO_BIN_EXE_toystore"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !stripped {
        fs::copy(env!("CARGO_BIN_EXE_toystore"), &target).expect("copy binary");
    }
    target
}

/// The release is in the bucket, with the binary in it: `key` is the bucket's only object, and
/// the archive (downloaded into `dir`) holds the binary, the data, the scripts and the units.
pub fn assert_release_uploaded(cli: &Cli, bucket: &str, key: &str, dir: &Path) {
    let objects = cli.json(&["s3api", "list-objects-v2", "--bucket", bucket]);
    let keys: Vec<&str> = objects["Contents"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key]);
    let download = dir.join("release.tar.gz");
    cli.json(&[
        "s3api",
        "get-object",
        "--bucket",
        bucket,
        "--key",
        key,
        download.to_str().unwrap(),
    ]);
    let listing = run(
        Command::new("tar").arg("-tzf").arg(&download),
        COMMAND_TIMEOUT,
    );
    let listing = text(&listing.stdout);
    for file in [
        "./toystore",
        "./products.json",
        "./install.sh",
        "./cluster-config.sh",
        "./units/toystore-order@.service",
    ] {
        assert!(listing.lines().any(|l| l == file), "{file} in {listing}");
    }
}
