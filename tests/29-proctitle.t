#!/bin/bash
# The process titles, started the way dist/wstaskd.init starts the daemon
# (issue 11): start-stop-daemon --startas with the binary's absolute
# path, -D and a pid file.  An argv[0] longer than the title used to show
# as "wstaskd: supervisor    ." (libbsd marks the end of the old argv[0]
# with a dot, and the kernel showed the whole old argv area).
. "$(dirname "$0")/lib.sh"

# A path as long as an installed one (/usr/local/sbin/wstaskd) or more,
# whatever the checkout's path is.
BIN=$WT_DIR/usr/local/sbin/wstaskd
mkdir -p "${BIN%/*}"
cp "$WSTASKD" "$BIN"
PF=$WT_DIR/wstaskd.pid
DPID=
cleanup() {
	[ -n "$DPID" ] && alive "$DPID" && kill -TERM "$DPID"
	[ -z "$DPID" ] || assert_dead 10 "$DPID"
}
at_exit cleanup

start-stop-daemon --start --quiet --pidfile "$PF" --name wstaskd \
    --startas "$BIN" -- -D --pidfile "$PF" --allow-root \
    --log-file "$WT_DIR/daemon.file" \
    --shutdown-timeout 10 -l 127.0.0.1:0 -t "$T_HANDLERS" -w '' \
    --spare 1 > /dev/null 2>> "$WT_DIR/daemon.log"
check "started by start-stop-daemon as the init script does" test $? = 0
DPID=$(cat "$PF" 2>/dev/null)
title=$(ps -o args= -p "$DPID")
check "the supervisor's title is 'wstaskd: supervisor' (got '$title')" \
    test "$title" = "wstaskd: supervisor"
has_spare() { [ -n "$(spares "$DPID")" ]; }
check "a spare worker is forked" wait_for 5 has_spare
w=$(spares "$DPID" | head -n 1)
wtitle=$(ps -o args= -p "$w")
check "a spare's title is 'wstaskd: worker (spare)' (got '$wtitle')" \
    test "$wtitle" = "wstaskd: worker (spare)"
kill -TERM "$DPID"
check "it stops on SIGTERM" assert_dead 10 "$DPID"
