/* http.c - serves the API through libmicrohttpd, configured against its unsafe defaults. */
#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "limits.h"
#include "log.h"
#include "query.h"
#include "http_send.h"

/*
 * One accepted connection (libmicrohttpd's socket context), from its NOTIFY_CONNECTION
 * STARTED to its CLOSED.  It sits in its lane's idle list while it waits for a request, in
 * the busy list while a request is answered; both lists are ordered by `since`.
 */
struct conn {
	struct conn *prev, *next;
	struct lane *lane;
	int64_t since_ms; /* when it started waiting (idle) or answering (busy) */
	MHD_socket fd;
	unsigned char busy, shut, api_slot, heavy_slot;
};

/* The connections of one libmicrohttpd worker thread (a worker's share of the limit). */
struct lane {
	struct conn idle, busy; /* list heads */
	unsigned int n;
};

struct http {
	struct MHD_Daemon *daemon;
	const struct api_ctx *ctx;
	const struct http_access *acc;
	uint16_t port;
	/* Guards the lanes and every struct conn's links, busy and shut flags. */
	pthread_mutex_t lock;
	struct lane lanes[LD_HTTP_THREADS];
	atomic_uint next_lane;
	unsigned int lane_soft; /* connections a worker keeps before it evicts */
	atomic_uint api_inflight, heavy_inflight;
	atomic_ulong reaped, evicted, refused_busy;
	/* The reaper thread; draining is set by http_quiesce. */
	pthread_t reaper;
	int reaper_started;
	pthread_cond_t wake;
	int stopping, draining;
	/* The bearer token (a copy of acc->token, replaced by http_set_token), or NULL. */
	pthread_rwlock_t token_lock;
	char *token;
};

/*
 * Markers *req_cls points at: set by the URI callback from the raw request line (before
 * libmicrohttpd decodes it), then once the headers have been seen.  Never written.
 */
static const char marker_new, marker_raw_bad, marker_raw_space, marker_seen;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	/* libmicrohttpd (not strict, see http_start) lets "GET /a b HTTP/1.1" through as "/a b". */
	if (strpbrk(uri, " \t"))
		return (void *)&marker_raw_space;
	return (void *)(http_raw_path_suspect(uri) ? &marker_raw_bad : &marker_new);
}

/* Non-zero when no token is set or authorization carries the current one. */
static int token_ok(struct http *h, const char *authorization)
{
	int ok;

	pthread_rwlock_rdlock(&h->token_lock);
	ok = !h->token || http_token_ok(authorization, h->token);
	pthread_rwlock_unlock(&h->token_lock);
	return ok;
}

