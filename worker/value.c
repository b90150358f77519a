/*
 * value.c - from a handler's stdout to the `value` of its result, and the
 * one strict JSON parser of the worker.
 *
 * stdout loses its trailing white space; empty is null.  The bytes are
 * made valid UTF-8 (each maximal invalid subsequence, and each NUL,
 * becomes U+FFFD) because text frames must be UTF-8 and cJSON strings end
 * at NUL.  If the whole text is one JSON value, that value is used, else
 * the text as a string.  cJSON alone is lenient ("01", "1.", control
 * characters as white space or inside strings); json_strict() holds a
 * parsed text to RFC 8259 so "007" stays the string "007".
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "worker.h"

#define JSON_DEPTH_MAX	64

static size_t
utf8_seq(const unsigned char *s, size_t len, size_t i, bool *ok)
{
	unsigned char	c = s[i], lo = 0x80, hi = 0xBF;
	size_t		need, j;

	if (c >= 0xC2 && c <= 0xDF)
		need = 1;
	else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*ok = false;
		return 1;
	}
	for (j = 1; j <= need; j++) {
		if (i + j >= len || s[i + j] < lo || s[i + j] > hi) {
			*ok = false;
			return j;	/* the maximal subpart so far */
		}
		lo = 0x80;
		hi = 0xBF;
	}
	*ok = true;
	return need + 1;
}

/* A NUL-terminated copy of buf as valid UTF-8 without NUL bytes. */
char *
utf8_repair(const char *buf, size_t len, size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)buf;
	char			*out, *p;
	size_t			 i = 0, n;
	bool			 ok;

	if ((out = malloc(len * 3 + 1)) == NULL) {
		log_warn("malloc");
		return NULL;
	}
	p = out;
	while (i < len) {
		if (s[i] != 0 && s[i] < 0x80) {
			*p++ = (char)s[i++];
			continue;
		}
		ok = false;
		n = s[i] == 0 ? 1 : utf8_seq(s, len, i, &ok);
		if (ok) {
			memcpy(p, s + i, n);
			p += n;
		} else {
			memcpy(p, "\xEF\xBF\xBD", 3);
			p += 3;
		}
		i += n;
	}
	*p = '\0';
	*outlen = (size_t)(p - out);
	return out;
}

static bool
json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
json_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skips one number token at s[i]; 0 if it breaks RFC 8259's grammar. */
static size_t
json_number(const char *s, size_t len, size_t i)
{
	size_t	j = i;

	if (j < len && s[j] == '-')
		j++;
	if (j < len && s[j] == '0')
		j++;
	else if (j < len && json_digit(s[j]))
		while (j < len && json_digit(s[j]))
			j++;
	else
		return 0;
	if (j < len && s[j] == '.') {
		if (++j >= len || !json_digit(s[j]))
			return 0;
		while (j < len && json_digit(s[j]))
			j++;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		if (++j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j >= len || !json_digit(s[j]))
			return 0;
		while (j < len && json_digit(s[j]))
			j++;
	}
	if (j < len && (json_digit(s[j]) || strchr(".eE+-", s[j])))
		return 0;
	return j;
}

/* Whether the number token s[i..j) is beyond a double (cJSON: inf). */
static bool
json_number_huge(const char *s, size_t i, size_t j)
{
	char	tok[64];

	if (j - i >= sizeof(tok))
		return !isfinite(strtod(s + i, NULL));
	memcpy(tok, s + i, j - i);
	tok[j - i] = '\0';
	return !isfinite(strtod(tok, NULL));
}

/*
 * For a text cJSON has parsed: numbers as the grammar says and within a
 * double, no control characters in strings, no white space but the four
 * JSON allows, and no \u0000, at which cJSON's strings would silently
 * end.  NULL when it holds, else why not.
 */
static const char *
json_strict(const char *s, size_t len)
{
	size_t	i = 0, j;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return "message is not valid JSON";
				if (s[i] != '\\')
					continue;
				if (len - i > 5 && strncmp(s + i + 1, "u0000", 5) == 0)
					return "message contains \\u0000 (NUL), "
					    "which wstaskd cannot carry";
				i++;
			}
			i++;
		} else if (c == '-' || json_digit(c)) {
			if ((j = json_number(s, len, i)) == 0)
				return "message is not valid JSON";
			if (json_number_huge(s, i, j))
				return "message has a number beyond the range "
				    "of a double";
			i = j;
		} else if ((unsigned char)c < 0x20 && !json_ws(c))
			return "message is not valid JSON";
		else
			i++;
	}
	return NULL;
}

/* Nesting depth of arrays and objects, counted outside strings. */
static size_t
json_depth(const char *s, size_t len)
{
	size_t	i, depth = 0, max = 0;
	bool	str = false;

	for (i = 0; i < len; i++) {
		if (str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				str = false;
		} else if (s[i] == '"')
			str = true;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if (s[i] == ']' || s[i] == '}')
			depth--;
	}
	return max;
}

/*
 * The one JSON value that is the whole of text (NUL at text[len]), or NULL
 * with *why saying so.  Deep nesting is refused before cJSON recurses.
 */
cJSON *
json_parse(const char *text, size_t len, const char **why)
{
	cJSON		*v;
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	*why = "message is not valid JSON";
	if (memchr(text, '\0', len) != NULL)
		return NULL;
	if (json_depth(text, len) > JSON_DEPTH_MAX) {
		*why = "message nests arrays and objects deeper than 64";
		return NULL;
	}
	if ((v = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1)) == NULL)
		return NULL;
	if ((*why = json_strict(text, len)) != NULL) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

/* Valid UTF-8 without NUL: the common case, which needs no copy. */
static bool
utf8_clean(const char *buf, size_t len)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i = 0;
	bool			 ok;

	while (i < len) {
		if (s[i] != 0 && s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] == 0)
			return false;
		i += utf8_seq(s, len, i, &ok);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * buf (len bytes, with room for a NUL after them) is the handler's
 * stdout; it is changed.  The value refers to buf or to *text, which the
 * caller frees after the value: a large output is not copied again.
 */
cJSON *
value_from_output(char *buf, size_t len, char **text)
{
	cJSON	*v;
	char	*s = buf;
	size_t	 slen;

	*text = NULL;
	while (len && strchr(" \t\n\r\f\v", buf[len - 1]) && buf[len - 1])
		len--;
	if (len == 0)
		return cJSON_CreateNull();
	buf[len] = '\0';
	slen = len;
	if (!utf8_clean(buf, len) &&
	    (s = *text = utf8_repair(buf, len, &slen)) == NULL)
		return NULL;
	if ((v = json_parse(s, slen, NULL)) == NULL)
		v = cJSON_CreateStringReference(s);
	return v;
}
