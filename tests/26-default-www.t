#!/bin/bash
# The compiled-in default --www (issue 11): missing, as for an uninstalled
# build/wstaskd -t DIR, it is one warning (event=no-www) and no pages, not
# a refusal; a missing directory given with -w stays an error (exit 64).
. "$(dirname "$0")/lib.sh"

F=$WT_DIR/fx
mkdir -p "$F/tasks"
cp "$T_HANDLERS/echo" "$F/tasks/"

# run ARGS...: runs wstaskd (5 s at most), sets OUT and STATUS.
run() {
	OUT=$(timeout 5 "$WSTASKD" -l 127.0.0.1:0 "$@" 2>&1 >/dev/null)
	STATUS=$?
}
one_line() { [ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ]; }
names() { case $OUT in *"$1"*) return 0 ;; *) return 1 ;; esac; }

def=$("$WSTASKD" --help | sed -n 's/.*--www.*(default \(.*\))$/\1/p')
if [ -z "$def" ] || [ -e "$def" ]; then
	# Installed here: build a copy whose default is missing.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$T_ROOT" \
	    --no-print-directory B="$WT_DIR/build" DATADIR="$WT_DIR/nodata" \
	    "$WT_DIR/build/wstaskd" > "$WT_DIR/build.log" 2>&1
	WSTASKD=$WT_DIR/build/wstaskd
	def=$WT_DIR/nodata/wstaskd/www
fi
run -n --allow-root -t "$F/tasks"
check "-n without -w, the default $def missing: exit 0" test "$STATUS" = 0
check "... with one warning naming it" \
    eval 'names "event=no-www dir=$def" &&
    test "$(grep -c "event=no-www" <<< "$OUT")" = 1'
# start_wstaskd always gives -w: start one as `build/wstaskd -t DIR` is.
: > "$WT_DIR/daemon.log"
(
	t_close_client_fds
	# shellcheck disable=SC2086
	exec ${WSTASKD_WRAP:-} "$WSTASKD" -l 127.0.0.1:0 -t "$F/tasks" \
	    --allow-root 2>> "$WT_DIR/daemon.log"
) &
T_DPID=$!
if wait_for 5 grep -q 'event=listen addr=127.0.0.1:' "$WT_DIR/daemon.log"; then
	port=$(grep -o 'event=listen addr=127.0.0.1:[0-9]*' "$WT_DIR/daemon.log" |
	    head -n 1 | sed 's/.*://')
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/index.html")
	check "started without -w, the default missing: a page is 404 (got $code)" \
	    test "$code" = 404
else
	fail "started without -w, the default missing" "$(cat "$WT_DIR/daemon.log")"
fi
stop_wstaskd
check "... and exits 0 at a stop" test "$T_DSTATUS" = 0
run -n --allow-root -t "$F/tasks" -w "$F/nonexistent"
check "-w naming a missing directory: still exit 64, one line" \
    eval 'test "$STATUS" = 64 && one_line && names "--www: $F/nonexistent"'
