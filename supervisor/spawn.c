/*
 * spawn.c - forking workers, keeping spares, reaping, and the crash sweep.
 *
 * A worker is forked without exec (it shares the supervisor's relocated
 * library pages) and becomes a worker in worker_main().  The supervisor
 * keeps --spare of them idle; a connection goes to a spare at once and a
 * replacement is forked after the hand-off.
 *
 * A worker's session is over (the only thing that lets the next claimant
 * of its id be granted) when all three hold: it has been reaped, its
 * control socket has been read to EOF, and, if it did not exit with
 * status 0, a crash sweep has found none of its orphans left.  The
 * supervisor is a child subreaper, so a crashed worker's children become
 * its own; the sweep SIGKILLs them and their process groups (an unreaped
 * child pins its pid and pgid, so this never hits a stranger) and repeats
 * until a scan of /proc finds nothing.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "role.h"
#include "supervisor.h"
#include "util.h"

#define FORK_BACKOFF_MIN	100000		/* usec */
#define FORK_BACKOFF_MAX	5000000
#define TOPUP_DELAY		5000		/* usec after a hand-off */
#define SWEEP_RETRY		100000		/* usec after a failed scan, */
#define SWEEP_RETRY_MAX		2000000		/* ... doubling up to this */

static int
worker_cmp(struct worker *a, struct worker *b)
{
	return a->w_pid < b->w_pid ? -1 : a->w_pid > b->w_pid;
}

RB_GENERATE(worker_tree, worker, w_node, worker_cmp)

struct worker *
spawn_find(struct supervisor *sv, pid_t pid)
{
	struct worker	key;

	key.w_pid = pid;
	return RB_FIND(worker_tree, &sv->sv_workers, &key);
}

static void
spawn_fork_failed(struct supervisor *sv)
{
	static const int64_t	min = FORK_BACKOFF_MIN, max = FORK_BACKOFF_MAX;
	int64_t			delay = sv->sv_fork_delay ? sv->sv_fork_delay * 2 :
				    min;

	sv->sv_fork_delay = delay > max ? max : delay;
	sv->sv_fork_retry = now_usec() + sv->sv_fork_delay;
	log_warnx("event=fork-failed retry_ms=%lld",
	    (long long)(sv->sv_fork_delay / 1000));
}

/* Forks an idle worker; NULL (logged, back-off armed) when it cannot. */
struct worker *
spawn_worker(struct supervisor *sv)
{
	struct worker	*w;
	pid_t		 pid;
	int		 sp[2];

	if (sv->sv_fork_retry && now_usec() < sv->sv_fork_retry)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		log_warn("socketpair");
		free(w);
		spawn_fork_failed(sv);
		return NULL;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork");
		close(sp[0]);
		close(sp[1]);
		free(w);
		spawn_fork_failed(sv);
		return NULL;
	}
	if (pid == 0) {
		/* Only the parent's record: unreachable here, so a leak to LSan. */
		free(w);
		close(sp[0]);
		worker_main(sv->sv_cfg, sp[1]);
	}
	close(sp[1]);
	if (fd_set_nonblock(sp[0]) < 0)
		log_warn("fcntl O_NONBLOCK");
	sv->sv_fork_delay = 0;
	sv->sv_fork_retry = 0;
	w->w_evtype = EV_WORKER;
	w->w_pid = pid;
	w->w_ctl = sp[0];
	w->w_state = WS_SPARE;
	w->w_start = now_usec();
	RB_INSERT(worker_tree, &sv->sv_workers, w);
	w->w_in_tree = true;
	sv->sv_nworkers++;
	loop_add(sv, w->w_ctl, w);
	log_debug("event=fork pid=%ld", (long)pid);
	return w;
}

void
spawn_top_up(struct supervisor *sv)
{
	struct worker	*w;

	if (sv->sv_topup_at && now_usec() < sv->sv_topup_at)
		return;
	sv->sv_topup_at = 0;
	while (!sv->sv_stopping && sv->sv_nspares < sv->sv_cfg->spare) {
		if ((w = spawn_worker(sv)) == NULL)
			return;
		TAILQ_INSERT_TAIL(&sv->sv_spares, w, w_list);
		w->w_is_spare = true;
		sv->sv_nspares++;
	}
}

