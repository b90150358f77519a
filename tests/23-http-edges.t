#!/bin/bash
# HTTP edges that real clients hit (issue 11): request headers up to
# --max-headers are served and larger ones answered 431 (414 for a URL
# alone), over TLS too; a long path is 404, not 405; a malformed
# %-escape gets a plain 400 with its reason, not libwebsockets' HTML 403;
# an upgrade offering only other subprotocols completes without
# Sec-WebSocket-Protocol; HEAD is answered like GET, without a body.
# Every refusal has its log line.
. "$(dirname "$0")/lib.sh"

RAWHTTP=$T_ROOT/tests/rawhttp.py
rawhttp() { /usr/bin/python3 "$RAWHTTP" "$@"; }

# a N: N bytes of 'a'.
a() { head -c "$1" /dev/zero | tr '\0' a; }

# get_cookie BYTES [CURL-ARG...]: "CODE BODY" of GET /healthz with a Cookie
# of BYTES (from a file: the command line would be too long).
get_cookie() {
	local n=$1 code
	shift
	printf 'Cookie: %s\n' "$(a "$n")" > "$WT_DIR/hdr"
	code=$(curl -s "$@" -o "$WT_DIR/body" -w '%{http_code}' -H @"$WT_DIR/hdr" \
	    "$T_HTTP/healthz")
	echo "$code $(cat "$WT_DIR/body")"
}

logged() { grep -qE -- "$1" "$WT_DIR/daemon.log"; }

# head_only FILE: FILE (rawhttp's output) ends with the head's blank line.
head_only() { test "$(tail -c 2 "$1" | od -An -c | tr -d ' ')" = '\n\n'; }

CURL_UPGRADE=(-H 'Connection: Upgrade' -H 'Upgrade: websocket'
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
UPGRADE=$'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'


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
# ------------------------------------------------ headers and --max-headers
check "a 16 KiB cookie is served (200)" test "$(get_cookie 16384)" = "200 ok"
check "a 30000-byte cookie is served under the default --max-headers" \
    test "$(get_cookie 30000)" = "200 ok"
check "a 40000-byte cookie gets 431 with a one-line reason" \
    test "$(get_cookie 40000)" = "431 request headers over 32768 bytes"
check "the 431 is logged, naming --max-headers" \
    logged 'event=refuse peer=[^ ]+ status=431 reason="request headers over 32768 bytes \(--max-headers\)"'
check "a 1 MB cookie gets the 431 too, not a reset" \
    test "$(get_cookie 1000000)" = "431 request headers over 32768 bytes"
out=$(rawhttp "$T_PORT" "GET /$(a 40000) HTTP/1.1"$'\r\nHost: x\r\n\r\n')
check "a URL longer than --max-headers gets 414" \
    test "$(printf '%s\n' "$out" | head -n 1)" = "HTTP/1.1 414 URI Too Long"
check "... with its reason as the body, and a log line" \
    sh -c 'printf "%s\n" "$1" | tail -n 1 | grep -qx "URL over 32768 bytes" &&
    grep -q "status=414 reason=\"URL over 32768 bytes (--max-headers)\"" "$2"' \
    _ "$out" "$WT_DIR/daemon.log"
code=$(curl -s -o "$WT_DIR/body" -w '%{http_code}' \
    "$T_HTTP/healthz?$(printf 'a&%.0s' $(seq 200))")
check "a URL with 200 arguments gets 431" \
    test "$code $(cat "$WT_DIR/body")" = "431 too many header fields or URL arguments"
check "libwebsockets' own 'Ran out of header data space' is not logged" \
    sh -c '! grep -q "Ran out of header data space" "$1"' _ "$WT_DIR/daemon.log"

# ------------------------------------------------- malformed %-escapes
out=$(rawhttp "$T_PORT" "GET /stream?session=% HTTP/1.1"$'\r\nHost: x\r\n'"$UPGRADE"$'\r\n')
check "?session=% on an upgrade: HTTP/1.1 400" \
    test "$(printf '%s\n' "$out" | head -n 1)" = "HTTP/1.1 400 Bad Request"
check "... text/plain, one line of reason, no HTML" \
    sh -c 'printf "%s\n" "$1" | grep -qx "content-type: text/plain" &&
    printf "%s\n" "$1" | tail -n 1 | grep -qx "malformed %-escape in the URL" &&
    ! printf "%s\n" "$1" | grep -q "<html>"' _ "$out"
check "... and logged" \
    logged 'event=refuse peer=[^ ]+ status=400 reason="malformed %-escape in the URL"'
out=$(curl -s -i "$T_HTTP/x%zz" | tr -d '\r')
check "%zz in a plain GET path: 400 with the reason" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -qx "HTTP/1.1 400 Bad Request" &&
    printf "%s\n" "$1" | tail -n 1 | grep -qx "malformed %-escape in the URL"' _ "$out"
out=$(rawhttp "$T_PORT" $'FROB / HTTP/1.1\r\nHost: x\r\n\r\n')
check "an unknown method gets 501, logged" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -qx "HTTP/1.1 501 Not Implemented" &&
    grep -q "status=501 reason=\"unknown method\"" "$2"' _ "$out" "$WT_DIR/daemon.log"

# ------------------------------------------------------- subprotocols
out=$(rawhttp -w '{"type":"hello","session":"sp1"}' "$T_PORT" \
    "GET /stream HTTP/1.1"$'\r\nHost: x\r\nSec-WebSocket-Protocol: other\r\n'"$UPGRADE"$'\r\n')
check "only 'other' offered: 101" \
    test "$(printf '%s\n' "$out" | head -n 1)" = "HTTP/1.1 101 Switching Protocols"
check "... without Sec-WebSocket-Protocol" \
    sh -c '! printf "%s\n" "$1" | grep -qi "^sec-websocket-protocol"' _ "$out"
check "... and the session works (ready)" \
    sh -c 'printf "%s\n" "$1" | grep -q "\"type\":\"ready\",\"session\":\"sp1\""' _ "$out"
check "... logged as event=subprotocol" \
    logged 'event=subprotocol peer=[^ ]+ offered="other" selected=none'
out=$(rawhttp -w '{"type":"hello","session":"sp2"}' "$T_PORT" \
    "GET /stream HTTP/1.1"$'\r\nHost: x\r\nSec-WebSocket-Protocol: a, b.c\r\n'"$UPGRADE"$'\r\n')
check "several others offered: 101 without the header, session works" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -q " 101 " &&
    ! printf "%s\n" "$1" | grep -qi "^sec-websocket-protocol" &&
    printf "%s\n" "$1" | grep -q "\"session\":\"sp2\""' _ "$out"
out=$(rawhttp "$T_PORT" \
    "GET /stream HTTP/1.1"$'\r\nHost: x\r\nSec-WebSocket-Protocol: other, wstask.v1\r\n'"$UPGRADE"$'\r\n')
check "'other, wstask.v1' offered: wstask.v1 selected" \
    sh -c 'printf "%s\n" "$1" | grep -qx "Sec-WebSocket-Protocol: wstask.v1"' _ "$out"
out=$(rawhttp "$T_PORT" \
    "GET /stream HTTP/1.1"$'\r\nHost: x\r\nSec-WebSocket-Protocol: '"$(a 200)"$'\r\n'"$UPGRADE"$'\r\n')
check "an offer libwebsockets cannot read (200 bytes): 400 with the reason, logged" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -qx "HTTP/1.1 400 Bad Request" &&
    printf "%s\n" "$1" | tail -n 1 | grep -qx "Sec-WebSocket-Protocol over 127 bytes" &&
    grep -q "status=400 reason=\"Sec-WebSocket-Protocol over 127 bytes\"" "$2"' \
    _ "$out" "$WT_DIR/daemon.log"
code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "${CURL_UPGRADE[@]}" \
    -H 'Sec-WebSocket-Protocol: other' "$T_HTTP/stream")
