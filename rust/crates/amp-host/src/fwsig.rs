//! Firmware signatures: a detached CMS (PKCS#7) SignedData next to the
//! firmware, `<firmware>.p7s`, over the exact bytes of the file, verified
//! the way the kernel driver verifies it (`verify_pkcs7_signature()` in
//! rtd_amp_rproc.c; docs/kernel.md, "Firmware signatures"): the same checks
//! in the same order, so a file the kernel refuses is refused here for the
//! same reason ([`Reason`], the `[sig-...]` rule of its dmesg line).
//!
//! What the kernel checks, and so this module (crypto/asymmetric_keys/
//! pkcs7_parser.c, pkcs7_verify.c, pkcs7_trust.c in 6.1 and 6.12):
//!
//! * `sig-malformed`: the message is a SignedData (version 1 or 3, each
//!   SignerInfo's version matching its signer identifier) whose content
//!   type is `id-data` and whose content is detached; every signer uses RSA
//!   (`rsaEncryption`, PKCS#1 v1.5) with SHA-256, the algorithms the layer
//!   signs with and both kernel series verify; it carries signed attributes
//!   (a firmware signature must) with exactly one `contentType` (`id-data`)
//!   and one 32-byte `messageDigest`, at most one `signingTime`, and no
//!   S/MIME capabilities or Authenticode attributes;
//! * `sig-mismatch`: the `messageDigest` is the SHA-256 of the file;
//! * `sig-bad`: a certificate the message carries for the signer (same
//!   issuer and serial number) verifies the signature over the signed
//!   attributes, and the signing time lies in its validity;
//! * `sig-unknown-key`: the signer is a trusted certificate, found by the
//!   message's signer certificate (issuer and serial number, and its
//!   subjectKeyIdentifier when it has one) or, when the message carries no
//!   such certificate, directly by the signer identifier (issuer and serial
//!   number, or subjectKeyIdentifier); then `sig-bad` again if that
//!   certificate's key does not verify the signature.
//!
//! The driver tells `sig-mismatch` from `sig-bad` by the messageDigest
//! attribute (both are `-EKEYREJECTED` from the kernel): this module checks
//! the digest before any signature value, as `pkcs7_verify()` does, so both
//! sides name the same reason.
//!
//! Differences, all in the direction of refusing more: the kernel also
//! trusts the keys of its built-in and secondary keyrings, which user space
//! cannot read (list their certificates as trusted certificates here), it
//! follows a chain of intermediate certificates carried in the message to a
//! trusted key (here the signer's own certificate must be trusted), it
//! accepts BER and the SHA-1/SHA-384/SHA-512 digests (here: DER, SHA-256, as
//! `rtd-amp-sign-fw` produces).

use std::fmt;
use std::path::{Path, PathBuf};

use cms::cert::CertificateChoices;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::{rfc5911, rfc5912};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::Certificate;

use crate::Sys;

/// The signature of `FILE` is `FILE` + this.
pub const SIG_SUFFIX: &str = ".p7s";

/// Where the layer installs the certificate firmware is signed with (the one
/// built into the kernel driver): rtd-amp-tools-daemon's
/// `/etc/rtd-amp/fw-signing.pem`.
pub const DEFAULT_CERT: &str = "/etc/rtd-amp/fw-signing.pem";

/// The kernel driver's enforcement switch (a module parameter, `Y`/`N`).
pub const SIG_ENFORCE_PARAM: &str = "module/rtd_amp_rproc/parameters/sig_enforce";

/// The device-tree property of the remoteproc node that forces enforcement.
pub const SIG_ENFORCE_DT_PROP: &str = "realtek,firmware-signature-required";

// Authenticode attributes the kernel refuses outside Authenticode.
const MS_SP_OPUS_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.12");
const MS_STATEMENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.1.11");

