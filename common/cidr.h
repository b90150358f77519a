/*
 * cidr.h - address ranges for --trusted-proxy.
 *
 * "10.0.0.0/8", "2001:db8::/32", a bare address (all its bits), or
 * "unix" for connections on unix-domain listeners.
 */
#ifndef WSTASKD_CIDR_H
#define WSTASKD_CIDR_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

struct cidr {
	int		c_family;	/* AF_INET, AF_INET6, AF_UNIX */
	uint8_t		c_addr[16];
	unsigned	c_bits;
};

int	cidr_parse(const char *s, struct cidr *c);
bool	cidr_match_sockaddr(const struct cidr *c, const struct sockaddr *sa);
bool	cidr_match_text(const struct cidr *c, const char *ip);

#endif
