/*
 * conn.c - the one libwebsockets client connection of wstask.
 *
 * Owns the lws context, the WebSocket (or, for --list and --describe, the
 * HTTP GET) to the -u URL, message assembly, the small queue of messages to
 * send (the run, perhaps a cancel) and the loop's timers.  It hands whole
 * messages and the connection's fate to run.c (http.c for a GET) and
 * decides nothing itself.  wstask offers the subprotocol wstask.v1, which
 * wstaskd always selects: a server that does not is not wstaskd.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"

#define RX_MAX		(64u << 20)	/* far above a result's --max-output */
#define CONNECT_SECS	10		/* connect, TLS and upgrade */
#define TICK_USEC	(100 * LWS_US_PER_MS)

static int
conn_fail_early(struct wstask *w, const char *why)
{
	snprintf(w->w_why, sizeof(w->w_why), "%s", why);
	return -1;
}

/* Basic auth on the upgrade (or GET) request. */
static int
conn_auth(struct wstask *w, struct lws *wsi, void *in, size_t len)
{
	unsigned char	**p = in, *end = *p + len;
	char		  b64[512], hdr[600];
	int		  n;

	if (w->w_url.u_auth == NULL)
		return 0;
	n = lws_b64_encode_string(w->w_url.u_auth, (int)strlen(w->w_url.u_auth),
	    b64, (int)sizeof(b64));
	if (n < 0)
		return conn_fail_early(w, "user and password are too long");
	n = snprintf(hdr, sizeof(hdr), "Basic %s", b64);
	explicit_bzero(b64, sizeof(b64));
	if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
	    (unsigned char *)hdr, n, p, end))
		n = -1;
	explicit_bzero(hdr, sizeof(hdr));
	return n < 0 ? conn_fail_early(w, "no room for the auth header") : 0;
}

/* The upgrade's answer names wstask.v1, or this is not wstaskd. */
static int
conn_check_protocol(struct wstask *w, struct lws *wsi)
{
	char	proto[64];

	if (w->w_list)		/* a GET passes here too */
		return 0;
	if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) > 0 &&
	    strcmp(proto, WS_SUBPROTOCOL) == 0)
		return 0;
	return conn_fail_early(w, "not a wstaskd server: the upgrade did "
	    "not select the " WS_SUBPROTOCOL " subprotocol");
}

static int
conn_receive(struct wstask *w, struct lws *wsi, const void *in, size_t len)
{
	size_t	 cap = w->w_rxcap ? w->w_rxcap : 65536;
	char	*nb;

	if (w->w_rxlen + len + 1 > RX_MAX) {
		run_conn_failed(w, "a message over 64 MiB from the server");
		return -1;
	}
	while (cap < w->w_rxlen + len + 1)
		cap *= 2;
	if (cap != w->w_rxcap) {
		if ((nb = realloc(w->w_rx, cap)) == NULL) {
			log_warn("realloc");
			run_conn_failed(w, "out of memory");
			return -1;
		}
		w->w_rx = nb;
		w->w_rxcap = cap;
	}
	memcpy(w->w_rx + w->w_rxlen, in, len);
	w->w_rxlen += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	w->w_rx[w->w_rxlen] = '\0';
	w->w_rxlen = 0;
	if (lws_frame_is_binary(wsi)) {
		run_conn_failed(w, "not a wstaskd server: a binary message");
		return -1;
	}
	run_message(w, w->w_rx, strlen(w->w_rx));
	return 0;
}

static int
conn_writeable(struct wstask *w, struct lws *wsi)
{
	struct outmsg	*m = w->w_qhead;

	if (m == NULL && w->w_close_queued) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
		return -1;
	}
	if (m == NULL)
		return 0;
	if (lws_write(wsi, m->o_buf + LWS_PRE, m->o_len, LWS_WRITE_TEXT) <
	    (int)m->o_len) {
		run_conn_failed(w, "cannot send to the server");
		return -1;
	}
	w->w_qhead = m->o_next;
	if (w->w_qhead == NULL)
		w->w_qtail = &w->w_qhead;
	free(m);
	if (w->w_qhead || w->w_close_queued)
		lws_callback_on_writable(wsi);
	return 0;
}

static void
conn_peer_close(struct wstask *w, const unsigned char *in, size_t len)
{
	size_t	n;

	w->w_peer_close = 1005;		/* a close without a code */
	if (len < 2)
		return;
	w->w_peer_close = in[0] << 8 | in[1];
	n = len - 2 < sizeof(w->w_peer_reason) - 1 ? len - 2 :
	    sizeof(w->w_peer_reason) - 1;
	memcpy(w->w_peer_reason, in + 2, n);
	w->w_peer_reason[n] = '\0';
}

