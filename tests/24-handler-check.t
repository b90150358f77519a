#!/bin/bash
# What a run is told about a handler that cannot run (SPEC 3, issue 11):
# a file that exists but is not executable, or is not a regular file, is
# named as such instead of "unknown handler", and /handlers lists neither.
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/wstaskd-handlers.XXXXXX)
chmod 755 "$dir"
cp "$T_HANDLERS/echo" "$dir/echo"
printf '#!/bin/sh\necho hi\n' > "$dir/plain"
chmod 644 "$dir/plain"
mkdir "$dir/adir"
start_wstaskd -t "$dir" --spare 0
client c "?session=hcheck"
expect c '"type":"ready"'
send c '{"type":"run","batch":"a","tasks":["echo","plain"]}'
check "a non-executable file: named as not executable" \
    expect c '"code":"bad_batch","message":"task 1: handler \\"plain\\" is not executable","batch":"a"'
send c '{"type":"run","batch":"b","tasks":["adir"]}'
check "a directory: named as not a regular file" \
    expect c '"code":"bad_batch","message":"task 0: handler \\"adir\\" is not a regular file","batch":"b"'
send c '{"type":"run","batch":"c","tasks":["nosuch"]}'
check "a missing file: unknown handler" \
    expect c '"code":"bad_batch","message":"task 0: unknown handler \\"nosuch\\"","batch":"c"'
send c '{"type":"run","batch":"d","tasks":["echo"]}'
check "a usable handler still runs" expect c '"type":"done","batch":"d","ok":1'
body=$(curl -s "$T_HTTP/handlers")
check "/handlers lists only the usable one" test "$body" = '["echo"]'
chmod 755 "$dir/plain"
send c '{"type":"run","batch":"e","tasks":["plain"]}'
check "made executable, it runs at once (no restart)" expect c '"type":"result","batch":"e","id":"0","ok":true'
check "the refusals did not end the session" alive "$T_DPID"
close_client c
stop_wstaskd
rm -rf "$dir"
