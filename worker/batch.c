/*
 * batch.c - a connection's batches: validation, scheduling, cancel.
 *
 * At most one batch runs (k_cur); a run that arrives while one runs
 * cancels it first and waits as k_next, and a newer run replaces a
 * waiting one (which gets `cancelled` with reason "replaced" and never
 * `accepted`).  A cancel is complete when every task of the batch has
 * been reaped and the worker has no child left at all (a handler's
 * escaped descendants included); only then is `cancelled` sent and the
 * next batch started.  Validation comes first: a bad batch is refused
 * with one error naming its first problem and disturbs nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define ID_INT_MAX	9007199254740991.0	/* 2^53 - 1: exact in a double */
#define HANDLER_CACHE	8

struct berr {
	const char	*code;
	char		 msg[256];
};

struct vctx {			/* one validation pass */
	struct wk	*k;
	struct name_tree ids;
	const char	*ok[HANDLER_CACHE];	/* handlers found usable */
	size_t		 nok;
};

static int
name_cmp(struct name *a, struct name *b)
{
	return strcmp(a->n_text, b->n_text);
}

RB_GENERATE(name_tree, name, n_node, name_cmp)

static void __attribute__((format(printf, 3, 4)))
berr_set(struct berr *e, const char *code, const char *fmt, ...)
{
	va_list	ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* 1 to 64 characters of [A-Za-z0-9._-], not starting with a dot. */
bool
handler_name_ok(const char *name, size_t len)
{
	size_t	i;

	if (len < 1 || len > TASK_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Adds name to tree; false if it was there already (or no memory). */
static bool
names_add(struct name_tree *tree, const char *text, bool *oom)
{
	size_t		 len = strlen(text);
	struct name	*n;

	if ((n = malloc(sizeof(*n) + len + 1)) == NULL) {
		log_warn("malloc");
		*oom = true;
		return false;
	}
	memcpy(n->n_text, text, len + 1);
	if (RB_INSERT(name_tree, tree, n) != NULL) {
		free(n);
		return false;
	}
	return true;
}

/* No allocation: a failed one must not pass a reused name as new. */
static bool
names_has(struct name_tree *tree, const char *text)
{
	union {
		struct name	n;
		char		buf[sizeof(struct name) + BATCH_NAME_MAX + 1];
	}		 key;
	size_t		 len = strlen(text);

	if (len > BATCH_NAME_MAX)
		return false;	/* never stored: names are validated first */
	memcpy(key.n.n_text, text, len + 1);
	return RB_FIND(name_tree, tree, &key.n) != NULL;
}

static void
names_clear(struct name_tree *tree)
{
	struct name	*n, *tmp;

	RB_FOREACH_SAFE(n, name_tree, tree, tmp) {
		RB_REMOVE(name_tree, tree, n);
		free(n);
	}
}

void
batch_names_free(struct wk *k)
{
	names_clear(&k->k_names);
}

static bool
json_int(const cJSON *v, double min, double max, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < min || v->valuedouble > max)
		return false;
	*out = v->valuedouble;
	return true;
}

/* A regular file we may execute in --tasks (symlinks followed). */
static bool
batch_handler_usable(struct vctx *vc, const char *name)
{
	struct stat	st;
	size_t		i;

	for (i = 0; i < vc->nok; i++)
		if (!strcmp(vc->ok[i], name))
			return true;
	if (fstatat(vc->k->k_tasks_fd, name, &st, 0) < 0 ||
	    !S_ISREG(st.st_mode) ||
	    faccessat(vc->k->k_tasks_fd, name, X_OK, AT_EACCESS) < 0)
		return false;
	if (vc->nok < HANDLER_CACHE)
		vc->ok[vc->nok++] = name;
	return true;
}

static int
task_parse_id(const cJSON *v, size_t i, char **out, struct berr *e)
{
	char	buf[32];
	double	d;

	if (v == NULL)
		snprintf(buf, sizeof(buf), "%zu", i);
	else if (json_int(v, -ID_INT_MAX, ID_INT_MAX, &d))
		snprintf(buf, sizeof(buf), "%.0f", d == 0 ? 0.0 : d);	/* -0 */
	else if (cJSON_IsString(v) && v->valuestring[0] &&
	    strlen(v->valuestring) <= TASK_ID_MAX) {
		*out = strdup(v->valuestring);
		return *out ? 0 : -1;
	} else {
		berr_set(e, "bad_batch", "task %zu: id must be a string of 1 "
		    "to %d bytes or an integer", i, TASK_ID_MAX);
		return -1;
	}
	*out = strdup(buf);
	return *out ? 0 : -1;
}

static int
task_parse_fields(struct vctx *vc, const cJSON *v, size_t i, struct task *t,
    struct berr *e)
{
	const struct config	*cfg = vc->k->k_cfg;
	const cJSON		*f;
	double			 d;

	if (task_parse_id(cJSON_GetObjectItemCaseSensitive(v, "id"), i,
	    &t->t_id, e) < 0)
		return -1;
	f = cJSON_GetObjectItemCaseSensitive(v, "timeout_ms");
	if (f && !json_int(f, 1, 2147483647, &d)) {
		berr_set(e, "bad_batch", "task %zu: timeout_ms must be an "
		    "integer from 1 to 2147483647", i);
		return -1;
	}
	t->t_timeout_ms = f ? (uint64_t)d : 0;
	if (cfg->task_timeout_s && (t->t_timeout_ms == 0 ||
	    t->t_timeout_ms > cfg->task_timeout_s * UINT64_C(1000)))
		t->t_timeout_ms = cfg->task_timeout_s * UINT64_C(1000);
	f = cJSON_GetObjectItemCaseSensitive(v, "args");
	if (f && (t->t_args = cJSON_PrintUnformatted(f)) == NULL) {
		berr_set(e, "bad_batch", "task %zu: args cannot be encoded", i);
		return -1;
	}
	return 0;
}

static int
task_parse(struct vctx *vc, const cJSON *v, size_t i, struct task *t,
    struct berr *e)
{
	const cJSON	*name = v;
	bool		 oom = false;

	if (cJSON_IsObject(v))
		name = cJSON_GetObjectItemCaseSensitive(v, "task");
	else if (!cJSON_IsString(v)) {
		berr_set(e, "bad_batch", "task %zu: must be an object or a "
		    "handler name", i);
		return -1;
	}
	if (!cJSON_IsString(name)) {
		berr_set(e, "bad_batch", "task %zu: \"task\" (a handler name) "
		    "is required", i);
		return -1;
	}
	if (!handler_name_ok(name->valuestring, strlen(name->valuestring))) {
		berr_set(e, "bad_batch", "task %zu: bad handler name \"%.64s\"",
		    i, name->valuestring);
		return -1;
	}
	if ((t->t_name = strdup(name->valuestring)) == NULL)
		return -1;
	if (cJSON_IsObject(v) ? task_parse_fields(vc, v, i, t, e) < 0 :
	    task_parse_id(NULL, i, &t->t_id, e) < 0)
		return -1;
	if (!batch_handler_usable(vc, t->t_name)) {
		berr_set(e, "bad_batch", "task %zu: unknown handler \"%s\"", i,
		    t->t_name);
		return -1;
	}
	if (!names_add(&vc->ids, t->t_id, &oom)) {
		if (!oom)
			berr_set(e, "bad_batch", "task %zu: duplicate id "
			    "\"%s\"", i, t->t_id);
		return -1;
	}
	return 0;
}

static int
batch_parse_head(struct wk *k, const cJSON *msg, const char **name,
    unsigned *limit, struct berr *e)
{
	const cJSON	*v;
	double		 d;

	*name = NULL;
	*limit = k->k_cfg->limit;
	if (msg == NULL)
		return 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "batch")) != NULL) {
		if (!cJSON_IsString(v) || !v->valuestring[0] ||
		    strlen(v->valuestring) > BATCH_NAME_MAX) {
			berr_set(e, "bad_batch", "batch must be a string of 1 "
			    "to %d bytes", BATCH_NAME_MAX);
			return -1;
		}
		/*
		 * Not named in the error: that name's batch has ended, and no
		 * event names a batch after its end (SPEC 2.4).
		 */
		if (names_has(&k->k_names, v->valuestring)) {
			berr_set(e, "bad_batch", "batch name already used on "
			    "this connection");
			return -1;
		}
		*name = v->valuestring;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "limit")) != NULL) {
		/* Any size: SPEC 2.2 caps it silently at --limit. */
		if (!json_int(v, 1, DBL_MAX, &d)) {
			berr_set(e, "bad_batch", "limit must be an integer >= 1");
			return -1;
		}
		if (d < *limit)
			*limit = (unsigned)d;
	}
	return 0;
}

