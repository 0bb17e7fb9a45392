/* params.c - the request parameters several endpoints share: states=, lang= and netns=. */
#include "params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int api_states_param(struct query *q, const char *name, uint32_t *mask, struct api_error *e)
{
	int r = query_states(q, name, mask, e);

	if (r < 0)
		return r;
	if (r == 0) {
		*mask = 0;
		for (int st = 1; st < SOCK_STATE_MAX; st++)
			if (sock_state_lingering(st))
				*mask |= 1u << st;
	}
	return 0;
}

int api_lang_param(struct query *q, enum states_lang *lang, struct api_error *e)
{
	static const char *const langs[] = { "en", "ko", NULL };
	int l = 0;

	if (query_enum(q, "lang", langs, &l, e) < 0)
		return -EINVAL;
	*lang = l ? STATES_LANG_KO : STATES_LANG_EN;
	return 0;
}

int api_netns_resolve(const char *v, const struct snap *s, struct netns_sel *sel,
		      struct api_error *e)
{
	char *end;
	unsigned long long id;

	sel->all = 0;
	sel->id = 0;
	if (!v || strcmp(v, "self") == 0)
		return 0;
	if (!v[0])
		return api_fail(e, 400, "bad_parameter", "netns",
				"empty value; expected self, all, a namespace id or a name");
	if (strcmp(v, "all") == 0) {
		sel->all = 1;
		return 0;
	}
	if (v[0] >= '1' && v[0] <= '9') {
		errno = 0;
		id = strtoull(v, &end, 10);
		if (!errno && !*end) {
			if (id == s->self_netns)
				return 0;
			for (size_t i = 0; i < s->n_netns; i++) {
				if (s->netns[i].id == id) {
					sel->id = id;
					return 0;
				}
			}
		}
	}
	for (size_t i = 0; i < s->n_netns; i++) {
		if (strcmp(s->netns[i].name, v) == 0) {
			sel->id = s->netns[i].id;
			return 0;
		}
	}
	return api_fail(
		e, 404, "not_found", "netns",
		"no network namespace '%.64s' is followed; see /api/v1/netns (lingerd --netns all "
		"follows every namespace)",
		v);
}
