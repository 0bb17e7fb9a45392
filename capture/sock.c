/* sock.c - the socket record vector and the table of TCP state names. */
#include "sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"

static const char *const state_names[SOCK_STATE_MAX] = {
	[SOCK_ESTABLISHED] = "ESTABLISHED",
	[SOCK_SYN_SENT] = "SYN_SENT",
	[SOCK_SYN_RECV] = "SYN_RECV",
	[SOCK_FIN_WAIT1] = "FIN_WAIT_1",
	[SOCK_FIN_WAIT2] = "FIN_WAIT_2",
	[SOCK_TIME_WAIT] = "TIME_WAIT",
	[SOCK_CLOSE] = "CLOSED",
	[SOCK_CLOSE_WAIT] = "CLOSE_WAIT",
	[SOCK_LAST_ACK] = "LAST_ACK",
	[SOCK_LISTEN] = "LISTEN",
	[SOCK_CLOSING] = "CLOSING",
};

static const char *const state_labels[SOCK_STATE_MAX] = {
	[SOCK_ESTABLISHED] = "established",
	[SOCK_SYN_SENT] = "syn_sent",
	[SOCK_SYN_RECV] = "syn_recv",
	[SOCK_FIN_WAIT1] = "fin_wait1",
	[SOCK_FIN_WAIT2] = "fin_wait2",
	[SOCK_TIME_WAIT] = "time_wait",
	[SOCK_CLOSE] = "close",
	[SOCK_CLOSE_WAIT] = "close_wait",
	[SOCK_LAST_ACK] = "last_ack",
	[SOCK_LISTEN] = "listen",
	[SOCK_CLOSING] = "closing",
};

static const char *const timer_names[SOCK_TIMER_MAX] = {
	[SOCK_TIMER_NONE] = "none",           [SOCK_TIMER_RETRANSMIT] = "retransmit",
	[SOCK_TIMER_KEEPALIVE] = "keepalive", [SOCK_TIMER_TIMEWAIT] = "timewait",
	[SOCK_TIMER_PROBE] = "probe",
};

int sock_vec_push(struct sock_vec *sv, const struct sock_rec *r)
{
	struct sock_rec *slot = sock_vec_grow(sv);

	if (!slot)
		return -ENOMEM;
	*slot = *r;
	return 0;
}

struct sock_rec *sock_vec_grow(struct sock_vec *sv)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 256;
		struct sock_rec *v;

		if (cap > LD_MAX_SOCKETS)
			cap = LD_MAX_SOCKETS;
		if (cap <= sv->n)
			return NULL;
		v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		sv->v = v;
		sv->cap = cap;
	}
	return &sv->v[sv->n++];
}

void sock_vec_clear(struct sock_vec *sv)
{
	sv->n = 0;
}

void sock_vec_free(struct sock_vec *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

const char *sock_state_name(int state)
{
	if (state <= 0 || state >= SOCK_STATE_MAX)
		return NULL;
	return state_names[state];
}

const char *sock_state_label(int state)
{
	if (state <= 0 || state >= SOCK_STATE_MAX)
		return NULL;
	return state_labels[state];
}

const char *sock_timer_name(int timer)
{
	if (timer < 0 || timer >= SOCK_TIMER_MAX)
		return "unknown";
	return timer_names[timer];
}

int sock_state_lingering(int state)
{
	switch (state) {
	case SOCK_FIN_WAIT1:
	case SOCK_FIN_WAIT2:
	case SOCK_TIME_WAIT:
	case SOCK_CLOSE_WAIT:
	case SOCK_LAST_ACK:
	case SOCK_CLOSING:
		return 1;
	default:
		return 0;
	}
}

/* Folds a spelling to upper case without separators: "fin-wait-1" -> "FINWAIT1". */
static int fold(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '_' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return -EINVAL;
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int sock_state_parse(const char *name, size_t len)
{
	char want[24], have[24];

	if (fold(name, len, want, sizeof(want)) < 0 || !want[0])
		return -EINVAL;
	for (int s = 1; s < SOCK_STATE_MAX; s++) {
		fold(state_names[s], strlen(state_names[s]), have, sizeof(have));
		if (strcmp(want, have) == 0)
			return s;
	}
	if (strcmp(want, "CLOSE") == 0)
		return SOCK_CLOSE;
	return -EINVAL;
}