void
spawn_unspare(struct supervisor *sv, struct worker *w)
{
	if (!w->w_is_spare)
		return;
	TAILQ_REMOVE(&sv->sv_spares, w, w_list);
	w->w_is_spare = false;
	sv->sv_nspares--;
}

/* Gives the connection to a spare (or a new worker); -1 if none can be had. */
int
spawn_handoff(struct supervisor *sv, int fd, const char *peer, bool tls)
{
	struct worker	*w;
	bool		 fresh;

	/* A spare may have died unseen: then the next one, or a new worker. */
	for (;;) {
		fresh = false;
		if ((w = TAILQ_FIRST(&sv->sv_spares)) != NULL)
			spawn_unspare(sv, w);
		else if ((w = spawn_worker(sv)) == NULL)
			return -1;
		else
			fresh = true;
		if (control_send(sv, w, MSG_FD, tls, peer, strlen(peer),
		    fd) == 0)
			break;
		spawn_tell_go(sv, w, REASON_SHUTDOWN);
		if (fresh)
			return -1;
	}
	close(fd);
	w->w_state = WS_CONNECTED;
	strlcpy(w->w_peer, peer, sizeof(w->w_peer));
	w->w_counted = true;
	sv->sv_nconns++;
	/*
	 * Fork the replacement a little later: forking now would delay this
	 * worker's claim, whose grant the client is waiting for.
	 */
	if (sv->sv_topup_at == 0)
		sv->sv_topup_at = now_usec() + TOPUP_DELAY;
	log_info("event=accept peer=%s pid=%ld", peer, (long)w->w_pid);
	return 0;
}

static void
spawn_undying(struct supervisor *sv, struct worker *w)
{
	if (w->w_kill_at == 0)
		return;
	TAILQ_REMOVE(&sv->sv_dying, w, w_dying);
	w->w_kill_at = 0;
}

/* Tell a worker why it must go, then SIGTERM it; SIGKILL comes later. */
void
spawn_tell_go(struct supervisor *sv, struct worker *w, enum msg_reason reason)
{
	const struct config	*cfg = sv->sv_cfg;
	int64_t			 margin;

	if (w->w_kill_at || w->w_reaped)
		return;
	spawn_unspare(sv, w);
	if (w->w_ctl >= 0)
		control_send(sv, w, MSG_GO, reason, NULL, 0, -1);
	if (kill(w->w_pid, SIGTERM) < 0)
		log_warn("kill %ld SIGTERM", (long)w->w_pid);
	w->w_state = WS_GOING;
	margin = (int64_t)cfg->kill_grace_ms * 1000 / 2;
	if (margin < 1000000)
		margin = 1000000;
	w->w_kill_at = now_usec() + (int64_t)cfg->kill_grace_ms * 1000 + margin;
	TAILQ_INSERT_TAIL(&sv->sv_dying, w, w_dying);
	log_debug("event=go pid=%ld reason=%s", (long)w->w_pid,
	    msg_reason_name(reason));
}

void
spawn_shutdown(struct supervisor *sv)
{
	struct worker	*w, *tmp;

	RB_FOREACH_SAFE(w, worker_tree, &sv->sv_workers, tmp)
		spawn_tell_go(sv, w, REASON_SHUTDOWN);
}

/* The stop took too long: every worker left gets SIGKILL. */
void
spawn_kill_all(struct supervisor *sv, const char *why)
{
	struct worker	*w;

	RB_FOREACH(w, worker_tree, &sv->sv_workers) {
		log_warnx("event=kill pid=%ld session=%s: still alive after %s, "
		    "sending SIGKILL", (long)w->w_pid, w->w_id, why);
		if (kill(w->w_pid, SIGKILL) < 0)
			log_warn("kill %ld SIGKILL", (long)w->w_pid);
	}
}

