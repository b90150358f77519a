/*
 * reap.c - the worker's children: SIGCHLD and SIGTERM through a signalfd,
 * reaping, and the sweep that leaves nothing behind.
 *
 * The worker is a child subreaper, so besides its task leaders it reaps
 * whatever a handler orphaned.  A task leader is found with
 * waitid(WNOWAIT) first: while it is a zombie its pid, and so its process
 * group id, cannot be reused, which makes SIGKILL to the rest of its group
 * safe; then it is reaped.  reap_children_left() is the "nothing of mine
 * is left" test that a cancel and the exit wait for: it SIGKILLs any
 * child still alive (found in /proc) and says whether to wait on.
 */
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "worker.h"

static struct task *
reap_find(struct wk *k, pid_t pid)
{
	struct task	*t;

	if (k->k_cur == NULL)
		return NULL;
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry)
		if (t->t_pid == pid && !t->t_exited)
			return t;
	return NULL;
}

static void
reap_children(struct wk *k)
{
	struct task	*t;
	siginfo_t	 si;
	int		 status;

	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECHILD)
				log_warn("waitid");
			return;
		}
		if (si.si_pid == 0)
			return;
		if ((t = reap_find(k, si.si_pid)) != NULL &&
		    kill(-t->t_pid, SIGKILL) < 0 && errno != ESRCH)
			log_warn("kill -%ld", (long)t->t_pid);
		if (waitpid(si.si_pid, &status, 0) < 0) {
			log_warn("waitpid %ld", (long)si.si_pid);
			return;
		}
		if (t && (!t->t_cg || contain_leader_exited(k, t, status)))
			batch_task_done(k, t, status);
		else
			log_debug("event=reaped pid=%ld session=%s",
			    (long)si.si_pid, k->k_session);
	}
}

void
reap_signals(struct wk *k)
{
	struct signalfd_siginfo	si;
	bool			chld = false, term = false;
	ssize_t			n;

	while ((n = read(k->k_sigfd, &si, sizeof(si))) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			chld = true;
		else
			term = true;
	}
	if (n < 0 && errno != EAGAIN)
		log_warn("read signalfd");
	if (term) {
		/* The supervisor queues the reason before it signals. */
		ctl_read(k);
		worker_go(k, GO_SHUTDOWN);
	}
	if (chld)
		reap_children(k);
	worker_progress(k);
}

static void
reap_kill_one(const struct proc_stat *ps, void *arg)
{
	(void)arg;
	log_debug("event=stray pid=%ld pgid=%ld: killing", (long)ps->pid,
	    (long)ps->pgid);
	proc_kill(ps, true);
}

/* True while any child exists; SIGKILLs the live ones on the way. */
bool
reap_children_left(struct wk *k)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == ECHILD)
			return false;
		log_warn("waitid");
		return true;
	}
	if (si.si_pid != 0)
		return true;	/* an exit not yet reaped: SIGCHLD is coming */
	if (contain_session_left(k))
		return true;	/* killed: its cgroup.events will say */
	proc_children(getpid(), reap_kill_one, NULL);
	return true;
}
