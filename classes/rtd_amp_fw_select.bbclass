# Which firmware the image's daemon starts (docs/yocto.md, "Your own
# firmware"). Every firmware recipe built with rtd_amp_fw_app.bbclass
# installs rtd-amp/<RTD_AMP_FW_NAME>.elf and runtime-provides
# rtd-amp-fwname-<RTD_AMP_FW_NAME>; set in local.conf or the distro
#
#   RTD_AMP_FIRMWARE = "my-fw"                      # rtd-amp/my-fw.elf
#   RTD_AMP_FIRMWARE_CHANNELS = "my-service rtd-amp-ctrl"
#
# and rtd-amp-tools writes that name and the channels it announces into
# /etc/rtd-ampd.toml ([[remoteproc]] firmware, expected_channels), its
# daemon package and packagegroup-rtd-amp runtime-depend on the provider,
# so the image carries the firmware its daemon starts. The default is the
# layer's own firmware (rtd-amp-firmware). Only the layer's own recipes
# read these variables; packagegroup-rtd-amp and rtd-amp-image, which put
# them in an image, need the "rtd-amp" DISTRO_FEATURE.

RTD_AMP_FIRMWARE ??= "rtd-amp-fw"
RTD_AMP_FIRMWARE_CHANNELS ??= "rpmsg-raw rpmsg-tty rtd-amp-ctrl"
RTD_AMP_FIRMWARE_DIR ??= "rtd-amp"
# The name remoteproc loads (relative to /lib/firmware) and the package
# that provides it.
RTD_AMP_FIRMWARE_FILE = "${RTD_AMP_FIRMWARE_DIR}/${RTD_AMP_FIRMWARE}.elf"
RTD_AMP_FIRMWARE_RPROVIDES_PREFIX = "rtd-amp-fwname-"
RTD_AMP_FIRMWARE_PROVIDER = "${RTD_AMP_FIRMWARE_RPROVIDES_PREFIX}${RTD_AMP_FIRMWARE}"
