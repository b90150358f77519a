/*
 * claim.c - learning the session id, claiming it, and the control socket.
 *
 * The id comes from ?session=ID at once, or from the first message: a
 * hello, a run (a random id is made), or a bare text that is a valid id.
 * Claiming stops reading the client until the supervisor grants the id,
 * so nothing of the new session runs before every process of the old
 * one is gone; `ready` is then the first event the client sees.
 *
 * Control messages (an fd to serve, grant, deny, go) are accepted only in
 * the states msg_allowed() lists; anything else means the supervisor and
 * this worker disagree about the world, and the worker leaves.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "worker.h"

#define URLARG_MAX	4096	/* a longer value would read as "absent" */

void
claim_title(struct wk *k)
{
	const char	*c = k->k_client[0] ? " client=" : "";

	if (k->k_have_id)
		setproctitle("worker session=%s peer=%s%s%s", k->k_session,
		    k->k_peer, c, k->k_client);
	else
		setproctitle("worker peer=%s%s%s", k->k_peer, c, k->k_client);
}

/* Is the connection's peer one of --trusted-proxy? */
static bool
claim_peer_trusted(struct wk *k, int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	size_t			i;

	if (k->k_cfg->ntrusted == 0)
		return false;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		log_warn("getpeername");
		return false;
	}
	if (len < sizeof(sa_family_t))	/* an unnamed unix peer */
		ss.ss_family = AF_UNIX;
	for (i = 0; i < k->k_cfg->ntrusted; i++)
		if (cidr_match_sockaddr(&k->k_cfg->trusted[i],
		    (struct sockaddr *)&ss))
			return true;
	return false;
}

/*
 * While the claim waits (for an old session to drain, up to the kill
 * grace and more) the client is not read, so its pongs are not seen: the
 * wait is ours, and must not count against the client's --ping-timeout.
 */
static void
claim_keep_alive(lws_sorted_usec_list_t *sul)
{
	struct wk *k = lws_container_of(sul, struct wk, k_sul_alive);

	if (k->k_state != WS_CLAIMING || k->k_conn == NULL)
		return;
	lws_validity_confirmed(k->k_conn);
	lws_sul_schedule(k->k_ctx, 0, &k->k_sul_alive, claim_keep_alive,
	    (lws_usec_t)k->k_cfg->ping_interval * LWS_US_PER_SEC);
}

/* With basic auth the supervisor's key is user/id: users never meet. */
static void
claim_start(struct wk *k, const char *id, size_t len)
{
	char	err[128], key[SESSION_KEY_MAX + 1];
	int	n;

	memcpy(k->k_session, id, len);
	k->k_session[len] = '\0';
	k->k_have_id = true;
	k->k_state = WS_CLAIMING;
	conn_rx_update(k);
	claim_title(k);
	if (k->k_user[0])
		n = snprintf(key, sizeof(key), "%s/%s", k->k_user, k->k_session);
	else
		n = snprintf(key, sizeof(key), "%s", k->k_session);
	if (msg_send(CTL_FD, MSG_CLAIM, 0, key, (size_t)n, -1, err,
	    sizeof(err)) < 0) {
		log_warnx("%s", err);
		worker_go(k, GO_SHUTDOWN);
		return;
	}
	lws_sul_schedule(k->k_ctx, 0, &k->k_sul_alive, claim_keep_alive,
	    (lws_usec_t)k->k_cfg->ping_interval * LWS_US_PER_SEC);
}

static void
claim_bad_session(struct wk *k, const char *why)
{
	event_error(k, "bad_session", NULL, "%s", why);
	conn_close(k, LWS_CLOSE_STATUS_POLICY_VIOLATION, "bad session id");
	k->k_state = WS_GOING;
}

void
claim_from_query(struct wk *k, struct lws *wsi)
{
	char		 buf[URLARG_MAX];
	const char	*id;

	id = lws_get_urlarg_by_name(wsi, "session=", buf, sizeof(buf));
	if (id == NULL)
		return;		/* from the first message, then */
	if (!session_id_valid(id, strlen(id))) {
		claim_bad_session(k, "session id must be 1 to 128 characters "
		    "of A-Z a-z 0-9 . _ : -");
		return;
	}
	claim_start(k, id, strlen(id));
}

