/*
 * validate.c - checking a run before anything of it starts (SPEC 2.2).
 *
 * A run is turned into a batch's tasks here, or refused with the code and
 * text of its first problem: the batch name (unique for the connection),
 * the limit, "log" (SPEC 7.2), the task list (its size against
 * --max-batch), and per task the handler (its name, whether it can run,
 * its manifest and whether this user may run it), the id (unique within
 * the batch, defaulted to the index), timeout_ms, and args against the
 * manifest's schema (bad_args, naming the task, a JSON Pointer into its
 * args and the rule).  Nothing here
 * sends, starts or changes the connection's state but the task array of
 * the batch being built, which the caller frees on refusal.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "schema.h"
#include "worker.h"

#define ID_INT_MAX	9007199254740991.0	/* 2^53 - 1: exact in a double */

struct vhandler {		/* a handler found usable in this pass */
	const char	*vh_name;
	struct manifest	 vh_m;
};

struct vctx {			/* one validation pass */
	struct wk	*k;
	struct name_tree ids;
	struct vhandler	*hs;	/* each handler is read once a pass */
	size_t		 nhs;
	struct verr	*e;
};

static int __attribute__((format(printf, 3, 4)))
verr_set(struct verr *e, const char *code, const char *fmt, ...)
{
	va_list	ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static bool
validate_int(const cJSON *v, double min, double max, double *out)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble < min || v->valuedouble > max)
		return false;
	*out = v->valuedouble;
	return true;
}

static int
validate_refuse(struct vctx *vc, size_t i, const char *name,
    enum handler_state st, const char *why)
{
	switch (st) {
	case HANDLER_NOT_FILE:
		return verr_set(vc->e, "bad_batch", "task %zu: handler \"%s\" "
		    "is not a regular file", i, name);
	case HANDLER_NOT_EXEC:
		return verr_set(vc->e, "bad_batch", "task %zu: handler \"%s\" "
		    "is not executable", i, name);
	case HANDLER_BAD_MANIFEST:
		return verr_set(vc->e, "bad_batch", "task %zu: handler \"%s\" "
		    "has an invalid manifest %s%s: %s", i, name, name,
		    MANIFEST_SUFFIX, why);
	case HANDLER_CLOSED:
		return verr_set(vc->e, "bad_batch", "task %zu: handler \"%s\" "
		    "is only for the users its manifest names, and the server "
		    "has no users", i, name);
	default:
		return verr_set(vc->e, "bad_batch", "task %zu: unknown handler "
		    "\"%s\"", i, name);
	}
}

/* The handler's manifest (read once per name and pass), or NULL refused. */
static const struct manifest *
validate_handler(struct vctx *vc, const char *name, size_t i)
{
	enum handler_state	 st;
	struct vhandler		*h;
	char			 why[256];
	size_t			 j;

	for (j = 0; j < vc->nhs; j++)
		if (!strcmp(vc->hs[j].vh_name, name))
			return &vc->hs[j].vh_m;
	if ((h = reallocarray(vc->hs, vc->nhs + 1, sizeof(*h))) == NULL) {
		verr_set(vc->e, "bad_batch", "out of memory");
		return NULL;
	}
	vc->hs = h;
	h += vc->nhs;
	if ((st = handler_load(vc->k, name, &h->vh_m, why, sizeof(why))) !=
	    HANDLER_OK) {
		validate_refuse(vc, i, name, st, why);
		return NULL;
	}
	h->vh_name = name;
	vc->nhs++;
	return &h->vh_m;
}

/* SPEC 8.3: args against the manifest's schema (absent: checked as null). */
static int
validate_args(struct vctx *vc, const struct manifest *m, const cJSON *args,
    const struct task *t)
{
	struct schema_err	se;

	if (m->m_args == NULL || schema_validate(m->m_args, args, &se) == 0)
		return 0;
	vc->e->task = t->t_id;
	strlcpy(vc->e->path, se.path, sizeof(vc->e->path));
	return verr_set(vc->e, "bad_args", "task %s: %s: %s", t->t_id,
	    se.path[0] ? se.path : "args", se.msg);
}

