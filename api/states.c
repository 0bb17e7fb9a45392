/* states.c - what each TCP state means, as cJSON: facts here, prose in text/states_*.inc. */
#include "states.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "limits.h"
#include "sock.h"
#include "util.h"

/* A NULL-terminated list of names that are never translated (sysctls, counters, states). */
#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define LANG_COUNT 2

static const char *const no_names[] = { NULL };

/* Which side of a connection reaches a state; the codes go out untranslated. */
enum role {
	ROLE_ACTIVE_CLOSER,
	ROLE_PASSIVE_CLOSER,
	ROLE_BOTH,
	ROLE_LISTENER,
	ROLE_CONNECTOR,
	ROLE_MAX,
};

static const char *const role_codes[ROLE_MAX] = {
	[ROLE_ACTIVE_CLOSER] = "active_closer",
	[ROLE_PASSIVE_CLOSER] = "passive_closer",
	[ROLE_BOTH] = "both",
	[ROLE_LISTENER] = "listener",
	[ROLE_CONNECTOR] = "connector",
};

/* The localized explanation of one state; every field is plain text. */
struct state_text {
	const char *title;
	const char *meaning;
	const char *enters_on;
	const char *leaves_on;
	const char *duration_bound;
	const char *problem_when;
	const char *remedy;
	const char *kernel;
};

struct state_info {
	enum role reached_by;
	const char *bounded; /* "yes", "no" or "orphan_only": untranslated code */
	int max_seconds;     /* > 0 only where Linux fixes the duration */
	const char *const *settings;
	const char *const *counters;
	const char *const *next;
};

static const struct state_info state_table[SOCK_STATE_MAX] = {
	[SOCK_CLOSE] = {
		.reached_by = ROLE_BOTH,
		.bounded = "no",
		.settings = no_names,
		.counters = NAMES("EstabResets", "AttemptFails", "OutRsts", "TCPAbortOnTimeout"),
		.next = NAMES("LISTEN", "SYN_SENT"),
	},
	[SOCK_LISTEN] = {
		.reached_by = ROLE_LISTENER,
		.bounded = "no",
		.settings = NAMES("net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog",
				  "net.ipv4.tcp_syncookies", "net.ipv4.tcp_abort_on_overflow"),
		.counters = NAMES("ListenOverflows", "ListenDrops", "PassiveOpens",
				  "TCPReqQFullDrop", "TCPReqQFullDoCookies", "SyncookiesSent"),
		.next = NAMES("SYN_RECV", "CLOSED"),
	},
	[SOCK_SYN_SENT] = {
		.reached_by = ROLE_CONNECTOR,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_syn_retries", "net.ipv4.ip_local_port_range",
				  "net.ipv4.tcp_tw_reuse"),
		.counters = NAMES("ActiveOpens", "AttemptFails", "TCPSynRetrans", "TCPTimeouts"),
		.next = NAMES("ESTABLISHED", "SYN_RECV", "CLOSED"),
	},
	[SOCK_SYN_RECV] = {
		.reached_by = ROLE_LISTENER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_synack_retries", "net.ipv4.tcp_max_syn_backlog",
				  "net.ipv4.tcp_syncookies", "net.core.somaxconn"),
		.counters = NAMES("PassiveOpens", "AttemptFails", "TCPSynRetrans", "ListenOverflows",
				  "ListenDrops", "TCPReqQFullDrop", "TCPReqQFullDoCookies",
				  "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed"),
		.next = NAMES("ESTABLISHED", "FIN_WAIT_1", "CLOSED"),
	},
	[SOCK_ESTABLISHED] = {
		.reached_by = ROLE_BOTH,
		.bounded = "no",
		.settings = NAMES("net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
				  "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries2"),
		.counters = NAMES("CurrEstab", "EstabResets", "OutRsts", "TCPAbortOnTimeout",
				  "TCPAbortOnClose", "TCPKeepAlive", "TCPTimeouts"),
		.next = NAMES("FIN_WAIT_1", "CLOSE_WAIT", "CLOSED"),
	},
	[SOCK_FIN_WAIT1] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_orphans",
				  "net.ipv4.tcp_retries2"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory", "TCPAbortOnData"),
		.next = NAMES("FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSED"),
	},
	[SOCK_FIN_WAIT2] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "orphan_only",
		.settings = NAMES("net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_max_tw_buckets"),
		.counters = NAMES("TCPAbortOnLinger", "TCPAbortOnData", "TCPTimeWaitOverflow"),
		.next = NAMES("TIME_WAIT", "CLOSED"),
	},
	[SOCK_CLOSING] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_retries2",
				  "net.ipv4.tcp_max_orphans"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory"),
		.next = NAMES("TIME_WAIT", "CLOSED"),
	},
	[SOCK_TIME_WAIT] = {
		.reached_by = ROLE_ACTIVE_CLOSER,
		.bounded = "yes",
		.max_seconds = LD_TIME_WAIT_S,
		.settings = NAMES("net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_tw_reuse",
				  "net.ipv4.ip_local_port_range"),
		.counters = NAMES("TW", "TWKilled", "TWRecycled", "TCPTimeWaitOverflow",
				  "TCPAbortOnData"),
		.next = NAMES("CLOSED"),
	},
	[SOCK_CLOSE_WAIT] = {
		.reached_by = ROLE_PASSIVE_CLOSER,
		.bounded = "no",
		.settings = no_names,
		.counters = NAMES("TCPAbortOnClose", "EstabResets"),
		.next = NAMES("LAST_ACK", "CLOSED"),
	},
	[SOCK_LAST_ACK] = {
		.reached_by = ROLE_PASSIVE_CLOSER,
		.bounded = "yes",
		.settings = NAMES("net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_orphans",
				  "net.ipv4.tcp_retries2"),
		.counters = NAMES("TCPAbortOnTimeout", "TCPAbortOnMemory"),
		.next = NAMES("CLOSED"),
	},
};

