"""OpenAPI contract: api/openapi.json checked by a real validator, and lingerd's live answers
checked against it.

The document is validated by @seriousme/openapi-schema-validator and its schemas compiled by Ajv
in strict mode (tests/openapi/validate.mjs). Then lingerd runs with `lingerd lab` holding sockets
in every state, and the test records answers to representative requests on every documented
path: 200s, every error it can provoke (400, 404, 405, 414, 503 from a stalled sampler), HEAD,
and a foreign Host header. Each body and its documented headers are validated against the schema
of the path, method and status. Every query parameter is probed at its documented bounds and
enum values: the server must accept what the document allows and refuse, naming the parameter,
what it does not. Documented endpoints or parameters the server does not serve yet are printed as
SKIP lines, and validated as soon as it does."""
import csv
import http.client
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, Daemon, LabProc, check, check_eq, done, skip  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOC_PATH = os.path.join(ROOT, "api", "openapi.json")
NODE_DIR = os.path.join(ROOT, "tests", "openapi")
NOT_ALLOWED = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
LAB_TIMEOUT = 20


def node(*args, timeout=60):
    p = subprocess.run(["node", os.path.join(NODE_DIR, "validate.mjs")] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("validate.mjs %s: rc %d: %s" % (args[0], p.returncode, p.stderr[-2000:]))
    return json.loads(p.stdout)


def ensure_node():
    """node from Debian, the validator from the npm registry (pinned by package-lock.json)."""
    if not shutil.which("node") or not shutil.which("npm"):
        check(False, "node and npm are needed (scripts/deps-monitoring.sh installs them)")
        return False
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "@seriousme")):
        p = subprocess.run(["npm", "ci", "--prefix", NODE_DIR, "--ignore-scripts", "--no-audit",
                            "--no-fund", "--prefer-offline", "--loglevel=error"],
                           capture_output=True, text=True, timeout=240)
        if not check_eq(p.returncode, 0, "npm ci in tests/openapi (%s)" % p.stderr.strip()[-500:]):
            return False
    return True


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def fetch(self, method, path, headers=None, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k: v for k, v in r.getheaders()}
                if r.getheader("Connection", "").lower() == "close" or body is not None:
                    self.close()
                return r.status, hdrs, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


def routes_in_source():
    """The router's table in api/api.c: what lingerd serves, for the coverage check."""
    with open(os.path.join(ROOT, "api", "api.c")) as f:
        src = f.read()
    table = src[src.index("routes[] = {"):]
    table = table[:table.index("};")]
    out = []
    for path, prefix in re.findall(r'\{\s*"(/[^"]*)",\s*([01]),', table):
        out.append((path, prefix == "1"))
    with open(os.path.join(ROOT, "web", "assets.list")) as f:
        for line in f:
            if line.startswith("/api/"):
                out.append((line.split("|")[0], False))
    return out


def template_matches(tpl, route, prefix):
    if prefix:
        return tpl.startswith(route) and re.fullmatch(r"\{[^/}]+\}", tpl[len(route):]) is not None
    return tpl == route


COOKIE = ["1"]  # a live socket's cookie, found by representative()


def concrete(tpl):
    return tpl.replace("{state}", "CLOSE_WAIT").replace("{cookie}", COOKIE[0])


class Recorder:
    def __init__(self, client):
        self.client = client
        self.samples = []
        self.pending_paths = set()
        self.pending_params = set()

    def record(self, method, path, expect=None, template=None, headers=None, body=None, what=""):
        status, hdrs, data = self.client.fetch(method, path, headers=headers, body=body)
        text = data.decode("utf-8", errors="replace")
        ctype = hdrs.get("Content-Type", "")
        parsed = None
        if ctype.startswith("application/json") and text:
            try:
                parsed = json.loads(text)
            except ValueError:
                pass
        err = (parsed or {}).get("error", {}) if isinstance(parsed, dict) else {}
        tpl = template or path.split("?")[0]
        if status == 404 and err.get("message", "").startswith("no such endpoint") and method == "GET":
            if tpl not in self.pending_paths:
                skip("%s is documented but not served yet (404 no such endpoint): "
                     "validated once it is" % tpl)
            self.pending_paths.add(tpl)
            return None
        if status == 400 and err.get("code") == "unknown_parameter":
            key = (tpl, err.get("parameter"))
            if expect == 200 and key[1] and ("?%s=" % key[1] in path or "&%s=" % key[1] in path):
                if key not in self.pending_params:
                    skip("%s?%s= is documented but not taken yet (unknown_parameter)" % key)
                self.pending_params.add(key)
                return None
        if expect is not None:
            check_eq(status, expect, "status of %s %s %s" % (method, path[:100], what))
        sample = {"id": len(self.samples), "method": method, "path": path.split("?")[0],
                  "url": path, "status": status, "headers": hdrs, "content_type": ctype,
                  "body": text, "json": parsed}
        if template:
            sample["template"] = template
        self.samples.append(sample)
        return sample