/* The smallest of the task's, the manifest's and --task-timeout wins. */
static void
validate_timeout(struct vctx *vc, const struct manifest *m, struct task *t)
{
	uint64_t	flag = vc->k->k_cfg->task_timeout_s * UINT64_C(1000);

	if (m->m_timeout_ms && (t->t_timeout_ms == 0 ||
	    m->m_timeout_ms < t->t_timeout_ms))
		t->t_timeout_ms = m->m_timeout_ms;
	if (flag && (t->t_timeout_ms == 0 || t->t_timeout_ms > flag))
		t->t_timeout_ms = flag;
}

static int
validate_id(const cJSON *v, size_t i, char **out, struct verr *e)
{
	char	buf[32];
	double	d;

	if (v == NULL)
		snprintf(buf, sizeof(buf), "%zu", i);
	else if (validate_int(v, -ID_INT_MAX, ID_INT_MAX, &d))
		snprintf(buf, sizeof(buf), "%.0f", d == 0 ? 0.0 : d);	/* -0 */
	else if (cJSON_IsString(v) && v->valuestring[0] &&
	    strlen(v->valuestring) <= TASK_ID_MAX) {
		*out = strdup(v->valuestring);
		return *out ? 0 : -1;
	} else
		return verr_set(e, "bad_batch", "task %zu: id must be a string "
		    "of 1 to %d bytes or an integer", i, TASK_ID_MAX);
	*out = strdup(buf);
	return *out ? 0 : -1;
}

/* The members of an object TASK besides "task". */
static int
validate_fields(struct vctx *vc, const cJSON *v, size_t i, struct task *t)
{
	const cJSON	*f;
	double		 d;

	if (validate_id(cJSON_GetObjectItemCaseSensitive(v, "id"), i,
	    &t->t_id, vc->e) < 0)
		return -1;
	f = cJSON_GetObjectItemCaseSensitive(v, "timeout_ms");
	if (f && !validate_int(f, 1, 2147483647, &d))
		return verr_set(vc->e, "bad_batch", "task %zu: timeout_ms must "
		    "be an integer from 1 to 2147483647", i);
	t->t_timeout_ms = f ? (uint64_t)d : 0;
	f = cJSON_GetObjectItemCaseSensitive(v, "args");
	if (f && (t->t_args = cJSON_PrintUnformatted(f)) == NULL)
		return verr_set(vc->e, "bad_batch", "task %zu: args cannot be "
		    "encoded", i);
	return 0;
}

/* One TASK: an object, or a bare handler name. */
static int
validate_task(struct vctx *vc, const cJSON *v, size_t i, struct task *t)
{
	const struct manifest	*m;
	const cJSON		*name = v;
	bool			 oom = false;

	if (cJSON_IsObject(v))
		name = cJSON_GetObjectItemCaseSensitive(v, "task");
	else if (!cJSON_IsString(v))
		return verr_set(vc->e, "bad_batch", "task %zu: must be an "
		    "object or a handler name", i);
	if (!cJSON_IsString(name))
		return verr_set(vc->e, "bad_batch", "task %zu: \"task\" (a "
		    "handler name) is required", i);
	if (!handler_name_ok(name->valuestring, strlen(name->valuestring)))
		return verr_set(vc->e, "bad_batch", "task %zu: bad handler "
		    "name \"%.64s\"", i, name->valuestring);
	if ((t->t_name = strdup(name->valuestring)) == NULL)
		return -1;
	if (cJSON_IsObject(v) ? validate_fields(vc, v, i, t) < 0 :
	    validate_id(NULL, i, &t->t_id, vc->e) < 0)
		return -1;
	if ((m = validate_handler(vc, t->t_name, i)) == NULL)
		return -1;
	if (!nameset_add(&vc->ids, t->t_id, &oom))
		return oom ? -1 : verr_set(vc->e, "bad_batch", "task %zu: "
		    "duplicate id \"%s\"", i, t->t_id);
	validate_timeout(vc, m, t);
	return validate_args(vc, m, cJSON_IsObject(v) ?
	    cJSON_GetObjectItemCaseSensitive(v, "args") : NULL, t);
}

