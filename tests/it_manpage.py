"""The manual page lingerd(8) against the binary: it renders without warnings, names every
flag that `lingerd --help` and each subcommand's --help print and no flag they do not, every
subcommand and every endpoint the API routes; `--version` prints the version that
project(VERSION) in CMakeLists.txt sets and the git commit."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from lingerd_test import BIN, TestCase, main  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("LINGERD_BUILD", os.path.join(ROOT, "build"))
PAGE = os.path.join(BUILD, "lingerd.8")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def helps(tc):
    """{subcommand or '': its --help text}, following the subcommands the main usage names."""
    out = {"": subprocess.run([BIN, "--help"], capture_output=True, text=True, check=True).stdout}
    for sub in sorted(set(re.findall(r"^\s+(?:usage: )?lingerd (\w+)", out[""], re.M))):
        p = subprocess.run([BIN, sub, "--help"], capture_output=True, text=True, timeout=10)
        with tc.subTest(subcommand=sub):
            tc.assertEqual(p.returncode, 0, "lingerd %s --help exits 0" % sub)
        out[sub] = p.stdout + p.stderr
    return out


class ManPage(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.exists(PAGE):
            raise AssertionError("the build wrote %s (scdoc installed?)" % PAGE)
        roff = open(PAGE, encoding="utf-8").read()
        # What a reader sees: font escapes and roff's escaped hyphens removed.
        cls.text = re.sub(r"\\f[BIRP]", "", roff).replace("\\-", "-").replace("\\(em", "-")

    def test_renders_without_warnings(self):
        p = subprocess.run(["groff", "-ww", "-man", "-z", PAGE], capture_output=True, text=True)
        self.assertTrue(p.returncode == 0 and not p.stderr.strip(), "groff -ww -man: no warnings: %r" % p.stderr)
        p = subprocess.run(["man", "--warnings", "-l", PAGE], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
        self.assertTrue(p.returncode == 0 and not p.stderr.strip(), "man -l renders without warnings: %r" % p.stderr)
        self.assertTrue("SYNOPSIS" in p.stdout and "EXIT STATUS" in p.stdout and "PRIVILEGES" in p.stdout,
                        "man -l shows the sections")

    def test_flags_and_subcommands(self):
        text = self.text
        h = helps(self)
        self.assertTrue({"lab", "demo", "status", "top", "sockets"} <= set(h),
                        "the usage names every subcommand: %s" % sorted(h))
        help_flags = set()
        for sub, t in h.items():
            help_flags |= set(FLAG.findall(t))
            if sub:
                with self.subTest(subcommand=sub):
                    self.assertTrue("lingerd %s" % sub in text, "the man page describes lingerd %s" % sub)
        page_flags = set(FLAG.findall(text))
        self.assertEqual(sorted(help_flags - page_flags), [], "flags of --help missing from the man page")
        self.assertEqual(sorted(page_flags - help_flags), [], "flags in the man page that no --help prints")

    def test_endpoints_signals_privileges_statuses(self):
        text = self.text
        routes = re.findall(r'\{\s*"(/[^"]*)",\s*[01],', open(os.path.join(ROOT, "api", "api.c")).read())
        self.assertTrue(len(routes) >= 10, "found the API's routes: %r" % routes)
        for r in routes:
            with self.subTest(endpoint=r):
                self.assertTrue(r.rstrip("/") in text, "the man page lists the endpoint %s" % r)
        for sig in ("SIGTERM", "SIGINT", "SIGHUP"):
            self.assertTrue(sig in text, "the man page says what %s does" % sig)
        for cap in ("CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"):
            self.assertTrue(cap in text, "the man page names %s" % cap)
        for status in ("64", "69"):
            self.assertTrue(re.search(r"^%s$" % status, text, re.M), "the man page lists exit status %s" % status)

    def test_version(self):
        version = re.search(r"project\(lingerd VERSION ([0-9.]+)", open(os.path.join(ROOT, "CMakeLists.txt")).read())
        p = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=10)
        m = re.fullmatch(r"lingerd (\S+) \(commit ([0-9a-f]{7,40}(?:-dirty)?|unknown)\)\n", p.stdout)
        self.assertTrue(p.returncode == 0 and m, "--version: %r" % p.stdout)
        if m and version:
            self.assertEqual(m.group(1), version.group(1), "--version prints project(VERSION)")
            # A commit of this checkout (the binary may be older than HEAD, never made up).
            inside = subprocess.run(["git", "-C", ROOT, "rev-parse", "--git-dir"], capture_output=True)
            if inside.returncode == 0:
                commit = m.group(2).split("-")[0]
                known = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", commit + "^{commit}"],
                                       capture_output=True)
                self.assertTrue(commit != "unknown" and known.returncode == 0,
                                "--version names a commit of this checkout: %s" % m.group(2))


if __name__ == "__main__":
    main()
