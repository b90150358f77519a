/*
 * http.c - the worker's HTTP side: static files, /healthz, /handlers and
 * the admission checks of a WebSocket upgrade (path and origin).
 *
 * Static files are libwebsockets' own file mount of --www; /healthz and
 * /handlers are callback mounts answered here.  The origin check runs in
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, so a foreign page is refused with 403
 * before any WebSocket exists: a daemon that runs programs must not be
 * reachable from any web page a user happens to visit.
 *
 * libwebsockets 4.1 refuses some requests inside its parser, before any
 * callback: it drops headers over their room without a word and answers
 * a malformed %-escape with an HTML "HTTP/1.0 403".  Its log line is the
 * only sign, so its log comes through http_lws_log(), which answers such
 * a request itself (see http_parse_failed()).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/ssl.h>

#include "cidr.h"
#include "log.h"
#include "origin.h"
#include "worker.h"

#define HDR_MAX	512

const struct lws_http_mount *
http_mounts(const struct config *cfg, struct lws_http_mount *m, size_t n)
{
	static const char *const dynamic[] = { "/healthz", "/handlers",
		"/metrics" };
	size_t	i, used = 0, ndyn = cfg->metrics ? 3 : 2;

	memset(m, 0, n * sizeof(*m));
	for (i = 0; i < ndyn && used < n; i++, used++) {
		m[used].mountpoint = dynamic[i];
		m[used].mountpoint_len = (unsigned char)strlen(dynamic[i]);
		m[used].origin = "wstask.v1";
		m[used].origin_protocol = LWSMPRO_CALLBACK;
	}
	if (cfg->www_dir && used < n) {
		m[used].mountpoint = "/";
		m[used].mountpoint_len = 1;
		m[used].origin = cfg->www_dir;
		m[used].def = "index.html";
		m[used].origin_protocol = LWSMPRO_FILE;
		used++;
	}
	for (i = 0; i + 1 < used; i++)
		m[i].mount_next = &m[i + 1];
	return used ? m : NULL;
}

/*
 * Headers now; the body (owned by k->k_http) in http_writeable().  A HEAD
 * gets the headers a GET would, Content-Length included, and no body.
 */
static int
http_respond(struct wk *k, struct lws *wsi, unsigned status,
    const char *ctype, const char *body, size_t len)
{
	unsigned char	 hdr[LWS_PRE + HDR_MAX], *start = hdr + LWS_PRE;
	unsigned char	*p = start, *end = hdr + sizeof(hdr) - 1;
	bool		 head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;

	free(k->k_http);
	k->k_http = NULL;
	if (!head && (k->k_http = malloc(LWS_PRE + len + 1)) == NULL) {
		log_warn("malloc");
		return -1;
	}
	if (!head)
		memcpy(k->k_http + LWS_PRE, body, len);
	k->k_httplen = len;
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end) ||
	    (status == HTTP_STATUS_METHOD_NOT_ALLOWED &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
	    (const unsigned char *)"GET, HEAD", 9, &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (head)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	lws_callback_on_writable(wsi);
	return 0;
}

/*
 * GET /metrics: the figures are the supervisor's, so the request waits
 * for its answer (ctl.c calls http_metrics_page()), then is answered from
 * the writeable callback.  Nothing is written meanwhile.
 */
static int
http_metrics_ask(struct wk *k, struct lws *wsi)
{
	if (k->k_metrics_wsi != NULL || ctl_metrics_ask(k) < 0)
		return http_respond(k, wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR,
		    "text/plain", "cannot get the metrics\n", 23);
	k->k_metrics_wsi = wsi;
	return 0;
}

