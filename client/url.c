/*
 * url.c - the -u URL (or WSTASK_URL) and the credentials that go with it.
 *
 * Three forms: ws://[USER[:PASS]@]HOST[:PORT][/PATH][?QUERY], the same with
 * wss:// (TLS), and ws+unix:SOCKET[:/PATH][?QUERY] for a wstaskd listening
 * on a unix socket.  A missing path is /stream, wstaskd's default.  User
 * and password (percent-decoded) come from the URL, else from WSTASK_AUTH
 * ("user:pass"); they become a basic auth header.  Nothing here touches
 * the network: a URL that does not parse is a usage error.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static int
url_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
url_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX decoded; NULL for a bad escape, a NUL byte or no memory. */
static char *
url_decode(const char *s, size_t len)
{
	char	*out, *o;
	size_t	 i;

	if ((out = o = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = url_hexval(s[i + 1])) < 0 ||
		    (lo = url_hexval(s[i + 2])) < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Every byte but A-Z a-z 0-9 - . _ ~ as %XX: a name put in a path. */
char *
url_escape(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *o;

	if ((out = o = malloc(3 * strlen(s) + 1)) == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '%';
		*o++ = hex[c >> 4];
		*o++ = hex[c & 15];
	}
	*o = '\0';
	return out;
}

/* USER[:PASS] before '@', decoded, as "user:pass". */
static int
url_userinfo(struct url *u, const char *s, size_t len, char *err,
    size_t errlen)
{
	const char	*colon = memchr(s, ':', len);
	char		*user, *pass = NULL;
	size_t		 ulen = colon ? (size_t)(colon - s) : len;
	int		 n;

	user = url_decode(s, ulen);
	if (colon)
		pass = url_decode(colon + 1, len - ulen - 1);
	if (user == NULL || (colon && pass == NULL) || strchr(user, ':')) {
		free(user);
		free(pass);
		return url_fail(err, errlen, "bad user or password");
	}
	n = asprintf(&u->u_auth, "%s:%s", user, pass ? pass : "");
	free(user);
	free(pass);
	if (n < 0) {
		u->u_auth = NULL;
		return url_fail(err, errlen, "out of memory");
	}
	return 0;
}

/* HOST, HOST:PORT, [V6], [V6]:PORT. */
static int
url_hostport(struct url *u, const char *s, size_t len, char *err,
    size_t errlen)
{
	const char	*host = s, *colon = NULL, *rb, *end = s + len;
	size_t		 hlen = len;
	char		*e;
	long		 port;

	if (len && *s == '[') {
		if ((rb = memchr(s, ']', len)) == NULL)
			return url_fail(err, errlen, "no ']' after the address");
		host = s + 1;
		hlen = (size_t)(rb - host);
		if (rb + 1 < end && rb[1] != ':')
			return url_fail(err, errlen, "bad text after ']'");
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else if ((colon = memchr(s, ':', len)) != NULL)
		hlen = (size_t)(colon - s);
	if (hlen == 0)
		return url_fail(err, errlen, "no host");
	if (colon) {
		port = strtol(colon + 1, &e, 10);
		if (e != end || e == colon + 1 || port < 1 || port > 65535)
			return url_fail(err, errlen, "bad port");
		u->u_port = (int)port;
	}
	if ((u->u_host = strndup(host, hlen)) == NULL)
		return url_fail(err, errlen, "out of memory");
	if (u->u_port == (u->u_tls ? 443 : 80))
		port = asprintf(&u->u_hosthdr, *s == '[' ? "[%s]" : "%s",
		    u->u_host);
	else
		port = asprintf(&u->u_hosthdr, *s == '[' ? "[%s]:%d" : "%s:%d",
		    u->u_host, u->u_port);
	if (port < 0) {
		u->u_hosthdr = NULL;
		return url_fail(err, errlen, "out of memory");
	}
	return 0;
}

/* What follows the authority: "/path?query", "?query" or "". */
static int
url_path(struct url *u, const char *rest, char *err, size_t errlen)
{
	size_t	len = strcspn(rest, "#");
	int	n;

	if (len == 0 || *rest == '?')
		n = asprintf(&u->u_path, "%s%.*s", URL_PATH_DEFAULT,
		    (int)len, rest);
	else if (*rest == '/')
		n = asprintf(&u->u_path, "%.*s", (int)len, rest);
	else
		return url_fail(err, errlen, "bad path");
	if (n < 0) {
		u->u_path = NULL;
		return url_fail(err, errlen, "out of memory");
	}
	for (const char *p = u->u_path; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return url_fail(err, errlen,
			    "a space or control character in the path");
	return 0;
}

/* ws+unix:SOCKET[:/PATH][?QUERY] */
static int
url_parse_unix(struct url *u, const char *s, char *err, size_t errlen)
{
	const char	*sep = strstr(s, ":/"), *q = strchr(s, '?');
	size_t		 len;

	if (sep == NULL || (q && q < sep))
		sep = q;
	len = sep ? (size_t)(sep - s) : strlen(s);
	if (len == 0)
		return url_fail(err, errlen, "no socket path");
	if ((u->u_unix = strndup(s, len)) == NULL ||
	    (u->u_hosthdr = strdup("localhost")) == NULL)
		return url_fail(err, errlen, "out of memory");
	if (sep && *sep == ':')
		sep++;
	return url_path(u, sep ? sep : "", err, errlen);
}

static int
url_parse_inet(struct url *u, const char *s, char *err, size_t errlen)
{
	size_t		 alen = strcspn(s, "/?#");
	const char	*at = memchr(s, '@', alen);

	u->u_port = u->u_tls ? 443 : 80;
	if (at && url_userinfo(u, s, (size_t)(at - s), err, errlen))
		return -1;
	if (at) {
		alen -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (url_hostport(u, s, alen, err, errlen))
		return -1;
	return url_path(u, s + alen, err, errlen);
}

/*
 * Fills u from s; auth_env is WSTASK_AUTH (or NULL), used when the URL
 * names no user.  On failure err says what is wrong and u must still be
 * freed.
 */
int
url_parse(struct url *u, const char *s, const char *auth_env, char *err,
    size_t errlen)
{
	int	r;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "ws://", 5) == 0)
		r = url_parse_inet(u, s + 5, err, errlen);
	else if (strncmp(s, "wss://", 6) == 0) {
		u->u_tls = true;
		r = url_parse_inet(u, s + 6, err, errlen);
	} else if (strncmp(s, "ws+unix:", 8) == 0)
		r = url_parse_unix(u, s + 8, err, errlen);
	else
		return url_fail(err, errlen,
		    "not a ws://, wss:// or ws+unix: URL");
	if (r)
		return -1;
	if (u->u_auth == NULL && auth_env && *auth_env) {
		if (strchr(auth_env, ':') == NULL)
			return url_fail(err, errlen,
			    "WSTASK_AUTH is not user:pass");
		if ((u->u_auth = strdup(auth_env)) == NULL)
			return url_fail(err, errlen, "out of memory");
	}
	return 0;
}

/* -s ID: ?session=ID (or &session=ID) on the path; the URL must not have one. */
int
url_add_session(struct url *u, const char *id, char *err, size_t errlen)
{
	const char	*q = strchr(u->u_path, '?');
	char		*p;

	if (q && (strncmp(q + 1, "session=", 8) == 0 ||
	    strstr(q, "&session=") != NULL))
		return url_fail(err, errlen, "the URL already has a session");
	if (asprintf(&p, "%s%csession=%s", u->u_path, q ? '&' : '?', id) < 0)
		return url_fail(err, errlen, "out of memory");
	free(u->u_path);
	u->u_path = p;
	return 0;
}

void
url_free(struct url *u)
{
	free(u->u_host);
	free(u->u_unix);
	free(u->u_path);
	free(u->u_hosthdr);
	if (u->u_auth)
		explicit_bzero(u->u_auth, strlen(u->u_auth));
	free(u->u_auth);
	memset(u, 0, sizeof(*u));
}
