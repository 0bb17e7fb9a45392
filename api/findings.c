/* findings.c - /api/v1/findings: diagnoses of lingering sockets, each with evidence and a remedy. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "feed.h"
#include "groups.h"
#include "handlers.h"
#include "history.h"
#include "limits.h"
#include "params.h"
#include "view.h"

#define WINDOW_S 300.0     /* counter rates and growth over the last 5 minutes */
#define MIN_RATE_WINDOW_S 30.0

enum severity { SEV_CRITICAL, SEV_WARNING, SEV_INFO };
static const char *const sev_names[] = { "critical", "warning", "info" };

struct finding {
	int severity;
	char *json;
	size_t len;
};

struct findings {
	const struct api_ctx *ctx;
	const struct snap *s;
	double min_age;
	struct kstat then;  /* kernel counters WINDOW_S ago (or as far back as known) */
	double then_at;
	int have_then;
	struct finding *v;
	size_t n, cap;
	int err;
	struct netns_sel ns; /* which namespaces to diagnose */
	enum states_lang lang;
};

/*
 * What each finding says, in English and Korean (indexed by enum states_lang).  Titles are
 * printf formats with numbered arguments, so that a language can order them as it needs;
 * an argument a language leaves out (the English plural "s") always comes last.
 */
struct ftext {
	const char *title, *explanation, *remedy;
};

enum {
	FT_CLOSE_WAIT_LEAK, FT_CLOSE_WAIT_UNREAD, FT_FIN_WAIT2_HELD, FT_FIN_WAIT1_STUCK,
	FT_TIME_WAIT_PRESSURE, FT_TIME_WAIT_OVERFLOW, FT_ORPHANS, FT_LISTEN_OVERFLOWS,
	FT_RST_ON_CLOSE, FT_ACCEPT_QUEUE_FULL, FT_SYN_RECV_BUILDUP, FT_MAX
};

