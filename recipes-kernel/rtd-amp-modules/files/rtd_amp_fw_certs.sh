#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rtd_amp_fw_certs.sh [CERT.der...]: the certificates, concatenated, as the
# body of a C byte array (rtd_amp_fw_certs.inc, Kbuild). Each file must be
# one DER X.509 certificate: a SEQUENCE with a two-byte length, which is
# how rtd_amp_rproc splits them again (as the kernel's certs/ loader does).
# PEM: convert first, e.g. openssl x509 -in CERT.pem -outform DER -out CERT.der
set -e
for f; do
	if [ ! -r "$f" ]; then
		echo "RTD_AMP_FW_CERTS: cannot read $f" >&2
		exit 1
	fi
	od -An -v -tu1 "$f" | awk -v f="$f" '
		{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END {
			if (n >= 4 && b[0] == 48 && b[1] == 130 && n == 4 + b[2] * 256 + b[3])
				exit 0
			if (b[0] == 45)
				why = "PEM, not DER: openssl x509 -outform DER"
			else
				why = "not one DER certificate (SEQUENCE, two-byte length)"
			printf "RTD_AMP_FW_CERTS: %s is %s\n", f, why > "/dev/stderr"
			exit 1
		}'
	od -An -v -tx1 "$f" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
done
