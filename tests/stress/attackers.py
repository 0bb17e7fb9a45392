#!/usr/bin/env python3
"""The cheap attacks a hostile local user can make on lingerd's HTTP port, one per process so
that the client measuring lingerd does not share an interpreter with them.  Loopback only.

  attackers.py slow PORT CONNS SECONDS       request heads trickled a line every 2 s
  attackers.py keepalive PORT CONNS SECONDS  one request each, then idle keep-alive
  attackers.py heavy PORT CONNS SECONDS PATH clients asking PATH back to back

slow and keepalive spread their connections over 127.0.0.1-16 (every local user may bind
any 127.x address) and reconnect as soon as lingerd closes one, so they keep pushing.  At
the end each prints one JSON line: connections opened, closed by lingerd, answers by status."""
import errno
import json
import selectors
import socket
import sys
import threading
import time
import http.client

HEAD = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"


def sources():
    """127.0.0.N addresses usable as sources here (a private namespace gives 2-16 routes)."""
    out = ["127.0.0.1"]
    for i in range(2, 17):
        s = socket.socket()
        try:
            s.bind(("127.0.0.%d" % i, 0))
            out.append("127.0.0.%d" % i)
        except OSError:
            pass
        finally:
            s.close()
    return out


def flood(kind, port, conns, seconds):
    """slow: a request head that never ends; keepalive: a whole request, then silence."""
    sel = selectors.DefaultSelector()
    srcs = sources()
    stats = {"opened": 0, "closed_by_server": 0, "connect_errors": 0, "max_open": 0}
    live = {}  # socket -> state: "connecting" or "open"
    first = HEAD if kind == "slow" else HEAD + b"\r\n"
    end = time.monotonic() + seconds
    n = 0

    def open_one():
        nonlocal n
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((srcs[n % len(srcs)], 0))
            n += 1
            rc = s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            stats["connect_errors"] += 1
            return
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            stats["connect_errors"] += 1
            return
        live[s] = "connecting"
        sel.register(s, selectors.EVENT_WRITE)
        stats["opened"] += 1

    def drop(s, by_server):
        sel.unregister(s)
        del live[s]
        s.close()
        if by_server:
            stats["closed_by_server"] += 1

    next_line = time.monotonic() + 2
    while time.monotonic() < end:
        budget = 200  # connections opened per turn, so the loop keeps reading too
        while len(live) < conns and budget:
            open_one()
            budget -= 1
        stats["max_open"] = max(stats["max_open"], len(live))
        for key, ev in sel.select(timeout=0.05):
            s = key.fileobj
            if live.get(s) == "connecting":
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    drop(s, False)
                    stats["connect_errors"] += 1
                    continue
                try:
                    s.send(first)
                except OSError:
                    drop(s, True)
                    continue
                live[s] = "open"
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                drop(s, True)
        if kind == "slow" and time.monotonic() >= next_line:
            next_line += 2
            for s, st in list(live.items()):
                if st == "open":
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except BlockingIOError:
                        pass
                    except OSError:
                        drop(s, True)
    for s in list(live):
        drop(s, False)
    return stats


def heavy(port, conns, seconds, path):
    """conns keep-alive clients asking path back to back, each in its own thread."""
    stats = {"answers": {}, "errors": 0}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client():
        c = None
        while time.monotonic() < end:
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                with lock:
                    stats["answers"][r.status] = stats["answers"].get(r.status, 0) + 1
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    c = None
            except (OSError, http.client.HTTPException):
                with lock:
                    stats["errors"] += 1
                if c:
                    c.close()
                c = None
                time.sleep(0.01)
        if c:
            c.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats


def main():
    kind, port, conns, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if kind == "heavy":
        out = heavy(port, conns, seconds, sys.argv[5])
    else:
        out = flood(kind, port, conns, seconds)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