int http_set_token(struct http *h, const char *token)
{
	char *copy = strdup(token);
	char *old;

	if (!copy)
		return -ENOMEM;
	pthread_rwlock_wrlock(&h->token_lock);
	old = h->token;
	h->token = copy;
	pthread_rwlock_unlock(&h->token_lock);
	if (old) {
		explicit_bzero(old, strlen(old));
		free(old);
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void list_init(struct conn *head)
{
	head->prev = head->next = head;
}

static void list_unlink(struct conn *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->prev = c->next = c;
}

static void list_append(struct conn *head, struct conn *c)
{
	c->prev = head->prev;
	c->next = head;
	head->prev->next = c;
	head->prev = c;
}

/*
 * The request deadline, eviction and draining close a connection from outside
 * libmicrohttpd, and this is the one place that does it.  close() would pull the fd from
 * under libmicrohttpd; shutdown(SHUT_RDWR) instead makes its worker see end-of-file (or a
 * failed send) and close the connection itself, so the fd stays libmicrohttpd's.  What
 * remains is the fd being closed and reused by a new connection between our finding it and
 * our shutdown().  In libmicrohttpd 0.9.75 every path that closes a connection's fd after
 * announcing it (MHD_cleanup_connections, and the failure path of
 * new_connection_process_) calls NOTIFY_CONNECTION CLOSED first and close() after, on the
 * connection's own worker thread; our CLOSED callback unlinks the connection under h->lock.
 * So while we hold h->lock and the connection is still linked, its fd is still open and
 * still that connection's.  Callers hold h->lock.
 *
 * abort (a connection that owes us a request, or will not read its answer) also sets
 * SO_LINGER {1, 0}: libmicrohttpd's close() then resets it instead of leaving a TIME_WAIT
 * for each, which a flood of evictions would pile up by the hundred thousand.
 */
static void conn_shut(struct conn *c, int abort)
{
	static const struct linger rst = { 1, 0 };

	if (c->shut)
		return;
	c->shut = 1;
	if (abort)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	shutdown(c->fd, SHUT_RDWR);
}

static void slots_release(struct http *h, struct conn *c)
{
	if (c->heavy_slot)
		atomic_fetch_sub(&h->heavy_inflight, 1);
	if (c->api_slot)
		atomic_fetch_sub(&h->api_inflight, 1);
	c->heavy_slot = c->api_slot = 0;
}

/* Takes a slot under limit from *counter; 0 or -EBUSY. */
static int slot_take(atomic_uint *counter, unsigned int limit)
{
	if (atomic_fetch_add(counter, 1) >= limit) {
		atomic_fetch_sub(counter, 1);
		return -EBUSY;
	}
	return 0;
}

/* This worker thread's lane: workers run the STARTED and CLOSED callbacks of their own. */
static struct lane *my_lane(struct http *h)
{
	static _Thread_local struct http *tl_http;
	static _Thread_local struct lane *tl_lane;

	if (tl_http != h) {
		tl_lane = &h->lanes[atomic_fetch_add(&h->next_lane, 1) % LD_HTTP_THREADS];
		tl_http = h;
	}
	return tl_lane;
}

/*
 * Makes room on a worker that has reached its soft share: the connection that has waited
 * longest for a request goes (a trickler, an idle keep-alive), else the one that has taken
 * longest to read its answer, if that is more than a second.  A flood thus pushes out its
 * own oldest members, and a new client that sends its request at once is never the oldest.
 */
static void lane_evict(struct http *h, struct lane *l, const struct conn *keep, int64_t now)
{
	struct conn *c;

	for (c = l->idle.next; c != &l->idle; c = c->next)
		if (!c->shut && c != keep)
			goto found;
	for (c = l->busy.next; c != &l->busy; c = c->next)
		if (!c->shut && c != keep && now - c->since_ms > 1000)
			goto found;
	return;
found:
	conn_shut(c, 1);
	atomic_fetch_add(&h->evicted, 1);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct conn *c = *socket_context;
	const union MHD_ConnectionInfo *ci;
	struct lane *l;
	int64_t now = now_ms();

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!c)
			return;
		pthread_mutex_lock(&h->lock);
		list_unlink(c);
		c->lane->n--;
		slots_release(h, c);
		pthread_mutex_unlock(&h->lock);
		free(c);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		/* Untracked, it would escape every deadline: let libmicrohttpd close it now. */
		shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	l = my_lane(h);
	c->lane = l;
	c->fd = ci->connect_fd;
	c->since_ms = now;
	pthread_mutex_lock(&h->lock);
	list_append(&l->idle, c);
	l->n++;
	if (h->draining)
		conn_shut(c, 1);
	else if (l->n > h->lane_soft)
		lane_evict(h, l, c, now);
	pthread_mutex_unlock(&h->lock);
	*socket_context = c;
}

static struct conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Headers complete: the connection is now answering. */
static void conn_busy(struct http *h, struct conn *c)
{
	if (!c || c->busy)
		return;
	pthread_mutex_lock(&h->lock);
	list_unlink(c);
	c->busy = 1;
	c->since_ms = now_ms();
	list_append(&c->lane->busy, c);
	pthread_mutex_unlock(&h->lock);
}

/* An answer was sent (or the request ended): the connection waits for the next one. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct conn *c = conn_of(conn);

	(void)req_cls;
	(void)toe;
	if (!c)
		return;
	pthread_mutex_lock(&h->lock);
	slots_release(h, c);
	list_unlink(c);
	c->busy = 0;
	c->since_ms = now_ms();
	list_append(&c->lane->idle, c);
	if (h->draining)
		conn_shut(c, 0); /* its answer may still be unread: a FIN, not a reset */
	pthread_mutex_unlock(&h->lock);
}

