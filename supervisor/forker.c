/*
 * forker.c - the fork server: a small process, forked by the supervisor,
 * that creates the workers, so that creating one costs the same with ten
 * sessions open as with ten thousand.
 *
 * A fork copies the caller's descriptor table, and the supervisor's grows
 * with every session (a control socket per worker; a table never
 * shrinks); each new worker then closed what it had inherited.  The fork
 * server holds only what a worker keeps (stdio, the --log-file) and its
 * request socket.  It creates each worker with clone(CLONE_PARENT)
 * (proc_clone_sibling), so the worker is the supervisor's child exactly as
 * when the supervisor forked it: SIGCHLD, waitpid(), the supersede rule
 * (SIGTERM to the old pid, then waitpid) and the crash sweep are
 * unchanged, and the fork server never has a child of its own.
 *
 * One request, one answer, in order: the supervisor passes the worker's end
 * of a new control socketpair (SCM_RIGHTS) and waits, at most FORKER_WAIT,
 * for the pid or an errno.  The fork server carries the configuration of
 * its moment, so a reload that renews the spares replaces it too.  When it
 * cannot be had (it died, or did not answer in time) the supervisor forks
 * the worker itself, as it always could, and tries a new fork server only
 * after FORKER_RETRY.
 *
 * The fork server leaves when its socket reaches EOF: when the supervisor
 * closes it (stop, reload) or dies.  It keeps the supervisor's blocked
 * signals, so a `killall wstaskd` does not end it before its supervisor.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "proc.h"
#include "role.h"
#include "supervisor.h"
#include "title.h"
#include "util.h"

#define FORKER_WAIT	2000		/* ms for an answer */
#define FORKER_RETRY	1000000		/* usec before a new fork server */
#define FORKER_TAKE_MAX	1024		/* bytes: glibc's largest cached size */
#define FORKER_TOP	(96 * 1024)	/* bytes a worker finds at the top */

struct forker_answer {
	int32_t		fa_pid;		/* > 0, or -1 */
	int32_t		fa_errno;
};

/* One worker, or the errno of why not. */
static void
forker_serve(const struct config *cfg, int wfd, bool prepared)
{
	struct forker_answer	a = { -1, EPROTO };
	pid_t			pid;

	if (wfd >= 0) {
		if ((pid = proc_clone_sibling()) == 0)
			worker_main(cfg, wfd, prepared);
		a.fa_pid = pid;
		a.fa_errno = pid < 0 ? errno : 0;
		close(wfd);
	}
	if (send(CTL_FD, &a, sizeof(a), MSG_NOSIGNAL) < 0 && errno != EPIPE)
		log_warn("send");
}

/*
 * The heap the fork server inherits is the supervisor's: mostly free
 * chunks between live ones (what parsing the manifests freed).  A worker's
 * allocations would take those first, and every chunk it takes or unlinks
 * is on a page that it then copies: an idle session dirtied 12 pages of
 * heap for live data that fills 5.  So the fork server takes every free
 * chunk of the sizes that malloc keeps lists of (each size until a chunk
 * comes from the top of the heap) and leaves FORKER_TOP at the top: its
 * workers allocate from there, on consecutive pages.  What it takes is
 * chained through the chunks, so that it stays reachable; the result is
 * the chain.  Bounded by the heap's free space, once per fork server.
 */
static void *
forker_take_free_chunks(void)
{
	void			*kept = NULL;
#ifndef __SANITIZE_ADDRESS__		/* not glibc's heap */
	struct mallinfo2	 mi = mallinfo2();
	const char		*top = (const char *)sbrk(0) - mi.keepcost;
	size_t			 size, budget;
	void			*p;

	budget = (mi.fordblks > mi.keepcost ? mi.fordblks - mi.keepcost : 0) /
	    32 + 8 * FORKER_TAKE_MAX / 16;
	for (size = 16; size <= FORKER_TAKE_MAX && budget > 0; size += 16)
		for (; budget > 0; budget--) {
			if ((p = malloc(size)) == NULL)
				return kept;
			/*
			 * The one from the top is kept too: freed, it would
			 * wait in malloc's cache for its size, and a worker
			 * would be given it rather than the top.
			 */
			*(void **)p = kept;
			kept = p;
			if ((const char *)p >= top)
				break;
		}
	/* Grows the top now if need be, not in every worker. */
	if ((p = malloc(FORKER_TOP)) != NULL) {
		*(volatile char *)p = 0;	/* or the pair is optimized out */
		free(p);
	}
#endif
	return kept;
}

static void
forker_free_chunks(void *kept)
{
	void	*next;

	for (; kept != NULL; kept = next) {
		next = *(void **)kept;
		free(kept);
	}
}

/*
 * The fork server's life.  Its socket is moved to CTL_FD, where a worker
 * puts its control socket (dup3 over it), and the rest is closed as a
 * worker does: the descriptors that a clone copies are only these.
 */