/// Why a signature was refused: the reasons the kernel driver names in its
/// `refused [sig-...]` dmesg line for the same file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Reason {
    /// No `<firmware>.p7s` while signatures are enforced.
    Unsigned,
    /// The `.p7s` is not a firmware signature the kernel can use (not DER
    /// SignedData, attached content, another algorithm, no or bad signed
    /// attributes).
    Malformed,
    /// No trusted certificate for the signer.
    UnknownKey,
    /// The signature value does not verify with the signer's key (the
    /// `.p7s` was changed).
    BadSignature,
    /// The signature is not over this file: its messageDigest is not the
    /// SHA-256 of the file (the file was changed, or it is another file's
    /// signature).
    Mismatch,
}

impl Reason {
    /// The rule id of the kernel's dmesg line (`refused [sig-...]`).
    pub fn rule(self) -> &'static str {
        match self {
            Reason::Unsigned => "sig-unsigned",
            Reason::Malformed => "sig-malformed",
            Reason::UnknownKey => "sig-unknown-key",
            Reason::BadSignature => "sig-bad",
            Reason::Mismatch => "sig-mismatch",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule())
    }
}

/// A signature that does not verify, or trusted certificates that cannot
/// be used. Each message names the kernel's rule and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SigError {
    /// No signature file, and signatures are enforced.
    #[error("refused [sig-unsigned]: {} does not exist and {enforced_by} enforces signatures; sign the firmware (rtd-amp-sign-fw --key KEY --cert CERT FIRMWARE) with the key of a trusted certificate", sig.display())]
    Unsigned {
        /// The signature file looked for.
        sig: PathBuf,
        /// Who enforces (the module parameter, the device tree, the
        /// configuration).
        enforced_by: String,
    },
    /// Not a firmware signature the kernel can use.
    #[error("refused [sig-malformed]: {detail}; sign the firmware again with rtd-amp-sign-fw (detached DER CMS, RSA with SHA-256, signed attributes without S/MIME capabilities)")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// The signer is not trusted.
    #[error("refused [sig-unknown-key]: signed by {signer}, which is none of the trusted certificates ({trusted}); sign with the key of a trusted certificate, or trust the signer's certificate (rtd-ampd.toml [firmware] signing_certs, ampctl check --cert, and the kernel driver's RTD_AMP_FW_CERTS)")]
    UnknownKey {
        /// The signer identifier.
        signer: String,
        /// The trusted certificates.
        trusted: String,
    },
    /// The signature value does not verify.
    #[error(
        "refused [sig-bad]: {detail}; the .p7s was changed after signing: sign the firmware again"
    )]
    BadSignature {
        /// What did not verify.
        detail: String,
    },
    /// The signature is over another content.
    #[error("refused [sig-mismatch]: {detail}; the file changed after signing, or the .p7s belongs to another file: sign this file again")]
    Mismatch {
        /// What did not match.
        detail: String,
    },
    /// A trusted certificate file is unreadable or unusable.
    #[error("trusted certificate {}: {detail}", path.display())]
    Cert {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// File.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl SigError {
    /// The kernel's reason for this refusal (`None` for a local problem:
    /// an unreadable file or an unusable trusted certificate).
    pub fn reason(&self) -> Option<Reason> {
        match self {
            SigError::Unsigned { .. } => Some(Reason::Unsigned),
            SigError::Malformed { .. } => Some(Reason::Malformed),
            SigError::UnknownKey { .. } => Some(Reason::UnknownKey),
            SigError::BadSignature { .. } => Some(Reason::BadSignature),
            SigError::Mismatch { .. } => Some(Reason::Mismatch),
            SigError::Cert { .. } | SigError::Read { .. } => None,
        }
    }
}

fn malformed(detail: impl Into<String>) -> SigError {
    SigError::Malformed {
        detail: detail.into(),
    }
}

fn mismatch(detail: impl Into<String>) -> SigError {
    SigError::Mismatch {
        detail: detail.into(),
    }
}

fn bad(detail: impl Into<String>) -> SigError {
    SigError::BadSignature {
        detail: detail.into(),
    }
}

