/*
 * control.c - messages from workers, and sending messages to them.
 *
 * A worker may send only what msg_allowed() permits in its current state;
 * anything else (or a malformed record) means the worker is broken or
 * compromised: it is logged and SIGKILLed, and the crash sweep cleans up
 * after it.  EOF on the socket is one of the three conditions of a
 * session being over (see child.c).
 *
 * A worker that cannot set itself up says why (MSG_SETUP) and exits.
 * The next one will most likely fail the same way: after SETUP_FAULT
 * such failures in a row for the same reason, one error line names the
 * likely cause, and none again until a worker has served (a claim) or a
 * different reason comes.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#define SETUP_FAULT	3	/* set-up failures in a row: a fault */

int
control_send(struct supervisor *sv, struct worker *w, enum msg_type type,
    uint8_t arg, const char *data, size_t len, int passfd)
{
	char	err[128];

	(void)sv;
	if (w->w_ctl < 0)
		return -1;
	if (msg_send(w->w_ctl, type, arg, data, len, passfd, err,
	    sizeof(err)) < 0) {
		/* A worker that died first is not news: its reap is coming. */
		if (errno == EPIPE || errno == ECONNREFUSED ||
		    errno == ECONNRESET)
			log_debug("pid=%ld: %s", (long)w->w_pid, err);
		else
			log_warnx("pid=%ld: %s", (long)w->w_pid, err);
		return -1;
	}
	return 0;
}

void
control_violation(struct supervisor *sv, struct worker *w, const char *what)
{
	log_warnx("event=protocol-violation pid=%ld state=%s: %s",
	    (long)w->w_pid, wstate_name(w->w_state), what);
	if (!w->w_reaped && kill(w->w_pid, SIGKILL) < 0)
		log_warn("kill %ld SIGKILL", (long)w->w_pid);
	child_unspare(sv, w);	/* never hand it a connection */
	w->w_state = WS_GOING;
	w->w_broken = true;
}

static void
control_eof(struct supervisor *sv, struct worker *w)
{
	loop_del(sv, w->w_ctl);
	close(w->w_ctl);
	w->w_ctl = -1;
	child_unspare(sv, w);	/* a spare that hung up is dying */
	child_over(sv, w);
}

static void
control_setup_failed(struct supervisor *sv, const char *reason)
{
	if (strcmp(reason, sv->sv_setup_reason) != 0) {
		strlcpy(sv->sv_setup_reason, reason,
		    sizeof(sv->sv_setup_reason));
		sv->sv_setup_fails = 0;
	}
	if (sv->sv_setup_fails < SETUP_FAULT &&
	    ++sv->sv_setup_fails == SETUP_FAULT)
		log_errx("event=setup-fault count=%u: workers fail at set-up: "
		    "%s; check that --tasks and --www can be read by the user "
		    "workers run as", SETUP_FAULT, reason);
}

/* A worker got as far as serving: the next set-up fault is news again. */
static void
control_setup_ok(struct supervisor *sv)
{
	sv->sv_setup_fails = 0;
	sv->sv_setup_reason[0] = '\0';
}

static void
control_message(struct supervisor *sv, struct worker *w, struct msg *m)
{
	if (w->w_broken)
		return;
	if (!msg_allowed(m->type, w->w_state, false)) {
		control_violation(sv, w, msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case MSG_CLAIM:
		if (!session_key_valid(m->data, m->len)) {
			control_violation(sv, w, "claim of an invalid id");
			return;
		}
		/* Sent before our go reached it: the go already answers it. */
		if (w->w_state == WS_GOING) {
			log_debug("event=claim-ignored pid=%ld state=going",
			    (long)w->w_pid);
			return;
		}
		control_setup_ok(sv);
		child_served(sv);
		session_claim(sv, w, m->data);
		break;
	case MSG_SETUP:
		log_debug("event=setup-failed pid=%ld: %s", (long)w->w_pid,
		    m->data);
		control_setup_failed(sv, m->data);
		break;
	case MSG_STATUS:
		/* One answer a question: a worker must not flood the log. */
		if (w->w_queries == 0) {
			control_violation(sv, w, "status not asked for");
			return;
		}
		w->w_queries--;
		log_info("event=worker pid=%ld state=%s session=%s peer=%s "
		    "age_s=%lld %s", (long)w->w_pid, wstate_name(w->w_state),
		    w->w_id, w->w_peer,
		    (long long)((now_usec() - w->w_start) / 1000000), m->data);
		break;
	case MSG_TASK:
		report_task(sv, w, m);
		break;
	case MSG_BATCH_END:
		report_batch(sv, w, m);
		break;
	case MSG_METRICS_ASK:
		report_metrics(sv, w);
		break;
	default:
		control_violation(sv, w, msg_type_name(m->type));
	}
}

void
control_dispatch(struct supervisor *sv, struct worker *w)
{
	struct msg	m;
	char		err[128];
	int		rc;

	for (;;) {
		rc = msg_recv(w->w_ctl, &m, NULL, err, sizeof(err));
		if (rc == 0) {
			control_eof(sv, w);	/* may free w */
			return;
		}
		if (rc < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNRESET) {
				control_eof(sv, w);
				return;
			}
			control_violation(sv, w, err);
			continue;	/* read on to EOF */
		}
		control_message(sv, w, &m);
	}
}