/* The run's own members: "batch", "limit", "log" (a bare array has none). */
static int
validate_head(struct wk *k, const cJSON *msg, const char **name,
    struct batch *b, struct verr *e)
{
	unsigned	*limit = &b->b_limit;
	const cJSON	*v;
	double		 d;

	*name = NULL;
	*limit = k->k_cfg->limit;
	if (!cJSON_IsObject(msg))
		return 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "batch")) != NULL) {
		if (!cJSON_IsString(v) || !v->valuestring[0] ||
		    strlen(v->valuestring) > BATCH_NAME_MAX)
			return verr_set(e, "bad_batch", "batch must be a string "
			    "of 1 to %d bytes", BATCH_NAME_MAX);
		/*
		 * Not named in the error: that name's batch has ended, and no
		 * event names a batch after its end (SPEC 2.4).
		 */
		if (nameset_has(&k->k_names, v->valuestring))
			return verr_set(e, "bad_batch", "batch name already used "
			    "on this connection");
		*name = v->valuestring;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "limit")) != NULL) {
		/* Any size: SPEC 2.2 caps it silently at --limit. */
		if (!validate_int(v, 1, DBL_MAX, &d))
			return verr_set(e, "bad_batch", "limit must be an "
			    "integer >= 1");
		if (d < *limit)
			*limit = (unsigned)d;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(msg, "log")) != NULL) {
		if (!cJSON_IsBool(v))
			return verr_set(e, "bad_batch", "log must be true or "
			    "false");
		b->b_log = cJSON_IsTrue(v);
	}
	return 0;
}

static int
validate_tasks(struct wk *k, struct batch *b, const cJSON *tasks,
    struct verr *e)
{
	struct vctx	 vc;
	const cJSON	*v;
	size_t		 i = 0;
	int		 n, rc = 0;

	if (!cJSON_IsArray(tasks))
		return verr_set(e, "bad_batch", "tasks must be an array");
	n = cJSON_GetArraySize(tasks);
	if ((unsigned)n > k->k_cfg->max_batch)
		return verr_set(e, "too_large", "%d tasks: more than "
		    "--max-batch %u", n, k->k_cfg->max_batch);
	if ((b->b_tasks = calloc(n ? (size_t)n : 1, sizeof(*b->b_tasks))) ==
	    NULL)
		return verr_set(e, "bad_batch", "out of memory");
	memset(&vc, 0, sizeof(vc));
	vc.k = k;
	vc.e = e;
	RB_INIT(&vc.ids);
	cJSON_ArrayForEach(v, tasks) {
		b->b_tasks[i].t_batch = b;
		b->b_ntasks = i + 1;	/* so batch_free sees what is set */
		if (validate_task(&vc, v, i, &b->b_tasks[i]) < 0) {
			if (e->code == NULL)
				verr_set(e, "bad_batch", "out of memory");
			rc = -1;
			break;
		}
		i++;
	}
	b->b_ntasks = rc ? b->b_ntasks : i;
	nameset_clear(&vc.ids);
	for (i = 0; i < vc.nhs; i++)
		manifest_free(&vc.hs[i].vh_m);
	free(vc.hs);
	return rc;
}

/*
 * Fills b's limit and tasks from a run (an object, or the bare array of
 * tasks); *name is the batch name the client gave, or NULL.  -1 with *e
 * set: the run is refused, and b holds what must be freed.
 */
int
validate_run(struct wk *k, const cJSON *run, struct batch *b,
    const char **name, struct verr *e)
{
	const cJSON	*tasks = run;

	if (validate_head(k, run, name, b, e) < 0)
		return -1;
	if (cJSON_IsObject(run))
		tasks = cJSON_GetObjectItemCaseSensitive(run, "tasks");
	return validate_tasks(k, b, tasks, e);
}
