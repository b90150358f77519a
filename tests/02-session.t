#!/bin/bash
# The session id (SPEC 2.1): ?session= (URL-decoded), a hello, a bare id
# text, a random id (a new one per connection) for a first run, the 128
# character limit, bad ids of every source (bad_session, then 1008, and
# nothing sent after the bad id runs), bad JSON first (bad_json, stays
# open), and `ready` before any other event.
. "$(dirname "$0")/lib.sh"

start_wstaskd --spare 1

client q "?session=from-query"
check "?session=ID: ready names it" \
    expect q '^\{"type":"ready","session":"from-query","superseded":false\}$'
send q '{"type":"hello","session":"other"}'
check "a hello after the session is known is bad_message" \
    expect q '"type":"error","code":"bad_message"'

client h ""
send h '{"type":"hello","session":"from.hello_1:2-3"}'
check "hello: ready names it" \
    expect h '^\{"type":"ready","session":"from.hello_1:2-3","superseded":false\}$'

client b ""
send b 'abc-123'
check "a bare id text: ready names it" expect b '"type":"ready","session":"abc-123"'
client n ""
send n '1'
check "a bare number is an id" expect n '"type":"ready","session":"1"'

client r ""
send r '{"type":"run","batch":"x","tasks":["echo"]}'
check "a first run without id gets a random 32-hex id" \
    expect r '^\{"type":"ready","session":"[0-9a-f]{32}","superseded":false\}$'
check "... and then runs" expect r '"type":"done","batch":"x","ok":1'
check "ready is the first line after open" \
    sh -c "sed -n 2p '$WT_DIR/r.out' | grep -q '\"type\":\"ready\"'"

client a ""
send a '["echo"]'
check "a first bare array is a run with a random id" \
    expect a '"type":"done","batch":"1","ok":1'
