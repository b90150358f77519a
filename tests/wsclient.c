/*
 * wsclient - libwebsockets WebSocket test client for wstaskd, driven by
 * commands read from stdin.
 *
 * Usage: wsclient [-t SECS] [-o ORIGIN] [-p PROTOCOLS] [-u UNIXSOCK] [-T] [-k]
 *                 URL
 *
 * It connects to URL (ws:// or wss://), prints one line per event on stdout
 * (flushed after every line, so tests can tail the output file) and sends
 * what the commands on stdin ask for:
 *
 *   send TEXT          one text frame
 *   sendfile PATH      the whole file as one text frame
 *   binary TEXT        one binary frame
 *   frag N TEXT        one text message split into N frames
 *   close [CODE [REASON]]  start the closing handshake (default 1000)
 *   (stdin EOF)        same as "close 1000"
 *
 * Output lines: "open proto=NAME", each text message (newlines shown as \n),
 * "binary LEN", "close CODE REASON", "status NNN", "error TEXT", "timeout".
 * Exit status: 0 the connection was open and has ended, 1 it never opened,
 * 2 the -t timeout expired.
 *
 * stdin is adopted into the lws event loop as a raw file descriptor; all
 * writes happen in LWS_CALLBACK_CLIENT_WRITEABLE, in command order.
 */

#include <libwebsockets.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RX_CHUNK	65536		/* lws rx buffer per read */
#define RX_MAX		(1u << 30)	/* largest message we assemble */
#define CLOSE_WAIT_S	10		/* wait this long for the close echo */
#define MAX_REASON	123		/* close reason limit (RFC 6455) */

/*
 * lws 4.1.6 keeps LWS_WRITE_CLOSE (4) private and wants lws_close_reason()
 * instead, but then it swallows the server's close echo without telling us
 * its code.  Writing the close frame ourselves keeps the connection in the
 * ESTABLISHED state, so the echo arrives as WS_PEER_INITIATED_CLOSE.
 */
#define WSC_WRITE_CLOSE	((enum lws_write_protocol)4)

enum om_kind { OM_TEXT, OM_BINARY, OM_FRAG, OM_CLOSE };

/* one queued outgoing message, payload has LWS_PRE bytes of headroom */
struct outmsg {
	struct outmsg *next;
	enum om_kind kind;
	size_t len;		/* payload length */
	unsigned frags;		/* OM_FRAG: number of frames */
	unsigned sent;		/* OM_FRAG: frames written so far */
	unsigned char buf[];	/* LWS_PRE + len + 1 */
};

/* the one piece of global mutable state */
static struct app {
	/* options */
	double timeout_s;
	const char *origin, *protocols, *unixsock, *auth;
	int stamp, insecure;
	int stdout_broken;
	/* parsed URL */
	int tls, port;
	char host[256], hosthdr[300], address[256];
	char *path;
	/* lws objects */
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws *wsi;
	lws_sorted_usec_list_t sul_timeout;
	/* connection state */
	int opened, done, exit_code, http_status;
	int close_queued, close_sent, got_close, close_code;
	char close_reason[MAX_REASON + 3];
	size_t close_reason_len;
	char proto[128];
	/* incoming message assembly */
	unsigned char *rx;
	size_t rx_len, rx_cap;
	/* stdin line assembly */
	char *line;
	size_t line_len, line_cap;
	int stdin_eof;
	/* outgoing queue */
	struct outmsg *qhead, **qtail;
} app;

static volatile sig_atomic_t got_signal;

/* ------------------------------------------------------------------ */
/* output                                                              */

static void out_prefix(void)
{
	struct timespec ts;

	if (!app.stamp)
		return;
	if (clock_gettime(CLOCK_REALTIME, &ts)) {
		fprintf(stderr, "wsclient: clock_gettime: %s\n",
			strerror(errno));
		return;
	}
	printf("%lld ", (long long)ts.tv_sec * 1000000LL +
			ts.tv_nsec / 1000);
}

static void out_flush(void)
{
	if (fflush(stdout) && !app.stdout_broken) {
		app.stdout_broken = 1;	/* report it once */
		fprintf(stderr, "wsclient: write(stdout): %s\n",
			strerror(errno));
	}
}

/* write bytes, showing each newline as the two characters \n */
static void out_escaped(const void *data, size_t len)
{
	const char *p = data, *end = p + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			fwrite(p, 1, (size_t)(end - p), stdout);
			break;
		}
		fwrite(p, 1, (size_t)(nl - p), stdout);
		fputs("\\n", stdout);
		p = nl + 1;
	}
}