/*
 * Shuts the connections of an idle list whose peer has closed.  libmicrohttpd 0.9.75 misses
 * the end-of-file of a few connections when thousands close at once (measured: 141 of 4400
 * trickling ones, left in CLOSE_WAIT until a deadline): asking the kernel for the state costs
 * one getsockopt per idle connection and keeps lingerd from holding CLOSE_WAIT.
 */
static unsigned long reap_closed(struct conn *head)
{
	unsigned long n = 0;

	for (struct conn *c = head->next; c != head; c = c->next) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (c->shut || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
		    ti.tcpi_state != TCP_CLOSE_WAIT)
			continue;
		conn_shut(c, 1);
		n++;
	}
	return n;
}

/*
 * Shuts every connection of the list whose `since` is older than deadline_ms (0: all);
 * abort as for conn_shut.
 */
static unsigned long reap_list(struct conn *head, int64_t now, int64_t deadline_ms, int abort)
{
	unsigned long n = 0;

	for (struct conn *c = head->next; c != head; c = c->next) {
		if (deadline_ms && now - c->since_ms < deadline_ms)
			break; /* ordered by since: the rest are younger */
		if (!c->shut) {
			conn_shut(c, abort);
			n++;
		}
	}
	return n;
}

/*
 * Applies the request and answer deadlines every LD_HTTP_REAP_MS (and, once draining,
 * closes every connection waiting for a request).  Logs a count once a minute at most.
 */