static const struct ftext ftexts[FT_MAX][2] = {
	[FT_CLOSE_WAIT_LEAK] = {
		{ "%1$s holds %2$u CLOSE_WAIT socket%3$s it never closed",
		  "The peer closed these connections (its FIN arrived) but the process never "
		  "called close() on its end. Nothing in the kernel ends CLOSE_WAIT: each socket "
		  "keeps a file descriptor and memory until the process closes it or exits, and "
		  "enough of them exhaust the process's descriptors.",
		  "Fix the code path that handles a read of 0 bytes (EOF) or an error: it must "
		  "close the socket. Check connection pools for connections returned after the "
		  "server closed them, and add idle timeouts. Restarting the process frees the "
		  "sockets now but not the bug." },
		{ "%1$s: 닫지 않은 CLOSE_WAIT 소켓 %2$u개",
		  "상대가 연결을 닫았지만(FIN 도착) 프로세스가 자기 쪽에서 close()를 호출하지 "
		  "않았습니다. 커널에는 CLOSE_WAIT를 끝내는 타이머가 없습니다. 소켓마다 프로세스가 "
		  "닫거나 끝날 때까지 파일 디스크립터와 메모리를 차지하고, 쌓이면 프로세스의 "
		  "디스크립터가 바닥납니다.",
		  "0바이트 읽기(EOF)나 오류를 처리하는 코드 경로에서 반드시 소켓을 닫으세요. 서버가 "
		  "이미 닫은 연결이 풀로 돌아오지 않는지 확인하고 유휴 타임아웃을 두세요. 프로세스를 "
		  "재시작하면 지금의 소켓은 풀리지만 버그는 그대로입니다." } },
	[FT_CLOSE_WAIT_UNREAD] = {
		{ "%1$s left %2$llu unread bytes in %3$u CLOSE_WAIT socket%4$s",
		  "Data the peer sent before closing was never read: the process stopped "
		  "reading the connection, not just closing it. When it finally calls close() "
		  "the kernel will answer with a RST (TCPAbortOnClose) and the peer may see an "
		  "error.",
		  "Find why the reader stalled (a blocked thread, a full queue, a forgotten "
		  "connection); read until EOF, then close." },
		{ "%1$s: CLOSE_WAIT 소켓 %3$u개에 읽지 않은 %2$llu바이트",
		  "상대가 닫기 전에 보낸 데이터를 아무도 읽지 않았습니다. 프로세스가 연결을 닫지 "
		  "않은 것을 넘어 읽기 자체를 멈췄습니다. 나중에 close()를 호출하면 커널은 FIN 대신 "
		  "RST를 보내고(TCPAbortOnClose) 상대는 오류를 볼 수 있습니다.",
		  "읽기가 멈춘 까닭(막힌 스레드, 가득 찬 큐, 잊힌 연결)을 찾으세요. EOF까지 읽은 뒤 "
		  "닫으세요." } },
	[FT_FIN_WAIT2_HELD] = {
		{ "%1$s waits in FIN_WAIT_2 on %2$u connection%3$s whose peer never closes",
		  "The process half-closed these connections with shutdown(SHUT_WR) and still "
		  "holds them; the peer acknowledged the FIN but never sent its own. "
		  "tcp_fin_timeout only bounds FIN_WAIT_2 for orphaned sockets, so these can "
		  "wait forever.",
		  "Put a timeout on waiting for the peer's EOF after shutdown() and close the "
		  "socket when it expires; look at why the peer application does not close "
		  "(it may itself be stuck in CLOSE_WAIT)." },
		{ "%1$s: 상대가 닫지 않는 연결 %2$u개가 FIN_WAIT_2에서 대기",
		  "프로세스가 shutdown(SHUT_WR)으로 연결을 반만 닫고 소켓은 계속 쥐고 있습니다. "
		  "상대는 우리 FIN에 ACK했지만 자기 FIN을 보내지 않았습니다. tcp_fin_timeout은 고아 "
		  "소켓의 FIN_WAIT_2만 제한하므로 이 소켓들은 끝없이 기다릴 수 있습니다.",
		  "shutdown() 뒤 상대의 EOF를 기다리는 시간에 제한을 두고, 만료되면 소켓을 닫으세요. "
		  "상대 애플리케이션이 왜 닫지 않는지도 보세요(그쪽이 CLOSE_WAIT에 걸려 있을 수 "
		  "있습니다)." } },
	[FT_FIN_WAIT1_STUCK] = {
		{ "%1$u connection%4$s to %2$s stuck in FIN_WAIT_1%3$s",
		  "Our FIN has not been acknowledged. When the timer is a zero-window probe the "
		  "peer's receive window is full: it stopped reading, so the data queued before "
		  "our FIN (and the FIN itself) cannot be delivered. Orphaned sockets here are "
		  "dropped after tcp_orphan_retries; held ones wait for the application.",
		  "Look at the peer: it is not reading. Lower net.ipv4.tcp_orphan_retries to "
		  "free orphans sooner; for held sockets, bound close() with a timeout or "
		  "SO_LINGER." },
		{ "%2$s 방향 연결 %1$u개가 FIN_WAIT_1에서 멈춤%3$s",
		  "우리가 보낸 FIN이 ACK되지 않았습니다. 타이머가 제로 윈도 프로브라면 상대의 수신 "
		  "윈도가 가득 찬 것입니다. 상대가 읽기를 멈춰 FIN 앞에 쌓인 데이터도, FIN 자체도 "
		  "전달할 수 없습니다. 여기 있는 고아 소켓은 tcp_orphan_retries 뒤에 버려지고, "
		  "프로세스가 쥔 소켓은 애플리케이션을 기다립니다.",
		  "상대를 보세요: 데이터를 읽지 않고 있습니다. 고아 소켓을 빨리 치우려면 "
		  "net.ipv4.tcp_orphan_retries를 낮추고, 프로세스가 쥔 소켓은 close()에 시간 제한을 "
		  "두거나 SO_LINGER를 쓰세요." } },
	[FT_TIME_WAIT_PRESSURE] = {
		{ "%1$.0f%% of the ephemeral ports from %2$s to %3$s:%4$u are taken (%5$u in TIME_WAIT)",
		  "Each outgoing connection to one destination (source IP, destination IP and "
		  "port) needs its own local port, and a port stays taken for 60 s in TIME_WAIT "
		  "after this side closes first. When the range runs out, connect() fails with "
		  "EADDRNOTAVAIL for this destination only: other destinations still work.",
		  "Reuse connections (keep-alive, pooling) instead of opening one per request; "
		  "let the server close first where the protocol allows; widen "
		  "net.ipv4.ip_local_port_range; enable net.ipv4.tcp_tw_reuse=1 for outgoing "
		  "connections; spread over more source addresses. Do not use SO_LINGER {1,0} "
		  "to dodge TIME_WAIT: it turns every close into a RST." },
		{ "%2$s → %3$s:%4$u: 임시 포트의 %1$.0f%% 사용 중 (TIME_WAIT %5$u개)",
		  "한 목적지(출발지 IP, 목적지 IP와 포트)로 나가는 연결마다 로컬 포트가 하나씩 "
		  "필요하고, 이쪽이 먼저 닫으면 그 포트는 TIME_WAIT로 60초 동안 묶입니다. 범위가 "
		  "바닥나면 이 목적지로 가는 connect()만 EADDRNOTAVAIL로 실패하고 다른 목적지는 "
		  "그대로 됩니다.",
		  "요청마다 연결을 새로 열지 말고 재사용하세요(keep-alive, 풀링). 프로토콜이 "
		  "허용하면 서버가 먼저 닫게 하세요. net.ipv4.ip_local_port_range를 넓히고, 나가는 "
		  "연결에는 net.ipv4.tcp_tw_reuse=1을 켜고, 출발지 주소를 늘려 나누세요. TIME_WAIT를 "
		  "피하려고 SO_LINGER {1,0}을 쓰지 마세요: 모든 close가 RST가 됩니다." } },
	[FT_TIME_WAIT_OVERFLOW] = {
		{ "TIME_WAIT sockets at %1$lld of tcp_max_tw_buckets %2$lld%3$s",
		  "Past tcp_max_tw_buckets the kernel closes connections without keeping "
		  "TIME_WAIT (TCPTimeWaitOverflow): late duplicate segments of an old connection "
		  "can then reach a new one that reuses the same ports.",
		  "Reduce the closing rate on this host (connection reuse) or raise "
		  "net.ipv4.tcp_max_tw_buckets; each TIME_WAIT socket costs well under 1 KiB." },
		{ "TIME_WAIT 소켓 %1$lld개, tcp_max_tw_buckets %2$lld%3$s",
		  "tcp_max_tw_buckets를 넘으면 커널은 TIME_WAIT 없이 연결을 닫습니다"
		  "(TCPTimeWaitOverflow). 그러면 옛 연결의 늦은 중복 세그먼트가 같은 포트를 다시 쓰는 "
		  "새 연결로 들어갈 수 있습니다.",
		  "이 호스트에서 연결을 닫는 빈도를 줄이거나(연결 재사용) "
		  "net.ipv4.tcp_max_tw_buckets를 올리세요. TIME_WAIT 소켓 하나는 1 KiB에 훨씬 못 "
		  "미칩니다." } },
	[FT_ORPHANS] = {
		{ "%1$lld orphaned sockets, %2$.0f%% of tcp_max_orphans",
		  "Orphans are connections closed by their process that the kernel is still "
		  "finishing (FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, CLOSING). Past tcp_max_orphans "
		  "the kernel resets new orphans at once (TCPAbortOnMemory) and logs 'too many "
		  "orphaned sockets'.",
		  "Find the peers that do not acknowledge (see FIN_WAIT_1 findings); lower "
		  "net.ipv4.tcp_orphan_retries and net.ipv4.tcp_fin_timeout; raise "
		  "tcp_max_orphans only with the memory to back it." },
		{ "고아 소켓 %1$lld개, tcp_max_orphans의 %2$.0f%%",
		  "고아 소켓은 프로세스가 이미 닫았지만 커널이 아직 마무리하는 연결입니다"
		  "(FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, CLOSING). tcp_max_orphans를 넘으면 커널은 새 "
		  "고아 소켓을 곧바로 리셋하고(TCPAbortOnMemory) 'too many orphaned sockets'를 "
		  "기록합니다.",
		  "ACK하지 않는 상대를 찾으세요(FIN_WAIT_1 진단 참고). net.ipv4.tcp_orphan_retries와 "
		  "net.ipv4.tcp_fin_timeout을 낮추세요. tcp_max_orphans는 받쳐 줄 메모리가 있을 때만 "
		  "올리세요." } },
	[FT_LISTEN_OVERFLOWS] = {
		{ "%1$llu accept-queue overflows and %2$llu dropped SYNs in %3$.0f s",
		  "A listener's accept queue was full: the application does not call accept() "
		  "fast enough, so new connections wait in SYN_RECV or are dropped and the "
		  "clients retry after a second or more.",
		  "Accept faster (more workers, no blocking work in the accept loop); raise the "
		  "listen() backlog and net.core.somaxconn together." },
		{ "%3$.0f초 동안 accept 큐 넘침 %1$llu번, 버려진 SYN %2$llu개",
		  "리스너의 accept 큐가 가득 찼습니다. 애플리케이션이 accept()를 충분히 빨리 "
		  "호출하지 않아 새 연결이 SYN_RECV에서 기다리거나 버려지고, 클라이언트는 1초 넘게 "
		  "지나 다시 시도합니다.",
		  "더 빨리 accept하세요(작업자를 늘리고 accept 루프에서 막히는 일을 하지 마세요). "
		  "listen() backlog와 net.core.somaxconn을 함께 올리세요." } },
	[FT_RST_ON_CLOSE] = {
		{ "%1$.1f connections a minute end with a RST on close",
		  "TCPAbortOnClose counts close() with unread data; TCPAbortOnData counts "
		  "data arriving after close() and SO_LINGER {1,0}. Either way the peer gets a "
		  "RST instead of a FIN and may lose data it sent or see ECONNRESET.",
		  "Read the connection to EOF before close(); use SO_LINGER {1,0} only where an "
		  "abort is really meant, not to avoid TIME_WAIT." },
		{ "분당 연결 %1$.1f개가 close 때 RST로 끝남",
		  "TCPAbortOnClose는 읽지 않은 데이터를 남긴 close()를, TCPAbortOnData는 close() "
		  "뒤에 도착한 데이터와 SO_LINGER {1,0}을 셉니다. 어느 쪽이든 상대는 FIN 대신 RST를 "
		  "받아 보낸 데이터를 잃거나 ECONNRESET을 봅니다.",
		  "close() 전에 연결을 EOF까지 읽으세요. SO_LINGER {1,0}은 정말 중단하려는 곳에만 "
		  "쓰고, TIME_WAIT를 피하는 데 쓰지 마세요." } },
	[FT_ACCEPT_QUEUE_FULL] = {
		{ "the accept queue of port %1$u is full (%2$u of %3$u)%4$s",
		  "Connections completed the handshake but the application has not accepted "
		  "them; further SYNs are dropped (ListenOverflows) and clients hang in "
		  "SYN_SENT or time out.",
		  "Make the application accept faster, or raise its listen() backlog and "
		  "net.core.somaxconn." },
		{ "포트 %1$u의 accept 큐가 가득 참 (%3$u 중 %2$u)%4$s",
		  "핸드셰이크를 마친 연결을 애플리케이션이 accept하지 않고 있습니다. 이후의 SYN은 "
		  "버려지고(ListenOverflows) 클라이언트는 SYN_SENT에 멈추거나 시간이 초과됩니다.",
		  "애플리케이션이 더 빨리 accept하게 하거나, listen() backlog와 net.core.somaxconn을 "
		  "올리세요." } },
	[FT_SYN_RECV_BUILDUP] = {
		{ "%1$u half-open connections (SYN_RECV) on port %2$s",
		  "Many handshakes are unfinished: clients that vanish after their SYN, a SYN "
		  "flood, or a listener using TCP_DEFER_ACCEPT waiting for first data.",
		  "Keep net.ipv4.tcp_syncookies=1; check the clients' path; raise "
		  "tcp_max_syn_backlog if the load is legitimate." },
		{ "포트 %2$s에 반쯤 열린 연결(SYN_RECV) %1$u개",
		  "끝나지 않은 핸드셰이크가 많습니다. SYN만 보내고 사라진 클라이언트, SYN 플러드, "
		  "또는 첫 데이터를 기다리는 TCP_DEFER_ACCEPT 리스너일 수 있습니다.",
		  "net.ipv4.tcp_syncookies=1을 유지하고 클라이언트 쪽 경로를 확인하세요. 정상적인 "
		  "부하라면 tcp_max_syn_backlog를 올리세요." } },
};

