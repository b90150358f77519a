#!/bin/bash
# The manual pages (SPEC 5, 6): wstaskd(8)'s OPTIONS list has exactly the
# flags of `wstaskd --help` (long and short forms, argument names, numeric
# defaults), its SYNOPSIS names every flag, and both pages are clean under
# `mandoc -Tlint -W warning`.
. "$(dirname "$0")/lib.sh"

# differ A B: the lines only in A ("<") or only in B (">"), one a line.
differ() {
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | grep '^[<>]'
}

MAN8=$T_ROOT/man/wstaskd.8
MAN7=$T_ROOT/man/wstaskd.7

# One row per flag of --help: "short long arg default" ("-" when absent).
# A row is "  -l, --listen ADDR   text" or "      --path PATH   text"; the
# argument follows the name after one space, the text after two or more.
help_rows() {
	local line re='^ +(-([A-Za-z0-9]), )? *--([a-z0-9-]+)( ([^ ]+))?( {2,}(.*))?$'
	"$WSTASKD" --help | while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		local s=${BASH_REMATCH[2]:--} l=${BASH_REMATCH[3]}
		local a=${BASH_REMATCH[5]:--} text=${BASH_REMATCH[7]} d=-
		[[ $text =~ \(default\ ([^\)]*)\) ]] && d=${BASH_REMATCH[1]}
		[ "$a" = - ] || a=$(printf '%s' "$a" | tr 'A-Z' 'a-z')
		echo "$s $l $a $d"
	done
}

# One row per entry of the OPTIONS list: "short long arg", from
# ".It Fl l , Fl -listen Ar addr" or ".It Fl -path Ar path".
man_rows() {
	awk '
	/^\.Sh / { in_opts = ($0 == ".Sh OPTIONS"); next }
	!in_opts { next }
	/^\.Bl / { depth++; next }
	/^\.El/ { depth--; next }
	depth == 1 && /^\.It Fl / {
		s = "-"; l = "-"; a = "-"
		for (i = 2; i <= NF; i++) {
			if ($i == "Fl" && substr($(i + 1), 1, 1) == "-")
				l = substr($(i + 1), 2)
			else if ($i == "Fl")
				s = $(i + 1)
			else if ($i == "Ar")
				a = $(i + 1)
		}
		print s, l, a
	}' "$MAN8"
}

# The text of the OPTIONS entry of --LONG, macro names dropped, on one line.
man_entry() {
	awk -v long="$1" '
	/^\.Sh / { in_opts = ($0 == ".Sh OPTIONS"); next }
	!in_opts { next }
	/^\.Bl / { depth++ }
	/^\.El/ { depth-- }
	depth == 1 && /^\.It / {
		found = 0
		for (i = 2; i <= NF; i++)
			if ($i == "Fl" && $(i + 1) == "-" long)
				found = 1
		next
	}
	found { sub(/^\.[A-Z][a-z] /, ""); printf "%s ", $0 }' "$MAN8"
}

help=$(help_rows)
if [ "$(printf '%s\n' "$help" | grep -c .)" -ge 10 ]; then
	ok "--help lists the flags ($(printf '%s\n' "$help" | grep -c .) of them)"
else
	mapfile -t d <<< "$help"
	fail "--help lists the flags" "parsed:" "${d[@]}"
fi
man=$(man_rows)

# Long flags: the same set in --help and in OPTIONS.
help_long=$(printf '%s\n' "$help" | awk '{ print "--" $2 }' | LC_ALL=C sort)
man_long=$(printf '%s\n' "$man" | awk '$2 != "-" { print "--" $2 }' | LC_ALL=C sort)
if [ -n "$man_long" ] && [ "$help_long" = "$man_long" ]; then
	ok "OPTIONS has exactly the long flags of --help"
else
	mapfile -t d < <(differ "$help_long" "$man_long")
	fail "OPTIONS has exactly the long flags of --help" \
	    "< only in --help, > only in wstaskd.8:" \
	    "${d[@]}"
