/*
 * watch.c - the worker's own epoll descriptor: every task pipe's read end
 * and, with --cgroup, every cgroup.events, behind one fd that is adopted
 * into the libwebsockets loop once, at the first task or cgroup.
 *
 * Why not a wsi per pipe: libwebsockets 4.1.6 allocates a wsi for each
 * adopted fd, writes its own eventfd to wake its loop, and closes it
 * through its full close path; with three pipes a task that was a
 * quarter of the worker's CPU per task (tests/bench/RESULTS.md).  Here a
 * pipe costs one epoll_ctl in and one out.
 *
 * Pipes are level-triggered and the data pointer is their struct rend:
 * one wakeup takes at most WATCH_EVENTS events and each pipe is read at
 * most a budget (task.c), what is left wakes the loop again, so a chatty
 * task cannot starve the others or the connection.  A pipe that must not
 * be read (backpressure) asks for no event, edge-triggered: a hung-up
 * pipe reports EPOLLHUP whatever it asked for, level-triggered at every
 * wakeup.
 * A read end leaves the set before it is closed, since a clone3 child of
 * contain.c may hold a copy of it until its exec and epoll forgets an fd
 * only with the last copy.  cgroup.events are edge-triggered, with a NULL
 * data pointer (contain.c).
 */
#include <sys/epoll.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

#define WATCH_EVENTS	32	/* taken per wakeup */

/* The epoll descriptor in the loop (once); -1 if it cannot be. */
int
watch_open(struct wk *k)
{
	lws_sock_file_fd_type	u;

	if (k->k_ep_wsi != NULL)
		return 0;
	if ((k->k_ep_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	u.filefd = (lws_filefd_type)(intptr_t)k->k_ep_fd;
	k->k_ep_wsi = lws_adopt_descriptor_vhost(k->k_vh,
	    LWS_ADOPT_RAW_FILE_DESC, u, "wstask.v1", NULL);
	if (k->k_ep_wsi == NULL) {
		/* lws 4.1.6 leaves a raw fd it could not adopt open. */
		log_warnx("cannot adopt the epoll descriptor");
		close(k->k_ep_fd);
		k->k_ep_fd = -1;
		errno = EMFILE;
		return -1;
	}
	return 0;
}

static int
watch_ctl(struct wk *k, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(k->k_ep_fd, op, fd, &ev) < 0) {
		log_warn("epoll_ctl %s %d", op == EPOLL_CTL_ADD ? "add" :
		    "mod", fd);
		return -1;
	}
	return 0;
}

/* fd into the set; -1 with errno set (logged). */
int
watch_add(struct wk *k, int fd, uint32_t events, void *ptr)
{
	return watch_ctl(k, EPOLL_CTL_ADD, fd, events, ptr);
}

/* What fd, in the set, waits for; -1 with errno set (logged). */
int
watch_mod(struct wk *k, int fd, uint32_t events, void *ptr)
{
	return watch_ctl(k, EPOLL_CTL_MOD, fd, events, ptr);
}

void
watch_del(struct wk *k, int fd)
{
	if (epoll_ctl(k->k_ep_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
		log_warn("epoll_ctl del %d", fd);
}

/*
 * The descriptor is readable.  Pipes first, then the cgroups: finishing a
 * task may free its batch, and with it the struct rends of events not
 * handled yet.  A pipe closed or paused by an earlier event of the same
 * wakeup is skipped by task_pipe_ready().
 */
void
watch_events(struct wk *k)
{
	struct epoll_event	ev[WATCH_EVENTS];
	bool			cgroup = false;
	int			n, i;

	while ((n = epoll_wait(k->k_ep_fd, ev, WATCH_EVENTS, 0)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0) {
		log_warn("epoll_wait");
		return;
	}
	for (i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL)
			cgroup = true;
		else
			task_pipe_ready(k, ev[i].data.ptr);
	}
	if (cgroup)
		contain_events(k);
}
