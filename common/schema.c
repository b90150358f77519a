/*
 * schema.c - the JSON Schema subset of SPEC 8.2: compile, validate, free.
 *
 * The keywords: type, enum, const, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, minLength, maxLength, pattern, items, minItems,
 * maxItems, properties, required, additionalProperties, and the
 * annotations title, description, default, examples (checked for their
 * type, never applied).  A keyword applies only to values of its type;
 * `type` restricts.  Pure functions: no logging, no state; both roles
 * call them (the supervisor for `wstaskd -n`, the worker for args).
 *
 * Choices where SPEC 8.2 leaves room (for wstaskd(7)):
 *  - A schema is a JSON object; `true`/`false` are schemas only as the
 *    value of additionalProperties.  `{}` accepts everything.
 *  - A keyword given twice in one schema object, and a name given twice in
 *    `properties`, make the schema invalid (cJSON keeps both; which one
 *    would win is not obvious to a reader).
 *  - `type`: a name, or a non-empty array of distinct names.  `integer` is
 *    a finite number equal to its floor (1.0 is an integer; any double
 *    beyond 2^53 is one); every integer is also a `number`.
 *  - `enum`: a non-empty array (an empty one would make the handler
 *    unusable without saying so); equal values may repeat.  `enum` and
 *    `const` compare with cJSON_Compare, case-sensitive: member order does
 *    not matter, 1 equals 1.0.
 *  - minimum, maximum, exclusiveMinimum, exclusiveMaximum: finite
 *    numbers.  minLength, maxLength, minItems, maxItems: non-negative
 *    integers.  Bounds that no value can meet (minimum above maximum) are
 *    allowed, as in JSON Schema.
 *  - Lengths count Unicode code points: every byte of the UTF-8 string
 *    that is not a continuation byte (10xxxxxx) starts one.
 *  - `pattern`: regcomp(REG_EXTENDED|REG_NOSUB), matched anywhere in the
 *    string (anchor it with ^ and $ to match the whole).  Refused as well
 *    as what regcomp refuses: back-references (\1..\9: not POSIX ERE, and
 *    exponential to match), more than 64 nested groups, and repetitions
 *    that expand the pattern past 1000 atoms as regcomp expands it ({m,n}
 *    makes n copies, {m,} m + 1, + two; so `(a{100}){100}` is 10000 and
 *    `a++++++++++` 1024).  glibc's matching time grows with the string's
 *    length times that size when the pattern does not start with ^ (on
 *    this machine, 1 MB against `[a-z]{1,64}$` takes 2.2 s, against
 *    `^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$` 10 ms): anchor patterns, and bound
 *    long strings with maxLength.
 *  - `required`: an array of distinct strings, possibly empty.
 *  - Nesting: the root schema is level 1; a schema under items,
 *    properties or additionalProperties is one level deeper; level 33 is
 *    refused.  Values under enum, const, default and examples are data, not
 *    schemas: no level limit but cJSON's own.
 *
 * Order of the checks, hence which failure is reported (the first):
 *   type, enum, const; then for a number minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum; for a string minLength,
 *   maxLength, pattern; for an array minItems, maxItems, then items on
 *   each element in index order; for an object each name of required in
 *   the order written, then each member in document order, against its
 *   properties schema, else additionalProperties.  A value's own checks
 *   come before its elements' or members'.
 *
 * Messages: one line, the value then the rule.  A value is shown as cJSON
 * prints it, unformatted, cut to 40 bytes on a character boundary with
 * "..." after the cut (a long string then has no closing quote); numbers
 * print as integers when integral and below 1e18 in magnitude, else in the
 * shortest %.15g/%.16g/%.17g form that reads back as the same double.
 * A pointer longer than schema_err.path holds is cut back to its longest
 * prefix of whole segments that fits: it then names an ancestor of the
 * failing value.  Why a schema is invalid: "POINTER: what is wrong", with
 * POINTER into the schema (e.g. "/properties/n/minimum: must be a number,
 * not \"3\""); the root itself can only fail as "the schema must be an
 * object, not ..."; control characters in that pointer are written \xHH
 * so that why stays one line.  schema_err.path is the exact pointer: a
 * member name may put any character in it, so escape it to log it.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "schema.h"

#define SCHEMA_SHOW_MAX		40	/* bytes of a value in a message */
#define PATTERN_SIZE_MAX	1000	/* atoms after expanding {m,n} */
#define PATTERN_GROUPS_MAX	64

