# The firmware runtime rtd-amp-rt as the layer holds it, fetched with
# rtd_amp_src: the crate, the no_std crates it uses (amp-proto,
# amp-control, amp-ctrl-page) and the two workspace manifests their
# package fields come from. Firmware recipes build against it
# (rtd_amp_fw_app.bbclass); the SDK ships it (nativesdk-rtd-amp-fw-template).

RTD_AMP_FW_RUNTIME_PATHS = "\
    rust/Cargo.toml \
    rust/crates/amp-control \
    rust/crates/amp-ctrl-page \
    rust/crates/amp-proto \
    rust/firmware/Cargo.toml \
    rust/firmware/rtd-amp-rt \
"
RTD_AMP_SRC_PATHS:append = " ${RTD_AMP_FW_RUNTIME_PATHS}"
# The runtime crate's directory once unpacked.
RTD_AMP_FW_RUNTIME = "${RTD_AMP_SRCDIR}/rust/firmware/rtd-amp-rt"

inherit rtd_amp_src