check "curl offering 'other' gets 101" test "$code" = 101
out=$(/usr/bin/python3 - "$T_PORT" <<'EOF'
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/stream?session=sp3" % sys.argv[1],
                                  subprotocols=["other"]) as ws:
        print(ws.subprotocol, await ws.recv())
asyncio.run(main())
EOF
)
check "python3-websockets offering 'other': connected, no subprotocol, ready" \
    test "$out" = 'None {"type":"ready","session":"sp3","superseded":false}'

stop_wstaskd
check "the daemon stops cleanly after all that" test "$T_DSTATUS" = 0

# ---------------------------------------------------- --max-headers 4096
start_wstaskd --max-headers 4096 || exit 1
check "--max-headers 4096: a 3000-byte cookie is served" \
    test "$(get_cookie 3000)" = "200 ok"
check "--max-headers 4096: a 5000-byte cookie gets 431" \
    test "$(get_cookie 5000)" = "431 request headers over 4096 bytes"
stop_wstaskd

# ------------------------------------------------------------------ TLS
pki=$WT_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$pki/key.pem" -out "$pki/cert.pem" -subj /CN=127.0.0.1 \
    -days 2 2>/dev/null
start_wstaskd --ssl-cert "$pki/cert.pem" --ssl-key "$pki/key.pem" || exit 1
T_HTTP=https://127.0.0.1:$T_PORT
check "over TLS: a 40000-byte cookie gets 431" \
    test "$(get_cookie 40000 -k)" = "431 request headers over 32768 bytes"
out=$(curl -sk -i "$T_HTTP/x%zz" | tr -d '\r')
check "over TLS: %zz gets the 400 and its reason, nothing after" \
    sh -c 'printf "%s\n" "$1" | head -n 1 | grep -qx "HTTP/1.1 400 Bad Request" &&
    printf "%s\n" "$1" | tail -n 1 | grep -qx "malformed %-escape in the URL"' _ "$out"
check "over TLS: HEAD /healthz: 200" \
    test "$(curl -sk -o /dev/null -I -w '%{http_code}' "$T_HTTP/healthz")" = 200
stop_wstaskd
