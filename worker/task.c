/*
 * task.c - one handler process: spawn, signal, and read its output.
 *
 * Without --cgroup, handlers are started with posix_spawn (glibc's is clone(CLONE_VFORK):
 * the cheapest correct start) with every guarantee of SPEC 3 in the
 * attributes: own process group, empty signal mask, default dispositions,
 * cwd --tasks, a clean environment, stdin the args (a memfd) or
 * /dev/null, stdout and stderr pipes, the progress pipe at fd 3 (SPEC
 * 7.1), and no other fd; with --cgroup contain.c starts them the same
 * way in a cgroup of their own.  No shell is ever involved: the path is
 * --tasks/NAME and argv is [NAME].
 *
 * The pipes' read ends are adopted into the worker's libwebsockets loop.
 * stdout is kept up to --max-output (one byte more kills the task),
 * stderr as a ring of its last STDERR_TAIL bytes (and, with "log", as
 * lines: tasklog.c); fd 3 is progress.c's.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define READ_BUDGET	(64 * 1024)	/* per wakeup, so no pipe hogs */
#define DRAIN_ERR_MAX	(1024 * 1024)	/* stderr read after exit, at most */
#define ENV_MAX		8
#define PROGRESS_FD	3	/* SPEC 7.1; WSTASK_PROGRESS_FD says so */

enum { P_OUT = 0, P_ERR, P_PROG, NPIPES };	/* a task's pipes */