static void out_line(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void out_line(const char *fmt, ...)
{
	va_list ap;

	out_prefix();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	out_flush();
}

static void out_text(const void *data, size_t len)
{
	out_prefix();
	out_escaped(data, len);
	putchar('\n');
	out_flush();
}

static void out_close(int code, const char *reason, size_t len)
{
	out_prefix();
	printf("close %d ", code);
	out_escaped(reason, len);
	putchar('\n');
	out_flush();
}

static void finish(int code)
{
	app.done = 1;
	app.exit_code = code;
	/* events handled from a timer do not end the current poll() */
	lws_cancel_service(app.ctx);
}

/* ------------------------------------------------------------------ */
/* outgoing queue                                                      */

static struct outmsg *om_new(enum om_kind kind, const void *data, size_t len)
{
	struct outmsg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

	if (!m) {
		fprintf(stderr, "wsclient: malloc: %s\n", strerror(errno));
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->len = len;
	if (len)
		memcpy(m->buf + LWS_PRE, data, len);
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

static void kick_tx(void)
{
	if (app.wsi && app.opened && app.qhead && !app.close_sent)
		lws_callback_on_writable(app.wsi);
}

static void om_push(struct outmsg *m)
{
	if (!m)
		return;
	*app.qtail = m;
	app.qtail = &m->next;
	kick_tx();
}

static void om_pop(void)
{
	struct outmsg *m = app.qhead;

	app.qhead = m->next;
	if (!app.qhead)
		app.qtail = &app.qhead;
	free(m);
}

static void om_free_all(void)
{
	while (app.qhead)
		om_pop();
}

static void queue_close(unsigned code, const char *reason, size_t len)
{
	unsigned char pl[2 + MAX_REASON];

	if (app.close_queued)
		return;
	if (len > MAX_REASON) {
		fprintf(stderr, "wsclient: close reason cut to %d bytes\n",
			MAX_REASON);
		len = MAX_REASON;
	}
	pl[0] = (unsigned char)(code >> 8);
	pl[1] = (unsigned char)code;
	if (len)
		memcpy(pl + 2, reason, len);
	app.close_queued = 1;
	om_push(om_new(OM_CLOSE, pl, 2 + len));
}

/* ------------------------------------------------------------------ */
/* stdin commands                                                      */

/* read a whole file into a malloc'd buffer; NULL (reported) on failure */
static char *read_file(const char *path, size_t *plen)
{
	size_t len = 0, cap = 65536;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "wsclient: open(%s): %s\n", path,
			strerror(errno));
		return NULL;
	}
	for (;;) {
		if (!buf || len == cap) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "wsclient: realloc: %s\n",
					strerror(errno));
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "wsclient: read(%s): %s\n", path,
				strerror(errno));
			goto fail;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (close(fd))
		fprintf(stderr, "wsclient: close(%s): %s\n", path,
			strerror(errno));
	*plen = len;
	return buf;

fail:
	free(buf);
	if (close(fd))
		fprintf(stderr, "wsclient: close(%s): %s\n", path,
			strerror(errno));
	return NULL;
}

/* does line start with word, followed by a space or the end? */
static const char *arg_after(const char *line, size_t len, const char *word,
			     size_t *alen)
{
	size_t wl = strlen(word);

	if (len < wl || memcmp(line, word, wl))
		return NULL;
	if (len == wl) {
		*alen = 0;
		return line + len;
	}
	if (line[wl] != ' ')
		return NULL;
	*alen = len - wl - 1;
	return line + wl + 1;
}

static void cmd_sendfile(const char *path)
{
	size_t len;
	char *data = read_file(path, &len);

	if (!data)
		return;
	om_push(om_new(OM_TEXT, data, len));
	free(data);
}

static void cmd_frag(const char *arg, size_t alen)
{
	const char *text;
	unsigned long n;
	char *end;
	struct outmsg *m;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (end == arg || errno || !n || n > 1000000 ||
	    (*end && *end != ' ')) {
		fprintf(stderr, "wsclient: bad frag count: %.*s\n",
			(int)alen, arg);
		return;
	}
	text = *end ? end + 1 : end;
	m = om_new(OM_FRAG, text, alen - (size_t)(text - arg));
	if (!m)
		return;
	m->frags = (unsigned)n;
	om_push(m);
}

