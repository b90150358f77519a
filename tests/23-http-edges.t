#!/bin/bash
# HTTP edges that real clients hit (issue 11): a long path is 404, not
# 405; HEAD is answered like GET, without a body.
. "$(dirname "$0")/lib.sh"
plan 15

RAWHTTP=$T_ROOT/tests/rawhttp.py
rawhttp() { /usr/bin/python3 "$RAWHTTP" "$@"; }

# a N: N bytes of 'a'.
a() { head -c "$1" /dev/zero | tr '\0' a; }

# head_only FILE: FILE (rawhttp's output) ends with the head's blank line.
head_only() { test "$(tail -c 2 "$1" | od -An -c | tr -d ' ')" = '\n\n'; }

CURL_UPGRADE=(-H 'Connection: Upgrade' -H 'Upgrade: websocket'
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')

start_wstaskd || exit 1

# ------------------------------------------------------------ long paths
code=$(curl -s -o "$WT_DIR/body" -w '%{http_code}' "$T_HTTP/$(a 300)")
check "a 300-byte path is 404, not 405" test "$code $(cat "$WT_DIR/body")" = "404 not found"
code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/$(a 255)?x=$(a 300)")
check "a 255-byte path with a long query is 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/healthz/$(a 300)")
check "a long path under /healthz is 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' "${CURL_UPGRADE[@]}" \
    "$T_HTTP/stream$(a 300)")
check "an upgrade on a 300-byte path is 404" test "$code" = 404
out=$(curl -s -i -X POST "$T_HTTP/healthz" | tr -d '\r')
check "POST /healthz is still 405, with Allow: GET, HEAD" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -q "^HTTP/1.1 405 " &&
    printf "%s\n" "$1" | grep -qix "allow: GET, HEAD"' _ "$out"

# ------------------------------------------------------------------ HEAD
out=$(rawhttp "$T_PORT" $'HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check "HEAD /healthz: 200, Content-Length 3, no body" \
    test "$out" = "$(printf 'HTTP/1.1 200 OK\ncontent-type: text/plain\ncontent-length: 3\ncache-control: no-store\n\n')"
body=$(curl -s "$T_HTTP/handlers")
rawhttp "$T_PORT" $'HEAD /handlers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$WT_DIR/h1"
check "HEAD /handlers: 200, the GET's Content-Length, no body" \
    sh -c 'head -n 1 "$1" | grep -qx "HTTP/1.1 200 OK" &&
    grep -qx "content-length: $2" "$1"' _ "$WT_DIR/h1" "${#body}"
check "... and no body" head_only "$WT_DIR/h1"
size=$(stat -c %s "$T_ROOT/www/index.html")
rawhttp "$T_PORT" $'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$WT_DIR/h2"
check "HEAD / (a static file): 200, its size, no body" \
    sh -c 'head -n 1 "$1" | grep -qx "HTTP/1.1 200 OK" &&
    grep -qx "content-length: $2" "$1"' _ "$WT_DIR/h2" "$size"
check "... and no body" head_only "$WT_DIR/h2"
rawhttp "$T_PORT" $'HEAD /no-such-file HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' > "$WT_DIR/h3"
check "HEAD of a missing file: 404, no body" \
    sh -c 'head -n 1 "$1" | grep -qx "HTTP/1.1 404 Not Found"' _ "$WT_DIR/h3"
check "... and no body" head_only "$WT_DIR/h3"
out=$(rawhttp "$T_PORT" $'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n' \
    $'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
check "HEAD then GET on one kept-alive connection: both answered, one body" \
    test "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 200 OK$') $(printf '%s\n' "$out" | tail -n 1)" = "2 ok"
code=$(curl -s -o /dev/null -I -w '%{http_code}' "$T_HTTP/healthz")
check "curl -I /healthz: 200" test "$code" = 200
stop_wstaskd
check "the daemon stops cleanly after all that" test "$T_DSTATUS" = 0
