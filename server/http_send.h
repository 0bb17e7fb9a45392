/* http_send.h - one answer onto the wire: security headers, ETag revalidation, gzip. */
#ifndef LINGERD_HTTP_SEND_H
#define LINGERD_HTTP_SEND_H

#include <microhttpd.h>

#include "api.h"

/*
 * Queues ar on conn and frees ar (the body too); close asks libmicrohttpd to close the
 * connection after it.  Every answer carries the security headers.  An embedded file whose
 * ETag the client already has becomes a 304; a compressible answer of LD_HTTP_GZIP_MIN bytes
 * or more is gzip-compressed for a client that accepts it.  Returns libmicrohttpd's verdict.
 */
enum MHD_Result http_send(struct MHD_Connection *conn, struct api_response *ar, int close);

#endif
