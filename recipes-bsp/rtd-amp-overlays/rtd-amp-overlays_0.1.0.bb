SUMMARY = "Device-tree overlays of the RTD1619B AMP system"
DESCRIPTION = "Reserved-memory carve-outs, doorbell mailbox and remoteproc \
               nodes for the RTD1619B boards and for the QEMU twin. For the \
               QEMU twin the overlay is also applied to the DTB that QEMU \
               generates for the machine's runqemu settings, giving the \
               qemu-virt-amp.dtb that runqemu boots (QB_DTB)."
HOMEPAGE = "https://github.com/rtd-amp/meta-rtd1619b-amp"
BUGTRACKER = "https://github.com/rtd-amp/meta-rtd1619b-amp/issues"
SECTION = "bsp"
LICENSE = "GPL-2.0-only | MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/GPL-2.0-only;md5=801f80980d171dd6425610833a22dbe6 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

DEPENDS:append:qemuarm64-rtd-amp = " qemu-system-native"

# Only the recipe's overlays, not a board DTB: this is no virtual/dtb
# provider (devicetree.bbclass sets PROVIDES).
PROVIDES:remove = "virtual/dtb"

SRC_URI = "\
    file://qemu-virt-amp.dtso \
    file://rtd1619b-amp.dtso \
"

inherit devicetree

COMPATIBLE_MACHINE = "(stark|qemuarm64-rtd-amp)"

# The overlay of this machine (the QEMU twin's machine config sets its own).
RTD_AMP_OVERLAY ??= "rtd1619b-amp"
DT_FILES = "${RTD_AMP_OVERLAY}.dtso"

do_deploy:append() {
    install -d ${DEPLOYDIR}/rtd-amp
    install -m 0644 ${B}/${RTD_AMP_OVERLAY}.dtbo ${DEPLOYDIR}/rtd-amp/
}

# QEMU generates the virt DT from its command line: dump it with exactly the
# runqemu settings of the machine, label /cpus/cpu@3 (the overlay refers to
# &cpu3; QEMU's DT has no labels) and apply the overlay.
do_deploy:append:qemuarm64-rtd-amp() {
    qemu-system-aarch64 ${QB_MACHINE},dumpdtb=${B}/qemu-virt.dtb \
        ${QB_CPU} ${QB_SMP} ${QB_MEM} -nographic -nodefaults
    dtc -q -I dtb -O dts ${B}/qemu-virt.dtb \
        | sed 's/^\t\tcpu@3 {/\t\tcpu3: cpu@3 {/' > ${B}/qemu-virt-labelled.dts
    grep -q 'cpu3: cpu@3' ${B}/qemu-virt-labelled.dts || bbfatal "no /cpus/cpu@3 in QEMU's DT (QB_SMP)"
    dtc -q -@ -I dts -O dtb -o ${B}/qemu-virt-labelled.dtb ${B}/qemu-virt-labelled.dts
    fdtoverlay -i ${B}/qemu-virt-labelled.dtb -o ${B}/${QB_DTB} ${B}/${RTD_AMP_OVERLAY}.dtbo
    install -m 0644 ${B}/${QB_DTB} ${DEPLOYDIR}/${QB_DTB}
}
