/* sock.h - the socket record every capture source produces and every module reads. */
#ifndef LINGERD_SOCK_H
#define LINGERD_SOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * TCP states, numbered as the kernel numbers them (include/net/tcp_states.h), so a
 * netlink idiag_state or a /proc/net/tcp "st" column maps without a table.  Index 0 is
 * unused; SOCK_STATE_MAX is one past the last real state.
 */
enum sock_state {
	SOCK_ESTABLISHED = 1,
	SOCK_SYN_SENT = 2,
	SOCK_SYN_RECV = 3,
	SOCK_FIN_WAIT1 = 4,
	SOCK_FIN_WAIT2 = 5,
	SOCK_TIME_WAIT = 6,
	SOCK_CLOSE = 7,
	SOCK_CLOSE_WAIT = 8,
	SOCK_LAST_ACK = 9,
	SOCK_LISTEN = 10,
	SOCK_CLOSING = 11,
	SOCK_STATE_MAX = 12,
};

/* Timer kinds as the kernel reports them (idiag_timer, /proc "tr" column). */
enum sock_timer {
	SOCK_TIMER_NONE = 0,
	SOCK_TIMER_RETRANSMIT = 1,
	SOCK_TIMER_KEEPALIVE = 2,
	SOCK_TIMER_TIMEWAIT = 3,
	SOCK_TIMER_PROBE = 4,
	SOCK_TIMER_MAX = 5,
};

/* shutdown bits as netlink reports them (INET_DIAG_SHUTDOWN); unknown with /proc. */
#define SOCK_SHUT_RD 1u
#define SOCK_SHUT_WR 2u
#define SOCK_SHUT_UNKNOWN 0xffu

/*
 * One TCP socket as seen at one instant.  Addresses are in network byte order; an IPv4
 * address takes the first 4 bytes of the 16 and the rest are zero.  Ports are in host
 * byte order.  cookie is 0 when the source has none (/proc).
 */
struct sock_rec {
	uint64_t cookie;
	uint64_t inode;
	uint64_t netns; /* namespace id (inode of its ns file); 0 for lingerd's own namespace */
	uint32_t uid;
	uint32_t rqueue;
	uint32_t wqueue;
	uint32_t expires_ms;
	uint32_t retrans;
	uint16_t lport;
	uint16_t rport;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t state;  /* enum sock_state */
	uint8_t timer;  /* enum sock_timer */
	uint8_t shutdown;
	uint8_t laddr[16];
	uint8_t raddr[16];
};

/* A growable array of records.  Zero-initialise before first use. */
struct sock_vec {
	struct sock_rec *v;
	size_t n;
	size_t cap;
};

/* Appends a copy of *r.  Returns 0 or -ENOMEM (the vector is unchanged then). */
int sock_vec_push(struct sock_vec *sv, const struct sock_rec *r);
/* Returns a slot at the end, uninitialised, or NULL when memory runs out. */
struct sock_rec *sock_vec_grow(struct sock_vec *sv);
/* Empties the vector but keeps its memory for the next sample. */
void sock_vec_clear(struct sock_vec *sv);
/* Releases the memory; the vector is empty and reusable afterwards. */
void sock_vec_free(struct sock_vec *sv);

/* Upper-case name of a state ("CLOSE_WAIT"), or NULL for a number that is not a state. */
const char *sock_state_name(int state);
/*
 * Parses a state name: upper or lower case, '_' or '-' between words, and the spellings
 * FIN_WAIT1 / FIN_WAIT_1 both accepted; "CLOSED" is SOCK_CLOSE.  Returns the state or
 * -EINVAL.  len is the length of name (it need not be NUL-terminated).
 */
int sock_state_parse(const char *name, size_t len);
/* Lower-case name used as a Prometheus label value ("close_wait"). */
const char *sock_state_label(int state);
/* Name of a timer kind ("retransmit", "keepalive", "timewait", "probe", "none"). */
const char *sock_timer_name(int timer);
/* Non-zero for the states lingerd calls lingering: the teardown states after ESTABLISHED. */
int sock_state_lingering(int state);

#endif
