#!/bin/bash
# The manual pages (SPEC 5, 6): wstaskd(8)'s OPTIONS list has exactly the
# flags of `wstaskd --help' (long and short forms, argument names, numeric
# defaults), its SYNOPSIS names every flag, and both pages are clean under
# `mandoc -Tlint -W warning'.  The checks are in tests/manpage.sh, which
# tests/26-wstask.t runs on wstask(1) as well.
. "$(dirname "$0")/lib.sh"
. "$T_ROOT/tests/manpage.sh"

check_options "$WSTASKD" "$T_ROOT/man/wstaskd.8"
check_lint "$T_ROOT/man/wstaskd.8"
check_lint "$T_ROOT/man/wstaskd.7"
