/*
 * view.c - turns the events of one batch into what the user sees.
 *
 * The rows (one per task, in the batch's order) are known before the
 * batch is sent, so every event only updates a row.  Four outputs: NDJSON
 * (each event as received, one line each: `wstask ... | jq`), the live
 * table on a terminal (table.c), plain lines (TERM=dumb or NO_COLOR) and
 * -q (nothing on stdout, a line on stderr per failed task).  Nothing here
 * decides the exit status: run.c does.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "view.h"

#define VIEW_FRAME_USEC	100000	/* redraw the table at most this often */

static void
view_out(struct view *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line on stdout, flushed, so a reader of a pipe sees it at once. */
static void
view_out(struct view *v, const char *fmt, ...)
{
	va_list	ap;

	if (v->v_broken)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fflush(stdout) == EOF)
		view_broken(v);
}

/*
 * Stdout failed.  A reader that went away (`wstask ... | head') is no
 * error to report: the run ends as if SIGPIPE had ended it.
 */
void
view_broken(struct view *v)
{
	if (errno == EPIPE)
		v->v_gone = true;
	else
		log_warn("write to stdout");
	v->v_broken = true;
}

int
view_init(struct view *v, enum view_mode mode, const cJSON *run)
{
	const cJSON	*tasks = cJSON_GetObjectItemCaseSensitive(run, "tasks");
	const cJSON	*t;
	size_t		 i = 0;

	memset(v, 0, sizeof(*v));
	v->v_mode = mode;
	v->v_t0 = now_usec();
	v->v_n = (size_t)cJSON_GetArraySize(tasks);
	if (v->v_n && (v->v_rows = calloc(v->v_n, sizeof(*v->v_rows))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	cJSON_ArrayForEach(t, tasks) {
		v->v_rows[i].r_id = batch_task_id(t, i);
		v->v_rows[i].r_name = strdup(batch_task_name(t));
		if (v->v_rows[i].r_id == NULL || v->v_rows[i].r_name == NULL) {
			log_warn("strdup");
			return -1;
		}
		i++;
	}
	if (mode == VIEW_TABLE) {
		table_size(v);
		table_cursor(false);
		v->v_dirty = true;
	}
	return 0;
}

static struct view_row *
view_row(struct view *v, const cJSON *ev)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(ev, "id");
	size_t		 i, k;

	if (!cJSON_IsString(id))
		return NULL;
	for (i = 0; i < v->v_n; i++) {
		k = (v->v_hint + i) % v->v_n;
		if (strcmp(v->v_rows[k].r_id, id->valuestring) == 0) {
			v->v_hint = k;
			return &v->v_rows[k];
		}
	}
	return NULL;
}

static const char *
view_str(const cJSON *ev, const char *key)
{
	const cJSON	*s = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static double
view_num(const cJSON *ev, const char *key)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsNumber(n) ? n->valuedouble : NAN;
}

/* A JSON value as text: a string as it is, anything else compact. */
static char *
view_text(const cJSON *val)
{
	char	*s;

	if (val == NULL || cJSON_IsNull(val))
		return strdup("");
	if (cJSON_IsString(val))
		return strdup(val->valuestring);
	s = cJSON_PrintUnformatted(val);
	return s ? s : strdup("?");
}

static void
view_set(char **dst, char *s)
{
	if (s == NULL)
		log_warn("strdup");
	free(*dst);
	*dst = s;
}

void
view_duration(char *buf, size_t len, double ms)
{
	if (ms < 0 || isnan(ms))
		snprintf(buf, len, "-");
	else if (ms < 10000)
		snprintf(buf, len, "%.1fs", ms / 1000);
	else if (ms < 600000)
		snprintf(buf, len, "%.0fs", ms / 1000);
	else
		snprintf(buf, len, "%ldm%02lds", (long)(ms / 60000),
		    (long)fmod(ms / 1000, 60));
}

/*
 * {"done","total","message"} (each optional): a bar when done and total
 * are numbers, with the message; any other value is shown as text.
 */
static void
view_progress(struct view_row *r, const cJSON *data)
{
	double		 done = view_num(data, "done");
	double		 total = view_num(data, "total");
	const char	*msg = view_str(data, "message");
	char		 n[64];

	r->r_bar = !isnan(done) && !isnan(total) && total > 0;
	r->r_done = done;
	r->r_total = total;
	if (msg)
		view_set(&r->r_text, strdup(msg));
	else if (r->r_bar)
		view_set(&r->r_text, strdup(""));
	else if (!isnan(done)) {
		snprintf(n, sizeof(n), "%g", done);
		view_set(&r->r_text, strdup(n));
	} else
		view_set(&r->r_text, view_text(data));
}

static void
view_result(struct view *v, struct view_row *r, const cJSON *ev)
{
	bool	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "ok"));

	if (r->r_state == TS_RUNNING)
		v->v_running--;
	r->r_state = ok ? TS_OK : TS_FAILED;
	r->r_ms = (long)view_num(ev, "ms");
	if (ok)
		v->v_ok++;
	else
		v->v_failed++;
	view_set(&r->r_value, ok ?
	    view_text(cJSON_GetObjectItemCaseSensitive(ev, "value")) :
	    strdup(view_str(ev, "error") ? view_str(ev, "error") : "failed"));
	if (v->v_mode == VIEW_QUIET && !ok)
		fprintf(stderr, "wstask: task %s (%s) failed: %s\n", r->r_id,
		    r->r_name, r->r_value ? r->r_value : "?");
}

