/*
 * conn.c - the worker's connection: adopting the fd the supervisor
 * handed over (with the handshake timer, the trusted-proxy check and the
 * process title), receiving messages, the queue of events to send, and
 * closing with a code.
 *
 * Messages are assembled from libwebsockets' fragments up to
 * --max-message (over it: close 1009 before parsing anything).  Events
 * are queued and written in order, small ones framed together into one
 * send (conn_write_some).  While more than OUTQ_HIGH bytes wait, the
 * connection is "choked": the batch stops reading task output and
 * starting tasks, and the client is not read either, so a client that
 * does not read cannot make the worker's memory grow, whatever it sends.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "title.h"
#include "worker.h"

#define WRITE_BURST	32	/* events written per writeable callback */
#define COALESCE_MAX	(16 * 1024)	/* small events framed into one send */
#define FRAME_HDR_MAX	4	/* a text frame's header, payload < 65536 */

void
conn_title(struct wk *k)
{
	const char	*c = k->k_client[0] ? " client=" : "";

	if (k->k_have_id)
		title_set("worker session=%s peer=%s%s%s", k->k_session,
		    k->k_peer, c, k->k_client);
	else
		title_set("worker peer=%s%s%s", k->k_peer, c, k->k_client);
}

/* Is the connection's peer one of --trusted-proxy? */
static bool
conn_peer_trusted(struct wk *k, int fd)
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

static void
conn_handshake_timeout(lws_sorted_usec_list_t *sul)
{
	struct wk *k = lws_container_of(sul, struct wk, k_sul_handshake);

	if (k->k_conn == NULL || k->k_ws)
		return;
	log_info("event=handshake-timeout peer=%s secs=%u", k->k_peer,
	    k->k_cfg->handshake_timeout);
	lws_set_timeout(k->k_conn, PENDING_TIMEOUT_HTTP_CONTENT,
	    LWS_TO_KILL_ASYNC);
}

/* The connection the supervisor handed over (MSG_FD) joins our loop. */
void
conn_adopt(struct wk *k, int fd, bool tls, const char *peer)
{
	struct lws_vhost	*vh = tls ? k->k_vh_tls : k->k_vh;

	strlcpy(k->k_peer, peer, sizeof(k->k_peer));
	k->k_state = WS_CONNECTED;
	k->k_peer_trusted = conn_peer_trusted(k, fd);
	conn_title(k);
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
	    conn_handshake_timeout,
	    (lws_usec_t)k->k_cfg->handshake_timeout * LWS_US_PER_SEC);
}

int
conn_established(struct wk *k, struct lws *wsi)
{
	lws_sul_cancel(&k->k_sul_handshake);
	k->k_ws = true;
	k->k_state = WS_CONNECTED;
	claim_from_query(k, wsi);
	return 0;
}

/*
 * Whether to read the client: not while claiming (its messages wait in
 * the socket until the grant) and not while choked (a client that does
 * not read must not make us queue ever more answers); always while
 * leaving, since the close handshake needs reading.
 */
void
conn_rx_update(struct wk *k)
{
	bool	on = k->k_going != GO_NONE ||
		    (k->k_state != WS_CLAIMING && !k->k_choked);

	if (k->k_conn && k->k_ws)
		lws_rx_flow_control(k->k_conn, on ? 1 : 0);
}

static int
conn_rx_append(struct wk *k, const void *in, size_t len)
{
	size_t	need = k->k_rxlen + len + 1;
	char	*p;

	if (need > k->k_rxcap) {
		size_t cap = k->k_rxcap ? k->k_rxcap : 1024;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(k->k_rx, cap)) == NULL) {
			log_warn("realloc");
			return -1;
		}
		k->k_rx = p;
		k->k_rxcap = cap;
	}
	memcpy(k->k_rx + k->k_rxlen, in, len);
	k->k_rxlen += len;
	k->k_rx[k->k_rxlen] = '\0';
	return 0;
}

/* Large receive buffers are not kept for the life of an idle session. */
static void
conn_rx_reset(struct wk *k)
{
	k->k_rxlen = 0;
	if (k->k_rxcap > 64 * 1024) {
		free(k->k_rx);
		k->k_rx = NULL;
		k->k_rxcap = 0;
	}
}

int
conn_receive(struct wk *k, struct lws *wsi, const void *in, size_t len)
{
	if (lws_is_first_fragment(wsi))
		k->k_rxlen = 0;
	if (k->k_rxlen + len > k->k_cfg->max_message) {
		log_info("event=too-big session=%s peer=%s limit=%zu",
		    k->k_session, k->k_peer, k->k_cfg->max_message);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		    (unsigned char *)"message too big", 15);
		return -1;
	}
	if (conn_rx_append(k, in, len) < 0)
		return -1;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	/* A client message is proof of life, as a pong is. */
	lws_validity_confirmed(wsi);
	if (lws_frame_is_binary(wsi))
		event_error(k, "bad_message", NULL,
		    "binary messages are not accepted: send JSON text");
	else
		request_message(k, k->k_rx, k->k_rxlen);
	conn_rx_reset(k);
	return 0;
}

static void
conn_unchoke(struct wk *k)
{
	if (!k->k_choked || k->k_qbytes > OUTQ_LOW)
		return;
	k->k_choked = false;
	log_debug("event=unchoke session=%s queued=%zu", k->k_session,
	    k->k_qbytes);
	conn_rx_update(k);
	batch_resume(k);
}

