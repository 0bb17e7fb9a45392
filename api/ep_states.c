/* ep_states.c - /api/v1/states and /api/v1/states/{state}: what each TCP state means. */
#include <errno.h>
#include <string.h>

#include "handlers.h"
#include "params.h"
#include "states.h"

/* Appends a cJSON document to w and frees it; NULL (out of memory building it) is -ENOMEM. */
static int put_cjson(struct jw *w, cJSON *doc)
{
	char *txt;

	if (!doc)
		return -ENOMEM;
	txt = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!txt)
		return -ENOMEM;
	jw_raw(w, txt, strlen(txt));
	cJSON_free(txt);
	return 0;
}

int api_h_states(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e)
{
	enum states_lang lang;

	(void)ctx;
	(void)arg;
	if (api_lang_param(q, &lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	return put_cjson(w, states_all(lang));
}

int api_h_state(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		struct api_error *e)
{
	enum states_lang lang;
	int st;

	(void)ctx;
	st = sock_state_parse(arg, strlen(arg));
	if (st < 0)
		return api_fail(e, 404, "not_found", NULL,
				"no TCP state named '%.40s'; see /api/v1/states", arg);
	if (api_lang_param(q, &lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	return put_cjson(w, states_one(st, lang));
}
