"""HTTP surface: routes, methods, bodies, a table of good and bad parameters, headers."""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import DaemonCase, main, raw_request  # noqa: E402

# (path, expected status, expected error code, expected parameter)
TABLE = [
    ("/api/v1/snapshot", 200, None, None),
    ("/api/v1/snapshot?port=80", 200, None, None),
    ("/api/v1/snapshot?family=ipv6", 200, None, None),
    ("/api/v1/snapshot?port=65536", 400, "bad_parameter", "port"),
    ("/api/v1/snapshot?port=-1", 400, "bad_parameter", "port"),
    ("/api/v1/snapshot?port=abc", 400, "bad_parameter", "port"),
    ("/api/v1/snapshot?port=", 400, "bad_parameter", "port"),
    ("/api/v1/snapshot?port=1&port=2", 400, "bad_parameter", "port"),
    ("/api/v1/snapshot?family=inet", 400, "bad_parameter", "family"),
    ("/api/v1/snapshot?state=LISTEN", 400, "unknown_parameter", "state"),
    ("/api/v1/snapshot?bogus=1", 400, "unknown_parameter", "bogus"),
    ("/api/v1/sockets", 200, None, None),
    ("/api/v1/sockets?state=CLOSE_WAIT", 200, None, None),
    ("/api/v1/sockets?state=close-wait,time_wait", 200, None, None),
    ("/api/v1/sockets?state=CLOSE_WAITING", 400, "bad_parameter", "state"),
    ("/api/v1/sockets?state=", 400, "bad_parameter", "state"),
    ("/api/v1/sockets?local_port=22&remote_port=0", 200, None, None),
    ("/api/v1/sockets?local_port=70000", 400, "bad_parameter", "local_port"),
    ("/api/v1/sockets?remote_port=x", 400, "bad_parameter", "remote_port"),
    ("/api/v1/sockets?min_age=1.5", 200, None, None),
    ("/api/v1/sockets?min_age=-1", 400, "bad_parameter", "min_age"),
    ("/api/v1/sockets?min_age=nan", 400, "bad_parameter", "min_age"),
    ("/api/v1/sockets?limit=10000", 200, None, None),
    ("/api/v1/sockets?limit=0", 400, "bad_parameter", "limit"),
    ("/api/v1/sockets?limit=10001", 400, "bad_parameter", "limit"),
    ("/api/v1/sockets?cursor=zzz", 400, "bad_parameter", "cursor"),
    ("/api/v1/sockets?cursor=1_", 400, "bad_parameter", "cursor"),
    ("/api/v1/sockets?cursor=1_ff", 200, None, None),
    ("/api/v1/sockets?family=ipv4&port=1", 200, None, None),
    ("/api/v1/states", 200, None, None),
    ("/api/v1/states?lang=ko", 200, None, None),
    ("/api/v1/states?lang=fr", 400, "bad_parameter", "lang"),
    ("/api/v1/states/CLOSE_WAIT", 200, None, None),
    ("/api/v1/states/close-wait?lang=ko", 200, None, None),
    ("/api/v1/states/NOPE", 404, "not_found", None),
    ("/api/v1/states/", 404, "not_found", None),
    ("/api/v1/states/CLOSE_WAIT/x", 404, "not_found", None),
    ("/healthz", 200, None, None),
    ("/healthz?x=1", 400, "unknown_parameter", "x"),
    ("/api/v1/nothing", 404, "not_found", None),
    ("/api/v1/snapshot/", 404, "not_found", None),
    ("/../../etc/passwd", 404, "not_found", None),
    ("/api/v1/sockets?%00=1", 400, "bad_parameter", None),
    ("/api/v1/sockets?" + "a" * 300 + "=1", 400, "bad_parameter", None),
]


