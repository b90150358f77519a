/*
 * manifest.c - reading and checking DIR/NAME.json (SPEC 8.1).
 *
 * Both roles use it: workers when a run names a handler or a client asks
 * for /handlers, the supervisor's -n for every manifest in --tasks.  The
 * file is opened without blocking (a FIFO must not hang a worker), must be
 * a regular file of at most MANIFEST_MAX bytes, and one JSON object whose
 * members are all known and well typed; the args schema is compiled here,
 * so a schema that cannot be used makes the whole manifest invalid.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "manifest.h"
#include "schema.h"

#define TITLE_MAX	200	/* characters */
#define DESC_MAX	4000
#define USER_MAX	64
#define TIMEOUT_MAX	2147483647.0

static size_t
manifest_chars(const char *s)
{
	size_t	n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A user as --credentials or --credential may name one. */
static bool
manifest_user_ok(const cJSON *v)
{
	const char	*s;
	size_t		 i;

	if (!cJSON_IsString(v))
		return false;
	s = v->valuestring;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("._@+-", s[i])))
			return false;
	return i >= 1 && i <= USER_MAX;
}

static int
manifest_text(const cJSON *v, size_t max, char *why, size_t whylen)
{
	if (!cJSON_IsString(v)) {
		snprintf(why, whylen, "%s must be a string", v->string);
		return -1;
	}
	if (manifest_chars(v->valuestring) > max) {
		snprintf(why, whylen, "%s is longer than %zu characters",
		    v->string, max);
		return -1;
	}
	return 0;
}

static int
manifest_users(struct manifest *m, const cJSON *v, char *why, size_t whylen)
{
	const cJSON	*u;

	if (!cJSON_IsArray(v)) {
		snprintf(why, whylen, "users must be an array of user names");
		return -1;
	}
	cJSON_ArrayForEach(u, v)
		if (!manifest_user_ok(u)) {
			snprintf(why, whylen, "users: each must be a user name "
			    "of 1 to %d characters of A-Z a-z 0-9 . _ @ + -",
			    USER_MAX);
			return -1;
		}
	m->m_users = v;
	return 0;
}

static int
manifest_member(struct manifest *m, const cJSON *v, char *why, size_t whylen)
{
	const char	*k = v->string;
	char		 swhy[256];

	if (!strcmp(k, "title"))
		return manifest_text(v, TITLE_MAX, why, whylen);
	if (!strcmp(k, "description"))
		return manifest_text(v, DESC_MAX, why, whylen);
	if (!strcmp(k, "progress")) {
		if (cJSON_IsBool(v))
			return 0;
		snprintf(why, whylen, "progress must be true or false");
		return -1;
	}
	if (!strcmp(k, "timeout_ms")) {
		if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
		    v->valuedouble <= TIMEOUT_MAX &&
		    v->valuedouble == floor(v->valuedouble)) {
			m->m_timeout_ms = (uint64_t)v->valuedouble;
			return 0;
		}
		snprintf(why, whylen, "timeout_ms must be an integer from 1 to "
		    "2147483647");
		return -1;
	}
	if (!strcmp(k, "users"))
		return manifest_users(m, v, why, whylen);
	if (!strcmp(k, "args")) {
		if ((m->m_args = schema_compile(v, swhy, sizeof(swhy))) != NULL)
			return 0;
		snprintf(why, whylen, "args: %s", swhy);
		return -1;
	}
	snprintf(why, whylen, "unknown member \"%.64s\"", k);
	return -1;
}

static int
manifest_check(struct manifest *m, char *why, size_t whylen)
{
	const cJSON	*v, *w;

	if (!cJSON_IsObject(m->m_json)) {
		snprintf(why, whylen, "not a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(v, m->m_json) {
		for (w = m->m_json->child; w != v; w = w->next)
			if (!strcmp(w->string, v->string)) {
				snprintf(why, whylen, "member \"%.64s\" given "
				    "twice", v->string);
				return -1;
			}
		if (manifest_member(m, v, why, whylen) < 0)
			return -1;
	}
	return 0;
}

/*
 * The file's bytes, NUL-terminated; NULL with why set.  The buffer is sized
 * to the file, and one byte more notices a file that grew since fstat():
 * a buffer of MANIFEST_MAX, freed below the parsed manifests, left a hole
 * in the heap of every process forked later, whose small allocations then
 * wrote to (copied) pages all over it.
 */
static char *
manifest_slurp(int fd, size_t *len, char *why, size_t whylen)
{
	struct stat	 st;
	char		*buf;
	size_t		 cap;
	ssize_t		 n = 0;

	if (fstat(fd, &st) < 0) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return NULL;
	}
	if (st.st_size > MANIFEST_MAX) {
		snprintf(why, whylen, "larger than %d bytes", MANIFEST_MAX);
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	for (*len = 0; *len < cap; *len += (size_t)n) {
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	if (n < 0)
		snprintf(why, whylen, "read: %s", strerror(errno));
	else if (*len == cap)
		snprintf(why, whylen, "changed while being read");
	else {
		buf[*len] = '\0';
		return buf;
	}
	free(buf);
	return NULL;
}

static enum manifest_state
manifest_parse(struct manifest *m, int fd, char *why, size_t whylen)
{
	const char	*end = NULL;
	char		*buf;
	size_t		 len;

	if ((buf = manifest_slurp(fd, &len, why, whylen)) == NULL)
		return MANIFEST_BAD;
	if (strlen(buf) != len)
		snprintf(why, whylen, "a NUL byte at %zu", strlen(buf));
	else if ((m->m_json = cJSON_ParseWithOpts(buf, &end, 1)) == NULL)
		snprintf(why, whylen, "not JSON (at byte %td)",
		    end ? end - buf : (ptrdiff_t)0);
	free(buf);
	if (m->m_json == NULL || manifest_check(m, why, whylen) < 0) {
		manifest_free(m);
		return MANIFEST_BAD;
	}
	return MANIFEST_OK;
}

/* NAME.json is never a handler: it is the description of NAME. */
bool
manifest_is_name(const char *name)
{
	size_t	len = strlen(name), slen = strlen(MANIFEST_SUFFIX);

	return len >= slen && !strcmp(name + len - slen, MANIFEST_SUFFIX);
}

enum manifest_state
manifest_read(int dirfd, const char *name, struct manifest *m, char *why,
    size_t whylen)
{
	char			file[256];
	enum manifest_state	st;
	int			fd;

	memset(m, 0, sizeof(*m));
	if ((size_t)snprintf(file, sizeof(file), "%s%s", name,
	    MANIFEST_SUFFIX) >= sizeof(file)) {
		snprintf(why, whylen, "name too long");
		return MANIFEST_BAD;
	}
	if ((fd = openat(dirfd, file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return MANIFEST_NONE;
		snprintf(why, whylen, "open %s: %s", file, strerror(errno));
		return MANIFEST_BAD;
	}
	st = manifest_parse(m, fd, why, whylen);
	close(fd);
	return st;
}

/*
 * Whether user may run the handler.  A manifest with users lets only
 * them; without users configured (user "" or NULL) nobody: closed by
 * default.
 */
bool
manifest_lets(const struct manifest *m, const char *user)
{
	const cJSON	*u;

	if (m->m_users == NULL)
		return true;
	if (user == NULL || user[0] == '\0')
		return false;
	cJSON_ArrayForEach(u, m->m_users)
		if (!strcmp(u->valuestring, user))
			return true;
	return false;
}

void
manifest_free(struct manifest *m)
{
	schema_free(m->m_args);
	cJSON_Delete(m->m_json);
	memset(m, 0, sizeof(*m));
}