/* The supervisor's answer: the page in fd (-1: it could not make one). */
void
http_metrics_page(struct wk *k, int fd)
{
	struct stat	st;
	ssize_t		n = -1;

	free(k->k_metrics);
	k->k_metrics = NULL;
	k->k_metrics_failed = true;
	if (fd >= 0 && fstat(fd, &st) == 0 && (k->k_metrics =
	    malloc((size_t)st.st_size + 1)) != NULL &&
	    (n = pread(fd, k->k_metrics, (size_t)st.st_size, 0)) ==
	    st.st_size) {
		k->k_metricslen = (size_t)n;
		k->k_metrics_failed = false;
	} else if (fd >= 0)
		log_warn("reading the metrics page");
	if (fd >= 0)
		close(fd);
	/* The client left while it waited. */
	if (k->k_metrics_wsi == NULL) {
		free(k->k_metrics);
		k->k_metrics = NULL;
		return;
	}
	lws_callback_on_writable(k->k_metrics_wsi);
}

/* Writeable with the page come: headers now, body on the next call. */
static int
http_metrics_send(struct wk *k, struct lws *wsi)
{
	int	rc;

	k->k_metrics_wsi = NULL;
	if (k->k_metrics_failed) {
		k->k_metrics_failed = false;
		return http_respond(k, wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR,
		    "text/plain", "cannot get the metrics\n", 23);
	}
	rc = http_respond(k, wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4",
	    k->k_metrics, k->k_metricslen);
	free(k->k_metrics);
	k->k_metrics = NULL;
	return rc;
}

void
http_closed(struct wk *k, struct lws *wsi)
{
	if (wsi == k->k_metrics_wsi)
		k->k_metrics_wsi = NULL;
}

int
http_writeable(struct wk *k, struct lws *wsi)
{
	if (wsi == k->k_metrics_wsi && (k->k_metrics || k->k_metrics_failed))
		return http_metrics_send(k, wsi);
	if (k->k_http == NULL)
		return 0;
	if (lws_write(wsi, k->k_http + LWS_PRE, k->k_httplen,
	    LWS_WRITE_HTTP_FINAL) < (int)k->k_httplen)
		return -1;
	free(k->k_http);
	k->k_http = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/*
 * The path of a GET or HEAD (lws already cut the query off and decoded
 * it), however long: lws's own copy, not one into a buffer of ours.
 * NULL for any other method.
 */
static const char *
http_path(struct lws *wsi)
{
	char	*uri;
	int	 len;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) <= 0)
		return NULL;
	if (lws_http_get_uri_and_method(wsi, &uri, &len) < 0 || uri == NULL)
		return NULL;
	return uri;
}

int
http_request(struct wk *k, struct lws *wsi)
{
	const char	*uri;
	char		*json, luri[LOG_ESC_SIZE(256)];
	int		 rc;

	if ((uri = http_path(wsi)) == NULL) {
		log_info("event=refuse peer=%s status=405", k->k_peer);
		return http_respond(k, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "text/plain", "method not allowed\n", 19);
	}
	if (!strcmp(uri, "/healthz"))
		return k->k_draining ? http_respond(k, wsi,
		    HTTP_STATUS_SERVICE_UNAVAILABLE, "text/plain", "draining\n",
		    9) : http_respond(k, wsi, HTTP_STATUS_OK, "text/plain",
		    "ok\n", 3);
	if (!strcmp(uri, "/metrics") && k->k_cfg->metrics)
		return http_metrics_ask(k, wsi);
	if (!strcmp(uri, "/handlers")) {
		if ((json = handler_list_json(k)) == NULL)
			return http_respond(k, wsi,
			    HTTP_STATUS_INTERNAL_SERVER_ERROR, "text/plain",
			    "cannot list handlers\n", 21);
		rc = http_respond(k, wsi, HTTP_STATUS_OK, "application/json",
		    json, strlen(json));
		free(json);
		return rc;
	}
	log_debug("event=not-found peer=%s uri=%s", k->k_peer,
	    log_esc(luri, sizeof(luri), uri, false));
	if (!strncmp(uri, "/handlers/", 10)) {
		if ((json = handler_describe_json(k, uri + 10)) == NULL)
			return http_respond(k, wsi, HTTP_STATUS_NOT_FOUND,
			    "text/plain", "no such handler\n", 16);
		rc = http_respond(k, wsi, HTTP_STATUS_OK, "application/json",
		    json, strlen(json));
		free(json);
		return rc;
	}
	return http_respond(k, wsi, HTTP_STATUS_NOT_FOUND, "text/plain",
	    "not found\n", 10);
}

