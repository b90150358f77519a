/*
 * contain.c - a worker's cgroups with --cgroup (SPEC 11).
 *
 * When its claim is granted the worker makes DIR/session.PID (PID its
 * own), and each task gets DIR/session.PID/task.N below it.  A task is
 * started with clone3(CLONE_INTO_CGROUP): it is in its cgroup from its
 * first instruction, so nothing it forks can ever be outside.  The child
 * of clone3 without CLONE_VM is a copy of the worker (copy-on-write,
 * the worker is small: tests/bench measures it), and a close-on-exec
 * pipe brings back the errno of a failed exec.
 *
 * When a task's leader has exited its cgroup is killed with cgroup.kill,
 * and the task has finished only once cgroup.events says "populated 0":
 * one epoll descriptor, adopted into the loop, waits for EPOLLPRI on
 * every cgroup.events of the session (kernfs signals each change of the
 * file so).  Not inotify: closing an inotify instance that lost watches
 * waits for an SRCU grace period, measured at 15 ms added to every
 * worker's exit, and so to every supersede.  Empty task cgroups are removed at once; the session
 * cgroup when the worker exits.
 */
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define PROGRESS_FD	3

/* An open cgroup.events of dirfd in the epoll set; -1 on failure. */
static int
contain_watch(struct wk *k, int dirfd, const char *what)
{
	struct epoll_event	ev;
	int			fd;

	if ((fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC)) < 0) {
		log_warn("open %s/cgroup.events", what);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLPRI | EPOLLET;
	ev.data.fd = fd;
	if (epoll_ctl(k->k_ep_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_warn("epoll_ctl %s/cgroup.events", what);
		close(fd);
		return -1;
	}
	return fd;
}

static int
contain_epoll(struct wk *k)
{
	lws_sock_file_fd_type	u;

	if ((k->k_ep_fd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_warn("epoll_create1");
		return -1;
	}
	u.filefd = (lws_filefd_type)(intptr_t)k->k_ep_fd;
	k->k_ep_wsi = lws_adopt_descriptor_vhost(k->k_vh,
	    LWS_ADOPT_RAW_FILE_DESC, u, "wstask.v1", NULL);
	if (k->k_ep_wsi == NULL) {
		log_warnx("cannot adopt the epoll descriptor");
		close(k->k_ep_fd);
		k->k_ep_fd = -1;
		return -1;
	}
	return (k->k_cg_ev = contain_watch(k, k->k_cg_fd, k->k_cg_path)) < 0 ?
	    -1 : 0;
}

static int
contain_limits(int fd, unsigned pids, size_t memory)
{
	if (cgroup_limit(fd, "pids.max", pids) < 0 ||
	    cgroup_limit(fd, "memory.max", memory) < 0)
		return -1;
	return 0;
}

/* The session's cgroup; on failure tasks refuse to start (k_cg_errno). */
void
contain_session(struct wk *k)
{
	const struct config	*cfg = k->k_cfg;
	char			 name[CGROUP_NAME_MAX], ctl[32] = "";
	int			 root;

	if (cfg->cgroup_dir == NULL || k->k_cg)
		return;
	k->k_cg = true;
	k->k_cg_fd = k->k_ep_fd = k->k_cg_ev = -1;
	snprintf(name, sizeof(name), CGROUP_SESSION_FMT, (long)getpid());
	if (asprintf(&k->k_cg_path, "%s/%s", cfg->cgroup_dir, name) < 0) {
		k->k_cg_path = NULL;
		k->k_cg_errno = ENOMEM;
		return;
	}
	if ((root = open(cfg->cgroup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		k->k_cg_errno = errno;
		log_warn("open %s", cfg->cgroup_dir);
		return;
	}
	if (mkdirat(root, name, 0755) < 0 && errno != EEXIST) {
		k->k_cg_errno = errno;
		log_warn("mkdir %s", k->k_cg_path);
		close(root);
		return;
	}
	k->k_cg_fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	k->k_cg_errno = k->k_cg_fd < 0 ? errno : 0;
	close(root);
	if (k->k_cg_fd < 0) {
		log_warn("open %s", k->k_cg_path);
		return;
	}
	if (cfg->task_pids_max)
		strlcat(ctl, "+pids ", sizeof(ctl));
	if (cfg->task_memory_max)
		strlcat(ctl, "+memory", sizeof(ctl));
	if (contain_limits(k->k_cg_fd, cfg->session_pids_max,
	    cfg->session_memory_max) < 0 || (*ctl &&
	    cgroup_write(k->k_cg_fd, "cgroup.subtree_control", ctl) < 0) ||
	    contain_epoll(k) < 0) {
		k->k_cg_errno = errno ? errno : EIO;
		return;
	}
	log_debug("event=cgroup session=%s dir=%s", k->k_session,
	    k->k_cg_path);
}

/* The task's cgroup, made and limited; an error number on failure. */
static int
contain_task_cgroup(struct wk *k, struct task *t)
{
	const struct config	*cfg = k->k_cfg;
	int			 err;

	if (k->k_cg_fd < 0)
		return k->k_cg_errno ? k->k_cg_errno : EIO;
	snprintf(t->t_cg_name, sizeof(t->t_cg_name), CGROUP_TASK_FMT,
	    ++k->k_cg_seq);
	if (mkdirat(k->k_cg_fd, t->t_cg_name, 0755) < 0) {
		err = errno;
		log_warn("mkdir %s/%s", k->k_cg_path, t->t_cg_name);
		return err;
	}
	t->t_cg = true;
	t->t_cg_ev = -1;
	t->t_execfd = -1;
	if ((t->t_cg_fd = openat(k->k_cg_fd, t->t_cg_name, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) < 0) {
		err = errno;
		log_warn("open %s/%s", k->k_cg_path, t->t_cg_name);
		contain_task_end(k, t);
		return err;
	}
	if (contain_limits(t->t_cg_fd, cfg->task_pids_max,
	    cfg->task_memory_max) < 0 ||
	    (t->t_cg_ev = contain_watch(k, t->t_cg_fd, t->t_cg_name)) < 0) {
		err = errno ? errno : EIO;
		contain_task_end(k, t);
		return err;
	}
	return 0;
}

/*
 * glibc's sigaction() refuses its two internal signals (32, 33), which
 * the worker may have ignored: an ignored signal survives exec.  The
 * kernel's struct sigaction for SIG_DFL, no flags and an empty mask is
 * all zeros whatever the architecture's layout.
 */
static int
contain_glibc_signals(void)
{
	unsigned long	ksa[8] = { 0 };
	int		sig;

	for (sig = 32; sig < SIGRTMIN; sig++)
		if (syscall(SYS_rt_sigaction, sig, ksa, NULL, 8) < 0)
			return -1;
	return 0;
}

/*
 * The child: SPEC 3's process, as task.c's posix_spawn attributes make
 * it.  Only async-signal-safe calls: it is a copy of the worker.
 */
static noreturn void
contain_child(const struct contain_exec *x, int errfd)
{
	int	err;

	if (signal_reset_all(NULL) < 0 || contain_glibc_signals() < 0 ||
	    setpgid(0, 0) < 0 ||
	    dup2(x->x_in, 0) < 0 || dup2(x->x_out, 1) < 0 ||
	    dup2(x->x_err, 2) < 0 || dup2(x->x_prog, PROGRESS_FD) < 0 ||
	    chdir(x->x_dir) < 0 ||
	    close_range(PROGRESS_FD + 1, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		goto fail;
	execve(x->x_path, x->x_argv, x->x_envp);
fail:
	err = errno;
	while (write(errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/*
 * Starts x in t's new cgroup: 0, or an error number as posix_spawn.
 * The worker does not wait for the exec (CLONE_VFORK would block it for
 * the child's page-table copy and exec, measured at 2.5 times the
 * throughput cost): an exec that fails sends its errno down t_execfd,
 * read when the leader is reaped (contain_exec_errno), and the group is
 * set on both sides so that a signal to it cannot come too early.
 */
int
contain_spawn(struct wk *k, struct task *t, const struct contain_exec *x)
{
	struct clone_args	ca;
	long			pid;
	int			errp[2], err;

	if ((err = contain_task_cgroup(k, t)) != 0)
		return err;
	if (pipe2(errp, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = errno;
		log_warn("pipe2");
		contain_task_end(k, t);
		return err;
	}
	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_INTO_CGROUP;
	ca.exit_signal = SIGCHLD;
	ca.cgroup = (uint64_t)t->t_cg_fd;
	if ((pid = syscall(SYS_clone3, &ca, sizeof(ca))) == 0)
		contain_child(x, errp[1]);
	err = errno;
	close(errp[1]);
	if (pid < 0) {
		log_warn("clone3");
		close(errp[0]);
		contain_task_end(k, t);
		return err;
	}
	/* EACCES: it has exec'd, after its own setpgid. */
	if (setpgid((pid_t)pid, (pid_t)pid) < 0 && errno != EACCES &&
	    errno != ESRCH)
		log_warn("setpgid %ld", pid);
	t->t_pid = (pid_t)pid;
	t->t_execfd = errp[0];
	return 0;
}

/* The errno of the leader's failed exec, 0 if it ran. */
int
contain_exec_errno(struct task *t)
{
	ssize_t	n;
	int	err = 0;

	if (t->t_execfd < 0)
		return 0;
	while ((n = read(t->t_execfd, &err, sizeof(err))) < 0 &&
	    errno == EINTR)
		;
	close(t->t_execfd);
	t->t_execfd = -1;
	return n == sizeof(err) ? err : 0;
}

/*
 * The leader has exited (reaped, status kept): kill the rest of its
 * cgroup.  True when it is empty already, so the task has finished.
 */
bool
contain_leader_exited(struct wk *k, struct task *t, int status)
{
	(void)k;
	t->t_exited = true;
	t->t_status = status;
	t->t_exec_errno = contain_exec_errno(t);
	if (cgroup_kill(t->t_cg_fd) < 0)
		return true;	/* a dead cgroup can hold nothing */
	return cgroup_populated(t->t_cg_fd) == 0;
}

/* SIGKILL for a task is the whole cgroup's. */
void
contain_kill(struct task *t)
{
	if (t->t_cg && t->t_cg_fd >= 0)
		cgroup_kill(t->t_cg_fd);
}

static struct task *
contain_emptied(struct wk *k)
{
	struct task	*t;

	if (k->k_cur == NULL)
		return NULL;
	TAILQ_FOREACH(t, &k->k_cur->b_run, t_entry)
		if (t->t_exited && cgroup_populated(t->t_cg_fd) != 1)
			return t;
	return NULL;
}

/* A cgroup.events changed: tasks whose cgroup is empty have finished. */
void
contain_events(struct wk *k)
{
	struct epoll_event	 ev[32];
	struct task		*t;
	int			 n;

	/* Edge-triggered: taking the events is all; the files say the rest. */
	while ((n = epoll_wait(k->k_ep_fd, ev, 32, 0)) == 32 ||
	    (n < 0 && errno == EINTR))
		;
	if (n < 0)
		log_warn("epoll_wait");
	/* One at a time: finishing a task may free its batch. */
	while ((t = contain_emptied(k)) != NULL)
		batch_task_done(k, t, t->t_status);
	worker_progress(k);
}

/*
 * The task is over: note an OOM kill, remove its cgroup.  Idempotent;
 * a cgroup that is not empty (the worker leaves with it) is killed.
 */
void
contain_task_end(struct wk *k, struct task *t)
{
	if (t->t_execfd > 0)
		close(t->t_execfd);
	t->t_execfd = -1;
	if (!t->t_cg)
		return;
	t->t_cg = false;
	if (t->t_cg_ev >= 0)
		close(t->t_cg_ev);	/* which leaves the epoll set */
	t->t_cg_ev = -1;
	if (t->t_cg_fd >= 0) {
		if (k->k_cfg->task_memory_max || k->k_cfg->session_memory_max)
			t->t_oom = cgroup_event_count(t->t_cg_fd,
			    "memory.events", "oom_kill") > 0;
		if (cgroup_populated(t->t_cg_fd) == 1)
			cgroup_kill(t->t_cg_fd);
		close(t->t_cg_fd);
	}
	t->t_cg_fd = -1;
	if (unlinkat(k->k_cg_fd, t->t_cg_name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT)
		log_warn("rmdir %s/%s", k->k_cg_path, t->t_cg_name);
}

/* True while the session's cgroup holds a process; kills them. */
bool
contain_session_left(struct wk *k)
{
	if (!k->k_cg || k->k_cg_fd < 0 || cgroup_populated(k->k_cg_fd) != 1)
		return false;
	cgroup_kill(k->k_cg_fd);
	return true;
}

/* At exit, every process gone: the session's cgroup goes too. */
void
contain_free(struct wk *k)
{
	char	*slash;
	int	 root;

	if (!k->k_cg)
		return;
	if (k->k_cg_ev >= 0)
		close(k->k_cg_ev);
	if (k->k_cg_fd >= 0)
		close(k->k_cg_fd);
	if (k->k_cg_path && (slash = strrchr(k->k_cg_path, '/')) != NULL &&
	    (root = open(k->k_cfg->cgroup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		cgroup_remove(root, slash + 1);
		close(root);
	}
	free(k->k_cg_path);
	k->k_cg_path = NULL;
	k->k_cg = false;
}