/* Short phrases inside titles and subjects. */
static const char *const zero_window_text[2] = { " behind a zero window", " (제로 윈도)" };
static const char *const tw_overflow_text[2] = { "; connections are closing without TIME_WAIT",
						 "; 연결이 TIME_WAIT 없이 닫히는 중" };
static const char *const in_process_fmt[2] = { " in %s", " (%s)" };
static const char *const uid_process_fmt[2] = { "a process of uid %u", "uid %u의 프로세스" };
static const char *const unknown_note[2] = {
	"process unknown: lingerd may not read other users' /proc/PID/fd",
	"프로세스를 모름: lingerd가 다른 사용자의 /proc/PID/fd를 읽지 못할 수 있습니다",
};

/* Starts a finding in its own writer; finding_end() files it. */
static void finding_begin(struct jw *w, const char *id, int sev, const char *title)
{
	jw_init(w, 64 * 1024);
	jw_obj(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "severity", sev_names[sev]);
	jw_kstr(w, "title", title);
}

static void finding_end(struct findings *f, struct jw *w, int sev, int text)
{
	struct finding *x;

	jw_kstr(w, "explanation", ftexts[text][f->lang].explanation);
	jw_kstr(w, "remedy", ftexts[text][f->lang].remedy);
	jw_obj_end(w);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct finding *v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			f->err = -ENOMEM;
			jw_free(w);
			return;
		}
		f->v = v;
		f->cap = cap;
	}
	x = &f->v[f->n];
	x->severity = sev;
	if (jw_finish(w, &x->json, &x->len) < 0) {
		f->err = -ENOMEM;
		return;
	}
	f->n++;
}