static void *reaper_main(void *arg)
{
	struct http *h = arg;
	unsigned long logged = 0;
	int64_t last_log = now_ms();

	unsigned int high = 0;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		struct timespec ts;
		int64_t now = now_ms();
		unsigned long n = 0;
		unsigned int open = 0;

		for (unsigned int i = 0; i < LD_HTTP_THREADS; i++)
			open += h->lanes[i].n;
		/*
		 * After a flood, hand the connections' memory back: the workers' malloc arenas
		 * otherwise keep it, and each flood would start from the last one's peak.
		 */
		if (open > high)
			high = open;
		if (high > h->lane_soft && open < h->lane_soft / 8) {
			malloc_trim(0);
			high = open;
		}
		for (unsigned int i = 0; i < LD_HTTP_THREADS; i++) {
			/* Draining, an idle connection may be one whose answer was just sent. */
			n += reap_list(&h->lanes[i].idle, now,
				       h->draining ? 0 : LD_HTTP_REQUEST_DEADLINE_MS, !h->draining);
			n += reap_list(&h->lanes[i].busy, now, LD_HTTP_ANSWER_DEADLINE_MS, 1);
			n += reap_closed(&h->lanes[i].idle);
		}
		if (n)
			atomic_fetch_add(&h->reaped, n);
		if (now - last_log >= 60000) {
			unsigned long total = atomic_load(&h->reaped) + atomic_load(&h->evicted);

			if (total != logged)
				log_info(
					"HTTP: closed %lu connections that missed a deadline, %lu "
					"pushed out by newer ones, %lu requests refused busy (in total)",
					atomic_load(&h->reaped), atomic_load(&h->evicted),
					atomic_load(&h->refused_busy));
			logged = total;
			last_log = now;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += LD_HTTP_REAP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

struct args_ctx {
	struct query *q;
	struct api_error *e;
	int failed;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct args_ctx *a = cls;

	(void)kind;
	if (a->failed)
		return MHD_NO;
	if (query_add(a->q, key, value, a->e) < 0) {
		a->failed = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

/* What the request head says about framing, counted over every header line. */
struct framing {
	unsigned int host, content_length, transfer_encoding, bad_name;
	int body;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (!key[0] || strpbrk(key, " \t"))
		f->bad_name++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		f->host++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		f->content_length++;
		if (!value || strcmp(value, "0") != 0)
			f->body = 1;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->transfer_encoding++;
		f->body = 1;
	}
	return MHD_YES;
}

/*
 * Refuses the framings a proxy in front could read differently from libmicrohttpd, which
 * takes the first of duplicate headers and ignores a name with a space ("Content-Length :
 * 5" is then no length, and the body a second request).  Answers to these close the
 * connection, so nothing left in the stream is ever read as a request.  Returns 0 or -1
 * with e filled.
 */
static int check_framing(const char *version, const struct framing *f, struct api_error *e)
{
	if (f->bad_name) {
		api_fail(e, 400, "bad_request", NULL, "a header name is empty or holds a space");
		return -1;
	}
	if (f->host > 1) {
		api_fail(e, 400, "bad_request", NULL, "more than one Host header");
		return -1;
	}
	if (f->host == 0 && strcmp(version, MHD_HTTP_VERSION_1_0) != 0) {
		api_fail(e, 400, "bad_request", NULL, "an HTTP/1.1 request needs a Host header");
		return -1;
	}
	if (f->content_length > 1 || f->transfer_encoding > 1 ||
	    (f->content_length && f->transfer_encoding)) {
		api_fail(e, 400, "bad_request", NULL,
			 "conflicting Content-Length or Transfer-Encoding headers");
		return -1;
	}
	return 0;
}

/* Expensive answers: the whole snapshot, or more sockets than LD_HTTP_HEAVY_ROWS. */
static int is_heavy(struct MHD_Connection *conn, const char *url)
{
	const char *limit;
	char *end;
	unsigned long v;

	if (strcmp(url, "/api/v1/snapshot") == 0)
		return 1;
	if (strcmp(url, "/api/v1/sockets") != 0)
		return 0;
	limit = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	if (!limit)
		return LD_SOCKETS_LIMIT_DEFAULT > LD_HTTP_HEAVY_ROWS;
	errno = 0;
	v = strtoul(limit, &end, 10);
	return errno || *end || v > LD_HTTP_HEAVY_ROWS;
}

/*
 * Fairness: /healthz, /metrics and the page's files always go through; /api/ answers take
 * one of LD_HTTP_API_INFLIGHT slots, expensive ones also one of LD_HTTP_HEAVY_INFLIGHT,
 * held until the answer has been sent (on_completed).  A worker building an answer serves
 * nothing else meanwhile, so this bounds both the CPU and the memory of answers in flight.
 */
static int take_slots(struct http *h, struct conn *c, struct MHD_Connection *conn, const char *url,
		      struct api_error *e)
{
	if (!c || strncmp(url, "/api/", 5) != 0)
		return 0;
	if (slot_take(&h->api_inflight, LD_HTTP_API_INFLIGHT) < 0)
		goto busy;
	c->api_slot = 1;
	if (is_heavy(conn, url)) {
		if (slot_take(&h->heavy_inflight, LD_HTTP_HEAVY_INFLIGHT) < 0)
			goto busy;
		c->heavy_slot = 1;
	}
	return 0;
busy:
	atomic_fetch_add(&h->refused_busy, 1);
	return api_fail(e, 503, "busy", NULL,
			"too many expensive requests at once; retry in " LD_HTTP_RETRY_AFTER_S
			" s");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct http *h = cls;
	struct api_response ar = { 0 };
	struct api_error e = { 0 };
	struct query q = { 0 };
	struct args_ctx a = { &q, &e, 0 };
	struct framing f = { 0 };
	struct conn *c = conn_of(conn);
	int close = 0;

	(void)upload_data;
	conn_busy(h, c);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &f);
	/*
	 * The first call only announces the headers; answering on the second keeps
	 * keep-alive working.  A request with a body is answered at once, so its body is
	 * never read, and the connection is closed after the answer.
	 */
	if (*req_cls == &marker_new && !f.body) {
		*req_cls = (void *)&marker_seen;
		return MHD_YES;
	}
	if (*upload_data_size)
		*upload_data_size = 0;
	close = f.body;
	if (*req_cls == &marker_raw_space) {
		api_fail(&e, 400, "bad_request", NULL, "the request line is malformed");
		close = 1;
		goto error;
	}
	if (check_framing(version, &f, &e) < 0) {
		close = 1;
		goto error;
	}
	/* Before anything else: a Host that is not ours is a rebinding attempt or a mistake. */
	if (!http_host_allowed(
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
		    h->acc)) {
		api_fail(&e, 421, "misdirected_request", NULL,
			 "this server does not answer for that Host; see --allow-host");
		goto error;
	}
	if (strcmp(url, "/healthz") != 0 && !assets_find(url) &&
	    !token_ok(h, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_AUTHORIZATION))) {
		api_fail(&e, 401, "unauthorized", NULL,
			 "send the token from --token-file as 'Authorization: Bearer TOKEN'");
		goto error;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
		/* Every path, CONNECT's "host:port" included: no method but GET and HEAD exists. */
		ar.allow = "GET, HEAD";
		api_fail(&e, 405, "method_not_allowed", NULL,
			 "%.16s is not allowed; use GET or HEAD", method);
		goto error;
	}
	if (*req_cls == &marker_raw_bad) {
		/* "%2e%2e", "%00", "%2f" and friends: no path of ours is spelled that way. */
		api_fail(&e, 404, "not_found", NULL, "no such endpoint");
		goto error;
	}
	if (strlen(url) > LD_MAX_URL_LEN) {
		api_fail(&e, 414, "uri_too_long", NULL, "the URL is longer than %d bytes",
			 LD_MAX_URL_LEN);
		goto error;
	}
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.failed)
		goto error;
	if (!f.body && take_slots(h, c, conn, url, &e) < 0)
		goto error;
	if (api_handle(h->ctx, method, url, &q, f.body, &ar) < 0)
		ar.body = NULL;
	return http_send(conn, &ar, close);
error : {
	const char *allow = ar.allow;

	if (api_error_response(&e, &ar) < 0)
		ar.body = NULL;
	ar.allow = allow;
}
	return http_send(conn, &ar, close);
}

