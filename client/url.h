/*
 * url.h - where wstask connects: the -u URL and the credentials for it.
 */
#ifndef WSTASK_URL_H
#define WSTASK_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_DEFAULT	"ws://127.0.0.1:8080/stream"
#define URL_PATH_DEFAULT "/stream"

struct url {
	bool	 u_tls;		/* wss:// */
	char	*u_host;	/* host name or address, no brackets; NULL: unix */
	char	*u_unix;	/* ws+unix: socket path */
	int	 u_port;
	char	*u_path;	/* path and query, from '/' */
	char	*u_hosthdr;	/* the Host header as browsers send it */
	char	*u_auth;	/* "user:pass" for basic auth, or NULL */
};

int	url_parse(struct url *u, const char *s, const char *auth_env,
	    char *err, size_t errlen);
int	url_add_session(struct url *u, const char *id, char *err,
	    size_t errlen);
char	*url_escape(const char *s);
void	url_free(struct url *u);

#endif
