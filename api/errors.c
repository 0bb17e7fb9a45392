/* errors.c - request errors: filling one in, and the JSON body it becomes. */
#include "errors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "api.h"
#include "jw.h"

int api_fail(struct api_error *e, int status, const char *code, const char *parameter,
	     const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	e->code = code;
	snprintf(e->parameter, sizeof(e->parameter), "%s", parameter ? parameter : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int api_error_response(const struct api_error *e, struct api_response *resp)
{
	struct jw w;

	jw_init(&w, 4096);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_kstr(&w, "code", e->code);
	jw_kstr(&w, "message", e->message);
	if (e->parameter[0])
		jw_kstr(&w, "parameter", e->parameter);
	jw_obj_end(&w);
	jw_obj_end(&w);
	resp->status = e->status;
	resp->content_type = API_JSON_TYPE;
	resp->no_store = 1;
	return jw_finish(&w, &resp->body, &resp->len);
}