/*
 * Basic auth (--credential).  The user becomes the namespace of the
 * session ids this connection claims.
 */
static bool
http_authorized(struct wk *k, struct lws *wsi)
{
	char	hdr[640], plain[480];
	int	n;
	bool	ok;

	if (k->k_cfg->users.db_n == 0)
		return true;
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr),
	    WSI_TOKEN_HTTP_AUTHORIZATION) < 7 || strncasecmp(hdr, "Basic ", 6))
		return false;
	n = lws_b64_decode_string(hdr + 6, plain, sizeof(plain) - 1);
	ok = n > 0 && userdb_check(&k->k_cfg->users, plain, (size_t)n,
	    k->k_user, sizeof(k->k_user));
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(hdr, sizeof(hdr));
	return ok;
}

/*
 * A refusal written whole, status line included: while an upgrade is being
 * confirmed, libwebsockets has not yet noted the request's HTTP version
 * and its own helpers would answer "HTTP/1.0", which strict WebSocket
 * clients cannot read.  The body is one line: why, else the status text.
 * Returns 1: the transaction is over.
 */
static int
http_refuse(struct lws *wsi, unsigned status, const char *text,
    const char *header, const char *why)
{
	char	buf[LWS_PRE + HDR_MAX];
	int	n;

	if (why == NULL)
		why = text;
	n = snprintf(buf + LWS_PRE, HDR_MAX, "HTTP/1.1 %u %s\r\n"
	    "content-type: text/plain\r\ncontent-length: %zu\r\n"
	    "cache-control: no-store\r\n%s\r\n%s\n", status, text,
	    strlen(why) + 1, header ? header : "", why);
	if (n < 0 || n >= HDR_MAX)
		return -1;
	if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, (size_t)n,
	    LWS_WRITE_HTTP_HEADERS) < n)
		return -1;
	return 1;
}

/* 401 with a challenge; the caller ends the transaction. */
static int
http_unauthorized(struct wk *k, struct lws *wsi)
{
	log_info("event=refuse peer=%s status=401", k->k_peer);
	return http_refuse(wsi, 401, "Unauthorized", "www-authenticate: Basic "
	    "realm=\"wstaskd\", charset=\"UTF-8\"\r\n", NULL);
}

/*
 * Every plain HTTP request, before a file mount or a callback serves it:
 * with --credential only /healthz is open (load balancers probe it).
 * Non-zero closes the connection after the 401.
 */
int
http_filter(struct wk *k, struct lws *wsi, const char *uri, size_t len)
{
	if (k->k_cfg->users.db_n == 0 || (len == 8 && uri &&
	    !memcmp(uri, "/healthz", 8)) || http_authorized(k, wsi))
		return 0;
	http_unauthorized(k, wsi);
	return 1;
}

static bool
http_origin_ok(struct wk *k, struct lws *wsi, char *why, size_t len)
{
	const struct config	*cfg = k->k_cfg;
	struct origin		 o;
	char			 hdr[ORIGIN_HOST_MAX + 32];
	size_t			 i;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0 || cfg->origin_any)
		return true;
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_ORIGIN) < 0 ||
	    origin_parse(hdr, &o) < 0) {
		snprintf(why, len, "unparsable origin");
		return false;
	}
	for (i = 0; i < cfg->norigins; i++)
		if (origin_equal(&o, &cfg->origins[i]))
			return true;
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HOST) > 0 &&
	    origin_matches_host(&o, hdr))
		return true;
	snprintf(why, len, "origin %s://%s:%u matches neither Host nor --origin",
	    o.scheme, o.host, o.port);
	return false;
}

