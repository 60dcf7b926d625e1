//! amp-host's firmware signature check (fwsig, the kernel driver's
//! verify_pkcs7_signature() rules) on hostile `.p7s` files and trusted
//! certificates: it must accept or refuse with one of the kernel's reasons,
//! never panic, and accept only a signature by the trusted certificate.
//!
//! Input: a big-endian u16 N, N bytes of DER certificate (the trusted
//! one), then the `.p7s`. The signed content is fixed ([`DATA`]).
//! scripts/checks/15-fuzz.sh seeds the corpus with real signatures of
//! [`DATA`] made by openssl at run time (keys are never committed).
#![no_main]

use amp_host::fwsig::{verify, TrustStore, Trusted};
use libfuzzer_sys::fuzz_target;

/// The firmware bytes every signature is checked against.
const DATA: &[u8] = b"rtd-amp fw_sig fuzz firmware\n";

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_be_bytes([data[0], data[1]])).min(data.len() - 2);
    let (cert, p7s) = data[2..].split_at(n);
    let trust = TrustStore {
        certs: Trusted::from_der(cert, "fuzz").into_iter().collect(),
    };
    match verify(DATA, p7s, &trust) {
        Ok(signer) => {
            assert_eq!(
                trust.certs.len(),
                1,
                "accepted without a trusted certificate"
            );
            assert_eq!(signer.subject, trust.certs[0].subject);
        }
        Err(e) => assert!(e.reason().is_some(), "refused without a reason: {e}"),
    }
});
