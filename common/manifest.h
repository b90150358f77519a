/*
 * manifest.h - a handler's description, DIR/NAME.json (SPEC 8.1).
 *
 * Read when used, never cached: an edit takes effect on the next run or
 * request.  Strict: a member that is not in the list, or of the wrong
 * type, makes the manifest invalid, and an invalid manifest makes its
 * handler unusable (fail closed), so a typo cannot silently change what
 * runs or who may run it.
 */
#ifndef WSTASKD_MANIFEST_H
#define WSTASKD_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_MAX		65536	/* bytes */
#define MANIFEST_SUFFIX		".json"

struct cJSON;
struct schema;

struct manifest {
	struct cJSON	*m_json;	/* the object as read */
	struct schema	*m_args;	/* NULL: args are not checked */
	uint64_t	 m_timeout_ms;	/* 0: none */
	const struct cJSON *m_users;	/* its "users" array, or NULL */
};

enum manifest_state {
	MANIFEST_NONE = 0,	/* no DIR/NAME.json: the handler is bare */
	MANIFEST_OK,
	MANIFEST_BAD,		/* why says why */
};

enum manifest_state manifest_read(int dirfd, const char *name,
		    struct manifest *m, char *why, size_t whylen);
bool		 manifest_lets(const struct manifest *m, const char *user);
bool		 manifest_is_name(const char *name);
void		 manifest_free(struct manifest *m);

#endif
