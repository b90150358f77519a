#!/bin/bash
# make install / make uninstall, and the installed init script (dist/).
#
# A copy of wstaskd is built for a prefix under $WT_DIR (its compiled-in
# -t and -w defaults must name the installed places, so build/ is not
# reused) and installed there, /etc, /run and the systemd unit directory
# included.  The installed init script then runs the daemon as user
# `nobody' (WSTASKD_USER in the defaults file; no --allow-root), with the
# installed example handlers and a unix socket in a directory of its own:
# start, status, a batch, a second start, a second daemon on the pid
# file, reload, restart, a crash (status 1), stop, status 3.  Then
# uninstall removes everything, the directories install made included.
if [ "$(id -u)" != 0 ] || ! id nobody > /dev/null 2>&1; then
	echo "1..0 # SKIP needs root and a user nobody"
	exit 0
fi
. "$(dirname "$0")/lib.sh"

P=$WT_DIR/prefix E=$WT_DIR/etc R=$WT_DIR/run U=$WT_DIR/systemd
INIT=$E/init.d/wstaskd
RUND=$R/wstaskd
PF=$RUND/wstaskd.pid
# The socket's directory is the daemon user's, so it can remove the socket
# after dropping privileges; the run directory (the pid file's) is root's.
SOCK=$WT_DIR/sockdir/sock
mkdir -p "$WT_DIR/sockdir"
chown nobody "$WT_DIR/sockdir"
chmod 755 "$WT_DIR"
BIN=$P/sbin/wstaskd
MKVARS=(B="$WT_DIR/build" PREFIX="$P" SYSCONFDIR="$E" RUNSTATEDIR="$R"
    SYSTEMDUNITDIR="$U")
# The sanitizer variant builds the installed copy with SANITIZE=1 too.
ldd "$WSTASKD" 2>/dev/null | grep -q libasan && MKVARS+=(SANITIZE=1)

# Not the outer make's jobserver and command line (make check).
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -C "$T_ROOT" --no-print-directory "${MKVARS[@]}" "$@"
}

. "$T_ROOT/tests/initd.sh"

# --- install ---------------------------------------------------------
if mk -j2 install > "$WT_DIR/install.log" 2>&1; then
	ok "make install into $P, $E, $R, $U"
else
	fail "make install into $P, $E, $R, $U" "$(tail -n 20 "$WT_DIR/install.log")"
	exit 1
fi

# Every file and directory, with its mode.
listing() {
	(cd "$WT_DIR" && find prefix etc systemd run -printf '%m %p\n' 2>/dev/null) |
	    LC_ALL=C sort
}
{
	for d in etc etc/default etc/init.d prefix prefix/bin prefix/libexec \
	    prefix/libexec/wstaskd prefix/sbin prefix/share prefix/share/man \
	    prefix/share/man/man1 prefix/share/man/man7 prefix/share/man/man8 prefix/share/wstaskd \
	    prefix/share/wstaskd/examples \
	    prefix/share/wstaskd/examples/handlers prefix/share/wstaskd/www \
	    systemd; do
		echo "755 $d"
	done
	echo "644 etc/default/wstaskd"
	echo "755 etc/init.d/wstaskd"
	echo "755 prefix/sbin/wstaskd"
	echo "755 prefix/sbin/wstaskctl"
	echo "755 prefix/bin/wstask"
	echo "644 prefix/share/man/man1/wstask.1"
	echo "644 prefix/share/man/man7/wstaskd.7"
	echo "644 prefix/share/man/man8/wstaskd.8"
	echo "644 prefix/share/man/man8/wstaskctl.8"
	echo "644 prefix/share/wstaskd/created-dirs"
	echo "644 prefix/share/wstaskd/examples/sum.c"
	echo "644 systemd/wstaskd.service"
	for f in "$T_ROOT"/www/*; do
		echo "644 prefix/share/wstaskd/www/${f##*/}"
	done
	for f in "$T_ROOT"/examples/handlers/*; do
		case $f in *.json) m=644 ;; *) m=755 ;; esac
		echo "$m prefix/share/wstaskd/examples/handlers/${f##*/}"
	done
} | LC_ALL=C sort > "$WT_DIR/expected"
listing > "$WT_DIR/installed"
if cmp -s "$WT_DIR/expected" "$WT_DIR/installed"; then
	ok "exactly the expected files, with their modes"
