# shellcheck shell=bash
# initd.sh - sourced after lib.sh by the tests that start the daemon with
# the init script (15-install.t, 23-init-restart.t).
#
# The daemon is started by the init script, not by lib.sh: on exit, stop
# the pids the test adds to DPIDS, and hand sanitizer reports (written to
# files, as a detached daemon's stderr is /dev/null) to lib.sh's check of
# daemon.log.
DPIDS=
cleanup() {
	local p
	for p in $DPIDS; do
		alive "$p" && kill -TERM "$p"
	done
	# shellcheck disable=SC2086
	[ -z "$DPIDS" ] || assert_dead 10 $DPIDS || kill -KILL $DPIDS 2>/dev/null
	cat "$WT_DIR"/san/* >> "$WT_DIR/daemon.log" 2>/dev/null
}
at_exit cleanup
mkdir -p "$WT_DIR/san"
chmod 1777 "$WT_DIR/san"
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$WT_DIR/san/asan"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$WT_DIR/san/ubsan"
# Where systemd runs, init-functions hands /etc/init.d scripts to systemctl.
export SYSTEMCTL_SKIP_REDIRECT=1
