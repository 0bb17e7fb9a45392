/* kstat.h - the kernel's teardown counters and the settings that bound lingering sockets. */
#ifndef LINGERD_KSTAT_H
#define LINGERD_KSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Counters from /proc/net/netstat (TcpExt), /proc/net/snmp (Tcp) and /proc/net/sockstat. */
enum kstat_counter {
	KSTAT_TW,
	KSTAT_TW_KILLED,
	KSTAT_TW_RECYCLED,
	KSTAT_TIME_WAIT_OVERFLOW,
	KSTAT_ABORT_ON_CLOSE,
	KSTAT_ABORT_ON_DATA,
	KSTAT_ABORT_ON_LINGER,
	KSTAT_ABORT_ON_TIMEOUT,
	KSTAT_ABORT_ON_MEMORY,
	KSTAT_LISTEN_OVERFLOWS,
	KSTAT_LISTEN_DROPS,
	KSTAT_ACTIVE_OPENS,
	KSTAT_PASSIVE_OPENS,
	KSTAT_ATTEMPT_FAILS,
	KSTAT_ESTAB_RESETS,
	KSTAT_OUT_RSTS,
	KSTAT_RETRANS_SEGS,
	KSTAT_COUNTER_MAX,
};

/* Gauges from /proc/net/sockstat ("TCP: inuse N orphan N tw N alloc N mem N"). */
enum kstat_gauge {
	KSTAT_SOCK_INUSE,
	KSTAT_SOCK_ORPHAN,
	KSTAT_SOCK_TW,
	KSTAT_SOCK_ALLOC,
	KSTAT_SOCK_MEM_PAGES,
	KSTAT_GAUGE_MAX,
};

/* sysctls under /proc/sys that bound how long and how many sockets linger. */
enum kstat_setting {
	KSTAT_FIN_TIMEOUT,
	KSTAT_MAX_TW_BUCKETS,
	KSTAT_TW_REUSE,
	KSTAT_PORT_RANGE_LOW,
	KSTAT_PORT_RANGE_HIGH,
	KSTAT_MAX_ORPHANS,
	KSTAT_ORPHAN_RETRIES,
	KSTAT_SOMAXCONN,
	KSTAT_MAX_SYN_BACKLOG,
	KSTAT_SYN_RETRIES,
	KSTAT_SYNACK_RETRIES,
	KSTAT_RETRIES2,
	KSTAT_KEEPALIVE_TIME,
	KSTAT_KEEPALIVE_INTVL,
	KSTAT_KEEPALIVE_PROBES,
	KSTAT_SETTING_MAX,
};

/* One reading.  have_* is 0 where the kernel did not offer the value. */
struct kstat {
	uint64_t counter[KSTAT_COUNTER_MAX];
	uint8_t have_counter[KSTAT_COUNTER_MAX];
	int64_t gauge[KSTAT_GAUGE_MAX];
	uint8_t have_gauge[KSTAT_GAUGE_MAX];
	int64_t setting[KSTAT_SETTING_MAX];
	uint8_t have_setting[KSTAT_SETTING_MAX];
};

/* Name, file and meaning of each value, for the API and /metrics. */
struct kstat_info {
	const char *name;   /* as the kernel spells it: "TCPAbortOnData", "tcp_fin_timeout" */
	const char *source; /* "TcpExt", "Tcp", "sockstat", or the sysctl path under /proc/sys */
	const char *metric; /* snake_case suffix for Prometheus names */
	const char *help;   /* one sentence: what it counts or bounds */
};

const struct kstat_info *kstat_counter_info(int i);
const struct kstat_info *kstat_gauge_info(int i);
const struct kstat_info *kstat_setting_info(int i);

/*
 * Reads everything under proc_root ("/proc" normally; a fixture folder in tests).  Missing
 * files or fields leave have_* at 0; a malformed file is skipped.  Returns 0, or -errno when
 * not even /proc/net/snmp could be read.
 */
int kstat_read(struct kstat *out, const char *proc_root);

/* Reads only the counters and gauges (cheap: three small files), not the sysctls. */
int kstat_read_counters(struct kstat *out, const char *proc_root);
/*
 * The three counter files of one network namespace (snmp, netstat, sockstat), opened once
 * and re-read from offset 0 each time: a /proc/net file keeps the namespace it was opened in,
 * so a thread that entered another namespace can open them there ("/proc/thread-self/net")
 * and any thread can read them afterwards.  A file that is missing is -1.
 */
struct kstat_files {
	int snmp, netstat, sockstat;
};

/* Opens net_dir/{snmp,netstat,sockstat}.  Returns 0, or -ENOENT when snmp is not there. */
int kstat_files_open(struct kstat_files *f, const char *net_dir);
/* Reads the counters and gauges through f; 0 or -errno when snmp could not be read. */
int kstat_files_read(const struct kstat_files *f, struct kstat *out);
void kstat_files_close(struct kstat_files *f);

/* Reads only the sysctls. */
int kstat_read_settings(struct kstat *out, const char *proc_root);

/*
 * Parses the text of /proc/net/netstat or /proc/net/snmp (pairs of "Prefix: names" and
 * "Prefix: values" lines) into the counters it knows.  Exposed for the parser tests.
 */
void kstat_parse_pairs(struct kstat *out, const char *text, size_t len);
/* Parses the text of /proc/net/sockstat.  Exposed for the parser tests. */
void kstat_parse_sockstat(struct kstat *out, const char *text, size_t len);

#endif
