/*
 * batch.c - a connection's batches: scheduling, cancel.
 *
 * At most one batch runs (k_cur); a run that arrives while one runs
 * cancels it first and waits as k_next, and a newer run replaces a
 * waiting one (which gets `cancelled` with reason "replaced" and never
 * `accepted`).  A cancel is complete when every task of the batch has
 * been reaped and the worker has no child left at all (a handler's
 * escaped descendants included); only then is `cancelled` sent and the
 * next batch started.  Validation (validate.c) comes first: a bad batch
 * is refused with one error naming its first problem and disturbs nothing.
 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "util.h"
#include "worker.h"

static char *
batch_auto_name(struct wk *k)
{
	char	buf[24];

	do
		snprintf(buf, sizeof(buf), "%lu", ++k->k_autoname);
	while (nameset_has(&k->k_names, buf));
	return strdup(buf);
}

/* A validated batch, or NULL after the error event has been sent. */
struct batch *
batch_new(struct wk *k, const struct cJSON *run)
{
	struct verr	 e = { .code = NULL };
	struct batch	*b;
	const char	*name = NULL;
	char		 lname[LOG_ESC_SIZE(BATCH_NAME_MAX)];
	bool		 oom = false;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	b->b_wk = k;
	TAILQ_INIT(&b->b_run);
	if (validate_run(k, run, b, &name, &e) < 0) {
		ctl_batch(k, BATCH_REJECTED);
		event_refused(k, &e, name);
		batch_free(b);
		return NULL;
	}
	b->b_name = name ? strdup(name) : batch_auto_name(k);
	if (b->b_name != NULL)
		b->b_lname = strdup(log_esc(lname, sizeof(lname), b->b_name,
		    false));
	if (b->b_name == NULL || b->b_lname == NULL ||
	    (!nameset_add(&k->k_names, b->b_name, &oom) && oom)) {
		ctl_batch(k, BATCH_REJECTED);
		event_error(k, "bad_batch", name, "out of memory");
		batch_free(b);
		return NULL;
	}
	return b;
}

void
batch_free(struct batch *b)
{
	size_t	i;

	for (i = 0; i < b->b_ntasks; i++)
		task_free(b->b_wk, &b->b_tasks[i]);
	free(b->b_tasks);
	free(b->b_name);
	free(b->b_lname);
	free(b);
}

static void
batch_task_timeout(lws_sorted_usec_list_t *sul)
{
	struct task	*t = lws_container_of(sul, struct task, t_sul);
	struct wk	*k = t->t_batch->b_wk;
	char		 lid[LOG_ESC_SIZE(TASK_ID_MAX)];

	if (t->t_timed_out) {		/* the grace is over too */
		task_signal(t, SIGKILL);
		return;
	}
	t->t_timed_out = true;
	log_info("event=timeout session=%s batch=%s id=%s ms=%" PRIu64,
	    k->k_session, t->t_batch->b_lname,
	    log_esc(lid, sizeof(lid), t->t_id, false), t->t_timeout_ms);
	task_signal(t, SIGTERM);
	lws_sul_schedule(k->k_ctx, 0, &t->t_sul, batch_task_timeout,
	    (lws_usec_t)k->k_cfg->kill_grace_ms * 1000);
}

static void
batch_start_task(struct wk *k, struct batch *b, struct task *t)
{
	b->b_started++;
	t->t_start = now_usec();
	if (task_spawn(k, t) < 0) {
		int err = errno;

		log_warnx("event=spawn-failed session=%s handler=%s: %s",
		    k->k_session, t->t_name, strerror(err));
		ctl_task(k, t, MT_STARTED);	/* a start that failed at once */
		ctl_task(k, t, MT_FAILED);
		t->t_state = T_DONE;
		b->b_finished++;
		b->b_failed++;
		event_result(k, b, t, 0, err);
		return;
	}
	t->t_state = T_RUNNING;
	ctl_task(k, t, MT_STARTED);
	b->b_running++;
	TAILQ_INSERT_TAIL(&b->b_run, t, t_entry);
	event_started(k, b, t);
	if (t->t_timeout_ms)
		lws_sul_schedule(k->k_ctx, 0, &t->t_sul, batch_task_timeout,
		    (lws_usec_t)t->t_timeout_ms * 1000);
}

static void
batch_check_done(struct wk *k, struct batch *b)
{
	if (b != k->k_cur || b->b_cancelling || b->b_finished < b->b_ntasks)
		return;
	event_done(k, b);
	ctl_batch(k, BATCH_DONE);
	log_info("event=done session=%s batch=%s ok=%zu failed=%zu ms=%lld",
	    k->k_session, b->b_lname, b->b_ok, b->b_failed,
	    (long long)((now_usec() - b->b_start) / 1000));
	k->k_cur = NULL;
	batch_free(b);
}

void
batch_fill(struct wk *k, struct batch *b)
{
	lws_sul_cancel(&k->k_sul_fill);
	while (b == k->k_cur && !b->b_cancelling && !k->k_choked &&
	    k->k_going == GO_NONE && b->b_running < b->b_limit &&
	    b->b_next < b->b_ntasks)
		batch_start_task(k, b, &b->b_tasks[b->b_next++]);
	batch_check_done(k, b);
}

static void
batch_fill_later(lws_sorted_usec_list_t *sul)
{
	struct wk	*k = lws_container_of(sul, struct wk, k_sul_fill);

	if (k->k_cur)
		batch_fill(k, k->k_cur);
}

