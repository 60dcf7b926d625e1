//! Writes the firmware's linker script for the board and puts it on the
//! link search path of every crate that depends on this one (bare-metal
//! builds only): an application's build script adds `-Tlink.x`.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=link.x.in");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return;
    }
    // The AMP windows of board.rs (QEMU_VIRT.window, RTD1619B.window); a
    // host test (tests in board.rs) checks they agree.
    let origin = if env::var_os("CARGO_FEATURE_BOARD_RTD1619B").is_some() {
        "0x32000000"
    } else {
        "0x70000000"
    };
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let script = fs::read_to_string("link.x.in").expect("link.x.in");
    fs::write(out.join("link.x"), script.replace("@ORIGIN@", origin)).expect("write link.x");
    println!("cargo:rustc-link-search={}", out.display());
}