static void cmd_close(const char *arg, size_t alen)
{
	unsigned long code;
	const char *reason;
	char *end;

	if (!alen) {
		queue_close(1000, "", 0);
		return;
	}
	errno = 0;
	code = strtoul(arg, &end, 10);
	if (end == arg || errno || code > 65535 || (*end && *end != ' ')) {
		fprintf(stderr, "wsclient: bad close code: %.*s\n",
			(int)alen, arg);
		return;
	}
	reason = *end ? end + 1 : end;
	queue_close((unsigned)code, reason, alen - (size_t)(reason - arg));
}

/* line is NUL-terminated at line[len] */
static void handle_line(const char *line, size_t len)
{
	const char *arg;
	size_t alen;

	if (!len)
		return;
	if (app.close_queued) {
		fprintf(stderr, "wsclient: ignored after close: %.*s\n",
			(int)len, line);
		return;
	}
	if ((arg = arg_after(line, len, "send", &alen)))
		om_push(om_new(OM_TEXT, arg, alen));
	else if ((arg = arg_after(line, len, "sendfile", &alen)) && alen)
		cmd_sendfile(arg);
	else if ((arg = arg_after(line, len, "binary", &alen)))
		om_push(om_new(OM_BINARY, arg, alen));
	else if ((arg = arg_after(line, len, "frag", &alen)))
		cmd_frag(arg, alen);
	else if ((arg = arg_after(line, len, "close", &alen)))
		cmd_close(arg, alen);
	else
		fprintf(stderr, "wsclient: unknown command: %.*s\n",
			(int)len, line);
}

/* run every complete line in the stdin buffer, keep the partial rest */
static void run_lines(void)
{
	char *start = app.line, *nl;
	size_t left = app.line_len;

	while (left && (nl = memchr(start, '\n', left))) {
		*nl = '\0';
		handle_line(start, (size_t)(nl - start));
		left -= (size_t)(nl - start) + 1;
		start = nl + 1;
	}
	memmove(app.line, start, left);
	app.line_len = left;
}

static int line_reserve(size_t more)
{
	size_t cap = app.line_cap ? app.line_cap : 65536;
	char *nb;

	while (cap < app.line_len + more + 1)
		cap *= 2;
	if (cap == app.line_cap)
		return 0;
	nb = realloc(app.line, cap);
	if (!nb) {
		fprintf(stderr, "wsclient: realloc: %s\n", strerror(errno));
		return -1;
	}
	app.line = nb;
	app.line_cap = cap;
	return 0;
}

static void stdin_eof(void)
{
	if (app.stdin_eof)
		return;
	app.stdin_eof = 1;
	if (app.line_len && !line_reserve(0)) {
		/* a last line without a newline still counts */
		app.line[app.line_len] = '\0';
		handle_line(app.line, app.line_len);
		app.line_len = 0;
	}
	if (!app.close_queued)
		queue_close(1000, "", 0);
}

/* stdin is readable: returns -1 to have lws drop the stdin wsi */
static int stdin_readable(int fd)
{
	ssize_t n;

	if (line_reserve(65536))
		return -1;
	n = read(fd, app.line + app.line_len, 65536);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		fprintf(stderr, "wsclient: read(stdin): %s\n",
			strerror(errno));
	if (n <= 0) {
		stdin_eof();
		return -1;
	}
	app.line_len += (size_t)n;
	run_lines();
	return 0;
}

/* ------------------------------------------------------------------ */
/* websocket events                                                    */

/* where frame number i of an N-frame message starts: a UTF-8 boundary */
static size_t frag_start(const struct outmsg *m, unsigned i)
{
	const unsigned char *p = m->buf + LWS_PRE;
	size_t b;

	if (i >= m->frags)
		return m->len;
	b = m->len / m->frags * i + m->len % m->frags * i / m->frags;
	while (b < m->len && (p[b] & 0xc0) == 0x80)
		b++;
	return b;
}

static int write_frag(struct lws *wsi, struct outmsg *m)
{
	size_t a = frag_start(m, m->sent), b = frag_start(m, m->sent + 1);
	int wp = m->sent ? LWS_WRITE_CONTINUATION : LWS_WRITE_TEXT;

	if (m->sent + 1 < m->frags)
		wp |= LWS_WRITE_NO_FIN;
	/* earlier frames are already handed to lws: their bytes are
	 * free to serve as this frame's LWS_PRE headroom */
	if (lws_write(wsi, m->buf + LWS_PRE + a, b - a,
		      (enum lws_write_protocol)wp) < (int)(b - a))
		return -1;
	m->sent++;
	return 0;
}