static noreturn void
forker_main(const struct config *cfg, int sock)
{
	ssize_t	n;
	char	byte;
	int	wfd;
	bool	prepared;
	void	*kept;

	if (sock != CTL_FD) {
		if (dup3(sock, CTL_FD, O_CLOEXEC) < 0)
			fatal("dup3 fork server socket");
		close(sock);
	}
	closefrom(log_file_active() ? LOG_FD + 1 : CTL_FD + 1);
	log_set_role("forker");
	title_set("fork server");
	prepared = worker_prepare();
	kept = forker_take_free_chunks();
	for (;;) {
		n = msg_recvfd(CTL_FD, &byte, 1, 0, &wfd);
		if (n == 0) {
			forker_free_chunks(kept);
			exit(0);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EPROTO && errno != EMSGSIZE)
			fatal("recvmsg");
		forker_serve(cfg, wfd, prepared);	/* -1: EPROTO */
	}
}

/* Forks the fork server; 0, or -1 (logged) to fork workers ourselves. */
static int
forker_start(struct supervisor *sv)
{
	struct timeval	tv = { FORKER_WAIT / 1000, FORKER_WAIT % 1000 * 1000 };
	pid_t		pid;
	int		sp[2];

	if (sv->sv_forker > 0)
		return 0;
	if (sv->sv_forker_retry && now_usec() < sv->sv_forker_retry)
		return -1;
	sv->sv_forker_retry = now_usec() + FORKER_RETRY;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		log_warn("socketpair");
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork");
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		forker_main(sv->sv_cfg, sp[1]);
	}
	close(sp[1]);
	if (setsockopt(sp[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		log_warn("setsockopt SO_RCVTIMEO");
	sv->sv_forker = pid;
	sv->sv_forker_fd = sp[0];
	sv->sv_forker_retry = 0;
	log_info("event=fork-server pid=%ld", (long)pid);
	return 0;
}

/* There is no fork server any more: the next worker may start one. */
static void
forker_forget(struct supervisor *sv)
{
	close(sv->sv_forker_fd);
	sv->sv_forker_fd = -1;
	sv->sv_forker = 0;
}

/* Ends the fork server now, reaped here: nothing waits on it. */
void
forker_stop(struct supervisor *sv)
{
	pid_t	pid = sv->sv_forker;

	if (pid <= 0)
		return;
	forker_forget(sv);
	if (kill(pid, SIGKILL) < 0)
		log_warn("kill %ld SIGKILL", (long)pid);
	while (waitpid(pid, NULL, 0) < 0)
		if (errno != EINTR) {
			log_warn("waitpid %ld", (long)pid);
			break;
		}
	log_debug("event=fork-server-stop pid=%ld", (long)pid);
}

/* It is gone, seen by sweep_reap(): the next worker starts a new one. */
bool
forker_reaped(struct supervisor *sv, pid_t pid, int status)
{
	char	sig[16];

	if (pid != sv->sv_forker)
		return false;
	forker_forget(sv);
	sv->sv_forker_retry = now_usec() + FORKER_RETRY;
	if (WIFSIGNALED(status))
		log_warnx("event=fork-server-exit pid=%ld signal=%s",
		    (long)pid, signal_name(WTERMSIG(status), sig, sizeof(sig)));
	else
		log_warnx("event=fork-server-exit pid=%ld status=%d", (long)pid,
		    WEXITSTATUS(status));
	return true;
}

/* It failed us: it goes, and workers are forked here until FORKER_RETRY. */
static void
forker_lost(struct supervisor *sv, const char *what)
{
	log_warnx("event=fork-server-lost pid=%ld: %s; forking workers "
	    "directly for now", (long)sv->sv_forker, what);
	forker_stop(sv);
	sv->sv_forker_retry = now_usec() + FORKER_RETRY;
}

/*
 * A worker on wfd, created by the fork server: its pid, or -1 with errno
 * (the clone failed: counted and backed off like a failed fork), or 0 if
 * the fork server could not be had (the caller forks; wfd is then the
 * worker's only if no answer was lost, so the caller makes a new pair).
 */
pid_t
forker_spawn(struct supervisor *sv, int wfd)
{
	struct forker_answer	a;
	char			byte = 'S';
	struct iovec		iov = { &byte, 1 };
	ssize_t			n;

	if (forker_start(sv) < 0)
		return 0;
	if (msg_sendfd(sv->sv_forker_fd, &iov, 1, wfd) < 0) {
		forker_lost(sv, strerror(errno));
		return 0;
	}
	do
		n = recv(sv->sv_forker_fd, &a, sizeof(a), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(a) || (a.fa_pid <= 0 && a.fa_errno == 0)) {
		forker_lost(sv, n < 0 ? strerror(errno) : n == 0 ?
		    "it closed its socket" : "a malformed answer");
		return 0;
	}
	if (a.fa_pid < 0) {
		errno = a.fa_errno;
		return -1;
	}
	return a.fa_pid;
}
