/*
 * event.c - the server -> client events of wstask.v1 (SPEC 2.3, 7.1,
 * 7.2), built with cJSON and queued for the connection in order.
 *
 * Every string that could carry a client's or a handler's bytes goes
 * through cJSON, and anything we composed from possibly cut text is
 * repaired to valid UTF-8 first: a text frame must be UTF-8.
 */
#include <sys/wait.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "util.h"
#include "worker.h"

/*
 * An event that cannot be built would leave the client waiting for it
 * (a result, a done) forever: the stream is broken, so the connection is
 * closed with 1011 and the session ends as on any close.
 */
static void
event_lost(struct wk *k, const char *what)
{
	log_warnx("event=lost session=%s: cannot %s an event: out of memory",
	    k->k_session, what);
	conn_close(k, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
	    "server out of memory");
}

void
event_push(struct wk *k, cJSON *obj)
{
	struct outmsg	*m;
	char		*s;
	size_t		 len;

	if (k->k_conn == NULL || !k->k_ws || k->k_close_code) {
		cJSON_Delete(obj);
		return;
	}
	if (obj == NULL) {
		event_lost(k, "build");
		return;
	}
	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (s == NULL) {
		event_lost(k, "print");
		return;
	}
	/*
	 * The printed text becomes the queued message in place: grown by the
	 * header (a large block is remapped, not copied) and moved up.
	 */
	len = strlen(s);
	if ((m = realloc(s, sizeof(*m) + LWS_PRE + len)) == NULL) {
		free(s);
		event_lost(k, "queue");
		return;
	}
	memmove(m->q_buf + LWS_PRE, m, len);
	m->q_len = len;
	m->q_next = NULL;
	*k->k_qtail = m;
	k->k_qtail = &m->q_next;
	k->k_qbytes += len;
	lws_callback_on_writable(k->k_conn);
	if (!k->k_choked && k->k_qbytes > OUTQ_HIGH) {
		log_debug("event=choke session=%s queued=%zu", k->k_session,
		    k->k_qbytes);
		k->k_choked = true;
		conn_rx_update(k);
		batch_choke(k);
	}
}

void
outq_free(struct wk *k)
{
	struct outmsg	*m, *next;

	for (m = k->k_qhead; m; m = next) {
		next = m->q_next;
		free(m);
	}
	k->k_qhead = NULL;
	k->k_qtail = &k->k_qhead;
	k->k_qbytes = 0;
	free(k->k_wbuf);
	k->k_wbuf = NULL;
}