/* Keeps the first run for after the grant; -1 when out of memory. */
static int
claim_hold(struct wk *k, const char *text, size_t len)
{
	free(k->k_held);
	if ((k->k_held = malloc(len + 1)) == NULL) {
		log_warn("malloc");
		k->k_heldlen = 0;
		return -1;
	}
	memcpy(k->k_held, text, len);
	k->k_held[len] = '\0';
	k->k_heldlen = len;
	return 0;
}

static void
claim_hello(struct wk *k, const cJSON *msg)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(msg, "session");

	if (!cJSON_IsString(id) ||
	    !session_id_valid(id->valuestring, strlen(id->valuestring))) {
		claim_bad_session(k, "hello needs \"session\": 1 to 128 "
		    "characters of A-Z a-z 0-9 . _ : -");
		return;
	}
	claim_start(k, id->valuestring, strlen(id->valuestring));
}

static void
claim_random(struct wk *k, const char *text, size_t len)
{
	char	id[SESSION_ID_RANDOM_LEN + 1];

	/* Granting a session whose run was lost would be a silent loss. */
	if (claim_hold(k, text, len) < 0) {
		conn_close(k, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
		    "server out of memory");
		return;
	}
	session_id_random(id);
	claim_start(k, id, SESSION_ID_RANDOM_LEN);
}

/*
 * The first message of a connection without ?session=.  JSON objects and
 * arrays are requests; any other text must be a session id by itself.
 */
void
claim_first_message(struct wk *k, const char *text, size_t len)
{
	const cJSON	*type;
	const char	*why;
	cJSON		*msg;
	size_t		 i = 0;

	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (i == len || (text[i] != '{' && text[i] != '[')) {
		if (session_id_valid(text, len))
			claim_start(k, text, len);
		else
			claim_bad_session(k, "first message is neither a "
			    "session id, a hello nor a run");
		return;
	}
	if ((msg = json_parse(text, len, &why)) == NULL) {
		event_error(k, "bad_json", NULL, "%s", why);
		return;
	}
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (cJSON_IsArray(msg) || (cJSON_IsString(type) &&
	    !strcmp(type->valuestring, "run")))
		claim_random(k, text, len);
	else if (cJSON_IsString(type) && !strcmp(type->valuestring, "hello"))
		claim_hello(k, msg);
	else
		request_handle(k, text, len);	/* errors, or a no-op cancel */
	cJSON_Delete(msg);
}

static void
claim_granted(struct wk *k, bool superseded)
{
	log_debug("event=granted session=%s superseded=%d", k->k_session,
	    superseded);
	k->k_state = WS_GRANTED;
	lws_sul_cancel(&k->k_sul_alive);
	event_ready(k, superseded);
	conn_rx_update(k);
	if (k->k_conn)		/* the wait was ours, not the client's */
		lws_validity_confirmed(k->k_conn);
	if (k->k_held) {
		char	*held = k->k_held;

		k->k_held = NULL;
		request_handle(k, held, k->k_heldlen);
		free(held);
	}
}

static void
claim_handshake_timeout(lws_sorted_usec_list_t *sul)
{
	struct wk *k = lws_container_of(sul, struct wk, k_sul_handshake);

	if (k->k_conn == NULL || k->k_ws)
		return;
	log_info("event=handshake-timeout peer=%s secs=%u", k->k_peer,
	    k->k_cfg->handshake_timeout);
	lws_set_timeout(k->k_conn, PENDING_TIMEOUT_HTTP_CONTENT,
	    LWS_TO_KILL_ASYNC);
}

