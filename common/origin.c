/*
 * origin.c - the origin check's parsing and comparison (SPEC 4).
 *
 * The supervisor parses --origin values at start (a bad one is a usage
 * error); the worker compares a request's Origin header with its Host
 * header and with those values.  Pure functions: no logging, no state.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "origin.h"

static unsigned
origin_default_port(const char *scheme)
{
	if (!strcmp(scheme, "https") || !strcmp(scheme, "wss"))
		return 443;
	return 80;
}

/* Splits "host[:port]" or "[v6]:port"; port 0 when absent. */
static int
origin_split_hostport(const char *s, size_t len, char *host, unsigned *port)
{
	const char	*colon = NULL, *end = s + len;
	size_t		 hlen;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return -1;
		hlen = (size_t)(rb - s) + 1;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
	}
	if (hlen == 0 || hlen >= ORIGIN_HOST_MAX)
		return -1;
	for (size_t i = 0; i < hlen; i++)
		host[i] = (char)tolower((unsigned char)s[i]);
	host[hlen] = '\0';
	*port = 0;
	if (colon) {
		unsigned long	 p = 0;
		const char	*q;

		if (colon + 1 == end || end - colon > 6)
			return -1;
		for (q = colon + 1; q < end; q++) {
			if (!isdigit((unsigned char)*q))
				return -1;
			p = p * 10 + (unsigned long)(*q - '0');
		}
		if (p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	return 0;
}

int
origin_parse(const char *s, struct origin *o)
{
	const char	*sep = strstr(s, "://");
	size_t		 slen, rest;

	if (sep == NULL || sep == s || (size_t)(sep - s) >= sizeof(o->scheme))
		return -1;
	slen = (size_t)(sep - s);
	for (size_t i = 0; i < slen; i++) {
		if (!isalpha((unsigned char)s[i]))
			return -1;
		o->scheme[i] = (char)tolower((unsigned char)s[i]);
	}
	o->scheme[slen] = '\0';
	s = sep + 3;
	rest = strlen(s);
	if (rest && s[rest - 1] == '/')	/* tolerate a trailing slash */
		rest--;
	if (memchr(s, '/', rest) || memchr(s, '@', rest))
		return -1;
	if (origin_split_hostport(s, rest, o->host, &o->port) < 0)
		return -1;
	if (o->port == 0)
		o->port = origin_default_port(o->scheme);
	return 0;
}

bool
origin_equal(const struct origin *a, const struct origin *b)
{
	return !strcmp(a->scheme, b->scheme) && !strcmp(a->host, b->host) &&
	    a->port == b->port;
}

/*
 * Same host as the request's Host header?  A Host without a port means
 * the default port of the origin's scheme.
 */
bool
origin_matches_host(const struct origin *o, const char *host)
{
	char		h[ORIGIN_HOST_MAX];
	unsigned	port;

	if (origin_split_hostport(host, strlen(host), h, &port) < 0)
		return false;
	if (port == 0)
		port = origin_default_port(o->scheme);
	return !strcmp(h, o->host) && port == o->port;
}
