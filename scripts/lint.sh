#!/usr/bin/env bash
# lint.sh - static checks of the product code (common/ capture/ db/ feed/ api/ server/): cppcheck,
# the banned-function list, the one-way flow of includes and clang-format (.clang-format).
# Prints every finding as FILE:LINE: message and exits 1 when there is any, 0 when clean.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=(common capture db feed api cli server)
status=0

# clang-format: the sources follow .clang-format, so a difference fails lint (0 would only
# report it: for a reformatting in progress).
CLANG_FORMAT_ENFORCE=1
clang_format=$(command -v clang-format-14 || command -v clang-format || true)

if ! command -v cppcheck >/dev/null || [ -z "$clang_format" ]; then
  . scripts/apt-lib.sh
  apt_install cppcheck clang-format >/dev/null
  clang_format=$(command -v clang-format-14 || command -v clang-format)
fi


# --- cppcheck ------------------------------------------------------------------------------
# The build's own defines, so the configuration checked is the one compiled.  posix.cfg teaches
# cppcheck open/close/opendir/... for leak checks.  readdirCalled is off on purpose: it asks for
# readdir_r(), which glibc deprecates; readdir() on a DIR of one's own is thread-safe.
# capture/bpf/ is BPF code (clang -target bpf over the kernel's vmlinux.h): the verifier checks it.
echo "lint: cppcheck $(cppcheck --version | awk '{print $2}') over ${dirs[*]}"
if ! cppcheck --enable=warning,portability,performance --error-exitcode=1 --inline-suppr \
     --std=c11 --library=posix --quiet -j"$(nproc)" \
     --suppress=readdirCalled \
     -i capture/bpf \
     -I common -I capture -I db -I feed -I api -I server -I server/lab -D_GNU_SOURCE '-DLINGERD_VERSION="0"' \
     --template='{file}:{line}: cppcheck {severity}: {message} [{id}]' \
     "${dirs[@]}" 2>&1; then
  status=1
fi

# --- banned functions ----------------------------------------------------------------------
# Unbounded or state-hiding calls (curl's list, plus strtok, the scanf family and strerror, which
# are not thread-safe or not bounded): use snprintf, memcpy with a length, strtol/strtoull with
# an end check, strtok_r, util_strerror().  Comments and string literals are blanked first,
# so prose may still say "gets".
#
# Known findings awaiting a fix, one per line: FILE|FUNCTION|the offending line, trimmed.  Each
# was reported with a proposed patch; remove the entry once fixed (a stale one is announced).
known=''

echo "lint: banned functions (sprintf strcpy strcat atoi gets vsprintf strtok sscanf fscanf strerror)"
if ! python3 - "$known" "${dirs[@]}" <<'PY'
import os, re, sys

BANNED = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|atoi|gets|strtok|sscanf|fscanf|strerror)\s*\(")
known = {tuple(l.split("|", 2)) for l in sys.argv[1].splitlines() if l.strip()}
seen = set()


def blank(src):
    """Comments and string/char literals become spaces; newlines stay, so lines keep numbers."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", src[i + 1:j]) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


bad = 0
for d in sys.argv[2:]:
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(root, f)
            with open(path, encoding="utf-8", errors="replace") as fh:
                src = fh.read()
            lines = src.splitlines()
            for no, line in enumerate(blank(src).splitlines(), 1):
                for m in BANNED.finditer(line):
                    key = (path, m.group(1), lines[no - 1].strip())
                    if key in known:
                        seen.add(key)
                        print("%s:%d: known, awaiting its fix: %s()" % (path, no, m.group(1)))
                        continue
                    print("%s:%d: banned function %s(): %s" % (path, no, m.group(1),
                                                              lines[no - 1].strip()))
                    bad += 1
for k in sorted(known - seen):
    print("lint: stale known entry (fixed? remove it from scripts/lint.sh): %s" % "|".join(k))
sys.exit(1 if bad else 0)
PY
then
  status=1
fi

# --- the flow of includes --------------------------------------------------------------------
# Data flows one way: common <- capture <- db <- feed <- api <- server.  A quoted include of a
# header that lives in a later stage runs against the flow (the per-folder libraries refuse it
# at compile time too; this names the line).
echo "lint: includes follow common <- capture <- db <- feed <- api <- server"
if ! python3 - "${dirs[@]}" <<'PY'
import os, re, sys

order = sys.argv[1:]
home = {}
for d in order:
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith(".h"):
                home[f] = d
bad = 0
for d in order:
    for root, _, files in os.walk(d):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(root, f)
            for no, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                h = os.path.basename(m.group(1))
                if h in home and order.index(home[h]) > order.index(d):
                    print("%s:%d: includes %s/%s, a later stage than %s/" % (path, no, home[h], h, d))
                    bad += 1
sys.exit(1 if bad else 0)
PY
then
  status=1
fi

# --- clang-format ----------------------------------------------------------------------------
# A dry run over every C file: each file that differs from .clang-format's layout is named with
# the number of its lines clang-format would change.
echo "lint: $("$clang_format" --version | sed 's/.*version /clang-format /') over ${dirs[*]}" \
     "($([ "$CLANG_FORMAT_ENFORCE" = 1 ] && echo enforced || echo "report only"))"
differ=0
changed=0
while IFS= read -r f; do
  n=$("$clang_format" --style=file "$f" | diff "$f" - | grep -c '^<' || true)
  if [ "$n" -gt 0 ]; then
    echo "$f:1: clang-format would change $n line(s)"
    differ=$((differ + 1))
    changed=$((changed + n))
  fi
done < <(find "${dirs[@]}" -name '*.[ch]' | sort)
if [ "$differ" -gt 0 ]; then
  echo "lint: clang-format: $differ file(s) differ, $changed line(s) to change"
  [ "$CLANG_FORMAT_ENFORCE" = 1 ] && status=1
fi

[ "$status" -eq 0 ] && echo "lint: clean" || echo "lint: findings above"
exit "$status"
