#!/usr/bin/env bash
# Bounded fuzzing of the protocol core: the resource-table validator, the
# firmware's RPMsg receive path under a hostile Linux, and amp-host's
# firmware check (ELF + resource table), each for AMP_FUZZ_SECONDS
# (default 20). Longer runs: docs/protocol.md.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
command -v cargo-fuzz >/dev/null || die "cargo-fuzz missing: run scripts/setup-host"
cd "$REPO_ROOT/rust/fuzz"
cargo fmt --check
secs=${AMP_FUZZ_SECONDS:-20}
status=0
for target in rsc_parse rpmsg_receive fw_check; do
	mkdir -p "corpus/$target"
	log "fuzzing $target for ${secs}s"
	if cargo +nightly fuzz run "$target" "corpus/$target" -- \
		-max_total_time="$secs" -print_final_stats=1 >"fuzz-$target.log" 2>&1; then
		grep -E '^Done [0-9]+ runs|stat::number_of_executed_units' "fuzz-$target.log" || true
	else
		tail -n 40 "fuzz-$target.log"
		log "$target FAILED: reproducer in rust/fuzz/artifacts/$target"
		status=1
	fi
done
exit "$status"