/* The order of the checks, and of the fields the keywords fill. */
enum schema_kw {
	KW_TYPE, KW_ENUM, KW_CONST,
	KW_MINIMUM, KW_MAXIMUM, KW_XMINIMUM, KW_XMAXIMUM,
	KW_MINLENGTH, KW_MAXLENGTH, KW_MINITEMS, KW_MAXITEMS,
	KW_PATTERN, KW_ITEMS, KW_PROPERTIES, KW_REQUIRED, KW_ADDITIONAL,
	KW_TITLE, KW_DESCRIPTION, KW_DEFAULT, KW_EXAMPLES,
	KW_MAX
};

/* The type names, in the order of their bits. */
static const char *const schema_type_names[] = {
	"null", "boolean", "integer", "number", "string", "array", "object"
};
#define SCHEMA_NTYPES	7

struct schema_prop {
	char		*sp_name;
	struct schema	*sp_schema;
};

struct schema {
	uint32_t		 sc_has;	/* 1 << enum schema_kw */
	unsigned		 sc_types;	/* 1 << index in schema_type_names */
	uint8_t			 sc_type_order[SCHEMA_NTYPES];
	size_t			 sc_ntypes;	/* as written, for messages */
	cJSON			*sc_enum, *sc_const, *sc_pattern;
	double			 sc_num[4];	/* KW_MINIMUM .. KW_XMAXIMUM */
	double			 sc_count[4];	/* KW_MINLENGTH .. KW_MAXITEMS */
	regex_t			 sc_re;
	struct schema		*sc_items, *sc_additional;
	bool			 sc_additional_false;
	struct schema_prop	*sc_props;	/* sorted by name */
	size_t			 sc_nprops;
	char			**sc_required;	/* in the order written */
	size_t			 sc_nrequired;
};

/* A JSON Pointer under construction; segments past the buffer are counted. */
struct schema_ptr {
	char		buf[sizeof(((struct schema_err *)0)->path)];
	size_t		len;
	unsigned	cut;
};

struct schema_cctx {
	struct schema_ptr	 p;
	char			*why;
	size_t			 whylen;
	int			 depth;
};

struct schema_vctx {
	struct schema_ptr	 p;
	struct schema_err	*e;
};

/* ---- pointers ---- */

static void
schema_ptr_push(struct schema_ptr *p, const char *seg)
{
	size_t	need = 1, i;

	for (i = 0; seg[i] != '\0'; i++)
		need += (seg[i] == '~' || seg[i] == '/') ? 2 : 1;
	if (p->cut > 0 || p->len + need >= sizeof(p->buf)) {
		p->cut++;
		return;
	}
	p->buf[p->len++] = '/';
	for (i = 0; seg[i] != '\0'; i++) {
		if (seg[i] == '~' || seg[i] == '/') {
			p->buf[p->len++] = '~';
			p->buf[p->len++] = seg[i] == '~' ? '0' : '1';
		} else
			p->buf[p->len++] = seg[i];
	}
	p->buf[p->len] = '\0';
}

static void
schema_ptr_push_index(struct schema_ptr *p, size_t i)
{
	char	seg[24];

	snprintf(seg, sizeof(seg), "%zu", i);
	schema_ptr_push(p, seg);
}

static void
schema_ptr_pop(struct schema_ptr *p)
{
	char	*slash;

	if (p->cut > 0) {
		p->cut--;
		return;
	}
	slash = memrchr(p->buf, '/', p->len);
	p->len = slash == NULL ? 0 : (size_t)(slash - p->buf);
	p->buf[p->len] = '\0';
}

/* ---- showing values ---- */

