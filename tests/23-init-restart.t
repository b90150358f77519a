#!/bin/bash
# The init script's restart checks the settings before it stops the
# running daemon (issue 11), and its console output keeps to the LSB
# lines; the systemd unit checks them too (ExecStartPre=... -n).
#
# dist/wstaskd.init runs as it is (its install-time paths overridden
# from the environment, as it allows), with the daemon of this build, as
# user nobody, on a unix socket, with a copy of the example handlers
# nobody can read wherever the checkout is.  A bad setting in the
# defaults file: restart, force-reload and try-restart exit 6 with the
# reason, and the old daemon keeps its pid and serves; fixed, restart
# starts a new one.  There is no systemd here: the unit is checked as
# text (ExecStartPre runs -n with exactly the options of ExecStart).
if [ "$(id -u)" != 0 ] || ! id nobody > /dev/null 2>&1; then
	echo "1..0 # SKIP needs root and a user nobody"
	exit 0
fi
. "$(dirname "$0")/lib.sh"
. "$T_ROOT/tests/initd.sh"

chmod 755 "$WT_DIR"
INIT=$WT_DIR/wstaskd.init
DEF=$WT_DIR/default
RUND=$WT_DIR/run
PF=$RUND/wstaskd.pid
SOCK=$WT_DIR/sockdir/sock
mkdir -p "$WT_DIR/sockdir" "$WT_DIR/handlers"
chown nobody "$WT_DIR/sockdir"
cp "$T_ROOT"/examples/handlers/* "$WT_DIR/handlers/"
chmod -R a+rX "$WT_DIR/handlers"
cp "$T_ROOT/dist/wstaskd.init" "$INIT"
chmod 755 "$INIT"
export WSTASKD_DAEMON=$WSTASKD WSTASKD_DEFAULTS=$DEF WSTASKD_RUNDIR=$RUND

# settings DAEMON_ARGS: write the defaults file.
settings() {
	cat > "$DEF" <<-EOF
	WSTASKD_USER=nobody
	WSTASKD_LISTEN=unix:$SOCK
	WSTASKD_TASKS=$WT_DIR/handlers
	WSTASKD_WWW=
	SHUTDOWN_TIMEOUT=3
	LOG_FILE=$WT_DIR/wstaskd.log
	DAEMON_ARGS="$1"
	EOF
}


# init ACTION: the script's stdout and stderr together in init.out.
init() {
	"$INIT" "$@" > "$WT_DIR/init.out" 2>&1
}
pidfile_pid() { cat "$PF" 2>/dev/null; }
# is_output LINE...: init.out is exactly these lines.
is_output() {
	printf '%s\n' "$@" | cmp -s - "$WT_DIR/init.out" && return 0
	diag "init.out:" "$(cat "$WT_DIR/init.out")"
	return 1
}
# serves BATCH: a batch over the socket gets its echo result.
serves() {
	local ok=1
	client s -u "$SOCK" "?session=init$1"
	send s "{\"type\":\"run\",\"batch\":\"$1\",\"tasks\":[{\"task\":\"echo\",\"args\":[1]}]}"
	expect s "\"type\":\"done\",\"batch\":\"$1\",\"ok\":1" || ok=0
	close_client s
	[ "$ok" = 1 ]
}
T_URL=ws://localhost/stream

# --- start: only the LSB line ----------------------------------------
settings "--spare 1 --kill-grace 300"
init start
st=$?
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
check "start: exit 0, running" eval '[ "$st" = 0 ] && alive "${dpid:-none}"'
check "start: the output is the LSB line alone, not the daemon's log lines" \
    is_output "Starting WebSocket task daemon: wstaskd."
check "it serves" serves b1

# --- a bad setting: restart refuses, the old daemon stays ------------
settings "--spare 1 --limit 0"
for action in restart force-reload try-restart; do
	init "$action"
	st=$?
	check "$action with --limit 0: exit 6" test "$st" = 6
	check "... the LSB line failed, the reason, and that it still runs" \
	    is_output "Restarting WebSocket task daemon: wstaskd failed!" \
	    "wstaskd: --limit: 0 is too small (1 to 1000)" \
	    "wstaskd: not restarted; still running as pid $dpid"
	check "... the old daemon lives on, same pid in the pid file" \
	    eval 'alive "$dpid" && [ "$(pidfile_pid)" = "$dpid" ]'
done
check "... and still serves" serves b2
init status
check "status: 0 (running)" test $? = 0

# --- fixed: restart starts a new daemon -------------------------------
settings "--spare 1 --limit 3"
old=$dpid
init restart
st=$?
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
check "fixed: restart exits 0" test "$st" = 0
check "... the LSB line alone" \
    is_output "Restarting WebSocket task daemon: wstaskd."
check "... the old daemon is gone" assert_dead 10 "$old"
check "... a new pid, alive" \
    eval '[ -n "$dpid" ] && [ "$dpid" != "$old" ] && alive "$dpid"'
check "... serving" serves b3
check "... with the new settings (--limit 3)" \
    grep -q '"type":"accepted","batch":"b3","tasks":1,"limit":3' "$WT_DIR/s.out"
init stop
st=$?
check "stop: exit 0, gone" eval '[ "$st" = 0 ] && assert_dead 10 "$dpid"'

# --- a failed start: one line of reason -------------------------------
settings "--limit 0"
init start
st=$?
check "start with --limit 0: exit 1" test "$st" = 1
check "... the LSB line failed and the reason, one line" \
    is_output "Starting WebSocket task daemon: wstaskd failed!" \
    "wstaskd: --limit: 0 is too small (1 to 1000)"
# The unix listener is bound (and logged) before the second one fails:
# the reason is the last line, not the first.
settings "-l 192.0.2.1:9"
init start
st=$?
check "start with an address not on this host: exit 1" test "$st" = 1
check "... the LSB line failed and the bind error, one line" \
    eval 'is_output "Starting WebSocket task daemon: wstaskd failed!" \
    "$(sed -n 2p "$WT_DIR/init.out")" &&
    sed -n 2p "$WT_DIR/init.out" | grep -q "192.0.2.1:9: bind: "'
init status
check "status: 3 (not running)" test $? = 3

# --- the systemd unit --------------------------------------------------
# exec_line KEY: the unit's KEY=... command lines, continuations joined,
# one per line.
exec_line() {
	sed -e ':a' -e '/\\$/{N;s/\\\n *//;ba' -e '}' "$T_ROOT/dist/wstaskd.service" |
	    sed -n "s/^$1=//p"
}
start_cmd=$(exec_line ExecStart)
pre_cmd=$(exec_line ExecStartPre | grep -- ' -n ')
check "the unit: ExecStart runs wstaskd -D" \
    grep -qE '^@SBINDIR@/wstaskd -D ' <<< "$start_cmd"
check "... an ExecStartPre runs it with -n" \
    grep -qE '^@SBINDIR@/wstaskd -n ' <<< "$pre_cmd"
check "... with exactly the other options of ExecStart" \
    test "${pre_cmd/ -n / -D }" = "$start_cmd"
check "... after the one that makes the pid file's directory" \
    eval '[ "$(exec_line ExecStartPre | grep -n -- " -n " | cut -d: -f1)" = 2 ]'
check "no sanitizer report" test -z "$(ls -A "$WT_DIR/san")"
