# shellcheck shell=sh
# ampctl deploy (docs/daemon-cli.md, "Deploying a firmware"), through the
# daemon as the systemd unit runs it: the production build replaces the
# running test build (exit 0, installed under /lib/firmware/updates/, it
# serves: FAULT answered "unsupported"); an application user cannot deploy;
# a firmware that never announces (selftest-nostamp.elf, test-only:
# scripts/qemu/nostamp-fw.py) is rolled back (exit 4, --json says
# rolled-back) and the production build serves again. Both reports are
# printed. Removes what it installed; leaves the firmware stopped.

# d74_fault_refused: the serving firmware answers FAULT "unsupported" (the
# production build; the test build would crash).
d74_fault_refused() { [ "$(fw_ctl fault 2)" = 'ctl: error 4 (unsupported)' ]; }

# d74_serves: channels back, FAULT unsupported, the daemon's phase running.
d74_serves() { wait_for have_raw && d74_fault_refused && wait_for daemon_phase running; }

if [ -x /bin/ampctl ] && [ -x /bin/rtd-ampd ]; then
	U=/lib/firmware/updates/$FW
	PROD=/lib/firmware/rtd-amp/rtd-amp-fw-production.elf
	SILENT=/lib/firmware/rtd-amp/selftest-nostamp.elf
	d74_prev_back() { cmp -s "$PROD" "$U" && d74_serves; }
	stop_fw
	rm -f "$U" "$U".p7s "$U".prev "$U".p7s.prev
	start_daemon /etc/rtd-ampd.toml
	wait_for daemon_phase running && wait_for have_raw

	out=$(ampctl deploy "$PROD" 2>/tmp/deploy.err)
	rc=$?
	sed 's/^/  deploy: /' /tmp/deploy.err
	echo "  deploy: $out"
	check "deploy: a good firmware replaces the running one: exit 0, reported, installed in updates/ with its signature" \
		"exit $rc: $out; $(cat /tmp/deploy.err)" \
		sh -c "[ $rc = 0 ] && printf '%s' '$out' | grep -q '^deployed ' && cmp -s '$PROD' '$U' && cmp -s '$PROD.p7s' '$U.p7s'"
	check "deploy: the new firmware serves (FAULT unsupported: the production build), the daemon runs it" \
		"daemon: $(daemon_status)" d74_serves

	out=$(app ampctl deploy "$SILENT" 2>&1)
	rc=$?
	check "deploy: an application user cannot deploy, nothing changed" "exit $rc: $out" \
		sh -c "[ $rc = 1 ] && cmp -s '$PROD' '$U' && . /lib.sh && state_is running"

	js=$(ampctl deploy --json --timeout-ms 3000 "$SILENT" 2>/tmp/deploy.err)
	rc=$?
	sed 's/^/  deploy: /' /tmp/deploy.err
	printf '%s\n' "$js" | grep -E '"(result|exit_code|error)"' | sed 's/^ */  deploy: /'
	check "deploy: a firmware that never announces is rolled back: exit 4, --json rolled-back" \
		"exit $rc: $js" \
		sh -c "[ $rc = 4 ] && printf '%s' '$js' | grep -q '\"result\": \"rolled-back\"' && printf '%s' '$js' | grep -q 'channels not announced'"
	check "deploy: after the rollback the previous firmware is installed and serves again" \
		"state $(cat "$R"/state), daemon: $(daemon_status)" \
		d74_prev_back
	stop_daemon
	stop_fw
	rm -f "$U" "$U".p7s "$U".prev "$U".p7s.prev
else
	ko "deploy" "no ampctl or rtd-ampd in the guest (scripts/build-host-aarch64 failed?)"
fi