static int
conn_http_body(struct wstask *w, const void *in, size_t len)
{
	char	*nb;

	if (w->w_bodylen + len > RX_MAX ||
	    (nb = realloc(w->w_body, w->w_bodylen + len + 1)) == NULL) {
		run_conn_failed(w, "the reply is too large");
		return -1;
	}
	memcpy(nb + w->w_bodylen, in, len);
	w->w_body = nb;
	w->w_bodylen += len;
	w->w_body[w->w_bodylen] = '\0';
	return 0;
}

static int
conn_http_read(struct lws *wsi)
{
	char	 buf[LWS_PRE + 4096], *p = buf + LWS_PRE;
	int	 n = (int)sizeof(buf) - LWS_PRE;

	return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
}

/* Why the connection failed, as lws says it, or as we found it. */
static void
conn_error(struct wstask *w, struct lws *wsi, const char *in)
{
	unsigned int	st = lws_http_client_http_response(wsi);
	char		why[200];

	w->w_wsi = NULL;
	if (*w->w_why)
		run_conn_failed(w, w->w_why);
	else if (st && st != 101) {
		snprintf(why, sizeof(why), "the server refused the upgrade: "
		    "HTTP %u%s", st, st == 401 ? " (a user and password are "
		    "needed: WSTASK_AUTH or the URL)" : st == 403 ?
		    " (forbidden)" : "");
		run_conn_failed(w, why);
	} else if (w->w_url.u_tls && in && (strstr(in, "SSL") ||
	    strstr(in, "ssl") || strstr(in, "tls"))) {
		snprintf(why, sizeof(why), "TLS failed (a server without "
		    "TLS, or a certificate not trusted: SSL_CERT_FILE can "
		    "name its CA): %s", in);
		run_conn_failed(w, why);
	} else
		run_conn_failed(w, in && *in ? in : "connection failed");
}

static int
conn_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct wstask	*w = lws_context_user(lws_get_context(wsi));

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return conn_auth(w, wsi, in, len);
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		w->w_http_status = (int)lws_http_client_http_response(wsi);
		break;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		return conn_check_protocol(w, wsi);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		run_open(w);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return conn_receive(w, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return conn_writeable(w, wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		conn_peer_close(w, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		conn_error(w, wsi, in);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		w->w_wsi = NULL;
		run_closed(w);
		break;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		return conn_http_read(wsi);
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		return conn_http_body(w, in, len);
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		http_reply(w);
		return -1;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		w->w_wsi = NULL;
		run_conn_failed(w, *w->w_why ? w->w_why :
		    "the server closed the connection");
		break;
	default:
		break;
	}
	return 0;
}

/* SIGINT, SIGTERM and SIGWINCH arrive here, through the loop. */
static int
conn_signal_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct wstask		*w = lws_context_user(lws_get_context(wsi));
	struct signalfd_siginfo	 si;
	ssize_t			 n;

	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	while ((n = read(lws_get_socket_fd(wsi), &si, sizeof(si))) ==
	    (ssize_t)sizeof(si))
		run_signal(w, (int)si.ssi_signo);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_warn("read signalfd");
	return 0;
}