def wait_for(fn, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def representative(rec, doc, lab):
    rep = lab.report
    cw4 = rep["layout"]["close_wait"]["ports"].get("ipv4")
    cw6 = rep["layout"]["close_wait"]["ports"].get("ipv6")
    leaker = rep["leaker"]["pid"]
    G = lambda path, expect=200: rec.record("GET", path, expect)  # noqa: E731

    G("/healthz")
    G("/healthz?x=1", 400)
    G("/metrics")
    G("/metrics?x=1", 400)
    G("/api/v1/openapi.json")
    G("/api/v1/openapi.json?x=1", 400)

    G("/api/v1/snapshot")
    s = G("/api/v1/snapshot?port=%d" % cw4)
    if s and s["json"]:
        check(s["json"]["counts"]["CLOSE_WAIT"] >= 1, "snapshot?port= counts the lab's CLOSE_WAIT")
    G("/api/v1/snapshot?family=ipv6&port=%d" % cw6)
    G("/api/v1/snapshot?family=ipv4")
    G("/api/v1/snapshot?port=70000", 400)
    G("/api/v1/snapshot?state=LISTEN", 400)

    G("/api/v1/sockets")
    G("/api/v1/sockets?limit=10000")
    G("/api/v1/sockets?state=close-wait,TIME_WAIT&family=ipv6")
    G("/api/v1/sockets?state=LISTEN,SYN_SENT,syn-recv,FIN_WAIT_1,fin_wait_2,LAST_ACK,closing")
    G("/api/v1/sockets?local_port=%d&min_age=0.5" % cw4)
    G("/api/v1/sockets?remote_port=%d&format=json" % cw4)
    page = G("/api/v1/sockets?limit=3")
    if page and page["json"]:
        nxt = page["json"]["next"]
        check(nxt is not None, "a 3-socket page of the lab has a next cursor")
        if nxt:
            G("/api/v1/sockets?limit=3&cursor=" + urllib.parse.quote(nxt))
    def leaker_sockets():
        s = G("/api/v1/sockets?comm=lab-leaker")
        return s and isinstance(s["json"], dict) and s["json"].get("sockets")

    check(wait_for(leaker_sockets, 15, 0.5),
          "the leaker's sockets are attributed in 15 s (pid, comm and cmdline exercised)")
    G("/api/v1/sockets?pid=%d&state=CLOSE_WAIT" % leaker)
    G("/api/v1/sockets?limit=0", 400)
    G("/api/v1/sockets?cursor=zzz", 400)
    G("/api/v1/sockets?bogus=1", 400)
    csv_page = G("/api/v1/sockets?format=csv&state=CLOSE_WAIT&limit=50")
    if csv_page:
        rows = list(csv.reader(io.StringIO(csv_page["body"])))
        js = G("/api/v1/sockets?state=CLOSE_WAIT&limit=50")
        check(len(rows) >= 1 and all(len(r) == len(rows[0]) for r in rows),
              "CSV rows all have the header's columns")
        if js and js["json"]:
            check_eq(len(rows) - 1, len(js["json"]["sockets"]), "CSV data rows = JSON sockets on the same page")

    cw = G("/api/v1/sockets?state=CLOSE_WAIT&limit=1")
    if cw and cw["json"] and cw["json"]["sockets"] and cw["json"]["sockets"][0]["cookie"]:
        COOKIE[0] = cw["json"]["sockets"][0]["cookie"]
    T = "/api/v1/sockets/{cookie}"
    rec.record("GET", "/api/v1/sockets/" + COOKIE[0], 200, template=T)
    rec.record("GET", "/api/v1/sockets/abc", 404, template=T)
    rec.record("GET", "/api/v1/sockets/18446744073709551615", 404, template=T)
    rec.record("GET", "/api/v1/sockets/%s?x=1" % COOKIE[0], 400, template=T)
    G("/api/v1/events")
    G("/api/v1/events?netns=all")
    G("/api/v1/events?x=1", 400)

    G("/api/v1/states")
    G("/api/v1/states?lang=ko")
    G("/api/v1/states?lang=fr", 400)
    for st in doc["components"]["schemas"]["StateName"]["enum"]:
        rec.record("GET", "/api/v1/states/" + st, 200, template="/api/v1/states/{state}")
    rec.record("GET", "/api/v1/states/close-wait?lang=ko", 200, template="/api/v1/states/{state}")
    rec.record("GET", "/api/v1/states/NOPE", 404, template="/api/v1/states/{state}")
    rec.record("GET", "/api/v1/states/CLOSE_WAIT?x=1", 400, template="/api/v1/states/{state}")
    rec.record("GET", "/api/v1/states/" + "A" * 2100, 414, template="/api/v1/states/{state}")

    t = G("/api/v1/trends?from=-60")
    if t and t["json"]:
        check(len(t["json"]["series"]) >= 1, "trends has series while the lab runs (schema exercised)")
    G("/api/v1/trends?states=CLOSE_WAIT,TIME_WAIT&from=-60&to=-1s")
    G("/api/v1/trends?states=close_wait&from=-1h&step=60&by=process")
    G("/api/v1/trends?by=local_port&from=-90s")
    G("/api/v1/trends?from=yesterday", 400)
    g = G("/api/v1/lingering")
    if g and g["json"]:
        check(len(g["json"]["groups"]) >= 1, "lingering has groups while the lab runs (schema exercised)")
    for g in ("process", "local_port", "remote", "remote_port"):
        G("/api/v1/lingering?group_by=%s&min_age=0" % g)
    G("/api/v1/lingering?group_by=process&states=CLOSE_WAIT,fin-wait-2")
    G("/api/v1/lingering?group_by=pid", 400)
    G("/api/v1/findings")
    f = G("/api/v1/findings?min_age=0")
    if f and f["json"]:
        check(len(f["json"]["findings"]) >= 1, "the lab's CLOSE_WAIT leak gives findings (schema exercised)")
    G("/api/v1/findings?min_age=-5", 400)
    G("/api/v1/system")
    G("/api/v1/system?x=1", 400)


def every_path(rec, doc):
    """HEAD, the refused methods, a body, a foreign Host: on every documented path."""
    for tpl in doc["paths"]:
        url = concrete(tpl)
        if tpl in rec.pending_paths:
            continue
        get_status = rec.client.fetch("GET", url)[0]
        h = rec.record("HEAD", url, get_status, template=tpl)
        if h:
            check_eq(h["body"], "", "HEAD %s has no body" % url)
        for m in NOT_ALLOWED:
            s = rec.record(m, url, 405, template=tpl)
            if s:
                check_eq(s["headers"].get("Allow"), "GET, HEAD", "Allow on %s %s" % (m, url))
        rec.record("GET", url, 400, template=tpl, body=b"hello", headers={"Content-Type": "text/plain"},
                   what="with a body")
        rec.record("GET", url, 421, template=tpl, headers={"Host": "evil.example"}, what="foreign Host")
        rec.record("POST", url, 421, template=tpl, headers={"Host": "evil.example"}, what="foreign Host")


def stalled_sampler(rec, d):
    """An exclusive lock on the database stalls the sampler: /healthz turns 503 degraded, while
    the snapshot and /metrics, served from memory, still answer."""
    db = sqlite3.connect(d.db, isolation_level=None, timeout=10)
    try:
        db.execute("BEGIN EXCLUSIVE")
        got = wait_for(lambda: rec.client.fetch("GET", "/healthz")[0] == 503, 10)
        check(got, "/healthz turns 503 while the database is locked")
        if got:
            s = rec.record("GET", "/healthz", 503)
            if s and s["json"]:
                check_eq(s["json"]["status"], "degraded", "503 health says degraded")
                check(len(s["json"]["problems"]) >= 1, "503 health lists its problems")
            rec.record("HEAD", "/healthz", 503)
            t0 = time.monotonic()
            rec.record("GET", "/metrics", 200, what="(database locked)")
            rec.record("GET", "/api/v1/snapshot", 200, what="(database locked)")
            check(time.monotonic() - t0 < 2, "metrics and snapshot never wait on the database")
    finally:
        db.execute("ROLLBACK")
        db.close()
    check(wait_for(lambda: rec.client.fetch("GET", "/healthz")[0] == 200, 15),
          "/healthz recovers once the lock is gone")


def with_token(doc, tmp):
    """lingerd with --token-file: 401 without the token on every protected path (whatever the
    method), answers with it, and /healthz and the document stay open, as documented."""
    token = "t0ken-" + os.urandom(12).hex()
    path = os.path.join(tmp, "token")
    with open(path, "w") as f:
        f.write(token + "\n")
    d = Daemon("--interval", "0.5", "--token-file", path)
    client = Client(d.port)
    rec = Recorder(client)
    try:
        d.wait_snapshots(1)
        auth = {"Authorization": "Bearer " + token}
        for tpl, item in doc["paths"].items():
            url = concrete(tpl)
            open_path = item["get"].get("security") == [{}]
            rec.record("GET", url, 200 if open_path else 401, template=tpl, what="without a token")
            rec.record("POST", url, 405 if open_path else 401, template=tpl, what="without a token")
            rec.record("GET", url, 200 if open_path else 401, template=tpl,
                       headers={"Authorization": "Bearer not-" + token}, what="with a wrong token")
            rec.record("GET", url, 200, template=tpl, headers=auth, what="with the token")
            rec.record("HEAD", url, 200, template=tpl, headers=auth, what="with the token")
    finally:
        client.close()
        rc, _ = d.stop()
        check_eq(rc, 0, "lingerd with --token-file exits 0 on SIGTERM")
        d.close()
    for s in rec.samples:
        if s["status"] == 401:
            check_eq(s["headers"].get("WWW-Authenticate"), 'Bearer realm="lingerd"',
                     "WWW-Authenticate on 401 %s" % s["url"])
    return rec.samples


def run_probes(rec, probes, dynamic=()):
    """Each parameter value the document allows is accepted; each it refuses is refused.

    A parameter marked x-lingerd-dynamic names something that exists only at run time (a
    network namespace): a well-formed value may still be unknown, so only its fixed words are
    probed as valid."""
    agree = disagree = 0
    for p in probes:
        tpl = p["template"]
        if tpl in rec.pending_paths or (tpl, p["name"]) in rec.pending_params:
            continue
        if p["name"] in dynamic and p["valid"] and p["value"] not in ("self", "all"):
            continue
        v = urllib.parse.quote(p["value"], safe=",")
        if p["in"] == "path":
            url = tpl.replace("{%s}" % p["name"], v)
        else:
            url = concrete(tpl) + "?%s=%s" % (urllib.parse.quote(p["name"]), v)
        status, _, data = rec.client.fetch("GET", url)
        body = {}
        try:
            body = json.loads(data) if data else {}
        except ValueError:
            pass
        err = body.get("error", {}) if isinstance(body, dict) else {}
        if p["valid"]:
            ok = status == 200
        elif p["in"] == "path":
            ok = status in (404, 414)
        else:
            ok = status == 400 and err.get("parameter") == p["name"]
        if ok:
            agree += 1
        else:
            disagree += 1
            check(False, "drift: %s %s=%r: the document says %s, the server answered %d %s"
                  % (tpl, p["name"], p["value"][:40], "valid" if p["valid"] else "invalid", status,
                     err.get("code", "")))
    print("parameter probes: %d agree with the document, %d do not" % (agree, disagree))
    check(agree > 100, "enough parameter probes ran (%d)" % agree)


def main():
    t0 = time.monotonic()
    if not os.access(BIN, os.X_OK):
        check(False, "LINGERD_BIN is not an executable: %s" % BIN)
        done()
    with open(DOC_PATH) as f:
        raw_doc = f.read()
    doc = json.loads(raw_doc)
    if not ensure_node():
        done()

    res = node("document", DOC_PATH)
    check(res["valid"], "api/openapi.json is a valid OpenAPI %s document: %s"
          % (res.get("version"), "; ".join(res["errors"][:10])))
    print("document: OpenAPI %s, %d operations, %d problems"
          % (res.get("version"), res.get("operations", 0), len(res["errors"])))

    # Every route the server has is documented.
    for route, prefix in routes_in_source():
        check(any(template_matches(t, route, prefix) for t in doc["paths"]),
              "route %s%s is documented" % (route, "{...}" if prefix else ""))

    tmp = tempfile.mkdtemp(prefix="lingerd-openapi-")
    d = Daemon("--interval", "0.5", "--metrics-ports", "80,443", "--attribution-interval", "1")
    lab = None
    client = Client(d.port)
    try:
        d.wait_snapshots(1)
        served = client.fetch("GET", "/api/v1/openapi.json")[2].decode()
        check(served == raw_doc, "the served document is api/openapi.json byte for byte "
              "(%d vs %d bytes; rebuild after editing it)" % (len(served), len(raw_doc)))
        lab = LabProc("--count", "1", "--port", "0", timeout=LAB_TIMEOUT)
        d.wait_snapshots(2)
        rec = Recorder(client)
        representative(rec, doc, lab)
        every_path(rec, doc)
        stalled_sampler(rec, d)
        dynamic = {v["name"] for v in doc["components"]["parameters"].values()
                   if v.get("x-lingerd-dynamic")}
        run_probes(rec, node("probes", DOC_PATH), dynamic)
        for s in with_token(doc, tmp):
            s["id"] = len(rec.samples)
            rec.samples.append(s)

        samples_file = os.path.join(tmp, "samples.json")
        with open(samples_file, "w") as f:
            json.dump([{k: v for k, v in s.items() if k != "json"} for s in rec.samples], f)
        results = node("responses", DOC_PATH, samples_file)
        check_eq(len(results), len(rec.samples), "every sample validated")
        seen = {}
        for s, r in zip(rec.samples, results):
            check(r["ok"], "%s %s -> %d matches the document: %s"
                  % (s["method"], s["url"][:100], s["status"], "; ".join(r["errors"])))
            seen.setdefault((r.get("template"), s["method"]), set()).add(s["status"])
        print("validated %d live answers against the document" % len(results))

        # The answers that must have been exercised, path by path.
        for tpl, item in doc["paths"].items():
            if tpl in rec.pending_paths:
                continue
            protected = item["get"].get("security") != [{}]
            want = {"GET": {200, 400, 421} | ({401} if protected else set()), "HEAD": {200}}
            for m in NOT_ALLOWED:
                want[m] = {405}
            want["POST"] = {405, 421} | ({401} if protected else set())
            if tpl == "/api/v1/states/{state}":
                want["GET"] |= {404, 414}
            if tpl == "/healthz":
                want["GET"].add(503)
                want["HEAD"].add(503)
            for m, codes in want.items():
                got = seen.get((tpl, m), set())
                check(codes <= got, "%s %s exercised %s (got %s)" % (m, tpl, sorted(codes), sorted(got)))
            documented = {int(c) for c in item["get"]["responses"]}
            print("%-28s GET statuses documented %s, exercised %s"
                  % (tpl, sorted(documented), sorted(seen.get((tpl, "GET"), set()))))
    finally:
        client.close()
        if lab:
            check_eq(lab.stop()[0], 0, "lab exits 0 on SIGTERM")
        rc, _ = d.stop()
        if not check_eq(rc, 0, "lingerd exits 0 on SIGTERM"):
            print("lingerd's stderr:\n" + d.log()[-6000:])
        d.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("it_openapi took %.1f s" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    main()
