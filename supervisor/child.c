/*
 * child.c - the worker table: forking workers, keeping spares, handing a
 * connection over, telling a worker to go (SIGTERM, then SIGKILL at its
 * deadline), and deciding when a worker's session is over.
 *
 * A worker is forked without exec (it shares the supervisor's relocated
 * library pages) and becomes a worker in worker_main(); the fork server
 * (forker.c) creates it as our child, or, without one, we fork it.  The
 * supervisor keeps --spare of them idle; a connection goes to a spare at
 * once and a replacement is forked after the hand-off.
 *
 * Invariants: sv_workers holds exactly the workers not yet reaped;
 * sv_spares the idle ones; sv_dying exactly those with a w_kill_at, by
 * deadline.  A record is freed only in child_over(), once all three
 * hold: the worker has been reaped (sweep.c), its control socket has
 * been read to EOF (control.c), and, if it did not exit with status 0, a
 * crash sweep (sweep.c) has found none of its orphans left.  That is the
 * only thing that lets the next claimant of its id be granted
 * (session.c).
 *
 * Called from main.c (first spares), listen.c (hand-off), control.c and
 * session.c (go, over), sweep.c (reaped, over) and loop.c (deadlines,
 * stop).
 */
#include <sys/socket.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "role.h"
#include "supervisor.h"
#include "util.h"

#define FORK_BACKOFF_MIN	100000		/* usec */
#define FORK_BACKOFF_MAX	5000000
#define TOPUP_DELAY		5000		/* usec after a hand-off */

static int
child_cmp(struct worker *a, struct worker *b)
{
	return a->w_pid < b->w_pid ? -1 : a->w_pid > b->w_pid;
}

RB_GENERATE(worker_tree, worker, w_node, child_cmp)

struct worker *
child_find(struct supervisor *sv, pid_t pid)
{
	struct worker	key;

	key.w_pid = pid;
	return RB_FIND(worker_tree, &sv->sv_workers, &key);
}

/* A worker could not be forked, or a spare died: fork again only later. */
void
child_backoff(struct supervisor *sv)
{
	static const int64_t	min = FORK_BACKOFF_MIN, max = FORK_BACKOFF_MAX;
	int64_t			delay = sv->sv_fork_delay ? sv->sv_fork_delay * 2 :
				    min;

	sv->sv_fork_delay = delay > max ? max : delay;
	sv->sv_fork_retry = now_usec() + sv->sv_fork_delay;
	log_warnx("event=fork-failed retry_ms=%lld",
	    (long long)(sv->sv_fork_delay / 1000));
}

/*
 * A worker served (it claimed a session): forking works, so the next
 * failure starts the back-off afresh.  Not a successful fork: a spare
 * that then dies at set-up would keep the back-off at its minimum.
 */
void
child_served(struct supervisor *sv)
{
	sv->sv_fork_delay = 0;
}

static int
child_pair(int sp[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0)
		return 0;
	log_warn("socketpair");
	return -1;
}

/*
 * A new worker on a new control socketpair: its pid, sp[0] ours; or -1
 * (logged).  The fork server creates it if it can, else we fork it, on a
 * pair of its own: the one given to a fork server that did not answer
 * may have reached a worker after all.
 */
static pid_t
child_create(struct supervisor *sv, struct worker *w, int sp[2], bool *direct)
{
	pid_t	pid;

	*direct = false;
	if (child_pair(sp) < 0)
		return -1;
	if ((pid = forker_spawn(sv, sp[1])) != 0) {
		close(sp[1]);
		if (pid > 0)
			return pid;
		log_warn("clone (fork server)");
		sv->sv_metrics.m_fork_failures++;
		close(sp[0]);
		return -1;
	}
	close(sp[0]);
	close(sp[1]);
	*direct = true;
	if (child_pair(sp) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		log_warn("fork");
		sv->sv_metrics.m_fork_failures++;
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		/* Only the parent's record: unreachable here, so a leak to LSan. */
		free(w);
		close(sp[0]);
		worker_main(sv->sv_cfg, sp[1], false);
	}
	close(sp[1]);
	return pid;
}

/* Creates an idle worker; NULL (logged, back-off armed) when it cannot. */
struct worker *
child_fork(struct supervisor *sv)
{
	struct worker	*w;
	pid_t		 pid;
	int		 sp[2];
	bool		 direct;

	if (sv->sv_fork_retry && now_usec() < sv->sv_fork_retry)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("calloc");
		return NULL;
	}
	if ((pid = child_create(sv, w, sp, &direct)) < 0) {
		free(w);
		child_backoff(sv);
		return NULL;
	}
	if (fd_set_nonblock(sp[0]) < 0)
		log_warn("fcntl O_NONBLOCK");
	sv->sv_fork_retry = 0;
	w->w_evtype = EV_WORKER;
	w->w_pid = pid;
	w->w_ctl = sp[0];
	w->w_state = WS_SPARE;
	w->w_start = now_usec();
	RB_INSERT(worker_tree, &sv->sv_workers, w);
	sv->sv_nworkers++;
	loop_add(sv, w->w_ctl, w);
	/* Before any connection reaches it: it is born draining. */
	if (sv->sv_draining)
		control_send(sv, w, MSG_DRAIN, 1, NULL, 0, -1);
	log_debug("event=fork pid=%ld by=%s", (long)pid, direct ? "supervisor" :
	    "fork-server");
	return w;
}

