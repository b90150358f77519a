/*
 * cgsetup.c - --cgroup: checked at start (and by -n), the daemon's own
 * leaf, the controllers the limits need, and the crash sweep's share.
 *
 * Layout below DIR (SPEC 11, wstaskd(8) CGROUPS):
 *
 *	DIR/daemon/			the supervisor and its workers
 *	DIR/session.WORKERPID/		one per granted session (the worker
 *	DIR/session.WORKERPID/task.N/	makes them), one per task below
 *
 * cgroup v2 lets a cgroup hand controllers to its children only while it
 * has no processes of its own ("no internal processes"): so the daemon
 * never stays in DIR, and a DIR with other processes in it is refused
 * when a limit needs a controller.  And a process may be put into a
 * cgroup only by who may write cgroup.procs of the common ancestor of
 * its cgroup and the new one: so the daemon lives below DIR.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "supervisor.h"

static void __attribute__((__noreturn__, format(printf, 3, 4)))
cgsetup_fail(const struct config *cfg, int status, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "wstaskd: --cgroup %s: ", cfg->cgroup_dir);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* "auto" and relative paths become the absolute directory. */
static void
cgsetup_resolve(struct config *cfg)
{
	char	own[4096], *abs;

	if (!strcmp(cfg->cgroup_dir, "auto")) {
		if (cgroup_own(own, sizeof(own)) < 0)
			cgsetup_fail(cfg, EX_USAGE, "no cgroup v2 of this "
			    "process in /proc/self/cgroup and "
			    "/proc/self/mountinfo");
		abs = strdup(own);
		if (abs == NULL)
			fatal("strdup");
	} else if ((abs = realpath(cfg->cgroup_dir, NULL)) == NULL)
		cgsetup_fail(cfg, EX_USAGE, "%s", strerror(errno));
	free(cfg->cgroup_dir);
	cfg->cgroup_dir = abs;
}

/* The controllers the limits need: "pids", "memory", both or none. */
static void
cgsetup_needed(const struct config *cfg, bool *pids, bool *memory)
{
	*pids = cfg->task_pids_max || cfg->session_pids_max;
	*memory = cfg->task_memory_max || cfg->session_memory_max;
}

/* Another process than this one in DIR itself. */
static bool
cgsetup_has_others(int dirfd)
{
	char	buf[8192], *p, *end;
	long	pid;

	if (cgroup_read(dirfd, "cgroup.procs", buf, sizeof(buf)) < 0)
		return false;
	for (p = buf; *p; p = end) {
		pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid != (long)getpid())
			return true;
	}
	return false;
}

static void
cgsetup_controllers(const struct config *cfg, int dirfd)
{
	char	list[1024];
	bool	pids, memory;

	cgsetup_needed(cfg, &pids, &memory);
	if (!pids && !memory)
		return;
	if (cgroup_read(dirfd, "cgroup.controllers", list, sizeof(list)) < 0)
		cgsetup_fail(cfg, EX_USAGE, "cannot read cgroup.controllers: "
		    "%s", strerror(errno));
	if (pids && !cgroup_lists(list, "pids"))
		cgsetup_fail(cfg, EX_USAGE, "no pids controller (needed by "
		    "--%s-pids-max)", cfg->task_pids_max ? "task" : "session");
	if (memory && !cgroup_lists(list, "memory"))
		cgsetup_fail(cfg, EX_USAGE, "no memory controller (needed by "
		    "--%s-memory-max)", cfg->task_memory_max ? "task" :
		    "session");
	if (cgsetup_has_others(dirfd))
		cgsetup_fail(cfg, EX_USAGE, "has processes of its own, so "
		    "it cannot give its children controllers (no internal "
		    "processes): give a directory of wstaskd's own");
}

/*
 * Exits 64 with the reason when DIR cannot be used: not a cgroup2
 * directory, no cgroup.kill, a controller that a limit needs missing.
 * daemon_check_access() checks that the workers' user may write it.
 */
