/*
 * handler.c - what makes a name in --tasks a handler (SPEC 3).
 *
 * A handler NAME is 1 to 64 characters of [A-Za-z0-9._-] not starting
 * with a dot, and the file DIR/NAME is a regular file (a symlink the
 * administrator placed is followed) that we may execute.  The batch
 * validation and the /handlers listing ask the same question here, so a
 * name listed as usable is never refused by a run, and the other way round.
 *
 * A handler may have a manifest, NAME.json (common/manifest.c); NAME.json
 * itself is never a handler.  An invalid manifest makes its handler
 * unusable, and one whose "users" leave this connection's user out is,
 * for that user, as if it did not exist (SPEC 8.1, 8.5).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "worker.h"

bool
handler_name_ok(const char *name, size_t len)
{
	return len >= 1 && len <= TASK_NAME_MAX && name[0] != '.' &&
	    name_chars_ok(name, len);
}

/*
 * Whether DIR/NAME can run.  A file that exists but cannot run is told
 * apart from a missing one: "unknown" would send its author looking for a
 * typo when the fix is chmod.
 */
enum handler_state
handler_check(int dirfd, const char *name)
{
	struct stat	st;

	if (!handler_name_ok(name, strlen(name)) || manifest_is_name(name) ||
	    fstatat(dirfd, name, &st, 0) < 0)
		return HANDLER_UNKNOWN;
	if (!S_ISREG(st.st_mode))
		return HANDLER_NOT_FILE;
	if (faccessat(dirfd, name, X_OK, AT_EACCESS) < 0)
		return errno == EACCES ? HANDLER_NOT_EXEC : HANDLER_UNKNOWN;
	return HANDLER_OK;
}

/* Once per worker and handler: a connection that retries must not flood. */
static void
handler_log_bad(struct wk *k, const char *name, const char *why)
{
	char	lwhy[LOG_ESC_SIZE(256)];
	bool	oom = false;

	if (!nameset_add(&k->k_badmanifests, name, &oom))
		return;
	log_warnx("event=bad-manifest session=%s handler=%s file=%s/%s%s: %s",
	    k->k_session, name, k->k_cfg->tasks_dir, name, MANIFEST_SUFFIX,
	    log_esc(lwhy, sizeof(lwhy), why, false));
}

/*
 * Whether this connection's user may run NAME, with its manifest in *m
 * (empty when it has none; the caller frees it).  why: the manifest's
 * problem, for HANDLER_BAD_MANIFEST.
 */
enum handler_state
handler_load(struct wk *k, const char *name, struct manifest *m, char *why,
    size_t whylen)
{
	enum handler_state	st;

	memset(m, 0, sizeof(*m));
	if ((st = handler_check(k->k_tasks_fd, name)) != HANDLER_OK)
		return st;
	switch (manifest_read(k->k_tasks_fd, name, m, why, whylen)) {
	case MANIFEST_NONE:
		return HANDLER_OK;
	case MANIFEST_BAD:
		handler_log_bad(k, name, why);
		return HANDLER_BAD_MANIFEST;
	default:
		break;
	}
	if (manifest_lets(m, k->k_user))
		return HANDLER_OK;
	st = k->k_cfg->users.db_n ? HANDLER_UNKNOWN : HANDLER_CLOSED;
	manifest_free(m);
	return st;
}

static bool
handler_listed(struct wk *k, const char *name)
{
	struct manifest	m;
	char		why[256];

	if (handler_load(k, name, &m, why, sizeof(why)) != HANDLER_OK)
		return false;
	manifest_free(&m);
	return true;
}

static int
handler_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* GET /handlers: the sorted names this user may run, as a JSON array. */
char *
handler_list_json(struct wk *k)
{
	struct dirent	 *de;
	cJSON		 *arr;
	char		**names = NULL, *json = NULL;
	size_t		  n = 0, i;
	DIR		 *d;
	int		  fd;
	bool		  complete = false;

	if ((fd = openat(k->k_tasks_fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		log_warn("open %s", k->k_cfg->tasks_dir);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* A partial list would be a wrong answer: any failure is a 500. */
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		char **nn;

		if (!handler_listed(k, de->d_name))
			continue;
		if ((nn = reallocarray(names, n + 1, sizeof(*nn))) == NULL) {
			log_warn("reallocarray");
			break;
		}
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			log_warn("strdup");
			break;
		}
		n++;
	}
	if (de == NULL && errno != 0)
		log_warn("readdir %s", k->k_cfg->tasks_dir);
	else if (de == NULL)
		complete = true;
	closedir(d);
	if (complete)
		qsort(names, n, sizeof(*names), handler_strcmp);
	if (complete && (arr = cJSON_CreateArray()) != NULL) {
		for (i = 0; i < n; i++) {
			cJSON	*s = cJSON_CreateString(names[i]);

			if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
				cJSON_Delete(s);
				break;
			}
		}
		if (i == n && (json = cJSON_PrintUnformatted(arr)) == NULL)
			log_warnx("cJSON_PrintUnformatted: out of memory");
		cJSON_Delete(arr);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return json;
}

/*
 * GET /handlers/NAME: the manifest's members plus "name"; NULL (a 404)
 * when this user may not run NAME, or when out of memory (logged).
 */
char *
handler_describe_json(struct wk *k, const char *name)
{
	struct manifest	 m;
	char		 why[256], *json = NULL;
	cJSON		*o, *v;

	if (handler_load(k, name, &m, why, sizeof(why)) != HANDLER_OK)
		return NULL;
	if ((o = cJSON_CreateObject()) != NULL &&
	    cJSON_AddStringToObject(o, "name", name) != NULL) {
		while (m.m_json && (v = m.m_json->child) != NULL) {
			cJSON_DetachItemViaPointer(m.m_json, v);
			if (!cJSON_AddItemToObject(o, v->string, v)) {
				cJSON_Delete(v);
				break;
			}
		}
		if (m.m_json == NULL || m.m_json->child == NULL)
			json = cJSON_PrintUnformatted(o);
	}
	if (json == NULL)
		log_warnx("GET /handlers/%s: out of memory", name);
	cJSON_Delete(o);
	manifest_free(&m);
	return json;
}
