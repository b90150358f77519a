#!/bin/bash
# Users (SPEC 8.5): --credentials FILE holds USER:HASH lines with crypt(3)
# hashes made by the tools users use (htpasswd -B, mkpasswd -m yescrypt,
# openssl passwd -6), checked with crypt_r.  A bad line or a hash the
# host cannot check refuses the start and fails -n, naming the file and
# line; SIGHUP rereads it (a bad file keeps the users in force); a
# manifest's "users" limits who may see and run its handler.
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/wstaskd-users.XXXXXX)
chmod 755 "$dir"
cp "$T_HANDLERS/echo" "$dir/echo"
cp "$T_HANDLERS/echo" "$dir/secret"
printf '{"title":"Only Alice","users":["alice"]}' > "$dir/secret.json"
creds=$dir/credentials
{
	echo "# made by htpasswd, mkpasswd and openssl"
	htpasswd -nbB alice 'a-pw'
	echo
	echo "bob:$(mkpasswd -m yescrypt 'b-pw')"
	echo "carol:$(openssl passwd -6 'c-pw')"
} > "$creds"
chmod 600 "$creds"

out=$("$WSTASKD" -n -t "$dir" -w '' --allow-root --credentials "$creds" 2>&1)
check "-n accepts the three hash methods" test $? = 0

start_wstaskd -t "$dir" --credentials "$creds" --credential dave:d-pw
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "bcrypt (htpasswd -B): 200" test "$(code -u alice:a-pw "$T_HTTP/handlers")" = 200
check "yescrypt (mkpasswd): 200" test "$(code -u bob:b-pw "$T_HTTP/handlers")" = 200
check "sha512crypt (openssl passwd -6): 200" test "$(code -u carol:c-pw "$T_HTTP/handlers")" = 200
check "--credential beside --credentials: 200" test "$(code -u dave:d-pw "$T_HTTP/handlers")" = 200
check "a wrong password: 401" test "$(code -u bob:a-pw "$T_HTTP/handlers")" = 401
check "an unknown user: 401" test "$(code -u eve:a-pw "$T_HTTP/handlers")" = 401
check "no credentials: 401" test "$(code "$T_HTTP/handlers")" = 401
check "alice sees her handler" \
    test "$(curl -s -u alice:a-pw "$T_HTTP/handlers")" = '["echo","secret"]'
check "bob does not" test "$(curl -s -u bob:b-pw "$T_HTTP/handlers")" = '["echo"]'
check "/handlers/secret for alice: 200" test "$(code -u alice:a-pw "$T_HTTP/handlers/secret")" = 200
check "/handlers/secret for bob: 404" test "$(code -u bob:b-pw "$T_HTTP/handlers/secret")" = 404
client b -a bob:b-pw "?session=u"
send b '{"type":"run","batch":"x","tasks":["secret"]}'
check "bob's run of it: the same unknown handler as a missing one" \
    expect b '"code":"bad_batch","message":"task 0: unknown handler \\"secret\\"","batch":"x"'
client a -a alice:a-pw "?session=u"
send a '{"type":"run","batch":"x","tasks":["secret"]}'
check "alice's runs" expect a '"type":"done","batch":"x","ok":1'
check "users keep their own sessions (same id)" no_line b '^close'

# SIGHUP: a new user; then a bad file keeps the users in force.
echo "erin:$(openssl passwd -6 'e-pw')" >> "$creds"
kill -HUP "$T_DPID"
check "after SIGHUP a new user is let in" \
    wait_for 5 eval 'test "$(code -u erin:e-pw "$T_HTTP/handlers")" = 200'
cp "$creds" "$creds.good"
echo "frank:plaintext" >> "$creds"
line=$(wc -l < "$creds")
kill -HUP "$T_DPID"
check "a bad file at SIGHUP is logged, naming the line" \
    wait_for 5 grep -q "event=bad-credentials: $creds:$line: not a password hash.*keeping the 5 users in force" "$WT_DIR/daemon.log"
check "... and the users in force stay" test "$(code -u erin:e-pw "$T_HTTP/handlers")" = 200
check "no start-up warning for a 0600 file" sh -c "! grep -q credentials-readable '$WT_DIR/daemon.log'"
close_client a
close_client b
stop_wstaskd

# A file that cannot be used refuses the start, naming file and line.
bad() {
	printf '%s\n' "$2" > "$dir/bad"
	out=$("$WSTASKD" -n -t "$dir" -w '' --allow-root --credentials "$dir/bad" 2>&1)
	st=$?
	case $st:$out in 0:*) fail "$1: -n fails" "$out" ;;
	*"$dir/bad:1: "*) ok "$1: -n fails naming the file and line" ;;
	*) fail "$1: -n fails naming the file and line" "$out" ;; esac
}
bad "a plain-text password" "frank:secret"
bad "an unknown method" 'frank:$9$abc$def'
bad "a DES hash" "frank:abJnggxhB/yWI"
bad "a bad user name" "fr ank:$(openssl passwd -6 x)"
bad "no colon" "frank"
chmod 644 "$creds.good"
start_wstaskd -t "$dir" --credentials "$creds.good"
check "a file others can read: a warning" wait_for 5 grep -q "event=credentials-readable file=$creds.good" "$WT_DIR/daemon.log"
stop_wstaskd
out=$(timeout 10 "$WSTASKD" -t "$dir" -w '' --allow-root -l 127.0.0.1:0 --credentials "$dir/bad" 2>&1)
case $out in *"--credentials: $dir/bad:1: "*) ok "a bad file refuses the start, naming file and line" ;;
*) fail "a bad file refuses the start, naming file and line" "$out" ;; esac
rm -rf "$dir"
