/* test_kstat.c - counter and sysctl parsing from recorded /proc files and hostile text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kstat.h"

int main(void)
{
	const char *data = getenv("LINGERD_TEST_DATA");
	char root[512];
	struct kstat k;

	if (!data) {
		fprintf(stderr, "LINGERD_TEST_DATA is not set\n");
		return 1;
	}
	/* Recorded from a real kernel; the expected values were read off the files by hand. */
	snprintf(root, sizeof(root), "%s/proc-kstat", data);
	memset(&k, 0, sizeof(k));
	CHECK_INT(kstat_read(&k, root), ==, 0);
	CHECK(k.have_counter[KSTAT_TW]);
	CHECK_INT(k.counter[KSTAT_TW], ==, 18);
	CHECK_INT(k.counter[KSTAT_ABORT_ON_DATA], ==, 1);
	CHECK_INT(k.counter[KSTAT_ACTIVE_OPENS], ==, 20);
	CHECK_INT(k.counter[KSTAT_OUT_RSTS], ==, 2);
	CHECK(k.have_counter[KSTAT_TIME_WAIT_OVERFLOW]);
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++)
		CHECK(k.have_counter[i]);
	CHECK_INT(k.gauge[KSTAT_SOCK_INUSE], ==, 1);
	CHECK_INT(k.gauge[KSTAT_SOCK_ORPHAN], ==, 1);
	CHECK_INT(k.gauge[KSTAT_SOCK_TW], ==, 2);
	CHECK_INT(k.gauge[KSTAT_SOCK_MEM_PAGES], ==, 256);
	CHECK_INT(k.setting[KSTAT_PORT_RANGE_LOW], ==, 32768);
	CHECK_INT(k.setting[KSTAT_PORT_RANGE_HIGH], ==, 60999);
	CHECK_INT(k.setting[KSTAT_FIN_TIMEOUT], ==, 60);
	for (int i = 0; i < KSTAT_SETTING_MAX; i++)
		CHECK(k.have_setting[i]);

	/* The live kernel answers too. */
	memset(&k, 0, sizeof(k));
	CHECK_INT(kstat_read(&k, "/proc"), ==, 0);
	CHECK(k.have_counter[KSTAT_ACTIVE_OPENS]);
	CHECK(k.have_setting[KSTAT_FIN_TIMEOUT]);

	/* Hostile text: nothing is taken from mismatched, truncated or overflowing lines. */
	{
		static const char *bad[] = {
			"TcpExt: TW TWKilled\nTcpExt: 99999999999999999999999 x\n",
			"TcpExt: TW\nIpExt: 5\n",
			"TcpExt: TW\n",
			"TcpExt: TW TWKilled\nTcpExt:",
			"Tcp: TW\nTcp: 7\n", /* TW belongs to TcpExt, not Tcp */
			"",
			"\n\n\n:",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			memset(&k, 0, sizeof(k));
			kstat_parse_pairs(&k, bad[i], strlen(bad[i]));
			CHECK(!k.have_counter[KSTAT_TW]);
			CHECK(!k.have_counter[KSTAT_TW_KILLED]);
		}
		memset(&k, 0, sizeof(k));
		kstat_parse_pairs(&k, "TcpExt: TW TWKilled\nTcpExt: 5", 29);
		CHECK_INT(k.counter[KSTAT_TW], ==, 5);
		CHECK(!k.have_counter[KSTAT_TW_KILLED]);
		memset(&k, 0, sizeof(k));
		kstat_parse_sockstat(&k, "TCP: inuse x orphan 3 tw", 24);
		CHECK(!k.have_gauge[KSTAT_SOCK_INUSE]);
		CHECK_INT(k.gauge[KSTAT_SOCK_ORPHAN], ==, 3);
		CHECK(!k.have_gauge[KSTAT_SOCK_TW]);
	}
	/* A missing root reports the failure. */
	CHECK(kstat_read(&k, "/nonexistent") < 0);
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++)
		CHECK(kstat_counter_info(i)->help[0] != '\0');
	CHECK(kstat_counter_info(KSTAT_COUNTER_MAX) == NULL);
	return CHECK_DONE();
}
