/* errors.h - why a request cannot be answered: an HTTP status, a stable code and a message. */
#ifndef LINGERD_ERRORS_H
#define LINGERD_ERRORS_H

/* Becomes {"error":{"code","message","parameter"}}; the code is what clients may test. */
struct api_error {
	int status;       /* HTTP status */
	const char *code; /* stable machine-readable code, e.g. "bad_parameter" */
	char message[256];
	char parameter[64]; /* empty when no parameter is at fault */
};

/* Sets *e and returns -EINVAL, so validators can `return api_fail(...)`. */
int api_fail(struct api_error *e, int status, const char *code, const char *parameter,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct api_response;

/*
 * Fills resp with the JSON body of e, its status and no-store (the body is malloc'd: free it
 * with api_response_free()).  Returns 0 or -ENOMEM.
 */
int api_error_response(const struct api_error *e, struct api_response *resp);

#endif
