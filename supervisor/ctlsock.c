/*
 * ctlsock.c - the --control socket that wstaskctl(8) talks to (SPEC 9.2).
 *
 * Only the supervisor serves it, from its event loop, and no client can
 * make it wait: sockets are non-blocking, a request is at most
 * CTLSOCK_LINE_MAX bytes in a per-client buffer, a client has
 * CTLSOCK_TIMEOUT_MS from connecting to reading its whole answer, and at
 * most CTLSOCK_CLIENTS_MAX are served at once (the listener leaves the
 * epoll set while full, so more wait in the kernel's backlog).  The
 * protocol is in common/ctlsock.h: one line in, "ok" or "error: WHY"
 * (and for status a line of JSON) out, then EOF.
 *
 * The socket is made before the privilege drop, mode 0600: only the user
 * who started wstaskd (root, typically) may connect.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "ctlsock.h"
#include "log.h"
#include "supervisor.h"
#include "util.h"

#ifndef WSTASKD_VERSION
#define WSTASKD_VERSION "0.0.0"
#endif

void
ctlsock_open(struct supervisor *sv)
{
	const char		*path = sv->sv_cfg->control;
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	sv->sv_ctlfd = -1;
	TAILQ_INIT(&sv->sv_ctlclients);
	if (path == NULL)
		return;
	listen_unix_stale(path, "--control");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		fatal("--control: socket");
	/* 0600 from its birth: no moment in which others could connect. */
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("--control %s: bind", path);
	umask(old);
	if (chmod(path, 0600) < 0)
		fatal("--control %s: chmod", path);
	if (listen(fd, CTLSOCK_CLIENTS_MAX) < 0)
		fatal("--control %s: listen", path);
	sv->sv_ctlfd = fd;
	sv->sv_ctltag = EV_CTLSOCK;
	log_info("event=control path=%s", path);
}

/* After loop_init(): the socket joins the epoll set. */
void
ctlsock_start(struct supervisor *sv)
{
	if (sv->sv_ctlfd >= 0)
		loop_add(sv, sv->sv_ctlfd, &sv->sv_ctltag);
}

static void
ctlsock_drop(struct supervisor *sv, struct ctlclient *c)
{
	loop_del(sv, c->c_fd);
	close(c->c_fd);
	TAILQ_REMOVE(&sv->sv_ctlclients, c, c_entry);
	sv->sv_nctlclients--;
	free(c->c_out);
	free(c);
	if (sv->sv_ctl_paused && sv->sv_ctlfd >= 0) {
		loop_add(sv, sv->sv_ctlfd, &sv->sv_ctltag);
		sv->sv_ctl_paused = false;
	}
}

/* On stop: no more commands; clients being served are dropped. */
void
ctlsock_close(struct supervisor *sv)
{
	struct ctlclient	*c;

	if (sv->sv_ctlfd < 0)
		return;
	while ((c = TAILQ_FIRST(&sv->sv_ctlclients)) != NULL)
		ctlsock_drop(sv, c);
	if (!sv->sv_ctl_paused)
		loop_del(sv, sv->sv_ctlfd);
	close(sv->sv_ctlfd);
	sv->sv_ctlfd = -1;
	sv->sv_ctl_paused = false;
	/* After --user, root's directory: the next start cleans up. */
	if (unlink(sv->sv_cfg->control) < 0 && errno != EACCES &&
	    errno != EPERM)
		log_warn("unlink %s", sv->sv_cfg->control);
}

void
ctlsock_accept(struct supervisor *sv)
{
	struct ctlclient	*c;
	int			 fd;

	while (sv->sv_nctlclients < CTLSOCK_CLIENTS_MAX) {
		fd = accept4(sv->sv_ctlfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept4 --control");
			return;
		}
		if ((c = calloc(1, sizeof(*c) + CTLSOCK_LINE_MAX)) == NULL) {
			log_warn("calloc");
			close(fd);
			return;
		}
		c->c_evtype = EV_CTLCLIENT;
		c->c_fd = fd;
		c->c_deadline = now_usec() + CTLSOCK_TIMEOUT_MS * 1000LL;
		TAILQ_INSERT_TAIL(&sv->sv_ctlclients, c, c_entry);
		sv->sv_nctlclients++;
		loop_add(sv, fd, c);
	}
	/* Full: the rest wait in the backlog until a client is done. */
	loop_del(sv, sv->sv_ctlfd);
	sv->sv_ctl_paused = true;
}

int64_t
ctlsock_deadline(const struct supervisor *sv)
{
	const struct ctlclient	*c = TAILQ_FIRST(&sv->sv_ctlclients);

	return c ? c->c_deadline : 0;
}

void
ctlsock_expired(struct supervisor *sv, int64_t now)
{
	struct ctlclient	*c;

	while ((c = TAILQ_FIRST(&sv->sv_ctlclients)) && c->c_deadline <= now) {
		log_info("event=control-timeout");
		ctlsock_drop(sv, c);
	}
}

