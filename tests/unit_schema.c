/*
 * unit_schema.c - unit tests of common/schema.c (SPEC 8.2), and its bench.
 *
 *   unit_schema CASES.json   the table (tests/schema-cases.json: per
 *                            keyword, values accepted and values refused
 *                            with pointer and message; schemas refused
 *                            with why), then the cases a table cannot
 *                            hold (depth, long pointers, NULL).  TAP.
 *   unit_schema --bench [N]  compiles a 10-property schema and validates
 *                            N (default 1000) args objects against it;
 *                            prints the time per compile and validation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "schema.h"
#include "tap.h"

static void
diag_got(const char *what, const char *want, const char *got)
{
	printf("#   %s: want '%s'\n#   %*s   got  '%s'\n", what, want,
	    (int)strlen(what), "", got);
}

static char *
read_file(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	long	 len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)len + 1)) == NULL) {
		perror(path);
		exit(2);
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(2);
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* A short text of v for a test's description. */
static void
shown(const cJSON *v, char *buf, size_t len)
{
	char	*t = cJSON_PrintUnformatted(v);

	snprintf(buf, len, "%s", t != NULL ? t : "?");
	if (t != NULL && strlen(t) >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	free(t);
}

static void
check_refused(const char *name, const struct schema *s, const cJSON *inv)
{
	const cJSON		*v = cJSON_GetArrayItem(inv, 0);
	const char		*ptr = cJSON_GetArrayItem(inv, 1)->valuestring;
	const char		*msg = cJSON_GetArrayItem(inv, 2)->valuestring;
	struct schema_err	 e;
	char			 desc[400], text[120];
	int			 rc;

	memset(&e, 'X', sizeof(e));
	e.path[sizeof(e.path) - 1] = e.msg[sizeof(e.msg) - 1] = '\0';
	rc = schema_validate(s, v, &e);
	shown(v, text, sizeof(text));
	snprintf(desc, sizeof(desc), "%s: refuses %s at \"%s\"", name, text, ptr);
	ok(rc == -1 && strcmp(e.path, ptr) == 0 && strcmp(e.msg, msg) == 0,
	    desc);
	if (rc != -1)
		printf("#   returned %d\n", rc);
	else if (strcmp(e.path, ptr) != 0 || strcmp(e.msg, msg) != 0) {
		diag_got("path", ptr, e.path);
		diag_got("msg", msg, e.msg);
	}
}

static void
check_one(const cJSON *c)
{
	const char		*name = cJSON_GetObjectItem(c, "name")->valuestring;
	const cJSON		*v;
	struct schema		*s;
	struct schema_err	 e;
	char			 why[256], desc[400], text[120];
	int			 rc;

	s = schema_compile(cJSON_GetObjectItem(c, "schema"), why, sizeof(why));
	snprintf(desc, sizeof(desc), "%s: compiles", name);
	ok(s != NULL, desc);
	if (s == NULL) {
		printf("#   %s\n", why);
		return;
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "valid")) {
		shown(v, text, sizeof(text));
		snprintf(desc, sizeof(desc), "%s: accepts %s", name, text);
		rc = schema_validate(s, v, &e);
		ok(rc == 0, desc);
		if (rc != 0)
			printf("#   refused at \"%s\": %s\n", e.path, e.msg);
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "invalid"))
		check_refused(name, s, v);
	schema_free(s);
}

static void
check_bad_schema(const cJSON *c)
{
	const cJSON	*sj = cJSON_GetObjectItem(c, "schema");
	const char	*want = cJSON_GetObjectItem(c, "why")->valuestring;
	struct schema	*s;
	char		 why[256], desc[400], text[120];

	strcpy(why, "(not set)");
	s = schema_compile(sj, why, sizeof(why));
	shown(sj, text, sizeof(text));
	snprintf(desc, sizeof(desc), "schema %s is refused: %s", text, want);
	ok(s == NULL && strcmp(why, want) == 0, desc);
	if (s != NULL)
		printf("#   compiled\n");
	else if (strcmp(why, want) != 0)
		diag_got("why", want, why);
	schema_free(s);
}