/// A trusted certificate: its RSA key and the identifiers the kernel finds
/// a key by (issuer and serial number, subjectKeyIdentifier).
#[derive(Clone, Debug)]
pub struct Trusted {
    /// Where it came from (file, and index in a PEM bundle).
    pub origin: String,
    /// Its subject.
    pub subject: String,
    cert: Certificate,
    key: RsaPublicKey,
    skid: Option<Vec<u8>>,
}

fn skid_of(cert: &Certificate) -> Result<Option<Vec<u8>>, String> {
    let id = const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id == id {
            let skid = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes())
                .map_err(|e| format!("subjectKeyIdentifier: {e}"))?;
            return Ok(Some(skid.0.as_bytes().to_vec()));
        }
    }
    Ok(None)
}

fn rsa_key(cert: &Certificate) -> Result<RsaPublicKey, String> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != rfc5912::RSA_ENCRYPTION {
        return Err(format!(
            "its key is {}, not RSA (the kernel driver verifies RSA signatures)",
            spki.algorithm.oid
        ));
    }
    let der = spki.to_der().map_err(|e| e.to_string())?;
    RsaPublicKey::from_public_key_der(&der).map_err(|e| format!("RSA key: {e}"))
}

impl Trusted {
    /// A certificate, DER.
    pub fn from_der(der: &[u8], origin: &str) -> Result<Trusted, String> {
        let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
        Trusted::from_cert(cert, origin)
    }

    fn from_cert(cert: Certificate, origin: &str) -> Result<Trusted, String> {
        Ok(Trusted {
            origin: origin.to_string(),
            subject: cert.tbs_certificate.subject.to_string(),
            key: rsa_key(&cert)?,
            skid: skid_of(&cert)?,
            cert,
        })
    }
}

/// The trusted certificates.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    /// In the order given.
    pub certs: Vec<Trusted>,
}

impl TrustStore {
    /// Certificates from files, each DER or PEM (a PEM file may hold
    /// several).
    pub fn load(paths: &[PathBuf]) -> Result<TrustStore, SigError> {
        let mut certs = vec![];
        for path in paths {
            let bytes = std::fs::read(path).map_err(|source| SigError::Read {
                path: path.clone(),
                source,
            })?;
            let bad = |detail: String| SigError::Cert {
                path: path.clone(),
                detail,
            };
            if bytes.starts_with(b"-----BEGIN") || bytes.starts_with(b"\n-----BEGIN") {
                let chain = Certificate::load_pem_chain(&bytes).map_err(|e| bad(e.to_string()))?;
                if chain.is_empty() {
                    return Err(bad("no certificate in the PEM file".into()));
                }
                for (i, c) in chain.into_iter().enumerate() {
                    let origin = format!("{}#{}", path.display(), i + 1);
                    certs.push(Trusted::from_cert(c, &origin).map_err(bad)?);
                }
            } else {
                certs.push(Trusted::from_der(&bytes, &path.display().to_string()).map_err(bad)?);
            }
        }
        Ok(TrustStore { certs })
    }

    fn describe(&self) -> String {
        if self.certs.is_empty() {
            return "none configured".into();
        }
        self.certs
            .iter()
            .map(|t| format!("{} ({})", t.subject, t.origin))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who signed a file that verified.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// Subject of the trusted certificate.
    pub subject: String,
    /// Its file.
    pub origin: String,
}

/// One SignerInfo, digested as `pkcs7_digest()` does.
struct Sinfo<'a> {
    si: &'a SignerInfo,
    /// What the signature covers: SHA-256 of the file, or of the signed
    /// attributes as a SET.
    digest: [u8; 32],
    signing_time: Option<std::time::Duration>,
}

fn sid_string(sid: &SignerIdentifier) -> String {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(i) => {
            format!("issuer {} serial {}", i.issuer, i.serial_number)
        }
        SignerIdentifier::SubjectKeyIdentifier(s) => {
            format!("subjectKeyIdentifier {:02x?}", s.0.as_bytes())
        }
    }
}