static int write_close(struct lws *wsi, struct outmsg *m)
{
	if (lws_write(wsi, m->buf + LWS_PRE, m->len, WSC_WRITE_CLOSE) <
	    (int)m->len)
		return -1;
	app.close_sent = 1;
	om_free_all();
	/* like python-websockets' close_timeout: give up on the echo */
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, CLOSE_WAIT_S);
	return 0;
}

/* write the next queued frame (one lws_write per WRITEABLE) */
static int on_writeable(struct lws *wsi)
{
	struct outmsg *m = app.qhead;
	int r = 0;

	if (!m || app.close_sent)
		return 0;
	switch (m->kind) {
	case OM_CLOSE:
		r = write_close(wsi, m);
		break;
	case OM_FRAG:
		r = write_frag(wsi, m);
		if (!r && m->sent == m->frags)
			om_pop();
		break;
	default:
		if (lws_write(wsi, m->buf + LWS_PRE, m->len,
			      m->kind == OM_TEXT ? LWS_WRITE_TEXT :
						   LWS_WRITE_BINARY) <
		    (int)m->len)
			r = -1;
		else
			om_pop();
		break;
	}
	if (r) {
		fprintf(stderr, "wsclient: lws_write failed\n");
		return -1;
	}
	kick_tx();
	return 0;
}

static int rx_append(const void *in, size_t len)
{
	size_t cap = app.rx_cap ? app.rx_cap : 65536;
	unsigned char *nb;

	if (app.rx_len + len > RX_MAX) {
		fprintf(stderr, "wsclient: message larger than %u bytes\n",
			RX_MAX);
		return -1;
	}
	while (cap < app.rx_len + len)
		cap *= 2;
	if (cap != app.rx_cap) {
		nb = realloc(app.rx, cap);
		if (!nb) {
			fprintf(stderr, "wsclient: realloc: %s\n",
				strerror(errno));
			return -1;
		}
		app.rx = nb;
		app.rx_cap = cap;
	}
	if (len)
		memcpy(app.rx + app.rx_len, in, len);
	app.rx_len += len;
	return 0;
}

/* a chunk of a message: print the message once its last chunk is in */
static int on_receive(struct lws *wsi, const void *in, size_t len)
{
	if (rx_append(in, len))
		return -1;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	/* lws keeps the first frame's type for continuation frames */
	if (lws_frame_is_binary(wsi))
		out_line("binary %zu", app.rx_len);
	else
		out_text(app.rx, app.rx_len);
	app.rx_len = 0;
	return 0;
}

/* the server's close frame: remember code and reason */
static int on_peer_close(const unsigned char *in, size_t len)
{
	app.got_close = 1;
	app.close_code = 1005;	/* close frame without a status code */
	app.close_reason_len = 0;
	if (len >= 2) {
		app.close_code = in[0] << 8 | in[1];
		app.close_reason_len = len - 2 > sizeof(app.close_reason) ?
				sizeof(app.close_reason) : len - 2;
		memcpy(app.close_reason, in + 2, app.close_reason_len);
	}
	/* if we already sent our close, this is the echo: hang up now.
	 * Otherwise let lws echo it back and then hang up. */
	return app.close_sent ? -1 : 0;
}

static void on_established(struct lws *wsi)
{
	app.wsi = wsi;
	app.opened = 1;
	out_line("open proto=%s", app.proto);
	kick_tx();
}

static void on_closed(void)
{
	app.wsi = NULL;
	if (app.done)
		return;
	if (!app.opened) {
		out_line("error connection closed before it opened");
		finish(1);
		return;
	}
	if (app.got_close)
		out_close(app.close_code, app.close_reason,
			  app.close_reason_len);
	else
		out_close(1006, "", 0);
	finish(0);
}

static void on_conn_error(struct lws *wsi, const char *in, size_t len)
{
	unsigned int st = lws_http_client_http_response(wsi);

	app.wsi = NULL;
	if (app.done)
		return;
	if (!st)
		st = (unsigned int)app.http_status;
	if (st && st != 101)
		out_line("status %u", st);
	if (in && len)
		out_line("error %.*s", (int)len, in);
	else
		out_line("error unknown");
	finish(1);
}

