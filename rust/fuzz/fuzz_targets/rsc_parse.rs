//! The resource-table validator on arbitrary bytes: it must return a
//! table or an error, never panic, and every entry of an accepted table
//! must lie inside the input.
#![no_main]

use amp_proto::rsc::{self, Entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = rsc::parse(data) {
        for (off, e) in t.entries() {
            assert!(off + 4 <= data.len(), "entry at {off} outside the table");
            if let Entry::Vdev { vrings, .. } = e {
                assert!(vrings.len() <= rsc::MAX_VRINGS);
            }
        }
    }
});
