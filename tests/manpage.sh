# manpage.sh - holds a program's man page to its --help (sourced after
# lib.sh by tests/12-manpage.t and tests/26-wstask.t).
#
#   check_options PROG PAGE   five TAP tests: --help parses; OPTIONS has
#                             exactly its long flags, its short flags with
#                             their long ones, its argument names and its
#                             numeric defaults; SYNOPSIS names every flag
#   check_lint PAGE           one TAP test: mandoc -Tlint -W warning is clean
#
# --help rows are "  -l, --listen ADDR   text" or "      --path PATH   text"
# (the argument after one space, the text after two or more); OPTIONS
# entries are ".It Fl l , Fl -listen Ar addr" or ".It Fl -path Ar path".

# differ A B: the lines only in A ("<") or only in B (">"), one a line.
differ() {
	diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | grep '^[<>]'
}

# help_rows PROG: one row per flag: "short long arg default" ("-": none).
help_rows() {
	local line re='^ +(-([A-Za-z0-9]), )? *--([a-z0-9-]+)( ([^ ]+))?( {2,}(.*))?$'
	"$1" --help | while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		local s=${BASH_REMATCH[2]:--} l=${BASH_REMATCH[3]}
		local a=${BASH_REMATCH[5]:--} text=${BASH_REMATCH[7]} d=-
		[[ $text =~ \(default\ ([^\)]*)\) ]] && d=${BASH_REMATCH[1]}
		[ "$a" = - ] || a=$(printf '%s' "$a" | tr 'A-Z' 'a-z')
		echo "$s $l $a $d"
	done
}

# man_rows PAGE: one row per entry of OPTIONS: "short long arg".
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
	}' "$1"
}

# man_entry PAGE LONG: the OPTIONS text of --LONG, macro names dropped.
man_entry() {
	awk -v long="$2" '
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
	found { sub(/^\.[A-Z][a-z] /, ""); printf "%s ", $0 }' "$1"
}

check_options() {
	local prog=$1 page=$2 name help man d
	local help_long man_long help_short man_short help_args man_args
	local bad s l a syn syn_long syn_short
	name=$(basename "$page")
	help=$(help_rows "$prog")
	if [ "$(printf '%s\n' "$help" | grep -c .)" -ge 10 ]; then
		ok "--help lists the flags ($(printf '%s\n' "$help" | grep -c .) of them)"
	else
		mapfile -t d <<< "$help"
		fail "--help lists the flags" "parsed:" "${d[@]}"
	fi
	man=$(man_rows "$page")

	# Long flags: the same set in --help and in OPTIONS.
	help_long=$(printf '%s\n' "$help" | awk '{ print "--" $2 }' | LC_ALL=C sort)
	man_long=$(printf '%s\n' "$man" | awk '$2 != "-" { print "--" $2 }' | LC_ALL=C sort)
	if [ -n "$man_long" ] && [ "$help_long" = "$man_long" ]; then
		ok "$name: OPTIONS has exactly the long flags of --help"
	else
		mapfile -t d < <(differ "$help_long" "$man_long")
		fail "$name: OPTIONS has exactly the long flags of --help" \
		    "< only in --help, > only in $name:" "${d[@]}"
	fi

	# Short flags: each with the same long flag in both.
	help_short=$(printf '%s\n' "$help" | awk '$1 != "-" { print "-" $1 ", --" $2 }' |
	    LC_ALL=C sort)
	man_short=$(printf '%s\n' "$man" | awk '$1 != "-" { print "-" $1 ", --" $2 }' |
	    LC_ALL=C sort)
	if [ -n "$help_short" ] && [ "$help_short" = "$man_short" ]; then
		ok "$name: OPTIONS has every short flag of --help, with its long flag"
	else
		mapfile -t d < <(differ "$help_short" "$man_short")
		fail "$name: OPTIONS has every short flag of --help, with its long flag" \
		    "< only in --help, > only in $name:" "${d[@]}"
	fi

	# Arguments: a flag takes one in the man page exactly when it does in
	# --help, under the same name (lower case in the man page).
	help_args=$(printf '%s\n' "$help" | awk '{ print "--" $2, $3 }' | LC_ALL=C sort)
	man_args=$(printf '%s\n' "$man" | awk '$2 != "-" { print "--" $2, $3 }' |
	    LC_ALL=C sort)
	if [ "$help_args" = "$man_args" ]; then
		ok "$name: OPTIONS names the argument of each flag as --help does"
	else
		mapfile -t d < <(differ "$help_args" "$man_args")
		fail "$name: OPTIONS names the argument of each flag as --help does" \
		    "< --help, > $name (- is no argument):" "${d[@]}"
	fi

	# Defaults: every default of --help is the default the man page
	# states, but for the directories (they depend on PREFIX at build time).
	bad=
	while read -r s l a d; do
		[ "$d" = - ] || [ "$a" = dir ] && continue
		printf '%s\n' "$(man_entry "$page" "$l")" |
		    grep -qiE "default ${d//./\\.}([^0-9]|\$)" ||
		    bad="$bad --$l: --help says $d;"
	done <<< "$help"
	if [ -z "$bad" ]; then
		ok "$name: OPTIONS states the defaults --help states"
	else
		fail "$name: OPTIONS states the defaults --help states" "$bad"
	fi

	# SYNOPSIS: every flag is named, by its short or its long form ("Fl
	# hqVv" bundles short flags), and it names no flag that --help lacks.
	syn=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$page" |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "Fl" || $i == ".Fl") print $(i + 1) }')
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
		ok "$name: SYNOPSIS names every flag of --help"
	else
		fail "$name: SYNOPSIS names every flag of --help" "missing or unknown:$bad"
	fi
}

check_lint() {
	local name out status d
	name=$(basename "$1")
	if ! command -v mandoc > /dev/null; then
		ok "# SKIP mandoc is not installed"
		return
	fi
	out=$(mandoc -Tlint -W warning "$1" 2>&1)
	status=$?
	if [ "$status" = 0 ] && [ -z "$out" ]; then
		ok "mandoc -Tlint -W warning: $name is clean"
	else
		mapfile -t d <<< "$out"
		fail "mandoc -Tlint -W warning: $name is clean" "status $status" "${d[@]}"
	fi
}