class Http(DaemonCase):
    daemon_args = ("--interval", "0.5")

    def test_parameter_table(self):
        for path, status, code, param in TABLE:
            with self.subTest(path=path[:80]):
                st, hdrs, body = self.d.get(path)
                self.assertEqual(st, status, "status of %s" % path[:80])
                self.assertTrue(hdrs.get("Content-Type", "").startswith("application/json"),
                                "JSON content type for %s" % path[:80])
                if code:
                    self.assertTrue(isinstance(body, dict) and body.get("error", {}).get("code") == code,
                                    "error code %s for %s: %r" % (code, path[:80], body))
                    if param:
                        self.assertEqual(body["error"].get("parameter"), param,
                                         "parameter named for %s" % path)
                    self.assertGreater(len(body["error"].get("message", "")), 5,
                                       "message for %s" % path[:80])

    def test_security_headers(self):
        """Every response carries the security headers."""
        for path in ("/healthz", "/api/v1/nothing"):
            with self.subTest(path=path):
                _, hdrs, _ = self.d.get(path)
                self.assertEqual(hdrs.get("X-Content-Type-Options"), "nosniff", "nosniff on " + path)
                self.assertIn("frame-ancestors 'none'", hdrs.get("Content-Security-Policy", ""),
                              "CSP on " + path)
                self.assertEqual(hdrs.get("Cache-Control"), "no-store", "no-store on " + path)
                self.assertNotIn("Access-Control-Allow-Origin", hdrs, "no CORS on " + path)

    def test_methods(self):
        """Only GET and HEAD."""
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=m):
                st, hdrs, body = self.d.get("/api/v1/snapshot", method=m)
                self.assertEqual(st, 405, "%s is 405" % m)
                self.assertEqual(hdrs.get("Allow"), "GET, HEAD", "Allow header on %s" % m)
                self.assertEqual(body["error"]["code"], "method_not_allowed", "405 code on %s" % m)
        st, hdrs, body = self.d.get("/api/v1/snapshot", method="HEAD")
        self.assertEqual(st, 200, "HEAD is 200")
        self.assertEqual(body, b"", "HEAD has no body")

    def test_get_with_body(self):
        """A GET with a body is refused without reading it."""
        out = raw_request(self.d.port, b"GET /api/v1/snapshot HTTP/1.1\r\nHost: localhost\r\n"
                          b"Content-Length: 5\r\n\r\nhello")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), "GET with body is 400: %r" % out[:40])
        self.assertIn(b"body_not_allowed", out, "GET with body code")
        out = raw_request(self.d.port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), "chunked GET is 400")

    def test_host_allow_list(self):
        """Loopback names and literals pass, anything else is 421 (DNS rebinding)."""
        for host, want in (("localhost", 200), ("LOCALHOST:9", 200), ("localhost.", 200),
                           ("127.0.0.1", 200), ("127.9.9.9:80", 200), ("[::1]", 200),
                           ("[::1]:1", 200), ("evil.example", 421),
                           ("evil.example:%d" % self.d.port, 421),
                           ("127.0.0.1.evil.example", 421), ("::1", 421), ("", 421),
                           ("[::2]", 421), ("localhost:abc", 421), ("10.0.0.1", 421)):
            with self.subTest(host=host):
                out = raw_request(self.d.port, ("GET /api/v1/snapshot HTTP/1.1\r\nHost: %s\r\n\r\n"
                                                % host).encode())
                self.assertTrue(out.startswith(b"HTTP/1.1 %d" % want),
                                "Host %r -> %d: %r" % (host, want, out[:30]))
                if want == 421:
                    self.assertTrue(b"misdirected_request" in out and b"nosniff" in out,
                                    "421 is a JSON error with security headers")

    def test_keep_alive(self):
        """Several requests over one connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=5)
        try:
            for i in range(5):
                c.request("GET", "/api/v1/snapshot")
                r = c.getresponse()
                body = r.read()
                self.assertEqual(r.status, 200, "keep-alive request %d" % i)
                self.assertNotEqual(r.getheader("Connection", "").lower(), "close",
                                    "connection kept open %d" % i)
                json.loads(body)
        finally:
            c.close()

    def test_garbage_on_the_wire(self):
        """Garbage gets an answer or a close, never a hang or a crash."""
        for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\n" + b"X: " + b"a" * 100000 + b"\r\n\r\n"):
            try:
                raw_request(self.d.port, junk)
            except OSError:
                pass
        st, _, _ = self.d.get("/healthz")
        self.assertEqual(st, 200, "alive after garbage")

    def test_states_documents(self):
        """11 states, both languages."""
        en = self.d.json("/api/v1/states")
        ko = self.d.json("/api/v1/states?lang=ko")
        self.assertEqual(len(en["states"]), 11, "11 states explained")
        self.assertEqual([s["state"] for s in en["states"]], [s["state"] for s in ko["states"]],
                         "same states in both languages")
        one = self.d.json("/api/v1/states/close_wait")
        self.assertEqual(one["state"], "CLOSE_WAIT", "one state by a lower-case name")


if __name__ == "__main__":
    main()