static cJSON *
ctlsock_worker_json(const struct worker *w, int64_t now_mono, time_t now)
{
	cJSON		*o;
	const char	*slash = strchr(w->w_id, '/');
	char		 user[SESSION_KEY_MAX + 1] = "";

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	if (slash)
		snprintf(user, sizeof(user), "%.*s", (int)(slash - w->w_id),
		    w->w_id);
	if (!cJSON_AddNumberToObject(o, "pid", w->w_pid) ||
	    !cJSON_AddStringToObject(o, "state", report_wstate(w)) ||
	    !cJSON_AddStringToObject(o, "session", slash ? slash + 1 :
	    w->w_id) ||
	    !cJSON_AddStringToObject(o, "peer", w->w_peer) ||
	    !cJSON_AddStringToObject(o, "user", user) ||
	    !cJSON_AddNumberToObject(o, "since", (double)(now -
	    (now_mono - w->w_start) / 1000000)) ||
	    !cJSON_AddNumberToObject(o, "tasks", w->w_ntasks)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* "ok\n" and the status as one line of JSON; NULL without memory. */
static char *
ctlsock_status(struct supervisor *sv)
{
	cJSON		*st, *ws, *o;
	struct worker	*w;
	int64_t		 mono = now_usec();
	time_t		 now = time(NULL);
	char		*json, *out = NULL;

	if ((st = cJSON_CreateObject()) == NULL)
		return NULL;
	if (!cJSON_AddStringToObject(st, "version", WSTASKD_VERSION) ||
	    !cJSON_AddNumberToObject(st, "pid", sv->sv_pid) ||
	    !cJSON_AddNumberToObject(st, "uptime", (double)(now -
	    sv->sv_start_real / 1000000)) ||
	    !cJSON_AddNumberToObject(st, "sessions", report_sessions(sv)) ||
	    !cJSON_AddNumberToObject(st, "tasks_running",
	    report_tasks_running(sv)) ||
	    !cJSON_AddBoolToObject(st, "draining", sv->sv_draining) ||
	    (ws = cJSON_AddArrayToObject(st, "workers")) == NULL)
		goto out;
	RB_FOREACH(w, worker_tree, &sv->sv_workers) {
		if ((o = ctlsock_worker_json(w, mono, now)) == NULL)
			goto out;
		cJSON_AddItemToArray(ws, o);
	}
	if ((json = cJSON_PrintUnformatted(st)) == NULL)
		goto out;
	if (asprintf(&out, "ok\n%s\n", json) < 0)
		out = NULL;
	free(json);
out:
	cJSON_Delete(st);
	return out;
}

/* The answer to one request line (NUL-terminated, no newline). */
static char *
ctlsock_command(struct supervisor *sv, const char *line)
{
	const char	*arg = strchr(line, ' ');
	char		*out, lline[LOG_ESC_SIZE(64)];

	log_info("event=control command=%s", log_esc(lline, sizeof(lline),
	    line, false));
	if (!strcmp(line, "status"))
		return ctlsock_status(sv);
	if (!strcmp(line, "drain") || !strcmp(line, "resume")) {
		loop_drain(sv, line[0] == 'd');
		return strdup("ok\n");
	}
	if (!strcmp(line, "reload")) {
		loop_reload(sv);
		return strdup("ok\n");
	}
	if (!strncmp(line, "kill ", 5) && arg && arg[1]) {
		if (session_kill(sv, arg + 1) == 0)
			return strdup("error: no such session\n");
		return strdup("ok\n");
	}
	if (asprintf(&out, "error: unknown command\n") < 0)
		return NULL;
	return out;
}

/* Sends what the socket takes; true once all is sent. */
static bool
ctlsock_flush(struct supervisor *sv, struct ctlclient *c)
{
	ssize_t	n;

	while (c->c_outoff < c->c_outlen) {
		n = send(c->c_fd, c->c_out + c->c_outoff, c->c_outlen -
		    c->c_outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				loop_mod(sv, c->c_fd, c, EPOLLOUT);
				return false;
			}
			log_debug("send (control client): %s", strerror(errno));
			return true;
		}
		c->c_outoff += (size_t)n;
	}
	return true;
}

static void
ctlsock_answer(struct supervisor *sv, struct ctlclient *c)
{
	char	*nl = memchr(c->c_buf, '\n', c->c_len);

	*nl = '\0';
	if ((c->c_out = ctlsock_command(sv, c->c_buf)) == NULL) {
		log_warn("control answer");
		c->c_out = strdup("error: out of memory\n");
	}
	c->c_outlen = c->c_out ? strlen(c->c_out) : 0;
	if (ctlsock_flush(sv, c))
		ctlsock_drop(sv, c);
}

/* Reads the request; answers once its line is whole. */
static void
ctlsock_read(struct supervisor *sv, struct ctlclient *c)
{
	ssize_t	n;

	n = recv(c->c_fd, c->c_buf + c->c_len, CTLSOCK_LINE_MAX - c->c_len,
	    MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctlsock_drop(sv, c);
		return;
	}
	c->c_len += (size_t)n;
	if (memchr(c->c_buf, '\n', c->c_len) != NULL) {
		ctlsock_answer(sv, c);
		return;
	}
	if (c->c_len == CTLSOCK_LINE_MAX) {
		log_info("event=control-refused: request line too long");
		ctlsock_drop(sv, c);
	}
}

void
ctlsock_io(struct supervisor *sv, struct ctlclient *c, uint32_t events)
{
	if (c->c_out == NULL) {
		ctlsock_read(sv, c);
		return;
	}
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && ctlsock_flush(sv, c))
		ctlsock_drop(sv, c);
}
