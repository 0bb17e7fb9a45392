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
from lingerd_test import BIN, Daemon, DaemonCase, Http, LabProc, TestCase, main, npm_ci, poll  # noqa: E402

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


def setUpModule():
    """node from Debian, the validator from the npm registry (pinned by package-lock.json)."""
    if not os.access(BIN, os.X_OK):
        raise AssertionError("LINGERD_BIN is not an executable: %s" % BIN)
    if not shutil.which("node") or not shutil.which("npm"):
        raise AssertionError("node and npm are needed (scripts/deps-monitoring.sh installs them)")
    err = npm_ci(NODE_DIR, "@seriousme")
    if err:
        raise AssertionError(err)


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
    """Records answers for the validator; tc is the test case whose subtests check statuses."""

    def __init__(self, client, tc):
        self.client = client
        self.tc = tc
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
                print("SKIP: %s is documented but not served yet (404 no such endpoint): "
                      "validated once it is" % tpl)
            self.pending_paths.add(tpl)
            return None
        if status == 400 and err.get("code") == "unknown_parameter":
            key = (tpl, err.get("parameter"))
            if expect == 200 and key[1] and ("?%s=" % key[1] in path or "&%s=" % key[1] in path):
                if key not in self.pending_params:
                    print("SKIP: %s?%s= is documented but not taken yet (unknown_parameter)" % key)
                self.pending_params.add(key)
                return None
        if expect is not None:
            with self.tc.subTest(request="%s %s %s" % (method, path[:100], what)):
                self.tc.assertEqual(status, expect, "status of %s %s %s" % (method, path[:100], what))
        sample = {"id": len(self.samples), "method": method, "path": path.split("?")[0],
                  "url": path, "status": status, "headers": hdrs, "content_type": ctype,
                  "body": text, "json": parsed}
        if template:
            sample["template"] = template
        self.samples.append(sample)
        return sample


class Document(TestCase):
    def test_document_is_valid(self):
        res = node("document", DOC_PATH)
        print("document: OpenAPI %s, %d operations, %d problems"
              % (res.get("version"), res.get("operations", 0), len(res["errors"])))
        self.assertTrue(res["valid"], "api/openapi.json is a valid OpenAPI %s document: %s"
                        % (res.get("version"), "; ".join(res["errors"][:10])))

    def test_every_route_documented(self):
        with open(DOC_PATH) as f:
            doc = json.load(f)
        for route, prefix in routes_in_source():
            with self.subTest(route=route):
                self.assertTrue(any(template_matches(t, route, prefix) for t in doc["paths"]),
                                "route %s%s is documented" % (route, "{...}" if prefix else ""))