static void
view_cancelled(struct view *v, const cJSON *ev)
{
	size_t	i;

	for (i = 0; i < v->v_n; i++)
		if (v->v_rows[i].r_state == TS_WAITING ||
		    v->v_rows[i].r_state == TS_RUNNING) {
			v->v_rows[i].r_state = TS_CANCELLED;
			v->v_cancelled++;
		}
	v->v_running = 0;
	v->v_ms = (long)((now_usec() - v->v_t0) / 1000);
	v->v_end = view_str(ev, "reason") && !strcmp(view_str(ev, "reason"),
	    "cancel") ? "cancelled" : "cancelled by the server";
}

/* A row's line in plain mode, after the event changed it. */
static void
view_plain(struct view *v, const char *type, const struct view_row *r,
    const cJSON *ev)
{
	char	t[32];

	if (r == NULL)
		return;
	if (!strcmp(type, "started"))
		view_out(v, "%s %s started\n", r->r_id, r->r_name);
	else if (!strcmp(type, "progress") && r->r_bar)
		view_out(v, "%s %s progress %g/%g%s%s\n", r->r_id, r->r_name,
		    r->r_done, r->r_total, *r->r_text ? " " : "", r->r_text);
	else if (!strcmp(type, "progress"))
		view_out(v, "%s %s progress %s\n", r->r_id, r->r_name,
		    r->r_text ? r->r_text : "");
	else if (!strcmp(type, "log"))
		view_out(v, "%s %s log %s\n", r->r_id, r->r_name,
		    view_str(ev, "line") ? view_str(ev, "line") : "");
	else if (!strcmp(type, "result")) {
		view_duration(t, sizeof(t), (double)r->r_ms);
		view_out(v, "%s %s %s %s %s\n", r->r_id, r->r_name,
		    r->r_state == TS_OK ? "ok" : "failed", t,
		    r->r_value ? r->r_value : "");
	}
}

