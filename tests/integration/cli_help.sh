#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Golden help texts: `cagectl CMD --help` (and `cagectl help CMD`, and every alias) prints exactly
# tests/cli/help/CMD.txt, and the help block of docs/man/cagectl-CMD.8 holds the same text.
# After changing a usage text: tests/cli/mkman.py $BUILD/cagectl, then review the diff.
. "$(dirname "$0")/../lib.sh"
GOLD=$TOP/tests/cli/help

# The text between the BEGIN HELP / END HELP markers of a man page, roff escapes undone.
man_help() {
	sed -n '/^\.\\" BEGIN HELP/,/^\.\\" END HELP/p' "$1" | sed -e '1,2d' -e '$d' | sed -e '$d' \
		-e 's/^\\&//' -e 's/\\e/\\/g'
}

for f in "$GOLD"/*.txt; do
	cmd=$(basename "$f" .txt)
	[ "$cmd" = cagectl ] && continue
	got=$("$CAGECTL" "$cmd" --help 2>&1)
	is "cagectl $cmd --help matches tests/cli/help/$cmd.txt" "$got" "$(cat "$f")"
	got=$("$CAGECTL" help "$cmd" 2>&1)
	is "cagectl help $cmd prints the same" "$got" "$(cat "$f")"
	page=$TOP/docs/man/cagectl-$cmd.8
	if [ -f "$page" ]; then
		is "docs/man/cagectl-$cmd.8 carries the same help" "$(man_help "$page")" "$(cat "$f")"
	else
		not_ok "docs/man/cagectl-$cmd.8 exists"
	fi
done
is "cagectl --help matches tests/cli/help/cagectl.txt" "$("$CAGECTL" --help)" "$(cat "$GOLD/cagectl.txt")"
is "docs/man/cagectl.8 carries the same help" "$(man_help "$TOP/docs/man/cagectl.8")" "$(cat "$GOLD/cagectl.txt")"

# Every command the usage table knows has a golden file (a new command needs one).
for cmd in up down start stop restart update status list show prune exec shell run init scaffold \
	   verify domain audit har logs backup restore stats validate doctor version; do
	check "tests/cli/help/$cmd.txt exists" test -f "$GOLD/$cmd.txt"
done

while read -r alias cmd; do
	is "alias '$alias' shows the help of '$cmd'" "$("$CAGECTL" "$alias" --help)" "$(cat "$GOLD/$cmd.txt")"
done <<'ALIASES'
ls list
ps list
rm down
delete down
destroy down
describe show
inspect show
reload restart
create up
ALIASES
is "a group subcommand's --help is the group's" "$("$CAGECTL" domain add --help)" "$(cat "$GOLD/domain.txt")"
is "scaffold help" "$("$CAGECTL" scaffold help)" "$(cat "$GOLD/scaffold.txt")"
is "a unique prefix resolves (dom = domain)" "$("$CAGECTL" dom --help)" "$(cat "$GOLD/domain.txt")"
out=$("$CAGECTL" st x 2>&1); rc=$?
is "an ambiguous prefix exits 2" "$rc" 2
like "and names the candidates" "$out" "ambiguous: start stop status stats"
check "every man page renders without warnings" bash -c \
	"for f in '$TOP'/docs/man/*.8; do w=\$(LC_ALL=C.UTF-8 MANROFFSEQ='' groff -man -ww -z \"\$f\" 2>&1); [ -z \"\$w\" ] || { echo \"\$f: \$w\"; exit 1; }; done"
check "the bash completion parses" bash -n "$TOP/contrib/bash-completion/cagectl"
unit=$TOP/contrib/systemd/cagectl@.service
like "the unit runs up --foreground" "$(grep '^ExecStart=' "$unit")" "cagectl up --foreground /etc/cagectl/%i.yaml$"
like "the unit runs down on stop" "$(grep '^ExecStop=' "$unit")" "cagectl down %i$"
like "the unit restarts on failure" "$(grep '^Restart=' "$unit")" "on-failure"
done_testing