class Live(DaemonCase):
    """lingerd with `lingerd lab` holding sockets in every state: every answer recorded is
    validated against the document at the end (test_answers_match_the_document)."""

    daemon_args = ("--interval", "0.5", "--metrics-ports", "80,443", "--attribution-interval", "1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(DOC_PATH) as f:
            cls.raw_doc = f.read()
        cls.doc = json.loads(cls.raw_doc)
        cls.tmp = tempfile.mkdtemp(prefix="lingerd-openapi-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.client = Http(cls.d.port)
        cls.addClassCleanup(cls.client.close)
        cls.lab = LabProc("--count", "1", "--port", "0", timeout=LAB_TIMEOUT)
        cls.addClassCleanup(cls.lab.stop)
        cls.d.wait_snapshots(2)
        cls.samples = []
        cls.pending_paths = set()
        cls.pending_params = set()

    def recorder(self):
        """A recorder whose samples and pending lists are the class's, checked by this test."""
        rec = Recorder(self.client, self)
        rec.samples, rec.pending_paths, rec.pending_params = (self.samples, self.pending_paths,
                                                              self.pending_params)
        return rec

    def test_served_document(self):
        served = self.client.fetch("GET", "/api/v1/openapi.json")[2].decode()
        self.assertTrue(served == self.raw_doc, "the served document is api/openapi.json byte for byte "
                        "(%d vs %d bytes; rebuild after editing it)" % (len(served), len(self.raw_doc)))

    def test_representative_requests(self):
        self.representative(self.recorder(), self.doc, self.lab)

    def test_every_path(self):
        self.every_path(self.recorder(), self.doc)

    def test_stalled_sampler(self):
        self.stalled_sampler(self.recorder())

    def test_parameter_probes(self):
        dynamic = {v["name"] for v in self.doc["components"]["parameters"].values()
                   if v.get("x-lingerd-dynamic")}
        self.run_probes(self.recorder(), node("probes", DOC_PATH), dynamic)

    def test_with_token(self):
        for s in self.with_token(self.doc, self.tmp):
            s["id"] = len(self.samples)
            self.samples.append(s)

    def test_answers_match_the_document(self):
        """Every answer recorded by the tests above, validated against its path, method and status."""
        samples_file = os.path.join(self.tmp, "samples.json")
        with open(samples_file, "w") as f:
            json.dump([{k: v for k, v in s.items() if k != "json"} for s in self.samples], f)
        results = node("responses", DOC_PATH, samples_file)
        self.assertEqual(len(results), len(self.samples), "every sample validated")
        seen = {}
        for s, r in zip(self.samples, results):
            with self.subTest(request="%s %s -> %d" % (s["method"], s["url"][:100], s["status"])):
                self.assertTrue(r["ok"], "%s %s -> %d matches the document: %s"
                                % (s["method"], s["url"][:100], s["status"], "; ".join(r["errors"])))
            seen.setdefault((r.get("template"), s["method"]), set()).add(s["status"])
        print("validated %d live answers against the document" % len(results))

        # The answers that must have been exercised, path by path.
        for tpl, item in self.doc["paths"].items():
            if tpl in self.pending_paths:
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
                with self.subTest(path=tpl, method=m):
                    self.assertTrue(codes <= got, "%s %s exercised %s (got %s)"
                                    % (m, tpl, sorted(codes), sorted(got)))
            documented = {int(c) for c in item["get"]["responses"]}
            print("%-28s GET statuses documented %s, exercised %s"
                  % (tpl, sorted(documented), sorted(seen.get((tpl, "GET"), set()))))

    def test_shutdown(self):
        self.assertEqual(self.lab.stop()[0], 0, "lab exits 0 on SIGTERM")
        self.client.close()
        rc, _ = self.d.stop()
        self.assertEqual(rc, 0, "lingerd exits 0 on SIGTERM; its stderr:\n" + self.d.log()[-6000:])

    def representative(self, rec, doc, lab):
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
            self.assertTrue(s["json"]["counts"]["CLOSE_WAIT"] >= 1, "snapshot?port= counts the lab's CLOSE_WAIT")
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
            self.assertTrue(nxt is not None, "a 3-socket page of the lab has a next cursor")
            if nxt:
                G("/api/v1/sockets?limit=3&cursor=" + urllib.parse.quote(nxt))
        def leaker_sockets():
            s = G("/api/v1/sockets?comm=lab-leaker")
            return s and isinstance(s["json"], dict) and s["json"].get("sockets")

        self.assertTrue(poll(leaker_sockets, 15, 0.5),
              "the leaker's sockets are attributed in 15 s (pid, comm and cmdline exercised)")
        G("/api/v1/sockets?pid=%d&state=CLOSE_WAIT" % leaker)
        G("/api/v1/sockets?limit=0", 400)
        G("/api/v1/sockets?cursor=zzz", 400)
        G("/api/v1/sockets?bogus=1", 400)
        csv_page = G("/api/v1/sockets?format=csv&state=CLOSE_WAIT&limit=50")
        if csv_page:
            rows = list(csv.reader(io.StringIO(csv_page["body"])))
            js = G("/api/v1/sockets?state=CLOSE_WAIT&limit=50")
            self.assertTrue(len(rows) >= 1 and all(len(r) == len(rows[0]) for r in rows),
                  "CSV rows all have the header's columns")
            if js and js["json"]:
                self.assertEqual(len(rows) - 1, len(js["json"]["sockets"]), "CSV data rows = JSON sockets on the same page")

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
            self.assertTrue(len(t["json"]["series"]) >= 1, "trends has series while the lab runs (schema exercised)")
        G("/api/v1/trends?states=CLOSE_WAIT,TIME_WAIT&from=-60&to=-1s")
        G("/api/v1/trends?states=close_wait&from=-1h&step=60&by=process")
        G("/api/v1/trends?by=local_port&from=-90s")
        G("/api/v1/trends?from=yesterday", 400)
        g = G("/api/v1/lingering")
        if g and g["json"]:
            self.assertTrue(len(g["json"]["groups"]) >= 1, "lingering has groups while the lab runs (schema exercised)")
        for g in ("process", "local_port", "remote", "remote_port"):
            G("/api/v1/lingering?group_by=%s&min_age=0" % g)
        G("/api/v1/lingering?group_by=process&states=CLOSE_WAIT,fin-wait-2")
        G("/api/v1/lingering?group_by=pid", 400)
        G("/api/v1/findings")
        f = G("/api/v1/findings?min_age=0")
        if f and f["json"]:
            self.assertTrue(len(f["json"]["findings"]) >= 1, "the lab's CLOSE_WAIT leak gives findings (schema exercised)")
        G("/api/v1/findings?min_age=-5", 400)
        G("/api/v1/system")
        G("/api/v1/system?x=1", 400)

    def every_path(self, rec, doc):
        """HEAD, the refused methods, a body, a foreign Host: on every documented path."""
        for tpl in doc["paths"]:
            url = concrete(tpl)
            if tpl in rec.pending_paths:
                continue
            get_status = rec.client.fetch("GET", url)[0]
            h = rec.record("HEAD", url, get_status, template=tpl)
            if h:
                self.assertEqual(h["body"], "", "HEAD %s has no body" % url)
            for m in NOT_ALLOWED:
                s = rec.record(m, url, 405, template=tpl)
                if s:
                    self.assertEqual(s["headers"].get("Allow"), "GET, HEAD", "Allow on %s %s" % (m, url))
            rec.record("GET", url, 400, template=tpl, body=b"hello", headers={"Content-Type": "text/plain"},
                       what="with a body")
            rec.record("GET", url, 421, template=tpl, headers={"Host": "evil.example"}, what="foreign Host")
            rec.record("POST", url, 421, template=tpl, headers={"Host": "evil.example"}, what="foreign Host")

    def stalled_sampler(self, rec):
        d = self.d
        """An exclusive lock on the database stalls the sampler: /healthz turns 503 degraded, while
        the snapshot and /metrics, served from memory, still answer."""
        db = sqlite3.connect(d.db, isolation_level=None, timeout=10)
        try:
            db.execute("BEGIN EXCLUSIVE")
            got = poll(lambda: rec.client.fetch("GET", "/healthz")[0] == 503, 10)
            self.assertTrue(got, "/healthz turns 503 while the database is locked")
            if got:
                s = rec.record("GET", "/healthz", 503)
                if s and s["json"]:
                    self.assertEqual(s["json"]["status"], "degraded", "503 health says degraded")
                    self.assertTrue(len(s["json"]["problems"]) >= 1, "503 health lists its problems")
                rec.record("HEAD", "/healthz", 503)
                t0 = time.monotonic()
                rec.record("GET", "/metrics", 200, what="(database locked)")
                rec.record("GET", "/api/v1/snapshot", 200, what="(database locked)")
                self.assertTrue(time.monotonic() - t0 < 2, "metrics and snapshot never wait on the database")
        finally:
            db.execute("ROLLBACK")
            db.close()
        self.assertTrue(poll(lambda: rec.client.fetch("GET", "/healthz")[0] == 200, 15),
              "/healthz recovers once the lock is gone")

    def with_token(self, doc, tmp):
        """lingerd with --token-file: 401 without the token on every protected path (whatever the
        method), answers with it, and /healthz and the document stay open, as documented."""
        token = "t0ken-" + os.urandom(12).hex()
        path = os.path.join(tmp, "token")
        with open(path, "w") as f:
            f.write(token + "\n")
        d = Daemon("--interval", "0.5", "--token-file", path)
        client = Http(d.port)
        rec = Recorder(client, self)
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
            self.assertEqual(rc, 0, "lingerd with --token-file exits 0 on SIGTERM")
            d.close()
        for s in rec.samples:
            if s["status"] == 401:
                with self.subTest(url=s["url"]):
                    self.assertEqual(s["headers"].get("WWW-Authenticate"), 'Bearer realm="lingerd"',
                                     "WWW-Authenticate on 401 %s" % s["url"])
        return rec.samples

    def run_probes(self, rec, probes, dynamic=()):
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
                with self.subTest(probe="%s %s=%r" % (tpl, p["name"], p["value"][:40])):
                    self.fail("drift: %s %s=%r: the document says %s, the server answered %d %s"
                              % (tpl, p["name"], p["value"][:40], "valid" if p["valid"] else "invalid",
                                 status, err.get("code", "")))
        print("parameter probes: %d agree with the document, %d do not" % (agree, disagree))
        self.assertTrue(agree > 100, "enough parameter probes ran (%d)" % agree)


if __name__ == "__main__":
    main()
