#!/bin/bash
# The JSON Schema subset of SPEC 8.2 (common/schema.c), keyword by keyword:
# values accepted, values refused with their pointer and message, schemas
# refused with why (tests/schema-cases.json), then depth, long pointers
# and the API's edges (tests/unit_schema.c).  The binary prints the TAP.
B=${WSTASKD_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$(dirname "$0")/.." && pwd)/$B ;; esac
exec "$B/tests/unit_schema" "$(dirname "$0")/schema-cases.json"
