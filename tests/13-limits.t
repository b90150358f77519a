#!/bin/bash
# --max-sessions (SPEC 5): connections over it get an HTTP 503 written by
# the supervisor (not lost to a reset), a rate-limited log line names the
# flag, spare workers do not count, and a freed slot serves again.
. "$(dirname "$0")/lib.sh"

start_wstaskd --max-sessions 2 --spare 3
client a "?session=m1"
client b "?session=m2"
expect a '"type":"ready"'
expect b '"type":"ready"'
code=$(curl -s -o "$WT_DIR/503" -w '%{http_code}' "$T_HTTP/healthz")
check "a third connection gets 503" test "$code" = 503
check "... with a body that says why" grep -q 'capacity' "$WT_DIR/503"
check "the log names --max-sessions" grep -q 'refusing connections: --max-sessions' "$WT_DIR/daemon.log"
for i in 1 2 3 4 5; do curl -s -o /dev/null "$T_HTTP/healthz"; done
check "the refusal is logged once, not per connection" \
    test "$(grep -c 'refusing connections' "$WT_DIR/daemon.log")" = 1
client c "?session=m3"
check "a WebSocket client over the limit is refused with 503" expect c '^status 503'
close_client a
# Each probe holds a worker (and a slot) until that worker has exited.
healthz_ok() { [ "$(curl -s "$T_HTTP/healthz")" = ok ]; }
check "a freed slot serves again" wait_for 5 healthz_ok
spares_ge() { [ "$(spares "$T_DPID" | wc -l)" -ge "$1" ]; }
# A spare is replaced a few milliseconds after it took a connection.
check "spares are kept (3) besides the connections" wait_for 2 spares_ge 3
