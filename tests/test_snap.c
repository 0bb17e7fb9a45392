/* test_snap.c - snapshot diffing: carried ages, reported changes, duplicates and keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "snap.h"

struct tally {
	int appeared, changed, vanished, fail_at;
	int last_old_state;
	int64_t next_row;
};

static int t_appeared(void *arg, struct snap_sock *s)
{
	struct tally *t = arg;

	if (t->fail_at && ++t->appeared == t->fail_at)
		return -EIO;
	if (!t->fail_at)
		t->appeared++;
	s->row_id = ++t->next_row;
	return 0;
}

static int t_changed(void *arg, const struct snap_sock *s, int old_state)
{
	struct tally *t = arg;

	(void)s;
	t->changed++;
	t->last_old_state = old_state;
	return 0;
}

static int t_vanished(void *arg, const struct snap_sock *old)
{
	struct tally *t = arg;

	CHECK(old->row_id > 0);
	t->vanished++;
	return 0;
}

static const struct snap_change_ops ops = { t_appeared, t_changed, t_vanished };

static struct sock_rec rec(uint64_t cookie, int state, uint16_t lport)
{
	struct sock_rec r;

	memset(&r, 0, sizeof(r));
	r.cookie = cookie;
	r.state = (uint8_t)state;
	r.family = AF_INET;
	r.lport = lport;
	r.laddr[0] = 127;
	r.laddr[3] = 1;
	return r;
}


/* A small deterministic generator (xorshift), so a failing round can be replayed. */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

/*
 * Many builds in a row with churn, state changes, local reordering, repeats and sizes that
 * cross the index's table sizes both ways: the diff and the index (patched or rebuilt) must
 * agree with a plain model of the live sockets every time.
 */
static void check_churn(void)
{
	enum { KEYS = 6000 };
	static uint8_t live[KEYS + 1], state[KEYS + 1];
	static const size_t sizes[] = { 10, 3000, 2990, 5000, 40, 0, 700, 2048, 4100, 1 };
	struct snap *prev = NULL, *cur = NULL;
	struct sock_vec v = { 0 };
	int bad = 0;

	for (int round = 0; round < 120; round++) {
		size_t want = sizes[round % 10] + rnd(20), nlive = 0;
		int exp_app = 0, exp_chg = 0, exp_van = 0;
		struct tally t = { 0 };
		static uint8_t was[KEYS + 1], was_state[KEYS + 1];

		memcpy(was, live, sizeof(live));
		memcpy(was_state, state, sizeof(state));
		for (uint64_t k = 1; k <= KEYS; k++) {
			if (live[k] && rnd(100) < 3)
				live[k] = 0;
			else if (live[k] && rnd(100) < 3)
				state[k] = (uint8_t)(1 + rnd(SOCK_STATE_MAX - 1));
			nlive += live[k];
		}
		for (uint64_t k = 1 + rnd(KEYS); nlive < want; k = k % KEYS + 1) {
			if (!live[k]) {
				live[k] = 1;
				state[k] = (uint8_t)(1 + rnd(SOCK_STATE_MAX - 1));
				nlive++;
			}
		}
		for (uint64_t k = 1; k <= KEYS && nlive > want + 20; k++) {
			if (live[k] && rnd(4) == 0) {
				live[k] = 0;
				nlive--;
			}
		}
		sock_vec_clear(&v);
		for (uint64_t k = 1; k <= KEYS; k++) {
			struct sock_rec r;

			if (!live[k])
				continue;
			exp_app += !was[k];
			exp_chg += was[k] && was_state[k] != state[k];
			r = rec(k, state[k], (uint16_t)k);
			sock_vec_push(&v, &r);
			if (rnd(500) == 0)
				sock_vec_push(&v, &r); /* reported twice */
		}
		for (uint64_t k = 1; k <= KEYS; k++)
			exp_van += was[k] && !live[k];
		/* Swap a few neighbours: a dump's order moves a little between samples. */
		for (size_t i = 1; i < v.n; i++) {
			if (rnd(50) == 0) {
				struct sock_rec tmp = v.v[i];

				v.v[i] = v.v[i - 1];
				v.v[i - 1] = tmp;
			}
		}
		if (snap_build(&cur, &v, prev, 1000.0 + round, &ops, &t) < 0) {
			bad++;
			break;
		}
		bad += t.appeared != exp_app || t.changed != exp_chg || t.vanished != exp_van;
		bad += cur->n != nlive;
		for (uint64_t k = 1; k <= KEYS; k++) {
			const struct snap_sock *x = snap_find(cur, k);

			bad += live[k] ? !x || x->key != k || x->r.state != state[k] : x != NULL;
		}
		for (size_t i = 0; prev && cur->from && i < cur->n; i++)
			bad += cur->from[i] ? prev->socks[cur->from[i] - 1].key != cur->socks[i].key
					    : was[cur->socks[i].key] != 0;
		snap_put(prev);
		prev = cur;
		cur = NULL;
		if (bad) {
			fprintf(stderr, "churn round %d went wrong\n", round);
			break;
		}
	}
	CHECK_INT(bad, ==, 0);
	snap_put(prev);
	sock_vec_free(&v);
}

