/* limits.h - every named limit of lingerd in one place. */
#ifndef LINGERD_LIMITS_H
#define LINGERD_LIMITS_H

/* Capture */
#define LD_MAX_SOCKETS (8u * 1024 * 1024)       /* records in one sample; more is refused */
#define LD_NETLINK_RCVBUF (4 * 1024 * 1024)     /* SO_RCVBUF asked for the diag socket */
#define LD_NETLINK_BUFSZ (256 * 1024)           /* one recv() of a dump */
#define LD_DUMP_RETRIES 3                       /* re-dumps after NLM_F_DUMP_INTR */
#define LD_PROC_MAX_BYTES (1024u * 1024 * 1024) /* /proc/net/tcp larger than this is refused */

/* Sampling */
#define LD_INTERVAL_DEFAULT 5.0
#define LD_INTERVAL_MIN 0.1
#define LD_INTERVAL_MAX 86400.0
#define LD_ATTRIBUTION_DEFAULT 10.0 /* seconds between /proc fd walks at most */
#define LD_STALE_INTERVALS 3
/* Namespaces sharing the host's connection hash: a warning once their dumps take this long. */
#define LD_NETNS_SHARED_WARN_MS 250.0
#define LD_RUN_STARTS_KEPT \
	32 /* restarts after which a remembered socket's age stays a lower bound */
#define LD_CLOCK_STEP_S \
	2.0 /* a wall-clock jump against the boot clock larger than this is logged */
/*
 * Seconds in a teardown state before a socket gets a lifetime row.  At 1% churn a second of
 * 100k sockets, 60 s wrote ~350 rows/s (1.3 GB/day); 600 s keeps the sockets that really
 * linger and a few MB a day.  Findings and ages in memory do not depend on it.
 */
#define LD_PERSIST_AFTER_DEFAULT 600.0
#define LD_RETENTION_DEFAULT (7.0 * 86400) /* rollups and ended sockets */
#define LD_RAW_RETENTION_MAX (86400.0)     /* per-snapshot rows: at most a day */
#define LD_RETENTION_EVERY_S 60.0
#define LD_RETENTION_BATCH 5000
#define LD_RETENTION_BUDGET_S 0.05 /* /healthz turns 503 after this many missed intervals */

/* Teardown tracer (capture/events.c): kernel map bounds.  A record is about 120 bytes. */
#define LD_EVENTS_MAX_SOCKS 131072 /* sockets' owners and timelines, least recently used out */
#define LD_EVENTS_MAX_PROCS 4096   /* processes with resets sent */
#define LD_EVENTS_MAX_NETNS 1024   /* namespaces counted apart; about 3 KB each per CPU */
#define LD_EVENTS_MAX_PHIST 1024   /* processes with time-in-state histograms; 1.6 KB each */
#define LD_EVENTS_TOP_PHIST 10     /* of them in /api/v1/events, most sockets first */
#define LD_EVENTS_MAX_PEERS 4096   /* peer addresses with resets sent or received */
#define LD_EVENTS_MAX_DSTS 16384   /* routes with TIME_WAIT entries counted; 48 bytes each */
#define LD_EVENTS_TOP_ROUTES 32    /* routes by TIME_WAIT entries/s kept with a snapshot */
/* A port-exhaustion finding when a route's ports run out within this many seconds. */
#define LD_PORT_EXHAUSTION_HORIZON_S 600.0
#define LD_TIME_WAIT_LEN_S 60.0 /* how long Linux keeps a TIME_WAIT (TCP_TIMEWAIT_LEN) */

/* HTTP */
#define LD_DEFAULT_LISTEN "127.0.0.1:9471"
/*
 * Worker threads.  A worker that builds an answer serves none of its other connections
 * meanwhile, but a busy worker accepts nothing either: new connections go to an idle one.
 * Under a keep-alive flood on 2 busy cores, 8 halved the honest client's p99 against 4.
 */
#define LD_HTTP_THREADS 8
#define LD_HTTP_TIMEOUT_S 10 /* libmicrohttpd's inactivity timeout */
/*
 * A connection must deliver a whole request head within this long of starting to wait for
 * one (its accept, or the end of its previous answer), however slowly it trickles; an
 * answer must be taken within LD_HTTP_ANSWER_DEADLINE_MS.  Checked every LD_HTTP_REAP_MS.
 */
