/*
 * sweep.c - reaping workers, and the crash sweep after one that did not
 * exit with status 0.
 *
 * The supervisor is a child subreaper, so a crashed worker's children
 * become its own; the sweep SIGKILLs them and their process groups (an
 * unreaped child pins its pid and pgid, so this never hits a stranger)
 * and repeats until a scan of /proc finds nothing and, with --cgroup,
 * the worker's session cgroup is empty (killed with cgroup.kill) and gone.  Until then every
 * worker that waits for it stays on sv_swept and its session is not over
 * (child_over()).  Called from loop.c: on SIGCHLD (sweep_reap()) and when
 * a failed scan's retry is due (sweep_run()).
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "supervisor.h"
#include "util.h"

#define SWEEP_RETRY		100000		/* usec after a failed scan, */
#define SWEEP_RETRY_MAX		2000000		/* ... doubling up to this */

static void
sweep_log_exit(const struct worker *w, int status)
{
	char	sig[16];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("event=exit pid=%ld session=%s status=0",
		    (long)w->w_pid, w->w_id);
	else if (WIFEXITED(status))
		log_warnx("event=exit pid=%ld session=%s status=%d",
		    (long)w->w_pid, w->w_id, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("event=exit pid=%ld session=%s signal=%s",
		    (long)w->w_pid, w->w_id, signal_name(WTERMSIG(status),
		    sig, sizeof(sig)));
}

static void
sweep_reaped(struct supervisor *sv, struct worker *w, int status)
{
	child_reaped(sv, w);
	sweep_log_exit(w, status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/*
		 * A spare that died before serving once is a broken worker,
		 * not a bad client: fork more only after a back-off.
		 */
		if (w->w_state == WS_SPARE && !sv->sv_stopping)
			child_backoff(sv);
		/* Its children are ours now: none may outlive its session. */
		TAILQ_INSERT_TAIL(&sv->sv_swept, w, w_sweep);
		sv->sv_sweep = true;
	}
	child_over(sv, w);
}

void
sweep_reap(struct supervisor *sv)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0)
			break;
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitpid");
			break;
		}
		if ((w = child_find(sv, pid)) != NULL)
			sweep_reaped(sv, w, status);
		else if (!forker_reaped(sv, pid, status)) {
			/* A crashed worker's process, reparented to us. */
			sv->sv_metrics.m_orphans++;
			log_info("event=orphan-reaped pid=%ld", (long)pid);
		}
	}
	if (sv->sv_sweep)
		sweep_run(sv);
}

struct sweep_ctx {
	struct supervisor	*sv;
	int			 found;
};

static void
sweep_one(const struct proc_stat *ps, void *arg)
{
	struct sweep_ctx	*sc = arg;
	struct supervisor	*sv = sc->sv;

	if (child_find(sv, ps->pid) || ps->pid == sv->sv_forker)
		return;		/* a live worker, or the fork server */
	sc->found++;
	log_info("event=orphan pid=%ld pgid=%ld state=%c: killing",
	    (long)ps->pid, (long)ps->pgid, ps->state);
	/* A live worker's group is not an orphan's. */
	proc_kill(ps, child_find(sv, ps->pgid) == NULL);
}

/*
 * One round of the crash sweep.  What it kills is reaped by sweep_reap()
 * on the SIGCHLD that follows, which calls this again; the sweep ends with
 * a scan that finds nothing.
 */
void
sweep_run(struct supervisor *sv)
{
	struct sweep_ctx	 sc = { sv, 0 };
	struct worker		*w;

	/* One write kills a crashed worker's whole session cgroup at once. */
	TAILQ_FOREACH(w, &sv->sv_swept, w_sweep)
		cgsetup_sweep(sv->sv_cfg, w->w_pid);
	/* A scan that could not read everything proves nothing: look again. */
	if (proc_children(sv->sv_pid, sweep_one, &sc) < 0) {
		sv->sv_sweep_delay = sv->sv_sweep_delay == 0 ? SWEEP_RETRY :
		    sv->sv_sweep_delay * 2;
		if (sv->sv_sweep_delay > SWEEP_RETRY_MAX)
			sv->sv_sweep_delay = SWEEP_RETRY_MAX;
		sv->sv_sweep_retry = now_usec() + sv->sv_sweep_delay;
		return;
	}
	sv->sv_sweep_retry = 0;
	sv->sv_sweep_delay = 0;
	if (sc.found)
		return;
	/* Its cgroup's last exit may come after the SIGCHLD: look again. */
	TAILQ_FOREACH(w, &sv->sv_swept, w_sweep)
		if (cgsetup_sweep(sv->sv_cfg, w->w_pid))
			sc.found++;
	if (sc.found) {
		sv->sv_sweep_retry = now_usec() + SWEEP_RETRY / 10;
		return;
	}
	sv->sv_sweep = false;
	while ((w = TAILQ_FIRST(&sv->sv_swept)) != NULL) {
		TAILQ_UNLINK(&sv->sv_swept, w, w_sweep);
		child_over(sv, w);
	}
}