/* State-machine order: the order a reader meets the states in, not the kernel's numbering. */
static const int state_order[] = {
	SOCK_CLOSE,       SOCK_LISTEN,     SOCK_SYN_SENT,  SOCK_SYN_RECV,
	SOCK_ESTABLISHED, SOCK_FIN_WAIT1,  SOCK_FIN_WAIT2, SOCK_CLOSING,
	SOCK_TIME_WAIT,   SOCK_CLOSE_WAIT, SOCK_LAST_ACK,
};

/*
 * One segment of a handshake.  active_state and passive_state are the states of the two
 * ends once the segment has arrived; "active" is the connector when opening and the
 * active closer when closing.
 */
struct hs_step {
	const char *from;
	const char *segment;
	const char *active_state;
	const char *passive_state;
};

static const struct hs_step open_steps[] = {
	{ "connector", "SYN", "SYN_SENT", "SYN_RECV" },
	{ "listener", "SYN+ACK", "ESTABLISHED", "SYN_RECV" },
	{ "connector", "ACK", "ESTABLISHED", "ESTABLISHED" },
};

static const struct hs_step close_steps[] = {
	{ "active_closer", "FIN", "FIN_WAIT_1", "CLOSE_WAIT" },
	{ "passive_closer", "ACK", "FIN_WAIT_2", "CLOSE_WAIT" },
	{ "passive_closer", "FIN", "TIME_WAIT", "LAST_ACK" },
	{ "active_closer", "ACK", "TIME_WAIT", "CLOSED" },
};

/* The three SO_LINGER settings; "setting" and "sends" are untranslated codes. */
struct linger_case {
	const char *setting;
	const char *sends;
	bool time_wait;
	const char *const *counters;
};

static const struct linger_case linger_cases[] = {
	{
		.setting = "l_onoff=0",
		.sends = "FIN",
		.time_wait = true,
		.counters = NAMES("TCPAbortOnTimeout"),
	},
	{
		.setting = "l_onoff=1, l_linger>0",
		.sends = "FIN",
		.time_wait = true,
		.counters = NAMES("TCPAbortOnTimeout"),
	},
	{
		.setting = "l_onoff=1, l_linger=0",
		.sends = "RST",
		.time_wait = false,
		.counters = NAMES("TCPAbortOnData", "OutRsts"),
	},
};

static const char reuseaddr_snippet[] =
	"int on = 1;\n"
	"setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));\n"
	"bind(fd, addr, addrlen);\n"
	"listen(fd, backlog);";

/* The sysctls the states refer to; defaults are those of current kernels. */
struct sysctl_info {
	const char *name;
	const char *const *affects;
};