static bool
http_trusted_hop(const struct config *cfg, const char *ip)
{
	size_t	i;

	for (i = 0; i < cfg->ntrusted; i++)
		if (cidr_match_text(&cfg->trusted[i], ip))
			return true;
	return false;
}

/* One hop of X-Forwarded-For, or a for= of Forwarded, as a bare address. */
static void
http_hop_address(char *hop)
{
	char	*p = hop, *end;

	if ((end = strcasestr(p, "for=")) != NULL)	/* Forwarded */
		p = end + 4;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"')
		p++;
	if (*p == '[') {			/* [v6]:port */
		p++;
		if ((end = strchr(p, ']')) != NULL)
			*end = '\0';
	} else if ((end = strchr(p, ':')) != NULL && strchr(end + 1, ':') ==
	    NULL)
		*end = '\0';			/* v4:port, not a bare v6 */
	for (end = p; *end && !strchr("\"; \t", *end); end++)
		;
	*end = '\0';
	memmove(hop, p, strlen(p) + 1);
}

/*
 * The client behind trusted proxies: walking X-Forwarded-For (else the
 * for= of Forwarded) from the right, the first address that is not
 * itself a trusted proxy.  Only logged and shown in ps: nothing is
 * decided on it.
 */
static void
http_client(struct wk *k, struct lws *wsi)
{
	const struct config	*cfg = k->k_cfg;
	char			 hdr[1024], *hop, *last = NULL;
	char			 lc[LOG_ESC_SIZE(sizeof(k->k_client))];

	if (!k->k_peer_trusted)
		return;
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_X_FORWARDED_FOR) <= 0 &&
	    lws_hdr_custom_copy(wsi, hdr, sizeof(hdr), "forwarded:", 10) <= 0)
		return;
	while (1) {
		if ((hop = strrchr(hdr, ',')) != NULL)
			*hop++ = '\0';
		else
			hop = hdr;
		http_hop_address(hop);
		if (*hop)
			last = hop;
		if (*hop && !http_trusted_hop(cfg, hop))
			break;
		if (hop == hdr)
			break;
	}
	if (last == NULL || strlen(last) >= sizeof(k->k_client))
		return;
	strlcpy(k->k_client, last, sizeof(k->k_client));
	log_info("event=client peer=%s client=%s", k->k_peer,
	    log_esc(lc, sizeof(lc), k->k_client, false));
	conn_title(k);
}

/*
 * k_other_protocol is the name of main.c's second protocol entry, empty but
 * while an upgrade
 * offers only subprotocols other than wstask.v1.  libwebsockets 4.1 drops
 * such a client without an answer; RFC 6455 4.2.2 wants the handshake
 * completed without Sec-WebSocket-Protocol, the client then deciding.
 * So the first name offered becomes this entry's name, lws selects it,
 * and http_subprotocol_chosen() empties it again before lws writes the
 * 101, whose Sec-WebSocket-Protocol it leaves out for a nameless protocol.
 */
/* lws's own reading of the offer, so it picks what we expect. */
#define HTTP_PROTOCOL_TOKENS	(LWS_TOKENIZE_F_COMMA_SEP_LIST | \
	LWS_TOKENIZE_F_MINUS_NONTERM | LWS_TOKENIZE_F_DOT_NONTERM | \
	LWS_TOKENIZE_F_RFC7230_DELIMS)
#define HTTP_PROTOCOL_LIST_MAX	128	/* lws's buffer for the offer */

/*
 * NULL when the offer is fine for lws (none, or one naming wstask.v1,
 * or another name now in k_other_protocol); else why lws would drop it.
 */
