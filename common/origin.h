/*
 * origin.h - parse and compare web origins for the WebSocket origin check.
 *
 * An origin is scheme://host[:port]; the port defaults to 80 for http/ws
 * and 443 for https/wss.  Hosts compare case-insensitively.
 */
#ifndef WSTASKD_ORIGIN_H
#define WSTASKD_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#define ORIGIN_HOST_MAX	256

struct origin {
	char		scheme[8];
	char		host[ORIGIN_HOST_MAX];
	unsigned	port;
};

int	origin_parse(const char *s, struct origin *o);
bool	origin_equal(const struct origin *a, const struct origin *b);
bool	origin_matches_host(const struct origin *o, const char *host);

#endif