/// Parses the message: the checks of `pkcs7_parse_message()` (and of
/// `pkcs7_supply_detached_data()`: the content must be detached).
fn parse(p7s: &[u8]) -> Result<SignedData, SigError> {
    let ci = ContentInfo::from_der(p7s).map_err(|e| malformed(format!("not DER CMS: {e}")))?;
    // DER only: the signed attributes are hashed as encoded, so what is
    // hashed below must be the bytes of the file.
    if ci.to_der().ok().as_deref() != Some(p7s) {
        return Err(malformed("not in DER (distinguished) encoding"));
    }
    if ci.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(malformed(format!(
            "content type {} is not signedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| malformed(format!("SignedData: {e}")))?;
    if sd.version != CmsVersion::V1 && sd.version != CmsVersion::V3 {
        return Err(malformed(format!(
            "SignedData version {:?} (1 or 3 expected)",
            sd.version
        )));
    }
    if sd.encap_content_info.econtent_type != rfc5911::ID_DATA {
        return Err(malformed(format!(
            "content type {} is not id-data",
            sd.encap_content_info.econtent_type
        )));
    }
    if sd.encap_content_info.econtent.is_some() {
        return Err(malformed(
            "the signature carries its content (a detached signature is expected)",
        ));
    }
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if !matches!(c, CertificateChoices::Certificate(_)) {
            return Err(malformed("a certificate of another format than X.509"));
        }
    }
    for (i, si) in sd.signer_infos.0.iter().enumerate() {
        let n = i + 1;
        match (si.version, &si.sid) {
            (CmsVersion::V1, SignerIdentifier::IssuerAndSerialNumber(_))
                if sd.version == CmsVersion::V1 || sd.version == CmsVersion::V3 => {}
            (CmsVersion::V3, SignerIdentifier::SubjectKeyIdentifier(_))
                if sd.version == CmsVersion::V3 => {}
            (v, _) => {
                return Err(malformed(format!(
                    "signer {n}: SignerInfo version {v:?} does not fit its signer identifier or SignedData version {:?}",
                    sd.version
                )))
            }
        }
        if si.digest_alg.oid != rfc5912::ID_SHA_256 {
            return Err(malformed(format!(
                "signer {n}: digest algorithm {} (SHA-256 expected)",
                si.digest_alg.oid
            )));
        }
        if si.signature_algorithm.oid != rfc5912::RSA_ENCRYPTION {
            return Err(malformed(format!(
                "signer {n}: signature algorithm {} (rsaEncryption expected)",
                si.signature_algorithm.oid
            )));
        }
    }
    Ok(sd)
}

/// The signed attributes' rules of `pkcs7_sig_note_authenticated_attr()`
/// and `pkcs7_sig_note_set_of_authattrs()`, then the digest of
/// `pkcs7_digest()`.
fn digest(si: &SignerInfo, n: usize, data_digest: [u8; 32]) -> Result<Sinfo<'_>, SigError> {
    // A firmware signature (VERIFYING_FIRMWARE_SIGNATURE) must carry them:
    // the messageDigest attribute is what tells another file's signature
    // from a damaged one.
    let Some(attrs) = &si.signed_attrs else {
        return Err(malformed(format!(
            "signer {n}: no signed attributes (a firmware signature carries contentType and messageDigest; openssl cms -sign without -noattr)"
        )));
    };
    let (mut content_type, mut msg_digest, mut signing_time) = (false, None, None);
    let mut seen: Vec<ObjectIdentifier> = vec![];
    for a in attrs.iter() {
        let known = [
            rfc5911::ID_CONTENT_TYPE,
            rfc5911::ID_SIGNING_TIME,
            rfc5911::ID_MESSAGE_DIGEST,
            rfc5911::SMIME_CAPABILITIES,
            MS_SP_OPUS_INFO,
            MS_STATEMENT_TYPE,
        ];
        if !known.contains(&a.oid) {
            continue;
        }
        if seen.contains(&a.oid) || a.values.len() != 1 {
            return Err(malformed(format!(
                "signer {n}: signed attribute {} repeated or multi-valued",
                a.oid
            )));
        }
        seen.push(a.oid);
        let v = a.values.iter().next().expect("one value");
        if a.oid == rfc5911::ID_CONTENT_TYPE {
            let ct: ObjectIdentifier = v
                .decode_as()
                .map_err(|e| malformed(format!("signer {n}: contentType attribute: {e}")))?;
            if ct != rfc5911::ID_DATA {
                return Err(malformed(format!(
                    "signer {n}: contentType attribute {ct} is not id-data"
                )));
            }
            content_type = true;
        } else if a.oid == rfc5911::ID_SIGNING_TIME {
            let t = v
                .to_der()
                .and_then(|der| x509_cert::time::Time::from_der(&der))
                .map_err(|e| malformed(format!("signer {n}: signingTime attribute: {e}")))?;
            signing_time = Some(t.to_unix_duration());
        } else if a.oid == rfc5911::ID_MESSAGE_DIGEST {
            let d: OctetString = v.decode_as().map_err(|e| {
                malformed(format!(
                    "signer {n}: messageDigest attribute is not an OCTET STRING: {e}"
                ))
            })?;
            msg_digest = Some(d.as_bytes().to_vec());
        } else {
            return Err(malformed(format!(
                "signer {n}: signed attribute {} is only allowed in Authenticode signatures (openssl cms -sign needs -nosmimecap)",
                a.oid
            )));
        }
    }
    let Some(msg_digest) = msg_digest.filter(|_| content_type) else {
        return Err(malformed(format!(
            "signer {n}: signed attributes without contentType and messageDigest"
        )));
    };
    if msg_digest.len() != data_digest.len() {
        return Err(malformed(format!(
            "signer {n}: messageDigest of {} bytes (SHA-256: 32)",
            msg_digest.len()
        )));
    }
    if msg_digest != data_digest {
        return Err(mismatch(format!(
            "signer {n}: the messageDigest attribute is not the SHA-256 of this file"
        )));
    }
    // The attributes are hashed as a SET (the [0] IMPLICIT tag replaced).
    let set = attrs
        .to_der()
        .map_err(|e| malformed(format!("signer {n}: signed attributes: {e}")))?;
    Ok(Sinfo {
        si,
        digest: Sha256::digest(&set).into(),
        signing_time,
    })
}

fn rsa_verify(key: &RsaPublicKey, s: &Sinfo<'_>) -> bool {
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &s.digest,
        s.si.signature.as_bytes(),
    )
    .is_ok()
}

