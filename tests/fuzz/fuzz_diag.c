/*
 * fuzz_diag.c - the sock_diag reply walker, diag_parse().
 *
 * Input: datagrams in the format of tests/data/netlink-*.bin, each a host-order u32 length
 * then its bytes (a length past the end takes what is left), so the recorded kernel replies
 * are the seed corpus.  The dump's sequence number is taken from the first message, so the
 * fuzzer reaches both "ours" and "a stale reply".  Every datagram is an exact-size heap
 * copy.  Checks: only 0 / -EPROTO / -ENOMEM; an error leaves the vector as it was; every
 * record has a known state and family, and IPv4 records carry no stray address bytes.
 */
#include <errno.h>
#include <sys/socket.h>

#include "diag.h"
#include "fuzz.h"
#include "sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_parse_state st;
	struct sock_vec sv = { 0 };
	struct sock_rec sentinel;
	size_t off = 0;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	if (size >= 4 + 12)
		memcpy(&st.seq, data + 4 + 8, 4);
	/* A record from "an earlier family": diag_parse appends and must not disturb it. */
	memset(&sentinel, 0xa5, sizeof(sentinel));
	if (sock_vec_push(&sv, &sentinel) < 0)
		abort();
	while (off < size && !st.done && rc == 0) {
		uint32_t l = 0;
		size_t before = sv.n;
		char *dg;

		if (size - off >= 4) {
			memcpy(&l, data + off, 4);
			off += 4;
		} else {
			l = (uint32_t)(size - off);
		}
		if (l > size - off)
			l = (uint32_t)(size - off);
		dg = fuzz_bytes(data + off, l);
		off += l;
		rc = diag_parse(&st, dg, l, &sv);
		free(dg);
		FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
		if (rc < 0)
			FUZZ_CHECK_INT(sv.n, ==, before);
	}
	FUZZ_CHECK(sv.n >= 1 && memcmp(&sv.v[0], &sentinel, sizeof(sentinel)) == 0);
	FUZZ_CHECK(st.error <= 0);
	for (size_t i = 1; i < sv.n; i++) {
		const struct sock_rec *r = &sv.v[i];
		static const uint8_t zero[12];

		FUZZ_CHECK(r->state > 0 && r->state < SOCK_STATE_MAX);
		FUZZ_CHECK(r->family == AF_INET || r->family == AF_INET6);
		if (r->family == AF_INET)
			FUZZ_CHECK(memcmp(r->laddr + 4, zero, 12) == 0 &&
				   memcmp(r->raddr + 4, zero, 12) == 0);
	}
	sock_vec_free(&sv);
	return 0;
}