void
cgsetup_check(struct config *cfg)
{
	int	fd;

	if (cfg->cgroup_dir == NULL)
		return;
	cgsetup_resolve(cfg);
	cfg->cgroup_give = geteuid() == 0 && cfg->user != NULL;
	if (!cgroup_is_v2(cfg->cgroup_dir))
		cgsetup_fail(cfg, EX_USAGE, "not a cgroup v2 directory");
	if ((fd = open(cfg->cgroup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		cgsetup_fail(cfg, EX_USAGE, "%s", strerror(errno));
	if (faccessat(fd, "cgroup.kill", F_OK, 0) < 0)
		cgsetup_fail(cfg, EX_USAGE, "no cgroup.kill (a root cgroup "
		    "has none; else Linux 5.14 or later is needed)");
	cgsetup_controllers(cfg, fd);
	close(fd);
}

/* Whether this process sits in DIR/daemon already. */
static bool
cgsetup_in_leaf(const struct config *cfg)
{
	char	own[4096], leaf[4096];

	snprintf(leaf, sizeof(leaf), "%s/%s", cfg->cgroup_dir, CGROUP_DAEMON);
	return cgroup_own(own, sizeof(own)) == 0 && !strcmp(own, leaf);
}

/*
 * Into DIR/daemon.  A task is cloned into its cgroup, which cgroup v2
 * allows only to who may write cgroup.procs of the common ancestor of
 * the worker's cgroup and the task's: with the daemon below DIR that is
 * DIR's own, which delegation gives to the daemon's user.
 */
static void
cgsetup_move(const struct config *cfg, int fd)
{
	char	pid[24];
	int	dfd;

	if (cgsetup_in_leaf(cfg))
		return;
	if (mkdirat(fd, CGROUP_DAEMON, 0755) < 0 && errno != EEXIST)
		cgsetup_fail(cfg, 1, "mkdir %s: %s", CGROUP_DAEMON,
		    strerror(errno));
	if ((dfd = openat(fd, CGROUP_DAEMON, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		cgsetup_fail(cfg, 1, "open %s: %s", CGROUP_DAEMON,
		    strerror(errno));
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (cgroup_write(dfd, "cgroup.procs", pid) < 0)
		cgsetup_fail(cfg, 1, "cannot move into %s (the daemon must "
		    "be started where it may move itself from): %s",
		    CGROUP_DAEMON, strerror(errno));
	close(dfd);
	log_info("event=cgroup-moved dir=%s/%s", cfg->cgroup_dir,
	    CGROUP_DAEMON);
}

/*
 * Started as root with --user: DIR is delegated to the user the way
 * systemd delegates (the directory, cgroup.procs, cgroup.threads and
 * cgroup.subtree_control), so workers can make their session cgroups and
 * clone tasks into them.  DIR/daemon stays root's.
 */
static void
cgsetup_give(const struct config *cfg, int fd)
{
	static const char *const files[] = { "cgroup.procs", "cgroup.threads",
	    "cgroup.subtree_control" };
	struct stat	st;
	size_t		i;

	if (!cfg->cgroup_give)
		return;
	if (fstat(fd, &st) < 0)
		cgsetup_fail(cfg, 1, "fstat: %s", strerror(errno));
	if (st.st_uid != cfg->uid || st.st_gid != cfg->gid) {
		if (fchown(fd, cfg->uid, cfg->gid) < 0)
			cgsetup_fail(cfg, 1, "chown to %s: %s", cfg->user,
			    strerror(errno));
		log_info("event=cgroup-delegated dir=%s user=%s",
		    cfg->cgroup_dir, cfg->user);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (fchownat(fd, files[i], cfg->uid, cfg->gid, 0) < 0)
			cgsetup_fail(cfg, 1, "chown %s to %s: %s", files[i],
			    cfg->user, strerror(errno));
}

/*
 * Before anything is forked: into DIR/daemon, DIR delegated to --user,
 * and DIR's children given the controllers the limits need.  Exits 1 on
 * failure.
 */
void
cgsetup_enter(const struct config *cfg)
{
	char	ctl[32] = "";
	bool	pids, memory;
	int	fd;

	if (cfg->cgroup_dir == NULL)
		return;
	if ((fd = open(cfg->cgroup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		cgsetup_fail(cfg, 1, "%s", strerror(errno));
	cgsetup_move(cfg, fd);
	cgsetup_give(cfg, fd);
	cgsetup_needed(cfg, &pids, &memory);
	if (pids)
		strlcat(ctl, "+pids ", sizeof(ctl));
	if (memory)
		strlcat(ctl, "+memory", sizeof(ctl));
	if (*ctl && cgroup_write(fd, "cgroup.subtree_control", ctl) < 0)
		cgsetup_fail(cfg, 1, "cannot enable %s in "
		    "cgroup.subtree_control: %s", ctl, strerror(errno));
	close(fd);
}

/*
 * The crash sweep's share: kill what is left in a crashed worker's
 * session cgroup and remove it once empty.  1 while something is left.
 */
int
cgsetup_sweep(const struct config *cfg, pid_t worker)
{
	char	name[CGROUP_NAME_MAX];
	int	root, fd, left;

	if (cfg->cgroup_dir == NULL)
		return 0;
	snprintf(name, sizeof(name), CGROUP_SESSION_FMT, (long)worker);
	if ((root = open(cfg->cgroup_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		log_warn("open %s", cfg->cgroup_dir);
		return 0;
	}
	if ((fd = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warn("open %s/%s", cfg->cgroup_dir, name);
		close(root);
		return 0;
	}
	if ((left = cgroup_populated(fd)) > 0) {
		log_info("event=cgroup-kill dir=%s/%s", cfg->cgroup_dir, name);
		cgroup_kill(fd);
		left = cgroup_populated(fd);
	}
	close(fd);
	if (left == 0)
		cgroup_remove(root, name);
	close(root);
	return left > 0;
}
