/* TEMPORARY STUB - not to be committed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>
#include "schema.h"
struct schema { cJSON *j; };
struct schema *schema_compile(const struct cJSON *json, char *why, size_t whylen)
{ struct schema *s; if (!cJSON_IsObject(json)) { snprintf(why, whylen, "not an object"); return NULL; } s = calloc(1, sizeof(*s)); s->j = cJSON_Duplicate(json, 1); return s; }
int schema_validate(const struct schema *s, const struct cJSON *value, struct schema_err *e)
{ const cJSON *t = cJSON_GetObjectItemCaseSensitive(s->j, "type"); if (t && !strcmp(t->valuestring, "object") && !cJSON_IsObject(value)) { e->path[0]=0; snprintf(e->msg, sizeof(e->msg), "not of type object"); return -1; } return 0; }
void schema_free(struct schema *s) { if (s) { cJSON_Delete(s->j); free(s); } }
