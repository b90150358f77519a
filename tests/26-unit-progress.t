#!/bin/bash
# Unit tests of the fd-3 and log line rules (tests/unit_progress.c): line
# cutting fed a byte at a time, the 4096-byte limit for reports and for
# log pieces, the report rules, the UTF-8 boundary helpers.  The binary
# prints the TAP.
B=${WSTASKD_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$(dirname "$0")/.." && pwd)/$B ;; esac
exec "$B/tests/unit_progress"
