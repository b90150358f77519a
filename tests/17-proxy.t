#!/bin/bash
# --trusted-proxy (issue 7): the client address from X-Forwarded-For or
# Forwarded is logged (and shown in ps) only when the peer is a trusted
# proxy; from anyone else the headers are ignored.
. "$(dirname "$0")/lib.sh"

"$WSTASKD" -n --trusted-proxy 10.0.0.0/33 -t "$T_HANDLERS" -w '' --allow-root 2>/dev/null
check "a bad CIDR: exit 64" test $? = 64

# upgrade SESSION HEADER: a WebSocket upgrade by hand on a socket kept
# open in $T_SOCK (so not in a subshell); the status line in $T_STATUS.
upgrade() {
	local line
	exec {T_SOCK}<>"/dev/tcp/127.0.0.1/$T_PORT"
	printf 'GET /stream?session=%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n\r\n' \
	    "$1" "$T_PORT" "$2" >&"$T_SOCK"
	read -r -t 5 line <&"$T_SOCK"
	T_STATUS=${line%$'\r'}
}
done_sock() { exec {T_SOCK}>&-; }

start_wstaskd --trusted-proxy 127.0.0.0/8 --trusted-proxy 10.0.0.0/8
upgrade x1 'X-Forwarded-For: 203.0.113.7, 10.1.2.3'
check "the upgrade through the trusted proxy works ($T_STATUS)" \
    test "$T_STATUS" = "HTTP/1.1 101 Switching Protocols"
check "X-Forwarded-For: the rightmost untrusted hop is the client" \
    wait_for 5 grep -q 'event=client peer=127.0.0.1:[0-9]* client=203.0.113.7$' "$WT_DIR/daemon.log"
wait_for 5 grep -q 'event=grant session=x1 ' "$WT_DIR/daemon.log"
w=$(worker_of x1)
check "ps shows the client" \
    eval "tr '\\0' ' ' < /proc/$w/cmdline | grep -q 'session=x1 peer=127.0.0.1:[0-9]* client=203.0.113.7'"
done_sock
upgrade x2 'Forwarded: for="[2001:db8::17]:4711";proto=https, for=10.9.9.9'
check "Forwarded: for= with a bracketed IPv6 and a port" \
    wait_for 5 grep -q 'client=2001:db8::17$' "$WT_DIR/daemon.log"
done_sock
stop_wstaskd

start_wstaskd --trusted-proxy 10.0.0.0/8
upgrade x3 'X-Forwarded-For: 203.0.113.99'
wait_for 5 grep -q 'event=grant session=x3 ' "$WT_DIR/daemon.log"
check "from an untrusted peer the header is ignored" \
    eval "! grep -q 'client=203.0.113.99' '$WT_DIR/daemon.log'"
done_sock
stop_wstaskd

start_wstaskd --trusted-proxy unix -l "unix:$WT_DIR/s"
curl -s -o /dev/null --max-time 1 --unix-socket "$WT_DIR/s" \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    -H 'X-Forwarded-For: 192.0.2.44' 'http://localhost/stream?session=u'
check "--trusted-proxy unix trusts the unix listener's peer" \
    wait_for 5 grep -q 'event=client peer=unix client=192.0.2.44$' "$WT_DIR/daemon.log"
curl -s -o /dev/null --max-time 1 -H 'X-Forwarded-For: 192.0.2.45' \
    -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$T_HTTP/stream?session=v"
check "... and not a TCP peer" eval "! grep -q 'client=192.0.2.45' '$WT_DIR/daemon.log'"
