/*
 * cgroup.c - reading and writing cgroup v2 interface files.
 *
 * cgroup.kill (Linux 5.14) SIGKILLs every process of a cgroup and of
 * its descendants at once, with no pid in between that could be reused;
 * cgroup.events' "populated 0" says the last of them has exited.  A
 * cgroup is removed with rmdir once empty; its interface files go with it.
 */
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

bool
cgroup_is_v2(const char *dir)
{
	struct statfs	sf;

	return statfs(dir, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* One write(2) per file: the kernel takes each write as one command. */
int
cgroup_write(int dirfd, const char *file, const char *text)
{
	size_t	len = strlen(text);
	ssize_t	n;
	int	fd, saved;

	if ((fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC)) < 0) {
		log_warn("open %s", file);
		return -1;
	}
	while ((n = write(fd, text, len)) < 0 && errno == EINTR)
		;
	saved = errno;
	if (n != (ssize_t)len)
		log_warn("write %s %s", file, text);
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

/* NUL-terminated contents, their length, or -1. */
ssize_t
cgroup_read(int dirfd, const char *file, char *buf, size_t len)
{
	ssize_t	n;
	int	fd, saved;

	if ((fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			log_warn("open %s", file);
		return -1;
	}
	while ((n = read(fd, buf, len - 1)) < 0 && errno == EINTR)
		;
	saved = errno;
	if (n < 0)
		log_warn("read %s", file);
	close(fd);
	errno = saved;
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int
cgroup_kill(int dirfd)
{
	return cgroup_write(dirfd, "cgroup.kill", "1");
}

/* The value of "KEY N" in a flat keyed file (cgroup.events, memory.events). */
long long
cgroup_event_count(int dirfd, const char *file, const char *key)
{
	char	 buf[1024], *p;
	size_t	 klen = strlen(key);

	if (cgroup_read(dirfd, file, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
	return -1;
}

/* 1 while a process is in the cgroup or below it, 0 empty, -1 unknown. */
int
cgroup_populated(int dirfd)
{
	long long	v = cgroup_event_count(dirfd, "cgroup.events", "populated");

	return v < 0 ? -1 : v != 0;
}

/* Whether a space-separated list (cgroup.controllers) has word. */
bool
cgroup_lists(const char *text, const char *word)
{
	size_t		 wlen = strlen(word);
	const char	*p = text;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == text || p[-1] == ' ') && (p[wlen] == '\0' ||
		    p[wlen] == ' ' || p[wlen] == '\n'))
			return true;
		p += wlen;
	}
	return false;
}

/* A limit file (pids.max, memory.max); 0 leaves it at "max". */
int
cgroup_limit(int dirfd, const char *file, unsigned long long v)
{
	char	buf[32];

	if (v == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%llu", v);
	return cgroup_write(dirfd, file, buf);
}

/*
 * rmdir an empty cgroup and the empty ones below it (a task's, when its
 * session is removed after a crash).  ENOENT counts as done.
 */
int
cgroup_remove(int parentfd, const char *name)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, rc = 0;

	if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY && errno != ENOTEMPTY) {
		log_warn("rmdir %s", name);
		return -1;
	}
	if ((fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("open %s", name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
		    cgroup_remove(dirfd(d), de->d_name) < 0)
			rc = -1;
	closedir(d);
	if (rc == 0 && unlinkat(parentfd, name, AT_REMOVEDIR) < 0 &&
	    errno != ENOENT) {
		log_warn("rmdir %s", name);
		rc = -1;
	}
	return rc;
}

/* The mount point of cgroup2 from mountinfo, into buf; -1 if none. */
static int
cgroup_mount(char *buf, size_t len)
{
	char	 line[4096], *f[10], *sep, *save;
	FILE	*fp;
	int	 i, rc = -1;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL) {
		log_warn("open /proc/self/mountinfo");
		return -1;
	}
	while (rc < 0 && fgets(line, sizeof(line), fp) != NULL) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPT...] - TYPE ... */
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		*sep = '\0';
		for (i = 0, save = line; i < 5; i++)
			if ((f[i] = strsep(&save, " ")) == NULL)
				break;
		/* A bind mount of a sub-tree would need ROOT subtracted. */
		if (i == 5 && !strcmp(f[3], "/") &&
		    strlcpy(buf, f[4], len) < len)
			rc = 0;
	}
	fclose(fp);
	return rc;
}

/* This process's cgroup v2 directory (the "0::" line), into buf. */
int
cgroup_own(char *buf, size_t len)
{
	char	 line[4096], mnt[2048];
	FILE	*fp;
	size_t	 n;
	int	 rc = -1;

	if (cgroup_mount(mnt, sizeof(mnt)) < 0)
		return -1;
	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL) {
		log_warn("open /proc/self/cgroup");
		return -1;
	}
	while (rc < 0 && fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "0::/", 4) != 0)
			continue;
		n = strcspn(line, "\n");
		line[n] = '\0';
		if ((size_t)snprintf(buf, len, "%s%s", mnt,
		    line[4] ? line + 3 : "") < len)
			rc = 0;
	}
	fclose(fp);
	return rc;
}
