#!/usr/bin/env bash
# Bounded fuzzing of the protocol core: the resource-table validator, the
# firmware's RPMsg receive path under a hostile Linux, both roles of the bulk
# channel against a hostile peer, amp-host's firmware
# check (ELF + resource table), its signature check (.p7s + trusted
# certificate) and rtd-ampd's control-socket protocol (line limit, request
# parser, roles), each for AMP_FUZZ_SECONDS (default 20). Longer runs:
# docs/protocol.md.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
command -v cargo-fuzz >/dev/null || die "cargo-fuzz missing: run scripts/setup-host"
cd "$REPO_ROOT/rust/fuzz"
cargo fmt --check
secs=${AMP_FUZZ_SECONDS:-20}

# fw_sig seeds: real signatures of the target's fixed content made now with
# a throw-away key (never committed), each as u16 BE certificate length,
# DER certificate, .p7s: the layer's signature (rtd-amp-sign-fw's options),
# without the certificate, signer by subjectKeyIdentifier, no signed
# attributes.
fw_sig_seeds() {
	local tmp out=corpus/fw_sig opts i=0
	command -v openssl >/dev/null || die "openssl missing: run scripts/setup-host"
	tmp=$(mktemp -d)
	printf 'rtd-amp fw_sig fuzz firmware\n' >"$tmp/data"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=fw_sig-fuzz \
		-keyout "$tmp/k.pem" -out "$tmp/c.pem" 2>/dev/null
	openssl x509 -in "$tmp/c.pem" -outform DER -out "$tmp/c.der"
	for opts in "-nosmimecap" "-nosmimecap -nocerts" "-nosmimecap -keyid" "-noattr"; do
		i=$((i + 1))
		# shellcheck disable=SC2086 # a list of openssl options
		openssl cms -sign -binary -md sha256 $opts -outform DER -in "$tmp/data" \
			-signer "$tmp/c.pem" -inkey "$tmp/k.pem" -out "$tmp/s.p7s"
		python3 -c 'import sys; c = open(sys.argv[1], "rb").read(); s = open(sys.argv[2], "rb").read(); sys.stdout.buffer.write(len(c).to_bytes(2, "big") + c + s)' \
			"$tmp/c.der" "$tmp/s.p7s" >"$out/seed-$i"
	done
	rm -rf "$tmp"
}

status=0
for target in rsc_parse rpmsg_receive bulk_ring fw_check fw_sig ctl_socket; do
	mkdir -p "corpus/$target"
	[ "$target" != fw_sig ] || fw_sig_seeds
	# A target's dictionary, if it has one (TARGET.dict).
	dict=()
	[ ! -f "$target.dict" ] || dict=(-dict="$target.dict")
	log "fuzzing $target for ${secs}s"
	if cargo +nightly fuzz run "$target" "corpus/$target" -- "${dict[@]}" \
		-max_total_time="$secs" -print_final_stats=1 >"fuzz-$target.log" 2>&1; then
		grep -E '^Done [0-9]+ runs|stat::number_of_executed_units' "fuzz-$target.log" || true
	else
		tail -n 40 "fuzz-$target.log"
		log "$target FAILED: reproducer in rust/fuzz/artifacts/$target"
		status=1
	fi
done
exit "$status"
