# Offline, vendored cargo builds with meta-rust-bin's toolchain.
#
# meta-rust-bin's cargo_bin class lets cargo download crates during
# do_compile. This class makes cargo use only the crates that BitBake
# fetched from the recipe's crate:// SRC_URI entries (the crate fetcher
# unpacks them into ${WORKDIR}/cargo_home/bitbake with the
# .cargo-checksum.json a directory source needs) and turns the network off,
# so a build never reaches crates.io after do_fetch.
#
# A recipe inheriting this sets RTD_AMP_CARGO_LOCK to its Cargo.lock; the
# crate list is checked against it before cargo runs, naming the crates that
# SRC_URI lacks. The lists (*-crates.inc) are generated from the lock files
# by scripts/update-crate-lists in the layer.

RTD_AMP_CARGO_VENDOR_DIR = "${WORKDIR}/cargo_home/bitbake"
RTD_AMP_CARGO_LOCK ??= ""

rtd_amp_cargo_vendor_config() {
    mkdir -p "${CARGO_HOME}" "${RTD_AMP_CARGO_VENDOR_DIR}"
    {
        printf '[source.crates-io]\nreplace-with = "bitbake-vendored"\n\n'
        printf '[source.bitbake-vendored]\ndirectory = "%s"\n\n' "${RTD_AMP_CARGO_VENDOR_DIR}"
        printf '[net]\noffline = true\n'
    } > "${CARGO_HOME}/config.toml"
}

python rtd_amp_cargo_check_vendored() {
    # Cargo.lock is TOML; its [[package]] tables are flat enough to read
    # without a TOML parser (tomllib needs Python 3.11).
    import re
    lock = d.getVar("RTD_AMP_CARGO_LOCK")
    if not lock:
        return
    vendor = d.getVar("RTD_AMP_CARGO_VENDOR_DIR")
    with open(lock, encoding="utf-8") as f:
        text = f.read()
    missing = []
    for block in text.split("[[package]]")[1:]:
        fields = dict(re.findall(r'^(\w+) = "([^"]*)"', block, re.MULTILINE))
        if "crates.io-index" not in fields.get("source", ""):
            continue
        name = "%s-%s" % (fields["name"], fields["version"])
        if not os.path.isdir(os.path.join(vendor, name)):
            missing.append(name)
    if missing:
        bb.fatal("%s needs crates that SRC_URI does not fetch (run scripts/update-crate-lists in the layer): %s"
                 % (lock, " ".join(missing)))
}

do_configure[postfuncs] += "rtd_amp_cargo_vendor_config rtd_amp_cargo_check_vendored"
