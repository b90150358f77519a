/*
 * fuzz_schema.c - libFuzzer target: the JSON Schema subset (common/schema.c).
 * The input is a schema and a value, split at the first NUL byte or
 * newline; each side is parsed by cJSON, the schema compiled, the value
 * validated, all freed.  Beyond not crashing or leaking: a refused schema
 * says why, a failure fills a pointer that is "" or starts with "/", and
 * a schema validates the same value the same way twice.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "schema.h"

/* No control characters: messages are one line. */
static int
fuzz_one_line(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20)
			return 0;
	return 1;
}

static void
fuzz_check(const struct schema *s, const cJSON *v)
{
	struct schema_err	e1, e2;
	int			rc1, rc2;

	rc1 = schema_validate(s, v, &e1);
	rc2 = schema_validate(s, v, &e2);
	if (rc1 != rc2 || (rc1 != 0 && rc1 != -1))
		abort();
	if (rc1 == -1 && (strcmp(e1.path, e2.path) != 0 ||
	    strcmp(e1.msg, e2.msg) != 0 || e1.msg[0] == '\0' ||
	    (e1.path[0] != '\0' && e1.path[0] != '/') ||
	    !fuzz_one_line(e1.msg)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema	*s;
	cJSON		*sj, *v;
	char		*text, *sep, why[256];
	size_t		 i;

	if ((text = malloc(size + 2)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	for (i = 0; i < size && text[i] != '\0' && text[i] != '\n'; i++)
		;
	text[i] = '\0';
	sep = text + i + 1;
	sj = cJSON_Parse(text);
	v = cJSON_Parse(sep);
	why[0] = '\0';
	if ((s = schema_compile(sj, why, sizeof(why))) == NULL) {
		if (why[0] == '\0' || !fuzz_one_line(why))
			abort();
	} else {
		fuzz_check(s, v);
		schema_free(s);
	}
	cJSON_Delete(sj);
	cJSON_Delete(v);
	free(text);
	return 0;
}
