"""HTTP surface: routes, methods, bodies, a table of good and bad parameters, headers."""
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import Daemon, check, check_eq, done  # noqa: E402

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


def raw_request(port, data, read=65536):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(read)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        if len(body) >= int(line.split(b":")[1]):
                            return out
        return out
    finally:
        s.close()


def main():
    d = Daemon("--interval", "0.5")
    try:
        d.wait_snapshots(1)
        for path, status, code, param in TABLE:
            st, hdrs, body = d.get(path)
            check_eq(st, status, "status of %s" % path[:80])
            check(hdrs.get("Content-Type", "").startswith("application/json"),
                  "JSON content type for %s" % path[:80])
            if code:
                check(isinstance(body, dict) and body.get("error", {}).get("code") == code,
                      "error code %s for %s: %r" % (code, path[:80], body))
                if param:
                    check_eq(body["error"].get("parameter"), param, "parameter named for %s" % path)
                check(len(body["error"].get("message", "")) > 5, "message for %s" % path[:80])

        # Every response carries the security headers.
        for path in ("/healthz", "/api/v1/nothing"):
            _, hdrs, _ = d.get(path)
            check_eq(hdrs.get("X-Content-Type-Options"), "nosniff", "nosniff on " + path)
            check("frame-ancestors 'none'" in hdrs.get("Content-Security-Policy", ""), "CSP on " + path)
            check_eq(hdrs.get("Cache-Control"), "no-store", "no-store on " + path)
            check("Access-Control-Allow-Origin" not in hdrs, "no CORS on " + path)

        # Methods: only GET and HEAD.
        for m in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            st, hdrs, body = d.get("/api/v1/snapshot", method=m)
            check_eq(st, 405, "%s is 405" % m)
            check_eq(hdrs.get("Allow"), "GET, HEAD", "Allow header on %s" % m)
            check_eq(body["error"]["code"], "method_not_allowed", "405 code on %s" % m)
        st, hdrs, body = d.get("/api/v1/snapshot", method="HEAD")
        check_eq(st, 200, "HEAD is 200")
        check_eq(body, b"", "HEAD has no body")

        # A GET with a body is refused without reading it.
        out = raw_request(d.port, b"GET /api/v1/snapshot HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello")
        check(out.startswith(b"HTTP/1.1 400"), "GET with body is 400: %r" % out[:40])
        check(b"body_not_allowed" in out, "GET with body code")
        out = raw_request(d.port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400"), "chunked GET is 400")

        # Host allow-list: loopback names and literals pass, anything else is 421 (rebinding).
        for host, want in (("localhost", 200), ("LOCALHOST:9", 200), ("localhost.", 200),
                           ("127.0.0.1", 200), ("127.9.9.9:80", 200), ("[::1]", 200),
                           ("[::1]:1", 200), ("evil.example", 421), ("evil.example:%d" % d.port, 421),
                           ("127.0.0.1.evil.example", 421), ("::1", 421), ("", 421),
                           ("[::2]", 421), ("localhost:abc", 421), ("10.0.0.1", 421)):
            out = raw_request(d.port, ("GET /api/v1/snapshot HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode())
            check(out.startswith(b"HTTP/1.1 %d" % want), "Host %r -> %d: %r" % (host, want, out[:30]))
            if want == 421:
                check(b"misdirected_request" in out and b"nosniff" in out,
                      "421 is a JSON error with security headers")

        # Keep-alive: several requests over one connection.
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
        for i in range(5):
            c.request("GET", "/api/v1/snapshot")
            r = c.getresponse()
            body = r.read()
            check_eq(r.status, 200, "keep-alive request %d" % i)
            check(r.getheader("Connection", "").lower() != "close", "connection kept open %d" % i)
            json.loads(body)
        c.close()

        # Garbage on the wire gets an answer or a close, never a hang or a crash.
        for junk in (b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\n" + b"X: " + b"a" * 100000 + b"\r\n\r\n"):
            try:
                raw_request(d.port, junk)
            except OSError:
                pass
        st, _, _ = d.get("/healthz")
        check_eq(st, 200, "alive after garbage")

        # The states documents: 11 states, both languages.
        en = d.json("/api/v1/states")
        ko = d.json("/api/v1/states?lang=ko")
        check_eq(len(en["states"]), 11, "11 states explained")
        check_eq([s["state"] for s in en["states"]], [s["state"] for s in ko["states"]],
                 "same states in both languages")
        one = d.json("/api/v1/states/close_wait")
        check_eq(one["state"], "CLOSE_WAIT", "one state by a lower-case name")
    finally:
        d.close()
    rc, _ = d.stop()


main()
done()
