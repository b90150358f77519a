/*
 * run.c - the course of one batch: what each event and each end of the
 * connection means, and so the exit status (SPEC 10).
 *
 * Phases: connecting; running (the run is sent at the upgrade, before
 * `ready': the server holds it until the claim is granted); cancelling
 * (after SIGINT: cancel sent, waiting for `cancelled'); ending (the server
 * cancelled the batch itself, its close code follows); closing (our close
 * 1000 is on its way); finished.  The exit status is decided once, by the
 * first thing that settles it, and the last frame of the view and the
 * one-line reason on stderr are written then.  Every wait is bounded by a
 * deadline.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"

#define CLOSE_WAIT_SECS		5	/* for the close handshake */
#define CANCEL_WAIT_SECS	30	/* for `cancelled' after our cancel */

void
run_say(const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* the server's words: no control character reaches the terminal */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "wstask: %s\n", line);
}

/*
 * The exit status is status, for the reason fmt (NULL: none to say); how
 * names the end for the view's summary when no event did.
 */
void
run_decide(struct wstask *w, int status, const char *how, const char *fmt,
    ...)
{
	char	why[1024];
	va_list	ap;

	if (w->w_decided)
		return;
	w->w_decided = true;
	w->w_exit = status;
	view_end(&w->w_view, how);
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	run_say("%s", why);
}

/* Decided, and the connection is to close: wait for that, bounded. */
static void
run_close(struct wstask *w)
{
	if (w->w_phase == PH_FINISHED || w->w_phase == PH_CLOSING)
		return;
	w->w_phase = PH_CLOSING;
	conn_close(w);
	conn_deadline(w, CLOSE_WAIT_SECS);
}

void
run_open(struct wstask *w)
{
	if (w->w_phase != PH_CONNECTING)
		return;
	w->w_phase = PH_RUNNING;
	if (conn_send(w, w->w_run)) {
		run_decide(w, EXIT_PROTOCOL, "failed", "cannot send the batch");
		run_close(w);
	}
}

static const char *
run_str(const cJSON *ev, const char *key)
{
	const cJSON	*s = cJSON_GetObjectItemCaseSensitive(ev, key);

	return cJSON_IsString(s) ? s->valuestring : "";
}

static void
run_done(struct wstask *w, const cJSON *ev)
{
	const cJSON	*failed = cJSON_GetObjectItemCaseSensitive(ev, "failed");

	if (w->w_signal)
		run_decide(w, 128 + w->w_signal, NULL, NULL);
	else
		run_decide(w, cJSON_IsNumber(failed) && failed->valuedouble > 0 ?
		    EXIT_TASK_FAILED : EXIT_ALL_OK, NULL, NULL);
	run_close(w);
}

/* Ours (after SIGINT), or the server's: its close code then says why. */
static void
run_cancelled(struct wstask *w, const cJSON *ev)
{
	const char	*reason = run_str(ev, "reason");

	if (w->w_phase == PH_CANCELLING || w->w_signal) {
		run_decide(w, 128 + w->w_signal, NULL, NULL);
		run_close(w);
		return;
	}
	w->w_end_status = !strcmp(reason, "shutdown") ? EXIT_SHUTDOWN :
	    EXIT_ENDED;
	w->w_phase = PH_ENDING;
	conn_deadline(w, CLOSE_WAIT_SECS);
}

static void
run_error(struct wstask *w, const cJSON *ev)
{
	const char	*code = run_str(ev, "code");

	run_decide(w, !strcmp(code, "unavailable") ? EXIT_SHUTDOWN :
	    EXIT_REFUSED, "refused", "the server refused the batch: %s (%s)",
	    run_str(ev, "message"), code);
	run_close(w);
}

/* Not a wstask.v1 event: the peer is not (this version of) wstaskd. */
static void
run_bad_message(struct wstask *w, const char *text, const char *what)
{
	run_decide(w, EXIT_PROTOCOL, "failed", "not a wstaskd server: %s: "
	    "%.60s%s", what, text, strlen(text) > 60 ? "..." : "");
	run_close(w);
}