static cJSON *
event_new(const char *type, const char *batch)
{
	cJSON	*o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddStringToObject(o, "type", type) ||
	    (batch && !cJSON_AddStringToObject(o, "batch", batch))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

void
event_ready(struct wk *k, bool superseded)
{
	cJSON	*o = event_new("ready", NULL);

	if (o && (!cJSON_AddStringToObject(o, "session", k->k_session) ||
	    !cJSON_AddBoolToObject(o, "superseded", superseded))) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

/* An error event; task and path only for bad_args (SPEC 8.3). */
static void
event_error_send(struct wk *k, const char *code, const char *batch,
    const char *msg, const char *task, const char *path)
{
	char	*fixed, lm[LOG_ESC_SIZE(512)], lb[LOG_ESC_SIZE(BATCH_NAME_MAX)];
	size_t	 len;
	cJSON	*o;

	log_info("event=error session=%s code=%s batch=%s message=\"%s\"",
	    k->k_session, code, batch ? log_esc(lb, sizeof(lb), batch, false) :
	    "-", log_esc(lm, sizeof(lm), msg, true));
	if ((fixed = utf8_repair(msg, strlen(msg), &len)) == NULL) {
		event_push(k, NULL);
		return;
	}
	o = event_new("error", NULL);
	if (o && (!cJSON_AddStringToObject(o, "code", code) ||
	    !cJSON_AddStringToObject(o, "message", fixed) ||
	    (batch && !cJSON_AddStringToObject(o, "batch", batch)) ||
	    (task && (!cJSON_AddStringToObject(o, "task", task) ||
	    !cJSON_AddStringToObject(o, "path", path))))) {
		cJSON_Delete(o);
		o = NULL;
	}
	free(fixed);
	event_push(k, o);
}

void
event_error(struct wk *k, const char *code, const char *batch,
    const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	event_error_send(k, code, batch, msg, NULL, NULL);
}

/* A run refused by validation. */
void
event_refused(struct wk *k, const struct verr *e, const char *batch)
{
	event_error_send(k, e->code, batch, e->msg, e->task, e->path);
}

void
event_accepted(struct wk *k, const struct batch *b)
{
	cJSON	*o = event_new("accepted", b->b_name);

	if (o && (!cJSON_AddNumberToObject(o, "tasks", (double)b->b_ntasks) ||
	    !cJSON_AddNumberToObject(o, "limit", b->b_limit))) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

void
event_started(struct wk *k, const struct batch *b, const struct task *t)
{
	cJSON	*o = event_new("started", b->b_name);

	if (o && !cJSON_AddStringToObject(o, "id", t->t_id)) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

/* The last STDERR_TAIL bytes of stderr, in order, as valid UTF-8. */
static cJSON *
event_stderr(const struct task *t)
{
	char	 tail[STDERR_TAIL], *fixed;
	size_t	 n, start, i, len;
	cJSON	*s;

	n = t->t_errtotal < STDERR_TAIL ? t->t_errtotal : STDERR_TAIL;
	start = t->t_errtotal - n;
	for (i = 0; i < n; i++)
		tail[i] = t->t_errtail[(start + i) % STDERR_TAIL];
	if ((fixed = utf8_repair(tail, n, &len)) == NULL)
		return NULL;
	s = cJSON_CreateString(fixed);
	free(fixed);
	return s;
}

/* Adds ok, error, exit or signal; -1 when out of memory. */
static int
event_outcome(cJSON *o, const struct task *t, int status, int spawn_errno,
    bool *okp)
{
	char	err[128], sig[32];
	bool	exited = WIFEXITED(status), ok;

	ok = spawn_errno == 0 && !t->t_over && !t->t_timed_out && !t->t_oom &&
	    exited && WEXITSTATUS(status) == 0;
	if (spawn_errno)
		snprintf(err, sizeof(err), "cannot start handler: %s",
		    strerror(spawn_errno));
	else if (t->t_over)
		snprintf(err, sizeof(err), "output exceeded %zu bytes",
		    t->t_batch->b_wk->k_cfg->max_output);
	else if (t->t_oom)
		snprintf(err, sizeof(err), "out of memory");
	else if (t->t_timed_out)
		snprintf(err, sizeof(err), "timed out after %" PRIu64 " ms",
		    t->t_timeout_ms);
	else if (exited)
		snprintf(err, sizeof(err), "exit status %d",
		    WEXITSTATUS(status));
	else
		snprintf(err, sizeof(err), "killed by %s",
		    signal_name(WTERMSIG(status), sig, sizeof(sig)));
	*okp = ok;
	if (!cJSON_AddBoolToObject(o, "ok", ok) ||
	    (!ok && !cJSON_AddStringToObject(o, "error", err)))
		return -1;
	if (spawn_errno == 0 && exited &&
	    !cJSON_AddNumberToObject(o, "exit", WEXITSTATUS(status)))
		return -1;
	if (spawn_errno == 0 && !exited && !cJSON_AddStringToObject(o,
	    "signal", signal_name(WTERMSIG(status), sig, sizeof(sig))))
		return -1;
	return 0;
}

/* Adds item as key, or frees it: -1 when it could not be added. */
static int
event_add(cJSON *o, const char *key, cJSON *item)
{
	if (item != NULL && cJSON_AddItemToObject(o, key, item))
		return 0;
	cJSON_Delete(item);
	return -1;
}

/*
 * Sends t's result; returns whether the task succeeded.  The value refers
 * to the task's output buffer (or its repaired copy) until it is printed.
 */
bool
event_result(struct wk *k, const struct batch *b, struct task *t,
    int status, int spawn_errno)
{
	cJSON	*o = event_new("result", b->b_name);
	char	*text = NULL, empty[1];
	bool	 ok = false;

	if (o == NULL || !cJSON_AddStringToObject(o, "id", t->t_id) ||
	    event_outcome(o, t, status, spawn_errno, &ok) < 0 ||
	    event_add(o, "value", t->t_buf ? value_from_output(t->t_buf,
	    t->t_len, &text) : value_from_output(empty, 0, &text)) < 0 ||
	    !cJSON_AddNumberToObject(o, "ms",
	    (double)((now_usec() - t->t_start) / 1000)) ||
	    (!ok && event_add(o, "stderr", event_stderr(t)) < 0)) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
	free(text);
	return ok;
}

void
event_done(struct wk *k, const struct batch *b)
{
	cJSON	*o = event_new("done", b->b_name);

	if (o && (!cJSON_AddNumberToObject(o, "ok", (double)b->b_ok) ||
	    !cJSON_AddNumberToObject(o, "failed", (double)b->b_failed) ||
	    !cJSON_AddNumberToObject(o, "ms",
	    (double)((now_usec() - b->b_start) / 1000)))) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

void
event_cancelled(struct wk *k, const struct batch *b)
{
	cJSON	*o = event_new("cancelled", b->b_name);

	if (o && (!cJSON_AddStringToObject(o, "reason", b->b_reason) ||
	    !cJSON_AddNumberToObject(o, "finished", (double)b->b_finished) ||
	    !cJSON_AddNumberToObject(o, "started", (double)b->b_started) ||
	    !cJSON_AddNumberToObject(o, "cancelled",
	    (double)(b->b_ntasks - b->b_finished)))) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

/* data is taken; NULL (out of memory) loses the event. */
void
event_progress(struct wk *k, const struct batch *b, const struct task *t,
    cJSON *data)
{
	cJSON	*o = data ? event_new("progress", b->b_name) : NULL;

	if (o == NULL || !cJSON_AddStringToObject(o, "id", t->t_id)) {
		cJSON_Delete(data);
		cJSON_Delete(o);
		o = NULL;
	} else if (event_add(o, "data", data) < 0) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}

/* line is valid UTF-8; NULL (out of memory) loses the event. */
void
event_log(struct wk *k, const struct batch *b, const struct task *t,
    const char *line)
{
	cJSON	*o = line ? event_new("log", b->b_name) : NULL;

	if (o && (!cJSON_AddStringToObject(o, "id", t->t_id) ||
	    !cJSON_AddStringToObject(o, "line", line))) {
		cJSON_Delete(o);
		o = NULL;
	}
	event_push(k, o);
}