static const struct sysctl_info sysctls[] = {
	{ "net.ipv4.tcp_fin_timeout", NAMES("FIN_WAIT_2") },
	{ "net.ipv4.tcp_max_tw_buckets", NAMES("TIME_WAIT", "FIN_WAIT_2") },
	{ "net.ipv4.tcp_tw_reuse", NAMES("TIME_WAIT", "SYN_SENT") },
	{ "net.ipv4.ip_local_port_range", NAMES("SYN_SENT", "TIME_WAIT") },
	{ "net.ipv4.tcp_max_orphans", NAMES("FIN_WAIT_1", "CLOSING", "LAST_ACK") },
	{ "net.ipv4.tcp_orphan_retries", NAMES("FIN_WAIT_1", "CLOSING", "LAST_ACK") },
	{ "net.core.somaxconn", NAMES("LISTEN", "SYN_RECV") },
	{ "net.ipv4.tcp_max_syn_backlog", NAMES("SYN_RECV", "LISTEN") },
	{ "net.ipv4.tcp_syncookies", NAMES("SYN_RECV", "LISTEN") },
	{ "net.ipv4.tcp_abort_on_overflow", NAMES("LISTEN") },
	{ "net.ipv4.tcp_syn_retries", NAMES("SYN_SENT") },
	{ "net.ipv4.tcp_synack_retries", NAMES("SYN_RECV") },
	{ "net.ipv4.tcp_keepalive_time", NAMES("ESTABLISHED") },
	{ "net.ipv4.tcp_keepalive_intvl", NAMES("ESTABLISHED") },
	{ "net.ipv4.tcp_keepalive_probes", NAMES("ESTABLISHED") },
	{ "net.ipv4.tcp_retries2", NAMES("ESTABLISHED", "FIN_WAIT_1", "CLOSING", "LAST_ACK") },
};

/*
 * The prose, one file per language under text/: every text of a language, table by table,
 * each table in the order (or by the index) of the code's table above it names.
 */
struct linger_case_text {
	const char *title, *close_call, *unsent_data, *advice;
};

struct sysctl_text {
	const char *default_value, *what, *advice;
};

struct topics_text {
	const char *four_way_title, *four_way_text, *three_way_title, *three_way_text;
	const char *two_msl_title, *two_msl_text, *linger_title, *linger_text;
	const char *reuseaddr_title, *reuseaddr_text, *ports_title, *ports_text;
};

#include "text/states_en.inc"
#include "text/states_ko.inc"