else
	fail "exactly the expected files, with their modes" \
	    "$(diff "$WT_DIR/expected" "$WT_DIR/installed")"
fi
check "the handler directory is installed empty" \
    test -z "$(ls -A "$P/libexec/wstaskd")"
help=$("$BIN" --help 2>&1)
check "the installed binary's -t default is the installed handler directory" \
    grep -qF "(default $P/libexec/wstaskd)" <<< "$help"
check "... and its -w default the installed www directory" \
    grep -qF "(default $P/share/wstaskd/www)" <<< "$help"
check "no @VARIABLE@ is left in what dist/ installed" \
    eval '! grep -n "@[A-Z]*@" "$INIT" "$E/default/wstaskd" "$U/wstaskd.service"'
check "the init script names the installed binary, defaults file and run dir" \
    grep -qxF "DAEMON=\${WSTASKD_DAEMON:-$BIN}" "$INIT"
check "... defaults file" \
    grep -qxF "DEFAULTS=\${WSTASKD_DEFAULTS:-$E/default/wstaskd}" "$INIT"
check "... run directory" grep -qxF "RUNDIR=\${WSTASKD_RUNDIR:-$R/wstaskd}" "$INIT"
check "the unit runs the installed binary and reads the defaults file" \
    eval 'grep -q "^ExecStart=$BIN " "$U/wstaskd.service" &&
    grep -qxF "EnvironmentFile=-$E/default/wstaskd" "$U/wstaskd.service"'
check "the init script passes sh -n" sh -n "$INIT"
head=$(sed -n '/^### BEGIN INIT INFO$/,/^### END INIT INFO$/p' "$INIT")
check "an LSB header with Provides, Required-Start and Default-Start" \
    eval 'grep -qE "^# Provides: +wstaskd$" <<< "$head" &&
    grep -qE "^# Required-Start: +\\\$network \\\$remote_fs \\\$syslog$" <<< "$head" &&
    grep -qE "^# Default-Start: +2 3 4 5$" <<< "$head" &&
    grep -qE "^# Default-Stop: +0 1 6$" <<< "$head"'

# --- the init script -------------------------------------------------
# nobody must reach the handlers and the run directory under $WT_DIR
# (mktemp made it 0700); the installed tree is world-readable.
chmod 755 "$WT_DIR"
sed -i -e "s|^WSTASKD_USER=.*|WSTASKD_USER=nobody|" \
    -e "s|^WSTASKD_LISTEN=.*|WSTASKD_LISTEN=unix:$SOCK|" \
    -e "s|^WSTASKD_TASKS=.*|WSTASKD_TASKS=$P/share/wstaskd/examples/handlers|" \
    -e "s|^WSTASKD_WWW=.*|WSTASKD_WWW=|" \
    -e "s|^SHUTDOWN_TIMEOUT=.*|SHUTDOWN_TIMEOUT=3|" \
    -e "s|^LOG_FILE=.*|LOG_FILE=$WT_DIR/wstaskd.log|" \
    -e "s|^DAEMON_ARGS=.*|DAEMON_ARGS=\"--spare 1 --kill-grace 300\"|" \
    "$E/default/wstaskd"
check "the defaults file now says nobody and the examples" \
    eval 'grep -qx "WSTASKD_USER=nobody" "$E/default/wstaskd" &&
    grep -qx "WSTASKD_TASKS=$P/share/wstaskd/examples/handlers" "$E/default/wstaskd"'

# init ACTION: run the installed script; its output in $WT_DIR/init.out.
init() {
	"$INIT" "$@" > "$WT_DIR/init.out" 2>&1
}
init_out() { cat "$WT_DIR/init.out"; }
pidfile_pid() { cat "$PF" 2>/dev/null; }
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
has_children() { [ -n "$(children "$1")" ]; }

