#!/bin/bash
# Unit tests of common/ that no daemon test can reach (tests/unit_common.c):
# a control record carrying extra descriptors, the message state table,
# the /proc scan, log_esc().  The binary prints the TAP.
B=${WSTASKD_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$(dirname "$0")/.." && pwd)/$B ;; esac
exec "$B/tests/unit_common"