int main(void)
{
	struct sock_vec v = { 0 };
	struct snap *a = NULL, *b = NULL, *c = NULL;
	struct tally t = { 0 };
	struct sock_rec r;
	const struct snap_sock *x;

	/* 1000 sockets appear. */
	for (uint64_t i = 1; i <= 1000; i++) {
		r = rec(i, i % 2 ? SOCK_ESTABLISHED : SOCK_CLOSE_WAIT, (uint16_t)(1000 + i));
		sock_vec_push(&v, &r);
	}
	r = rec(5, SOCK_ESTABLISHED, 1005); /* the same cookie again: a non-atomic dump */
	sock_vec_push(&v, &r);
	CHECK_INT(snap_build(&a, &v, NULL, 100.0, &ops, &t), ==, 0);
	CHECK_INT(t.appeared, ==, 1000);
	CHECK_INT(a->n, ==, 1000);
	CHECK_INT(a->counts[SOCK_ESTABLISHED], ==, 500);
	CHECK_INT(a->counts[SOCK_CLOSE_WAIT], ==, 500);
	CHECK_INT(a->family_counts[0][SOCK_CLOSE_WAIT], ==, 500);

	/* Next sample: one changes state, one vanishes, one appears, the rest are unchanged. */
	memset(&t, 0, sizeof(t));
	t.next_row = 5000;
	sock_vec_clear(&v);
	for (uint64_t i = 1; i <= 1000; i++) {
		if (i == 7)
			continue;
		r = rec(i, i % 2 ? SOCK_ESTABLISHED : SOCK_CLOSE_WAIT, (uint16_t)(1000 + i));
		if (i == 3)
			r.state = SOCK_FIN_WAIT1;
		sock_vec_push(&v, &r);
	}
	r = rec(2001, SOCK_TIME_WAIT, 2001);
	r.timer = SOCK_TIMER_TIMEWAIT;
	r.expires_ms = 45000; /* entered TIME_WAIT 15 s ago */
	sock_vec_push(&v, &r);
	CHECK_INT(snap_build(&b, &v, a, 110.0, &ops, &t), ==, 0);
	CHECK_INT(t.appeared, ==, 1);
	CHECK_INT(t.changed, ==, 1);
	CHECK_INT(t.last_old_state, ==, SOCK_ESTABLISHED);
	CHECK_INT(t.vanished, ==, 1);
	x = snap_find(b, 3);
	CHECK(x && x->first_seen == 100.0 && x->state_since == 110.0);
	CHECK(x && x->row_id == snap_find(a, 3)->row_id);
	x = snap_find(b, 4);
	CHECK(x && x->first_seen == 100.0 && x->state_since == 100.0);
	x = snap_find(b, 2001);
	CHECK(x && x->state_since > 94.99 && x->state_since < 95.01);
	CHECK(snap_find(b, 7) == NULL);

	/*
	 * Lower bounds: what the first snapshot found was there before lingerd, so both of its
	 * times are; a state change makes state_since exact; a socket that appears later is
	 * exact; TIME_WAIT's state_since comes from its timer, exact even at the start.
	 */
	CHECK_INT(snap_find(a, 4)->lower_bound, ==, SNAP_LB_FIRST | SNAP_LB_STATE);
	CHECK_INT(snap_find(b, 4)->lower_bound, ==, SNAP_LB_FIRST | SNAP_LB_STATE);
	CHECK_INT(snap_find(b, 3)->lower_bound, ==, SNAP_LB_FIRST);
	CHECK_INT(snap_find(b, 2001)->lower_bound, ==, 0);
	CHECK_INT(b->oldest_lb[SOCK_CLOSE_WAIT], ==, SNAP_LB_STATE);
	CHECK_INT(b->oldest_lb[SOCK_FIN_WAIT1], ==, 0);
	CHECK(b->taken_boot == 110.0);
	b->taken_at = 1700000110.0;
	CHECK(snap_wall(b, 100.0) == 1700000100.0);
	CHECK(snap_age(b, 100.0) == 10.0 && snap_age(b, 200.0) == 0);
	{
		struct snap *d = NULL;

		sock_vec_clear(&v);
		r = rec(3001, SOCK_TIME_WAIT, 3001);
		r.timer = SOCK_TIMER_TIMEWAIT;
		r.expires_ms = 30000;
		sock_vec_push(&v, &r);
		r = rec(3002, SOCK_CLOSE_WAIT, 3002);
		sock_vec_push(&v, &r);
		CHECK_INT(snap_build(&d, &v, NULL, 500.0, NULL, NULL), ==, 0);
		CHECK_INT(snap_find(d, 3001)->lower_bound, ==, SNAP_LB_FIRST);
		CHECK_INT(snap_find(d, 3002)->lower_bound, ==, SNAP_LB_FIRST | SNAP_LB_STATE);
		snap_put(d);
	}

	/* A failing store stops the build and leaks nothing. */
	memset(&t, 0, sizeof(t));
	t.fail_at = 1;
	CHECK_INT(snap_build(&c, &v, NULL, 120.0, &ops, &t), ==, -EIO);
	CHECK(c == NULL);

	/* Keys: cookie, then inode, then a 4-tuple hash that ignores the state. */
	r = rec(0, SOCK_ESTABLISHED, 80);
	r.inode = 42;
	CHECK(snap_key(&r) == ((1ull << 63) | 42));
	r.inode = 0;
	{
		uint64_t k1 = snap_key(&r);

		r.state = SOCK_TIME_WAIT;
		CHECK(snap_key(&r) == k1);
		CHECK((k1 >> 62) == 3);
		r.rport = 1;
		CHECK(snap_key(&r) != k1);
	}

	check_churn();

	snap_put(snap_get(b));
	snap_put(a);
	snap_put(b);
	sock_vec_free(&v);
	return CHECK_DONE();
}
