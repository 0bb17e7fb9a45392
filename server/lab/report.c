/* report.c - what the lab holds: one line of JSON for tests, or a few lines for people. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

/* ---- JSON -------------------------------------------------------------------------- */

static const int json_states[] = {
	SOCK_LISTEN,    SOCK_ESTABLISHED, SOCK_SYN_SENT,   SOCK_SYN_RECV, SOCK_FIN_WAIT1,
	SOCK_FIN_WAIT2, SOCK_TIME_WAIT,   SOCK_CLOSE_WAIT, SOCK_LAST_ACK, SOCK_CLOSING,
};

static void json_int_list(FILE *f, int *v, size_t n, int uniq)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), lab_cmp_int);
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (uniq && i && v[i] == v[i - 1])
			continue;
		fprintf(f, "%s%d", k++ ? "," : "", v[i]);
	}
	fputc(']', f);
}

static void json_expires(FILE *f, int expires_s)
{
	if (expires_s < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", expires_s);
}

static pid_t sock_pid(const struct lab *lab, const struct lab_sock *s)
{
	if (s->owner == OWN_LAB)
		return getpid();
	if (s->owner == OWN_LEAKER)
		return lab->leaker;
	return 0;
}

static void json_state(FILE *f, const struct lab *lab, int state, int *tmp)
{
	size_t n = 0, k;
	int nfam[2] = { 0, 0 };

	for (size_t i = 0; i < lab->n; i++) {
		if (lab->socks[i].state != state)
			continue;
		nfam[lab->socks[i].local.family == AF_INET6]++;
		n++;
	}
	fprintf(f,
		"\"%s\":{\"count\":%zu,\"ipv4\":%d,\"ipv6\":%d,\"ports\":", sock_state_name(state),
		n, nfam[0], nfam[1]);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state)
			for (int fi = 0; fi < lab->nfam; fi++)
				tmp[k++] = lab->port[lab->socks[i].scn][fi];
	json_int_list(f, tmp, k, 1);
	fputs(",\"local_ports\":", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state)
			tmp[k++] = lab->socks[i].local.port;
	json_int_list(f, tmp, k, 0);
	fputs(",\"pids\":", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state && sock_pid(lab, &lab->socks[i]))
			tmp[k++] = (int)sock_pid(lab, &lab->socks[i]);
	json_int_list(f, tmp, k, 1);
	/* Variants: one per scenario and role, in the order the sockets were made. */
	fputs(",\"variants\":{", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++) {
		const struct lab_sock *s = &lab->socks[i];
		int dup = 0, cnt = 0;

		if (s->state != state)
			continue;
		for (size_t j = 0; j < i && !dup; j++)
			dup = lab->socks[j].state == state && lab->socks[j].scn == s->scn &&
			      !strcmp(lab->socks[j].role, s->role);
		if (dup)
			continue;
		for (size_t j = i; j < lab->n; j++)
			cnt += lab->socks[j].state == state && lab->socks[j].scn == s->scn &&
			       !strcmp(lab->socks[j].role, s->role);
		fprintf(f, "%s\"%s/%s\":{\"count\":%d,\"owner\":\"%s\",\"expires_after_s\":",
			k++ ? "," : "", lab_scn_defs[s->scn].name, s->role, cnt,
			lab_owner_names[s->owner]);
		json_expires(f, s->expires_s);
		fputc('}', f);
	}
	fputs("}}", f);
}

static void json_sock(FILE *f, const struct lab *lab, const struct lab_sock *s)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	pid_t pid = sock_pid(lab, s);

	fprintf(f,
		"{\"state\":\"%s\",\"scenario\":\"%s\",\"role\":\"%s\",\"family\":\"%s\","
		"\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\",\"rport\":%u,\"owner\":\"%s\","
		"\"pid\":",
		sock_state_name(s->state), lab_scn_defs[s->scn].name, s->role,
		lab_family_name(s->local.family), lab_addr_text(&s->local, l, sizeof(l)),
		s->local.port, lab_addr_text(&s->remote, r, sizeof(r)), s->remote.port,
		lab_owner_names[s->owner]);
	if (pid)
		fprintf(f, "%d", (int)pid);
	else
		fputs("null", f);
	fprintf(f, ",\"rqueue\":%u,\"wqueue\":%u,\"expires_after_s\":", s->rqueue, s->wqueue);
	json_expires(f, s->expires_s);
	fputc('}', f);
}

