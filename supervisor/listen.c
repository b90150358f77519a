/*
 * listen.c - the listening sockets and accepting connections.
 *
 * Binds every --listen address at start (before privileges could be
 * dropped), accepts without ever reading a byte (a worker's libwebsockets
 * must see the request from its first byte), and hands each connection to
 * a worker.  Running out of fds pauses accept for a second instead of
 * spinning; --max-sessions and a failed fork are answered by a 503 written
 * here, the only bytes the supervisor ever writes to a client.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "util.h"

#define ACCEPT_BURST	64
#define LISTEN_BACKLOG	511
#define REFUSE_LOG_USEC	10000000	/* rate limit of the refusal line */
#define DRAIN_USEC	500000		/* how long a refused client may talk */
#define DRAIN_MAX	256		/* refused sockets drained at once */

static const char refuse_503[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 20\r\n"
    "Connection: close\r\n"
    "Retry-After: 1\r\n"
    "\r\n"
    "server at capacity\r\n";

static void
listen_addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	switch (ss->ss_family) {
	case AF_INET: {
		const struct sockaddr_in *sin = (const void *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	case AF_UNIX:
		snprintf(buf, len, "unix");
		break;
	default:
		snprintf(buf, len, "?");
	}
}

static socklen_t
listen_sockaddr(const struct listen_spec *ls, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ls->family == AF_UNIX) {
		struct sockaddr_un *sun = (void *)ss;

		sun->sun_family = AF_UNIX;
		strlcpy(sun->sun_path, ls->host, sizeof(sun->sun_path));
		return sizeof(*sun);
	}
	if (ls->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)ls->port);
		inet_pton(AF_INET6, ls->host, &sin6->sin6_addr);
		return sizeof(*sin6);
	}
	struct sockaddr_in *sin = (void *)ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)ls->port);
	inet_pton(AF_INET, ls->host, &sin->sin_addr);
	return sizeof(*sin);
}

/*
 * A unix socket left by a dead instance is removed; a live one is not.
 * Also the --control socket's (ctlsock.c); what names it in messages.
 */
void
listen_unix_stale(const char *path, const char *what)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		fatal("socket");
	/*
	 * Only a refusal proves nobody listens.  A full backlog (EAGAIN) is a
	 * live listener, and EACCES may hide one: neither socket is ours to
	 * remove.
	 */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    errno == EAGAIN)
		fatalx("%s: another process is listening there", what);
	if (errno != ECONNREFUSED)
		fatal("%s: cannot tell whether the socket there is in use: "
		    "connect", what);
	close(fd);
	if (unlink(path) < 0)
		fatal("unlink %s", path);
}

/*
 * With --user the socket is given to that user and group, mode 0660: a
 * proxy in --group can connect (connecting needs write permission), and
 * nobody else.  Without --user its mode follows the umask.
 */
static void
listen_unix_owner(const struct config *cfg, const struct listen_spec *ls)
{
	if (cfg->user == NULL)
		return;
	if (chown(ls->host, cfg->uid, cfg->gid) < 0)
		fatal("%s: chown", ls->text);
	if (chmod(ls->host, 0660) < 0)
		fatal("%s: chmod", ls->text);
}