#define LD_HTTP_REQUEST_DEADLINE_MS 5000
#define LD_HTTP_ANSWER_DEADLINE_MS 30000
#define LD_HTTP_REAP_MS 250
/*
 * Connections: libmicrohttpd's limit, split evenly between the workers.  A worker that
 * reaches its share less LD_HTTP_EVICT_MARGIN closes its oldest connection still waiting
 * for a request, so a flood of idle or trickling connections pushes out its own oldest
 * members instead of locking out a new client.  The whole must fit the fd limit (raised to
 * its hard limit at start) with LD_HTTP_FD_RESERVE left for the sampler's netlink and
 * namespace fds, the database and the reader pool.
 */
#define LD_HTTP_CONN_LIMIT 3072
#define LD_HTTP_EVICT_MARGIN 16
#define LD_HTTP_FD_RESERVE 256
#define LD_HTTP_FD_RESERVE_MIN \
	32 /* under a low fd limit: what sampling and the db open transiently */
#define LD_MMAP_THRESHOLD (128 * 1024) /* fixed: large answers always mmapped */
#define LD_MALLOC_ARENAS 2
/*
 * Answers of at least this many bytes in a compressible type (text, JSON, SVG) are sent
 * gzip-compressed to a client that accepts it: below it the gzip header and the CPU cost more
 * than they save.
 */
#define LD_HTTP_GZIP_MIN 1024
#define LD_HTTP_BACKLOG \
	4096 /* capped by net.core.somaxconn; a deep queue rides out a reconnect flood */
#define LD_NOFILE_WANT 65536 /* soft RLIMIT_NOFILE asked for (never above the hard limit) */
/*
 * Memory pool of one connection (request head, parsed headers, the answer's header).  It
 * bounds a request head to about half of it (431 past that).  Measured: see README.
 */
#define LD_HTTP_CONN_MEMORY (12 * 1024)
/*
 * Answers built at once: any /api/ answer, and of them the expensive ones (the whole
 * snapshot, more than LD_HTTP_HEAVY_ROWS sockets) whose megabytes stay in memory until the
 * client has read them.  Past either, a JSON 503 with Retry-After.
 */
#define LD_HTTP_API_INFLIGHT 8
#define LD_HTTP_HEAVY_INFLIGHT 2
#define LD_HTTP_HEAVY_ROWS 1000
#define LD_HTTP_RETRY_AFTER_S "1"
#define LD_MAX_URL_LEN 2048
#define LD_MAX_QUERY_LEN 1024
#define LD_MAX_PARAM_LEN 256
#define LD_MAX_PARAMS 32
#define LD_SHUTDOWN_GRACE_MS 2000 /* answers in flight may finish this long after SIGTERM */
#define LD_SHUTDOWN_DB_WAIT_S 3.0 /* SIGTERM waits this long for a snapshot stuck in a write */
#define LD_MAX_ALLOW_HOSTS 16

/* Database (the store_ and history names keep their module's prefix: each has one user) */
#define LD_POOL_READERS 8 /* idle read-only connections kept for the HTTP threads */
#define LD_DB_BUSY_MAX_MS \
	2000 /* longest wait of a snapshot's write for a lock (interval/4 below) */
/*
 * How long a connection waits for a lock before SQLite reports SQLITE_BUSY.  The writer
 * only meets another writer (a second lingerd) or a checkpoint; a reader only meets WAL
 * recovery.  Readers serve HTTP requests, so they give up sooner.
 */
#define STORE_WRITER_BUSY_MS 5000
#define STORE_READER_BUSY_MS 1000
/*
 * After a checkpoint the WAL is cut back to this size, so one huge first snapshot does
 * not leave a WAL of that size on disk for the life of the process.
 */
#define STORE_WAL_LIMIT_BYTES (64 * 1024 * 1024)
/* A group key longer than this is a caller's bug: a comm is 15 bytes, a port 5 digits. */
#define STORE_GROUP_KEY_MAX 255
/*
 * Rows a retention call deletes when its first attempt failed for want of disk space:
 * few enough that the pages they touch fit in the room a WAL checkpoint hands back.
 */