void
run_message(struct wstask *w, const char *text, size_t len)
{
	cJSON		*ev = cJSON_ParseWithLength(text, len);
	const char	*type = run_str(ev, "type");
	char		*raw;

	if (!cJSON_IsObject(ev) || !*type) {
		run_bad_message(w, text, "a message that is not an event");
		cJSON_Delete(ev);
		return;
	}
	if (!w->w_got_ready && strcmp(type, "ready") && strcmp(type, "error")) {
		run_bad_message(w, text, "no ready event first");
		cJSON_Delete(ev);
		return;
	}
	w->w_got_ready = true;
	/* NDJSON: one line whatever the server's layout, numbers untouched */
	if ((raw = strdup(text)) == NULL)
		log_warn("strdup");
	else
		cJSON_Minify(raw);
	view_event(&w->w_view, raw ? raw : text, ev);
	free(raw);
	if (!strcmp(type, "done"))
		run_done(w, ev);
	else if (!strcmp(type, "cancelled"))
		run_cancelled(w, ev);
	else if (!strcmp(type, "error"))
		run_error(w, ev);
	cJSON_Delete(ev);
}

/* The connection is gone: its close code settles what nothing else did. */
void
run_closed(struct wstask *w)
{
	int	 code = w->w_peer_close;
	char	*r = w->w_peer_reason;

	if (w->w_phase == PH_CANCELLING)
		run_decide(w, 128 + w->w_signal, "interrupted", "the connection "
		    "closed before the batch was cancelled (close %d)", code);
	else if (code == CLOSE_SUPERSEDED)
		run_decide(w, EXIT_ENDED, "superseded", "superseded: a newer "
		    "connection of session %s took over (close 4001)",
		    w->w_view.v_session);
	else if (code == CLOSE_KILLED)
		run_decide(w, EXIT_ENDED, "killed", "the session was killed "
		    "on the server (close 4002%s%s)", *r ? ": " : "", r);
	else if (code == LWS_CLOSE_STATUS_GOINGAWAY)
		run_decide(w, EXIT_SHUTDOWN, "shut down", "the server is "
		    "shutting down (close 1001)");
	else if (code == LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE)
		run_decide(w, EXIT_REFUSED, "refused", "the batch is larger "
		    "than the server's --max-message (close 1009)");
	else if (code == 0)
		run_decide(w, EXIT_PROTOCOL, "lost", "the connection to %s "
		    "was lost", w->w_where);
	else
		run_decide(w, EXIT_PROTOCOL, "closed", "the server closed the "
		    "connection (close %d%s%s)", code, *r ? ": " : "", r);
	w->w_phase = PH_FINISHED;
}

void
run_conn_failed(struct wstask *w, const char *why)
{
	if (w->w_phase == PH_CONNECTING)
		run_decide(w, EXIT_PROTOCOL, NULL, "cannot connect to %s: %s",
		    w->w_where, why);
	else
		run_decide(w, EXIT_PROTOCOL, "failed", "%s", why);
	w->w_phase = PH_FINISHED;
}

void
run_deadline(struct wstask *w)
{
	switch (w->w_phase) {
	case PH_CANCELLING:
		run_decide(w, 128 + w->w_signal, "interrupted", "no cancelled "
		    "event within %d s; leaving", CANCEL_WAIT_SECS);
		break;
	case PH_ENDING:
		run_decide(w, w->w_end_status, w->w_end_status == EXIT_SHUTDOWN ?
		    "shut down" : "ended", "the server cancelled the batch");
		break;
	default:
		break;
	}
	w->w_phase = PH_FINISHED;
}

/* SIGINT/SIGTERM: cancel and wait for cancelled; a second one: leave. */
void
run_signal(struct wstask *w, int sig)
{
	cJSON	*msg;

	if (sig == SIGWINCH) {
		view_resize(&w->w_view);
		return;
	}
	if (w->w_signal || w->w_phase == PH_CONNECTING) {
		w->w_signal = w->w_signal ? w->w_signal : sig;
		run_decide(w, 128 + w->w_signal, "interrupted", NULL);
		w->w_phase = PH_FINISHED;
		return;
	}
	w->w_signal = sig;
	if (w->w_phase != PH_RUNNING)
		return;
	if ((msg = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(msg, "type", "cancel") == NULL ||
	    conn_send(w, msg)) {
		cJSON_Delete(msg);
		run_decide(w, 128 + sig, "interrupted", "cannot send cancel");
		run_close(w);
		return;
	}
	cJSON_Delete(msg);
	w->w_phase = PH_CANCELLING;
	conn_deadline(w, CANCEL_WAIT_SECS);
}
