"""The Debian package on this machine: scripts/package.sh builds it and lintian finds no error;
`apt-get install ./lingerd_*.deb` puts every file in place with the unit enabled and nothing
started; the installed binary, started the way the unit starts it (its user, its capabilities,
its options from /etc/default/lingerd; by systemd when systemd runs, else by setpriv), answers
/healthz with full attribution and writes its database under /var/lib/lingerd; `apt-get remove`
keeps the database, `apt-get purge` leaves nothing at all.

It installs into the real system, so: it runs only as root, never touches a lingerd installed
before it (SKIP), listens on a port of its own, and purges whatever happens."""
import os
import pwd
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import json

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import check, check_eq, done, skip  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# The package is built from the plain build, never the sanitized one the suite runs.
BUILD = os.environ.get("LINGERD_PACKAGE_BUILD", os.path.join(ROOT, "build"))
UNIT = "/lib/systemd/system/lingerd.service"
STATE = "/var/lib/lingerd"
WALK = ("/etc", "/usr", "/lib", "/var", "/opt", "/srv")
# Package managers' own records and caches: they remember what was installed, by design.
IGNORE = ("/var/lib/dpkg", "/var/lib/apt", "/var/cache", "/var/log")
DYNAMIC_UIDS = range(61184, 65520)  # systemd's range for DynamicUser=
APT = ["apt-get", "-y", "-qq", "-o", "DPkg::Lock::Timeout=120"]


def run(cmd, timeout=300, env=None):
    e = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout + p.stderr


def installed():
    return run(["dpkg-query", "-W", "-f=${Status}", "lingerd"])[1].startswith("install ok installed")


def lingerd_paths():
    """Every path on the system whose name mentions lingerd, but the package managers'."""
    found = set()
    for top in WALK:
        for root, dirs, files in os.walk(top):
            if root.startswith(IGNORE):
                dirs[:] = []
                continue
            for n in dirs + files:
                if "lingerd" in n:
                    found.add(os.path.join(root, n))
    return found


def daemons():
    """Pids running /usr/sbin/lingerd."""
    out = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.readlink("/proc/%s/exe" % p) == "/usr/sbin/lingerd":
                out.append(int(p))
        except OSError:
            pass
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unit_settings(path):
    """[Service] settings of a unit file: {key: [values in order]}."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service" and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def env_file(path):
    """KEY=VALUE lines of an EnvironmentFile, with shell-style quotes."""
    env = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = " ".join(shlex.split(v))
    return env


def pick_dynamic_uid():
    """A uid in systemd's dynamic range that no account and no process uses."""
    busy = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                busy.add(os.stat("/proc/" + pid).st_uid)
            except OSError:
                pass
    for uid in DYNAMIC_UIDS:
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        if uid not in busy:
            return uid
    return None


