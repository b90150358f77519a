/*
 * catalog.c - the manifests of --tasks, checked at start and by -n
 * (SPEC 8.1).
 *
 * Workers read a manifest each time it is used, so nothing here is kept:
 * this is the operator's early warning.  -n names every invalid manifest
 * (file and problem) and fails; a normal start logs the same lines and
 * runs, the handlers concerned being unusable until their manifests are
 * fixed.  A manifest that names users while the daemon has none closes
 * its handler; that is said too, without failing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "manifest.h"
#include "supervisor.h"

static void
catalog_say(bool to_stderr, const char *dir, const char *file,
    const char *what)
{
	if (to_stderr)
		fprintf(stderr, "wstaskd: %s/%s: %s\n", dir, file, what);
	else
		log_warnx("event=bad-manifest file=%s/%s: %s", dir, file, what);
}

/* One NAME.json; returns 1 when it is invalid. */
static int
catalog_one(const struct config *cfg, int dirfd, const char *file,
    bool to_stderr)
{
	struct manifest	m;
	char		name[256], why[512];
	size_t		len = strlen(file) - strlen(MANIFEST_SUFFIX);

	if (len == 0 || len >= sizeof(name))
		return 0;
	memcpy(name, file, len);
	name[len] = '\0';
	switch (manifest_read(dirfd, name, &m, why, sizeof(why))) {
	case MANIFEST_BAD:
		catalog_say(to_stderr, cfg->tasks_dir, file, why);
		return 1;
	case MANIFEST_OK:
		if (m.m_users && cfg->users.db_n == 0)
			catalog_say(to_stderr, cfg->tasks_dir, file, "names "
			    "users, but no users are configured (--credentials):"
			    " nobody can run this handler");
		manifest_free(&m);
		break;
	default:
		break;
	}
	return 0;
}

/* The number of invalid manifests (-1: the directory cannot be read). */
int
catalog_check(const struct config *cfg, bool to_stderr)
{
	struct dirent	*de;
	DIR		*d;
	int		 bad = 0, fd;

	if ((fd = open(cfg->tasks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(fd)) == NULL) {
		log_warn("open %s", cfg->tasks_dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && manifest_is_name(de->d_name))
			bad += catalog_one(cfg, dirfd(d), de->d_name,
			    to_stderr);
	closedir(d);
	return bad;
}
