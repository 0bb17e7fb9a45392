/*
 * fuzz_ports.c - metrics_parse_ports (--metrics-ports) against a reference written from its
 * contract: a comma list of 1..METRICS_MAX_PORTS distinct decimal ports in 1..65535.
 */
#include <errno.h>

#include "fuzz.h"
#include "metrics.h"

/* The contract, spelled out naively.  Returns the number of ports or -1. */
static long reference(const char *s, uint16_t *ports)
{
	long n = 0;

	if (!*s)
		return -1;
	for (;;) {
		unsigned long v = 0;
		const char *p = s;

		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (unsigned long)(*p - '0');
			if (v > 65535)
				v = 65536; /* saturate: any longer run is out of range anyway */
			p++;
		}
		if (p == s || v < 1 || v > 65535 || (*p && *p != ','))
			return -1;
		for (long i = 0; i < n; i++)
			if (ports[i] == v)
				return -1;
		if (n == METRICS_MAX_PORTS)
			return -1;
		ports[n++] = (uint16_t)v;
		if (!*p)
			return n;
		s = p + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct metrics_config cfg;
	uint16_t want[METRICS_MAX_PORTS];
	long n = reference(s, want);
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = metrics_parse_ports(&cfg, s);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK_INT(rc == 0, ==, n >= 0);
	if (rc == 0) {
		FUZZ_CHECK_INT(cfg.n_ports, ==, n);
		for (long i = 0; i < n; i++)
			FUZZ_CHECK_INT(cfg.ports[i], ==, want[i]);
	}
	free(s);
	return 0;
}