static const struct snap_proc *proc_of(const struct snap *s, const struct snap_sock *x)
{
	return x->proc ? &s->procs[x->proc - 1] : NULL;
}

static void write_subject_process(struct jw *w, const struct findings *f, const struct group *g)
{
	const struct snap_proc *p = proc_of(f->s, g->sample);

	jw_key(w, "subject");
	jw_obj(w);
	if (p) {
		jw_kint(w, "pid", p->pid);
		jw_kstr(w, "comm", p->comm);
		jw_kstr(w, "cmdline", p->cmdline);
		jw_kuint(w, "uid", p->uid);
	} else {
		jw_knull(w, "pid");
		jw_kuint(w, "uid", g->sample->r.uid);
		jw_kstr(w, "note", unknown_note[f->lang]);
	}
	jw_obj_end(w);
}

static void write_example(struct jw *w, const struct snap_sock *x)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], buf[2 * INET6_ADDRSTRLEN + 32];

	inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
	inet_ntop(x->r.family, x->r.raddr, r, sizeof(r));
	snprintf(buf, sizeof(buf), x->r.family == AF_INET6 ? "[%s]:%u -> [%s]:%u" : "%s:%u -> %s:%u",
		 l, x->r.lport, r, x->r.rport);
	jw_kstr(w, "example", buf);
}

static void process_label(const struct findings *f, const struct group *g, char *buf, size_t len)
{
	const struct snap_proc *p = proc_of(f->s, g->sample);

	if (p)
		snprintf(buf, len, "%s (pid %d)", p->comm, p->pid);
	else
		snprintf(buf, len, uid_process_fmt[f->lang], g->sample->r.uid);
}

/* Groups the process-held sockets of one state, at least min_age old, by owner. */
static int by_process(struct findings *f, int state, int (*extra)(const struct snap_sock *),
		      struct groups *g)
{
	const struct snap *s = f->s;
	char key[64];

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		const struct snap_proc *p = proc_of(s, x);
		struct group *gr;

		if (x->r.state != state || !x->r.inode || s->taken_at - x->state_since < f->min_age ||
		    (extra && !extra(x)) || !api_netns_match(&f->ns, x->r.netns))
			continue;
		if (p)
			snprintf(key, sizeof(key), "%d", p->pid);
		else
			snprintf(key, sizeof(key), "uid:%u", x->r.uid);
		gr = groups_get(g, key);
		if (!gr)
			return -ENOMEM;
		group_add(gr, x, s->taken_at - WINDOW_S, 0);
	}
	groups_sort(g);
	return 0;
}

