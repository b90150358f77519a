/*
 * session_id.c - validate and make session ids.
 *
 * Both roles use it: the worker to check what a client sent, the
 * supervisor to refuse a claim that a broken worker might send.
 */
#include <stdlib.h>
#include <string.h>

#include "session_id.h"

bool
session_id_valid(const char *s, size_t len)
{
	size_t	i;

	if (len < 1 || len > SESSION_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* "id", or "user/id" where user is 1 to 64 of [A-Za-z0-9._@+-]. */
bool
session_key_valid(const char *s, size_t len)
{
	const char	*slash = memchr(s, '/', len);
	size_t		 ulen, i;

	if (slash == NULL)
		return session_id_valid(s, len);
	ulen = (size_t)(slash - s);
	if (ulen < 1 || ulen > SESSION_USER_MAX)
		return false;
	for (i = 0; i < ulen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '+' || c == '-'))
			return false;
	}
	return session_id_valid(slash + 1, len - ulen - 1);
}

void
session_id_random(char out[SESSION_ID_RANDOM_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	  raw[SESSION_ID_RANDOM_LEN / 2];
	size_t		  i;

	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[SESSION_ID_RANDOM_LEN] = '\0';
}
