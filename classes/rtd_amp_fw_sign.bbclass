# Firmware signing (docs/yocto.md, "Firmware signing"; docs/kernel.md,
# "Firmware signatures"). The kernel driver refuses a firmware without a
# valid detached signature FIRMWARE.p7s by a certificate built into it;
# this class gives the recipes that sign firmware, build the driver or
# install the user-space trust anchor one and the same key and certificate:
#
#   RTD_AMP_FW_SIGNING_KEY   private key (PEM) firmware is signed with
#   RTD_AMP_FW_SIGNING_CERT  its X.509 certificate (PEM), built into
#                            rtd_amp_rproc.ko and installed as
#                            /etc/rtd-amp/fw-signing.pem for rtd-ampd/ampctl
#   RTD_AMP_FW_DEV_KEY_DIR   where the development key lives when neither is
#                            set (${TOPDIR}/rtd-amp-dev-keys)
#
# Set both, or neither: then a development key is generated once in
# RTD_AMP_FW_DEV_KEY_DIR (with the build host's openssl, while parsing, so
# that its certificate is known to every task signature) and reused by
# every later build of that build directory; the build warns whenever a
# recipe using it is parsed and whenever firmware is signed with it. Never
# ship a product with it.
#
# Task signatures depend on the certificate's SHA-256, never on the paths:
# a new key re-signs the firmware and rebuilds the driver, and sstate built
# with another key is not reused, so the firmware and the driver always
# come from the same key.
#
# Everything here acts only with the "rtd-amp" DISTRO_FEATURE: without it
# nothing is generated or signed.
#
# Recipes: rtd_amp_fw_sign FILE... (shell, openssl-native) writes FILE.p7s
# with scripts/rtd-amp-sign-fw (add it to RTD_AMP_SRC_PATHS) and checks it;
# RTD_AMP_FW_SIGNING_CERT_FILE is the certificate to build in or install.

RTD_AMP_FW_SIGNING_KEY ??= ""
RTD_AMP_FW_SIGNING_CERT ??= ""
RTD_AMP_FW_DEV_KEY_DIR ??= "${TOPDIR}/rtd-amp-dev-keys"

# Set while parsing (below): the files in use, the certificate's digest,
# and "1" for the development key.
RTD_AMP_FW_SIGNING_KEY_FILE = ""
RTD_AMP_FW_SIGNING_CERT_FILE = ""
RTD_AMP_FW_SIGNING_CERT_SHA256 = ""
RTD_AMP_FW_SIGNING_DEV = ""

DEPENDS += "${@bb.utils.contains('DISTRO_FEATURES', 'rtd-amp', 'openssl-native', '', d)}"