static int
listen_open(const struct config *cfg, const struct listen_spec *ls)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			text[128];
	int			fd, on = 1;

	if (ls->family == AF_UNIX)
		listen_unix_stale(ls->host, ls->text);
	len = listen_sockaddr(ls, &ss);
	fd = socket(ls->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("%s: socket", ls->text);
	if (ls->family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		fatal("%s: setsockopt SO_REUSEADDR", ls->text);
	if (ls->family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		fatal("%s: setsockopt IPV6_V6ONLY", ls->text);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		fatal("%s: bind", ls->text);
	if (listen(fd, LISTEN_BACKLOG) < 0)
		fatal("%s: listen", ls->text);
	if (ls->family == AF_UNIX) {
		listen_unix_owner(cfg, ls);
		log_info("event=listen addr=unix:%s", ls->host);
		return fd;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		fatal("%s: getsockname", ls->text);
	listen_addr_text(&ss, text, sizeof(text));
	log_info("event=listen addr=%s", text);
	return fd;
}

void
listen_open_all(struct supervisor *sv)
{
	const struct config	*cfg = sv->sv_cfg;
	size_t			 i;

	sv->sv_listeners = calloc(cfg->nlistens, sizeof(*sv->sv_listeners));
	if (sv->sv_listeners == NULL)
		fatal("calloc");
	for (i = 0; i < cfg->nlistens; i++) {
		struct listener *l = &sv->sv_listeners[i];

		l->l_evtype = EV_LISTEN;
		l->l_spec = &cfg->listens[i];
		l->l_fd = listen_open(cfg, l->l_spec);
	}
	sv->sv_nlisteners = cfg->nlistens;
}

void
listen_close_all(struct supervisor *sv)
{
	size_t	i;

	for (i = 0; i < sv->sv_nlisteners; i++) {
		struct listener *l = &sv->sv_listeners[i];

		if (l->l_fd < 0)
			continue;
		if (!sv->sv_accept_paused)
			loop_del(sv, l->l_fd);
		close(l->l_fd);
		if (l->l_spec->family == AF_UNIX && unlink(l->l_spec->host) < 0) {
			/* After --user, root's directory: the next start cleans up. */
			if (errno == EACCES || errno == EPERM)
				log_info("event=socket-kept path=%s", l->l_spec->host);
			else
				log_warn("unlink %s", l->l_spec->host);
		}
		l->l_fd = -1;
	}
	/* Nothing left to resume: a stale deadline would spin the loop. */
	sv->sv_accept_paused = false;
}

void
listen_pause(struct supervisor *sv, int64_t until)
{
	size_t	i;

	sv->sv_accept_resume = until;
	if (sv->sv_accept_paused)
		return;
	for (i = 0; i < sv->sv_nlisteners; i++)
		if (sv->sv_listeners[i].l_fd >= 0)
			loop_del(sv, sv->sv_listeners[i].l_fd);
	sv->sv_accept_paused = true;
}

void
listen_resume(struct supervisor *sv)
{
	size_t	i;

	if (!sv->sv_accept_paused || sv->sv_stopping)
		return;
	for (i = 0; i < sv->sv_nlisteners; i++)
		if (sv->sv_listeners[i].l_fd >= 0)
			loop_add(sv, sv->sv_listeners[i].l_fd,
			    &sv->sv_listeners[i]);
	sv->sv_accept_paused = false;
}

static void
listen_drain_close(struct supervisor *sv, struct drain *d)
{
	loop_del(sv, d->d_fd);
	close(d->d_fd);
	TAILQ_REMOVE(&sv->sv_drains, d, d_entry);
	sv->sv_ndrains--;
	free(d);
}

/* Readable: discard what came; EOF or an error ends the drain. */
void
listen_drain(struct supervisor *sv, struct drain *d)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = recv(d->d_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 && errno != ECONNRESET)
		log_debug("recv (refused connection): %s", strerror(errno));
	listen_drain_close(sv, d);
}

void
listen_drain_expired(struct supervisor *sv, int64_t now)
{
	struct drain	*d;

	while ((d = TAILQ_FIRST(&sv->sv_drains)) && d->d_deadline <= now)
		listen_drain_close(sv, d);
}

/*
 * Refuse a connection without a worker.  The 503 is written and the write
 * side shut so a FIN follows it; then what the client sends is read away
 * until it closes (or DRAIN_USEC), because close() with unread data makes
 * the kernel send a reset that can destroy the reply in flight.
 */
static void
listen_refuse(struct supervisor *sv, int fd, bool tls, const char *why)
{
	struct drain	*d;
	int64_t		 now = now_usec();

	if (sv->sv_full_logged == 0 ||
	    now - sv->sv_full_logged >= REFUSE_LOG_USEC) {
		log_warnx("refusing connections: %s", why);
		sv->sv_full_logged = now;
	}
	/* A plain-text reply means nothing to a TLS client: just close. */
	if (tls) {
		close(fd);
		return;
	}
	/* The peer may be gone already: only unexpected failures are news. */
	if (send(fd, refuse_503, sizeof(refuse_503) - 1, MSG_NOSIGNAL) < 0 ||
	    shutdown(fd, SHUT_WR) < 0) {
		if (errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN)
			log_warn("refusing a connection: send/shutdown");
		close(fd);
		return;
	}
	/* Past DRAIN_MAX drains the reply is sent but the socket closed now. */
	if (sv->sv_ndrains >= DRAIN_MAX) {
		close(fd);
		return;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("calloc");
		close(fd);
		return;
	}
	d->d_evtype = EV_DRAIN;
	d->d_fd = fd;
	d->d_deadline = now + DRAIN_USEC;
	TAILQ_INSERT_TAIL(&sv->sv_drains, d, d_entry);
	sv->sv_ndrains++;
	loop_add(sv, fd, d);
}

static void
listen_peer(const struct sockaddr_storage *ss, socklen_t len, char *buf,
    size_t buflen)
{
	if (len == 0 || ss->ss_family == AF_UNIX)
		snprintf(buf, buflen, "unix");
	else
		listen_addr_text(ss, buf, buflen);
}

void
listen_accept(struct supervisor *sv, struct listener *l)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	char			peer[64];
	int			fd, n;

	for (n = 0; n < ACCEPT_BURST; n++) {
		len = sizeof(ss);
		fd = accept4(l->l_fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			log_warn("accept4 %s", l->l_spec->text);
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				listen_pause(sv, now_usec() + 1000000);
			return;
		}
		/* Events are small and must not wait for the last one's ACK. */
		if (ss.ss_family != AF_UNIX && setsockopt(fd, IPPROTO_TCP,
		    TCP_NODELAY, &(int){ 1 }, sizeof(int)) < 0)
			log_warn("setsockopt TCP_NODELAY");
		listen_peer(&ss, len, peer, sizeof(peer));
		if (sv->sv_nconns >= sv->sv_cfg->max_sessions) {
			sv->sv_metrics.m_refused[REFUSED_MAX_SESSIONS]++;
			listen_refuse(sv, fd, l->l_spec->tls,
			    "--max-sessions reached");
			continue;
		}
		if (child_handoff(sv, fd, peer, l->l_spec->tls) < 0) {
			sv->sv_metrics.m_refused[REFUSED_FORK]++;
			listen_refuse(sv, fd, l->l_spec->tls,
			    "cannot fork a worker");
		}
	}
}