static int unread(const struct snap_sock *x)
{
	return x->r.rqueue > 1;
}

/*
 * The findings about processes holding sockets of one state: each is one title, its
 * evidence (count, oldest age, an example, and what the rule adds) and a fixed text.
 */
struct proc_rule {
	const char *id;
	int state;
	int (*extra)(const struct snap_sock *); /* only sockets it accepts, when set */
	int growth;                              /* severity and evidence follow growth */
	int text; /* FT_*: title arguments who, count, "s" (unread: who, bytes, count, "s") */
};

static const struct proc_rule proc_rules[] = {
	{ "close_wait_leak", SOCK_CLOSE_WAIT, NULL, 1, FT_CLOSE_WAIT_LEAK },
	{ "close_wait_unread", SOCK_CLOSE_WAIT, unread, 0, FT_CLOSE_WAIT_UNREAD },
	{ "fin_wait2_held", SOCK_FIN_WAIT2, NULL, 0, FT_FIN_WAIT2_HELD },
};

static void process_findings(struct findings *f, const struct proc_rule *r)
{
	const struct snap *s = f->s;
	struct groups g = { 0 };
	char id[160], title[320], who[96];
	struct jw w;

	if (by_process(f, r->state, r->extra, &g) < 0) {
		f->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		const struct snap_proc *p = proc_of(s, gr->sample);
		const char *plural = gr->total == 1 ? "" : "s";
		double age = s->taken_at - gr->oldest_since, growth = NAN;
		int sev = SEV_WARNING;

		if (r->growth) {
			if (p)
				growth = groups_growth(feed_history(f->ctx->feed), GROUP_PROCESS,
						       p->comm, 1u << r->state, gr->total, s->taken_at,
						       WINDOW_S);
			if (gr->total >= 50 || age >= 3600 || growth > 0)
				sev = SEV_CRITICAL;
		}
		process_label(f, gr, who, sizeof(who));
		snprintf(id, sizeof(id), "%s/%s", r->id, gr->key);
		if (r->extra == unread)
			snprintf(title, sizeof(title), ftexts[r->text][f->lang].title, who,
				 (unsigned long long)gr->unread, gr->total, plural);
		else
			snprintf(title, sizeof(title), ftexts[r->text][f->lang].title, who, gr->total,
				 plural);
		finding_begin(&w, id, sev, title);
		write_subject_process(&w, f, gr);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "count", gr->total);
		jw_kdouble(&w, "oldest_age_s", age, 3);
		if (r->growth)
			jw_kdouble(&w, "growth_per_min", growth, 3);
		if (r->state == SOCK_CLOSE_WAIT)
			jw_kuint(&w, "unread_bytes", gr->unread);
		jw_kdouble(&w, "min_age_s", f->min_age, 3);
		write_example(&w, gr->sample);
		jw_obj_end(&w);
		finding_end(f, &w, sev, r->text);
	}
	groups_free(&g);
}

static void fin_wait1_stuck(struct findings *f)
{
	const struct snap *s = f->s;
	struct groups g = { 0 };
	char id[160], title[320], key[64];
	struct jw w;

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct group *gr;

		if (x->r.state != SOCK_FIN_WAIT1 || s->taken_at - x->state_since < f->min_age ||
		    !api_netns_match(&f->ns, x->r.netns))
			continue;
		inet_ntop(x->r.family, x->r.raddr, key, sizeof(key));
		gr = groups_get(&g, key);
		if (!gr) {
			f->err = -ENOMEM;
			goto out;
		}
		group_add(gr, x, s->taken_at - WINDOW_S, 0);
	}
	groups_sort(&g);
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		int sev = gr->zero_window ? SEV_WARNING : SEV_INFO;

		snprintf(id, sizeof(id), "fin_wait1_stuck/%s", gr->key);
		snprintf(title, sizeof(title), ftexts[FT_FIN_WAIT1_STUCK][f->lang].title, gr->total,
			 gr->key, gr->zero_window ? zero_window_text[f->lang] : "",
			 gr->total == 1 ? "" : "s");
		finding_begin(&w, id, sev, title);
		jw_key(&w, "subject");
		jw_obj(&w);
		jw_kstr(&w, "remote", gr->key);
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "count", gr->total);
		jw_kuint(&w, "zero_window_probing", gr->zero_window);
		jw_kuint(&w, "orphans", gr->orphans);
		jw_kdouble(&w, "oldest_age_s", s->taken_at - gr->oldest_since, 3);
		write_example(&w, gr->sample);
		jw_obj_end(&w);
		finding_end(f, &w, sev, FT_FIN_WAIT1_STUCK);
	}
out:
	groups_free(&g);
}

/* The namespace of a kernel-wide finding, in its id and subject (lingerd's own: nothing). */
static void ns_id(const struct findings *f, char *id, size_t len, const char *base, uint64_t ns,
		  const char *rest)
{
	if (ns)
		snprintf(id, len, "%s/%s%s%s", base, api_netns_name(f->s, ns), rest ? "/" : "",
			 rest ? rest : "");
	else
		snprintf(id, len, "%s%s%s", base, rest ? "/" : "", rest ? rest : "");
}

static void subject_begin(const struct findings *f, struct jw *w, uint64_t ns)
{
	jw_key(w, "subject");
	jw_obj(w);
	if (ns)
		jw_kstr(w, "netns", api_netns_name(f->s, ns));
}

