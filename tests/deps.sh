#!/bin/sh
# deps.sh PKG... - install the Debian packages of the list that are missing.
# Used by `make run` and `make check` so a fresh Debian 12 needs nothing else.
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages:$missing (run as root, or" \
	    "apt-get install them)" >&2
	exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y $missing >&2 ||
    { apt-get update >&2 && apt-get install -y $missing >&2; }
