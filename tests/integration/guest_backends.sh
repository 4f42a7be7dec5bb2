#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The lima and apple-container drivers of a HOST_ONLY cagectl, against stand-ins for limactl and
# container (tests/guest/bin) that accept only documented commands and flags and record every
# invocation. Rendered files are compared with tests/guest/golden. No VM is started.
. "$(dirname "$0")/../lib.sh"

T=$(mktemp -d /tmp/cagectl-guest-backends.XXXXXX)
trap 'rm -rf "$T"' EXIT
HOST_BUILD=$BUILD/host-only
HCAGECTL=$HOST_BUILD/cagectl
if ! make -s -C "$TOP" -f mk/host-only.mk HOST_BUILD="$HOST_BUILD" host-only-check >"$T/build.log" 2>&1; then
	not_ok "HOST_ONLY build: $(tail -3 "$T/build.log")"
	exit 1
fi
ok "HOST_ONLY build links without Linux-only headers or libraries ($(tail -1 "$T/build.log"))"

export PATH=$TOP/tests/guest/bin:$PATH
export STANDIN_LOG=$T/calls.log STANDIN_STATE=$T/standin
export CAGECTL_STATE_DIR=$T/state CAGECTL_SOURCE_DIR=$TOP
export HOME=$T/home
mkdir -p "$T/home/.ssh" "$T/project/data" "$T/project/out"
: >"$STANDIN_LOG"

# config ISOLATION [extra yaml]
config() {
	cat >"$T/project/cage.yaml" <<YAML
name: gb
isolation: $1
resources:
  cpus: 1.5
  memory: 2G
mounts:
  - ./data:/workspace/data:ro
  - { source: ./out, target: /workspace/out, read_only: false }
domains:
  allow: [api.allowed.test]
$2
YAML
}
# Rendered files with this run's paths replaced by placeholders, for the golden comparison.
normalise() { sed -e "s#$T#@T@#g" -e "s#$TOP#@SRC@#g" "$1"; }
# GOLDEN_UPDATE=1 rewrites the golden files from this run (review the diff before committing).
golden() {
	[ "${GOLDEN_UPDATE:-}" = 1 ] && cp "$2" "$TOP/tests/guest/golden/$1"
	diff -u "$TOP/tests/guest/golden/$1" "$2" >"$T/diff"
}
calls() { normalise "$STANDIN_LOG" | sed "s/sha256=[0-9a-f]*/sha256=@SUM@/"; }

for backend in lima apple-container; do
	case $backend in
	lima) rendered=lima.yaml; cli=limactl ;;
	apple-container) rendered=Containerfile; cli=container ;;
	esac
	: >"$STANDIN_LOG"
	config "$backend"
	"$HCAGECTL" up "$T/project/cage.yaml" >"$T/up.out" 2>&1
	is "$backend: up succeeds" "$?" 0
	normalise "$T/state/gb/$backend/$rendered" >"$T/$rendered"
	if golden "$rendered" "$T/$rendered"; then
		ok "$backend: $rendered matches the golden file"
	else
		not_ok "$backend: $rendered differs from tests/guest/golden/$rendered"; sed 's/^/# /' "$T/diff" | head -20
	fi
	check "$backend: the config copy is what the guest reads" cmp "$T/project/cage.yaml" "$T/state/gb/$backend/cage.yaml"
	refute "$backend: every call was a documented command and flag" grep -q REJECT "$STANDIN_LOG"

	"$HCAGECTL" exec gb -- sh -c 'exit 3' >"$T/exec.out" 2>&1
	is "$backend: exec passes the guest's exit status through" "$?" 0
	like "$backend: exec reached cagectl exec in the guest" "$(cat "$T/exec.out")" "guest-exec: sh -c exit 3"
	STANDIN_EXEC_EXIT=3 "$HCAGECTL" exec gb -- false >/dev/null 2>&1
	is "$backend: a failing command's status comes back" "$?" 3

	secret="s3cr3t-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
	printf %s "$secret" | "$HCAGECTL" secret set gb GITHUB_TOKEN >"$T/secret.out" 2>&1
	is "$backend: secret set succeeds" "$?" 0
	want=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
	check "$backend: the value reached the guest on stdin" grep -q "STDIN secret GITHUB_TOKEN sha256=$want" "$STANDIN_LOG"
	refute "$backend: the value is in no argv, log or rendered file" grep -rqF "$secret" "$T"

	"$HCAGECTL" status gb >/dev/null 2>&1
	is "$backend: status" "$?" 0
	"$HCAGECTL" logs gb >/dev/null 2>&1
	is "$backend: logs" "$?" 0
	"$HCAGECTL" audit gb -n 5 >/dev/null 2>&1
	is "$backend: audit goes through the guest" "$?" 0
	"$HCAGECTL" down gb >/dev/null 2>&1
	is "$backend: down" "$?" 0
	case $backend in lima) left=$STANDIN_STATE/lima ;; *) left=$STANDIN_STATE/container/containers ;; esac
	check "$backend: nothing of the guest is left" test -z "$(ls -A "$left")"
	refute "$backend: no call was rejected" grep -q REJECT "$STANDIN_LOG"
	calls >"$T/calls.$backend"
	if golden "calls.$backend" "$T/calls.$backend"; then
		ok "$backend: the $cli invocations match the golden list"
	else
		not_ok "$backend: $cli invocations differ"; sed 's/^/# /' "$T/diff" | head -20
	fi

	# Credentials are never shared, whatever the config asks.
	: >"$STANDIN_LOG"
	config "$backend" "$(printf 'workdir: /workspace\n')"
	sed -i "s#  - ./data:/workspace/data:ro#  - $T/home/.ssh:/workspace/ssh:ro#" "$T/project/cage.yaml"
	"$HCAGECTL" up "$T/project/cage.yaml" >"$T/up.out" 2>&1
	is "$backend: a mount of ~/.ssh is refused" "$?" 1
	like "$backend: the refusal names it" "$(cat "$T/up.out")" "never shared with a guest \(\.ssh\)"
	is "$backend: nothing was started" "$(grep -c . "$STANDIN_LOG")" 0
done

# isolation: auto
config auto
for case in "Darwin 25.0.0 arm64=apple-container" "Darwin 24.6.0 arm64=lima" "Darwin 25.1.0 x86_64=lima" \
	"Linux 6.1.0 x86_64=linux"; do
	is "auto on ${case%=*}" "$(CAGECTL_UNAME=${case%=*} "$HCAGECTL" validate "$T/project/cage.yaml" 2>/dev/null | sed 's/.*isolation \(.*\))/\1/')" "${case#*=}"
done
mkdir -p "$T/nocontainer"; ln -s "$TOP/tests/guest/bin/limactl" "$T/nocontainer/limactl"
is "auto on macOS 26 without container installed" \
	"$(PATH=$T/nocontainer:/usr/bin:/bin CAGECTL_UNAME='Darwin 25.0.0 arm64' "$HCAGECTL" validate "$T/project/cage.yaml" 2>/dev/null | sed 's/.*isolation \(.*\))/\1/')" lima
done_testing
