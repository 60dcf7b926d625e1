//! Firmware signatures (amp_host::fwsig) against real CMS signatures made
//! at test time by the `openssl` CLI, as `rtd-amp-sign-fw` makes them
//! (keys and certificates are generated in a temporary directory, never
//! committed): each of the kernel's reasons (`[sig-...]`), the variants the
//! kernel accepts (signer certificate carried or not, signer named by
//! issuer and serial number or by subjectKeyIdentifier), and who enforces.

use amp_host::fwcheck::{check_files, CheckError, SigConfig};
use amp_host::fwsig::{
    self, check_signature, enforcement, verify, Enforcement, Reason, SigError, SigStatus,
    TrustStore,
};
use amp_host::Sys;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/signing.rs"]
mod signing;
use signing::{keypair, keypair_with, openssl, sign};

struct Fixture {
    dir: tempfile::TempDir,
    key: PathBuf,
    cert: PathBuf,
    file: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = keypair(dir.path(), "rtd-amp-test");
        let file = dir.path().join("fw.elf");
        std::fs::write(&file, firmware_bytes()).unwrap();
        Fixture {
            dir,
            key,
            cert,
            file,
        }
    }

    fn trust(&self) -> TrustStore {
        TrustStore::load(std::slice::from_ref(&self.cert)).unwrap()
    }

    /// The signature the layer's tool makes: signed attributes without
    /// S/MIME capabilities.
    fn signed(&self) -> Vec<u8> {
        let sig = sign(&self.file, &self.key, &self.cert, &["-nosmimecap"]);
        std::fs::read(sig).unwrap()
    }
}

fn firmware_bytes() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 7 + 3) as u8).collect()
}

fn reason(r: Result<fwsig::Signer, SigError>) -> (Reason, String) {
    let e = r.expect_err("refused");
    (e.reason().expect("a kernel reason"), e.to_string())
}