static int
task_stdin(struct wk *k, const struct task *t)
{
	size_t	len, off = 0;
	ssize_t	n;
	int	fd;

	if (t->t_args == NULL)
		return k->k_nullfd;
	if ((fd = memfd_create("wstask-args", MFD_CLOEXEC)) < 0) {
		log_warn("memfd_create");
		return -1;
	}
	len = strlen(t->t_args);
	while (off < len) {
		if ((n = write(fd, t->t_args + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("write args");
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		log_warn("lseek args");
		close(fd);
		return -1;
	}
	return fd;
}

static void	task_detach(struct lws **wsip);

/* The read end fd in the loop; NULL with errno set (fd closed) if not. */
static struct lws *
task_adopt(struct wk *k, struct task *t, int fd)
{
	lws_sock_file_fd_type	 u;
	struct lws		*wsi;
	int			 saved;

	/* A blocking pipe would hang the whole worker in its reads. */
	if (fd_set_nonblock(fd) < 0) {
		saved = errno;
		log_warn("fcntl O_NONBLOCK");
		close(fd);
		errno = saved;
		return NULL;
	}
	u.filefd = (lws_filefd_type)(intptr_t)fd;
	wsi = lws_adopt_descriptor_vhost(k->k_vh, LWS_ADOPT_RAW_FILE_DESC, u,
	    "wstask.v1", NULL);
	if (wsi == NULL) {
		/* lws 4.1.6 leaves a raw fd it could not adopt open. */
		log_warnx("cannot adopt a pipe of %s: no room in the loop",
		    t->t_name);
		close(fd);
		errno = EMFILE;
		return NULL;
	}
	lws_set_opaque_user_data(wsi, t);
	return wsi;
}

static struct lws **
task_pipe_slot(struct task *t, int which)
{
	return which == P_OUT ? &t->t_out : which == P_ERR ? &t->t_err :
	    &t->t_prog;
}

/*
 * Every read end into the loop, readers first: a handler must never run
 * with nobody reading it.  -1 with errno set (every read end closed).
 */
static int
task_readers(struct wk *k, struct task *t, int p[NPIPES][2])
{
	int	i, j, saved;

	for (i = 0; i < NPIPES; i++) {
		if ((*task_pipe_slot(t, i) = task_adopt(k, t, p[i][0])) != NULL)
			continue;
		saved = errno;
		for (j = 0; j < i; j++)
			task_detach(task_pipe_slot(t, j));
		for (j = i + 1; j < NPIPES; j++)
			close(p[j][0]);
		errno = saved;
		return -1;
	}
	return 0;
}

/* 0, or the error number of the posix_spawn_file_actions call. */
static int
task_file_actions(struct wk *k, posix_spawn_file_actions_t *fa, int in,
    int p[NPIPES][2])
{
	int	rc;

	if ((rc = posix_spawn_file_actions_init(fa)) != 0)
		return rc;
	if ((rc = posix_spawn_file_actions_adddup2(fa, in, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, p[P_OUT][1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, p[P_ERR][1], 2)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, p[P_PROG][1],
	    PROGRESS_FD)) != 0 ||
	    (rc = posix_spawn_file_actions_addchdir_np(fa,
	    k->k_cfg->tasks_dir)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(fa,
	    PROGRESS_FD + 1)) != 0)
		posix_spawn_file_actions_destroy(fa);
	return rc;
}

/* NPIPES pipes, or -1 with errno set and none open. */
static int
task_pipes(int p[NPIPES][2])
{
	int	i, saved;

	for (i = 0; i < NPIPES; i++) {
		if (pipe2(p[i], O_CLOEXEC) == 0)
			continue;
		saved = errno;
		log_warn("pipe2");
		while (i-- > 0) {
			close(p[i][0]);
			close(p[i][1]);
		}
		errno = saved;
		return -1;
	}
	return 0;
}

struct task_env {
	char	ses[16 + SESSION_ID_MAX], batch[16 + BATCH_NAME_MAX],
		id[16 + TASK_ID_MAX], task[16 + TASK_NAME_MAX];
};

/* SPEC 3's clean environment into envp (ENV_MAX + npass_env slots). */
static void
task_env(const struct wk *k, const struct task *t, struct task_env *e,
    char **envp)
{
	const struct config	*cfg = k->k_cfg;
	size_t			 ne = 0, i;

	snprintf(e->ses, sizeof(e->ses), "WSTASK_SESSION=%s", k->k_session);
	snprintf(e->batch, sizeof(e->batch), "WSTASK_BATCH=%s",
	    t->t_batch->b_name);
	snprintf(e->id, sizeof(e->id), "WSTASK_TASK_ID=%s", t->t_id);
	snprintf(e->task, sizeof(e->task), "WSTASK_TASK=%s", t->t_name);
	envp[ne++] = "WSTASK_PROGRESS_FD=3";
	if (!cfg->pass_path)
		envp[ne++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[ne++] = e->ses;
	envp[ne++] = e->batch;
	envp[ne++] = e->id;
	envp[ne++] = e->task;
	for (i = 0; i < cfg->npass_env; i++)
		envp[ne++] = cfg->pass_env[i];
	envp[ne] = NULL;
}

/* Spawns t; -1 with errno set when it could not be started. */
int
task_spawn(struct wk *k, struct task *t)
{
	const struct config		*cfg = k->k_cfg;
	posix_spawn_file_actions_t	 fa;
	struct task_env			 e;
	char				 lid[LOG_ESC_SIZE(TASK_ID_MAX)];
	char				 path[4096];
	char				*argv[2], *envp[ENV_MAX + cfg->npass_env];
	int				 in, p[NPIPES][2], rc, i;

	snprintf(path, sizeof(path), "%s/%s", cfg->tasks_dir, t->t_name);
	task_env(k, t, &e, envp);
	argv[0] = t->t_name;
	argv[1] = NULL;

	if ((in = task_stdin(k, t)) < 0)
		return -1;
	if (task_pipes(p) < 0) {
		rc = errno;
		if (in != k->k_nullfd)
			close(in);
		errno = rc;
		return -1;
	}
	if (task_readers(k, t, p) < 0)
		rc = errno;
	else if (k->k_cfg->cgroup_dir) {
		struct contain_exec x = { path, cfg->tasks_dir, argv, envp, in,
		    p[P_OUT][1], p[P_ERR][1], p[P_PROG][1] };

		rc = contain_spawn(k, t, &x);
	} else if ((rc = task_file_actions(k, &fa, in, p)) == 0) {
		rc = posix_spawn(&t->t_pid, path, &fa, &k->k_spawnattr, argv,
		    envp);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (in != k->k_nullfd)
		close(in);
	for (i = 0; i < NPIPES; i++)
		close(p[i][1]);
	if (rc != 0) {
		for (i = 0; i < NPIPES; i++)
			task_detach(task_pipe_slot(t, i));
		errno = rc;
		return -1;
	}
	if (log_verbosity() >= LOG_LVL_DEBUG)
		log_debug("event=spawn session=%s batch=%s id=%s handler=%s "
		    "pid=%ld", k->k_session, t->t_batch->b_lname, log_esc(lid,
		    sizeof(lid), t->t_id, false), t->t_name, (long)t->t_pid);
	return 0;
}

/*
 * Signals a running task's process group.  The leader is unreaped while
 * the task runs, so its pid, which is the group's id, cannot have been
 * reused.  A leader that left its own group is signalled by pid as well.
 */
void
task_signal(struct task *t, int sig)
{
	if (t->t_state != T_RUNNING || (sig == SIGKILL && t->t_killed))
		return;
	if (sig == SIGKILL) {
		t->t_killed = true;
		contain_kill(t);
	}
	/* A reaped leader's pid may be anybody's now: its cgroup was killed. */
	if (t->t_exited)
		return;
	if (kill(-t->t_pid, sig) < 0 && errno != ESRCH)
		log_warn("kill -%ld", (long)t->t_pid);
	if (getpgid(t->t_pid) != t->t_pid && kill(t->t_pid, sig) < 0 &&
	    errno != ESRCH)
		log_warn("kill %ld", (long)t->t_pid);
}

static int
task_grow(struct task *t, size_t max)
{
	size_t	cap = t->t_cap ? t->t_cap * 2 : 1024;
	char	*p;

	if (cap > max)
		cap = max;
	if ((p = realloc(t->t_buf, cap + 1)) == NULL) {
		log_warn("realloc");
		return -1;
	}
	t->t_buf = p;
	t->t_cap = cap;
	return 0;
}

/*
 * One read of a task's pipe: >0 bytes, or RD_CLOSE (EOF, error) or
 * RD_AGAIN negated, so the callers' loops stay one line each.
 */
ssize_t
task_read_fd(const struct task *t, int fd, void *buf, size_t len,
    const char *what)
{
	ssize_t	n;

	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	if (n > 0)
		return n;
	if (n < 0 && errno == EAGAIN)
		return -RD_AGAIN;
	if (n < 0)
		log_warn("read %s of %s", what, t->t_name);
	return -RD_CLOSE;
}

static int
task_over(struct wk *k, struct task *t)
{
	char	lid[LOG_ESC_SIZE(TASK_ID_MAX)];

	t->t_over = true;
	log_info("event=output-exceeded session=%s batch=%s id=%s max=%zu",
	    k->k_session, t->t_batch->b_lname, log_esc(lid, sizeof(lid),
	    t->t_id, false), k->k_cfg->max_output);
	task_signal(t, SIGKILL);
	return RD_CLOSE;
}

/* Reads stdout until EAGAIN, EOF, the budget, or --max-output is passed. */
static int
task_read_out(struct wk *k, struct task *t, int fd, size_t budget)
{
	size_t	max = k->k_cfg->max_output, got = 0;
	char	probe[1];
	ssize_t	n;

	while (got < budget) {
		if (t->t_len == t->t_cap && t->t_cap < max &&
		    task_grow(t, max) < 0)
			return RD_CLOSE;
		if (t->t_len == max)	/* one byte more is too much */
			n = task_read_fd(t, fd, probe, 1, "stdout");
		else
			n = task_read_fd(t, fd, t->t_buf + t->t_len,
			    t->t_cap - t->t_len, "stdout");
		if (n <= 0)
			return (int)-n;
		if (t->t_len == max)
			return task_over(k, t);
		t->t_len += (size_t)n;
		got += (size_t)n;
	}
	return RD_MORE;
}

static void
task_err_append(struct task *t, const char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		t->t_errtail[(t->t_errtotal + i) % STDERR_TAIL] = buf[i];
	t->t_errtotal += n;
}

/*
 * With "log", the lines read become events: once they choke the
 * connection, reading stops at once (batch_choke() has paused the pipe),
 * or one wakeup's budget of short lines would queue far past the bound.
 * Draining after the leader's exit (drain) reads on regardless.
 */
static int
task_read_err(struct wk *k, struct task *t, int fd, size_t budget,
    bool drain)
{
	char	buf[4096];
	size_t	got = 0;
	ssize_t	n;

	while (got < budget && (drain || !k->k_choked)) {
		if ((n = task_read_fd(t, fd, buf, sizeof(buf), "stderr")) <= 0)
			return (int)-n;
		task_err_append(t, buf, (size_t)n);
		tasklog_feed(k, t, buf, (size_t)n);
		got += (size_t)n;
	}
	return RD_MORE;
}

/* From the pipe's readable callback; nonzero: close this pipe. */
int
task_read(struct wk *k, struct task *t, struct lws *wsi)
{
	int	fd = lws_get_socket_fd(wsi), rc;

	if (t->t_state != T_RUNNING)
		return 1;
	if (wsi == t->t_out)
		rc = task_read_out(k, t, fd, READ_BUDGET);
	else if (wsi == t->t_err)
		rc = task_read_err(k, t, fd, READ_BUDGET, false);
	else
		rc = progress_read(k, t, fd, READ_BUDGET);
	if (rc != RD_CLOSE)
		return 0;
	lws_set_opaque_user_data(wsi, NULL);
	if (wsi == t->t_out)
		t->t_out = NULL;
	else if (wsi == t->t_err)
		t->t_err = NULL;
	else
		t->t_prog = NULL;
	return 1;
}

/*
 * libwebsockets closes a pipe by itself when its last writer is gone and
 * the pipe is not being read (paused while the client is choked: poll
 * then reports only POLLHUP).  What is still in it is the task's output:
 * read it now, while the fd is still open.
 */
void
task_pipe_closing(struct wk *k, struct task *t, struct lws *wsi)
{
	int	fd = lws_get_socket_fd(wsi);

	if (wsi == t->t_out) {
		if (t->t_state == T_RUNNING)
			while (task_read_out(k, t, fd, SIZE_MAX) == RD_MORE)
				;
		t->t_out = NULL;
	} else if (wsi == t->t_err) {
		if (t->t_state == T_RUNNING)
			task_read_err(k, t, fd, DRAIN_ERR_MAX, true);
		t->t_err = NULL;
	} else if (wsi == t->t_prog) {
		if (t->t_state == T_RUNNING)
			progress_drain(k, t, fd);
		t->t_prog = NULL;
	}
}

/*
 * Closes a pipe at once: it is never the wsi being serviced here (a pipe
 * closes itself from its own callback by returning -1), and its slot is
 * needed by the next task's pipes.
 */
static void
task_detach(struct lws **wsip)
{
	struct lws	*wsi = *wsip;

	if (wsi == NULL)
		return;
	*wsip = NULL;
	lws_set_opaque_user_data(wsi, NULL);
	lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
}

/*
 * The leader has exited and its group was killed: what is left in the
 * pipes is the rest of its output.  A descendant that escaped the group
 * may keep a pipe open; it is not waited for.
 */
void
task_drain(struct wk *k, struct task *t)
{
	if (t->t_out) {
		while (task_read_out(k, t, lws_get_socket_fd(t->t_out),
		    SIZE_MAX) == RD_MORE)
			;
		task_detach(&t->t_out);
	}
	if (t->t_err) {
		task_read_err(k, t, lws_get_socket_fd(t->t_err), DRAIN_ERR_MAX,
		    true);
		task_detach(&t->t_err);
	}
	if (t->t_prog) {
		progress_drain(k, t, lws_get_socket_fd(t->t_prog));
		task_detach(&t->t_prog);
	}
}

void
task_pause_pipes(struct task *t, bool paused)
{
	if (t->t_out)
		lws_rx_flow_control(t->t_out, paused ? 0 : 1);
	if (t->t_err)
		lws_rx_flow_control(t->t_err, paused ? 0 : 1);
}

/* The result is sent: its output is not needed any more. */
void
task_release(struct task *t)
{
	free(t->t_buf);
	t->t_buf = NULL;
	t->t_len = t->t_cap = 0;
	progress_free(t);
	tasklog_free(t);
}

void
task_free(struct wk *k, struct task *t)
{
	lws_sul_cancel(&t->t_sul);
	contain_task_end(k, t);
	task_detach(&t->t_out);
	task_detach(&t->t_err);
	task_detach(&t->t_prog);
	task_release(t);
	free(t->t_id);
	free(t->t_name);
	free(t->t_args);
}
