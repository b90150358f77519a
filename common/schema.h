/* placeholder until the schema branch lands: the agreed API */
#ifndef WSTASKD_SCHEMA_H
#define WSTASKD_SCHEMA_H
#include <stddef.h>
struct cJSON;
struct schema;
struct schema_err {
	char	path[512];
	char	msg[256];
};
struct schema	*schema_compile(const struct cJSON *json, char *why, size_t whylen);
int		 schema_validate(const struct schema *s, const struct cJSON *value, struct schema_err *e);
void		 schema_free(struct schema *s);
#endif
