/*
 * proc.h - find a process's children by scanning /proc/[pid]/stat, and
 * create a sibling (the fork server's workers).
 *
 * /proc/PID/task/TID/children is absent on the kernels we run on
 * (CONFIG_PROC_CHILDREN off), so the child subreapers of both roles walk
 * /proc and match the PPid field, and kill what they find the same way.
 */
#ifndef WSTASKD_PROC_H
#define WSTASKD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc_stat {
	pid_t	pid;
	char	state;
	pid_t	ppid;
	pid_t	pgid;
};

typedef void proc_fn(const struct proc_stat *, void *);

int	proc_stat_parse(const char *buf, struct proc_stat *ps);
int	proc_children(pid_t parent, proc_fn *fn, void *arg);
void	proc_kill(const struct proc_stat *ps, bool group);
pid_t	proc_clone_sibling(void);

#endif