/* -a USER:PASS: an Authorization: Basic header on the upgrade request */
static int append_auth(struct lws *wsi, void *in, size_t len)
{
	unsigned char **p = (unsigned char **)in, *end = *p + len;
	char b64[1024], hdr[1100];
	int n;

	if (!app.auth)
		return 0;
	n = lws_b64_encode_string(app.auth, (int)strlen(app.auth), b64,
				  (int)sizeof(b64));
	if (n < 0)
		return -1;
	n = snprintf(hdr, sizeof(hdr), "Basic %s", b64);
	return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
					    (unsigned char *)hdr, n, p, end)
		? -1 : 0;
}

static int lws_cb(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	(void)user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		app.http_status = (int)lws_http_client_http_response(wsi);
		break;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* the headers are gone by CLIENT_ESTABLISHED */
		if (lws_hdr_copy(wsi, app.proto, sizeof(app.proto),
				 WSI_TOKEN_PROTOCOL) < 0)
			app.proto[0] = '\0';
		break;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		return append_auth(wsi, in, len);
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		on_established(wsi);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		on_conn_error(wsi, in, len);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return on_receive(wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return on_writeable(wsi);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return on_peer_close(in, len);
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_closed();
		break;
	case LWS_CALLBACK_RAW_RX_FILE:
		return stdin_readable(lws_get_socket_fd(wsi));
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (!app.done)	/* hangup without a readable EOF */
			stdin_eof();
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "wsclient", lws_cb, 0, RX_CHUNK, 0, NULL, 0 },
	{ "wsclient-stdin", lws_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ------------------------------------------------------------------ */
/* setup                                                               */

static void usage(void)
{
	fprintf(stderr, "usage: wsclient [-t SECS] [-o ORIGIN] [-p PROTOCOLS]"
		" [-u UNIXSOCK] [-a USER:PASS] [-T] [-k] URL\n");
	exit(1);
}

/* host part of the authority: "[v6]:port", "[v6]", "name:port", "name" */
static int parse_authority(const char *a, size_t len)
{
	const char *colon = NULL, *h = a, *rb;
	size_t hl = len;
	char *end;
	long port;

	if (len && *a == '[') {
		rb = memchr(a, ']', len);
		if (!rb)
			return -1;
		h = a + 1;
		hl = (size_t)(rb - h);
		if (rb + 1 < a + len) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else if ((colon = memchr(a, ':', len))) {
		hl = (size_t)(colon - a);
	}
	if (!hl || hl >= sizeof(app.host))
		return -1;
	memcpy(app.host, h, hl);
	app.host[hl] = '\0';
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (end != a + len || end == colon + 1 || port < 1 ||
		    port > 65535)
			return -1;
		app.port = (int)port;
	}
	return 0;
}

/* Host header as browsers send it: the port only when not the default */
static void make_host_header(void)
{
	int v6 = strchr(app.host, ':') != NULL;

	if (app.port == (app.tls ? 443 : 80))
		snprintf(app.hosthdr, sizeof(app.hosthdr), v6 ? "[%s]" : "%s",
			 app.host);
	else
		snprintf(app.hosthdr, sizeof(app.hosthdr),
			 v6 ? "[%s]:%d" : "%s:%d", app.host, app.port);
}

static int parse_url(const char *url)
{
	const char *p, *rest;
	size_t alen;

	if (!strncmp(url, "ws://", 5))
		p = url + 5;
	else if (!strncmp(url, "wss://", 6)) {
		p = url + 6;
		app.tls = 1;
	} else
		return -1;
	app.port = app.tls ? 443 : 80;
	alen = strcspn(p, "/?#");
	if (memchr(p, '@', alen) || parse_authority(p, alen))
		return -1;
	rest = p + alen;
	app.path = malloc(strlen(rest) + 2);
	if (!app.path) {
		fprintf(stderr, "wsclient: malloc: %s\n", strerror(errno));
		exit(1);
	}
	/* path and query as given; "/" if the URL has no path */
	snprintf(app.path, strlen(rest) + 2, "%s%.*s", *rest == '/' ? "" : "/",
		 (int)strcspn(rest, "#"), rest);
	make_host_header();
	return 0;
}

static void parse_args(int argc, char **argv)
{
	char *end;
	int c;

	app.timeout_s = 30;
	while ((c = getopt(argc, argv, "+t:o:p:u:a:Tk")) != -1) {
		switch (c) {
		case 't':
			app.timeout_s = strtod(optarg, &end);
			if (*end || end == optarg || !(app.timeout_s > 0) ||
			    app.timeout_s > 1e6)
				usage();
			break;
		case 'o': app.origin = optarg; break;
		case 'p': app.protocols = optarg; break;
		case 'u': app.unixsock = optarg; break;
		case 'a': app.auth = optarg; break;
		case 'T': app.stamp = 1; break;
		case 'k': app.insecure = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	if (parse_url(argv[optind])) {
		fprintf(stderr, "wsclient: bad URL: %s\n", argv[optind]);
		exit(1);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	if (app.ctx)
		lws_cancel_service(app.ctx);
}

static void set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		fprintf(stderr, "wsclient: sigaction: %s\n", strerror(errno));
}

static void on_timeout(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	if (app.done)
		return;
	out_line("timeout");
	finish(2);
}

static int create_context(void)
{
	struct lws_context_creation_info info;
	const char *dbg = getenv("WSCLIENT_DEBUG");

	lws_set_log_level(!dbg ? LLL_ERR : atoi(dbg) > 0 ? atoi(dbg) :
			  LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO |
			  LLL_DEBUG | LLL_CLIENT | LLL_HEADER, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
		       LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
	info.fd_limit_per_thread = 16;
	info.max_http_header_pool = 1;
	info.timeout_secs = (unsigned int)app.timeout_s + 5;
	info.vhost_name = "wsclient";
	app.ctx = lws_create_context(&info);
	if (!app.ctx) {
		fprintf(stderr, "wsclient: lws_create_context failed\n");
		return -1;
	}
	app.vh = lws_create_vhost(app.ctx, &info);
	if (!app.vh) {
		fprintf(stderr, "wsclient: lws_create_vhost failed\n");
		return -1;
	}
	return 0;
}

/* a closed fd 0, 1 or 2 would be reused by lws: put /dev/null there */
static void guard_std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) < 0)
			fprintf(stderr, "wsclient: open(/dev/null): %s\n",
				strerror(errno));
	}
}

/* put fd 0 into the event loop */
static void adopt_stdin(void)
{
	lws_sock_file_fd_type fd;

	fd.filefd = 0;
	if (!lws_adopt_descriptor_vhost(app.vh, LWS_ADOPT_RAW_FILE_DESC, fd,
					"wsclient-stdin", NULL)) {
		fprintf(stderr, "wsclient: cannot adopt stdin\n");
		stdin_eof();
	}
}

static int connect_ws(void)
{
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof(i));
	i.context = app.ctx;
	i.vhost = app.vh;
	if (app.unixsock)
		snprintf(app.address, sizeof(app.address), "+%s",
			 app.unixsock);
	else
		snprintf(app.address, sizeof(app.address), "%s", app.host);
	i.address = app.address;
	i.port = app.port;
	i.path = app.path;
	i.host = app.hosthdr;
	i.origin = app.origin;
	i.protocol = app.protocols;
	i.local_protocol_name = "wsclient";
	i.alpn = "http/1.1";
	i.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	if (app.tls)
		i.ssl_connection |= LCCSCF_USE_SSL;
	if (app.tls && app.insecure)
		i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
				    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
				    LCCSCF_ALLOW_EXPIRED |
				    LCCSCF_ALLOW_INSECURE;
	i.pwsi = &app.wsi;
	if (!lws_client_connect_via_info(&i) && !app.done) {
		out_line("error cannot start connection");
		finish(1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct lws_context *ctx;

	app.qtail = &app.qhead;
	guard_std_fds();
	parse_args(argc, argv);
	if (create_context()) {
		if (app.ctx)
			lws_context_destroy(app.ctx);
		free(app.path);
		return 1;
	}
	set_signals();
	lws_sul_schedule(app.ctx, 0, &app.sul_timeout, on_timeout,
			 (lws_usec_t)(app.timeout_s * 1000000.0));
	adopt_stdin();
	connect_ws();
	while (!app.done && !got_signal)
		if (lws_service(app.ctx, 0) < 0)
			break;
	if (!app.done)
		finish(app.opened ? 0 : 1);
	lws_sul_cancel(&app.sul_timeout);
	ctx = app.ctx;
	app.ctx = NULL;		/* the signal handler must not use it now */
	lws_context_destroy(ctx);
	om_free_all();
	free(app.rx);
	free(app.line);
	free(app.path);
	return app.exit_code;
}
