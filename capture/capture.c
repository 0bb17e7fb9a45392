/* capture.c - picks netlink or /proc for each sample and falls back when netlink is missing. */
#include "capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "diag.h"
#include "procnet.h"

struct capture {
	enum capture_source want;
	enum capture_source use;
	struct diag *diag;
};

int capture_source_parse(const char *s)
{
	if (strcmp(s, "auto") == 0)
		return CAPTURE_AUTO;
	if (strcmp(s, "netlink") == 0)
		return CAPTURE_NETLINK;
	if (strcmp(s, "proc") == 0)
		return CAPTURE_PROC;
	return -EINVAL;
}

const char *capture_source_name(enum capture_source s)
{
	switch (s) {
	case CAPTURE_NETLINK:
		return "netlink";
	case CAPTURE_PROC:
		return "proc";
	default:
		return "auto";
	}
}

int capture_open(struct capture **out, enum capture_source want)
{
	struct capture *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->want = want;
	c->use = want == CAPTURE_PROC ? CAPTURE_PROC : CAPTURE_NETLINK;
	if (c->use == CAPTURE_NETLINK) {
		err = diag_open(&c->diag);
		if (err < 0 && want == CAPTURE_NETLINK) {
			free(c);
			return err;
		}
		if (err < 0)
			c->use = CAPTURE_PROC;
	}
	*out = c;
	return 0;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	diag_close(c->diag);
	free(c);
}

enum capture_source capture_source(const struct capture *c)
{
	return c->use;
}

static int take_netlink(struct capture *c, struct sock_vec *out, int *partial)
{
	return diag_dump_all(c->diag, out, partial);
}

static int take_proc(struct sock_vec *out)
{
	int err;

	err = procnet_read("/proc/net/tcp", AF_INET, out);
	if (err < 0)
		return err;
	err = procnet_read("/proc/net/tcp6", AF_INET6, out);
	if (err == -ENOENT)
		err = 0;
	return err;
}

int capture_take(struct capture *c, struct sock_vec *out, int *partial)
{
	int err;

	sock_vec_clear(out);
	*partial = 0;
	if (c->use == CAPTURE_NETLINK) {
		err = take_netlink(c, out, partial);
		if ((err == -EOPNOTSUPP || err == -ENOENT) && c->want == CAPTURE_AUTO) {
			/* No inet_diag for TCP in this kernel: /proc from now on. */
			diag_close(c->diag);
			c->diag = NULL;
			c->use = CAPTURE_PROC;
			sock_vec_clear(out);
		} else {
			goto out;
		}
	}
	err = take_proc(out);
out:
	if (err < 0)
		sock_vec_clear(out);
	return err;
}
