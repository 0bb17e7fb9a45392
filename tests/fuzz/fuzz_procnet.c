/*
 * fuzz_procnet.c - the /proc/net/tcp{,6} parser, the capture fallback.
 *
 * Input: one byte, then the text.  Bit 0 of the byte picks the family (0 IPv4, 1 IPv6);
 * the other bits plus one are the clock ticks per second (0xc6 is IPv4 at 100 Hz).  The
 * text is an exact-size copy without a terminator.  Checks: only 0 / -EPROTO / -ENOMEM;
 * an error leaves the vector as it was; success gives at most one record per line after
 * the header, each of the asked family with a state the kernel can print.
 */
#include <errno.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "procnet.h"
#include "sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sock_vec sv = { 0 };
	struct sock_rec sentinel;
	int family, rc;
	long ticks;
	size_t lines = 0;
	char *text;

	if (size < 1)
		return 0;
	family = (data[0] & 1) ? AF_INET6 : AF_INET;
	ticks = (long)(data[0] >> 1) + 1;
	text = fuzz_bytes(data + 1, size - 1);
	for (size_t i = 0; i + 1 < size; i++)
		lines += text[i] == '\n';
	memset(&sentinel, 0x5a, sizeof(sentinel));
	if (sock_vec_push(&sv, &sentinel) < 0)
		abort();
	rc = procnet_parse(text, size - 1, family, ticks, &sv);
	FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
	if (rc < 0) {
		FUZZ_CHECK_INT(sv.n, ==, 1);
	} else {
		/* The header is a line; a last line may lack its newline. */
		FUZZ_CHECK(sv.n - 1 <= lines + 1);
		for (size_t i = 1; i < sv.n; i++) {
			FUZZ_CHECK_INT(sv.v[i].family, ==, family);
			FUZZ_CHECK(sv.v[i].state > 0 && sv.v[i].state < SOCK_STATE_MAX);
			FUZZ_CHECK_INT(sv.v[i].cookie, ==, 0);
		}
	}
	FUZZ_CHECK(memcmp(&sv.v[0], &sentinel, sizeof(sentinel)) == 0);
	sock_vec_free(&sv);
	free(text);
	return 0;
}
