/*
 * schema.h - the JSON Schema subset of SPEC 8.2: compile a schema once,
 * validate values against it.
 *
 * Both roles use it: the supervisor's `wstaskd -n` compiles every
 * manifest's `args`, the worker checks each task's args before a batch
 * starts.  A compiled schema owns copies of everything it needs (the
 * cJSON it came from may be freed) and is never changed by validation, so
 * one schema may serve any number of validations.  The rules, their order
 * and the messages are described atop schema.c.
 */
#ifndef WSTASKD_SCHEMA_H
#define WSTASKD_SCHEMA_H

#include <stddef.h>

#define SCHEMA_DEPTH_MAX	32	/* schema levels: the root is level 1 */

struct cJSON;
struct schema;				/* compiled: regexes compiled once */

struct schema_err {
	/* RFC 6901 pointer to the failing value inside the instance ("" for
	 * the instance itself); ~ is written ~0 and / is written ~1. */
	char	path[512];
	/* The rule, one line, no pointer: "120 is greater than the
	 * maximum 100". */
	char	msg[256];
};

/*
 * NULL, with why (one line naming, as a pointer into the schema, where it
 * is wrong and what is wrong), when json is not a schema of the subset.
 */
struct schema	*schema_compile(const struct cJSON *json, char *why,
		    size_t whylen);
/*
 * 0 when value is valid; -1 with *e (when not NULL) filled at the first
 * failure.  A NULL value is checked as JSON null (absent args).
 */
int		 schema_validate(const struct schema *s,
		    const struct cJSON *value, struct schema_err *e);
void		 schema_free(struct schema *s);

#endif