static void
claim_fd(struct wk *k, int fd, bool tls, const char *peer)
{
	struct lws_vhost	*vh = tls ? k->k_vh_tls : k->k_vh;

	strlcpy(k->k_peer, peer, sizeof(k->k_peer));
	k->k_state = WS_CONNECTED;
	k->k_peer_trusted = claim_peer_trusted(k, fd);
	claim_title(k);
	if (vh == NULL) {
		log_warnx("a TLS connection but no TLS vhost");
		close(fd);
		worker_go(k, GO_CLOSED);
		return;
	}
	/* lws closes the fd itself when adoption fails. */
	if ((k->k_conn = lws_adopt_socket_vhost(vh, fd)) == NULL) {
		log_warnx("lws_adopt_socket_vhost failed peer=%s", peer);
		worker_go(k, GO_CLOSED);
		return;
	}
	/* Not upgraded in time: a slow or idle socket must not hold a worker. */
	lws_sul_schedule(k->k_ctx, 0, &k->k_sul_handshake,
	    claim_handshake_timeout,
	    (lws_usec_t)k->k_cfg->handshake_timeout * LWS_US_PER_SEC);
}

/* The answer to the supervisor's MSG_QUERY (SIGUSR1). */
static void
claim_status(struct wk *k)
{
	const struct batch	*b = k->k_cur;
	char			 text[MSG_DATA_MAX], err[128];
	int			 n;

	n = snprintf(text, sizeof(text), "batch=%.64s running=%zu queued=%zu "
	    "done=%zu cancelling=%s waiting=%.64s", b ? b->b_lname : "-",
	    b ? b->b_running : 0, b ? b->b_ntasks - b->b_next : 0,
	    b ? b->b_finished : 0, b && b->b_cancelling ? "yes" : "no",
	    k->k_next ? k->k_next->b_lname : "-");
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	if (msg_send(CTL_FD, MSG_STATUS, 0, text, (size_t)n, -1, err,
	    sizeof(err)) < 0)
		log_warnx("%s", err);
}

static void
claim_dispatch(struct wk *k, struct msg *m, int fd)
{
	if (!msg_allowed(m->type, k->k_state, true)) {
		log_warnx("event=protocol-violation state=%s message=%s",
		    wstate_name(k->k_state), msg_type_name(m->type));
		if (fd >= 0)
			close(fd);
		worker_go(k, GO_SHUTDOWN);
		return;
	}
	switch (m->type) {
	case MSG_FD:
		if (fd < 0) {
			log_warnx("fd message without a descriptor");
			worker_go(k, GO_SHUTDOWN);
			return;
		}
		claim_fd(k, fd, m->arg != 0, m->data);
		break;
	case MSG_GRANT:
		claim_granted(k, m->arg != 0);
		break;
	case MSG_DENY:
		event_error(k, "unavailable", NULL,
		    "the server is shutting down");
		worker_go(k, GO_SHUTDOWN);
		break;
	case MSG_GO:
		/* The stop overtook our claim: say so as its denial would. */
		if (m->arg == REASON_SHUTDOWN && k->k_state == WS_CLAIMING)
			event_error(k, "unavailable", NULL,
			    "the server is shutting down");
		worker_go(k, m->arg == REASON_SUPERSEDED ? GO_SUPERSEDED :
		    GO_SHUTDOWN);
		break;
	case MSG_QUERY:
		claim_status(k);
		break;
	default:
		break;
	}
}

/*
 * Reads every queued control message.  Returns -1 at EOF: the supervisor
 * is gone, so the worker cancels everything and leaves (and the control
 * socket's wsi is closed, or EOF would be reported forever).
 */
int
claim_control(struct wk *k)
{
	struct msg	m;
	char		err[128];
	int		rc, fd;

	for (;;) {
		fd = -1;
		rc = msg_recv(CTL_FD, &m, &fd, err, sizeof(err));
		if (rc == 0 || (rc < 0 && errno == ECONNRESET)) {
			log_debug("event=supervisor-gone session=%s",
			    k->k_session);
			worker_go(k, GO_SHUTDOWN);
			return -1;
		}
		if (rc < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			log_warnx("control socket: %s", err);
			worker_go(k, GO_SHUTDOWN);
			return 0;
		}
		claim_dispatch(k, &m, fd);
	}
}
