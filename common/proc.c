/*
 * proc.c - scan /proc for the children of a process.
 *
 * Used by the worker's exit sweep and the supervisor's crash sweep.  The
 * comm field of /proc/PID/stat is in parentheses and may itself contain
 * spaces and ')', so parsing starts after the last ')'.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int
proc_read_stat(int dirfd, const char *name, struct proc_stat *ps)
{
	char	path[64], buf[1024];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "%s/stat", name);
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;	/* gone meanwhile: not ours to report */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return proc_stat_parse(buf, ps);
}

/* Calls fn for each process whose parent is `parent`; returns how many. */
int
proc_children(pid_t parent, proc_fn *fn, void *arg)
{
	struct proc_stat ps;
	struct dirent	*de;
	DIR		*d;
	int		 count = 0;

	if ((d = opendir("/proc")) == NULL) {
		log_warn("opendir /proc");
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (proc_read_stat(dirfd(d), de->d_name, &ps) < 0)
			continue;
		if (ps.ppid != parent)
			continue;
		count++;
		if (fn)
			fn(&ps, arg);
	}
	closedir(d);
	return count;
}
