#!/bin/bash
# TLS (--ssl-cert/--ssl-key, with a chain), basic auth (--credential, with
# session ids kept per user), --handshake-timeout, and deep JSON nesting.
. "$(dirname "$0")/lib.sh"

# A CA, an intermediate and a leaf for 127.0.0.1: the chain must be served.
pki=$WT_DIR/pki
mkdir -p "$pki"
(
	cd "$pki" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	    -days 2 -subj /CN=test-ca -addext basicConstraints=critical,CA:TRUE
	openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr -subj /CN=test-int
	printf 'basicConstraints=critical,CA:TRUE\n' > int.ext
	openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -out int.pem -days 2 -extfile int.ext
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout leaf.key -out leaf.csr -subj /CN=127.0.0.1
	printf 'subjectAltName=IP:127.0.0.1\n' > leaf.ext
	openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key -CAcreateserial \
	    -out leaf.pem -days 2 -extfile leaf.ext
	cat leaf.pem int.pem > chain.pem
) > "$WT_DIR/pki.log" 2>&1
check "test certificates made with openssl" test -s "$pki/chain.pem"

out=$("$WSTASKD" --ssl-cert "$pki/chain.pem" --ssl-key "$pki/int.key" \
    -t "$T_HANDLERS" -w '' --allow-root 2>&1)
check "a key that does not match: exit 64" test $? = 64
case $out in *ssl*) ok "... naming the flag" ;; *) fail "... naming the flag" "$out" ;; esac

start_wstaskd --ssl-cert "$pki/chain.pem" --ssl-key "$pki/leaf.key" \
    -l "unix:$WT_DIR/plain.sock"
body=$(curl -s --cacert "$pki/ca.pem" "https://127.0.0.1:$T_PORT/healthz")
check "HTTPS with a chain a client can verify from the root" test "$body" = ok
depth=$(openssl s_client -connect "127.0.0.1:$T_PORT" -CAfile "$pki/ca.pem" \
    -verify_return_error -alpn http/1.1 </dev/null 2>&1)
case $depth in *"Verify return code: 0 (ok)"*"ALPN protocol: http/1.1"*|*"ALPN protocol: http/1.1"*"Verify return code: 0 (ok)"*)
	ok "TLS verifies (chain served) and ALPN is http/1.1" ;;
*)	fail "TLS verifies (chain served) and ALPN is http/1.1" "$(printf '%s' "$depth" | tail -n 20)" ;;
esac
h2=$(openssl s_client -connect "127.0.0.1:$T_PORT" -alpn h2 </dev/null 2>&1)
case $h2 in *"ALPN protocol: h2"*) fail "h2 is not offered" ;; *) ok "h2 is not offered" ;; esac
T_URL="wss://127.0.0.1:$T_PORT/stream"
client s -k "?session=tls"
send s '{"type":"run","tasks":["echo"]}'
check "a batch over wss://" expect s '"type":"done","batch":"1","ok":1'
T_CLIENT_KIND=py
client sp -k "?session=tls2"
check "python3-websockets over wss:// too" expect sp '"type":"ready","session":"tls2"'
T_CLIENT_KIND=c
body=$(curl -s --unix-socket "$WT_DIR/plain.sock" http://x/healthz)
check "a unix listener stays plain" test "$body" = ok
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT/healthz")
check "plain HTTP on the TLS port gets nothing" test "$code" = 000
stop_wstaskd

# Basic auth.
start_wstaskd --credential alice:s3cret --credential bob:pw:with:colons
code=$(curl -s -o /dev/null -w '%{http_code}' "$T_HTTP/handlers")
check "no credentials: 401" test "$code" = 401
hdr=$(curl -s -D - -o /dev/null "$T_HTTP/")
case ${hdr,,} in *'www-authenticate: basic realm="wstaskd"'*) ok "... with a Basic challenge" ;;
*) fail "... with a Basic challenge" "$hdr" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "$T_HTTP/handlers")
check "a wrong password: 401" test "$code" = 401
code=$(curl -s -o /dev/null -w '%{http_code}' -u bob:pw:with:colons "$T_HTTP/handlers")
check "a right one: 200 (a password may contain colons)" test "$code" = 200
check "/healthz needs none" test "$(curl -s "$T_HTTP/healthz")" = ok
client n "?session=shared"
check "a WebSocket upgrade without credentials: 401" expect n '^status 401'
client a -a alice:s3cret "?session=shared"
client b -a bob:pw:with:colons "?session=shared"
expect a '"type":"ready","session":"shared","superseded":false'
check "users do not supersede each other (same id, two sessions)" \
    expect b '"type":"ready","session":"shared","superseded":false'
client a2 -a alice:s3cret "?session=shared"
check "the same user does supersede" \
    eval "expect a2 '\"superseded\":true' && expect a '^close 4001' && no_line b '^close'"
stop_wstaskd

# Handshake timeout and nesting.
start_wstaskd --handshake-timeout 1
exec {sock}<>"/dev/tcp/127.0.0.1/$T_PORT"
t0=$(t_now_ms)
timeout 5 cat <&"$sock" >/dev/null
t1=$(t_now_ms)
exec {sock}>&-
check "an idle socket is closed after --handshake-timeout 1 ($((t1 - t0)) ms)" \
    eval "[ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 3000 ]"

client d "?session=deep"
deep=$(printf '[%.0s' $(seq 100))$(printf ']%.0s' $(seq 100))
send d "{\"type\":\"run\",\"tasks\":[{\"task\":\"echo\",\"args\":$deep}]}"
check "100-deep nesting is refused before parsing" \
    expect d '"type":"error","code":"bad_json","message":"message nests arrays and objects deeper than 64"'
send d '{"type":"run","tasks":[{"task":"echo","args":[[[[1]]]]}]}'
check "... and the connection carries on" expect d '"value":\[\[\[\[1\]\]\]\]'
