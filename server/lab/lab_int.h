/* lab_int.h - what the lab's own files share: its limits, its socket records and its helpers. */
#ifndef LINGERD_LAB_INT_H
#define LINGERD_LAB_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Limits and timings of the lab.  They live here rather than in limits.h because nothing
 * else in lingerd uses them and the lab must not change the daemon's behaviour.
 */
enum {
	LAB_EX_OK = 0,
	LAB_EX_FAIL = 1,
	LAB_EX_USAGE = 64,
	LAB_COUNT_DEFAULT = 2,
	LAB_COUNT_MAX = 64,       /* about 50 fds a unit: 64 stays far below the fd limit */
	LAB_PORT_DEFAULT = 31100, /* below ip_local_port_range: no client squats it */
	LAB_HOLD_MAX_S = 366 * 86400,
	LAB_BACKLOG = 4096,     /* idle and defer-accept listeners: never the limit */
	LAB_FILLERS_MAX = 4,    /* connections that fill the backlog-0 accept queue */
	LAB_STEP_MS = 2000,     /* one connect, accept or state change on loopback */
	LAB_SETTLE_MS = 3000,   /* every socket in its final state */
	LAB_POLL_MS = 10,       /* re-check period while waiting for a state */
	LAB_FILL_QUIET_MS = 50, /* writes blocked this long: the peer's window is shut */
	LAB_FILL_MAX_MS = 3000,
	LAB_FILL_MAX_BYTES = 16 * 1024 * 1024,
	LAB_UNREAD_BYTES = 100,      /* left unread under the FIN in close_wait_unread */
	LAB_SMALL_BUF = 1,           /* the kernel raises this to its minimum buffer */
	LAB_SYNCNT = 127,            /* MAX_TCP_SYNCNT: SYN_SENT lasts hours, not 2 minutes */
	LAB_SYN_SENT_LIFE_S = 14500, /* about 4 + 127 + 120 * 120 s of SYN retransmits */
	LAB_DEFER_ASK_S = 1 << 30,   /* the kernel caps it (255 retransmits) and says how long */
	LAB_TIME_WAIT_S = 60,        /* TCP_TIMEWAIT_LEN: a constant, not a sysctl */
	/* Measured here: an orphan's zero-window probes give up when their backoff passes
	 * TCP_RTO_MAX, about 5.6 minutes after close() on loopback. */
	LAB_FIN_WAIT_1_ORPHAN_S = 340,
	LAB_LINGER_DEFAULT_S = 1, /* l_linger of `lab linger`: two closes wait this long */
	LAB_LINGER_MAX_S = 30,
};

#define LAB_LEAKER_NAME "lab-leaker"

/* ---- addresses and small socket helpers (net.c) ------------------------------------ */

struct lab_addr {
	int family;
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
	uint16_t port;    /* host order */
};

/* Monotonic milliseconds, and a sleep that resumes after a signal. */
int64_t lab_now_ms(void);
void lab_sleep_ms(int ms);
/* "ECONNRESET" for ECONNRESET: the name tests and people search for; never NULL. */
const char *lab_errno_name(int err);
/* The errno's description, like strerror() but thread-safe; never NULL. */
const char *lab_strerror(int err);
/* "ipv4" or "ipv6". */
const char *lab_family_name(int family);
/* The loopback address of family (127.0.0.1 or ::1) with port, as a sockaddr of *len bytes. */
void lab_loopback_sa(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);
/* The socket's own (local) or peer's (remote) address; 0 or -errno. */
int lab_addr_local(int fd, struct lab_addr *a);
int lab_addr_remote(int fd, struct lab_addr *a);
int lab_addr_equal(const struct lab_addr *a, const struct lab_addr *b);
/* The address as text in buf (at least INET6_ADDRSTRLEN); returns buf. */
const char *lab_addr_text(const struct lab_addr *a, char *buf, size_t len);
/* setsockopt of one int; 0 or -errno. */
int lab_set_int(int fd, int level, int opt, int val);
/* Zero linger: close() then sends RST and leaves nothing behind, not even TIME_WAIT.  fd < 0
 * is ignored. */
void lab_close_abort(int fd);
/* The socket's TCP state (TCP_INFO), or -errno. */
int lab_tcp_state_of(int fd);
/* Waits until the socket reaches state; -ETIMEDOUT after ms. */
int lab_wait_state(int fd, int state, int ms);
/* A non-blocking TCP socket; IPv6 ones are v6-only so ::1 never touches IPv4 ports.  Returns
 * the fd or -errno. */
int lab_tcp_socket(int family);
/* Opens a loopback listener on *port; port 0 lets the kernel choose and *port receives the
 * choice.  defer_s > 0 sets TCP_DEFER_ACCEPT.  On success *fdp owns the socket. */
int lab_listener_open(int family, uint16_t *port, int backlog, int reuseaddr, int reuseport,
		      int defer_s, int *fdp);
/* Starts a non-blocking connect to the loopback port; rcvbuf/syncnt 0 keep the default.  On
 * success *fdp owns the socket. */
int lab_connect_start(int family, uint16_t port, int rcvbuf, int syncnt, int *fdp);
/* Waits up to ms for a started connect: 0, -ETIMEDOUT or the connect's -errno. */
int lab_connect_wait(int fd, int ms);
/* Waits up to ms for a connection on the listener; on success *fdp owns it (non-blocking). */
int lab_accept_wait(int lfd, int ms, int *fdp);
/* Writes until the peer's window is shut (see net.c); 0, -EMSGSIZE if the peer keeps
 * reading, or -errno.  sent (may be NULL) receives the number of bytes written. */