static void
batch_start(struct wk *k, struct batch *b)
{
	k->k_cur = b;
	b->b_start = now_usec();
	event_accepted(k, b);
	log_info("event=batch session=%s batch=%s tasks=%zu limit=%u",
	    k->k_session, b->b_lname, b->b_ntasks, b->b_limit);
	batch_fill(k, b);
}

/* A waiting batch that will never start: cancelled, none of it run. */
void
batch_skip(struct wk *k, struct batch *b, const char *why)
{
	b->b_reason = why;
	event_cancelled(k, b);
	ctl_unstarted(k, b);
	ctl_batch(k, BATCH_CANCELLED);
	log_info("event=skipped session=%s batch=%s reason=%s", k->k_session,
	    b->b_lname, why);
	batch_free(b);
}

void
batch_submit(struct wk *k, struct batch *b)
{
	struct batch	*old = k->k_next;

	if (k->k_cur == NULL) {
		batch_start(k, b);
		return;
	}
	k->k_next = b;
	if (old)
		batch_skip(k, old, "replaced");
	batch_cancel(k, k->k_cur, "replaced");
}

void
batch_cancel_request(struct wk *k)
{
	struct batch	*next = k->k_next;

	if (next) {
		k->k_next = NULL;
		batch_skip(k, next, "cancel");
	}
	if (k->k_cur)
		batch_cancel(k, k->k_cur, "cancel");
}

static void
batch_grace_over(lws_sorted_usec_list_t *sul)
{
	struct wk	*k = lws_container_of(sul, struct wk, k_sul_grace);
	struct task	*t;

	if (k->k_cur == NULL)
		return;
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry)
		task_signal(t, SIGKILL);
}

/*
 * SIGTERM to every running task's group now, SIGKILL after --kill-grace.
 * Progress reports and log lines not sent yet are dropped.
 */
void
batch_cancel(struct wk *k, struct batch *b, const char *why)
{
	struct task	*t;

	if (b->b_cancelling)
		return;
	b->b_cancelling = true;
	b->b_reason = why;
	log_info("event=cancel session=%s batch=%s reason=%s running=%zu",
	    k->k_session, b->b_lname, why, b->b_running);
	TAILQ_FOREACH(t, &b->b_run, t_entry) {
		/* A timed-out task keeps its earlier SIGKILL deadline. */
		if (t->t_timed_out)
			continue;
		lws_sul_cancel(&t->t_sul);
		task_signal(t, SIGTERM);
	}
	TAILQ_FOREACH(t, &b->b_run, t_entry)
		progress_drop(t);
	if (b->b_running)
		lws_sul_schedule(k->k_ctx, 0, &k->k_sul_grace, batch_grace_over,
		    (lws_usec_t)k->k_cfg->kill_grace_ms * 1000);
	worker_progress(k);
}

/*
 * The leader of t has exited with status and its group was SIGKILLed
 * (with --cgroup: its cgroup was killed and is empty).
 */
void
batch_task_done(struct wk *k, struct task *t, int status)
{
	struct batch	*b = t->t_batch;
	enum msg_task	 what;

	contain_task_end(k, t);
	t->t_state = T_DONE;
	TAILQ_REMOVE(&b->b_run, t, t_entry);
	b->b_running--;
	lws_sul_cancel(&t->t_sul);
	task_drain(k, t);
	progress_final(k, t);
	tasklog_final(k, t);
	what = MT_CANCELLED;
	if (!b->b_cancelling) {
		b->b_finished++;
		what = event_result(k, b, t, status, t->t_exec_errno) ?
		    MT_OK : MT_FAILED;
		if (what == MT_OK)
			b->b_ok++;
		else
			b->b_failed++;
	}
	ctl_task(k, t, what);
	task_release(t);
	if (b->b_cancelling)
		return;
	/*
	 * The next tasks start from the loop, not from here: the reap loop
	 * would find a fast task already exited and chain a whole batch in
	 * one callback, never sending a result or closing a pipe meanwhile.
	 */
	if (b->b_finished == b->b_ntasks)
		batch_check_done(k, b);
	else
		lws_sul_schedule(k->k_ctx, 0, &k->k_sul_fill, batch_fill_later,
		    0);
}

/*
 * Finishes a cancel whose processes are all gone.  Returns true when no
 * cancel is under way any more.
 */
bool
batch_settle(struct wk *k)
{
	struct batch	*b = k->k_cur, *next;

	if (b == NULL || !b->b_cancelling)
		return true;
	if (b->b_running > 0 || reap_children_left(k))
		return false;
	lws_sul_cancel(&k->k_sul_grace);
	event_cancelled(k, b);
	ctl_unstarted(k, b);
	ctl_batch(k, BATCH_CANCELLED);
	log_info("event=cancelled session=%s batch=%s reason=%s finished=%zu "
	    "started=%zu", k->k_session, b->b_lname, b->b_reason, b->b_finished,
	    b->b_started);
	k->k_cur = NULL;
	batch_free(b);
	if ((next = k->k_next) != NULL) {
		k->k_next = NULL;
		batch_start(k, next);
	}
	return k->k_cur == NULL || !k->k_cur->b_cancelling;
}

/* The client reads again: read task output and start tasks again. */
void
batch_resume(struct wk *k)
{
	struct task	*t;

	if (k->k_cur == NULL)
		return;
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry) {
		task_pause_pipes(t, false);
		progress_due(k, t);
	}
	batch_fill(k, k->k_cur);
}

void
batch_choke(struct wk *k)
{
	struct task	*t;

	if (k->k_cur == NULL)
		return;
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry)
		task_pause_pipes(t, true);
}
