/*
 * loop.c - the supervisor's event loop: epoll over the listeners, the
 * workers' control sockets and a signalfd, plus deadlines.
 *
 * Signals arrive only through the signalfd (they are blocked), so no work
 * is done in a signal handler.  Deadlines (a worker's SIGKILL, a refused
 * socket's drain, the accept pause, the fork back-off) are kept in lists
 * ordered by construction; epoll_wait sleeps until the earliest.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#define LOOP_EVENTS	64

static const int loop_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
    SIGUSR1 };

void
loop_add(struct supervisor *sv, int fd, void *tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	if (epoll_ctl(sv->sv_epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl ADD %d", fd);
}

void
loop_mod(struct supervisor *sv, int fd, void *tag, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	if (epoll_ctl(sv->sv_epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		log_warn("epoll_ctl MOD %d", fd);
}

void
loop_del(struct supervisor *sv, int fd)
{
	if (epoll_ctl(sv->sv_epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
		log_warn("epoll_ctl DEL %d", fd);
}

void
loop_init(struct supervisor *sv)
{
	struct sigaction sa;
	sigset_t	 set;
	size_t		 i;

	if ((sv->sv_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	/*
	 * Shells that start `wstaskd &` leave SIGINT ignored.  Linux keeps a
	 * blocked signal pending even when ignored, but POSIX lets a system
	 * discard it, and one arriving before the block would be lost:
	 * restore the defaults first.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&set);
	for (i = 0; i < sizeof(loop_signals) / sizeof(loop_signals[0]); i++) {
		if (sigaction(loop_signals[i], &sa, NULL) < 0)
			fatal("sigaction");
		sigaddset(&set, loop_signals[i]);
	}
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		fatal("sigaction SIGPIPE");
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	sv->sv_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->sv_sigfd < 0)
		fatal("signalfd");
	sv->sv_sigtag = EV_SIGNAL;
	loop_add(sv, sv->sv_sigfd, &sv->sv_sigtag);
}

static void
loop_stop(struct supervisor *sv, int sig)
{
	char	name[16];

	if (sv->sv_stopping)
		return;
	log_info("event=stop signal=%s workers=%u",
	    signal_name(sig, name, sizeof(name)), sv->sv_nworkers);
	sv->sv_stopping = true;
	sv->sv_stop_deadline = now_usec() +
	    (int64_t)sv->sv_cfg->shutdown_timeout * 1000000;
	listen_close_all(sv);
	ctlsock_close(sv);
	forker_stop(sv);
	child_shutdown(sv);
}

/*
 * Spares were forked with the users of their moment: after a reload they
 * go, and the top-up forks them anew with the new table, from a new fork
 * server (the old one holds the old table and log too).
 */
static void
loop_renew_spares(struct supervisor *sv)
{
	struct worker	*w;

	forker_stop(sv);
	while ((w = TAILQ_FIRST(&sv->sv_spares)) != NULL) {
		child_unspare(sv, w);
		child_tell_go(sv, w, REASON_SHUTDOWN);
	}
	child_top_up(sv);
}

/*
 * SIGHUP or wstaskctl reload: the log, the users, the spares.  Spares
 * hold the old --log-file too: renewed, new connections log to the new.
 */
void
loop_reload(struct supervisor *sv)
{
	bool	renew;

	log_reopen();
	log_info("event=reopen-log");
	renew = users_reload(sv->sv_cfg);
	if (renew || log_file_active())
		loop_renew_spares(sv);
}

/*
 * wstaskctl drain/resume: every worker is told, spares included, and
 * workers forked from now on are told at birth (child_fork()).
 */
void
loop_drain(struct supervisor *sv, bool on)
{
	struct worker	*w;

	sv->sv_draining = on;
	log_info("event=%s", on ? "drain" : "resume");
	RB_FOREACH(w, worker_tree, &sv->sv_workers)
		if (!w->w_broken)
			control_send(sv, w, MSG_DRAIN, on, NULL, 0, -1);
}

static void
loop_signal(struct supervisor *sv)
{
	struct signalfd_siginfo	si;
	bool			chld = false;
	ssize_t			n;

	while ((n = read(sv->sv_sigfd, &si, sizeof(si))) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			chld = true;
			break;
		case SIGTERM:
		case SIGINT:
			loop_stop(sv, (int)si.ssi_signo);
			break;
		case SIGHUP:
			loop_reload(sv);
			break;
		case SIGUSR1:
			session_dump(sv);
			break;
		}
	}
	if (n < 0 && errno != EAGAIN)
		log_warn("read signalfd");
	if (chld)
		sweep_reap(sv);
}