void
child_top_up(struct supervisor *sv)
{
	struct worker	*w;

	if (sv->sv_topup_at && now_usec() < sv->sv_topup_at)
		return;
	sv->sv_topup_at = 0;
	while (!sv->sv_stopping && sv->sv_nspares < sv->sv_cfg->spare) {
		if ((w = child_fork(sv)) == NULL)
			return;
		TAILQ_INSERT_TAIL(&sv->sv_spares, w, w_spare);
		sv->sv_nspares++;
	}
}

void
child_unspare(struct supervisor *sv, struct worker *w)
{
	if (!TAILQ_LINKED(w, w_spare))
		return;
	TAILQ_UNLINK(&sv->sv_spares, w, w_spare);
	sv->sv_nspares--;
}

/* Gives the connection to a spare (or a new worker); -1 if none can be had. */
int
child_handoff(struct supervisor *sv, int fd, const char *peer, bool tls)
{
	struct worker	*w;
	bool		 fresh;

	/* A spare may have died unseen: then the next one, or a new worker. */
	for (;;) {
		fresh = false;
		if ((w = TAILQ_FIRST(&sv->sv_spares)) != NULL)
			child_unspare(sv, w);
		else if ((w = child_fork(sv)) == NULL)
			return -1;
		else
			fresh = true;
		if (control_send(sv, w, MSG_FD, tls, peer, strlen(peer),
		    fd) == 0)
			break;
		child_tell_go(sv, w, REASON_SHUTDOWN);
		if (fresh)
			return -1;
	}
	close(fd);
	w->w_state = WS_CONNECTED;
	strlcpy(w->w_peer, peer, sizeof(w->w_peer));
	w->w_counted = true;
	sv->sv_nconns++;
	sv->sv_metrics.m_connections++;
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
child_undying(struct supervisor *sv, struct worker *w)
{
	if (w->w_kill_at == 0)
		return;
	TAILQ_REMOVE(&sv->sv_dying, w, w_dying);
	w->w_kill_at = 0;
}

/* Tell a worker why it must go, then SIGTERM it; SIGKILL comes later. */
void
child_tell_go(struct supervisor *sv, struct worker *w, enum msg_reason reason)
{
	const struct config	*cfg = sv->sv_cfg;
	int64_t			 margin;

	if (w->w_kill_at || w->w_reaped)
		return;
	child_unspare(sv, w);
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
child_shutdown(struct supervisor *sv)
{
	struct worker	*w, *tmp;

	RB_FOREACH_SAFE(w, worker_tree, &sv->sv_workers, tmp)
		child_tell_go(sv, w, REASON_SHUTDOWN);
}

/* The stop took too long: every worker left gets SIGKILL. */
void
child_kill_all(struct supervisor *sv, const char *why)
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
child_kill_expired(struct supervisor *sv, int64_t now)
{
	struct worker	*w;

	while ((w = TAILQ_FIRST(&sv->sv_dying)) && w->w_kill_at <= now) {
		child_undying(sv, w);
		log_warnx("event=kill pid=%ld session=%s: still alive after "
		    "--kill-grace plus margin, sending SIGKILL",
		    (long)w->w_pid, w->w_id);
		if (kill(w->w_pid, SIGKILL) < 0)
			log_warn("kill %ld SIGKILL", (long)w->w_pid);
	}
}

/* Reaped: out of the table and of every list a live worker is on. */
void
child_reaped(struct supervisor *sv, struct worker *w)
{
	RB_REMOVE(worker_tree, &sv->sv_workers, w);
	w->w_reaped = true;
	child_undying(sv, w);
	child_unspare(sv, w);
}

void
child_over(struct supervisor *sv, struct worker *w)
{
	if (!w->w_reaped || w->w_ctl >= 0 || TAILQ_LINKED(w, w_sweep))
		return;
	if (w->w_counted)
		sv->sv_nconns--;
	child_undying(sv, w);
	child_unspare(sv, w);
	sv->sv_nworkers--;
	log_debug("event=over pid=%ld session=%s", (long)w->w_pid, w->w_id);
	if (w->w_ses)
		session_worker_over(sv, w);
	report_worker_over(sv, w);
	free(w);
}

