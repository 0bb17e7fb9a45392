/* http_send.c - one answer onto the wire: security headers, ETag revalidation, gzip. */
#include "http_send.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "limits.h"

static void add_common_headers(struct MHD_Response *r, const struct api_response *ar)
{
	MHD_add_response_header(r, "Content-Type", ar->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				ar->csp ? ar->csp : "default-src 'none'; frame-ancestors 'none'");
	if (ar->no_store) {
		MHD_add_response_header(r, "Cache-Control", "no-store");
	} else if (ar->etag) {
		/* Not versioned by URL: kept, but revalidated (a 304 costs no body). */
		MHD_add_response_header(r, "Cache-Control", "no-cache");
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, ar->etag);
	}
	if (ar->allow)
		MHD_add_response_header(r, "Allow", ar->allow);
	if (ar->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"lingerd\"");
	if (ar->status == 503)
		MHD_add_response_header(r, "Retry-After", LD_HTTP_RETRY_AFTER_S);
}

/* Text, JSON and SVG shrink several times under gzip; the rest is left as it is. */
static int compressible(const char *type)
{
	return type &&
	       (strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "svg"));
}

/* Whether Accept-Encoding takes gzip: a "gzip" or "*" token whose q, if given, is not 0. */
static int accepts_gzip(const char *ae)
{
	while (ae && *ae) {
		size_t item, tok;
		const char *q;

		ae += strspn(ae, " \t,");
		item = strcspn(ae, ",");
		tok = strcspn(ae, " \t;,");
		if ((tok == 4 && strncasecmp(ae, "gzip", 4) == 0) || (tok == 1 && *ae == '*')) {
			q = strstr(ae, "q=");
			return !q || q >= ae + item || strtod(q + 2, NULL) > 0;
		}
		ae += item;
	}
	return 0;
}

/* gzip of len bytes into a malloc'd *out; 0, or -ENOMEM / -EIO (the caller sends them plain). */
static int gzip_body(const void *in, size_t len, char **out, size_t *out_len)
{
	z_stream z = { 0 };
	char *buf = NULL;
	uLong cap;
	int err = 0;

	if (len > UINT32_MAX ||
	    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		free(buf);
		err = -EIO;
		goto out;
	}
	*out = buf;
	*out_len = z.total_out;
out:
	deflateEnd(&z);
	return err;
}

/*
 * Sends ar (and frees it); close asks libmicrohttpd to close the connection after it.  An
 * embedded file whose ETag the client already has is a 304; a large compressible answer goes
 * gzip-compressed to a client that accepts it.
 */
enum MHD_Result http_send(struct MHD_Connection *conn, struct api_response *ar, int close)
{
	static const char oom[] =
		"{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *inm;
	char *zbody = NULL;
	size_t zlen = 0;
	int vary = 0;

	inm = ar->etag ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_IF_NONE_MATCH)
		       : NULL;
	if (ar->status == 200 && ar->body && compressible(ar->content_type)) {
		vary = 1;
		if (ar->len >= LD_HTTP_GZIP_MIN && !(inm && strstr(inm, ar->etag)) &&
		    accepts_gzip(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_ACCEPT_ENCODING)) &&
		    gzip_body(ar->body, ar->len, &zbody, &zlen) == 0 && zlen >= ar->len) {
			free(zbody);
			zbody = NULL;
		}
	}
	if (inm && ar->status == 200 && strstr(inm, ar->etag)) {
		ar->status = 304;
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else if (zbody) {
		r = MHD_create_response_from_buffer_with_free_callback(zlen, zbody, free);
		if (r) {
			zbody = NULL; /* the response owns it now */
			MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
		}
	} else if (ar->body && ar->body_static) {
		r = MHD_create_response_from_buffer(ar->len, ar->body, MHD_RESPMEM_PERSISTENT);
	} else if (ar->body) {
		r = MHD_create_response_from_buffer_with_free_callback(ar->len, ar->body, free);
		if (r)
			ar->body = NULL; /* the response owns it now */
	} else {
		ar->status = 500;
		ar->content_type = "application/json";
		r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						    MHD_RESPMEM_PERSISTENT);
	}
	api_response_free(ar);
	free(zbody);
	if (!r)
		return MHD_NO;
	add_common_headers(r, ar);
	if (vary)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, (unsigned int)ar->status, r);
	MHD_destroy_response(r);
	return ret;
}