/* Integral below 1e18 as an integer, else the shortest exact %g. */
static void
schema_show_number(double x, char *buf, size_t len)
{
	int	prec;

	if (x == 0)
		x = 0;		/* no "-0" */
	if (isfinite(x) && x == floor(x) && fabs(x) < 1e18) {
		snprintf(buf, len, "%.0f", x);
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
	snprintf(buf, len, "%.17g", x);
}

/* Cuts s to max bytes on a UTF-8 character boundary, "..." after a cut. */
static void
schema_show_cut(char *s, size_t max)
{
	size_t	n;

	if (strlen(s) <= max)
		return;
	n = max - 3;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(s + n, "...", 4);
}

/* v as JSON, for a message; buf holds at least SCHEMA_SHOW_MAX + 1. */
static void
schema_show(const cJSON *v, char *buf, size_t len)
{
	char	*text;

	if (cJSON_IsNumber(v)) {
		schema_show_number(v->valuedouble, buf, len);
		return;
	}
	if ((text = cJSON_PrintUnformatted(v)) == NULL) {
		snprintf(buf, len, "the value");	/* out of memory */
		return;
	}
	schema_show_cut(text, len - 1 < SCHEMA_SHOW_MAX ? len - 1 :
	    SCHEMA_SHOW_MAX);
	snprintf(buf, len, "%s", text);
	free(text);
}

/* A member name as a JSON string, for a message. */
static void
schema_show_name(const char *name, char *buf, size_t len)
{
	cJSON	*str = cJSON_CreateString(name);

	if (str == NULL)
		snprintf(buf, len, "a name");	/* out of memory */
	else
		schema_show(str, buf, len);
	cJSON_Delete(str);
}

/* ---- compiling ---- */

/* The pointer for a one-line why: control characters as \xHH. */
static void
schema_ptr_oneline(const struct schema_ptr *p, char *buf, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < p->len && n + 5 < len; i++) {
		unsigned char ch = (unsigned char)p->buf[i];

		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", ch);
		else
			buf[n++] = (char)ch;
	}
	buf[n] = '\0';
}

static int
schema_cfail(struct schema_cctx *c, const char *fmt, ...)
{
	char	text[384], ptr[sizeof(c->p.buf) * 2];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	schema_ptr_oneline(&c->p, ptr, sizeof(ptr));
	if (c->p.len == 0 && c->p.cut == 0)
		snprintf(c->why, c->whylen, "the schema %s", text);
	else
		snprintf(c->why, c->whylen, "%s%s: %s", ptr,
		    c->p.cut > 0 ? "/..." : "", text);
	return -1;
}

/* "must be WHAT, not V" */
static int
schema_cfail_type(struct schema_cctx *c, const char *what, const cJSON *v)
{
	char	shown[SCHEMA_SHOW_MAX + 8];

	schema_show(v, shown, sizeof(shown));
	return schema_cfail(c, "must be %s, not %s", what, shown);
}

static struct schema	*schema_compile_at(const cJSON *, struct schema_cctx *);

static int
schema_type_index(const cJSON *v)
{
	int	i;

	if (!cJSON_IsString(v))
		return -1;
	for (i = 0; i < SCHEMA_NTYPES; i++)
		if (strcmp(v->valuestring, schema_type_names[i]) == 0)
			return i;
	return -1;
}

static int
schema_kw_type_one(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	int	t = schema_type_index(v);

	if (t < 0)
		return schema_cfail_type(c, "a type name (null, boolean, "
		    "integer, number, string, array or object)", v);
	if (s->sc_types & (1u << t))
		return schema_cfail(c, "\"%s\" is given twice",
		    schema_type_names[t]);
	s->sc_types |= 1u << t;
	s->sc_type_order[s->sc_ntypes++] = (uint8_t)t;
	return 0;
}

static int
schema_kw_type(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	const cJSON	*t;
	size_t		 i = 0;
	int		 rc = 0;

	if (!cJSON_IsArray(v))
		return schema_kw_type_one(s, v, c);
	if (v->child == NULL)
		return schema_cfail(c, "must not be an empty array");
	cJSON_ArrayForEach(t, v) {
		schema_ptr_push_index(&c->p, i++);
		rc = schema_kw_type_one(s, t, c);
		schema_ptr_pop(&c->p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
schema_kw_enum(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	if (!cJSON_IsArray(v) || v->child == NULL)
		return schema_cfail_type(c, "a non-empty array", v);
	if ((s->sc_enum = cJSON_Duplicate(v, 1)) == NULL)
		return schema_cfail(c, "out of memory");
	return 0;
}

static int
schema_kw_const(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	if ((s->sc_const = cJSON_Duplicate(v, 1)) == NULL)
		return schema_cfail(c, "out of memory");
	return 0;
}

static int
schema_kw_number(struct schema *s, const cJSON *v, struct schema_cctx *c,
    enum schema_kw kw)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return schema_cfail_type(c, "a number", v);
	s->sc_num[kw - KW_MINIMUM] = v->valuedouble;
	return 0;
}

static int
schema_kw_count(struct schema *s, const cJSON *v, struct schema_cctx *c,
    enum schema_kw kw)
{
	double	x = v->valuedouble;

	if (!cJSON_IsNumber(v) || !isfinite(x) || x < 0 || x != floor(x))
		return schema_cfail_type(c, "a non-negative integer", v);
	s->sc_count[kw - KW_MINLENGTH] = x;
	return 0;
}

static uint64_t
schema_sat(uint64_t x)
{
	return x > PATTERN_SIZE_MAX ? PATTERN_SIZE_MAX + 1 : x;
}

/* Past a bracket expression that starts at p; at the NUL if unterminated. */
static const char *
schema_pattern_bracket(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p != '\0' && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char close = p[1];

			for (p += 2; *p != '\0' && !(p[0] == close &&
			    p[1] == ']'); p++)
				;
			if (*p != '\0')
				p += 2;
		} else
			p++;
	}
	return *p == ']' ? p + 1 : p;
}

