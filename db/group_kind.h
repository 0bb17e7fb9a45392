/* group_kind.h - what a group of sockets is grouped by, for the rollups and their rows on disk. */
#ifndef LINGERD_GROUP_KIND_H
#define LINGERD_GROUP_KIND_H

/*
 * The in-memory rollups (history.h) and the stored ones (store.h, the kind column of
 * group_rollups) share these numbers: they are on disk, so never renumber one.
 */
enum group_kind {
	GROUP_LOCAL_PORT = 1, /* the key is the port number as decimal text */
	GROUP_PROCESS = 2,    /* the key is the process name (comm) */
	GROUP_NETNS = 3,      /* v3: the key is a namespace's name; every state, not only the
				 lingering ones, and lingerd's own namespace never (its counts
				 are the whole-host rollups) */
	GROUP_KIND_MAX = 4,   /* one past the last kind, for arrays indexed by kind */
};

#endif