/*
 * TIME_WAIT and other sockets that hold an ephemeral port towards one destination, in
 * namespace ns against that namespace's port range (k).
 */
static void time_wait_pressure(struct findings *f, uint64_t ns, const struct kstat *k)
{
	const struct snap *s = f->s;
	struct groups g = { 0 };
	int64_t lo, hi, range;
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], key[112], id[160], title[320];
	struct jw w;

	if (!k->have_setting[KSTAT_PORT_RANGE_LOW] || !k->have_setting[KSTAT_PORT_RANGE_HIGH])
		return;
	lo = k->setting[KSTAT_PORT_RANGE_LOW];
	hi = k->setting[KSTAT_PORT_RANGE_HIGH];
	range = hi - lo + 1;
	if (range <= 0)
		return;
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct group *gr;

		if (x->r.lport < lo || x->r.lport > hi || x->r.state == SOCK_LISTEN || !x->r.rport ||
		    x->r.netns != ns)
			continue;
		inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
		inet_ntop(x->r.family, x->r.raddr, r, sizeof(r));
		snprintf(key, sizeof(key), "%s>%s:%u", l, r, x->r.rport);
		gr = groups_get(&g, key);
		if (!gr) {
			f->err = -ENOMEM;
			goto out;
		}
		group_add(gr, x, s->taken_at - WINDOW_S, 0);
	}
	groups_sort(&g);
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		const struct snap_sock *x = gr->sample;
		double ratio = (double)gr->total / (double)range;
		int reuse = k->have_setting[KSTAT_TW_REUSE] ? (int)k->setting[KSTAT_TW_REUSE] : 0;
		int sev;

		if (ratio < 0.5 || !gr->counts[SOCK_TIME_WAIT])
			continue;
		sev = ratio >= 0.8 ? SEV_CRITICAL : SEV_WARNING;
		inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
		inet_ntop(x->r.family, x->r.raddr, r, sizeof(r));
		ns_id(f, id, sizeof(id), "time_wait_pressure", ns, gr->key);
		snprintf(title, sizeof(title), ftexts[FT_TIME_WAIT_PRESSURE][f->lang].title,
			 ratio * 100, l, r, x->r.rport, gr->counts[SOCK_TIME_WAIT]);
		finding_begin(&w, id, sev, title);
		subject_begin(f, &w, ns);
		jw_kstr(&w, "source", l);
		jw_kstr(&w, "destination", r);
		jw_kuint(&w, "destination_port", x->r.rport);
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "time_wait", gr->counts[SOCK_TIME_WAIT]);
		jw_kuint(&w, "ports_in_use", gr->total);
		jw_key(&w, "port_range");
		jw_arr(&w);
		jw_int(&w, lo);
		jw_int(&w, hi);
		jw_arr_end(&w);
		jw_kint(&w, "ports_available", range);
		jw_kdouble(&w, "ratio", ratio, 4);
		jw_kint(&w, "tcp_tw_reuse", reuse);
		jw_kdouble(&w, "arrivals_per_min", gr->arrivals / (WINDOW_S / 60.0), 3);
		jw_obj_end(&w);
		finding_end(f, &w, sev, FT_TIME_WAIT_PRESSURE);
	}
out:
	groups_free(&g);
}

/*
 * Counter increase per minute over the window, or NaN when no earlier reading is known (the
 * history of counters is kept for lingerd's own namespace only: ns 0).
 */
static double rate(const struct findings *f, uint64_t ns, const struct kstat *k, int counter,
		   uint64_t *delta)
{
	double dt = f->s->taken_at - f->then_at;

	*delta = 0;
	if (ns || !f->have_then || dt < MIN_RATE_WINDOW_S || !k->have_counter[counter] ||
	    !f->then.have_counter[counter] || k->counter[counter] < f->then.counter[counter])
		return NAN;
	*delta = k->counter[counter] - f->then.counter[counter];
	return (double)*delta / (dt / 60.0);
}