/* The events about the batch as a whole. */
static void
view_batch_event(struct view *v, const char *type, const cJSON *ev)
{
	const char	*s;

	if (!strcmp(type, "ready") && (s = view_str(ev, "session")))
		snprintf(v->v_session, sizeof(v->v_session), "%s", s);
	else if (!strcmp(type, "accepted") && (s = view_str(ev, "batch"))) {
		snprintf(v->v_batch, sizeof(v->v_batch), "%s", s);
		if (v->v_mode == VIEW_PLAIN)
			view_out(v, "batch %s accepted: %zu tasks, limit %g\n",
			    s, v->v_n, view_num(ev, "limit"));
	} else if (!strcmp(type, "done")) {
		v->v_ms = (long)view_num(ev, "ms");
		v->v_end = "done";
	} else if (!strcmp(type, "cancelled"))
		view_cancelled(v, ev);
}

/* A task's event: the row changes, plain mode says so. */
static void
view_task_event(struct view *v, const char *type, const cJSON *ev)
{
	struct view_row	*r = view_row(v, ev);

	if (r == NULL)
		return;
	if (!strcmp(type, "started") && r->r_state == TS_WAITING) {
		r->r_state = TS_RUNNING;
		r->r_start = now_usec();
		v->v_running++;
	} else if (!strcmp(type, "progress"))
		view_progress(r, cJSON_GetObjectItemCaseSensitive(ev, "data"));
	else if (!strcmp(type, "result") && (r->r_state == TS_RUNNING ||
	    r->r_state == TS_WAITING))
		view_result(v, r, ev);
	else if (!strcmp(type, "log") && v->v_mode == VIEW_TABLE)
		table_log(v, r, view_str(ev, "line") ? view_str(ev, "line") : "");
	if (v->v_mode == VIEW_PLAIN)
		view_plain(v, type, r, ev);
}

/* One event from the server: raw is its text, ev the parsed object. */
void
view_event(struct view *v, const char *raw, const cJSON *ev)
{
	const char	*type = view_str(ev, "type");

	if (v->v_mode == VIEW_JSON)
		view_out(v, "%s\n", raw);
	if (type == NULL)
		return;
	if (cJSON_HasObjectItem(ev, "id"))
		view_task_event(v, type, ev);
	else
		view_batch_event(v, type, ev);
	v->v_dirty = true;
	view_tick(v);
}

bool
view_live(const struct view *v)
{
	return v->v_mode == VIEW_TABLE && !v->v_closed;
}

/* The table again if something changed or a clock runs, at most 10/s. */
void
view_tick(struct view *v)
{
	int64_t	now;

	if (!view_live(v) || (!v->v_dirty && v->v_running == 0))
		return;
	now = now_usec();
	if (v->v_drawn && now - v->v_drawn_at < VIEW_FRAME_USEC)
		return;
	table_draw(v, false);
	v->v_drawn_at = now;
	v->v_dirty = false;
}

void
view_resize(struct view *v)
{
	if (!view_live(v))
		return;
	table_size(v);
	v->v_dirty = true;
}

/* The batch is over (how: why, when no event said): the last frame. */
void
view_end(struct view *v, const char *how)
{
	char	t[32];

	if (v->v_closed)
		return;
	if (v->v_end == NULL && how) {
		v->v_end = how;
		v->v_ms = (long)((now_usec() - v->v_t0) / 1000);
	}
	if (v->v_mode == VIEW_TABLE) {
		table_draw(v, true);
		table_cursor(true);
	} else if (v->v_mode == VIEW_PLAIN && v->v_end) {
		view_duration(t, sizeof(t), (double)v->v_ms);
		view_out(v, "batch %s %s: %zu ok, %zu failed, %zu cancelled, "
		    "%s\n", *v->v_batch ? v->v_batch : "-", v->v_end, v->v_ok,
		    v->v_failed, v->v_cancelled, t);
	}
	v->v_closed = true;
}

void
view_free(struct view *v)
{
	size_t	i;

	for (i = 0; i < v->v_n; i++) {
		free(v->v_rows[i].r_id);
		free(v->v_rows[i].r_name);
		free(v->v_rows[i].r_text);
		free(v->v_rows[i].r_value);
	}
	free(v->v_rows);
	v->v_rows = NULL;
	v->v_n = 0;
}