def rtd_amp_fw_dev_key(d, keydir):
    """Creates the development key in keydir once (parser processes run in
    parallel: under a lock)."""
    import subprocess
    key = os.path.join(keydir, 'fw-signing.key')
    if os.path.isfile(key):
        return
    tool = bb.utils.which(d.getVar('BBPATH'), 'scripts/rtd-amp-sign-fw')
    if not tool:
        raise bb.parse.SkipRecipe('scripts/rtd-amp-sign-fw of meta-rtd1619b-amp not found in BBPATH')
    if not bb.utils.which(os.environ.get('PATH', ''), 'openssl'):
        raise bb.parse.SkipRecipe('RTD_AMP_FW_SIGNING_KEY/RTD_AMP_FW_SIGNING_CERT are not set, and the build host '
                                  'has no openssl to generate a development key: install openssl, or set both')
    bb.utils.mkdirhier(os.path.dirname(keydir))
    lock = bb.utils.lockfile(keydir + '.lock')
    try:
        if not os.path.isfile(key):
            out = subprocess.run(['bash', tool, '--gen-dev-key', keydir, '--cn',
                                  'rtd-amp firmware DEVELOPMENT key (%s)' % d.getVar('DISTRO')],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if out.returncode != 0:
                raise bb.parse.SkipRecipe('cannot generate the firmware development key in %s: %s'
                                          % (keydir, out.stdout.strip()))
            bb.warn('rtd-amp: generated a firmware signing DEVELOPMENT key in %s' % keydir)
    finally:
        bb.utils.unlockfile(lock)

python __anonymous() {
    import hashlib
    if not bb.utils.contains('DISTRO_FEATURES', 'rtd-amp', True, False, d):
        return
    key = d.getVar('RTD_AMP_FW_SIGNING_KEY')
    cert = d.getVar('RTD_AMP_FW_SIGNING_CERT')
    dev = not key and not cert
    if dev:
        keydir = d.getVar('RTD_AMP_FW_DEV_KEY_DIR')
        rtd_amp_fw_dev_key(d, keydir)
        key = os.path.join(keydir, 'fw-signing.key')
        cert = os.path.join(keydir, 'fw-signing.pem')
        bb.warn('rtd-amp: %s: the firmware signing key is the DEVELOPMENT key %s, generated on this build '
                'machine (the firmware is signed with it, the kernel driver trusts it): do not ship it. Set '
                'RTD_AMP_FW_SIGNING_KEY and RTD_AMP_FW_SIGNING_CERT to the product key (docs/yocto.md, '
                '"Firmware signing").' % (d.getVar('PN'), key))
    elif not key or not cert:
        raise bb.parse.SkipRecipe('set both RTD_AMP_FW_SIGNING_KEY and RTD_AMP_FW_SIGNING_CERT, or neither '
                                  '(a development key)')
    if not os.path.isfile(cert):
        raise bb.parse.SkipRecipe('RTD_AMP_FW_SIGNING_CERT %s does not exist' % cert)
    with open(cert, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    d.setVar('RTD_AMP_FW_SIGNING_KEY_FILE', key)
    d.setVar('RTD_AMP_FW_SIGNING_CERT_FILE', cert)
    d.setVar('RTD_AMP_FW_SIGNING_CERT_SHA256', digest)
    d.setVar('RTD_AMP_FW_SIGNING_DEV', '1' if dev else '')
}

# rtd_amp_fw_sign FILE...: FILE.p7s for each FILE, verified against the
# certificate right away (the exact bytes installed: the firmware class
# inhibits stripping, which would change them).
rtd_amp_fw_sign() {
    if [ -z "${RTD_AMP_FW_SIGNING_CERT_FILE}" ]; then
        bbnote "not signing $* (no rtd-amp DISTRO_FEATURE)"
        return 0
    fi
    if [ -n "${RTD_AMP_FW_SIGNING_DEV}" ]; then
        bbwarn "signing $* with the firmware DEVELOPMENT key ${RTD_AMP_FW_SIGNING_KEY_FILE}: do not ship it (set RTD_AMP_FW_SIGNING_KEY and RTD_AMP_FW_SIGNING_CERT)"
    fi
    bash ${RTD_AMP_SRCDIR}/scripts/rtd-amp-sign-fw --key "${RTD_AMP_FW_SIGNING_KEY_FILE}" \
        --cert "${RTD_AMP_FW_SIGNING_CERT_FILE}" "$@"
    for f in "$@"; do
        bash ${RTD_AMP_SRCDIR}/scripts/rtd-amp-sign-fw --verify --cert "${RTD_AMP_FW_SIGNING_CERT_FILE}" "$f"
    done
}
# The certificate's content, not the paths (TOPDIR), makes the signature.
rtd_amp_fw_sign[vardeps] += "RTD_AMP_FW_SIGNING_CERT_SHA256 RTD_AMP_FW_SIGNING_DEV"
rtd_amp_fw_sign[vardepsexclude] += "RTD_AMP_FW_SIGNING_KEY_FILE RTD_AMP_FW_SIGNING_CERT_FILE"

# rtd_amp_fw_cert_der OUT: the certificate in DER, as the driver's Kbuild
# (RTD_AMP_FW_CERTS) wants it.
rtd_amp_fw_cert_der() {
    openssl x509 -in "${RTD_AMP_FW_SIGNING_CERT_FILE}" -outform DER -out "$1"
}
rtd_amp_fw_cert_der[vardeps] += "RTD_AMP_FW_SIGNING_CERT_SHA256"
rtd_amp_fw_cert_der[vardepsexclude] += "RTD_AMP_FW_SIGNING_CERT_FILE"