fi

# Short flags: each with the same long flag in both.
help_short=$(printf '%s\n' "$help" | awk '$1 != "-" { print "-" $1 ", --" $2 }' |
    LC_ALL=C sort)
man_short=$(printf '%s\n' "$man" | awk '$1 != "-" { print "-" $1 ", --" $2 }' |
    LC_ALL=C sort)
if [ -n "$help_short" ] && [ "$help_short" = "$man_short" ]; then
	ok "OPTIONS has every short flag of --help, with its long flag"
else
	mapfile -t d < <(differ "$help_short" "$man_short")
	fail "OPTIONS has every short flag of --help, with its long flag" \
	    "< only in --help, > only in wstaskd.8:" \
	    "${d[@]}"
fi

# Arguments: a flag takes one in the man page exactly when it does in
# --help, under the same name (lower case in the man page).
help_args=$(printf '%s\n' "$help" | awk '{ print "--" $2, $3 }' | LC_ALL=C sort)
man_args=$(printf '%s\n' "$man" | awk '$2 != "-" { print "--" $2, $3 }' |
    LC_ALL=C sort)
if [ "$help_args" = "$man_args" ]; then
	ok "OPTIONS names the argument of each flag as --help does"
else
	mapfile -t d < <(differ "$help_args" "$man_args")
	fail "OPTIONS names the argument of each flag as --help does" \
	    "< --help, > wstaskd.8 (- is no argument):" \
	    "${d[@]}"
fi

# Defaults: every default of --help is the default the man page states,
# but for the directories (they depend on PREFIX at build time).
bad=
while read -r s l a d; do
	[ "$d" = - ] || [ "$a" = dir ] && continue
	entry=$(man_entry "$l")
	printf '%s\n' "$entry" | grep -qiE "default ${d//./\\.}([^0-9]|\$)" ||
	    bad="$bad --$l: --help says $d;"
done <<< "$help"
if [ -z "$bad" ]; then
	ok "OPTIONS states the defaults --help states"
else
	fail "OPTIONS states the defaults --help states" "$bad"
fi

# SYNOPSIS: every flag is named, by its short or its long form ("Fl hqVv"
# bundles short flags), and it names no flag that --help lacks.
syn=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$MAN8" |
    awk '{ for (i = 1; i < NF; i++) if ($i == "Fl") print $(i + 1) }')
syn_long=$(printf '%s\n' "$syn" | sed -n 's/^-//p')
syn_short=$(printf '%s\n' "$syn" | grep -v '^-' | fold -w1)
bad=
while read -r s l a d; do
	if ! printf '%s\n' "$syn_long" | grep -qxF -- "$l" &&
	    { [ "$s" = - ] || ! printf '%s\n' "$syn_short" | grep -qxF -- "$s"; }; then
		bad="$bad --$l"
	fi
done <<< "$help"
for l in $syn_long; do
	printf '%s\n' "$help" | awk '{ print $2 }' | grep -qxF -- "$l" ||
	    bad="$bad (--$l is not in --help)"
done
for s in $syn_short; do
	printf '%s\n' "$help" | awk '{ print $1 }' | grep -qxF -- "$s" ||
	    bad="$bad (-$s is not in --help)"
done
if [ -n "$syn" ] && [ -z "$bad" ]; then
	ok "SYNOPSIS names every flag of --help"
else
	fail "SYNOPSIS names every flag of --help" "missing or unknown:$bad"
fi

# mandoc: no warning (or worse) for either page.
for page in "$MAN8" "$MAN7"; do
	name=$(basename "$page")
	if ! command -v mandoc > /dev/null; then
		ok "# SKIP mandoc is not installed"
		continue
	fi
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	status=$?
	if [ "$status" = 0 ] && [ -z "$out" ]; then
		ok "mandoc -Tlint -W warning: $name is clean"
	else
		mapfile -t d <<< "$out"
		fail "mandoc -Tlint -W warning: $name is clean" "status $status" "${d[@]}"
	fi
done
