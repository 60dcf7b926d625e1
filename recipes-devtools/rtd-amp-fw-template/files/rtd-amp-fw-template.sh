# shellcheck shell=sh
# Sourced by the SDK's environment-setup script: where the firmware
# template and the runtime are (docs/firmware.md, "Your first service and
# periodic task"):
#   cargo generate --path "$RTD_AMP_TEMPLATE" --name my-fw --define rtd_amp_rt="$RTD_AMP_RT"
export RTD_AMP_TEMPLATE="$OECORE_NATIVE_SYSROOT/usr/share/rtd-amp/templates/rtd-amp-firmware"
export RTD_AMP_RT="$OECORE_NATIVE_SYSROOT/usr/share/rtd-amp/rust/firmware/rtd-amp-rt"