def healthz(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
                return r.status, json.loads(r.read())
        except OSError:
            time.sleep(0.2)
    return None, None


def start_like_the_unit(unit, port):
    """Starts /usr/sbin/lingerd as lingerd.service would, without systemd: returns (Popen, uid).
    DynamicUser= is a free uid of systemd's range, StateDirectory= a folder it owns (0700),
    AmbientCapabilities= and CapabilityBoundingSet= through setpriv, NoNewPrivileges=, UMask=,
    EnvironmentFile= read and ExecStart= expanded with it."""
    cfg = unit_settings(unit)
    check_eq(cfg.get("DynamicUser"), ["yes"], "the unit runs as a dynamic user")
    uid = pick_dynamic_uid()
    if not check(uid is not None, "a free uid in the dynamic range"):
        return None, None
    state = os.path.join("/var/lib", cfg["StateDirectory"][0])
    os.makedirs(state, exist_ok=True)
    os.chown(state, uid, uid)
    os.chmod(state, int(cfg.get("StateDirectoryMode", ["0755"])[0], 8))
    env = {}
    for f in cfg.get("EnvironmentFile", []):
        f = f.lstrip("-")
        if os.path.exists(f):
            env.update(env_file(f))
    argv = []
    for w in shlex.split(cfg["ExecStart"][0]):
        m = re.fullmatch(r"\$\{?(\w+)\}?", w)
        argv += env.get(m.group(1), "").split() if m else [w]
    caps = [c.lower().replace("cap_", "") for c in " ".join(cfg["AmbientCapabilities"]).split()]
    bound = [c.lower().replace("cap_", "") for c in " ".join(cfg["CapabilityBoundingSet"]).split()]
    setpriv = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups",
               "--inh-caps", "-all," + ",".join("+" + c for c in caps),
               "--ambient-caps", "-all," + ",".join("+" + c for c in caps),
               "--bounding-set", "-all," + ",".join("+" + c for c in bound)]
    if cfg.get("NoNewPrivileges") == ["yes"]:
        setpriv.append("--no-new-privs")
    umask = int(cfg.get("UMask", ["0022"])[0], 8)
    proc = subprocess.Popen(setpriv + ["--"] + argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=lambda: os.umask(umask))
    return proc, uid


