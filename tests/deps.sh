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
# Packages such as prometheus start a service listening on every
# interface when installed: policy-rc.d forbids starting any (101) for
# the install; one already there is the administrator's and stays.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d &&
	    chmod 755 /usr/sbin/policy-rc.d && policy=1
fi
apt-get install -y $missing >&2 ||
    { apt-get update >&2 && apt-get install -y $missing >&2; }
status=$?
[ -z "$policy" ] || rm -f /usr/sbin/policy-rc.d
exit "$status"