/* Findings on the kernel counters and sysctls k of namespace ns. */
static void kernel_findings(struct findings *f, uint64_t ns, const struct kstat *k)
{
	char title[320], id[160];
	uint64_t d1, d2;
	double r1, r2;
	struct jw w;

	/* TIME_WAIT bucket overflow. */
	r1 = rate(f, ns, k, KSTAT_TIME_WAIT_OVERFLOW, &d1);
	if (d1 > 0 || (k->have_gauge[KSTAT_SOCK_TW] && k->have_setting[KSTAT_MAX_TW_BUCKETS] &&
		       k->gauge[KSTAT_SOCK_TW] >= 0.8 * (double)k->setting[KSTAT_MAX_TW_BUCKETS])) {
		int sev = d1 > 0 ? SEV_CRITICAL : SEV_WARNING;

		snprintf(title, sizeof(title), ftexts[FT_TIME_WAIT_OVERFLOW][f->lang].title,
			 (long long)k->gauge[KSTAT_SOCK_TW], (long long)k->setting[KSTAT_MAX_TW_BUCKETS],
			 d1 > 0 ? tw_overflow_text[f->lang] : "");
		ns_id(f, id, sizeof(id), "time_wait_overflow", ns, NULL);
		finding_begin(&w, id, sev, title);
		subject_begin(f, &w, ns);
		jw_kstr(&w, "setting", "net.ipv4.tcp_max_tw_buckets");
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kint(&w, "time_wait", k->gauge[KSTAT_SOCK_TW]);
		jw_kint(&w, "tcp_max_tw_buckets", k->setting[KSTAT_MAX_TW_BUCKETS]);
		jw_kuint(&w, "overflows_in_window", d1);
		jw_kdouble(&w, "overflows_per_min", r1, 3);
		jw_obj_end(&w);
		finding_end(f, &w, sev, FT_TIME_WAIT_OVERFLOW);
	}
	/* Orphans near their limit. */
	r1 = rate(f, ns, k, KSTAT_ABORT_ON_MEMORY, &d1);
	if (k->have_gauge[KSTAT_SOCK_ORPHAN] && k->have_setting[KSTAT_MAX_ORPHANS] &&
	    k->setting[KSTAT_MAX_ORPHANS] > 0 &&
	    (d1 > 0 || k->gauge[KSTAT_SOCK_ORPHAN] >= 0.5 * (double)k->setting[KSTAT_MAX_ORPHANS])) {
		double ratio = (double)k->gauge[KSTAT_SOCK_ORPHAN] / (double)k->setting[KSTAT_MAX_ORPHANS];
		int sev = d1 > 0 || ratio >= 0.8 ? SEV_CRITICAL : SEV_WARNING;

		snprintf(title, sizeof(title), ftexts[FT_ORPHANS][f->lang].title,
			 (long long)k->gauge[KSTAT_SOCK_ORPHAN], ratio * 100);
		ns_id(f, id, sizeof(id), "orphans_near_limit", ns, NULL);
		finding_begin(&w, id, sev, title);
		subject_begin(f, &w, ns);
		jw_kstr(&w, "setting", "net.ipv4.tcp_max_orphans");
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kint(&w, "orphans", k->gauge[KSTAT_SOCK_ORPHAN]);
		jw_kint(&w, "tcp_max_orphans", k->setting[KSTAT_MAX_ORPHANS]);
		jw_kdouble(&w, "ratio", ratio, 4);
		jw_kuint(&w, "abort_on_memory_in_window", d1);
		jw_obj_end(&w);
		finding_end(f, &w, sev, FT_ORPHANS);
	}
	/* Accept queue overflows. */
	r1 = rate(f, ns, k, KSTAT_LISTEN_OVERFLOWS, &d1);
	r2 = rate(f, ns, k, KSTAT_LISTEN_DROPS, &d2);
	if (d1 > 0 || d2 > 0) {
		snprintf(title, sizeof(title), ftexts[FT_LISTEN_OVERFLOWS][f->lang].title,
			 (unsigned long long)d1, (unsigned long long)d2, f->s->taken_at - f->then_at);
		ns_id(f, id, sizeof(id), "listen_overflows", ns, NULL);
		finding_begin(&w, id, SEV_WARNING, title);
		subject_begin(f, &w, ns);
		jw_kstr(&w, "counter", "ListenOverflows");
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kdouble(&w, "listen_overflows_per_min", r1, 3);
		jw_kdouble(&w, "listen_drops_per_min", r2, 3);
		jw_obj_end(&w);
		finding_end(f, &w, SEV_WARNING, FT_LISTEN_OVERFLOWS);
	}
	/* RST on close. */
	r1 = rate(f, ns, k, KSTAT_ABORT_ON_CLOSE, &d1);
	r2 = rate(f, ns, k, KSTAT_ABORT_ON_DATA, &d2);
	if (d1 + d2 > 0) {
		double per_min = (isnan(r1) ? 0 : r1) + (isnan(r2) ? 0 : r2);
		int sev = per_min >= 60 ? SEV_WARNING : SEV_INFO;

		snprintf(title, sizeof(title), ftexts[FT_RST_ON_CLOSE][f->lang].title, per_min);
		ns_id(f, id, sizeof(id), "rst_on_close", ns, NULL);
		finding_begin(&w, id, sev, title);
		subject_begin(f, &w, ns);
		jw_kstr(&w, "counter", "TCPAbortOnClose+TCPAbortOnData");
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "abort_on_close", d1);
		jw_kuint(&w, "abort_on_data", d2);
		jw_kdouble(&w, "per_min", per_min, 3);
		jw_kdouble(&w, "window_s", f->s->taken_at - f->then_at, 3);
		jw_obj_end(&w);
		finding_end(f, &w, sev, FT_RST_ON_CLOSE);
	}
}