fn same_issuer_serial(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(i) => {
            cert.tbs_certificate.issuer == i.issuer
                && cert.tbs_certificate.serial_number == i.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(_) => false,
    }
}

/// `pkcs7_validate_trust_one()`: the trusted certificate for a signer and
/// whether its key verifies the signature. `Ok(None)`: no trusted key.
fn trust_one<'t>(
    s: &Sinfo<'_>,
    signer_cert: Option<&Certificate>,
    trust: &'t TrustStore,
    n: usize,
) -> Result<Option<&'t Trusted>, SigError> {
    let found = if let Some(cert) = signer_cert {
        // The message's signer certificate is one we trust:
        // find_asymmetric_key(keyring, x509->id, x509->skid) looks the key
        // up by issuer and serial number, then rejects it unless its
        // subjectKeyIdentifier is the certificate's too (when it has one)...
        let skid = skid_of(cert).map_err(malformed)?;
        let by_cert = trust.certs.iter().find(|t| {
            t.cert.tbs_certificate.issuer == cert.tbs_certificate.issuer
                && t.cert.tbs_certificate.serial_number == cert.tbs_certificate.serial_number
                && (skid.is_none() || t.skid == skid)
        });
        match by_cert {
            Some(t) => Some(t),
            // ...else an unknown self-signed certificate is refused.
            None if cert.tbs_certificate.issuer == cert.tbs_certificate.subject => return Ok(None),
            None => None,
        }
    } else {
        None
    };
    // As a last resort, a trusted key matching the signer identifier.
    let found = found.or_else(|| {
        trust.certs.iter().find(|t| match &s.si.sid {
            SignerIdentifier::IssuerAndSerialNumber(_) => same_issuer_serial(&t.cert, &s.si.sid),
            SignerIdentifier::SubjectKeyIdentifier(k) => t.skid.as_deref() == Some(k.0.as_bytes()),
        })
    });
    match found {
        None => Ok(None),
        Some(t) if rsa_verify(&t.key, s) => Ok(Some(t)),
        Some(t) => Err(bad(format!(
            "signer {n}: the key of the trusted certificate {} ({}) does not verify the signature",
            t.subject, t.origin
        ))),
    }
}

