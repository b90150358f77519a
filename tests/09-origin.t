#!/bin/bash
# The Origin check (SPEC 4) and the subprotocol (SPEC 2): an upgrade with a
# foreign Origin is refused with 403 before the upgrade and claims nothing;
# Origin matching the Host is accepted (host case-insensitive, default
# ports 80/443 implied), look-alike hosts are not; --origin allows exactly
# the given origins; --origin '*' allows any; no Origin header is allowed.
# wstask.v1 is selected when offered and not required.
. "$(dirname "$0")/lib.sh"

# upgrade HOST ORIGIN SESSION: the HTTP status of a raw upgrade request
# with these Host and Origin headers (ORIGIN "-": no Origin header).
upgrade() {
	local o=()
	[ "$2" != - ] && o=(-H "Origin: $2")
	curl -s -i --max-time 2 -o "$WT_DIR/curl.out" \
	    -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	    -H 'Sec-WebSocket-Version: 13' \
	    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
	    -H "Host: $1" "${o[@]}" "$T_HTTP/stream?session=$3"
	head -n 1 "$WT_DIR/curl.out" | tr -d '\r' | awk '{ print $2 }'
}

# want STATUS HOST ORIGIN SESSION DESC
want() {
	local got
	got=$(upgrade "$2" "$3" "$4")
	if [ "$got" = "$1" ]; then
		ok "$5: $1"
	else
		fail "$5: $1" "Host: $2, Origin: $3: got '$got'"
	fi
}

claimed() { grep -qE "event=claim session=$1 " "$WT_DIR/daemon.log"; }

start_wstaskd --spare 1
H=127.0.0.1:$T_PORT

# ---------------------------------------------------------------- clients
client e -o http://evil.example "?session=evil"
check 'a foreign Origin: status 403' expect e '^status 403$'
close_client e
check '... never opened' no_line e '^open'
T_CLIENT_KIND=py
client ep -o http://evil.example "?session=evilpy"
check 'a foreign Origin (python client): status 403' expect ep '^status 403$'
close_client ep
T_CLIENT_KIND=c
client g -o "http://$H" "?session=good"
check 'Origin equal to the Host: accepted' expect g '"type":"ready","session":"good"'
send g '{"type":"run","batch":"x","tasks":["echo"]}'
check '... and it works' expect g '"type":"done","batch":"x","ok":1'
close_client g
client n "?session=noorigin"
check 'no Origin (a script): accepted' expect n '"type":"ready","session":"noorigin"'
close_client n

# ---------------------------------------------------------------- raw
want 101 "$H" - raw1 'no Origin header'
want 101 "$H" "http://$H" raw2 'Origin = Host'
want 101 "localhost:$T_PORT" "http://LocalHost:$T_PORT" raw3 'Origin host in another case'
want 101 "LOCALHOST:$T_PORT" "http://localhost:$T_PORT" raw4 'Host in another case'
want 101 localhost:80 http://localhost raw5 'Origin http://localhost, Host localhost:80'
want 101 localhost http://localhost:80 raw6 'Origin http://localhost:80, Host localhost'
want 101 localhost:443 https://localhost raw7 'Origin https://localhost, Host localhost:443'
want 403 localhost:443 http://localhost bad1 'Origin http://localhost (80), Host localhost:443'
want 403 localhost:80 http://localhost:8080 bad2 'Origin port 8080, Host port 80'
want 403 "$H" "http://localhost:$T_PORT" bad3 'another host name, same port'
want 403 "$H" "http://127.0.0.1.evil.example:$T_PORT" bad4 'a look-alike host (Host as a prefix)'
want 403 "$H" "http://evil127.0.0.1:$T_PORT" bad5 'a look-alike host (Host as a suffix)'
want 403 "$H" null bad6 'Origin: null'
want 403 "$H" http://evil.example bad7 'a foreign Origin'
check 'no refused upgrade claimed a session' \
    eval '! claimed "evil[a-z]*" && ! claimed "bad[0-9]"'
check '... while the accepted ones did' eval 'claimed raw1 && claimed raw7'

# ---------------------------------------------------------------- protocol
client p -p wstask.v1 "?session=proto"
check 'offering wstask.v1 selects it' expect p '^open proto=wstask.v1$'
close_client p
client p2 -p 'other.v9, wstask.v1' "?session=proto2"
check 'offering other.v9 and wstask.v1 selects wstask.v1' expect p2 '^open proto=wstask.v1$'
close_client p2
client p0 "?session=proto0"
check 'offering none works (no protocol selected)' expect p0 '^open proto=$'
check '... and is served' expect p0 '"type":"ready","session":"proto0"'
close_client p0
stop_wstaskd

# ---------------------------------------------------------------- --origin
start_wstaskd --spare 1 --origin https://app.example
H=127.0.0.1:$T_PORT
want 101 "$H" https://app.example org1 '--origin https://app.example: that origin'
want 403 "$H" https://app.example:8443 org2 '--origin https://app.example: another port'
want 403 "$H" http://app.example org3 '--origin https://app.example: another scheme'
want 403 "$H" https://www.app.example org4 '--origin https://app.example: a subdomain'
want 101 "$H" "http://$H" org5 '--origin set: Origin = Host still matches'
stop_wstaskd

start_wstaskd --spare 1 --origin '*'
client any -o http://evil.example "?session=any"
check "--origin '*': a foreign Origin is accepted" expect any '"type":"ready","session":"any"'
close_client any
want 101 "127.0.0.1:$T_PORT" null star1 "--origin '*': Origin null"
