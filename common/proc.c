/*
 * proc.c - scan /proc for the children of a process; clone a sibling.
 *
 * Used by the worker's exit sweep and the supervisor's crash sweep, which
 * also share proc_kill().  The
 * comm field of /proc/PID/stat is in parentheses and may itself contain
 * spaces and ')', so parsing starts after the last ')'.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

int
proc_stat_parse(const char *buf, struct proc_stat *ps)
{
	const char	*p = strrchr(buf, ')');
	long		 ppid, pgid;
	char		 state;

	if (p == NULL)
		return -1;
	if (sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgid) != 3)
		return -1;
	ps->pid = (pid_t)strtol(buf, NULL, 10);
	ps->state = state;
	ps->ppid = (pid_t)ppid;
	ps->pgid = (pid_t)pgid;
	return 0;
}

/*
 * 0: read; 1: not ours to report (gone meanwhile, or another user's that
 * /proc hides: hidepid, an LSM; our children are ours to read); -1: the
 * entry could not be read for want of a resource (logged), so a scan
 * cannot claim to be complete.
 */
static int
proc_read_stat(int dirfd, const char *name, struct proc_stat *ps)
{
	char	path[64], buf[1024];
	ssize_t	n;
	int	fd, saved;

	snprintf(path, sizeof(path), "%s/stat", name);
	if ((fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ESRCH || errno == EACCES ||
		    errno == EPERM)
			return 1;
		log_warn("openat /proc/%s", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	saved = errno;
	close(fd);
	if (n == 0 || (n < 0 && (saved == ESRCH || saved == ENOENT ||
	    saved == EACCES || saved == EPERM)))
		return 1;
	if (n < 0) {
		errno = saved;
		log_warn("read /proc/%s", path);
		return -1;
	}
	buf[n] = '\0';
	if (proc_stat_parse(buf, ps) < 0) {
		log_warnx("/proc/%s: cannot parse", path);
		return -1;
	}
	return 0;
}

/*
 * Calls fn for each process whose parent is `parent`; returns how many,
 * or -1 when some entry could not be read: "none found" must be certain,
 * since a sweep that ends on it lets the next session start.
 */
int
proc_children(pid_t parent, proc_fn *fn, void *arg)
{
	struct proc_stat ps;
	struct dirent	*de;
	DIR		*d;
	int		 count = 0, rc;
	bool		 complete = true;

	if ((d = opendir("/proc")) == NULL) {
		log_warn("opendir /proc");
		return -1;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if ((rc = proc_read_stat(dirfd(d), de->d_name, &ps)) < 0) {
			complete = false;	/* logged once: stop here */
			break;
		}
		if (rc > 0)
			continue;
		if (ps.ppid != parent)
			continue;
		count++;
		if (fn)
			fn(&ps, arg);
	}
	if (complete && errno != 0) {
		log_warn("readdir /proc");
		complete = false;
	}
	closedir(d);
	return complete ? count : -1;
}

/*
 * SIGKILLs a child found by proc_children() and, if `group' and the group
 * is not ours, its process group first.  Safe only for an unreaped child:
 * it pins its pid and its group id, so neither can be a stranger's.
 */
void
proc_kill(const struct proc_stat *ps, bool group)
{
	if (group && ps->pgid > 1 && ps->pgid != getpgrp() &&
	    kill(-ps->pgid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill -%ld SIGKILL", (long)ps->pgid);
	if (kill(ps->pid, SIGKILL) < 0 && errno != ESRCH)
		log_warn("kill %ld SIGKILL", (long)ps->pid);
}

/*
 * fork(), but the child is our parent's (CLONE_PARENT): its SIGCHLD and
 * its exit status go to the parent, which can waitpid() for it as if it
 * had forked it.  glibc has no such fork, so this is the system call,
 * which skips what glibc's fork() does around it.  What that leaves out
 * is checked to be harmless for a single-threaded caller on the libraries
 * we link (tests/unit_common.c pins each): no lock can be held here; the
 * pid is not cached (glibc >= 2.25) and raise() asks the kernel for the
 * thread id (>= 2.34); the atfork handlers are skipped, and OpenSSL 3's
 * are empty (its random generator reseeds when getpid() changes), as is
 * libbsd's arc4random's need for its own (it checks getpid() too).
 */
pid_t
proc_clone_sibling(void)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD),
	    NULL, NULL, NULL, 0UL);
}
