/* assets.h - the page, its scripts and the API documents, embedded in the binary. */
#ifndef LINGERD_ASSETS_H
#define LINGERD_ASSETS_H

#include <stddef.h>

struct asset {
	const char *url;  /* exact request path, e.g. "/app.js" */
	const char *file; /* source file relative to the repository (for --web-root) */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
	const char *etag; /* quoted strong validator: a hash of the bytes, computed at build time */
};

/* The generated table, ended by an entry whose url is NULL. */
extern const struct asset assets_table[];

/*
 * Finds the asset served at exactly this path; "/" means "/index.html".  No other
 * spelling matches: a URL never becomes a file name.  NULL when there is none.
 */
const struct asset *assets_find(const char *path);

/*
 * Development override: when web_root is set, an asset's bytes are read from
 * web_root/<file name without its first folder> each time, so the page can be edited
 * without rebuilding (files of the build's npm packages, "@npm/...", are always embedded).
 * Returns 0 with a malloc'd copy in *data and *len, -ENODATA when the embedded bytes are to
 * be served (no override set, or an npm file), or -errno.
 */
int assets_load_override(const struct asset *a, const char *web_root, unsigned char **data,
			 size_t *len);

#endif