def main():
    if os.geteuid() != 0:
        skip("installing a package needs root")
        done()
    if installed():
        skip("lingerd is installed on this machine already: this test never touches it")
        done()
    rc, out = run(["bash", os.path.join(ROOT, "scripts", "package.sh")],
                  env={"BUILD_DIR": BUILD})
    check_eq(rc, 0, "scripts/package.sh builds the package: %s" % out[-2000:])
    check(not re.search(r"^E: ", out, re.M), "lintian reports no error: %s" % out[-1000:])
    m = re.search(r"^package: (\S+\.deb)$", out, re.M)
    if not check(m, "package.sh names the package"):
        done()
    deb = os.path.abspath(os.path.join(ROOT, m.group(1)) if not m.group(1).startswith("/") else m.group(1))
    version = re.search(r"project\(lingerd VERSION ([0-9.]+)", open(os.path.join(ROOT, "CMakeLists.txt")).read()).group(1)
    arch = run(["dpkg", "--print-architecture"])[1].strip()
    check_eq(os.path.basename(deb), "lingerd_%s_%s.deb" % (version, arch), "the package's name")
    check_eq(run(["dpkg-deb", "-f", deb, "Version"])[1].strip(), version, "the package's version is project(VERSION)")
    depends = run(["dpkg-deb", "-f", deb, "Depends"])[1]
    for lib in ("libc6", "libmicrohttpd12", "libcjson1", "libsqlite3-0"):
        check(lib in depends, "Depends names %s (from dpkg-shlibdeps): %s" % (lib, depends.strip()))

    before = lingerd_paths()
    systemd = os.path.isdir("/run/systemd/system")
    port = free_port()
    proc = None
    try:
        rc, out = run(APT + ["install", "--no-install-recommends", deb])
        if not check_eq(rc, 0, "apt-get install ./%s: %s" % (os.path.basename(deb), out[-1500:])):
            return
        for path, mode in (("/usr/sbin/lingerd", 0o755), (UNIT, 0o644), ("/etc/default/lingerd", 0o644),
                           ("/usr/share/lingerd/alerts.yml", 0o644),
                           ("/usr/share/lingerd/alerts_test.yml", 0o644),
                           ("/usr/share/lingerd/grafana-dashboard.json", 0o644),
                           ("/usr/share/man/man8/lingerd.8.gz", 0o644),
                           ("/usr/share/bash-completion/completions/lingerd", 0o644),
                           ("/usr/share/doc/lingerd/changelog.gz", 0o644),
                           ("/usr/share/doc/lingerd/copyright", 0o644)):
            st = os.stat(path) if os.path.exists(path) else None
            check(st and (st.st_mode & 0o7777) == mode and st.st_uid == 0,
                  "%s installed, owned by root, mode %o" % (path, mode))
        rc, out = run(["/usr/sbin/lingerd", "--version"])
        check(rc == 0 and out.startswith("lingerd %s (commit " % version), "the installed --version: %r" % out)
        rc, out = run(["man", "-w", "lingerd"])
        check(rc == 0 and "lingerd.8" in out, "man finds lingerd(8): %r" % out)
        check("/etc/default/lingerd" in run(["dpkg-query", "-W", "-f=${Conffiles}", "lingerd"])[1],
              "/etc/default/lingerd is a conffile")
        rc, out = run(["bash", "-c", ". /usr/share/bash-completion/completions/lingerd && "
                       "COMP_WORDS=(lingerd st); COMP_CWORD=1; _lingerd; echo ${COMPREPLY[*]}"])
        check(rc == 0 and out.split() == ["status"], "bash completes 'lingerd st' to status: %r" % out)
        check(os.path.islink("/etc/systemd/system/multi-user.target.wants/lingerd.service"),
              "the unit is enabled")
        check_eq(daemons(), [], "installing starts nothing")

        # --- the installed binary, as the unit runs it ---------------------------------------
        with open("/etc/default/lingerd", "a") as f:
            f.write('LINGERD_OPTIONS="--listen 127.0.0.1:%d --interval 1"\n' % port)
        if systemd:
            rc, out = run(["systemctl", "start", "lingerd"])
            check_eq(rc, 0, "systemctl start lingerd: %s" % out)
        else:
            proc, uid = start_like_the_unit(UNIT, port)
        status, body = healthz(port)
        check_eq(status, 200, "the installed daemon answers /healthz")
        check_eq((body or {}).get("attribution"), "full",
                 "its two capabilities give full attribution: %r" % body)
        check_eq((body or {}).get("db"), "ok", "its database is writable")
        db = os.path.join(STATE, "lingerd.db")
        check(os.path.exists(db), "the database is in %s" % STATE)
        if proc:
            st = os.stat(db) if os.path.exists(db) else None
            check(st and st.st_uid == uid and (st.st_mode & 0o077) == 0,
                  "the database belongs to the service's user, private to it")
            status_line = "/proc/%d/status" % proc.pid
            # setpriv execs lingerd in place: the pid is the daemon's.
            caps = dict(l.split(":", 1) for l in open(status_line)) if os.path.exists(status_line) else {}
            check_eq(caps.get("CapAmb", "").strip(), "%016x" % ((1 << 2) | (1 << 19)),
                     "ambient capabilities: exactly CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE")
            check_eq(caps.get("NoNewPrivs", "").strip(), "1", "no new privileges")
            proc.send_signal(signal.SIGTERM)
            check_eq(proc.wait(15), 0, "SIGTERM stops it with status 0")
            proc = None
        else:
            check_eq(run(["systemctl", "stop", "lingerd"])[0], 0, "systemctl stop lingerd")

        # --- remove keeps the database, purge deletes everything ------------------------------
        rc, out = run(APT + ["remove", "lingerd"])
        check_eq(rc, 0, "apt-get remove: %s" % out[-1000:])
        check(not os.path.exists("/usr/sbin/lingerd"), "remove deletes the binary")
        check(os.path.exists(db), "remove keeps the database")
        rc, out = run(APT + ["purge", "lingerd"])
        check_eq(rc, 0, "apt-get purge: %s" % out[-1000:])
        check(not installed(), "lingerd is no longer installed")
        left = sorted(lingerd_paths() - before)
        check_eq(left, [], "purge leaves nothing behind")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        if systemd:
            run(["systemctl", "stop", "lingerd"])
        if installed() or run(["dpkg-query", "-W", "lingerd"])[0] == 0:
            run(APT + ["purge", "lingerd"])
        if STATE not in before and os.path.isdir(STATE):
            subprocess.run(["rm", "-rf", STATE])
    done()


if __name__ == "__main__":
    main()