#[test]
fn signed_by_a_trusted_certificate_verifies() {
    let f = Fixture::new();
    let data = firmware_bytes();
    let s = verify(&data, &f.signed(), &f.trust()).unwrap();
    assert_eq!(s.subject, "CN=rtd-amp-test");
    // The variants the kernel accepts too: no certificate in the message
    // (the signer found by issuer and serial number among the trusted
    // ones), and the signer named by its subjectKeyIdentifier.
    for extra in [
        &["-nosmimecap", "-nocerts"][..],
        &["-nosmimecap", "-keyid"],
        &["-nosmimecap", "-keyid", "-nocerts"],
    ] {
        let sig = sign(&f.file, &f.key, &f.cert, extra);
        let p7s = std::fs::read(sig).unwrap();
        verify(&data, &p7s, &f.trust()).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
    }
    // A DER certificate file is read as well as PEM.
    let der = f.dir.path().join("cert.der");
    openssl(&[
        "x509",
        "-in",
        f.cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    verify(&data, &f.signed(), &TrustStore::load(&[der]).unwrap()).unwrap();
}

#[test]
fn one_byte_flipped_in_the_file_does_not_match() {
    let f = Fixture::new();
    let p7s = f.signed();
    for at in [0, 1000, 4095] {
        let mut data = firmware_bytes();
        data[at] ^= 0x01;
        let (r, msg) = reason(verify(&data, &p7s, &f.trust()));
        assert_eq!(r, Reason::Mismatch, "{msg}");
        assert!(msg.contains("[sig-mismatch]"), "{msg}");
        assert!(msg.contains("sign this file again"), "{msg}");
    }
}

/// The offset of the SignerInfo's signature value in the DER message: the
/// last 256 bytes (RSA-2048) of the message with no unsigned attributes.
fn signature_value_at(p7s: &[u8]) -> usize {
    use der::Decode;
    let ci = cms::content_info::ContentInfo::from_der(p7s).unwrap();
    let sd: cms::signed_data::SignedData = ci.content.decode_as().unwrap();
    let sig = sd
        .signer_infos
        .0
        .get(0)
        .unwrap()
        .signature
        .as_bytes()
        .to_vec();
    assert!(p7s.ends_with(&sig));
    p7s.len() - sig.len()
}

#[test]
fn one_byte_flipped_in_the_signature_value_is_a_bad_signature() {
    let f = Fixture::new();
    let data = firmware_bytes();
    for extra in [&["-nosmimecap"][..], &["-nosmimecap", "-nocerts"]] {
        let sig = sign(&f.file, &f.key, &f.cert, extra);
        let p7s = std::fs::read(sig).unwrap();
        let at = signature_value_at(&p7s);
        for off in [0, 100, 255] {
            let mut bad = p7s.clone();
            bad[at + off] ^= 0x01;
            let (r, msg) = reason(verify(&data, &bad, &f.trust()));
            assert_eq!(r, Reason::BadSignature, "{extra:?} +{off}: {msg}");
            assert!(msg.contains("[sig-bad]"), "{msg}");
        }
    }
    // Signed by an unknown key: with its certificate carried, the kernel
    // verifies the value with it before it looks for a trusted key
    // (pkcs7_verify before pkcs7_validate_trust), so a flipped value is a
    // bad signature; without it, the unknown signer is all it sees.
    let (key, cert) = keypair(f.dir.path(), "someone-else");
    for (extra, want) in [
        (&["-nosmimecap"][..], Reason::BadSignature),
        (&["-nosmimecap", "-nocerts"], Reason::UnknownKey),
    ] {
        let p7s = std::fs::read(sign(&f.file, &key, &cert, extra)).unwrap();
        let mut bad = p7s.clone();
        bad[signature_value_at(&p7s) + 9] ^= 0x10;
        let (r, msg) = reason(verify(&data, &bad, &f.trust()));
        assert_eq!(r, want, "{extra:?}: {msg}");
    }
}

#[test]
fn unknown_key_is_refused() {
    let f = Fixture::new();
    let (other_key, other_cert) = keypair(f.dir.path(), "someone-else");
    let data = firmware_bytes();
    for extra in [
        &["-nosmimecap"][..],
        &["-nosmimecap", "-nocerts"],
        &["-nosmimecap", "-keyid", "-nocerts"],
    ] {
        let sig = sign(&f.file, &other_key, &other_cert, extra);
        let p7s = std::fs::read(sig).unwrap();
        let (r, msg) = reason(verify(&data, &p7s, &f.trust()));
        assert_eq!(r, Reason::UnknownKey, "{extra:?}: {msg}");
        assert!(msg.contains("[sig-unknown-key]"), "{msg}");
        assert!(msg.contains("CN=rtd-amp-test"), "{msg}");
        // Trusted once its certificate is.
        let both = TrustStore::load(&[f.cert.clone(), other_cert.clone()]).unwrap();
        verify(&data, &p7s, &both).unwrap();
    }
    // A certificate with the trusted one's issuer and serial number but
    // another key: the kernel finds the trusted key by issuer and serial
    // number and rejects it for its other subjectKeyIdentifier, and the
    // impostor is self-signed, so unknown (not a bad signature).
    let serial = "0x5eed";
    let pairs: Vec<_> = ["same-a", "same-b"]
        .into_iter()
        .map(|name| keypair_with(f.dir.path(), name, "/CN=same", &["-set_serial", serial]))
        .collect();
    let p7s = std::fs::read(sign(&f.file, &pairs[1].0, &pairs[1].1, &["-nosmimecap"])).unwrap();
    let trust_a = TrustStore::load(std::slice::from_ref(&pairs[0].1)).unwrap();
    let (r, msg) = reason(verify(&data, &p7s, &trust_a));
    assert_eq!(r, Reason::UnknownKey, "{msg}");
    // Without the certificate carried, the signer identifier (issuer and
    // serial number) names the trusted key, whose value check fails.
    let p7s = std::fs::read(sign(
        &f.file,
        &pairs[1].0,
        &pairs[1].1,
        &["-nosmimecap", "-nocerts"],
    ))
    .unwrap();
    let (r, msg) = reason(verify(&data, &p7s, &trust_a));
    assert_eq!(r, Reason::BadSignature, "{msg}");
    // No trusted certificate at all: every signer is unknown.
    let (r, msg) = reason(verify(&data, &f.signed(), &TrustStore::default()));
    assert_eq!(r, Reason::UnknownKey);
    assert!(msg.contains("none configured"), "{msg}");
}

#[test]
fn a_signature_of_another_file_does_not_match() {
    let f = Fixture::new();
    let other = f.dir.path().join("other.elf");
    std::fs::write(&other, b"another firmware").unwrap();
    for extra in [&["-nosmimecap"][..], &["-nosmimecap", "-nocerts"]] {
        let sig = sign(&other, &f.key, &f.cert, extra);
        let p7s = std::fs::read(sig).unwrap();
        let (r, msg) = reason(verify(&firmware_bytes(), &p7s, &f.trust()));
        assert_eq!(r, Reason::Mismatch, "{extra:?}: {msg}");
    }
}

#[test]
fn malformed_signatures_are_refused() {
    let f = Fixture::new();
    let data = firmware_bytes();
    let good = f.signed();
    let at = signature_value_at(&good);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("garbage", b"not a signature at all".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("a byte more", [&good[..], &[0]].concat()),
        ("PEM", {
            let pem = f.dir.path().join("x.pem");
            openssl(&[
                "cms",
                "-sign",
                "-binary",
                "-in",
                f.file.to_str().unwrap(),
                "-signer",
                f.cert.to_str().unwrap(),
                "-inkey",
                f.key.to_str().unwrap(),
                "-md",
                "sha256",
                "-nosmimecap",
                "-outform",
                "PEM",
                "-out",
                pem.to_str().unwrap(),
            ]);
            std::fs::read(pem).unwrap()
        }),
        // the content inside the signature instead of next to it
        (
            "attached",
            std::fs::read(sign(
                &f.file,
                &f.key,
                &f.cert,
                &["-nosmimecap", "-nodetach"],
            ))
            .unwrap(),
        ),
        // no signed attributes (a module-style signature)
        (
            "noattr",
            std::fs::read(sign(&f.file, &f.key, &f.cert, &["-noattr"])).unwrap(),
        ),
        // openssl's default S/MIME capabilities attribute, which the
        // kernel's parser refuses outside Authenticode
        (
            "smimecap",
            std::fs::read(sign(&f.file, &f.key, &f.cert, &[])).unwrap(),
        ),
        // a digest other than SHA-256
        (
            "sha1",
            std::fs::read(sign(
                &f.file,
                &f.key,
                &f.cert,
                &["-nosmimecap", "-md", "sha1"],
            ))
            .unwrap(),
        ),
    ];
    // The outer SEQUENCE tag changed.
    let mut t = good.clone();
    t[0] = 0x31;
    cases.push(("outer tag", t));
    // The signature value's OCTET STRING length changed.
    let mut t = good.clone();
    t[at - 1] ^= 0x01;
    cases.push(("length", t));
    for (what, p7s) in cases {
        let (r, msg) = reason(verify(&data, &p7s, &f.trust()));
        assert_eq!(r, Reason::Malformed, "{what}: {msg}");
        assert!(msg.contains("[sig-malformed]"), "{msg}");
        assert!(msg.contains("rtd-amp-sign-fw"), "{msg}");
    }
}

#[test]
fn unsigned_is_refused_only_when_enforced() {
    let f = Fixture::new();
    let data = firmware_bytes();
    let sig = fwsig::sig_path(&f.file);
    assert!(!sig.exists());
    let on = Enforcement {
        enforced: true,
        by: "the test".into(),
    };
    let off = Enforcement {
        enforced: false,
        by: "the test".into(),
    };
    let e = check_signature(&data, &sig, &f.trust(), &on).unwrap_err();
    assert_eq!(e.reason(), Some(Reason::Unsigned), "{e}");
    assert!(e.to_string().contains("[sig-unsigned]"), "{e}");
    assert!(e.to_string().contains("rtd-amp-sign-fw"), "{e}");
    assert!(matches!(
        check_signature(&data, &sig, &f.trust(), &off).unwrap(),
        SigStatus::Unsigned { .. }
    ));
    // A present signature is verified whether enforced or not.
    f.signed();
    assert!(matches!(
        check_signature(&data, &sig, &f.trust(), &off).unwrap(),
        SigStatus::Verified { .. }
    ));
    let mut bad = data.clone();
    bad[0] ^= 1;
    for e in [&on, &off] {
        let err = check_signature(&bad, &sig, &f.trust(), e).unwrap_err();
        assert_eq!(err.reason(), Some(Reason::Mismatch), "{err}");
    }
}

/// A DTB with the remoteproc node, with or without the enforcing property.
fn dtb(dir: &Path, forced: bool) -> PathBuf {
    let src = format!(
        "/dts-v1/;\n/ {{ #address-cells = <2>; #size-cells = <2>;\n\
         reserved-memory {{ #address-cells = <2>; #size-cells = <2>; ranges;\n\
         fw: firmware@70000000 {{ reg = <0 0x70000000 0 0x400000>; no-map; }}; }};\n\
         rproc {{ compatible = \"{}\"; memory-region = <&fw>; {} }}; }};\n",
        amp_host::fwcheck::RPROC_COMPATIBLE,
        if forced {
            format!("{};", fwsig::SIG_ENFORCE_DT_PROP)
        } else {
            String::new()
        }
    );
    let dts = dir.join("t.dts");
    let out = dir.join(if forced { "forced.dtb" } else { "t.dtb" });
    std::fs::write(&dts, src).unwrap();
    let st = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(&dts)
        .status()
        .expect("dtc (scripts/setup-host installs it)");
    assert!(st.success());
    out
}

#[test]
fn enforcement_follows_the_kernel_driver_then_the_dt_then_the_configuration() {
    let d = tempfile::tempdir().unwrap();
    let sys = Sys::under(d.path());
    let plain = std::fs::read(dtb(d.path(), false)).unwrap();
    let forced = std::fs::read(dtb(d.path(), true)).unwrap();
    // Driver not loaded: the configuration decides.
    assert!(!enforcement(&sys, Some(&plain), false).enforced);
    let e = enforcement(&sys, Some(&plain), true);
    assert!(e.enforced && e.by.contains("configuration"), "{e:?}");
    // The driver's parameter, either way, over the configuration.
    let param = d.path().join("sys").join(fwsig::SIG_ENFORCE_PARAM);
    std::fs::create_dir_all(param.parent().unwrap()).unwrap();
    std::fs::write(&param, "N\n").unwrap();
    assert!(!enforcement(&sys, Some(&plain), true).enforced);
    std::fs::write(&param, "Y\n").unwrap();
    let e = enforcement(&sys, Some(&plain), false);
    assert!(e.enforced && e.by.contains("sig_enforce=Y"), "{e:?}");
    // The DT property forces it on whatever the parameter says...
    std::fs::write(&param, "N\n").unwrap();
    let e = enforcement(&sys, Some(&forced), false);
    assert!(e.enforced && e.by.contains("device tree"), "{e:?}");
    // ...also seen through the live tree (of_node of the remoteproc).
    let of = d
        .path()
        .join("sys/class/remoteproc/remoteproc0/device/of_node");
    std::fs::create_dir_all(&of).unwrap();
    std::fs::write(
        of.join("compatible"),
        format!("{}\0", amp_host::fwcheck::RPROC_COMPATIBLE),
    )
    .unwrap();
    assert!(!enforcement(&sys, Some(&plain), false).enforced);
    std::fs::write(of.join(fwsig::SIG_ENFORCE_DT_PROP), b"").unwrap();
    assert!(enforcement(&sys, Some(&plain), false).enforced);
}

#[test]
fn check_files_checks_the_signature_first() {
    let f = Fixture::new();
    let d = f.dir.path();
    let t = dtb(d, false);
    let sys = Sys::under(d);
    let cfg = SigConfig {
        certs: vec![f.cert.clone()],
        require: true,
        sig: None,
    };
    // Unsigned, enforced by the configuration (no driver here): refused for
    // its signature before the ELF rules (which this file breaks too).
    let e = check_files(&f.file, Some(&t), &sys, &cfg).unwrap_err();
    assert_eq!(e.sig_reason(), Some(Reason::Unsigned), "{e}");
    assert_eq!(e.rule(), Some("sig-unsigned"), "{e}");
    assert!(matches!(e, CheckError::Signature { .. }));
    // Signed: the signature passes, then the ELF rules refuse this file.
    f.signed();
    let e = check_files(&f.file, Some(&t), &sys, &cfg).unwrap_err();
    assert_eq!(e.rule(), Some("elf-magic"), "{e}");
    // An unreadable trusted certificate is a configuration error, named.
    let cfg = SigConfig {
        certs: vec![d.join("missing.pem")],
        ..cfg
    };
    let e = check_files(&f.file, Some(&t), &sys, &cfg).unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
    assert_eq!(e.sig_reason(), None);
    assert_eq!(e.rule(), None);
}