init status
check "status before start: 3 (not running)" test $? = 3
init start
st=$?
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
check "start: exit 0" test "$st" = 0
check "start: the pid file names a live daemon" alive "${dpid:-none}"
check "start: the run directory stays root's (no link can be planted)" \
    test "$(stat -c %U "$RUND")" = root
check "start: the pid file belongs to root (written before the drop)" \
    test "$(stat -c %U "$PF")" = root
check "start: the daemon runs as nobody" test "$(uid_of "$dpid")" = "$(id -u nobody)"
check "start: it is detached (no controlling tty, cwd /)" \
    eval 'read -r -a s < <(sed "s/.*) //" "/proc/$dpid/stat");
    [ "${s[4]}" = 0 ] && [ "$(readlink "/proc/$dpid/cwd")" = / ]'
check "start: its executable is the installed one" \
    test "$(readlink "/proc/$dpid/exe")" = "$BIN"
init status
check "status while running: 0" test $? = 0
check "... for any user, too (nobody)" runuser -u nobody -- "$INIT" status

# A real batch over the socket, with the installed example handlers.
T_URL=ws://localhost/stream
client a -u "$SOCK" "?session=inst"
send a '{"type":"run","batch":"b1","tasks":[{"task":"echo","args":{"x":1}}]}'
check "a batch over the daemon's unix socket: the echo result" \
    expect a '"type":"result","batch":"b1","id":"0","ok":true,"exit":0,"value":\{"x":1\}'
check "... and done" expect a '"type":"done","batch":"b1","ok":1'
close_client a

