#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# capture.enable in the lab: cage-proxy writes capture.jsonl (the agent's view: the placeholder
# it sent, the redacted reflection it got back, bodies cut at capture.max_body_size, binary as
# base64, a blocked request with the proxy's status), `cagectl har` turns it into a HAR 1.2
# document that python's json reads, and the real secret value is in neither file.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/integration/cli_lab_setup.bash"

like "the agent holds a placeholder" "$PH" '^cagectl:secret:'
r=$(cc api.allowed.test "https://api.allowed.test/headers?a=1 -H \"Authorization: Bearer \$GITHUB_TOKEN\"")
is "GET /headers with the placeholder: 200" "$(status_of "$r")" 200
r=$(cc api.allowed.test "https://api.allowed.test/bytes/5000 -o /dev/null")
is "GET /bytes/5000: 200" "$(status_of "$r")" 200
r=$(cc echo.allowed.test "https://echo.allowed.test/post -d \"key=\$GITHUB_TOKEN\"")
is "the placeholder sent to an unbound host is blocked: 403" "$(status_of "$r")" 403
r=$(cc echo.allowed.test "https://echo.allowed.test/hello -d 'plain body'")
is "POST to echo: 200" "$(status_of "$r")" 200

for _ in $(seq 1 20); do [ "$(wc -l < "$CAPTURE" 2>/dev/null)" -ge 4 ] && break; sleep 0.1; done
is "capture.jsonl has one line per exchange" "$(wc -l < "$CAPTURE")" 4
is "capture.jsonl is 0640" "$(stat -c %a "$CAPTURE")" 640
refute "the real value is nowhere in capture.jsonl" grep -qF -- "$REAL" "$CAPTURE"

tap_from < <(python3 - "$CAPTURE" "$PH" 2>&1 <<'PY'
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ph = sys.argv[2]
n = 0
def ok(cond, what):
    global n
    n += 1
    print(("ok" if cond else "not ok"), "-", what)
    if not cond:
        print("#", json.dumps(recs)[:2000])
h, b, blk, echo = recs
ok(h["url"] == "https://api.allowed.test/headers?a=1", "url: absolute, as the agent asked for it")
ok("Authorization: Bearer " + ph in h["req_headers"], "request headers: the placeholder, not the value")
ok(h["status"] == 200 and h["decision"] == "allowed", "status 200, decision allowed")
ok(ph in h.get("resp_body", ""), "response body: the reflection redacted back to the placeholder")
ok(h.get("resp_mime_type", "").startswith("application/json"), "response mime type")
ok(all(k in h for k in ("ts", "method", "http_version", "time_send", "time_wait", "time_receive")), "times and version")
ok(b["resp_body_size"] == 5000 and b.get("resp_body_truncated") is True, "a 5000-byte body: size kept, truncated")
ok(b.get("resp_body_encoding") == "base64" and len(base64.b64decode(b["resp_body"])) == 1024, "binary body as base64, cut at 1 KiB")
ok(base64.b64decode(b["resp_body"])[:4] == bytes([0, 1, 2, 3]), "the bytes are the upstream's")
ok(blk["decision"] == "blocked" and blk["status"] == 403, "the misdirected placeholder: blocked, 403")
ok(blk.get("reason", "").startswith("secret."), "blocked by the secrets engine: " + blk.get("reason", ""))
ok(echo.get("req_body") == "plain body" and echo["req_body_size"] == 10, "request body captured")
print("# end")
PY
)

HAR=$T/cage.har
check "cagectl har -o FILE" X -q har "$CAGE" -o "$HAR"
refute "the real value is nowhere in the HAR" grep -qF -- "$REAL" "$HAR"
tap_from < <(python3 - "$HAR" "$PH" 2>&1 <<'PY'
import json, sys
har = json.load(open(sys.argv[1]))
ph = sys.argv[2]
def ok(cond, what):
    print(("ok" if cond else "not ok"), "-", what)
log = har["log"]
ok(log["version"] == "1.2" and log["creator"]["name"] == "cagectl", "HAR 1.2 from cagectl")
es = log["entries"]
ok(len(es) == 4, "4 entries")
req_keys = {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"}
resp_keys = {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"}
ok(all(req_keys <= set(e["request"]) and resp_keys <= set(e["response"]) for e in es), "request/response have every required HAR field")
ok(all({"startedDateTime", "time", "cache", "timings"} <= set(e) for e in es), "entries have startedDateTime, time, cache, timings")
ok(all(e["timings"][k] >= 0 for e in es for k in ("send", "wait", "receive")), "send/wait/receive are never negative")
ok(all(isinstance(h["name"], str) and isinstance(h["value"], str) for e in es for h in e["request"]["headers"]), "headers are name/value pairs")
ok({"name": "Authorization", "value": "Bearer " + ph} in es[0]["request"]["headers"], "the Authorization header shows the placeholder")
ok({"name": "a", "value": "1"} in es[0]["request"]["queryString"], "queryString parsed")
ok(es[1]["response"]["content"].get("encoding") == "base64", "binary content carries encoding base64")
ok(es[2]["response"]["status"] == 403 and "blocked" in es[2].get("comment", ""), "the blocked entry says so")
ok(es[3]["request"]["postData"]["text"] == "plain body", "postData text")
print("# end")
PY
)

# The counters move with the capture: the file grows only with exchanges.
size0=$(stat -c %s "$CAPTURE")
check "the capture survives a reload (SIGHUP)" X -q domain add "$CAGE" extra.allowed.test
sleep 0.5
r=$(cc api.allowed.test "https://api.allowed.test/headers")
is "after the reload: 200" "$(status_of "$r")" 200
sleep 0.3
like "after the reload the capture still grows" "$(stat -c %s "$CAPTURE")" "^[0-9]+$"
[ "$(stat -c %s "$CAPTURE")" -gt "$size0" ] && ok "capture.jsonl grew" || not_ok "capture.jsonl grew"
done_testing
