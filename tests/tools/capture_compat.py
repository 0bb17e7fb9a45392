#!/usr/bin/env python3
"""capture_compat.py - records one legacy (TCPDIAG_GETSOCK) sock_diag dump and the two
per-family dumps of the same sockets, as test fixtures for the one-walk dump.

Run from the repository root, as root, in a fresh network namespace:

    unshare -n sh -c 'ip link set lo up && python3 tests/tools/capture_compat.py tests/data'

Writes netlink-compat.bin (sequence 0x4c430001), netlink-compat-v4.bin (0x4c430002) and
netlink-compat-v6.bin (0x4c430003) in the format of capture_netlink.c: each datagram as a
u32 length in host byte order followed by the bytes recvfrom() returned.  Shares no code
with server/diag.c.  Sockets: an IPv4 listener with an ESTABLISHED pair, a CLOSE_WAIT /
FIN_WAIT_2 pair and a TIME_WAIT; an IPv6 listener with the same three; a v4-mapped pair.
"""
import os
import socket
import struct
import sys
import time

NETLINK_SOCK_DIAG = 4
TCPDIAG_GETSOCK = 18
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
STATES = ((1 << 12) - 2) | (1 << 12)


def pairs(family, host, keep):
    ls = socket.socket(family)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, 0))
    ls.listen(16)
    keep.append(ls)
    for kind in ("established", "half-closed", "time-wait"):
        c = socket.socket(family)
        c.connect(ls.getsockname()[:2])
        s, _ = ls.accept()
        keep += [c, s]
        if kind == "half-closed":
            c.shutdown(socket.SHUT_WR)  # client FIN_WAIT_2, server CLOSE_WAIT
        elif kind == "time-wait":
            c.close()  # the client closes first: its end waits in TIME_WAIT
            s.recv(1)
            s.close()


def dump(nl, seq, legacy, family):
    if legacy:
        # struct inet_diag_req: family, src_len, dst_len, ext, sockid (48 bytes), states, dbs
        body = struct.pack("=BBBB48sII", socket.AF_INET, 0, 0, 0, b"\0" * 48, STATES, 0)
        kind = TCPDIAG_GETSOCK
    else:
        # struct inet_diag_req_v2: family, protocol, ext, pad, states, sockid
        body = struct.pack("=BBBBI48s", family, socket.IPPROTO_TCP, 0, 0, STATES, b"\0" * 48)
        kind = SOCK_DIAG_BY_FAMILY
    nl.send(struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    out = b""
    while True:
        d = nl.recv(1 << 18)
        out += struct.pack("=I", len(d)) + d
        off, done = 0, False
        while off + 16 <= len(d):
            ln, typ = struct.unpack_from("=IH", d, off)
            if typ in (NLMSG_DONE, NLMSG_ERROR):
                done = True
            off += (ln + 3) & ~3
        if done:
            return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    keep = []
    pairs(socket.AF_INET, "127.0.0.1", keep)
    pairs(socket.AF_INET6, "::1", keep)
    ls = socket.socket(socket.AF_INET6)
    ls.bind(("::", 0))
    ls.listen(4)
    c = socket.socket(socket.AF_INET6)
    c.connect(("::ffff:127.0.0.1", ls.getsockname()[1]))
    keep += [ls, c, ls.accept()[0]]
    time.sleep(0.2)
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    nl.bind((0, 0))
    for name, seq, legacy, fam in (("netlink-compat.bin", 0x4C430001, True, 0),
                                   ("netlink-compat-v4.bin", 0x4C430002, False, socket.AF_INET),
                                   ("netlink-compat-v6.bin", 0x4C430003, False, socket.AF_INET6)):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(dump(nl, seq, legacy, fam))


if __name__ == "__main__":
    main()