static int64_t
loop_earliest(const struct supervisor *sv)
{
	const struct worker	*w = TAILQ_FIRST(&sv->sv_dying);
	const struct drain	*d = TAILQ_FIRST(&sv->sv_drains);
	int64_t			 t = 0;

	if (w)
		t = w->w_kill_at;
	if (d && (t == 0 || d->d_deadline < t))
		t = d->d_deadline;
	if (sv->sv_accept_paused && (t == 0 || sv->sv_accept_resume < t))
		t = sv->sv_accept_resume;
	if (sv->sv_sweep_retry && (t == 0 || sv->sv_sweep_retry < t))
		t = sv->sv_sweep_retry;
	if (sv->sv_stop_deadline && (t == 0 || sv->sv_stop_deadline < t))
		t = sv->sv_stop_deadline;
	if (sv->sv_topup_at && sv->sv_nspares < sv->sv_cfg->spare &&
	    (t == 0 || sv->sv_topup_at < t))
		t = sv->sv_topup_at;
	if (sv->sv_fork_retry && sv->sv_nspares < sv->sv_cfg->spare &&
	    !sv->sv_stopping && (t == 0 || sv->sv_fork_retry < t))
		t = sv->sv_fork_retry;
	if (ctlsock_deadline(sv) && (t == 0 || ctlsock_deadline(sv) < t))
		t = ctlsock_deadline(sv);
	return t;
}

static int
loop_timeout_ms(const struct supervisor *sv)
{
	int64_t	t = loop_earliest(sv), now;

	if (t == 0)
		return -1;
	now = now_usec();
	if (t <= now)
		return 0;
	return (int)((t - now + 999) / 1000);
}

static void
loop_dispatch(struct supervisor *sv, void *tag, uint32_t events)
{
	switch (*(enum ev_type *)tag) {
	case EV_CTLSOCK:
		ctlsock_accept(sv);
		break;
	case EV_CTLCLIENT:
		ctlsock_io(sv, tag, events);
		break;
	case EV_LISTEN:
		listen_accept(sv, tag);
		break;
	case EV_WORKER:
		control_dispatch(sv, tag);
		break;
	case EV_SIGNAL:
		loop_signal(sv);
		break;
	case EV_DRAIN:
		listen_drain(sv, tag);
		break;
	}
}

static void
loop_deadlines(struct supervisor *sv)
{
	int64_t	now = now_usec();

	child_kill_expired(sv, now);
	if (sv->sv_stop_deadline && now >= sv->sv_stop_deadline) {
		sv->sv_stop_deadline = 0;
		sv->sv_stop_expired = true;
		child_kill_all(sv, "--shutdown-timeout");
	}
	if (sv->sv_sweep_retry && now >= sv->sv_sweep_retry) {
		sv->sv_sweep_retry = 0;
		if (sv->sv_sweep)
			sweep_run(sv);
	}
	listen_drain_expired(sv, now);
	ctlsock_expired(sv, now);
	if (sv->sv_accept_paused && now >= sv->sv_accept_resume)
		listen_resume(sv);
	child_top_up(sv);
}

/*
 * A sweep that cannot read /proc (out of descriptors) may never finish;
 * past --shutdown-timeout everything that could be killed has been, so
 * the stop does not wait for it any longer.
 */
static bool
loop_give_up_sweep(struct supervisor *sv)
{
	if (!sv->sv_stop_expired)
		return false;
	log_warnx("event=sweep-abandoned: /proc could not be read to the end");
	return true;
}

/* Runs until a stop has been asked for and every worker's session is over. */
int
loop_run(struct supervisor *sv)
{
	struct epoll_event	evs[LOOP_EVENTS];
	int			n, i;

	for (;;) {
		if (sv->sv_stopping && sv->sv_nworkers == 0 &&
		    (!sv->sv_sweep || loop_give_up_sweep(sv)))
			return 0;
		n = epoll_wait(sv->sv_epfd, evs, LOOP_EVENTS,
		    loop_timeout_ms(sv));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++)
			loop_dispatch(sv, evs[i].data.ptr, evs[i].events);
		loop_deadlines(sv);
	}
}