/* {"items": {"items": ... {}}} with levels schema objects. */
static cJSON *
nested_items(int levels)
{
	cJSON	*s = cJSON_CreateObject(), *outer;

	while (s != NULL && --levels > 0) {
		if ((outer = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddItemToObject(outer, "items", s);
		s = outer;
	}
	return s;
}

/* [[[...[v]...]]] with levels arrays around v. */
static cJSON *
nested_arrays(int levels, cJSON *v)
{
	cJSON	*a;

	while (v != NULL && levels-- > 0) {
		if ((a = cJSON_CreateArray()) == NULL)
			break;
		cJSON_AddItemToArray(a, v);
		v = a;
	}
	return v;
}

static void
check_depth(void)
{
	cJSON			*j32 = nested_items(SCHEMA_DEPTH_MAX);
	cJSON			*j33 = nested_items(SCHEMA_DEPTH_MAX + 1);
	cJSON			*deep = nested_arrays(200, cJSON_CreateNull());
	struct schema		*s;
	struct schema_err	 e;
	char			 why[1024], want[1024];
	size_t			 i, len = 0;

	s = schema_compile(j32, why, sizeof(why));
	ok(s != NULL, "32 schema levels compile");
	ok(s != NULL && schema_validate(s, deep, &e) == 0,
	    "a value nested 200 deep passes a 32-level schema (only 32 "
	    "levels are looked at)");
	schema_free(s);
	s = schema_compile(j33, why, sizeof(why));
	for (i = 0; i < SCHEMA_DEPTH_MAX; i++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "/items");
	snprintf(want + len, sizeof(want) - len,
	    ": nests deeper than 32 schema levels");
	ok(s == NULL && strcmp(why, want) == 0, "33 schema levels are refused");
	if (s == NULL && strcmp(why, want) != 0)
		diag_got("why", want, why);
	schema_free(s);
	cJSON_Delete(j32);
	cJSON_Delete(j33);
	cJSON_Delete(deep);
}

/*
 * A pointer longer than schema_err.path: cut back to whole segments, so
 * it names an ancestor of the failing value.
 */
static void
check_long_pointer(void)
{
	cJSON			*sj, *v, *inner;
	struct schema		*s;
	struct schema_err	 e;
	char			 key[301], want[400];

	memset(key, 'k', 300);
	key[300] = '\0';
	sj = cJSON_Parse("{\"additionalProperties\":{\"additionalProperties\":"
	    "{\"type\":\"string\"}}}");
	v = cJSON_CreateObject();
	inner = cJSON_AddObjectToObject(v, key);
	key[0] = 'j';
	cJSON_AddNumberToObject(inner, key, 1);
	s = schema_compile(sj, NULL, 0);
	snprintf(want, sizeof(want), "/k%s", key + 1);
	ok(s != NULL && schema_validate(s, v, &e) == -1 &&
	    strcmp(e.path, want) == 0 &&
	    strcmp(e.msg, "1 is not of type string") == 0,
	    "a pointer too long for path is cut to its parent");
	schema_free(s);
	cJSON_Delete(sj);
	cJSON_Delete(v);
}

static void
check_api(void)
{
	cJSON			*sj, *v;
	struct schema		*s;
	struct schema_err	 e;
	char			 why[8], *before, *after;

	sj = cJSON_Parse("{\"type\":\"object\",\"enum\":[{\"a\":1}],"
	    "\"pattern\":\"x\"}");
	s = schema_compile(sj, why, sizeof(why));
	cJSON_Delete(sj);	/* the schema keeps its own copies */
	v = cJSON_Parse("{\"a\":1}");
	ok(s != NULL && schema_validate(s, v, &e) == 0,
	    "a schema outlives the JSON it was compiled from");
	ok(s != NULL && schema_validate(s, NULL, &e) == -1 &&
	    strcmp(e.path, "") == 0 &&
	    strcmp(e.msg, "null is not of type object") == 0,
	    "a NULL value is checked as null");
	ok(s != NULL && schema_validate(s, NULL, NULL) == -1,
	    "no error struct: just -1");
	schema_free(s);
	cJSON_Delete(v);

	sj = cJSON_Parse("{\"properties\":{\"a\":{\"items\":{\"type\":"
	    "\"integer\"}}},\"required\":[\"a\"]}");
	v = cJSON_Parse("{\"a\":[1,2.5],\"b\":{\"c\":[]}}");
	s = schema_compile(sj, why, sizeof(why));
	before = cJSON_PrintUnformatted(v);
	ok(s != NULL && schema_validate(s, v, &e) == -1 &&
	    strcmp(e.path, "/a/1") == 0, "validation fails at /a/1");
	after = cJSON_PrintUnformatted(v);
	ok(before != NULL && after != NULL && strcmp(before, after) == 0,
	    "validation leaves the value as it was");
	free(before);
	free(after);
	schema_free(s);
	cJSON_Delete(sj);
	cJSON_Delete(v);

	sj = cJSON_Parse("{\"minimum\":\"3\"}");
	s = schema_compile(sj, why, sizeof(why));
	ok(s == NULL && strcmp(why, "/minimu") == 0,
	    "why is cut to whylen, terminated");
	ok(schema_compile(sj, NULL, 0) == NULL, "why may be NULL with 0");
	cJSON_Delete(sj);
	schema_free(NULL);
	ok(1, "schema_free(NULL) is a no-op");
}

static int
run_table(const char *path)
{
	char		*text = read_file(path);
	cJSON		*t = cJSON_Parse(text);
	const cJSON	*c;

	if (t == NULL) {
		fprintf(stderr, "%s: not JSON near: %.40s\n", path,
		    cJSON_GetErrorPtr());
		return 2;
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "checks"))
		check_one(c);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "bad_schemas"))
		check_bad_schema(c);
	cJSON_Delete(t);
	free(text);
	check_depth();
	check_long_pointer();
	check_api();
	printf("1..%d\n", n_test);
	return n_failed > 0;
}

