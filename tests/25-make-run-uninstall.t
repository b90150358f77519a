#!/bin/bash
# make run PORT=N, make uninstall's directories, and the README's "Try it"
# (issue 11).
#
# `make run` is run for real on a free port (PORT=0) with this build, and
# the README's "Try it" command is run against it as written, but for
# the port, its output compared with the README's.  install and uninstall
# go into DESTDIRs under $WT_DIR: an empty one must be empty again after
# uninstall; directories that were there before install stay, empty or
# not, and so does one install made that now holds another file.
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (make install)"
	exit 0
fi
. "$(dirname "$0")/lib.sh"

MKVARS=(B="$T_BUILD")
ldd "$WSTASKD" 2>/dev/null | grep -q libasan && MKVARS+=(SANITIZE=1)
# Not the outer make's jobserver and command line (make check).
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -C "$T_ROOT" --no-print-directory "${MKVARS[@]}" "$@"
}

# --- make run PORT=N ---------------------------------------------------
check "make -n run PORT=9999 runs wstaskd on 127.0.0.1:9999" \
    eval 'mk -n run PORT=9999 | grep -qE "wstaskd -l 127\.0\.0\.1:9999 "'
check "make -n run: 127.0.0.1:8080 by default" \
    eval 'mk -n run | grep -qE "wstaskd -l 127\.0\.0\.1:8080 "'

: > "$WT_DIR/run.log"
(t_close_client_fds; exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    make -C "$T_ROOT" --no-print-directory "${MKVARS[@]}" run PORT=0 \
    >> "$WT_DIR/run.log" 2>&1) &
MKPID=$!
RPID=
# The daemon and make are stopped by pid whatever happens.
run_cleanup() {
	[ -n "$RPID" ] && alive "$RPID" && kill -TERM "$RPID"
	alive "$MKPID" && { assert_dead 10 "$MKPID" || kill -KILL "$MKPID"; }
	cat "$WT_DIR/run.log" >> "$WT_DIR/daemon.log"
}
at_exit run_cleanup
wait_for 30 grep -q 'event=listen addr=127.0.0.1:' "$WT_DIR/run.log"
listen=$(grep -o '^wstaskd\[[0-9]*\]: supervisor: event=listen addr=127.0.0.1:[0-9]*' \
    "$WT_DIR/run.log" | head -n 1)
RPID=$(sed 's/^wstaskd\[\([0-9]*\)\].*/\1/' <<< "$listen")
port=${listen##*:}
check "make run PORT=0: wstaskd listens on 127.0.0.1 (port ${port:-none})" \
    eval '[ -n "$port" ] && alive "$RPID"'
check "... it serves the page" \
    eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/")" = 200 ]'
check "... with the example handlers and sum, built" \
    eval 'for h in "$T_ROOT"/examples/handlers/* sum; do
	case $h in *.json) [ -r "$T_BUILD/examples/handlers/${h##*/}" ] || exit 1 ;;
	*) [ -x "$T_BUILD/examples/handlers/${h##*/}" ] || exit 1 ;; esac; done'

# The README's "Try it": its last command (the lines from "$ ", indented
# further below), then what it prints.  Times (ms) and the elided parts
# (...) of the printed lines may differ.  The commands before it draw a
# live table, whose frames depend on timing: not compared.
sed -n '/^## Try it$/,/^## /p' "$T_ROOT/README.md" |
    awk '/^    \$ /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' > "$WT_DIR/tryit"
sed -n 's/^    \$ //p; s/^        \(.*\)$/\1/p' "$WT_DIR/tryit" |
    sed "s|build/|$T_BUILD/|; s|127\.0\.0\.1:8080|127.0.0.1:$port|" \
    > "$WT_DIR/tryit.sh"
sed -n '/^    \$ /,/^$/p' "$WT_DIR/tryit" | grep -v '^    \$ \|^        ' |
    sed -n 's/^    //p' > "$WT_DIR/tryit.want"