/* The count of copies an interval {m}, {m,} or {m,n} makes; 0 if not one. */
static uint64_t
schema_pattern_interval(const char **pp)
{
	const char	*p = *pp + 1;
	uint64_t	 m = 0, n;

	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		m = schema_sat(m * 10 + (uint64_t)(*p - '0'));
	n = m;
	if (*p == ',') {
		p++;
		n = m + 1;		/* {m,}: m copies and a star */
		if (*p >= '0' && *p <= '9')
			for (n = 0; *p >= '0' && *p <= '9'; p++)
				n = schema_sat(n * 10 + (uint64_t)(*p - '0'));
	}
	if (*p != '}')
		return 0;
	*pp = p;
	return n > 0 ? n : 1;
}

struct schema_pgroup {
	uint64_t	total;	/* atoms in the group so far */
	uint64_t	last;	/* atoms in its last piece, which a quantifier copies */
};

/* The last piece made k copies of itself, as glibc's regcomp does. */
static void
schema_pattern_repeat(struct schema_pgroup *g, uint64_t k)
{
	uint64_t	q = schema_sat(g->last * k);

	g->total = schema_sat(g->total + (q - g->last));
	g->last = q;
}

/*
 * What regcomp accepts but matching cannot bound: back-references, and
 * the size of the pattern once regcomp has expanded it: a group's size is
 * the sum of its pieces', and {m,n} (n copies; m + 1 for {m,}) and +
 * (two) copy the piece before them, so that nested repetitions multiply.
 * NULL when acceptable.  Malformed syntax is left to regcomp.
 */
static const char *
schema_pattern_cost(const char *p)
{
	struct schema_pgroup	g[PATTERN_GROUPS_MAX + 1];
	size_t			top = 0;
	uint64_t		k;

	memset(&g[0], 0, sizeof(g[0]));
	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] >= '1' && p[1] <= '9')
			return "has a back-reference, which POSIX extended "
			    "regular expressions do not have";
		if (*p == '(') {
			if (top == PATTERN_GROUPS_MAX)
				return "nests groups deeper than 64";
			top++;
			g[top].total = g[top].last = 0;
			continue;
		}
		if (*p == ')' && top > 0) {
			k = g[top].total > 0 ? g[top].total : 1;
			top--;
			g[top].last = k;
			g[top].total = schema_sat(g[top].total + k);
		} else if (*p == '*' || *p == '?')
			;	/* a loop on the atom, not a copy */
		else if (*p == '+')
			schema_pattern_repeat(&g[top], 2);	/* E+ is E E* */
		else if (*p == '{' && (k = schema_pattern_interval(&p)) > 0)
			schema_pattern_repeat(&g[top], k);
		else if (*p == '|')
			g[top].last = 0;
		else {
			if (*p == '[')
				p = schema_pattern_bracket(p) - 1;
			else if (*p == '\\' && p[1] != '\0')
				p++;
			g[top].last = 1;
			g[top].total = schema_sat(g[top].total + 1);
		}
		if (g[top].total > PATTERN_SIZE_MAX)
			return "is too complex: its repetitions expand it "
			    "past 1000 atoms";
	}
	return NULL;
}

static int
schema_kw_pattern(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	const char	*why;
	char		 err[160];
	int		 rc;

	if (!cJSON_IsString(v))
		return schema_cfail_type(c, "a string", v);
	if ((why = schema_pattern_cost(v->valuestring)) != NULL)
		return schema_cfail(c, "%s", why);
	if ((rc = regcomp(&s->sc_re, v->valuestring,
	    REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, NULL, err, sizeof(err));
		return schema_cfail(c, "does not compile: %s", err);
	}
	if ((s->sc_pattern = cJSON_Duplicate(v, 0)) == NULL) {
		regfree(&s->sc_re);
		return schema_cfail(c, "out of memory");
	}
	return 0;
}

static int
schema_kw_items(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	return (s->sc_items = schema_compile_at(v, c)) == NULL ? -1 : 0;
}

static int
schema_prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct schema_prop *)a)->sp_name,
	    ((const struct schema_prop *)b)->sp_name);
}