#define STORE_RETENTION_FULL_BATCH 64
/*
 * Most groups a group trend ranks in memory (~300 bytes each with the hash table).  A
 * week of hour rollups holds a few thousand at most; minute rollups of ephemeral local
 * ports over days can hold far more, and then the ranking is left to SQLite (a GROUP BY
 * that sorts, slower, in bounded memory).
 */
#define STORE_TREND_GROUPS_MAX 16384
#define HIST_TOP_GROUPS 20   /* groups kept per kind per snapshot (by lingering count) */
#define HIST_MAX_GROUPS 64   /* distinct groups a rollup bucket can hold per kind */
#define HIST_KEY_MAX 64      /* group key with its NUL: a namespace name is the longest */
#define HIST_RING_MINUTES 16 /* completed minutes kept for counter rates */

/* API */
#define LD_JSON_MAX (256u * 1024 * 1024) /* one answer's body; a larger one becomes a 500 */
#define LD_SOCKETS_LIMIT_DEFAULT 100
#define LD_SOCKETS_LIMIT_MAX 10000
#define LD_LINGERING_LIMIT_DEFAULT 50 /* groups in one /lingering answer */
#define LD_LINGERING_LIMIT_MAX 1000
#define LD_MIN_AGE_MAX (100.0 * 365 * 86400)
#define LD_FINDINGS_MIN_AGE_DEFAULT 60.0 /* held sockets younger than this are no finding */
#define LD_TIME_WAIT_S 60 /* TCP_TIMEWAIT_LEN: how long Linux keeps TIME_WAIT; no sysctl */
/*
 * Growth, arrivals and counter rates look back this far, in /lingering, /findings and
 * /system alike (counter rates within the HIST_RING_MINUTES the in-memory history keeps).
 */
#define LD_RATE_WINDOW_S 300.0
#define LD_RATE_WINDOW_MIN_S 30.0 /* findings compute no rate over a shorter stretch */
/*
 * Growth compares a group now with the same group in a snapshot kept from before: one is
 * kept every LD_PAST_EVERY_S (its lingering sockets only), LD_PAST_KEEP of them, so that
 * one about LD_RATE_WINDOW_S old is always there; until then the oldest serves, once it is
 * LD_GROWTH_MIN_S old (growth is known from the first minute).
 */
#define LD_PAST_EVERY_S 60.0
#define LD_PAST_KEEP 6
#define LD_GROWTH_MIN_S 60.0
_Static_assert(LD_PAST_KEEP *LD_PAST_EVERY_S > LD_RATE_WINDOW_S,
	       "a kept snapshot must reach back over the whole growth window");
#define LD_TRENDS_MAX_POINTS 100000            /* points in one /trends answer */
#define LD_TRENDS_TARGET_POINTS 300            /* points per series when step= is left out */
#define LD_TRENDS_MAX_RANGE_S (3660.0 * 86400) /* how far back a relative from= may reach */
#define LD_TRENDS_STEP_MAX_S (30 * 86400)
#define LD_TRENDS_TOP_DEFAULT 5 /* groups per state with by= */
#define LD_TRENDS_TOP_MAX 20

/* /metrics: standing findings itemized as lingerd_finding_active, most severe first */
#define LD_METRICS_FINDINGS_MAX 20

/* Terminal view (lingerd status, top, sockets): a client of a running daemon */
#define LD_CLI_DEFAULT_URL "http://127.0.0.1:9471"
#define LD_CLI_TIMEOUT_S 10                  /* connect, send and each receive */
#define LD_CLI_MAX_REPLY (32u * 1024 * 1024) /* an answer larger than this is refused */
#define LD_CLI_REFRESH_DEFAULT 2.0           /* lingerd top: seconds between redraws */
#define LD_CLI_REFRESH_MIN 0.2
#define LD_CLI_OFFENDERS 50 /* groups asked for; status shows the first few */
#define LD_CLI_STATUS_OFFENDERS 5

#endif
