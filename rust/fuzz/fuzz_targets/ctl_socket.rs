//! rtd-ampd's control-socket protocol on arbitrary client input, as the
//! daemon reads it: the line splitter with its 4096-byte limit, the JSON
//! request parser and the role check. It must never panic; a read-only
//! connection never reaches the supervisor with a request that changes
//! state; whatever reaches it survives a serialisation round trip; every
//! reply is exactly one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtd_ampd::protocol::{Reply, Request};
use rtd_ampd::server::{answer, read_line_limited, reply_line, Line, Policy, Role, MAX_LINE};
use std::io::BufReader;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let policy = Policy {
        app: None,
        admin: None,
        max_clients: 1,
        client_timeout: Duration::from_secs(1),
    };
    // The first byte picks the role and the reader's buffer size (lines
    // then arrive in pieces of every size).
    let (role, cap) = match data.first() {
        Some(b) => (
            if b & 1 == 1 {
                Role::Admin
            } else {
                Role::ReadOnly
            },
            1 + usize::from(b >> 1),
        ),
        None => (Role::ReadOnly, 64),
    };
    let mut r = BufReader::with_capacity(cap, data.get(1..).unwrap_or_default());
    loop {
        let line = match read_line_limited(&mut r, MAX_LINE).unwrap() {
            Line::Eof | Line::TooLong => break,
            Line::Line(l) => l,
        };
        assert!(line.len() < MAX_LINE && !line.contains(&b'\n'));
        let mut reached = None;
        let reply = answer(&line, role, &policy, |req| {
            reached = Some(req.clone());
            Reply::ok(Vec::new())
        });
        match reached {
            Some(req) => {
                assert!(role == Role::Admin || req.is_read_only(), "{req:?}");
                let text = serde_json::to_string(&req).unwrap();
                assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), req);
            }
            None => assert!(!reply.ok),
        }
        let text = reply_line(&reply);
        assert!(text.ends_with('\n') && !text[..text.len() - 1].contains('\n'));
    }
});