/// Verifies a detached signature over `data`, as
/// `verify_pkcs7_signature()` with the kernel driver's trusted keys.
pub fn verify(data: &[u8], p7s: &[u8], trust: &TrustStore) -> Result<Signer, SigError> {
    let sd = parse(p7s)?;
    if sd.signer_infos.0.is_empty() {
        return Err(malformed("no signer"));
    }
    let certs: Vec<&Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let data_digest: [u8; 32] = Sha256::digest(data).into();
    // pkcs7_verify(): every signer is internally consistent.
    let mut sinfos = vec![];
    for (i, si) in sd.signer_infos.0.iter().enumerate() {
        let n = i + 1;
        let s = digest(si, n, data_digest)?;
        let signer_cert = certs
            .iter()
            .copied()
            .find(|c| same_issuer_serial(c, &si.sid));
        if let Some(cert) = signer_cert {
            let validity = &cert.tbs_certificate.validity;
            if let Some(t) = s.signing_time {
                if t < validity.not_before.to_unix_duration()
                    || t > validity.not_after.to_unix_duration()
                {
                    return Err(bad(format!(
                        "signer {n}: signed outside the validity of its certificate {}",
                        cert.tbs_certificate.subject
                    )));
                }
            }
            let ok = rsa_key(cert).is_ok_and(|k| rsa_verify(&k, &s));
            if !ok {
                return Err(bad(format!(
                    "signer {n}: the signature does not verify with the signer's certificate {} carried in the .p7s",
                    cert.tbs_certificate.subject
                )));
            }
        }
        sinfos.push((s, signer_cert));
    }
    // pkcs7_validate_trust(): one signer with a trusted key suffices.
    for (i, (s, cert)) in sinfos.iter().enumerate() {
        if let Some(t) = trust_one(s, *cert, trust, i + 1)? {
            return Ok(Signer {
                subject: t.subject.clone(),
                origin: t.origin.clone(),
            });
        }
    }
    Err(SigError::UnknownKey {
        signer: sinfos
            .iter()
            .map(|(s, _)| sid_string(&s.si.sid))
            .collect::<Vec<_>>()
            .join("; "),
        trusted: trust.describe(),
    })
}

/// Whether the kernel driver enforces signatures, and who says so.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Enforcement {
    /// Unsigned firmware is refused.
    pub enforced: bool,
    /// Why: `sig_enforce parameter`, `device tree`, `configuration`.
    pub by: String,
}

