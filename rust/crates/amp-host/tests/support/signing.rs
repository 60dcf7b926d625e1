//! Signing keys and firmware signatures made at test time by the `openssl`
//! CLI (in a temporary directory, never committed), for the tests of
//! amp-host, ampctl and rtd-ampd, which include this file with `#[path]`.
//! [`sign`] makes what `scripts/rtd-amp-sign-fw` makes, plus `extra`
//! `openssl cms` options for the variants the kernel refuses.
#![allow(dead_code)] // each test crate uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl ARGS`, which must succeed.
pub fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI (scripts/setup-host installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed RSA key and certificate `dir/NAME.{key,pem}`.
pub fn keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    keypair_with(dir, name, &format!("/CN={name}"), &[])
}

/// [`keypair`] with the subject `subj` and `extra` openssl req options
/// (e.g. `-set_serial`).
pub fn keypair_with(dir: &Path, name: &str, subj: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (key, cert) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pem")),
    );
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
        "-days",
        "3650",
        "-subj",
        subj,
    ];
    args.extend_from_slice(extra);
    openssl(&args);
    (key, cert)
}

/// `FILE.p7s`: a detached DER CMS signature of `file` with SHA-256 and
/// signed attributes (what rtd-amp-sign-fw makes when `extra` is
/// `["-nosmimecap"]`), plus the `extra` openssl cms options.
pub fn sign(file: &Path, key: &Path, cert: &Path, extra: &[&str]) -> PathBuf {
    let sig = PathBuf::from(format!("{}.p7s", file.display()));
    let mut args = vec![
        "cms",
        "-sign",
        "-binary",
        "-in",
        file.to_str().unwrap(),
        "-signer",
        cert.to_str().unwrap(),
        "-inkey",
        key.to_str().unwrap(),
        "-md",
        "sha256",
        "-outform",
        "DER",
        "-out",
        sig.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    openssl(&args);
    sig
}

/// [`sign`] as rtd-amp-sign-fw signs.
pub fn sign_like_the_tool(file: &Path, (key, cert): &(PathBuf, PathBuf)) -> PathBuf {
    sign(file, key, cert, &["-nosmimecap"])
}