static const char *
http_subprotocol(struct wk *k, struct lws *wsi)
{
	char		 buf[HTTP_PROTOCOL_LIST_MAX], name[HTTP_PROTOCOL_NAME_MAX];
	char		 first[HTTP_PROTOCOL_NAME_MAX] = "";
	char		 lbuf[LOG_ESC_SIZE(sizeof(buf))];
	struct lws_tokenize ts;
	lws_tokenize_elem e;
	int		 n;

	k->k_other_protocol[0] = '\0';
	if ((n = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL)) <= 0)
		return NULL;
	if (n >= (int)sizeof(buf) || lws_hdr_copy(wsi, buf, sizeof(buf),
	    WSI_TOKEN_PROTOCOL) != n)
		return "Sec-WebSocket-Protocol over 127 bytes";
	lws_tokenize_init(&ts, buf, HTTP_PROTOCOL_TOKENS);
	ts.len = (size_t)n;
	do {
		e = lws_tokenize(&ts);
		if (e == LWS_TOKZE_DELIMITER || e == LWS_TOKZE_ENDED)
			continue;
		if (e != LWS_TOKZE_TOKEN)
			return "malformed Sec-WebSocket-Protocol";
		if (lws_tokenize_cstr(&ts, name, sizeof(name)))
			return "a subprotocol name over 63 bytes";
		if (!strcmp(name, "wstask.v1"))
			return NULL;
		if (first[0] == '\0')
			strlcpy(first, name, sizeof(first));
	} while (e > 0);
	if (first[0] == '\0')
		return "malformed Sec-WebSocket-Protocol";
	strlcpy(k->k_other_protocol, first, sizeof(k->k_other_protocol));
	log_info("event=subprotocol peer=%s offered=\"%s\" selected=none",
	    k->k_peer, log_esc(lbuf, sizeof(lbuf), buf, true));
	return NULL;
}

/* lws selected a protocol: from here on it must name none but ours. */
void
http_subprotocol_chosen(struct wk *k)
{
	k->k_other_protocol[0] = '\0';
}

/* 0 lets the upgrade go on; 1 after a refusal has been written. */
int
http_confirm_upgrade(struct wk *k, struct lws *wsi)
{
	const char	*uri, *bad;
	char		 why[ORIGIN_HOST_MAX + 64];
	char		 luri[LOG_ESC_SIZE(256)], lwhy[LOG_ESC_SIZE(sizeof(why))];

	if ((uri = http_path(wsi)) == NULL || strcmp(uri, k->k_cfg->ws_path)) {
		log_info("event=refuse peer=%s status=404 uri=%s", k->k_peer,
		    log_esc(luri, sizeof(luri), uri ? uri : "", false));
		return http_refuse(wsi, 404, "Not Found", NULL, NULL);
	}
	http_client(k, wsi);
	if (!http_authorized(k, wsi))
		return http_unauthorized(k, wsi);
	if (!http_origin_ok(k, wsi, why, sizeof(why))) {
		log_info("event=refuse peer=%s status=403 reason=\"%s\"",
		    k->k_peer, log_esc(lwhy, sizeof(lwhy), why, true));
		return http_refuse(wsi, 403, "Forbidden", NULL, NULL);
	}
	if ((bad = http_subprotocol(k, wsi)) != NULL) {
		log_info("event=refuse peer=%s status=400 reason=\"%s\"",
		    k->k_peer, bad);
		return http_refuse(wsi, 400, "Bad Request", NULL, bad);
	}
	return 0;
}

/*
 * The requests libwebsockets' parser gives up on, by the log line it
 * writes at that moment, with the connection still open.  lws answers
 * none of them usefully: it drops the first two without a word and
 * writes its own HTML 403 for the others right after its line.
 */
static const struct http_parse_fail {
	const char	*pf_line;	/* how lws's log line starts */
	unsigned	 pf_status;
	const char	*pf_text;
	const char	*pf_why;	/* the body and the log's reason */
} http_parse_fails[] = {
	{ "Ran out of header data space", 431,
	  "Request Header Fields Too Large", "request headers over" },
	{ "More hdr frags than we can deal with", 431,
	  "Request Header Fields Too Large",
	  "too many header fields or URL arguments" },
	{ "Unknown method - dropping", 501, "Not Implemented",
	  "unknown method" },
	{ " forbidding on uri sanitation", 400, "Bad Request",
	  "malformed %-escape in the URL" },
};