static int
schema_kw_prop_one(struct schema_prop *sp, const cJSON *v,
    struct schema_cctx *c)
{
	int	rc = 0;

	schema_ptr_push(&c->p, v->string);
	if ((sp->sp_name = strdup(v->string)) == NULL)
		rc = schema_cfail(c, "out of memory");
	else if ((sp->sp_schema = schema_compile_at(v, c)) == NULL)
		rc = -1;
	schema_ptr_pop(&c->p);
	return rc;
}

static int
schema_kw_properties(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	const cJSON	*m;
	size_t		 n = (size_t)cJSON_GetArraySize(v), i;

	if (!cJSON_IsObject(v))
		return schema_cfail_type(c, "an object of schemas", v);
	if (n == 0)
		return 0;
	if ((s->sc_props = calloc(n, sizeof(*s->sc_props))) == NULL)
		return schema_cfail(c, "out of memory");
	cJSON_ArrayForEach(m, v) {
		if (schema_kw_prop_one(&s->sc_props[s->sc_nprops++], m, c) != 0)
			return -1;
	}
	qsort(s->sc_props, n, sizeof(*s->sc_props), schema_prop_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(s->sc_props[i - 1].sp_name,
		    s->sc_props[i].sp_name) == 0) {
			schema_ptr_push(&c->p, s->sc_props[i].sp_name);
			schema_cfail(c, "is given twice");
			schema_ptr_pop(&c->p);
			return -1;
		}
	}
	return 0;
}

static int
schema_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first name given twice in required, or NULL. */
static const char *
schema_required_twice(const struct schema *s, struct schema_cctx *c)
{
	const char	**sorted, *twice = NULL;
	size_t		  i, n = s->sc_nrequired;

	if ((sorted = calloc(n, sizeof(*sorted))) == NULL) {
		schema_cfail(c, "out of memory");
		return "";
	}
	memcpy(sorted, s->sc_required, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), schema_str_cmp);
	for (i = 1; i < n && twice == NULL; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			twice = sorted[i];
	free(sorted);
	if (twice != NULL) {
		char shown[SCHEMA_SHOW_MAX + 8];

		schema_show_name(twice, shown, sizeof(shown));
		schema_cfail(c, "%s is given twice", shown);
	}
	return twice;
}

static int
schema_kw_required(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	const cJSON	*m;
	size_t		 n = (size_t)cJSON_GetArraySize(v), i = 0;
	int		 rc = 0;

	if (!cJSON_IsArray(v))
		return schema_cfail_type(c, "an array of distinct strings", v);
	if (n == 0)
		return 0;
	if ((s->sc_required = calloc(n, sizeof(*s->sc_required))) == NULL)
		return schema_cfail(c, "out of memory");
	cJSON_ArrayForEach(m, v) {
		schema_ptr_push_index(&c->p, i++);
		if (!cJSON_IsString(m))
			rc = schema_cfail_type(c, "a string", m);
		else if ((s->sc_required[s->sc_nrequired] =
		    strdup(m->valuestring)) == NULL)
			rc = schema_cfail(c, "out of memory");
		else
			s->sc_nrequired++;
		schema_ptr_pop(&c->p);
		if (rc != 0)
			return rc;
	}
	return schema_required_twice(s, c) == NULL ? 0 : -1;
}

static int
schema_kw_additional(struct schema *s, const cJSON *v, struct schema_cctx *c)
{
	if (cJSON_IsBool(v)) {
		s->sc_additional_false = cJSON_IsFalse(v);
		return 0;
	}
	if (!cJSON_IsObject(v))
		return schema_cfail_type(c, "a boolean or a schema object", v);
	return (s->sc_additional = schema_compile_at(v, c)) == NULL ? -1 : 0;
}

static int
schema_kw_annotation(const cJSON *v, struct schema_cctx *c, enum schema_kw kw)
{
	if ((kw == KW_TITLE || kw == KW_DESCRIPTION) && !cJSON_IsString(v))
		return schema_cfail_type(c, "a string", v);
	if (kw == KW_EXAMPLES && !cJSON_IsArray(v))
		return schema_cfail_type(c, "an array", v);
	return 0;
}