void
spawn_kill_expired(struct supervisor *sv, int64_t now)
{
	struct worker	*w;

	while ((w = TAILQ_FIRST(&sv->sv_dying)) && w->w_kill_at <= now) {
		spawn_undying(sv, w);
		log_warnx("event=kill pid=%ld session=%s: still alive after "
		    "--kill-grace plus margin, sending SIGKILL",
		    (long)w->w_pid, w->w_id);
		if (kill(w->w_pid, SIGKILL) < 0)
			log_warn("kill %ld SIGKILL", (long)w->w_pid);
	}
}

void
spawn_check_over(struct supervisor *sv, struct worker *w)
{
	if (!w->w_reaped || w->w_ctl >= 0 || w->w_sweep_wait)
		return;
	if (w->w_counted)
		sv->sv_nconns--;
	spawn_undying(sv, w);
	spawn_unspare(sv, w);
	sv->sv_nworkers--;
	log_debug("event=over pid=%ld session=%s", (long)w->w_pid, w->w_id);
	if (w->w_ses)
		session_worker_over(sv, w);
	free(w);
}

static void
spawn_log_exit(const struct worker *w, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("event=exit pid=%ld session=%s status=0",
		    (long)w->w_pid, w->w_id);
	else if (WIFEXITED(status))
		log_warnx("event=exit pid=%ld session=%s status=%d",
		    (long)w->w_pid, w->w_id, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("event=exit pid=%ld session=%s signal=%s",
		    (long)w->w_pid, w->w_id, sigabbrev_np(WTERMSIG(status)));
}

static void
spawn_reaped(struct supervisor *sv, struct worker *w, int status)
{
	RB_REMOVE(worker_tree, &sv->sv_workers, w);
	w->w_in_tree = false;
	w->w_reaped = true;
	w->w_status = status;
	spawn_undying(sv, w);
	spawn_unspare(sv, w);
	spawn_log_exit(w, status);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/*
		 * A spare that died before serving once is a broken worker,
		 * not a bad client: fork more only after a back-off.
		 */
		if (w->w_state == WS_SPARE && !sv->sv_stopping)
			spawn_fork_failed(sv);
		/* Its children are ours now: none may outlive its session. */
		w->w_unclean = true;
		w->w_sweep_wait = true;
		TAILQ_INSERT_TAIL(&sv->sv_swept, w, w_sweep);
		sv->sv_sweep = true;
	}
	spawn_check_over(sv, w);
}

void
spawn_reap(struct supervisor *sv)
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
		if ((w = spawn_find(sv, pid)) != NULL)
			spawn_reaped(sv, w, status);
		else
			log_info("event=orphan-reaped pid=%ld", (long)pid);
	}
	if (sv->sv_sweep)
		spawn_sweep(sv);
}

struct sweep_ctx {
	struct supervisor	*sv;
	int			 found;
};

static void
spawn_sweep_one(const struct proc_stat *ps, void *arg)
{
	struct sweep_ctx	*sc = arg;
	struct supervisor	*sv = sc->sv;

	if (spawn_find(sv, ps->pid))
		return;		/* a live worker */
	sc->found++;
	log_info("event=orphan pid=%ld pgid=%ld state=%c: killing",
	    (long)ps->pid, (long)ps->pgid, ps->state);
	/* Never a group of ours or of a live worker; those are not orphans'. */
	if (ps->pgid > 1 && ps->pgid != getpgrp() && !spawn_find(sv, ps->pgid) &&
	    kill(-ps->pgid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill -%ld SIGKILL", (long)ps->pgid);
	if (kill(ps->pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill %ld SIGKILL", (long)ps->pid);
}

/*
 * One round of the crash sweep.  What it kills is reaped by spawn_reap()
 * on the SIGCHLD that follows, which calls this again; the sweep ends with
 * a scan that finds nothing.
 */
void
spawn_sweep(struct supervisor *sv)
{
	struct sweep_ctx	 sc = { sv, 0 };
	struct worker		*w;

	/* A scan that could not read everything proves nothing: look again. */
	if (proc_children(sv->sv_pid, spawn_sweep_one, &sc) < 0) {
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
	sv->sv_sweep = false;
	while ((w = TAILQ_FIRST(&sv->sv_swept)) != NULL) {
		TAILQ_REMOVE(&sv->sv_swept, w, w_sweep);
		w->w_sweep_wait = false;
		spawn_check_over(sv, w);
	}
}