static void
conn_dequeue(struct wk *k)
{
	struct outmsg	*m = k->k_qhead;

	if ((k->k_qhead = m->q_next) == NULL)
		k->k_qtail = &k->k_qhead;
	k->k_qbytes -= m->q_len;
	free(m);
}

/* m as one final text frame at p, as a server sends it (no mask). */
static size_t
conn_frame(unsigned char *p, const struct outmsg *m)
{
	size_t	h = 2;

	p[0] = 0x81;
	if (m->q_len < 126)
		p[1] = (unsigned char)m->q_len;
	else {
		p[1] = 126;
		p[2] = (unsigned char)(m->q_len >> 8);
		p[3] = (unsigned char)m->q_len;
		h = 4;
	}
	memcpy(p + h, m->q_buf + LWS_PRE, m->q_len);
	return h + m->q_len;
}

/*
 * Writes the head event, or the small ones in a row from it: lws_write
 * sends each frame by itself, a send and a wakeup of the client each,
 * so several are framed here, exactly as libwebsockets frames them (no
 * extension is ever negotiated: the vhosts offer none; never HTTP/2: the
 * TLS vhost's ALPN is http/1.1), and written raw in one send; libwebsockets keeps what the socket does not take, as for
 * any write.  -1 when the connection failed.
 */
static bool
conn_coalesce(struct wk *k, int budget)
{
	const struct outmsg	*m = k->k_qhead;

	if (budget < 2 || m->q_next == NULL || 2 * FRAME_HDR_MAX + m->q_len +
	    m->q_next->q_len > COALESCE_MAX)
		return false;
	/*
	 * On the heap, kept: on the stack its 16 KiB would put every call
	 * below it deeper, and an idle worker would keep those pages dirty.
	 */
	if (k->k_wbuf == NULL &&
	    (k->k_wbuf = malloc(LWS_PRE + COALESCE_MAX)) == NULL) {
		log_warn("malloc: events written one by one");
		return false;
	}
	return true;
}

static int
conn_write_some(struct wk *k, struct lws *wsi, int *budget)
{
	unsigned char	*buf = k->k_wbuf;
	struct outmsg	*m = k->k_qhead;
	size_t		 len = 0;
	int		 n = 0;

	if (conn_coalesce(k, *budget))
		for (buf = k->k_wbuf; m && n < *budget && len + FRAME_HDR_MAX +
		    m->q_len <= COALESCE_MAX; m = m->q_next, n++)
			len += conn_frame(buf + LWS_PRE + len, m);
	if (n < 2) {
		m = k->k_qhead;
		n = 1;
		if (lws_write(wsi, m->q_buf + LWS_PRE, m->q_len,
		    LWS_WRITE_TEXT) < (int)m->q_len)
			return -1;
	} else if (lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_RAW) <
	    (int)len)
		return -1;
	*budget -= n;
	while (n-- > 0)
		conn_dequeue(k);
	return 0;
}

/*
 * Writes queued events, several per callback: a poll round per small
 * event would cost more than the event.  Stops when libwebsockets had to
 * keep part of a write (the socket is full) and asks to be called again.
 */
int
conn_writeable(struct wk *k, struct lws *wsi)
{
	int	budget = WRITE_BURST;
	bool	wrote = false;

	while (k->k_qhead != NULL && budget > 0) {
		if (conn_write_some(k, wsi, &budget) < 0) {
			log_warnx("lws_write failed session=%s", k->k_session);
			return -1;
		}
		wrote = true;
		if (lws_partial_buffered(wsi))
			break;
	}
	/*
	 * Choked, we do not read the client, so its pongs go unseen; that it
	 * takes what we send (the socket became writeable) is proof of life.
	 */
	if (wrote && k->k_choked)
		lws_validity_confirmed(wsi);
	if (k->k_qhead == NULL && k->k_close_code &&
	    !lws_partial_buffered(wsi)) {
		lws_close_reason(wsi, (enum lws_close_status)k->k_close_code,
		    (unsigned char *)k->k_close_reason,
		    strlen(k->k_close_reason));
		return -1;
	}
	if (k->k_qhead || k->k_close_code)
		lws_callback_on_writable(wsi);
	else if (k->k_state == WS_GRANTED && k->k_trim == TRIM_NOT_YET)
		k->k_trim = TRIM_DUE;	/* "ready" is out: idle, likely */
	conn_unchoke(k);
	return 0;
}

/* Queue the close: it goes after every event already queued. */
void
conn_close(struct wk *k, int code, const char *reason)
{
	if (k->k_conn == NULL)
		return;
	if (!k->k_ws) {
		lws_set_timeout(k->k_conn, PENDING_TIMEOUT_CLOSE_SEND,
		    LWS_TO_KILL_ASYNC);
		return;
	}
	if (k->k_close_code)
		return;
	k->k_close_code = code;
	k->k_close_reason = reason;
	conn_rx_update(k);
	lws_callback_on_writable(k->k_conn);
}

void
conn_gone(struct wk *k)
{
	log_debug("event=closed session=%s peer=%s", k->k_session, k->k_peer);
	k->k_conn = NULL;
	outq_free(k);
	k->k_choked = false;	/* nobody to send to; nothing to resume */
	if (k->k_going == GO_NONE)
		worker_go(k, GO_CLOSED);
	else
		worker_progress(k);
}