/// Enforcement as the kernel driver applies it: the device-tree property
/// of the remoteproc node (in `dtb`, or the live tree's of_node under
/// /sys/class/remoteproc) forces it on; else the driver's `sig_enforce`
/// parameter when the module is loaded; else `configured` (the
/// configuration's choice, for a system whose driver is not loaded).
pub fn enforcement(sys: &Sys, dtb: Option<&[u8]>, configured: bool) -> Enforcement {
    if dt_forces(sys, dtb) {
        return Enforcement {
            enforced: true,
            by: format!("the device tree ({SIG_ENFORCE_DT_PROP})"),
        };
    }
    if let Ok(v) = std::fs::read_to_string(sys.sysfs.join(SIG_ENFORCE_PARAM)) {
        let on = matches!(v.trim(), "Y" | "y" | "1");
        return Enforcement {
            enforced: on,
            by: format!("the kernel driver (rtd_amp_rproc.sig_enforce={})", v.trim()),
        };
    }
    Enforcement {
        enforced: configured,
        by: "the configuration (the kernel driver is not loaded)".into(),
    }
}

fn dt_forces(sys: &Sys, dtb: Option<&[u8]>) -> bool {
    if let Some(node) = dtb.and_then(|b| fdt::Fdt::new(b).ok()).and_then(|f| {
        f.find_compatible(&[crate::fwcheck::RPROC_COMPATIBLE])
            .map(|n| n.property(SIG_ENFORCE_DT_PROP).is_some())
    }) {
        if node {
            return true;
        }
    }
    let Ok(dir) = std::fs::read_dir(sys.remoteproc_class()) else {
        return false;
    };
    dir.flatten().any(|e| {
        let of = e.path().join("device/of_node");
        std::fs::read(of.join("compatible")).is_ok_and(|c| {
            c.split(|&b| b == 0)
                .any(|s| s == crate::fwcheck::RPROC_COMPATIBLE.as_bytes())
        }) && of.join(SIG_ENFORCE_DT_PROP).exists()
    })
}

/// What the signature check found for a firmware file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "signature")]
pub enum SigStatus {
    /// Signed by a trusted certificate.
    Verified {
        /// The signature file.
        file: PathBuf,
        /// Who signed it.
        signer: Signer,
    },
    /// No signature file, and signatures are not enforced.
    Unsigned {
        /// The signature file looked for.
        file: PathBuf,
        /// Who does not enforce them.
        by: String,
    },
}

impl fmt::Display for SigStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigStatus::Verified { file, signer } => write!(
                f,
                "signature {}: signed by {} ({})",
                file.display(),
                signer.subject,
                signer.origin
            ),
            SigStatus::Unsigned { file, by } => write!(
                f,
                "signature: none ({} does not exist; not enforced by {by})",
                file.display()
            ),
        }
    }
}

/// Checks the signature of the file `data` was read from: `sig` (its
/// `.p7s`) if it exists, else refused as unsigned when `enforcement` says
/// so. A present signature is always verified.
pub fn check_signature(
    data: &[u8],
    sig: &Path,
    trust: &TrustStore,
    enforcement: &Enforcement,
) -> Result<SigStatus, SigError> {
    match std::fs::read(sig) {
        Ok(p7s) => Ok(SigStatus::Verified {
            file: sig.to_path_buf(),
            signer: verify(data, &p7s, trust)?,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if enforcement.enforced {
                Err(SigError::Unsigned {
                    sig: sig.to_path_buf(),
                    enforced_by: enforcement.by.clone(),
                })
            } else {
                Ok(SigStatus::Unsigned {
                    file: sig.to_path_buf(),
                    by: enforcement.by.clone(),
                })
            }
        }
        // The kernel refuses a signature it cannot read as malformed.
        Err(e) => Err(malformed(format!("cannot read {}: {e}", sig.display()))),
    }
}

/// The default trusted certificate below `root` (`/` on a target), when it
/// exists: an image without it trusts nothing, so a signed firmware is
/// refused as signed by an unknown key.
pub fn default_certs(root: &Path) -> Vec<PathBuf> {
    let p = root.join(DEFAULT_CERT.trim_start_matches('/'));
    if p.exists() {
        vec![p]
    } else {
        vec![]
    }
}

/// `FILE.p7s`.
pub fn sig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(SIG_SUFFIX);
    PathBuf::from(s)
}