/* Descriptors this process holds now (the database, netlink, namespace files, ...). */
static unsigned int fds_open(void)
{
	unsigned int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return 64; /* unknown: assume a busy process */
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Raises the soft fd limit towards its hard limit (1024 soft is the usual default, too few
 * for a thousand clients) and returns the connections that fit beside what the process
 * holds already plus a reserve for what sampling and the database open on the way (the
 * /proc walks, counter files, readers' WAL and -shm): connections never take the fds the
 * sampler needs, however low the limit.  A multiple of the worker count (libmicrohttpd
 * splits the limit evenly between them), at least one per worker.
 */
static unsigned int conn_limit(void)
{
	struct rlimit rl;
	rlim_t want, limit = LD_HTTP_CONN_LIMIT, reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return LD_HTTP_THREADS;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > LD_NOFILE_WANT ? LD_NOFILE_WANT
									    : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	reserve = fds_open() + (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 4 * LD_HTTP_FD_RESERVE
					? LD_HTTP_FD_RESERVE_MIN
					: LD_HTTP_FD_RESERVE);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < LD_HTTP_CONN_LIMIT + reserve)
		limit = rl.rlim_cur > reserve + LD_HTTP_THREADS ? rl.rlim_cur - reserve
								: LD_HTTP_THREADS;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < reserve + LD_HTTP_THREADS)
		log_info("the fd limit (%lu) leaves no room for HTTP beside sampling: serving %u "
			 "connections; raise it (ulimit -n, LimitNOFILE=)",
			 (unsigned long)rl.rlim_cur, LD_HTTP_THREADS);
	return (unsigned int)(limit - limit % LD_HTTP_THREADS);
}