/*
 * The one line: everything a test needs to know which sockets exist, and where.
 *
 *   pid, families (["ipv4","ipv6"] or one), count (N), port_base (0: ephemeral),
 *   hold_s (null: until a signal), leaker {pid, comm}, tcp_fin_timeout_s, defer_accept_s;
 *   layout: scenario -> {offset, state (the one it exists for), ports {family: port}, how};
 *     with a base, port = base + offset for both families;
 *   states: each of the ten observable states -> {count, ipv4, ipv6, ports (layout ports of
 *     the scenarios with a socket in this state), local_ports (one per socket, sorted),
 *     pids (processes holding one by fd), variants {"scenario/role": {count, owner,
 *     expires_after_s}}}; counts cover every socket the lab made, peers included, so in a
 *     namespace of its own they equal the kernel's totals;
 *   sockets: one object per socket: state, scenario, role (listener, server, client,
 *     filler, queued, request), family, local, lport, remote, rport (a listener's remote
 *     is the zero address and port 0), owner (lab: our fd; leaker: the child's fd;
 *     kernel: no fd), pid (null for kernel), rqueue and wqueue as netlink reports them
 *     (a listener: accept queue and backlog), expires_after_s (null: lives until the lab
 *     lets go; else an upper bound, in seconds from now, of its life in this state).
 */
int lab_print(const struct lab *lab)
{
	FILE *f = stdout;
	int *tmp = calloc(lab->n * 2 + 1, sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	fprintf(f, "{\"pid\":%d,\"families\":[", (int)getpid());
	for (int fi = 0; fi < lab->nfam; fi++)
		fprintf(f, "%s\"%s\"", fi ? "," : "", lab_family_name(lab_family(lab, fi)));
	fprintf(f, "],\"count\":%d,\"port_base\":%d,\"hold_s\":", lab->count, lab->base);
	if (lab->hold_s < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", lab->hold_s);
	fprintf(f, ",\"leaker\":{\"pid\":%d,\"comm\":\"%s\"}", (int)lab->leaker, LAB_LEAKER_NAME);
	fprintf(f, ",\"tcp_fin_timeout_s\":%d,\"defer_accept_s\":%d", lab->fin_timeout_s,
		lab->defer_s);
	fputs(",\"layout\":{", f);
	for (int k = 0; k < SCN_MAX; k++) {
		fprintf(f, "%s\"%s\":{\"offset\":%d,\"state\":\"%s\",\"ports\":{", k ? "," : "",
			lab_scn_defs[k].name, k, sock_state_name(lab_scn_defs[k].state));
		for (int fi = 0; fi < lab->nfam; fi++)
			fprintf(f, "%s\"%s\":%u", fi ? "," : "",
				lab_family_name(lab_family(lab, fi)), lab->port[k][fi]);
		fprintf(f, "},\"how\":\"%s\"}", lab_scn_defs[k].how);
	}
	fputs("},\"states\":{", f);
	for (size_t i = 0; i < sizeof(json_states) / sizeof(json_states[0]); i++) {
		if (i)
			fputc(',', f);
		json_state(f, lab, json_states[i], tmp);
	}
	fputs("},\"sockets\":[", f);
	for (size_t i = 0; i < lab->n; i++) {
		if (i)
			fputc(',', f);
		json_sock(f, lab, &lab->socks[i]);
	}
	fputs("]}\n", f);
	free(tmp);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

int lab_print_summary(const struct lab *lab)
{
	FILE *f = stdout;
	size_t by_state[SOCK_STATE_MAX] = { 0 }, leaked = 0, held = 0;

	for (size_t i = 0; i < lab->n; i++) {
		const struct lab_sock *s = &lab->socks[i];

		if (s->state > 0 && s->state < SOCK_STATE_MAX)
			by_state[s->state]++;
		if (s->state == SOCK_CLOSE_WAIT)
			*(s->owner == OWN_LEAKER ? &leaked : &held) += 1;
	}
	fprintf(f, "lingerd lab (pid %d): %zu sockets, %d of each kind, on ", (int)getpid(), lab->n,
		lab->count);
	for (int fi = 0; fi < lab->nfam; fi++)
		fprintf(f, "%s%s", fi ? " and " : "",
			lab_family(lab, fi) == AF_INET6 ? "[::1]" : "127.0.0.1");
	if (lab->base)
		fprintf(f, ", ports %d-%d\n", lab->base, lab->base + SCN_MAX - 1);
	else
		fprintf(f, ", ephemeral ports\n");
	fputs("  ", f);
	for (size_t i = 0; i < sizeof(json_states) / sizeof(json_states[0]); i++)
		fprintf(f, "%s%s %zu", i ? ", " : "", sock_state_name(json_states[i]),
			by_state[json_states[i]]);
	fprintf(f, "\n  CLOSE_WAIT leak: %zu held by process %s (pid %d), %zu by the lab itself\n",
		leaked, LAB_LEAKER_NAME, (int)lab->leaker, held);
	if (lab->hold_s < 0)
		fputs("  holding them until SIGTERM or SIGINT\n", f);
	else
		fprintf(f, "  holding them for %d s\n", lab->hold_s);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