static struct wk	*http_wk;	/* lws's log callback has no user data */
static int		 http_log_levels;	/* lws's levels that we log */
static bool		 http_parse_refused;	/* the connection is answered */

/* Nothing may follow our answer: close_notify, then the TCP FIN. */
static void
http_shut_write(struct wk *k, struct lws *wsi)
{
	SSL	*ssl;

	if ((ssl = lws_get_ssl(wsi)) != NULL && SSL_shutdown(ssl) < 0)
		log_debug("SSL_shutdown failed peer=%s", k->k_peer);
	/* ENOTCONN: the client has gone already, there is nothing to stop. */
	if (shutdown(lws_get_socket_fd(wsi), SHUT_WR) < 0 && errno != ENOTCONN)
		log_warn("shutdown peer=%s", k->k_peer);
}

/*
 * Answer a request lws's parser gave up on, then shut the writing side:
 * lws's own 403, if it follows, then fails instead of reaching the client.
 * Returns whether the line was one of those failures.
 */
static bool
http_parse_failed(const char *line)
{
	const struct http_parse_fail	*pf = NULL;
	struct wk			*k = http_wk;
	struct lws			*wsi;
	unsigned			 status;
	const char			*text;
	char				 why[96];
	size_t				 i;

	for (i = 0; i < sizeof(http_parse_fails) / sizeof(*pf); i++)
		if (!strncmp(line, http_parse_fails[i].pf_line,
		    strlen(http_parse_fails[i].pf_line)))
			pf = &http_parse_fails[i];
	if (pf == NULL || k == NULL || (wsi = k->k_conn) == NULL || k->k_ws)
		return false;
	if (http_parse_refused)
		return true;
	http_parse_refused = true;
	status = pf->pf_status;
	text = pf->pf_text;
	strlcpy(why, pf->pf_why, sizeof(why));
	if (pf == &http_parse_fails[0]) {
		/* The room ran out before the HTTP version: the URL did it. */
		if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP) <= 0) {
			status = 414;
			text = "URI Too Long";
			strlcpy(why, "URL over", sizeof(why));
		}
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " %u bytes", k->k_cfg->max_headers);
	}
	log_info("event=refuse peer=%s status=%u reason=\"%s%s\"", k->k_peer,
	    status, why, pf == &http_parse_fails[0] ? " (--max-headers)" : "");
	if (http_refuse(wsi, status, text, "connection: close\r\n", why) < 0)
		log_warnx("event=refuse-failed peer=%s status=%u", k->k_peer,
		    status);
	http_shut_write(k, wsi);
	return true;
}

/*
 * lws's log: its errors and warnings (and notices at -vv) go to ours,
 * and while the connection is plain HTTP its info lines are read too,
 * for the parser failures only they name.
 */
static void
http_lws_log(int level, const char *line)
{
	if ((level & (LLL_ERR | LLL_WARN | LLL_INFO)) && http_parse_failed(line))
		return;
	if (level & http_log_levels)
		log_lws_line(level, line);
}

/* Before the context: its creation's info lines need no reading. */
void
http_log_init(struct wk *k)
{
	http_wk = k;
	http_log_levels = LLL_ERR | LLL_WARN;
	if (log_verbosity() >= LOG_LVL_TRACE)
		http_log_levels |= LLL_NOTICE;
	lws_set_log_level(http_log_levels, http_lws_log);
}

/* From now until the upgrade, lws may parse HTTP: read its info lines. */
void
http_log_watch(void)
{
	lws_set_log_level(http_log_levels | LLL_INFO, http_lws_log);
}

/* Upgraded: lws parses no more HTTP. */
void
http_log_upgraded(void)
{
	lws_set_log_level(http_log_levels, http_lws_log);
}
