/*
 * session.c - the session table: who holds each id, who waits, who drains.
 *
 * Invariant: for each id at most one worker is granted and not yet over
 * (s_holder), and it is granted only when no earlier holder's session is
 * still draining.  A claim tells the current holder and any earlier
 * claimant to go (reason superseded) and becomes the one pending claim:
 * the newest claimant wins.  A worker whose session is over (child.c)
 * leaves the table through session_worker_over(), which grants the pending
 * claim once nothing of the id is left to drain.  Never blocks: waiting
 * for a drain is just the pending claim staying pending.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

static int
session_cmp(struct session *a, struct session *b)
{
	return strcmp(a->s_id, b->s_id);
}

RB_GENERATE(session_tree, session, s_node, session_cmp)

static struct session *
session_get(struct supervisor *sv, const char *id)
{
	struct session	key, *s;

	strlcpy(key.s_id, id, sizeof(key.s_id));
	if ((s = RB_FIND(session_tree, &sv->sv_sessions, &key)) != NULL)
		return s;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	strlcpy(s->s_id, id, sizeof(s->s_id));
	s->s_created = now_usec();
	TAILQ_INIT(&s->s_draining);
	RB_INSERT(session_tree, &sv->sv_sessions, s);
	return s;
}

static void
session_free_if_empty(struct supervisor *sv, struct session *s)
{
	if (s->s_holder || s->s_pending || !TAILQ_EMPTY(&s->s_draining))
		return;
	RB_REMOVE(session_tree, &sv->sv_sessions, s);
	free(s);
}

static void
session_drain(struct supervisor *sv, struct session *s, struct worker *old)
{
	TAILQ_INSERT_TAIL(&s->s_draining, old, w_drain);
	log_info("event=supersede session=%s pid=%ld", s->s_id,
	    (long)old->w_pid);
	child_tell_go(sv, old, REASON_SUPERSEDED);
}

static void
session_try_grant(struct supervisor *sv, struct session *s)
{
	struct worker	*w = s->s_pending;

	if (w == NULL || s->s_holder || !TAILQ_EMPTY(&s->s_draining))
		return;
	/* Told to go while it waited (shutdown, or broken): never granted. */
	if (w->w_state != WS_CLAIMING || sv->sv_stopping)
		return;
	s->s_pending = NULL;
	s->s_holder = w;
	w->w_state = WS_GRANTED;
	log_info("event=grant session=%s pid=%ld peer=%s superseded=%s "
	    "wait_us=%lld", s->s_id, (long)w->w_pid, w->w_peer,
	    w->w_superseding ? "true" : "false",
	    (long long)(now_usec() - w->w_claimed));
	control_send(sv, w, MSG_GRANT, w->w_superseding, NULL, 0, -1);
	sv->sv_topup_at = 0;	/* that path is done: replace spares now */
}

static void
session_deny(struct supervisor *sv, struct worker *w)
{
	sv->sv_metrics.m_refused[REFUSED_SHUTDOWN]++;
	log_info("event=deny pid=%ld reason=shutdown", (long)w->w_pid);
	w->w_state = WS_GOING;
	control_send(sv, w, MSG_DENY, REASON_SHUTDOWN, NULL, 0, -1);
}

void
session_claim(struct supervisor *sv, struct worker *w, const char *id)
{
	struct session	*s;
	bool		 superseding = false;

	strlcpy(w->w_id, id, sizeof(w->w_id));
	if (sv->sv_stopping || (s = session_get(sv, id)) == NULL) {
		session_deny(sv, w);
		return;
	}
	w->w_ses = s;
	w->w_state = WS_CLAIMING;
	w->w_claimed = now_usec();
	if (s->s_pending) {
		session_drain(sv, s, s->s_pending);
		s->s_pending = NULL;
		superseding = true;
	}
	if (s->s_holder) {
		session_drain(sv, s, s->s_holder);
		s->s_holder = NULL;
		superseding = true;
	}
	s->s_pending = w;
	w->w_superseding = superseding;
	if (superseding)
		sv->sv_metrics.m_supersedes++;
	log_info("event=claim session=%s pid=%ld peer=%s", id, (long)w->w_pid,
	    w->w_peer);
	session_try_grant(sv, s);
}

void
session_worker_over(struct supervisor *sv, struct worker *w)
{
	struct session	*s = w->w_ses;

	if (s->s_holder == w)
		s->s_holder = NULL;
	else if (s->s_pending == w)
		s->s_pending = NULL;
	else
		TAILQ_REMOVE(&s->s_draining, w, w_drain);
	w->w_ses = NULL;
	log_info("event=session-over session=%s pid=%ld", s->s_id,
	    (long)w->w_pid);
	session_try_grant(sv, s);
	session_free_if_empty(sv, s);
}

/*
 * SIGUSR1: the session table now, and each worker's own account (its batch
 * and running tasks) as its answer to MSG_QUERY arrives, without ever
 * waiting for it.
 */
void
session_dump(struct supervisor *sv)
{
	struct session	*s;
	struct worker	*w;
	int64_t		 now = now_usec();
	unsigned	 n;

	log_info("event=table workers=%u spares=%u connections=%u "
	    "sessions_max=%u", sv->sv_nworkers, sv->sv_nspares, sv->sv_nconns,
	    sv->sv_cfg->max_sessions);
	RB_FOREACH(s, session_tree, &sv->sv_sessions) {
		n = 0;
		TAILQ_FOREACH(w, &s->s_draining, w_drain)
			n++;
		log_info("event=session id=%s holder=%ld pending=%ld "
		    "draining=%u age_s=%lld", s->s_id,
		    s->s_holder ? (long)s->s_holder->w_pid : 0L,
		    s->s_pending ? (long)s->s_pending->w_pid : 0L, n,
		    (long long)((now - s->s_created) / 1000000));
	}
	RB_FOREACH(w, worker_tree, &sv->sv_workers)
		if (!w->w_broken &&
		    control_send(sv, w, MSG_QUERY, 0, NULL, 0, -1) == 0)
			w->w_queries++;
}

/* Tells the worker(s) of one session (granted or waiting) to go, killed. */
static int
session_kill_one(struct supervisor *sv, struct session *s)
{
	struct worker	*w[2] = { s->s_holder, s->s_pending };
	int		 n = 0, i;

	for (i = 0; i < 2; i++) {
		if (w[i] == NULL || w[i]->w_state == WS_GOING)
			continue;
		log_info("event=kill session=%s pid=%ld", s->s_id,
		    (long)w[i]->w_pid);
		child_tell_go(sv, w[i], REASON_KILLED);
		n++;
	}
	return n;
}

/*
 * wstaskctl kill KEY: KEY is a session key (id, or user/id with users);
 * a bare id with users kills that id of every user.  Returns how many
 * workers were told to go (0: no such session).
 */
int
session_kill(struct supervisor *sv, const char *key)
{
	struct session	*s, *tmp;
	const char	*slash;
	size_t		 len = strlen(key);
	int		 n = 0;

	RB_FOREACH_SAFE(s, session_tree, &sv->sv_sessions, tmp) {
		slash = strchr(s->s_id, '/');
		if (strcmp(s->s_id, key) == 0 || (strchr(key, '/') == NULL &&
		    slash != NULL && strlen(slash + 1) == len &&
		    strcmp(slash + 1, key) == 0))
			n += session_kill_one(sv, s);
	}
	return n;
}
