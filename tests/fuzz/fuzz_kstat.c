/*
 * fuzz_kstat.c - the kernel counter parsers: kstat_parse_pairs() for /proc/net/netstat and
 * /proc/net/snmp, kstat_parse_sockstat() for /proc/net/sockstat.
 *
 * Input: one byte (0: pairs, 1: sockstat, anything else: both), then the text as an
 * exact-size copy without a terminator.  Checks: memory safety, have_* flags stay 0 or 1,
 * and a value appears only with its flag.
 */
#include "fuzz.h"
#include "kstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kstat k;
	char *text;

	if (size < 1)
		return 0;
	memset(&k, 0, sizeof(k));
	text = fuzz_bytes(data + 1, size - 1);
	if (data[0] != 1)
		kstat_parse_pairs(&k, text, size - 1);
	if (data[0] != 0)
		kstat_parse_sockstat(&k, text, size - 1);
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		FUZZ_CHECK(k.have_counter[i] <= 1);
		if (!k.have_counter[i])
			FUZZ_CHECK(k.counter[i] == 0);
	}
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		FUZZ_CHECK(k.have_gauge[i] <= 1);
		if (!k.have_gauge[i])
			FUZZ_CHECK(k.gauge[i] == 0);
	}
	for (int i = 0; i < KSTAT_SETTING_MAX; i++)
		FUZZ_CHECK(!k.have_setting[i]);
	free(text);
	return 0;
}
