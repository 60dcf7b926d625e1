//! Links with the runtime's linker script, which rtd-amp-rt's build script
//! writes for the board (bare-metal builds only).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
    }
}