static const char *const schema_kw_names[KW_MAX] = {
	[KW_TYPE] = "type", [KW_ENUM] = "enum", [KW_CONST] = "const",
	[KW_MINIMUM] = "minimum", [KW_MAXIMUM] = "maximum",
	[KW_XMINIMUM] = "exclusiveMinimum", [KW_XMAXIMUM] = "exclusiveMaximum",
	[KW_MINLENGTH] = "minLength", [KW_MAXLENGTH] = "maxLength",
	[KW_MINITEMS] = "minItems", [KW_MAXITEMS] = "maxItems",
	[KW_PATTERN] = "pattern", [KW_ITEMS] = "items",
	[KW_PROPERTIES] = "properties", [KW_REQUIRED] = "required",
	[KW_ADDITIONAL] = "additionalProperties",
	[KW_TITLE] = "title", [KW_DESCRIPTION] = "description",
	[KW_DEFAULT] = "default", [KW_EXAMPLES] = "examples",
};

static int
schema_kw_compile(struct schema *s, enum schema_kw kw, const cJSON *v,
    struct schema_cctx *c)
{
	switch (kw) {
	case KW_TYPE:
		return schema_kw_type(s, v, c);
	case KW_ENUM:
		return schema_kw_enum(s, v, c);
	case KW_CONST:
		return schema_kw_const(s, v, c);
	case KW_MINIMUM: case KW_MAXIMUM: case KW_XMINIMUM: case KW_XMAXIMUM:
		return schema_kw_number(s, v, c, kw);
	case KW_MINLENGTH: case KW_MAXLENGTH: case KW_MINITEMS:
	case KW_MAXITEMS:
		return schema_kw_count(s, v, c, kw);
	case KW_PATTERN:
		return schema_kw_pattern(s, v, c);
	case KW_ITEMS:
		return schema_kw_items(s, v, c);
	case KW_PROPERTIES:
		return schema_kw_properties(s, v, c);
	case KW_REQUIRED:
		return schema_kw_required(s, v, c);
	case KW_ADDITIONAL:
		return schema_kw_additional(s, v, c);
	default:
		return schema_kw_annotation(v, c, kw);
	}
}

static int
schema_kw_lookup(const char *name)
{
	int	kw;

	for (kw = 0; kw < KW_MAX; kw++)
		if (strcmp(name, schema_kw_names[kw]) == 0)
			return kw;
	return -1;
}

static int
schema_member(struct schema *s, const cJSON *m, struct schema_cctx *c)
{
	int	kw = schema_kw_lookup(m->string), rc;

	schema_ptr_push(&c->p, m->string);
	if (kw < 0)
		rc = schema_cfail(c, "is not a keyword of the subset");
	else if (s->sc_has & (1u << kw))
		rc = schema_cfail(c, "is given twice");
	else if ((rc = schema_kw_compile(s, (enum schema_kw)kw, m, c)) == 0)
		s->sc_has |= 1u << kw;
	schema_ptr_pop(&c->p);
	return rc;
}

static struct schema *
schema_compile_at(const cJSON *json, struct schema_cctx *c)
{
	struct schema	*s;
	const cJSON	*m;

	if (!cJSON_IsObject(json)) {
		schema_cfail_type(c, "an object", json);
		return NULL;
	}
	if (c->depth == SCHEMA_DEPTH_MAX) {
		schema_cfail(c, "nests deeper than %d schema levels",
		    SCHEMA_DEPTH_MAX);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		schema_cfail(c, "out of memory");
		return NULL;
	}
	c->depth++;
	cJSON_ArrayForEach(m, json) {
		if (schema_member(s, m, c) != 0) {
			schema_free(s);
			return NULL;
		}
	}
	c->depth--;
	return s;
}

struct schema *
schema_compile(const cJSON *json, char *why, size_t whylen)
{
	struct schema_cctx	c;
	char			scratch[8];

	memset(&c.p, 0, sizeof(c.p));
	c.why = why != NULL && whylen > 0 ? why : scratch;
	c.whylen = why != NULL && whylen > 0 ? whylen : sizeof(scratch);
	c.depth = 0;
	return schema_compile_at(json, &c);
}

