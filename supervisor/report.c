/*
 * report.c - the figures of /metrics (SPEC 9.1): what workers report
 * about their tasks and batches, and the page a worker asks for.
 *
 * The supervisor keeps, per worker, the handler of each task it reported
 * started and not yet ended (at most --limit), so wstaskd_tasks_running
 * is exact and a worker that ends with tasks unreported (a crash) has
 * them counted as cancelled when its record goes (report_worker_over()).
 * A report that does not fit that account (an end without a start, more
 * than --limit running, a bad number) is a protocol violation, as any
 * message out of place is.
 */
#include <sys/mman.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#ifndef WSTASKD_VERSION
#define WSTASKD_VERSION "0.0.0"
#endif

/* "NAME" or "NAME NUMBER": the name cut off at the space; false if bad. */
static bool
report_split(char *data, uint64_t *num, bool want_num)
{
	char	*sp = strchr(data, ' '), *end;

	if ((sp != NULL) != want_num)
		return false;
	if (sp == NULL)
		return strlen(data) <= TASK_NAME_MAX;
	*sp = '\0';
	if (strlen(data) > TASK_NAME_MAX || sp[1] < '0' || sp[1] > '9')
		return false;
	errno = 0;
	*num = strtoull(sp + 1, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool
report_started(struct supervisor *sv, struct worker *w, const char *name)
{
	void		*v;
	unsigned	 cap;

	if (w->w_ntasks >= sv->sv_cfg->limit)
		return false;
	if (w->w_ntasks == w->w_taskcap) {
		cap = w->w_taskcap ? w->w_taskcap * 2 : 4;
		if (cap > sv->sv_cfg->limit)
			cap = sv->sv_cfg->limit;
		if ((v = reallocarray(w->w_tasks, cap, sizeof(*w->w_tasks))) ==
		    NULL) {
			/* Uncounted rather than a worker killed for our lack. */
			log_warn("reallocarray");
			return true;
		}
		w->w_tasks = v;
		w->w_taskcap = cap;
	}
	strlcpy(w->w_tasks[w->w_ntasks++], name, sizeof(*w->w_tasks));
	return true;
}

/* One running task of that handler ends; false if there is none. */
static bool
report_ended(struct worker *w, const char *name)
{
	unsigned	i;

	for (i = 0; i < w->w_ntasks; i++)
		if (strcmp(w->w_tasks[i], name) == 0) {
			w->w_ntasks--;
			if (i != w->w_ntasks)
				memcpy(w->w_tasks[i], w->w_tasks[w->w_ntasks],
				    sizeof(*w->w_tasks));
			return true;
		}
	return false;
}

void
report_task(struct supervisor *sv, struct worker *w, const struct msg *m)
{
	static const enum metrics_task outcome[MT_MAX] = {
		[MT_OK] = TASK_OK, [MT_FAILED] = TASK_FAILED,
		[MT_CANCELLED] = TASK_CANCELLED, [MT_UNSTARTED] = TASK_CANCELLED
	};
	char		name[MSG_DATA_MAX + 1];
	uint64_t	num = 0;
	bool		want_num = m->arg == MT_OK || m->arg == MT_FAILED ||
			    m->arg == MT_UNSTARTED;

	strlcpy(name, m->data, sizeof(name));
	if (!report_split(name, &num, want_num)) {
		control_violation(sv, w, "malformed task report");
		return;
	}
	switch (m->arg) {
	case MT_STARTED:
		if (!report_started(sv, w, name))
			control_violation(sv, w, "more tasks than --limit");
		return;
	case MT_UNSTARTED:
		if (num > sv->sv_cfg->max_batch) {
			control_violation(sv, w, "more tasks than --max-batch");
			return;
		}
		metrics_task(&sv->sv_metrics, name, TASK_CANCELLED, num, 0);
		return;
	default:
		if (!report_ended(w, name)) {
			control_violation(sv, w, "end of a task never started");
			return;
		}
		metrics_task(&sv->sv_metrics, name, outcome[m->arg], 1,
		    (double)num / 1e6);
	}
}

void
report_batch(struct supervisor *sv, struct worker *w, const struct msg *m)
{
	(void)w;
	sv->sv_metrics.m_batches[m->arg]++;
}

/*
 * Its record goes: tasks it never reported ended (it crashed, or was
 * killed) count as cancelled.  Its queued tasks are not known here.
 */
void
report_worker_over(struct supervisor *sv, struct worker *w)
{
	unsigned	i;

	for (i = 0; i < w->w_ntasks; i++)
		metrics_task(&sv->sv_metrics, w->w_tasks[i], TASK_CANCELLED, 1,
		    0);
	free(w->w_tasks);
	w->w_tasks = NULL;
	w->w_ntasks = w->w_taskcap = 0;
}

/* The state of wstaskd_workers and of wstaskctl status. */
const char *
report_wstate(const struct worker *w)
{
	switch (w->w_state) {
	case WS_SPARE:
		return "spare";
	case WS_CONNECTED:
	case WS_CLAIMING:
		return "connection";
	case WS_GRANTED:
		return "session";
	default:
		return "draining";
	}
}

unsigned
report_tasks_running(struct supervisor *sv)
{
	struct worker	*w;
	unsigned	 n = 0;

	RB_FOREACH(w, worker_tree, &sv->sv_workers)
		n += w->w_ntasks;
	return n;
}

unsigned
report_sessions(struct supervisor *sv)
{
	struct session	*s;
	unsigned	 n = 0;

	RB_FOREACH(s, session_tree, &sv->sv_sessions)
		if (s->s_holder)
			n++;
	return n;
}

static void
report_gauges(struct supervisor *sv, struct metrics_gauges *g)
{
	static const char *const states[MW_NSTATES] = {
		"spare", "connection", "session", "draining"
	};
	struct worker	*w;
	size_t		 i;

	memset(g, 0, sizeof(*g));
	RB_FOREACH(w, worker_tree, &sv->sv_workers)
		for (i = 0; i < MW_NSTATES; i++)
			if (strcmp(report_wstate(w), states[i]) == 0)
				g->g_workers[i]++;
	g->g_sessions = report_sessions(sv);
	g->g_tasks_running = report_tasks_running(sv);
}

/* The page into a memfd; -1 (logged) if it cannot be made. */
static int
report_page(struct supervisor *sv)
{
	struct metrics_gauges	 g;
	char			*page;
	size_t			 len, off = 0;
	ssize_t			 n;
	int			 fd;

	report_gauges(sv, &g);
	if ((page = metrics_render(&sv->sv_metrics, &g, WSTASKD_VERSION,
	    &len)) == NULL) {
		log_warn("metrics_render");
		return -1;
	}
	if ((fd = memfd_create("wstaskd-metrics", MFD_CLOEXEC)) < 0) {
		log_warn("memfd_create");
		free(page);
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, page + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("write metrics memfd");
			close(fd);
			free(page);
			return -1;
		}
		off += (size_t)n;
	}
	free(page);
	return fd;
}

/*
 * A worker serving GET /metrics asks; the answer is the page in a memfd
 * (no size limit of a control record), or MSG_METRICS without one: the
 * worker then answers 500.  Answered at once, so a worker never has two
 * questions open.
 */
void
report_metrics(struct supervisor *sv, struct worker *w)
{
	int	fd = report_page(sv);

	control_send(sv, w, MSG_METRICS, 0, NULL, 0, fd);
	if (fd >= 0)
		close(fd);
}