int http_start(struct http **out, const struct sockaddr_storage *ss, socklen_t len,
	       const struct api_ctx *ctx, const struct http_access *acc)
{
	/*
	 * MHD_USE_ITC wakes the workers for MHD_stop_daemon.  MHD_quiesce_daemon is not used:
	 * on an epoll daemon with a thread pool it races a worker that takes the listening
	 * socket out of its own epoll set at its connection limit, and aborts the process;
	 * http_quiesce drains through our own connection tracking instead.
	 */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	struct http *h = calloc(1, sizeof(*h));
	unsigned int limit = conn_limit(), share;
	pthread_condattr_t ca;
	int fd, one = 1, err;

	if (!h)
		return -ENOMEM;
	h->ctx = ctx;
	h->acc = acc;
	pthread_rwlock_init(&h->token_lock, NULL);
	if (acc && acc->token && !(h->token = strdup(acc->token))) {
		pthread_rwlock_destroy(&h->token_lock);
		free(h);
		return -ENOMEM;
	}
	share = limit / LD_HTTP_THREADS;
	h->lane_soft = share -
		       (share / 4 < LD_HTTP_EVICT_MARGIN ? share / 4 : LD_HTTP_EVICT_MARGIN);
	for (unsigned int i = 0; i < LD_HTTP_THREADS; i++) {
		list_init(&h->lanes[i].idle);
		list_init(&h->lanes[i].busy);
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	/*
	 * Bind the socket ourselves so that a taken port is reported as EADDRINUSE, not as a
	 * silent daemon failure.  SO_REUSEADDR lets a restart bind at once while connections
	 * of the previous run sit in TIME_WAIT (the very case lingerd explains).
	 */
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, LD_HTTP_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		goto fail;
	}
	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * Not strict (STRICT_FOR_CLIENT 0): strict mode only adds refusals libmicrohttpd sends
	 * as HTML without our headers (no Host, a space in the URL); on_request and on_uri make
	 * the same checks and answer them in JSON.
	 */
	h->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)LD_HTTP_THREADS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LD_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)LD_HTTP_CONN_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, (int)0,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		err = -EIO;
		goto fail;
	}
	{
		struct sockaddr_storage bound;
		socklen_t blen = sizeof(bound);

		if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
			h->port = ntohs(bound.ss_family == AF_INET6
						? ((struct sockaddr_in6 *)&bound)->sin6_port
						: ((struct sockaddr_in *)&bound)->sin_port);
	}
	err = -pthread_create(&h->reaper, NULL, reaper_main, h);
	if (err < 0) {
		MHD_stop_daemon(h->daemon);
		goto fail;
	}
	h->reaper_started = 1;
	log_info("accepting up to %u connections (%u per worker before the oldest idle one is "
		 "closed)",
		 limit, h->lane_soft);
	*out = h;
	return 0;
fail:
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	if (h->token) {
		explicit_bzero(h->token, strlen(h->token));
		free(h->token);
	}
	pthread_rwlock_destroy(&h->token_lock);
	free(h);
	return err;
}

uint16_t http_port(const struct http *h)
{
	return h->port;
}

void http_quiesce(struct http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->draining = 1;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

/* Non-zero while any connection is open. */
static int any_open(struct http *h)
{
	int n = 0;

	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i < LD_HTTP_THREADS; i++)
		n += h->lanes[i].n != 0;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void http_stop(struct http *h)
{
	int64_t until;

	if (!h)
		return;
	if (h->draining) {
		/* Answers in flight finish; waiting and new connections are closed meanwhile. */
		until = now_ms() + LD_SHUTDOWN_GRACE_MS;
		while (any_open(h) && now_ms() < until) {
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (h->reaper_started) {
		pthread_mutex_lock(&h->lock);
		h->stopping = 1;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->reaper, NULL);
	}
	/* Closes what is left; its CLOSED callbacks free our records. */
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	if (h->token) {
		explicit_bzero(h->token, strlen(h->token));
		free(h->token);
	}
	pthread_rwlock_destroy(&h->token_lock);
	free(h);
}
