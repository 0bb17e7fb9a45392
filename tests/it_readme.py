#!/usr/bin/env python3
"""README: every `$ curl` example of README.md against a live lingerd with the lab (the demo's
two halves) in a private network namespace. Each example's shape must be the API's: every JSON
key it shows is a key of the live answer (at any depth), its top-level keys come in the API's
order, an error example has the live status code and `code`, and every metric name a /metrics
example shows is exported. Every image the README shows exists. Values are the run's own and are not compared.

`README_WRITE=1 python3 tests/it_readme.py` regenerates the examples from such a run instead: the live
answers, cut short with `…` (long arrays to the lab's entries, long texts to their first
sentence), so that "every example below is real output" stays true."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from lingerd_test import Daemon, LabProc, check, check_eq, done, in_private_netns, skip  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(TOP, "README.md")
README_BASE = "http://127.0.0.1:9471"
# `$ curl -s URL` or `$ curl -s 'URL'`, optionally piped into grep, then the output up to ```.
EXAMPLE = re.compile(r"^\$ (curl -s (?:'[^']+'|\S+)(?: \| grep \S+)?)\n(.*?)^```", re.M | re.S)
ELLIPSIS = "…"
LONG_TEXT = 110
KEEP_ITEMS = 1


def examples(text):
    return [(m.group(1), m.group(2).rstrip("\n"), m.span(2)) for m in EXAMPLE.finditer(text)]


def url_of(cmd):
    words = shlex.split(cmd.split(" | ")[0])
    return words[2]


def fetch(base, cmd):
    """The live answer to an example's command: (status, text)."""
    url = url_of(cmd).replace(README_BASE, base)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            status, body = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode()
    if " | grep " in cmd:
        pat = cmd.split(" | grep ")[1]
        body = "\n".join(l for l in body.splitlines() if pat in l)
    return status, body


PARTIAL = "\u2026partial"


def parse_shown(text):
    """An example's JSON with its cuts made parseable: an object cut short gets a PARTIAL key,
    a cut value becomes null, a cut array item disappears. None if it still does not parse."""
    out, i, in_str, esc = [], 0, False, False
    while i < len(text):
        c = text[i]
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == ELLIPSIS:
            done_text = "".join(out).rstrip()
            prev, nxt = done_text[-1:], text[i + 1:i + 2]
            if prev == ":":
                out.append("null")
            elif open_kind(done_text) == "{":
                out.append('"%s":1' % PARTIAL)
            elif prev == ",":
                out = list(done_text[:-1])  # the item and its comma are gone
            elif prev == "[" and nxt == ",":
                i += 1
        else:
            out.append(c)
        i += 1
    try:
        return json.loads("".join(out))
    except ValueError:
        return None


def open_kind(s):
    """Whether the innermost open bracket of JSON text s is an object or an array."""
    stack, in_str, esc = [], False, False
    for c in s:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]":
            stack.pop()
    return stack[-1] if stack else ""


def shape_errors(shown, live, path="$"):
    """Where the shown JSON's shape is not the live answer's: keys in objects not cut short must
    be exactly the API's, in its order; objects cut short show only keys the API has."""
    errs = []
    if isinstance(shown, dict):
        if not isinstance(live, dict):
            return ["%s: an object where the API has %s" % (path, type(live).__name__)]
        partial = PARTIAL in shown
        keys = [k for k in shown if k != PARTIAL]
        extra = [k for k in keys if k not in live]
        if extra:
            errs.append("%s: keys the API does not answer: %s" % (path, extra))
        if not partial and set(keys) != set(live):
            errs.append("%s: the API also answers %s" % (path, [k for k in live if k not in keys]))
        order = [k for k in live if k in keys]
        if [k for k in keys if k in live] != order:
            errs.append("%s: keys out of the API's order: %s" % (path, keys))
        for k in keys:
            if k in live and shown[k] is not None and live[k] is not None:
                errs += shape_errors(shown[k], live[k], path + "." + k)
    elif isinstance(shown, list) and isinstance(live, list) and live:
        for j, x in enumerate(shown):
            if not isinstance(x, (dict, list)):
                continue
            # The live item of the same shape, if any.
            tries = [shape_errors(x, y, "%s[%d]" % (path, j)) for y in live]
            if all(tries):
                errs += min(tries, key=len)
    return errs