rid1=$(sed -n 's/^{"type":"ready","session":"\([0-9a-f]\{32\}\)",.*/\1/p' "$WT_DIR/r.out")
rid2=$(sed -n 's/^{"type":"ready","session":"\([0-9a-f]\{32\}\)",.*/\1/p' "$WT_DIR/a.out")
if [ ${#rid1} = 32 ] && [ ${#rid2} = 32 ] && [ "$rid1" != "$rid2" ]; then
	ok "two connections that start with a run get different random ids"
else
	fail "two connections that start with a run get different random ids" \
	    "ids: '$rid1' '$rid2'"
fi

client pe "?session=a%2Db"
check "a percent-encoded query id (a%2Db) is decoded: ready names a-b" \
    expect pe '^\{"type":"ready","session":"a-b","superseded":false\}$'
long128=$(printf 'x%.0s' $(seq 128))
client l128 "?session=$long128"
check "a 128-character query id is accepted" \
    expect l128 "^\\{\"type\":\"ready\",\"session\":\"$long128\",\"superseded\":false\\}\$"
client l128h ""
send l128h "{\"type\":\"hello\",\"session\":\"y${long128#x}\"}"
check "a 128-character hello id is accepted" \
    expect l128h "^\\{\"type\":\"ready\",\"session\":\"y${long128#x}\",\"superseded\":false\\}\$"
client l129h ""
send l129h "{\"type\":\"hello\",\"session\":\"y$long128\"}"
check "a 129-character hello id: bad_session, close 1008" \
    eval "expect l129h '\"type\":\"error\",\"code\":\"bad_session\"' && expect l129h '^close 1008'"

long=$(printf 'a%.0s' $(seq 129))
for case in "?session=|empty query" "?session=$long|129 characters" \
    "?session=a%20b|a space" "?session=%C3%A9|non-ASCII"; do
	q=${case%|*}
	client bq "$q"
	if expect bq '"type":"error","code":"bad_session"' && expect bq '^close 1008'; then
		ok "bad query id (${case#*|}): bad_session, close 1008"
	else
		fail "bad query id (${case#*|}): bad_session, close 1008" "$(cat "$WT_DIR/bq.out")"
	fi
	close_client bq
done

client bh ""
send bh '{"type":"hello","session":"a/b"}'
check "bad hello id: bad_session, 1008" \
    eval "expect bh bad_session && expect bh '^close 1008'"

client bt ""
send bt 'hello world'
expect bt '^close 1008'
bt_err=$(line_no bt '^\{"type":"error","code":"bad_session","message":"[^"]+"\}$')
bt_close=$(line_no bt '^close 1008')
if [ "$bt_err" -gt 0 ] && [ "$bt_close" -gt "$bt_err" ]; then
	ok "a first text that is no id: bad_session, then close 1008"
else
	fail "a first text that is no id: bad_session, then close 1008" \
	    "$(cat "$WT_DIR/bt.out")"
fi

client bj ""
send bj '{"type":'
check "a first message starting with { that does not parse: bad_json" \
    expect bj '"type":"error","code":"bad_json"'
send bj '{"type":"hello","session":"after-bad-json"}'
check "... and the connection stays open" expect bj '"type":"ready","session":"after-bad-json"'

# A refused connection is over: what it sent after the bad id (here in the
# same write, so it is read before the close) must not claim anything.
client v "?session=victim"
expect v '"type":"ready"'
send v '{"type":"run","batch":"vb","tasks":[{"task":"sleep","args":3}]}'
expect v '"type":"started","batch":"vb"'
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" /stream '!!!' \
    '{"type":"hello","session":"victim"}' > "$WT_DIR/raw1.out" 2>&1
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" '/stream?session=b%21d' \
    '{"type":"hello","session":"victim"}' > "$WT_DIR/raw2.out" 2>&1
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" /stream '!!!' \
    '{"type":"run","batch":"bad-bare","tasks":[{"task":"sleep","args":0.1}]}' \
    '[{"task":"sleep","args":0.1}]' > "$WT_DIR/raw3.out" 2>&1
# The other sources of a bad id, each followed by runs in the same write
# (sleep records its start: nothing may be recorded for these batches).
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" '/stream?session=b%21d' \
    '{"type":"run","batch":"bad-query","tasks":[{"task":"sleep","args":0.1}]}' \
    > "$WT_DIR/raw4.out" 2>&1
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" /stream \
    '{"type":"hello","session":"a/b"}' \
    '{"type":"run","batch":"bad-hello","tasks":[{"task":"sleep","args":0.1}]}' \
    > "$WT_DIR/raw5.out" 2>&1
/usr/bin/python3 "$T_ROOT/tests/rawframes.py" "$T_PORT" /stream 'hello world' \
    '{"type":"hello","session":"ok-after-bad"}' \
    '{"type":"run","batch":"bad-text","tasks":[{"task":"sleep","args":0.1}]}' \
    > "$WT_DIR/raw6.out" 2>&1
check "bad bare id then a hello in one write: bad_session, 1008, nothing else" \
    test "$(sed 's/,"message":"[^"]*"//' "$WT_DIR/raw1.out" | paste -sd' ')" = \
    '{"type":"error","code":"bad_session"} close 1008'
check "bad query id then a hello in one write: bad_session, 1008, nothing else" \
    test "$(sed 's/,"message":"[^"]*"//' "$WT_DIR/raw2.out" | paste -sd' ')" = \
    '{"type":"error","code":"bad_session"} close 1008'
check "bad bare id then a run in one write: bad_session, 1008, nothing else" \
    test "$(sed 's/,"message":"[^"]*"//' "$WT_DIR/raw3.out" | paste -sd' ')" = \
    '{"type":"error","code":"bad_session"} close 1008'
check "... the session they named was not taken over" \
    expect v '"type":"result","batch":"vb","id":"0","ok":true' 10
check "... nor claimed" test "$(grep -c 'event=claim session=victim' "$WT_DIR/daemon.log")" = 1

for i in 4 5 6; do
	if [ "$(sed -E 's/,"message":"([^"\\]|\\.)*"//' "$WT_DIR/raw$i.out" | paste -sd' ')" = \
	    '{"type":"error","code":"bad_session"} close 1008' ]; then
		ok "bad id then a run in one write ($i): bad_session, 1008, nothing else"
	else
		fail "bad id then a run in one write ($i): bad_session, 1008, nothing else" \
		    "$(cat "$WT_DIR/raw$i.out")"
	fi
done
# A control: the same runs from a good connection do record their start.
client ctl "?session=control"
send ctl '{"type":"run","batch":"good","tasks":[{"task":"sleep","args":0.1}]}'
expect ctl '"type":"done","batch":"good","ok":1'
check "... (a run that is let through does record its handler start)" \
    test "$(n_records start control good)" = 1
check "nothing ran for bad sessions: no handler start recorded for their runs" \
    test "$(awk '$1 == "start" && $4 != "vb" && $4 != "good"' "$WT_DIR/records" | wc -l)" = 0
check "... and the daemon spawned sleep for vb and good only" \
    test "$(grep -c 'event=spawn .* handler=sleep ' "$WT_DIR/daemon.log")" = 2