static int
batch_parse_tasks(struct wk *k, struct batch *b, const cJSON *tasks,
    struct berr *e)
{
	struct vctx	 vc;
	const cJSON	*v;
	size_t		 i = 0;
	int		 n, rc = 0;

	if (!cJSON_IsArray(tasks)) {
		berr_set(e, "bad_batch", "tasks must be an array");
		return -1;
	}
	n = cJSON_GetArraySize(tasks);
	if ((unsigned)n > k->k_cfg->max_batch) {
		berr_set(e, "too_large", "%d tasks: more than --max-batch %u",
		    n, k->k_cfg->max_batch);
		return -1;
	}
	if ((b->b_tasks = calloc(n ? (size_t)n : 1, sizeof(*b->b_tasks))) ==
	    NULL) {
		berr_set(e, "bad_batch", "out of memory");
		return -1;
	}
	memset(&vc, 0, sizeof(vc));
	vc.k = k;
	RB_INIT(&vc.ids);
	cJSON_ArrayForEach(v, tasks) {
		b->b_tasks[i].t_batch = b;
		b->b_ntasks = i + 1;	/* so batch_free sees what is set */
		if (task_parse(&vc, v, i, &b->b_tasks[i], e) < 0) {
			if (e->code == NULL)
				berr_set(e, "bad_batch", "out of memory");
			rc = -1;
			break;
		}
		i++;
	}
	b->b_ntasks = rc ? b->b_ntasks : i;
	names_clear(&vc.ids);
	return rc;
}

