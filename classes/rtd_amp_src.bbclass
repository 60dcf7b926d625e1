# The sources of the layer's own components (the Rust workspaces) live in
# this repository next to the metadata. This class turns RTD_AMP_SRC_PATHS
# (glob patterns relative to the layer root) into file:// SRC_URI entries
# unpacked under ${WORKDIR}/rtd_amp_src with their relative paths, so Cargo
# workspaces and path dependencies resolve exactly as in the repository.
# The fetcher checksums every file, so an edit re-runs the build; nothing is
# fetched from the network. Build output directories ("target") are skipped.
#
# A pattern prefixed with "?" is optional; a required pattern that matches
# nothing skips the recipe with the reason.

RTD_AMP_SRC_PATHS ??= ""
RTD_AMP_SRCDIR = "${WORKDIR}/rtd_amp_src"
# The layer's shared install step (add scripts/install-target to
# RTD_AMP_SRC_PATHS to use it): the QEMU systemd twin installs with it too.
RTD_AMP_INSTALL = "${RTD_AMP_SRCDIR}/scripts/install-target"

def rtd_amp_layer_root(d):
    cls = bb.utils.which(d.getVar('BBPATH'), 'classes/rtd_amp_src.bbclass')
    return os.path.dirname(os.path.dirname(cls))

def rtd_amp_src_uri(d):
    import glob
    root = rtd_amp_layer_root(d)
    entries = []
    for pattern in (d.getVar('RTD_AMP_SRC_PATHS') or '').split():
        optional = pattern.startswith('?')
        pattern = pattern.lstrip('?')
        matches = sorted(glob.glob(os.path.join(root, pattern)))
        matches = [m for m in matches if 'target' not in os.path.relpath(m, root).split(os.sep)]
        if not matches and not optional:
            raise bb.parse.SkipRecipe('%s is missing from the layer (%s)' % (pattern, root))
        entries += ['file://%s;subdir=rtd_amp_src' % os.path.relpath(m, root) for m in matches]
    return ' '.join(entries)

FILESEXTRAPATHS:prepend := "${@rtd_amp_layer_root(d)}:"
SRC_URI += "${@rtd_amp_src_uri(d)}"
