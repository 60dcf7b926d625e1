#
# SPDX-License-Identifier: MIT
#
# testimage checks of the RTD1619B AMP system on the QEMU twin
# (qemuarm64-rtd-amp) or a board: CPU3 kept from Linux, firmware installed
# and started by remoteproc, the RPMsg channels it announces, an echo over
# /dev/rpmsgN, and a stop/start cycle.

import time

from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.case import OERuntimeTestCase
from oeqa.runtime.decorator.package import OEHasPackage

FIRMWARE = "rtd-amp/rtd-amp-fw.elf"
CHANNELS = ("rpmsg-raw", "rpmsg-tty", "rtd-amp-ctrl")


class RtdAmpTest(OERuntimeTestCase):
    """Key QEMU twin checks, run on the target over ssh."""

    def run_ok(self, cmd):
        status, output = self.target.run(cmd)
        self.assertEqual(status, 0, msg="%s failed: %s" % (cmd, output))
        return output.strip()

    def remoteproc(self):
        """sysfs directory of the remoteproc device running our firmware."""
        out = self.run_ok(
            "grep -lx '%s' /sys/class/remoteproc/*/firmware | head -n1" % FIRMWARE)
        self.assertTrue(out, msg="no remoteproc device has firmware %s" % FIRMWARE)
        return out.rsplit("/", 1)[0]

    def wait_state(self, rproc, want, tries=60):
        """Poll the remoteproc state (bounded number of reads)."""
        state = ""
        for _ in range(tries):
            state = self.run_ok("cat %s/state" % rproc)
            if state == want:
                return state
            time.sleep(0.5)
        self.fail("%s/state is %r, expected %r" % (rproc, state, want))

    @OETestDepends(["ssh.SSHTest.test_ssh"])
    def test_cpu3_not_linux(self):
        # maxcpus=3 on the kernel command line keeps CPU3 for the firmware.
        self.assertEqual(self.run_ok("cat /sys/devices/system/cpu/online"), "0-2")

    @OETestDepends(["ssh.SSHTest.test_ssh"])
    @OEHasPackage(["rtd-amp-firmware"])
    def test_firmware_installed(self):
        self.run_ok("test -s /lib/firmware/%s" % FIRMWARE)

    @OETestDepends(["rtd_amp.RtdAmpTest.test_firmware_installed"])
    @OEHasPackage(["rtd-amp-tools-daemon"])
    def test_firmware_running(self):
        # rtd-ampd starts the firmware at boot (autostart in /etc/rtd-ampd.toml).
        rproc = self.remoteproc()
        self.wait_state(rproc, "running")

    @OETestDepends(["rtd_amp.RtdAmpTest.test_firmware_running"])
    def test_channels_announced(self):
        names = ""
        for _ in range(60):
            names = self.run_ok("cat /sys/bus/rpmsg/devices/*/name 2>/dev/null || true")
            if all(c in names.split() for c in CHANNELS):
                break
            time.sleep(0.5)
        for channel in CHANNELS:
            self.assertIn(channel, names.split(), msg="channel %s not announced" % channel)

    @OETestDepends(["rtd_amp.RtdAmpTest.test_channels_announced"])
    def test_rpmsg_echo(self):
        # rpmsg-raw binds to rpmsg_char: one write is one message, echoed back.
        dev = self.run_ok(
            "for d in /sys/bus/rpmsg/devices/*; do "
            "[ \"$(cat $d/name)\" = rpmsg-raw ] && ls $d/rpmsg 2>/dev/null; done | head -n1")
        self.assertTrue(dev.startswith("rpmsg"), msg="no /dev/rpmsgN for rpmsg-raw: %r" % dev)
        out = self.run_ok(
            "timeout 10 sh -c 'exec 3<>/dev/%s; printf oeqa-echo >&3; head -c 9 <&3'" % dev)
        self.assertEqual(out, "oeqa-echo")

    @OETestDepends(["rtd_amp.RtdAmpTest.test_rpmsg_echo"])
    def test_stop_start(self):
        rproc = self.remoteproc()
        self.run_ok("echo stop > %s/state" % rproc)
        self.wait_state(rproc, "offline")
        # The core went back to PSCI OFF, never to Linux.
        self.assertEqual(self.run_ok("cat /sys/devices/system/cpu/online"), "0-2")
        self.run_ok("echo start > %s/state" % rproc)
        self.wait_state(rproc, "running")
