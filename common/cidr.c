/*
 * cidr.c - parse and match address ranges (--trusted-proxy).
 *
 * The supervisor parses the flag (a bad range is a usage error); the
 * worker matches its peer, and the addresses a trusted proxy puts in
 * X-Forwarded-For or Forwarded.  IPv4-mapped IPv6 addresses match IPv4
 * ranges.  Pure functions.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int
cidr_parse(const char *s, struct cidr *c)
{
	char		 buf[64], *slash;
	const char	*errstr = NULL;
	long long	 bits;

	memset(c, 0, sizeof(*c));
	if (!strcmp(s, "unix")) {
		c->c_family = AF_UNIX;
		return 0;
	}
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->c_addr) == 1)
		c->c_family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->c_addr) == 1)
		c->c_family = AF_INET6;
	else
		return -1;
	c->c_bits = c->c_family == AF_INET ? 32 : 128;
	if (slash) {
		bits = strtonum(slash, 0, c->c_bits, &errstr);
		if (errstr || *slash == '\0')
			return -1;
		c->c_bits = (unsigned)bits;
	}
	return 0;
}

static bool
cidr_match_bytes(const struct cidr *c, const uint8_t *a)
{
	unsigned	full = c->c_bits / 8, rest = c->c_bits % 8;

	if (memcmp(c->c_addr, a, full))
		return false;
	if (rest == 0)
		return true;
	return ((c->c_addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

static bool
cidr_match_family(const struct cidr *c, int family, const uint8_t *a)
{
	static const uint8_t	v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };

	if (c->c_family == family)
		return cidr_match_bytes(c, a);
	if (c->c_family == AF_INET && family == AF_INET6 &&
	    !memcmp(a, v4mapped, sizeof(v4mapped)))
		return cidr_match_bytes(c, a + 12);
	return false;
}

bool
cidr_match_sockaddr(const struct cidr *c, const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_UNIX:
		return c->c_family == AF_UNIX;
	case AF_INET:
		return cidr_match_family(c, AF_INET, (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	case AF_INET6:
		return cidr_match_family(c, AF_INET6, (const uint8_t *)
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	}
	return false;
}

bool
cidr_match_text(const struct cidr *c, const char *ip)
{
	uint8_t	a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return cidr_match_family(c, AF_INET, a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return cidr_match_family(c, AF_INET6, a);
	return false;
}