check "the README's Try it: a command and what it prints" \
    eval '[ -s "$WT_DIR/tryit.sh" ] &&
    [ "$(wc -l < "$WT_DIR/tryit.want")" -ge 3 ]'
(cd "$T_ROOT" && t_close_client_fds && WSTASK_URL="ws://127.0.0.1:$port/stream" \
    timeout 20 bash "$WT_DIR/tryit.sh") > "$WT_DIR/tryit.got" 2>&1
check "... gives the output it shows" /usr/bin/python3 -c '
import re, sys
want = open(sys.argv[1]).read().splitlines()
got = [g.rstrip() for g in open(sys.argv[2]).read().splitlines()]
def pattern(line):
    p = re.escape(line).replace(r"\.\.\.", ".*")
    return re.sub(r"ms\\?\":[0-9]+", "ms\":[0-9]+", p)
bad = [(w, g) for w, g in zip(want, got) if not re.fullmatch(pattern(w), g)]
if bad or len(want) != len(got):
    print("# want:\n# " + "\n# ".join(want) + "\n# got:\n# " + "\n# ".join(got))
    sys.exit(1)' "$WT_DIR/tryit.want" "$WT_DIR/tryit.got"
kill -TERM "$RPID"
check "make run ends when wstaskd is stopped" assert_dead 10 "$RPID" "$MKPID"

# --- make uninstall and its directories --------------------------------
# tree DIR: what is below DIR, sorted.
tree() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort); }
D=$WT_DIR/dest1
mkdir "$D"
mk install DESTDIR="$D" > "$WT_DIR/install1.log" 2>&1
check "install into an empty DESTDIR" test -x "$D/usr/local/sbin/wstaskd"
check "... lists the directories it created" \
    grep -qx /usr/local/libexec "$D/usr/local/share/wstaskd/created-dirs"
mk uninstall DESTDIR="$D" > "$WT_DIR/uninstall1.log" 2>&1
check "uninstall: the DESTDIR is empty again" test -z "$(tree "$D")"

D=$WT_DIR/dest2
mkdir "$D"
mk install DESTDIR="$D" > "$WT_DIR/install2.log" 2>&1
mk install DESTDIR="$D" > "$WT_DIR/install2b.log" 2>&1
check "install twice: the list still names the directories" \
    grep -qx /usr/local/libexec "$D/usr/local/share/wstaskd/created-dirs"
mk uninstall DESTDIR="$D" > "$WT_DIR/uninstall2.log" 2>&1
check "... and uninstall leaves the DESTDIR empty" test -z "$(tree "$D")"

# Standard directories that exist before install: kept, even empty.
D=$WT_DIR/dest3
mkdir -p "$D/usr/local/sbin" "$D/usr/local/share/man" "$D/etc/default"
echo x > "$D/etc/default/other"
tree "$D" > "$WT_DIR/before"
mk install DESTDIR="$D" > "$WT_DIR/install3.log" 2>&1
check "install over existing directories" test -x "$D/usr/local/sbin/wstaskd"
mk uninstall DESTDIR="$D" > "$WT_DIR/uninstall3.log" 2>&1
check "uninstall keeps the directories that were there, empty or not" \
    diff -u "$WT_DIR/before" <(tree "$D")

# A directory install made that now holds another program's file.
D=$WT_DIR/dest4
mkdir "$D"
mk install DESTDIR="$D" > "$WT_DIR/install4.log" 2>&1
echo x > "$D/usr/local/libexec/other"
mk uninstall DESTDIR="$D" > "$WT_DIR/uninstall4.log" 2>&1
check "uninstall keeps a created directory that is not empty, and its file" \
    test "$(tree "$D")" = "$(printf '%s\n' ./usr ./usr/local ./usr/local/libexec ./usr/local/libexec/other)"
check "... and says nothing failed" \
    eval '! grep -qi "error\|failed" "$WT_DIR/uninstall4.log"'