/* A language's tables have one entry per entry of the code's tables, and as many as English. */
#define PROSE_SIZES(l)                                                                         \
	_Static_assert(ARRAY_SIZE(role_text_##l) == ROLE_MAX, #l ": a text per role");         \
	_Static_assert(ARRAY_SIZE(state_text_##l) == SOCK_STATE_MAX, #l ": a text per state"); \
	_Static_assert(ARRAY_SIZE(open_step_text_##l) == ARRAY_SIZE(open_steps),               \
		       #l ": a text per step of the three-way handshake");                     \
	_Static_assert(ARRAY_SIZE(close_step_text_##l) == ARRAY_SIZE(close_steps),             \
		       #l ": a text per step of the four-way close");                          \
	_Static_assert(ARRAY_SIZE(linger_case_text_##l) == ARRAY_SIZE(linger_cases),           \
		       #l ": a text per SO_LINGER case");                                      \
	_Static_assert(ARRAY_SIZE(sysctl_text_##l) == ARRAY_SIZE(sysctls),                     \
		       #l ": a text per sysctl");                                              \
	_Static_assert(ARRAY_SIZE(two_msl_reason_text_##l) == N_TWO_MSL_REASONS,               \
		       #l ": as many reasons for 2MSL as in English");                         \
	_Static_assert(ARRAY_SIZE(reuseaddr_does_text_##l) == N_REUSEADDR_DOES,                \
		       #l ": as many things SO_REUSEADDR does as in English");                 \
	_Static_assert(ARRAY_SIZE(reuseaddr_does_not_text_##l) == N_REUSEADDR_DOES_NOT,        \
		       #l ": as many things SO_REUSEADDR does not do as in English")

#define N_TWO_MSL_REASONS ARRAY_SIZE(two_msl_reason_text_en)
#define N_REUSEADDR_DOES ARRAY_SIZE(reuseaddr_does_text_en)
#define N_REUSEADDR_DOES_NOT ARRAY_SIZE(reuseaddr_does_not_text_en)
PROSE_SIZES(en);
PROSE_SIZES(ko);

/* Everything one language says, for the builders below. */
struct prose {
	const char *code; /* "en", "ko" */
	const char *const *role;
	const struct state_text *state;
	const char *const *open_step, *const *close_step, *const *two_msl_reason;
	const struct linger_case_text *linger_case;
	const char *const *reuseaddr_does, *const *reuseaddr_does_not;
	const struct sysctl_text *sysctl;
	const struct topics_text *topics;
};

#define PROSE(l)                                                                                \
	{                                                                                       \
#l, role_text_##l, state_text_##l, open_step_text_##l, close_step_text_##l,     \
			two_msl_reason_text_##l, linger_case_text_##l, reuseaddr_does_text_##l, \
			reuseaddr_does_not_text_##l, sysctl_text_##l, &topics_text_##l          \
	}

static const struct prose prose[LANG_COUNT] = {
	[STATES_LANG_EN] = PROSE(en),
	[STATES_LANG_KO] = PROSE(ko),
};

static int add_str(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -ENOMEM;
}

/* Adds a string array under key from a NULL-terminated list. */
static int add_names(cJSON *obj, const char *key, const char *const *names)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (!arr)
		return -ENOMEM;
	for (; *names; names++) {
		cJSON *s = cJSON_CreateString(*names);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Adds a string array under key from n texts. */
static int add_texts(cJSON *obj, const char *key, const char *const *texts, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateString(texts[i]);

		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Appends a new object to arr; NULL when memory runs out. */
static cJSON *append_object(cJSON *arr)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool lang_ok(enum states_lang lang)
{
	return lang == STATES_LANG_EN || lang == STATES_LANG_KO;
}

/* Fills obj with the explanation of one state; state and lang are already checked. */
static int fill_state(cJSON *obj, int state, const struct prose *p)
{
	const struct state_info *si = &state_table[state];
	const struct state_text *t = &p->state[state];

	if (add_str(obj, "state", sock_state_name(state)) < 0 ||
	    !cJSON_AddNumberToObject(obj, "number", state) ||
	    !cJSON_AddBoolToObject(obj, "lingering", sock_state_lingering(state)) ||
	    add_str(obj, "reached_by", role_codes[si->reached_by]) < 0 ||
	    add_str(obj, "reached_by_text", p->role[si->reached_by]) < 0 ||
	    add_str(obj, "title", t->title) < 0 || add_str(obj, "meaning", t->meaning) < 0 ||
	    add_str(obj, "enters_on", t->enters_on) < 0 ||
	    add_str(obj, "leaves_on", t->leaves_on) < 0 ||
	    add_str(obj, "duration_bound", t->duration_bound) < 0 ||
	    add_str(obj, "bounded", si->bounded) < 0)
		return -ENOMEM;
	if (si->max_seconds > 0 ? !cJSON_AddNumberToObject(obj, "max_seconds", si->max_seconds)
				: !cJSON_AddNullToObject(obj, "max_seconds"))
		return -ENOMEM;
	if (add_str(obj, "problem_when", t->problem_when) < 0 ||
	    add_str(obj, "remedy", t->remedy) < 0 || add_str(obj, "kernel", t->kernel) < 0 ||
	    add_names(obj, "settings", si->settings) < 0 ||
	    add_names(obj, "counters", si->counters) < 0 || add_names(obj, "next", si->next) < 0)
		return -ENOMEM;
	return 0;
}

static int add_handshake(cJSON *topics, const char *key, const char *title, const char *text,
			 const struct hs_step *steps, const char *const *step_texts, size_t n)
{
	cJSON *o = cJSON_AddObjectToObject(topics, key);
	cJSON *arr;

	if (!o || add_str(o, "title", title) < 0 || add_str(o, "text", text) < 0)
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(o, "steps");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = append_object(arr);

		if (!s || !cJSON_AddNumberToObject(s, "step", (double)(i + 1)) ||
		    add_str(s, "from", steps[i].from) < 0 ||
		    add_str(s, "segment", steps[i].segment) < 0 ||
		    add_str(s, "active_state", steps[i].active_state) < 0 ||
		    add_str(s, "passive_state", steps[i].passive_state) < 0 ||
		    add_str(s, "text", step_texts[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_two_msl(cJSON *topics, const struct prose *p)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "two_msl");

	if (!o || add_str(o, "title", p->topics->two_msl_title) < 0 ||
	    add_str(o, "text", p->topics->two_msl_text) < 0 ||
	    add_texts(o, "reasons", p->two_msl_reason, N_TWO_MSL_REASONS) < 0 ||
	    !cJSON_AddNumberToObject(o, "rfc_msl_seconds", 120) ||
	    !cJSON_AddNumberToObject(o, "linux_time_wait_seconds", LD_TIME_WAIT_S))
		return -ENOMEM;
	return 0;
}

static int add_so_linger(cJSON *topics, const struct prose *p)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "so_linger");
	cJSON *arr;

	if (!o || add_str(o, "title", p->topics->linger_title) < 0 ||
	    add_str(o, "text", p->topics->linger_text) < 0)
		return -ENOMEM;
	arr = cJSON_AddArrayToObject(o, "cases");
	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(linger_cases); i++) {
		const struct linger_case *lc = &linger_cases[i];
		const struct linger_case_text *t = &p->linger_case[i];
		cJSON *c = append_object(arr);

		if (!c || add_str(c, "setting", lc->setting) < 0 ||
		    add_str(c, "title", t->title) < 0 || add_str(c, "sends", lc->sends) < 0 ||
		    !cJSON_AddBoolToObject(c, "time_wait", lc->time_wait) ||
		    add_str(c, "close", t->close_call) < 0 ||
		    add_str(c, "unsent_data", t->unsent_data) < 0 ||
		    add_str(c, "advice", t->advice) < 0 ||
		    add_names(c, "counters", lc->counters) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_so_reuseaddr(cJSON *topics, const struct prose *p)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "so_reuseaddr");

	if (!o || add_str(o, "title", p->topics->reuseaddr_title) < 0 ||
	    add_str(o, "text", p->topics->reuseaddr_text) < 0 ||
	    add_texts(o, "does", p->reuseaddr_does, N_REUSEADDR_DOES) < 0 ||
	    add_texts(o, "does_not", p->reuseaddr_does_not, N_REUSEADDR_DOES_NOT) < 0 ||
	    add_str(o, "snippet", reuseaddr_snippet) < 0)
		return -ENOMEM;
	return 0;
}

static int add_ephemeral_ports(cJSON *topics, const struct prose *p)
{
	cJSON *o = cJSON_AddObjectToObject(topics, "ephemeral_ports");

	if (!o || add_str(o, "title", p->topics->ports_title) < 0 ||
	    add_str(o, "text", p->topics->ports_text) < 0)
		return -ENOMEM;
	return 0;
}

static int add_sysctls(cJSON *topics, const struct prose *p)
{
	cJSON *arr = cJSON_AddArrayToObject(topics, "sysctls");

	if (!arr)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++) {
		const struct sysctl_info *sc = &sysctls[i];
		const struct sysctl_text *t = &p->sysctl[i];
		cJSON *o = append_object(arr);

		if (!o || add_str(o, "name", sc->name) < 0 ||
		    add_str(o, "default", t->default_value) < 0 ||
		    add_str(o, "what", t->what) < 0 || add_str(o, "advice", t->advice) < 0 ||
		    add_names(o, "affects", sc->affects) < 0)
			return -ENOMEM;
	}
	return 0;
}

int states_lang_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < LANG_COUNT; i++) {
		const char *c = prose[i].code;
		size_t k = 0;

		/* ASCII folding only: strcasecmp would depend on the locale. */
		while (c[k] && (s[k] | 0x20) == c[k])
			k++;
		if (!c[k] && !s[k])
			return i;
	}
	return -EINVAL;
}

cJSON *states_one(int state, enum states_lang lang)
{
	cJSON *obj;

	if (state <= 0 || state >= SOCK_STATE_MAX || !lang_ok(lang))
		return NULL;
	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	if (fill_state(obj, state, &prose[lang]) < 0) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

cJSON *states_all(enum states_lang lang)
{
	const struct prose *p;
	const struct topics_text *t;
	cJSON *root, *arr, *topics;

	if (!lang_ok(lang))
		return NULL;
	p = &prose[lang];
	t = p->topics;
	root = cJSON_CreateObject();
	if (!root)
		return NULL;
	if (add_str(root, "lang", p->code) < 0)
		goto error;
	arr = cJSON_AddArrayToObject(root, "states");
	if (!arr)
		goto error;
	for (size_t i = 0; i < ARRAY_SIZE(state_order); i++) {
		cJSON *o = append_object(arr);

		if (!o || fill_state(o, state_order[i], p) < 0)
			goto error;
	}
	topics = cJSON_AddObjectToObject(root, "topics");
	if (!topics ||
	    add_handshake(topics, "four_way_close", t->four_way_title, t->four_way_text,
			  close_steps, p->close_step, ARRAY_SIZE(close_steps)) < 0 ||
	    add_handshake(topics, "three_way_open", t->three_way_title, t->three_way_text,
			  open_steps, p->open_step, ARRAY_SIZE(open_steps)) < 0 ||
	    add_two_msl(topics, p) < 0 || add_so_linger(topics, p) < 0 ||
	    add_so_reuseaddr(topics, p) < 0 || add_ephemeral_ports(topics, p) < 0 ||
	    add_sysctls(topics, p) < 0)
		goto error;
	return root;

error:
	cJSON_Delete(root);
	return NULL;
}
