/*
 * ctl.c - the worker's one door to the control socket (common/msg.h).
 *
 * Only this file reads, sends and dispatches control messages (the
 * reports behind /metrics included), as
 * OpenSSH's monitor_wrap.c is sshd's one way to its monitor.  Messages
 * from the supervisor (an fd to serve, grant, deny, go, query) are
 * accepted only in the states msg_allowed() lists; anything else means
 * the supervisor and this worker disagree about the world, and the worker
 * leaves.  EOF means the supervisor is gone: the worker cancels everything
 * and leaves too.
 *
 * Reports (MSG_TASK, MSG_BATCH_END, two or three a task) wait in k_rep
 * until the loop comes round, and go out together in one sendmmsg: the
 * supervisor, which reads until EAGAIN, then wakes once for them, not
 * once each (a wakeup a report cost it about 12 us of CPU:
 * tests/bench/RESULTS.md).  Any other message and every batch's end send
 * the held ones first, so the supervisor sees them in the order they were
 * made and a batch's task reports before its end, which a worker always
 * sends before it leaves.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

typedef void	(*ctl_fn)(struct wk *, const struct msg *, int);

/* Sends the held reports, in order; those the socket refuses are lost. */
void
ctl_reports_send(struct wk *k)
{
	struct mmsghdr	mm[CTL_REPORTS_MAX];
	struct iovec	iov[CTL_REPORTS_MAX];
	unsigned	i, sent = 0;
	int		n;

	lws_sul_cancel(&k->k_sul_rep);
	memset(mm, 0, sizeof(mm[0]) * k->k_nrep);
	for (i = 0; i < k->k_nrep; i++) {
		iov[i].iov_base = k->k_rep->h_rec[i];
		iov[i].iov_len = k->k_rep->h_len[i];
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (sent < k->k_nrep) {
		n = sendmmsg(CTL_FD, mm + sent, k->k_nrep - sent,
		    MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("sendmmsg: %u reports lost", k->k_nrep - sent);
			break;
		}
		sent += (unsigned)n;
	}
	k->k_nrep = 0;
}

void
ctl_free(struct wk *k)
{
	free(k->k_rep);
	k->k_rep = NULL;
}

static void
ctl_reports_due(lws_sorted_usec_list_t *sul)
{
	ctl_reports_send(lws_container_of(sul, struct wk, k_sul_rep));
}

static void
ctl_send_arg(struct wk *k, enum msg_type type, uint8_t arg, const char *data,
    size_t len)
{
	char	err[128];

	ctl_reports_send(k);
	if (msg_send(CTL_FD, type, arg, data, len, -1, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		/* A claim that cannot be sent would wait for ever. */
		if (type == MSG_CLAIM)
			worker_go(k, GO_SHUTDOWN);
	}
}

/* Holds a report (len <= CTL_REPORT_LEN - MSG_HDR_LEN) for the next send. */
static void
ctl_report(struct wk *k, enum msg_type type, uint8_t arg, const char *data,
    size_t len)
{
	uint8_t	*r;

	if (k->k_rep == NULL && (k->k_rep = malloc(sizeof(*k->k_rep))) == NULL) {
		log_warn("malloc: reports sent one by one");
		ctl_send_arg(k, type, arg, data, len);
		return;
	}
	if (k->k_nrep == CTL_REPORTS_MAX)
		ctl_reports_send(k);
	r = k->k_rep->h_rec[k->k_nrep];
	msg_header(r, type, arg, len);
	if (len)
		memcpy(r + MSG_HDR_LEN, data, len);
	k->k_rep->h_len[k->k_nrep++] = MSG_HDR_LEN + len;
	if (k->k_nrep == 1)
		lws_sul_schedule(k->k_ctx, 0, &k->k_sul_rep, ctl_reports_due,
		    0);
}

static void
ctl_send(struct wk *k, enum msg_type type, const char *data, size_t len)
{
	ctl_send_arg(k, type, 0, data, len);
}

/* Asks for the session; the answer is MSG_GRANT, MSG_DENY or MSG_GO. */
void
ctl_claim(struct wk *k, const char *key, size_t len)
{
	ctl_send(k, MSG_CLAIM, key, len);
}

/*
 * The reports behind /metrics (msg.h: MSG_TASK, MSG_BATCH_END).  Built with
 * -DWSTASKD_NO_REPORTS they are not sent: `make bench` measures their cost.
 */
void
ctl_task(struct wk *k, const struct task *t, enum msg_task what)
{
	char	text[CTL_REPORT_LEN - MSG_HDR_LEN];
	int	n;

#ifdef WSTASKD_NO_REPORTS
	return;
#endif
	if (what == MT_OK || what == MT_FAILED)
		n = snprintf(text, sizeof(text), "%s %lld", t->t_name,
		    (long long)(now_usec() - t->t_start));
	else
		n = snprintf(text, sizeof(text), "%s", t->t_name);
	if (n > 0 && (size_t)n < sizeof(text))
		ctl_report(k, MSG_TASK, (uint8_t)what, text, (size_t)n);
}

/* The queued tasks of a cancelled batch, one report per run of a handler. */
void
ctl_unstarted(struct wk *k, const struct batch *b)
{
	char	text[CTL_REPORT_LEN - MSG_HDR_LEN];
	size_t	i, j;
	int	n;

#ifdef WSTASKD_NO_REPORTS
	return;
#endif
	for (i = b->b_next; i < b->b_ntasks; i = j) {
		for (j = i + 1; j < b->b_ntasks &&
		    !strcmp(b->b_tasks[j].t_name, b->b_tasks[i].t_name); j++)
			;
		n = snprintf(text, sizeof(text), "%s %zu", b->b_tasks[i].t_name,
		    j - i);
		if (n > 0 && (size_t)n < sizeof(text))
			ctl_report(k, MSG_TASK, MT_UNSTARTED, text, (size_t)n);
	}
}

void
ctl_batch(struct wk *k, enum metrics_batch outcome)
{
#ifdef WSTASKD_NO_REPORTS
	return;
#endif
	ctl_report(k, MSG_BATCH_END, (uint8_t)outcome, NULL, 0);
	ctl_reports_send(k);
}

/* GET /metrics: the page comes back as MSG_METRICS (ctl_metrics()). */
int
ctl_metrics_ask(struct wk *k)
{
	char	err[128];

	ctl_reports_send(k);	/* the page counts this worker's too */
	if (msg_send(CTL_FD, MSG_METRICS_ASK, 0, NULL, 0, -1, err,
	    sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
ctl_metrics(struct wk *k, const struct msg *m, int fd)
{
	(void)m;
	http_metrics_page(k, fd);
}

static void
ctl_drain(struct wk *k, const struct msg *m, int fd)
{
	(void)fd;
	k->k_draining = m->arg != 0;
}

static void
ctl_fd(struct wk *k, const struct msg *m, int fd)
{
	if (fd < 0) {
		log_warnx("fd message without a descriptor");
		worker_go(k, GO_SHUTDOWN);
		return;
	}
	conn_adopt(k, fd, m->arg != 0, m->data);
}

static void
ctl_grant(struct wk *k, const struct msg *m, int fd)
{
	(void)fd;
	claim_granted(k, m->arg != 0);
}

static void
ctl_deny(struct wk *k, const struct msg *m, int fd)
{
	(void)m;
	(void)fd;
	event_error(k, "unavailable", NULL, "the server is shutting down");
	worker_go(k, GO_SHUTDOWN);
}

static void
ctl_go(struct wk *k, const struct msg *m, int fd)
{
	(void)fd;
	/* The stop overtook our claim: say so as its denial would. */
	if (m->arg == REASON_SHUTDOWN && k->k_state == WS_CLAIMING)
		event_error(k, "unavailable", NULL,
		    "the server is shutting down");
	worker_go(k, m->arg == REASON_SUPERSEDED ? GO_SUPERSEDED :
	    m->arg == REASON_KILLED ? GO_KILLED : GO_SHUTDOWN);
}

/* The answer to MSG_QUERY (the supervisor's SIGUSR1 table dump). */
static void
ctl_query(struct wk *k, const struct msg *m, int fd)
{
	const struct batch	*b = k->k_cur;
	char			 text[MSG_DATA_MAX];
	int			 n;

	(void)m;
	(void)fd;
	n = snprintf(text, sizeof(text), "batch=%.64s running=%zu queued=%zu "
	    "done=%zu cancelling=%s waiting=%.64s", b ? b->b_lname : "-",
	    b ? b->b_running : 0, b ? b->b_ntasks - b->b_next : 0,
	    b ? b->b_finished : 0, b && b->b_cancelling ? "yes" : "no",
	    k->k_next ? k->k_next->b_lname : "-");
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	ctl_send(k, MSG_STATUS, text, (size_t)n);
}

/* What a worker does with each message the supervisor may send it. */
static const ctl_fn ctl_handlers[MSG_TYPE_MAX] = {
	[MSG_FD] = ctl_fd,
	[MSG_GRANT] = ctl_grant,
	[MSG_DENY] = ctl_deny,
	[MSG_GO] = ctl_go,
	[MSG_QUERY] = ctl_query,
	[MSG_METRICS] = ctl_metrics,
	[MSG_DRAIN] = ctl_drain,
};

static void
ctl_dispatch(struct wk *k, const struct msg *m, int fd)
{
	if (!msg_allowed(m->type, k->k_state, true) ||
	    ctl_handlers[m->type] == NULL) {
		log_warnx("event=protocol-violation state=%s message=%s",
		    wstate_name(k->k_state), msg_type_name(m->type));
		if (fd >= 0)
			close(fd);
		worker_go(k, GO_SHUTDOWN);
		return;
	}
	ctl_handlers[m->type](k, m, fd);
}

/*
 * Reads every queued control message.  Returns -1 at EOF: the supervisor
 * is gone, so the worker cancels everything and leaves (and the control
 * socket's wsi is closed, or EOF would be reported forever).
 */
int
ctl_read(struct wk *k)
{
	struct msg	m;
	char		err[128];
	int		rc, fd;

	for (;;) {
		fd = -1;
		rc = msg_recv(CTL_FD, &m, &fd, err, sizeof(err));
		if (rc == 0 || (rc < 0 && errno == ECONNRESET)) {
			log_debug("event=supervisor-gone session=%s",
			    k->k_session);
			worker_go(k, GO_SHUTDOWN);
			return -1;
		}
		if (rc < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			log_warnx("control socket: %s", err);
			worker_go(k, GO_SHUTDOWN);
			return 0;
		}
		ctl_dispatch(k, &m, fd);
	}
}
