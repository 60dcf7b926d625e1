# Gated: without the "rtd-amp" DISTRO_FEATURE this append changes nothing.
require ${@bb.utils.contains('DISTRO_FEATURES', 'rtd-amp', 'u-boot-rtd-amp.inc', '', d)}
