"""The terminal view against a real daemon and the lab's leak, through a pseudo-terminal (tmux).

Inside a private network namespace, so every count is exact:
- before the lab: `lingerd status` exits 0 and says no finding stands;
- with `lingerd lab --count 13 --family 4` (52 CLOSE_WAIT in lingerd-lab: a critical leak, and
  the lab-leaker's own): piped, status prints plain text naming the process, its finding, the
  first remedy and the offenders, and exits 1; --json carries the same; on a terminal it is
  coloured, and NO_COLOR turns that off;
- `lingerd top` in tmux: the screen shows the offenders, redraws in place (one header, the clock
  moves), switches its order on a, g and c, and quits on q with status 0, leaving the normal screen;
- `lingerd sockets` lists the leaker's CLOSE_WAIT sockets like ss, with owner and age, and
  --csv gives the daemon's CSV;
- a token is needed and sent; an unreachable daemon or a non-loopback URL gives 69 or 64."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import lingerd_test  # noqa: E402
from lingerd_test import (Daemon, LabProc, check, check_eq, done,  # noqa: E402
                          run_in_private_netns, skip)

BIN = os.path.abspath(lingerd_test.BIN)
COUNT = 13  # per family: 4 CLOSE_WAIT in lingerd-lab each, so 52 (>= 50 is critical)
TOKEN = "cli-test-token-0123456789"
# A process that names itself with an escape sequence and a bell, and holds one connection.
HOSTILE = (
    "import ctypes, socket, sys, time\n"
    "ctypes.CDLL(None).prctl(15, b'\\x1b[31mEVIL\\x07', 0, 0, 0)\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "print('held', flush=True)\n"
    "time.sleep(600)\n")


def cli(*args, env=None, timeout=30):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


class Tmux:
    """One tmux server of our own (its own socket and configuration) running one command."""

    def __init__(self, cmd, env=None, cols=140, rows=45):
        # Its socket in a folder of its own, gone with it (tmux leaves the file behind).
        self.dir = tempfile.mkdtemp(prefix="lingerd-cli-tmux-")
        self.sock = os.path.join(self.dir, "socket")
        self.conf = os.path.join(self.dir, "tmux.conf")
        # remain-on-exit keeps the pane (and its exit status) after a quick command ends.
        with open(self.conf, "w") as f:
            f.write("set -g remain-on-exit on\n")
        self.base = ["tmux", "-S", self.sock, "-f", self.conf]
        envs = ["%s=%s" % kv for kv in (env or {}).items()]
        # The exit status through a shell of our own: tmux's own record of it is lost at
        # times when the sanitizers' leak check stops the process at exit (ptrace).
        self.status = os.path.join(self.dir, "status")
        subprocess.run(self.base + ["new-session", "-d", "-s", "t", "-x", str(cols), "-y",
                                    str(rows), "sh", "-c", '"$@"; echo $? > "$0"', self.status,
                                    "env"] + envs + ["TERM=xterm-256color"] + cmd,
                       check=True)

    def screen(self, escapes=False):
        p = subprocess.run(self.base + ["capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else []),
                           capture_output=True, text=True)
        return p.stdout

    def keys(self, *k):
        subprocess.run(self.base + ["send-keys", "-t", "t"] + list(k), check=True)

    def dead(self, timeout=5):
        """(the command ended, its exit status), waiting up to timeout for it to end."""
        deadline = time.time() + timeout
        while True:
            try:
                with open(self.status) as f:
                    text = f.read()
                if text.endswith("\n"):
                    return True, int(text)
            except OSError:
                pass
            if time.time() > deadline:
                return False, None
            time.sleep(0.1)

    def wait_for(self, pred, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.2)
        return self.screen()

    def close(self):
        subprocess.run(self.base + ["kill-server"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    if not shutil.which("tmux"):
        skip("tmux is missing (scripts/deps.sh test installs it)")
        check(False, "tmux installed")
        done()
    tmp = tempfile.mkdtemp(prefix="lingerd-cli-")
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    d = Daemon("--interval", "0.5", "--attribution-interval", "0.5", "--token-file", token_file)
    url = ["--url", d.base, "--token-file", token_file]
    lab = tmux = hostile = listener = None
    try:
        d.wait_snapshots(2)
        # --- no lab: nothing stands ---------------------------------------------------------
        rc, out, err = cli("status", "--min-age", "0", *url)
        check_eq(rc, 0, "status exits 0 with no critical finding (%s)" % err)
        check("FINDINGS  0 critical" in out, "status says no critical finding: %r" % out[:600])
        check("lingerd at %s: ok" % d.base in out, "status shows the daemon's health")
        # --- errors -------------------------------------------------------------------------
        rc, _, err = cli("status", "--url", d.base)
        check_eq(rc, 69, "status without the token exits 69")
        check("--token-file" in err, "and says a token is needed: %r" % err)
        rc, _, err = cli("status", "--url", "http://127.0.0.1:1")
        check_eq(rc, 69, "status against nothing exits 69")
        check("Connection refused" in err, "and says so: %r" % err)
        rc, _, err = cli("status", "--url", "http://192.0.2.1:9471")
        check_eq(rc, 64, "a URL off loopback is refused")
        rc, _, _ = cli("top", "--sort", "size", *url)
        check_eq(rc, 64, "top --sort takes count, age or growth")

        # --- the lab's leak, and a process whose name is an escape sequence ------------------
        lab = LabProc("--count", str(COUNT), "--family", "4", "--port", "0")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        hostile = subprocess.Popen([sys.executable, "-c", HOSTILE, str(listener.getsockname()[1])],
                                   stdout=subprocess.PIPE)
        hostile.stdout.readline()
        conn, _ = listener.accept()
        conn.close()  # its end of the connection is now a CLOSE_WAIT the hostile process holds
        leaker = lab.report["leaker"]["pid"]
        d.wait_snapshots(4)
        time.sleep(1.5)  # two attribution walks
        rc, out, err = cli("status", "--min-age", "0", *url)
        check_eq(rc, 1, "status exits 1 while a critical finding stands (%s)" % err)
        check("\033" not in out, "piped, status prints no escape sequences")
        for want in ("CRITICAL", "lingerd-lab (pid %d) holds %d CLOSE_WAIT" % (lab.report["pid"], 4 * COUNT),
                     "lab-leaker (pid %d)" % leaker, "fix: Fix the code path", "OFFENDERS",
                     "CLOSE_WAIT "):
            check(want in out, "status shows %r" % want)
        rc, out, _ = cli("status", "--json", "--min-age", "0", *url)
        check_eq(rc, 1, "status --json exits 1 too")
        try:
            doc = json.loads(out)
        except ValueError:
            doc = {}
        check(doc.get("findings", {}).get("summary", {}).get("critical", 0) >= 1,
              "--json carries the critical finding")
        check_eq(sorted(doc.get("change_1h", {})), sorted(doc.get("snapshot", {}).get("counts", {})),
                 "--json has a change for every state")
        check(any(g.get("pid") == leaker for g in doc.get("offenders", {}).get("groups", [])),
              "--json lists the leaker among the offenders")

        rc, out, _ = cli("sockets", "--state", "close_wait", "--limit", "1000", *url)
        check(rc == 0 and "?[31mEVIL?,pid=%d" % hostile.pid in out and "\033" not in out,
              "a process name's escape sequence is shown as text: %r" % [l for l in out.splitlines() if "EVIL" in l])

        # status on a terminal: coloured, unless NO_COLOR.
        status_cmd = [BIN, "status", "--min-age", "0"] + url
        tmux = Tmux(status_cmd)
        tmux.wait_for(lambda s: "OFFENDERS" in s)
        time.sleep(0.3)
        screen = tmux.screen(escapes=True)
        # tmux re-encodes attributes: bold red comes back as ESC[1m ESC[31m.
        check("31mCRITICAL" in screen, "on a terminal, CRITICAL is red: %r" % screen[:300])
        check_eq(tmux.dead(), (True, 1), "status in a terminal exits 1")
        tmux.close()
        tmux = Tmux(status_cmd, env={"NO_COLOR": "1"})
        tmux.wait_for(lambda s: "OFFENDERS" in s)
        time.sleep(0.3)
        screen = tmux.screen(escapes=True)
        check("CRITICAL" in screen and "\033[" not in screen,
              "NO_COLOR=1 turns the colours off")
        tmux.close()

        # --- top ----------------------------------------------------------------------------
        tmux = Tmux([BIN, "top", "--refresh", "0.5", "--min-age", "0"] + url)
        first = tmux.wait_for(lambda s: "lingerd-lab" in s and "by count" in s)
        check("OFFENDERS  lingering sockets by process, by count" in first, "top shows the offenders by count")
        check("lab-leaker" in first, "top shows the leaker: %r" % first)
        rows = [l.split() for l in first.splitlines() if l.startswith("  ") and len(l.split()) > 3]
        offenders = [r for r in rows if r[0].isdigit() or r[0] == "-"]
        check(offenders and offenders[0][1] == "lingerd-lab",
              "by count, lingerd-lab (%d sockets) comes first: %r" % (4 * COUNT, offenders[:3]))
        clock = first.split()[2] if first.startswith("lingerd top") else None
        later = tmux.wait_for(lambda s: s.startswith("lingerd top") and s.split()[2] != clock, timeout=5)
        check(later.split()[2] != clock, "top redraws: the clock moves")
        check_eq(later.count("OFFENDERS"), 1, "top redraws in place, not below")
        tmux.keys("g")
        s = tmux.wait_for(lambda s: "by growth" in s, timeout=5)
        check("by growth" in s, "g sorts by growth")
        tmux.keys("a")
        s = tmux.wait_for(lambda s: "by age" in s, timeout=5)
        check("by age" in s, "a sorts by age")
        tmux.keys("c")
        s = tmux.wait_for(lambda s: "by count" in s, timeout=5)
        check("by count" in s, "c sorts by count again")
        tmux.keys("q")
        check_eq(tmux.dead(), (True, 0), "q quits top with status 0")
        check("OFFENDERS" not in tmux.screen(), "top leaves the alternate screen on q")
        tmux.close()
        tmux = None

        # --- sockets ------------------------------------------------------------------------
        rc, out, err = cli("sockets", "--state", "close-wait", "--pid", str(leaker), *url)
        check_eq(rc, 0, "sockets exits 0 (%s)" % err)
        lines = out.splitlines()
        check(lines and lines[0].split()[:3] == ["State", "Recv-Q", "Send-Q"], "sockets has ss's header: %r" % lines[:1])
        body = lines[1:]
        check_eq(len(body), COUNT, "sockets lists each of the leaker's CLOSE_WAIT")
        check(all(l.startswith("CLOSE_WAIT") and "lab-leaker,pid=%d" % leaker in l for l in body),
              "every row is the leaker's CLOSE_WAIT with its owner: %r" % body[:2])
        rc, out, _ = cli("sockets", "--state", "close_wait", "--csv", "--limit", "3", *url)
        check(rc == 0 and out.startswith("state,family,") and len(out.splitlines()) == 4,
              "sockets --csv gives the daemon's CSV: %r" % out[:200])
        rc, _, err = cli("sockets", "--state", "nonsense", *url)
        check_eq(rc, 64, "a bad filter exits 64")
        check("nonsense" in err, "and names it: %r" % err)
    finally:
        if hostile:
            hostile.kill()
            hostile.wait()
        if listener:
            listener.close()
        if tmux:
            tmux.close()
        if lab:
            lab.stop()
        d.close()
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    run_in_private_netns(__file__, main, "the counts must be exact")