/* ---- bench ---- */

static const char bench_schema[] =
    "{\"type\":\"object\",\"required\":[\"host\",\"count\"],"
    "\"additionalProperties\":false,\"properties\":{"
    "\"host\":{\"type\":\"string\",\"pattern\":\"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$\","
    "\"maxLength\":253},"
    "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000},"
    "\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1},"
    "\"mode\":{\"enum\":[\"fast\",\"slow\",\"auto\"]},"
    "\"verbose\":{\"type\":\"boolean\"},"
    "\"label\":{\"type\":[\"string\",\"null\"],\"minLength\":1,\"maxLength\":64},"
    "\"tags\":{\"type\":\"array\",\"maxItems\":8,\"items\":{\"type\":\"string\","
    "\"maxLength\":32}},"
    "\"opts\":{\"type\":\"object\",\"properties\":{\"retries\":{\"type\":\"integer\","
    "\"minimum\":0}},\"additionalProperties\":false},"
    "\"version\":{\"const\":2},"
    "\"note\":{\"type\":\"string\",\"description\":\"free text\"}}}";

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static cJSON *
bench_args(int i)
{
	char	text[512];

	snprintf(text, sizeof(text), "{\"host\":\"host-%d.example.org\","
	    "\"count\":%d,\"ratio\":0.%d,\"mode\":\"%s\",\"verbose\":%s,"
	    "\"label\":\"task %d\",\"tags\":[\"a\",\"b%d\",\"c\"],"
	    "\"opts\":{\"retries\":%d},\"version\":2,\"note\":\"n\"}",
	    i, 1 + i % 1000, 1 + i % 9, i % 2 ? "fast" : "auto",
	    i % 3 ? "true" : "false", i, i, i % 5);
	return cJSON_Parse(text);
}

static int
run_bench(int n)
{
	cJSON			*sj = cJSON_Parse(bench_schema), **args;
	struct schema		*s;
	struct schema_err	 e;
	double			 t0, t_comp, t_val, best = 1e9;
	int			 i, round, bad = 0;

	if (sj == NULL || (args = calloc((size_t)n, sizeof(*args))) == NULL)
		return 2;
	t0 = now();
	for (i = 0; i < 1000; i++)
		schema_free(schema_compile(sj, NULL, 0));
	t_comp = (now() - t0) / 1000;
	for (i = 0; i < n; i++)
		if ((args[i] = bench_args(i)) == NULL)
			return 2;
	if ((s = schema_compile(sj, NULL, 0)) == NULL)
		return 2;
	for (round = 0; round < 10; round++) {	/* the best of 10 rounds */
		t0 = now();
		for (i = 0; i < n; i++)
			bad += schema_validate(s, args[i], &e) != 0;
		t_val = (now() - t0) / n;
		if (t_val < best)
			best = t_val;
	}
	printf("schema_compile (10 properties, 1 pattern): %.1f us\n",
	    t_comp * 1e6);
	printf("schema_validate: %d args objects, %.2f us per validation "
	    "(best of 10 rounds), %d refused\n", n, best * 1e6, bad / 10);
	for (i = 0; i < n; i++)
		cJSON_Delete(args[i]);
	free(args);
	schema_free(s);
	cJSON_Delete(sj);
	return bad != 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--bench") == 0)
		return run_bench(argc >= 3 ? atoi(argv[2]) : 1000);
	if (argc != 2) {
		fprintf(stderr, "usage: unit_schema CASES.json | --bench [N]\n");
		return 2;
	}
	return run_table(argv[1]);
}