/* Listeners whose accept queue is full right now, and SYN_RECV build-ups. */
static void listeners(struct findings *f)
{
	const struct snap *s = f->s;
	char id[160], title[320], key[64], in_proc[64];
	struct groups syn = { 0 };
	struct jw w;
	int64_t backlog = s->kstat.have_setting[KSTAT_MAX_SYN_BACKLOG]
				  ? s->kstat.setting[KSTAT_MAX_SYN_BACKLOG]
				  : 1024;

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		const struct snap_proc *p = proc_of(s, x);

		if (!api_netns_match(&f->ns, x->r.netns))
			continue;
		if (x->r.state == SOCK_SYN_RECV) {
			struct group *gr;

			snprintf(key, sizeof(key), "%u", x->r.lport);
			gr = groups_get(&syn, key);
			if (!gr) {
				f->err = -ENOMEM;
				goto out;
			}
			group_add(gr, x, s->taken_at - WINDOW_S, 0);
			continue;
		}
		if (x->r.state != SOCK_LISTEN || !x->r.wqueue || x->r.rqueue < x->r.wqueue)
			continue;
		snprintf(id, sizeof(id), "accept_queue_full/%u/%llu", x->r.lport,
			 (unsigned long long)x->r.inode);
		in_proc[0] = '\0';
		if (p)
			snprintf(in_proc, sizeof(in_proc), in_process_fmt[f->lang], p->comm);
		snprintf(title, sizeof(title), ftexts[FT_ACCEPT_QUEUE_FULL][f->lang].title, x->r.lport,
			 x->r.rqueue, x->r.wqueue, in_proc);
		finding_begin(&w, id, SEV_CRITICAL, title);
		jw_key(&w, "subject");
		jw_obj(&w);
		jw_kuint(&w, "local_port", x->r.lport);
		if (p) {
			jw_kint(&w, "pid", p->pid);
			jw_kstr(&w, "comm", p->comm);
		}
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "queued", x->r.rqueue);
		jw_kuint(&w, "backlog", x->r.wqueue);
		jw_obj_end(&w);
		finding_end(f, &w, SEV_CRITICAL, FT_ACCEPT_QUEUE_FULL);
	}
	groups_sort(&syn);
	for (size_t i = 0; i < syn.n; i++) {
		const struct group *gr = &syn.v[i];

		if (gr->total < 64 && gr->total < backlog / 4)
			continue;
		snprintf(id, sizeof(id), "syn_recv_buildup/%s", gr->key);
		snprintf(title, sizeof(title), ftexts[FT_SYN_RECV_BUILDUP][f->lang].title, gr->total,
			 gr->key);
		finding_begin(&w, id, SEV_WARNING, title);
		jw_key(&w, "subject");
		jw_obj(&w);
		jw_kuint(&w, "local_port", gr->sample->r.lport);
		jw_obj_end(&w);
		jw_key(&w, "evidence");
		jw_obj(&w);
		jw_kuint(&w, "count", gr->total);
		jw_kint(&w, "tcp_max_syn_backlog", backlog);
		jw_obj_end(&w);
		finding_end(f, &w, SEV_WARNING, FT_SYN_RECV_BUILDUP);
	}
out:
	groups_free(&syn);
}

static int finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	return x->severity - y->severity;
}

int api_h_findings(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e)
{
	struct findings f = { .ctx = ctx, .min_age = 60 };
	const char *ns_param;
	struct snap *s;
	int counts[3] = { 0 };

	(void)arg;
	if (query_double(q, "min_age", 0, LD_MIN_AGE_MAX, &f.min_age, e) < 0)
		return -EINVAL;
	ns_param = query_get(q, "netns");
	if (api_lang_param(q, &f.lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	if (api_netns_resolve(ns_param, s, &f.ns, e) < 0) {
		snap_put(s);
		return -EINVAL;
	}
	f.s = s;
	if (history_kstat_at(feed_history(ctx->feed), s->taken_at - WINDOW_S, &f.then,
			     &f.then_at) == 0 ||
	    history_kstat_at(feed_history(ctx->feed), s->taken_at, &f.then, &f.then_at) == 0)
		f.have_then = 1;
	for (size_t i = 0; i < sizeof(proc_rules) / sizeof(proc_rules[0]); i++)
		process_findings(&f, &proc_rules[i]);
	fin_wait1_stuck(&f);
	listeners(&f);
	/* Kernel counters and the port range are each namespace's own. */
	if (f.ns.all || !f.ns.id) {
		time_wait_pressure(&f, 0, &s->kstat);
		kernel_findings(&f, 0, &s->kstat);
	}
	for (size_t i = 0; i < s->n_netns; i++) {
		const struct snap_netns *n = &s->netns[i];

		if (!api_netns_match(&f.ns, n->id) || !n->have_kstat)
			continue;
		time_wait_pressure(&f, n->id, &n->kstat);
		kernel_findings(&f, n->id, &n->kstat);
	}
	/* qsort is not stable; equal severities keep their rule order through the index. */
	for (size_t i = 0; i < f.n; i++)
		f.v[i].severity = f.v[i].severity * 100000 + (int)i;
	if (f.n)
		qsort(f.v, f.n, sizeof(f.v[0]), finding_cmp);
	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kdouble(w, "min_age", f.min_age, 3);
	jw_kstr(w, "lang", f.lang == STATES_LANG_KO ? "ko" : "en");
	for (size_t i = 0; i < f.n; i++)
		counts[f.v[i].severity / 100000]++;
	jw_key(w, "summary");
	jw_obj(w);
	for (int i = 0; i < 3; i++)
		jw_kint(w, sev_names[i], counts[i]);
	jw_obj_end(w);
	jw_key(w, "findings");
	jw_arr(w);
	for (size_t i = 0; i < f.n; i++)
		jw_raw(w, f.v[i].json, f.v[i].len);
	jw_arr_end(w);
	jw_obj_end(w);
	for (size_t i = 0; i < f.n; i++)
		free(f.v[i].json);
	free(f.v);
	snap_put(s);
	return f.err;
}