# Supervisors of our binary: its processes whose parent is not the daemon.
supervisors() {
	local f pid ppid line fields
	for f in /proc/[0-9]*/exe; do
		[ "$(readlink "$f" 2>/dev/null)" = "$BIN" ] || continue
		pid=${f#/proc/}
		pid=${pid%/exe}
		{ read -r line < "/proc/$pid/stat"; } 2>/dev/null || continue
		read -ra fields <<< "${line##*) }"
		ppid=${fields[1]}
		[ "$ppid" = "$dpid" ] || echo "$pid"
	done
}
init start
check "a second start: exit 0 (already running)" test $? = 0
check "... says so" grep -q "already running" "$WT_DIR/init.out"
check "... the pid is unchanged" test "$(pidfile_pid)" = "$dpid"
check "... and there is still one daemon" test "$(supervisors)" = "$dpid"
out=$("$BIN" --pidfile "$PF" -l 127.0.0.1:0 -t "$P/share/wstaskd/examples/handlers" \
    -w '' --allow-root 2>&1)
st=$?
check "a second wstaskd on the pid file: exit 1" test "$st" = 1
check "... naming the running pid" \
    grep -qF "already running as pid $dpid" <<< "$out"

init reload
st=$?
check "reload (SIGHUP, reopen the log): exit 0, the daemon lives on" \
    eval '[ "$st" = 0 ] && alive "$dpid" && [ "$(pidfile_pid)" = "$dpid" ]'

old=$dpid
init restart
st=$?
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
check "restart: exit 0" test "$st" = 0
check "restart: the old daemon is gone" all_dead "$old"
check "restart: a new pid, alive" \
    eval '[ -n "$dpid" ] && [ "$dpid" != "$old" ] && alive "$dpid"'
client c -u "$SOCK" "?session=inst"
send c '{"type":"run","batch":"b2","tasks":[{"task":"echo","args":[2]}]}'
check "restart: the new daemon runs a batch" \
    expect c '"type":"done","batch":"b2","ok":1'

# Stop during a batch: a graceful stop (close 1001, the task reaped).
send c '{"type":"run","batch":"b3","tasks":[{"task":"sleep","args":60}]}'
wait_for 5 eval '[ -n "$(for w in $(children "$dpid"); do children "$w"; done)" ]'
workers=$(children "$dpid")
tasks=$(for w in $workers; do children "$w"; done)
check "a sleep task runs" test -n "$tasks"
t0=$(t_now_ms)
init stop
st=$?
t1=$(t_now_ms)
check "stop: exit 0, in $((t1 - t0)) ms (< 8 s)" \
    eval '[ "$st" = 0 ] && [ $((t1 - t0)) -lt 8000 ]'
check "stop: the daemon is gone" all_dead "$dpid"
# shellcheck disable=SC2086
check "stop: its workers and the task are gone" all_dead $workers $tasks
check "stop: the client was closed with 1001" expect c '^close 1001' 5
check "stop: the pid file is gone (the script removes it)" test ! -e "$PF"
check "stop: the unix socket was removed" test ! -e "$SOCK"
close_client c
init status
check "status after stop: 3" test $? = 3
init stop
check "stop when stopped: exit 0" test $? = 0
check "... says not running" grep -q "not running" "$WT_DIR/init.out"

# A daemon that dies without its stop: status 1, and start reuses the file.
init start
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
wait_for 5 has_children "$dpid"	# its spare: the check below needs pids
workers=$(children "$dpid")
kill -KILL "$dpid"
assert_dead 5 "$dpid"
init status
check "status after a SIGKILL: 1 (not running, the pid file exists)" test $? = 1
# shellcheck disable=SC2086
check "... its workers leave by themselves" assert_dead 5 $workers
init start
st=$?
dpid=$(pidfile_pid)
DPIDS="$DPIDS $dpid"
check "start over the stale pid file: exit 0, running" \
    eval '[ "$st" = 0 ] && alive "$dpid"'
init stop
st=$?
check "... and stop: exit 0, all gone" \
    eval '[ "$st" = 0 ] && all_dead "$dpid" && [ ! -e "$PF" ]'

# Refusals, through the environment overrides.
printf 'WSTASKD_USER=wstaskd-no-such-user\n' > "$WT_DIR/nouser.default"
WSTASKD_DEFAULTS=$WT_DIR/nouser.default init start
st=$?
check "a missing user: exit 6 (not configured)" test "$st" = 6
check "... with a message that says how to create it" \
    grep -q "no user 'wstaskd-no-such-user'.*adduser --system" "$WT_DIR/init.out"
WSTASKD_DAEMON=$WT_DIR/no-such-binary init start
check "a missing binary: exit 5 (not installed)" test $? = 5
init bogus
st=$?
check "an unknown action: exit 3 and the usage" \
    eval '[ "$st" = 3 ] && grep -q "^Usage:" "$WT_DIR/init.out"'
check "nothing of ours is left running" test -z "$(supervisors)"
check "no sanitizer report" test -z "$(ls -A "$WT_DIR/san")"

# --- install again, uninstall ----------------------------------------
mk install > "$WT_DIR/install2.log" 2>&1
check "install again keeps the changed defaults file" \
    eval 'grep -qx "WSTASKD_USER=nobody" "$E/default/wstaskd" &&
    grep -q "keeping $E/default/wstaskd" "$WT_DIR/install2.log"'
mk uninstall > "$WT_DIR/uninstall.log" 2>&1
check "uninstall keeps the changed defaults file" \
    eval '[ -f "$E/default/wstaskd" ] &&
    grep -q "keeping $E/default/wstaskd: it was changed" "$WT_DIR/uninstall.log"'
rm -f "$E/default/wstaskd"
mk install > "$WT_DIR/install3.log" 2>&1
mk uninstall > "$WT_DIR/uninstall3.log" 2>&1
check "uninstall removes an unchanged defaults file" test ! -e "$E/default/wstaskd"
# Left: the init script's run directory, and etc and etc/default, which
# held the kept defaults file when the last install ran: uninstall
# removes only the directories that install created.
LC_ALL=C sort > "$WT_DIR/expected" <<EOF
755 etc
755 etc/default
755 run
EOF
listing > "$WT_DIR/left"
if cmp -s "$WT_DIR/expected" "$WT_DIR/left"; then
	ok "uninstall leaves only the directories it found, empty"
else
	fail "uninstall leaves only the directories it found, empty" \
	    "$(diff "$WT_DIR/expected" "$WT_DIR/left")"
fi