static const struct lws_protocols conn_protocols[] = {
	{ "wstask", conn_cb, 0, 65536, 0, NULL, 0 },
	{ "wstask-signal", conn_signal_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
conn_tick(lws_sorted_usec_list_t *sul)
{
	struct wstask	*w = lws_container_of(sul, struct wstask, w_sul_tick);

	view_tick(&w->w_view);
	if (view_live(&w->w_view))
		lws_sul_schedule(w->w_ctx, 0, &w->w_sul_tick, conn_tick,
		    TICK_USEC);
}

static void
conn_deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct wstask	*w = lws_container_of(sul, struct wstask,
	    w_sul_deadline);

	run_deadline(w);
}

/* From now on, run_deadline() in secs unless called again first. */
void
conn_deadline(struct wstask *w, int secs)
{
	lws_sul_schedule(w->w_ctx, 0, &w->w_sul_deadline, conn_deadline_cb,
	    (lws_usec_t)secs * LWS_US_PER_SEC);
}

/* The signals wstask handles, blocked and read from a signalfd. */
static int
conn_signals(struct wstask *w)
{
	lws_sock_file_fd_type	fd;
	sigset_t		set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		log_warn("sigprocmask");
		return -1;
	}
	if ((fd.filefd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_warn("signalfd");
		return -1;
	}
	if (lws_adopt_descriptor_vhost(w->w_vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	    "wstask-signal", NULL) == NULL) {
		/* lws closed the fd itself */
		log_warnx("lws_adopt_descriptor_vhost failed for the signalfd");
		return -1;
	}
	return 0;
}

int
conn_init(struct wstask *w)
{
	struct lws_context_creation_info info;
	const char	*dbg = getenv("WSTASK_DEBUG");

	lws_set_log_level(dbg ? atoi(dbg) : 0, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = conn_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	    LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = 16;
	info.max_http_header_pool = 1;
	info.timeout_secs = CONNECT_SECS;
	info.user = w;
	info.vhost_name = "wstask";
	if ((w->w_ctx = lws_create_context(&info)) == NULL) {
		log_warnx("lws_create_context failed");
		return -1;
	}
	if ((w->w_vh = lws_create_vhost(w->w_ctx, &info)) == NULL) {
		log_warnx("lws_create_vhost failed");
		return -1;
	}
	w->w_qtail = &w->w_qhead;
	if (conn_signals(w))
		return -1;
	/* lws pings a silent server and gives up on one that never answers */
	w->w_retry.secs_since_valid_ping = 30;
	w->w_retry.secs_since_valid_hangup = 60;
	lws_sul_schedule(w->w_ctx, 0, &w->w_sul_tick, conn_tick, TICK_USEC);
	return 0;
}

/* The WebSocket (http_path NULL) or a GET of http_path, to the URL's host. */
int
conn_open(struct wstask *w, const char *http_path)
{
	struct lws_client_connect_info	 i;
	char				 addr[300];

	memset(&i, 0, sizeof(i));
	i.context = w->w_ctx;
	i.vhost = w->w_vh;
	if (w->w_url.u_unix)
		snprintf(addr, sizeof(addr), "+%s", w->w_url.u_unix);
	else
		snprintf(addr, sizeof(addr), "%s", w->w_url.u_host);
	i.address = addr;
	i.port = w->w_url.u_unix ? 0 : w->w_url.u_port;
	i.host = w->w_url.u_hosthdr;
	i.path = http_path ? http_path : w->w_url.u_path;
	i.method = http_path ? "GET" : NULL;
	i.protocol = http_path ? NULL : WS_SUBPROTOCOL;
	i.local_protocol_name = "wstask";
	i.alpn = "http/1.1";
	i.retry_and_idle_policy = &w->w_retry;
	i.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT |
	    (w->w_url.u_tls ? LCCSCF_USE_SSL : 0);
	i.pwsi = &w->w_wsi;
	if (lws_client_connect_via_info(&i) == NULL && w->w_phase !=
	    PH_FINISHED) {
		run_conn_failed(w, *w->w_why ? w->w_why :
		    "cannot start the connection");
		return -1;
	}
	return 0;
}

int
conn_send(struct wstask *w, const cJSON *msg)
{
	struct outmsg	*m;
	char		*s;
	size_t		 len;

	if ((s = cJSON_PrintUnformatted(msg)) == NULL) {
		log_warnx("cJSON_PrintUnformatted: out of memory");
		return -1;
	}
	len = strlen(s);
	if ((m = malloc(sizeof(*m) + LWS_PRE + len)) == NULL) {
		log_warn("malloc");
		free(s);
		return -1;
	}
	memcpy(m->o_buf + LWS_PRE, s, len);
	free(s);
	m->o_len = len;
	m->o_next = NULL;
	*w->w_qtail = m;
	w->w_qtail = &m->o_next;
	if (w->w_wsi)
		lws_callback_on_writable(w->w_wsi);
	return 0;
}

/* A normal close (1000) after whatever is queued. */
void
conn_close(struct wstask *w)
{
	w->w_close_queued = true;
	if (w->w_wsi)
		lws_callback_on_writable(w->w_wsi);
}

void
conn_done(struct wstask *w)
{
	struct outmsg	*m;

	if (w->w_ctx) {
		lws_sul_cancel(&w->w_sul_tick);
		lws_sul_cancel(&w->w_sul_deadline);
		lws_context_destroy(w->w_ctx);
		w->w_ctx = NULL;
	}
	while ((m = w->w_qhead) != NULL) {
		w->w_qhead = m->o_next;
		free(m);
	}
	free(w->w_rx);
	free(w->w_body);
	w->w_rx = w->w_body = NULL;
}