int lab_fill_window(int fd, long *sent);
/*
 * One IPv4 loopback connection, its listener already closed: *cfd the client, *sfd the
 * accepted server end, both non-blocking.  *port 0 picks one.  small: the server receives
 * through the smallest window and the client sends from the smallest buffer, so that
 * lab_fill_window(*cfd) shuts the window after a few kilobytes.
 */
int lab_pair_open(uint16_t *port, int reuseaddr, int small, int *cfd, int *sfd);
/* The first integer in the file, or fallback. */
int lab_read_int_file(const char *path, int fallback);
/* qsort comparison of ints. */
int lab_cmp_int(const void *a, const void *b);

/* ---- the kernel's view, read independently of capture/ (oracle.c) ------------------- */

/* One row of /proc/net/tcp{,6}. */
struct proc_row {
	struct lab_addr local, remote;
	int state;
	uint32_t txq, rxq;
};

/* Calls fn for every row of /proc/net/tcp (or tcp6).  Returns 0 or -errno. */
int lab_proc_scan(int family, void (*fn)(const struct proc_row *, void *), void *arg);
/* Number of sockets with this 4-tuple in state (-1: any state), or -errno. */
int lab_proc_count(const struct lab_addr *local, const struct lab_addr *remote, int state);
/* Waits up to ms until the 4-tuple's count in state (-1: any) equals want; 0, -ETIMEDOUT or
 * -errno. */
int lab_proc_wait(const struct lab_addr *local, const struct lab_addr *remote, int state, int want,
		  int ms);

/*
 * Reads counters by name from /proc/net/netstat or /proc/net/snmp ("Prefix:" header line,
 * then values): vals[i] receives names[i].  0, -ENOENT if one is missing, or -errno.
 */
int lab_mib_read(const char *path, const char *prefix, const char *const *names, size_t n,
		 long long *vals);

/* ---- the lab: scenarios and their sockets (build.c) --------------------------------- */

enum lab_scn {
	SCN_LISTEN,
	SCN_ESTABLISHED,
	SCN_SYN_SENT,
	SCN_SYN_RECV,
	SCN_FIN_WAIT_1,
	SCN_FIN_WAIT_1_ORPHAN,
	SCN_FIN_WAIT_2,
	SCN_FIN_WAIT_2_ORPHAN,
	SCN_TIME_WAIT,
	SCN_CLOSE_WAIT,
	SCN_CLOSE_WAIT_UNREAD,
	SCN_CLOSE_WAIT_LEAK,
	SCN_LAST_ACK,
	SCN_CLOSING,
	SCN_MAX,
};

enum lab_owner { OWN_LAB, OWN_LEAKER, OWN_KERNEL };

struct lab_sock {
	int fd; /* -1 once the kernel or the leaker holds it */
	enum lab_scn scn;
	int state; /* the state it must be in */
	const char *role;
	enum lab_owner owner;
	int expires_s; /* -1: lives until the lab lets it go */
	struct lab_addr local, remote;
	uint32_t rqueue, wqueue; /* as the kernel reported them when verified */
	int seen, got;           /* verification: matched; state last seen (0: absent) */
};

struct lab {
	int count;
	int base;
	int hold_s; /* -1: until a signal */
	int nfam;
	int fams[2];
	uint16_t port[SCN_MAX][2]; /* listener port of each scenario, by family index */
	int lfd[SCN_MAX][2];       /* scenario listeners while building; -1 when none */
	struct lab_sock *socks;
	size_t n, cap;
	pid_t leaker;
	int leaker_fd; /* our end of the socketpair: the leaker exits when it closes */
	int fin_timeout_s;
	int defer_s;
	int summary; /* report a few lines for people instead of the JSON line */
};

typedef int (*scn_build_fn)(struct lab *lab, int fi, enum lab_scn scn);

struct scn_def {
	const char *name;
	int state;
	scn_build_fn build;
	const char *how;
};

/* Every scenario, indexed by enum lab_scn: scenario k listens on BASE + k. */
extern const struct scn_def lab_scn_defs[SCN_MAX];
/* The order scenarios are built in (see build.c for why it differs from the layout). */
extern const enum lab_scn lab_build_order[SCN_MAX];
extern const char *const lab_owner_names[];

int lab_family(const struct lab *lab, int fi);
/* Opens the scenario's listener on its layout port before any connection is made. */
int lab_reserve(struct lab *lab, int fi, enum lab_scn scn);
/* Closes the listeners no state needs; their accepted sockets live on without them. */
void lab_release_listeners(struct lab *lab);

/* ---- the report (report.c) ---------------------------------------------------------- */

/* Prints the lab's one line of JSON to stdout (documented in report.c); 0 or -errno. */
int lab_print(const struct lab *lab);
/* Prints a few lines for people instead: counts by state, ports, who holds the leak. */
int lab_print_summary(const struct lab *lab);

/* ---- the command line and the run (cli.c, run.c) ------------------------------------ */

struct lab_opts {
	int demo; /* 0 lab, 1 linger, 2 reuseaddr */
	int count, base, hold_s, fam4, fam6;
	int summary;  /* lab: a few lines for people instead of the JSON line */
	int json;     /* demos: one line of JSON instead of text for people */
	int linger_s; /* linger: l_linger of the cases that set it */
};

/* Builds, verifies, reports and holds the sockets, then lets them go; the exit status. */
int lab_run_main(const struct lab_opts *o);

/* ---- the teardown demos (linger.c, reuseaddr.c) ----------------------------------- */

/*
 * `lingerd lab linger` on ports BASE.. BASE+4 (0: ephemeral), l_linger = linger_s where set,
 * and `lingerd lab reuseaddr` on BASE and BASE+1.  Each prints what it observed, as text for
 * people or, json set, as one line of JSON; returns the exit status.
 */
int lab_demo_linger(int base, int linger_s, int json);
int lab_demo_reuseaddr(int base, int json);

#endif
