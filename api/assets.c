/* assets.c - looks up embedded files by exact path, with an optional on-disk override. */
#include "assets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct asset *assets_find(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (const struct asset *a = assets_table; a->url; a++)
		if (strcmp(a->url, path) == 0)
			return a;
	return NULL;
}

int assets_load_override(const struct asset *a, const char *web_root, unsigned char **data,
			 size_t *len)
{
	const char *name = strchr(a->file, '/');
	char path[4096];
	unsigned char *buf = NULL;
	long size;
	FILE *f;
	int err = 0;

	/* Files from the build's npm packages are not in a checkout: always the embedded copy. */
	if (!web_root || strncmp(a->file, "@npm/", 5) == 0)
		return -ENODATA;
	/* The name comes from the table, never from the request. */
	snprintf(path, sizeof(path), "%s/%s", web_root, name ? name + 1 : a->file);
	f = fopen(path, "rbe");
	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		err = -EIO;
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		err = -EIO;
		goto out;
	}
	*data = buf;
	*len = (size_t)size;
out:
	fclose(f);
	return err;
}