def keys_of(v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            out.add(k)
            keys_of(x, out)
    elif isinstance(v, list):
        for x in v:
            keys_of(x, out)
    return out


# ---- checking ----

def check_example(cmd, shown, status, live):
    if "/metrics" in cmd:
        names = {l.split("{")[0].split(" ")[0] for l in live.splitlines() if l and not l.startswith("#")}
        for l in shown.splitlines():
            if l == ELLIPSIS:
                continue
            check(l.split("{")[0].split(" ")[0] in names, "README %s: %s is exported" % (cmd, l[:60]))
        return
    try:
        doc = json.loads(live)
    except ValueError:
        check(False, "README %s: the live answer is JSON: %r" % (cmd, live[:200]))
        return
    parsed = parse_shown(shown)
    if check(parsed is not None, "README %s: the example parses once its cuts are marked" % cmd):
        check_eq(shape_errors(parsed, doc), [], "README %s: the example's shape is the API's" % cmd)
    shown_keys = re.findall(r'"([A-Za-z_]\w*)":', shown)
    live_keys = keys_of(doc, set())
    missing = sorted(set(shown_keys) - live_keys)
    check_eq(missing, [], "README %s: keys the example shows that the API does not answer" % cmd)
    # The top level in the API's order: the example's first keys, as far as they go.
    if isinstance(doc, dict):
        order = [k for k in doc if k in shown_keys]
        first = [k for k in shown_keys if k in doc]
        check_eq(first[:len(order)][:3], order[:3], "README %s: top-level keys in the API's order" % cmd)
    if "error" in doc:
        m = re.search(r'"code":"(\w+)"', shown)
        check(m and m.group(1) == doc["error"]["code"], "README %s: error code %r" % (cmd, doc["error"]["code"]))
        check(status >= 400, "README %s: an error answers %d" % (cmd, status))
    else:
        check_eq(status, 200, "README %s: status" % cmd)


# ---- writing: the live answer, cut short ----

def first_sentence(s):
    if len(s) <= LONG_TEXT:
        return s
    m = re.match(r"(.{20,}?[.!?。])\s", s)
    return (m.group(1) if m and len(m.group(1)) <= 2 * LONG_TEXT else s[:LONG_TEXT].rstrip()) + " " + ELLIPSIS


def preferred(items):
    """The item an example should keep: the lab's leak where there is one."""
    for x in items:
        if "lab-leaker" in json.dumps(x, ensure_ascii=False):
            return x
    return items[0]


def shorten(v, depth=0):
    """Compact JSON text with long arrays cut to one item and long strings to a sentence."""
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + shorten(x, depth + 1) for k, x in v.items()) + "}"
    if isinstance(v, list):
        if len(v) > KEEP_ITEMS + 1 and all(isinstance(x, dict) for x in v):
            keep = preferred(v)
            i = v.index(keep)
            parts = ([ELLIPSIS] if i > 0 else []) + [shorten(keep, depth + 1)] + ([ELLIPSIS] if i < len(v) - 1 else [])
            return "[" + ",".join(parts) + "]"
        if len(v) > 4 and all(isinstance(x, list) for x in v):  # trend points: the last two
            return "[" + ELLIPSIS + "," + ",".join(shorten(x, depth + 1) for x in v[-2:]) + "]"
        return "[" + ",".join(shorten(x, depth + 1) for x in v) + "]"
    if isinstance(v, str):
        # Where this checkout lies is nobody's business: the binary is build/lingerd.
        return json.dumps(first_sentence(v.replace(TOP + "/", "")), ensure_ascii=False)
    return json.dumps(v, ensure_ascii=False)


def cut(cmd, live):
    if "/metrics" in cmd:
        lines = live.splitlines()
        return "\n".join(lines[:4] + ([ELLIPSIS] if len(lines) > 4 else []))
    doc = json.loads(live)
    if "/api/v1/system" in cmd:
        for k in ("settings", "counters", "gauges"):
            doc[k] = doc[k][:1]
        return shorten(doc).replace("}]", "}," + ELLIPSIS + "]")
    if "/api/v1/states/" in cmd:
        keep = ("state", "number", "lingering", "reached_by", "reached_by_text", "title", "meaning", "duration_bound")
        return shorten({k: doc[k] for k in keep if k in doc})[:-1] + "," + ELLIPSIS + "}"
    return shorten(doc)


def write(base):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    out, pos = [], 0
    for cmd, shown, (a, b) in examples(text):
        status, live = fetch(base, cmd)
        out.append(text[pos:a])
        out.append(cut(cmd, live) + "\n")
        pos = b
    out.append(text[pos:])
    with open(README, "w", encoding="utf-8") as f:
        f.write("".join(out))
    print("wrote %d examples into README.md" % len(examples(text)))


def run():
    # The demo's two halves: the lab's sockets and a daemon sampling every second.
    lab = LabProc("--count", "3", "--port", "0")  # as lingerd demo runs it
    d = Daemon("--interval", "1")
    try:
        d.wait_snapshots(2)
        time.sleep(6)  # the findings' examples ask for min_age=3 and attribution takes a walk
        if os.environ.get("README_WRITE"):
            write(d.base)
            return
        with open(README, encoding="utf-8") as f:
            text = f.read()
        found = examples(text)
        check(len(found) >= 12, "README has its curl examples (%d found)" % len(found))
        for cmd, shown, _ in found:
            status, live = fetch(d.base, cmd)
            check_example(cmd, shown, status, live)
    finally:
        d.close()
        lab.stop()


def check_images():
    """Every image the README shows is in the tree (the page's screenshots, from it_page)."""
    with open(README) as f:
        shown = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", f.read())
    check(shown, "the README shows images")
    for rel in shown:
        check(os.path.isfile(os.path.join(TOP, rel)), "the README's image %s exists" % rel)


def main():
    if "--in-netns" in sys.argv:
        check_images()
        run()
        done()
    rc = in_private_netns(__file__, "--in-netns")
    if rc is None:
        check_images()
        skip("no private network namespace here: the examples need the lab's sockets alone")
        done()
    sys.exit(rc)


if __name__ == "__main__":
    main()
