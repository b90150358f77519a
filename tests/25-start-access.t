#!/bin/bash
# The daemon refuses to start when its workers could not work (issue 11):
# a --tasks or --www directory that the --user cannot read or search is
# one line naming the flag, the path and the reason, exit 64, both for -n
# (checked in a child that drops to the user, so it is the user's access
# that counts, not root's) and for a real start (nothing bound, nothing
# forked).
#
# The fixtures live in $WT_DIR made world-searchable, never in the
# checkout (which may sit in a directory nobody cannot enter).
. "$(dirname "$0")/lib.sh"

chmod 755 "$WT_DIR"
F=$WT_DIR/fx
mkdir -p "$F/tasks" "$F/www" "$F/closed"
cp "$T_HANDLERS/echo" "$F/tasks/"
echo '<p>hello</p>' > "$F/www/index.html"
chmod 755 "$F" "$F/tasks" "$F/www" "$F/tasks/echo"
chmod 644 "$F/www/index.html"
chmod 700 "$F/closed"

# run NAME ARGS...: runs wstaskd (5 s at most), sets OUT and STATUS.
run() {
	OUT=$(timeout 5 "$WSTASKD" -l 127.0.0.1:0 "$@" 2>&1 >/dev/null)
	STATUS=$?
}
one_line() { [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]; }
names() { case $OUT in *"$1"*) return 0 ;; *) return 1 ;; esac; }

if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	run -n --user nobody -t "$F/closed" -w "$F/www"
	check "-n, --tasks nobody cannot read: exit 64" test "$STATUS" = 64
	check "... one line" one_line
	check "... naming --tasks, the path and the reason" \
	    eval 'names "--tasks: $F/closed: Permission denied" && names nobody'
	check "... not 'configuration ok'" eval '! names "configuration ok"'

	run -n --user nobody -t "$F/tasks" -w "$F/closed"
	check "-n, --www nobody cannot search: exit 64" test "$STATUS" = 64
	check "... one line naming --www and the path" \
	    eval 'one_line && names "--www: $F/closed: Permission denied"'

	run -n --user nobody -t "$F/tasks" -w "$F/www"
	check "-n, both reachable by nobody: configuration ok" \
	    eval 'test "$STATUS" = 0 && names "configuration ok"'

	# Root could read it: the check is the user's access, not root's.
	run -n --allow-root -t "$F/closed" -w "$F/www"
	check "-n as root without --user: root's access counts (ok)" \
	    test "$STATUS" = 0

	# A real start: refused before anything is bound or forked.
	run --user nobody -t "$F/closed" -w "$F/www"
	check "start, --tasks nobody cannot read: exit 64" test "$STATUS" = 64
	check "... one line naming the path, nothing bound" \
	    eval 'one_line && names "--tasks: $F/closed: Permission denied" &&
	    ! names "event=listen"'
	run -D --user nobody -t "$F/tasks" -w "$F/closed"
	check "start with -D, --www nobody cannot search: exit 64" \
	    test "$STATUS" = 64
	check "... one line naming --www" \
	    eval 'one_line && names "--www: $F/closed: Permission denied"'

	# A directory inside one nobody cannot search is unreachable too.
	mkdir -p "$F/closed/tasks"
	chmod 755 "$F/closed/tasks"
	run -n --user nobody -t "$F/closed/tasks" -w ''
	check "-n, --tasks under a directory nobody cannot search: exit 64" \
	    eval 'test "$STATUS" = 64 && names "$F/closed/tasks"'

	# And the reachable set-up starts and serves as nobody.
	start_wstaskd --user nobody -t "$F/tasks" -w "$F/www"
	check "start as nobody with reachable directories" test -n "$T_PORT"
	check "... serves the page" \
	    eval 'curl -sf "$T_HTTP/index.html" | grep -q hello'
	client c "?session=startchecks"
	send c '{"type":"run","tasks":[{"task":"echo","args":"x"}]}'
	check "... and runs a handler" expect c '"type":"done".*"ok":1'
	close_client c
	stop_wstaskd
else
	for i in $(seq 16); do
		fail "needs root and a user nobody"
	done
fi

