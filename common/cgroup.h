/*
 * cgroup.h - the cgroup v2 files both roles touch (SPEC 11).
 *
 * Directories are named by fds (openat), so a worker pays no path walk
 * per task; every function logs its failing system call itself.
 */
#ifndef WSTASKD_CGROUP_H
#define WSTASKD_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGROUP_SESSION_FMT	"session.%ld"	/* a worker's pid */
#define CGROUP_TASK_FMT		"task.%lu"
#define CGROUP_DAEMON		"daemon"	/* the daemon's own leaf */
#define CGROUP_NAME_MAX		32

bool	cgroup_is_v2(const char *dir);
int	cgroup_write(int dirfd, const char *file, const char *text);
ssize_t	cgroup_read(int dirfd, const char *file, char *buf, size_t len);
int	cgroup_kill(int dirfd);
int	cgroup_populated(int dirfd);
long long cgroup_event_count(int dirfd, const char *file, const char *key);
bool	cgroup_lists(const char *text, const char *word);
int	cgroup_limit(int dirfd, const char *file, unsigned long long v);
int	cgroup_remove(int parentfd, const char *name);
int	cgroup_own(char *buf, size_t len);

#endif