void
schema_free(struct schema *s)
{
	size_t	i;

	if (s == NULL)
		return;
	cJSON_Delete(s->sc_enum);
	cJSON_Delete(s->sc_const);
	if (s->sc_pattern != NULL) {
		regfree(&s->sc_re);
		cJSON_Delete(s->sc_pattern);
	}
	schema_free(s->sc_items);
	schema_free(s->sc_additional);
	for (i = 0; i < s->sc_nprops; i++) {
		free(s->sc_props[i].sp_name);
		schema_free(s->sc_props[i].sp_schema);
	}
	free(s->sc_props);
	for (i = 0; i < s->sc_nrequired; i++)
		free(s->sc_required[i]);
	free(s->sc_required);
	free(s);
}

/* ---- validating ---- */

static int
schema_vfail(struct schema_vctx *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->e == NULL)
		return -1;
	snprintf(c->e->path, sizeof(c->e->path), "%s", c->p.buf);
	va_start(ap, fmt);
	vsnprintf(c->e->msg, sizeof(c->e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* The value shown, then the rest of the message. */
static int
schema_vfail_value(struct schema_vctx *c, const cJSON *v, const char *fmt,
    ...)
{
	char	shown[SCHEMA_SHOW_MAX + 8], rule[200];
	va_list	ap;

	if (c->e == NULL)
		return -1;
	schema_show(v, shown, sizeof(shown));
	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	return schema_vfail(c, "%s %s", shown, rule);
}

static unsigned
schema_type_of(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return 1u << 0;
	if (cJSON_IsBool(v))
		return 1u << 1;
	if (cJSON_IsNumber(v))
		return (isfinite(v->valuedouble) &&
		    v->valuedouble == floor(v->valuedouble) ? 1u << 2 : 0) |
		    1u << 3;
	if (cJSON_IsString(v))
		return 1u << 4;
	if (cJSON_IsArray(v))
		return 1u << 5;
	return 1u << 6;
}

static int
schema_check_type(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	char	names[96];
	size_t	i, len = 0;

	if (!(s->sc_has & (1u << KW_TYPE)) || (s->sc_types & schema_type_of(v)))
		return 0;
	names[0] = '\0';
	for (i = 0; i < s->sc_ntypes; i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
		    i == 0 ? "" : i + 1 == s->sc_ntypes ? " or " : ", ",
		    schema_type_names[s->sc_type_order[i]]);
	return schema_vfail_value(c, v, "is not of type %s", names);
}

static int
schema_check_enum(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	const cJSON	*e;
	char		 shown[SCHEMA_SHOW_MAX + 8];

	if (s->sc_enum != NULL) {
		cJSON_ArrayForEach(e, s->sc_enum)
			if (cJSON_Compare(e, v, 1))
				break;
		if (e == NULL)
			return schema_vfail_value(c, v,
			    "is not one of the allowed values");
	}
	if (s->sc_const != NULL && !cJSON_Compare(s->sc_const, v, 1)) {
		schema_show(s->sc_const, shown, sizeof(shown));
		return schema_vfail_value(c, v, "is not the allowed value %s",
		    shown);
	}
	return 0;
}

static int
schema_check_number(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	static const char *const rule[4] = {
		"is less than the minimum", "is greater than the maximum",
		"is not greater than the exclusive minimum",
		"is not less than the exclusive maximum",
	};
	double	x = v->valuedouble, b;
	char	shown[40];
	int	i, bad;

	for (i = 0; i < 4; i++) {
		if (!(s->sc_has & (1u << (KW_MINIMUM + i))))
			continue;
		b = s->sc_num[i];
		bad = i == 0 ? x < b : i == 1 ? x > b : i == 2 ? x <= b : x >= b;
		if (bad) {
			schema_show_number(b, shown, sizeof(shown));
			return schema_vfail_value(c, v, "%s %s", rule[i], shown);
		}
	}
	return 0;
}

static size_t
schema_code_points(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* "shorter than 3 characters", "more than the maximum 4" */
static int
schema_check_count(const struct schema *s, size_t n, enum schema_kw kw,
    struct schema_vctx *c, const cJSON *v)
{
	double	b = s->sc_count[kw - KW_MINLENGTH];
	char	shown[40];
	bool	min = kw == KW_MINLENGTH || kw == KW_MINITEMS;

	if (!(s->sc_has & (1u << kw)) || (min ? (double)n >= b : (double)n <= b))
		return 0;
	schema_show_number(b, shown, sizeof(shown));
	if (kw == KW_MINLENGTH || kw == KW_MAXLENGTH)
		return schema_vfail_value(c, v, "is %s than %s character%s",
		    min ? "shorter" : "longer", shown, b == 1 ? "" : "s");
	return schema_vfail(c, "%zu item%s: %s than the %s %s", n,
	    n == 1 ? "" : "s", min ? "fewer" : "more",
	    min ? "minimum" : "maximum", shown);
}

static int
schema_check_string(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	size_t	n = schema_code_points(v->valuestring);
	char	shown[SCHEMA_SHOW_MAX + 8], err[128];
	int	rc;

	if (schema_check_count(s, n, KW_MINLENGTH, c, v) != 0 ||
	    schema_check_count(s, n, KW_MAXLENGTH, c, v) != 0)
		return -1;
	if (s->sc_pattern == NULL)
		return 0;
	rc = regexec(&s->sc_re, v->valuestring, 0, NULL, 0);
	if (rc == 0)
		return 0;
	schema_show(s->sc_pattern, shown, sizeof(shown));
	if (rc == REG_NOMATCH)
		return schema_vfail_value(c, v, "does not match the pattern %s",
		    shown);
	regerror(rc, &s->sc_re, err, sizeof(err));
	return schema_vfail_value(c, v, "could not be matched against the "
	    "pattern %s: %s", shown, err);
}

static int	schema_check(const struct schema *, const cJSON *,
		    struct schema_vctx *);

static int
schema_check_array(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	const cJSON	*e;
	size_t		 n = (size_t)cJSON_GetArraySize(v), i = 0;
	int		 rc;

	if (schema_check_count(s, n, KW_MINITEMS, c, v) != 0 ||
	    schema_check_count(s, n, KW_MAXITEMS, c, v) != 0)
		return -1;
	if (s->sc_items == NULL)
		return 0;
	cJSON_ArrayForEach(e, v) {
		schema_ptr_push_index(&c->p, i++);
		rc = schema_check(s->sc_items, e, c);
		schema_ptr_pop(&c->p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
schema_check_required(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	char	shown[SCHEMA_SHOW_MAX + 8];
	size_t	i;

	for (i = 0; i < s->sc_nrequired; i++) {
		if (cJSON_GetObjectItemCaseSensitive(v, s->sc_required[i]))
			continue;
		schema_show_name(s->sc_required[i], shown, sizeof(shown));
		return schema_vfail(c, "the required property %s is missing",
		    shown);
	}
	return 0;
}

/* The schema a member is checked against; NULL for none, *denied if none
 * is allowed. */
static const struct schema *
schema_for_member(const struct schema *s, const char *name, bool *denied)
{
	struct schema_prop	 key, *sp;

	*denied = false;
	key.sp_name = (char *)name;
	if (s->sc_nprops > 0 && (sp = bsearch(&key, s->sc_props, s->sc_nprops,
	    sizeof(*s->sc_props), schema_prop_cmp)) != NULL)
		return sp->sp_schema;
	*denied = s->sc_additional_false;
	return s->sc_additional;
}

static int
schema_check_object(const struct schema *s, const cJSON *v,
    struct schema_vctx *c)
{
	const struct schema	*ms;
	const cJSON		*m;
	char			 shown[SCHEMA_SHOW_MAX + 8];
	bool			 denied;
	int			 rc = 0;

	if (schema_check_required(s, v, c) != 0)
		return -1;
	cJSON_ArrayForEach(m, v) {
		ms = schema_for_member(s, m->string, &denied);
		if (ms == NULL && !denied)
			continue;
		schema_ptr_push(&c->p, m->string);
		if (ms != NULL)
			rc = schema_check(ms, m, c);
		else {
			schema_show_name(m->string, shown, sizeof(shown));
			rc = schema_vfail(c, "property %s is not allowed", shown);
		}
		schema_ptr_pop(&c->p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
schema_check(const struct schema *s, const cJSON *v, struct schema_vctx *c)
{
	if (schema_check_type(s, v, c) != 0 || schema_check_enum(s, v, c) != 0)
		return -1;
	if (cJSON_IsNumber(v))
		return schema_check_number(s, v, c);
	if (cJSON_IsString(v))
		return schema_check_string(s, v, c);
	if (cJSON_IsArray(v))
		return schema_check_array(s, v, c);
	if (cJSON_IsObject(v))
		return schema_check_object(s, v, c);
	return 0;
}

int
schema_validate(const struct schema *s, const cJSON *value,
    struct schema_err *e)
{
	static const cJSON	null_value = { .type = cJSON_NULL };
	struct schema_vctx	c;

	memset(&c.p, 0, sizeof(c.p));
	c.e = e;
	return schema_check(s, value != NULL ? value : &null_value, &c);
}