static char *
batch_auto_name(struct wk *k)
{
	char	buf[24];

	do
		snprintf(buf, sizeof(buf), "%lu", ++k->k_autoname);
	while (names_has(&k->k_names, buf));
	return strdup(buf);
}

/* A validated batch, or NULL after the error event has been sent. */
struct batch *
batch_parse(struct wk *k, const void *msgv, const void *tasksv)
{
	const cJSON	*msg = msgv, *tasks = tasksv;
	struct berr	 e = { NULL, "" };
	struct batch	*b;
	const char	*name;
	char		 lname[LOG_ESC_SIZE(BATCH_NAME_MAX)];
	bool		 oom = false;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	b->b_wk = k;
	TAILQ_INIT(&b->b_run);
	if (batch_parse_head(k, msg, &name, &b->b_limit, &e) < 0 ||
	    batch_parse_tasks(k, b, tasks, &e) < 0) {
		event_error(k, e.code, name, "%s", e.msg);
		batch_free(b);
		return NULL;
	}
	b->b_name = name ? strdup(name) : batch_auto_name(k);
	if (b->b_name != NULL)
		b->b_lname = strdup(log_esc(lname, sizeof(lname), b->b_name,
		    false));
	if (b->b_name == NULL || b->b_lname == NULL ||
	    (!names_add(&k->k_names, b->b_name, &oom) && oom)) {
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
		task_free(&b->b_tasks[i]);
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
		t->t_state = T_DONE;
		b->b_finished++;
		b->b_failed++;
		event_result(k, b, t, 0, err);
		return;
	}
	t->t_state = T_RUNNING;
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

static void
batch_skip(struct wk *k, struct batch *b, const char *why)
{
	b->b_reason = why;
	event_cancelled(k, b);
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

/* SIGTERM to every running task's group now, SIGKILL after --kill-grace. */
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
	if (b->b_running)
		lws_sul_schedule(k->k_ctx, 0, &k->k_sul_grace, batch_grace_over,
		    (lws_usec_t)k->k_cfg->kill_grace_ms * 1000);
	worker_progress(k);
}

/* The leader of t has exited with status and its group was SIGKILLed. */
void
batch_task_done(struct wk *k, struct task *t, int status)
{
	struct batch	*b = t->t_batch;

	t->t_state = T_DONE;
	TAILQ_REMOVE(&b->b_run, t, t_entry);
	b->b_running--;
	lws_sul_cancel(&t->t_sul);
	task_drain(k, t);
	if (!b->b_cancelling) {
		b->b_finished++;
		if (event_result(k, b, t, status, 0))
			b->b_ok++;
		else
			b->b_failed++;
	}
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
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry)
		task_pause_pipes(t, false);
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
