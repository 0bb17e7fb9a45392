"""`lingerd demo` beside a running lingerd, as the README's first run has it.

In a fresh network namespace, from a folder of our own: lingerd on its defaults (127.0.0.1:9471,
./lingerd.db, what scripts/run.sh starts), then `lingerd demo --lab-port BASE`. The demo starts
anyway, on its own port and a fresh database (not ./lingerd.db), removed on exit; its lab sits on
BASE.. as ss shows; the terminal gets a few short lines, not the lab's 40 KB JSON line, which
--json still prints; a lab that cannot start stops the demo."""
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN as _BIN, check, check_eq, done, run_in_private_netns, ss_sockets  # noqa: E402

BIN = os.path.abspath(_BIN)  # the demo runs from a folder of its own
LAB_BASE = 33500
DEMO_PORT = 9472
START_TIMEOUT = 30


def read_lines(proc, until, timeout):
    """Lines of proc's stdout (unbuffered, so that select() sees what is left) until one
    matches until (a regex) or timeout."""
    lines, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], end - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if re.search(until, line):
            break
    return lines


def healthz(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=10) as r:
        return json.loads(r.read())


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def run_demo(cwd, env, *args):
    return subprocess.Popen([BIN, "demo", "--interval", "1"] + list(args), cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)


def main():
    work = tempfile.mkdtemp(prefix="lingerd-it-demo-")
    tmpdir = os.path.join(work, "tmp")
    os.mkdir(tmpdir)
    env = dict(os.environ, TMPDIR=tmpdir)
    daemon = subprocess.Popen([BIN, "--interval", "1"], cwd=work, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, bufsize=0)
    try:
        first = read_lines(daemon, r"listening on", 10)
        check_eq(first[-1:], ["listening on http://127.0.0.1:9471"], "lingerd on its defaults")

        demo = run_demo(work, env, "--lab-port", str(LAB_BASE))
        lines = read_lines(demo, r"holding them", START_TIMEOUT)
        check("listening on http://127.0.0.1:%d" % DEMO_PORT in lines,
              "the demo serves on its own port beside a running lingerd: %r" % lines)
        dbs = glob.glob(os.path.join(tmpdir, "lingerd-demo-*", "lingerd.db"))
        check_eq(len(dbs), 1, "the demo's fresh database sits in a folder of its own under TMPDIR")
        check_eq([f for f in os.listdir(work) if not f.startswith("lingerd.db")], ["tmp"],
                 "the demo wrote nothing next to ./lingerd.db")
        try:
            check_eq(healthz(DEMO_PORT)["db"], "ok", "the demo's service answers with its db ok")
            check_eq(healthz(9471)["db"], "ok", "the first lingerd still answers")
        except OSError as e:
            check(False, "both services answer: %s" % e)
        listen = {lp for st, la, lp, ra, rp in ss_sockets() if st == "LISTEN"}
        check(LAB_BASE in listen and LAB_BASE + 1 not in listen and 31100 not in listen,
              "--lab-port moves the lab's listeners to BASE: %r" % sorted(listen))
        # What the terminal got: a few short lines, no JSON.
        check(all(len(line) < 200 for line in lines) and len(lines) <= 8,
              "the demo prints a few short lines: %r" % lines)
        check(not any(line.startswith("{") for line in lines), "no JSON in the demo's terminal")
        check(any(re.search(r"CLOSE_WAIT leak: \d+ held by process lab-leaker", line)
                  for line in lines), "the summary names the leaking process: %r" % lines)
        rc, out, err = stop(demo)
        check_eq(rc, 0, "the demo exits 0 on SIGTERM (%s)" % err.strip())
        check(len(out) < 1000, "nothing long printed later either (%d bytes)" % len(out))
        check("fresh database" in err and dbs and dbs[0] in err,
              "the demo says where its database is: %r" % err)
        check_eq(os.listdir(tmpdir), [], "the demo's database and folder are removed on exit")

        # --json: the lab's full report, one line, as before.
        demo = run_demo(work, env, "--json", "--lab-port", str(LAB_BASE), "--listen",
                        "127.0.0.1:0")
        lines = read_lines(demo, r"^\{", START_TIMEOUT)
        rep = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
        check_eq(rep.get("port_base"), LAB_BASE, "demo --json prints the lab's JSON report")
        check_eq(rep.get("count"), 3, "the demo's lab holds 3 of each")
        rc, _, err = stop(demo)
        check_eq(rc, 0, "demo --json exits 0 (%s)" % err.strip())
        check_eq(os.listdir(tmpdir), [], "removed on exit with --json too")

        # A lab that cannot build (a port of its taken) stops the demo, which says why.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", LAB_BASE + 1))
        blocker.listen(1)
        try:
            t0 = time.monotonic()
            p = subprocess.run([BIN, "demo", "--interval", "1", "--lab-port", str(LAB_BASE)],
                               cwd=work, env=env, capture_output=True, text=True, timeout=30)
        finally:
            blocker.close()
        check_eq(p.returncode, 1, "the demo exits 1 when its lab cannot start")
        check(time.monotonic() - t0 < 10, "... promptly")
        check("EADDRINUSE" in p.stderr and "the lab stopped" in p.stderr,
              "... and says why: %r" % p.stderr)
        check_eq(os.listdir(tmpdir), [], "... removing its fresh database")
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(15)
        shutil.rmtree(work, ignore_errors=True)
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "the demo binds fixed ports (9471, 9472, the lab's)")
