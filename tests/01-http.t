#!/bin/bash
# HTTP side (SPEC 4): /healthz, /handlers, static files, --www '', the
# WebSocket path, and listening on TCP v4, v6 and unix sockets.
. "$(dirname "$0")/lib.sh"

start_wstaskd

body=$(curl -s -o - -w ' %{http_code}' "$T_HTTP/healthz")
check "/healthz answers 200 ok" test "$body" = "ok
 200"

body=$(curl -s "$T_HTTP/handlers")
expected=$(cd "$T_HANDLERS" && for f in *; do
	[ -f "$f" ] && [ -x "$f" ] && echo "\"$f\""; done | LC_ALL=C sort |
	paste -sd, | sed 's/^/[/; s/$/]/')
check "/handlers lists the executable handlers, sorted" test "$body" = "$expected"
case $body in *notexec*) fail "/handlers hides a non-executable file" "$body" ;;
*) ok "/handlers hides a non-executable file" ;; esac

code=$(curl -s -o "$WT_DIR/index" -w '%{http_code}' "$T_HTTP/")
check "GET / serves www/index.html" \
    sh -c "[ $code = 200 ] && cmp -s '$WT_DIR/index' '$T_ROOT/www/index.html'"

code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/no-such-file")
check "a missing file is 404" test "$code" = 404

code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$T_HTTP/elsewhere")
check "a WebSocket upgrade on another path is refused (404)" test "$code" = 404

client c1 "?session=http1"
check "a WebSocket upgrade on --path works" expect c1 '"type":"ready"'
close_client c1
stop_wstaskd
check "SIGTERM stops it with status 0" test "$T_DSTATUS" = 0

start_wstaskd -w '' -l "unix:$WT_DIR/sock" -l '[::1]:0'
code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/")
check "--www '' serves no files" test "$code" = 404

body=$(curl -s --unix-socket "$WT_DIR/sock" http://localhost/healthz)
check "a unix socket listener serves" test "$body" = ok

v6port=$(grep -o 'event=listen addr=\[::1\]:[0-9]*' "$WT_DIR/daemon.log" | sed 's/.*://')
body=$(curl -s "http://[::1]:$v6port/healthz")
check "an IPv6 listener serves" test "$body" = ok
stop_wstaskd
check "the unix socket is removed on stop" test ! -e "$WT_DIR/sock"
