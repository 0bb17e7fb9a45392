/* states.h - what each of the 11 TCP states means, in English and Korean. */
#ifndef LINGERD_STATES_H
#define LINGERD_STATES_H

#include <cjson/cJSON.h>

enum states_lang {
	STATES_LANG_EN = 0,
	STATES_LANG_KO = 1,
};

/* Parses "en" or "ko" (case-insensitive); -EINVAL otherwise. */
int states_lang_parse(const char *s);

/*
 * Returns a new cJSON object explaining one state (an enum sock_state value, SOCK_CLOSE
 * included), or NULL for a number that is not a state or when memory runs out.  The
 * caller owns the result.
 */
cJSON *states_one(int state, enum states_lang lang);

/*
 * Returns a new cJSON object {"lang":..,"states":[...11 objects in state-machine order...],
 * "topics":{...}} where topics explain the teardown handshake, 2MSL, SO_LINGER and
 * SO_REUSEADDR.  NULL when memory runs out.  The caller owns the result.
 */
cJSON *states_all(enum states_lang lang);

#endif
