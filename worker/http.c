/*
 * http.c - the worker's HTTP side: static files, /healthz, /handlers and
 * the admission checks of a WebSocket upgrade (path and origin).
 *
 * Static files are libwebsockets' own file mount of --www; /healthz and
 * /handlers are callback mounts answered here.  The origin check runs in
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, so a foreign page is refused with 403
 * before any WebSocket exists: a daemon that runs programs must not be
 * reachable from any web page a user happens to visit.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cJSON.h>

#include "cidr.h"
#include "log.h"
#include "origin.h"
#include "worker.h"

#define HDR_MAX	512

const struct lws_http_mount *
http_mounts(const struct config *cfg, struct lws_http_mount *m, size_t n)
{
	static const char *const dynamic[] = { "/healthz", "/handlers" };
	size_t	i, used = 0;

	memset(m, 0, n * sizeof(*m));
	for (i = 0; i < 2 && used < n; i++, used++) {
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

/* Headers now; the body (owned by k->k_http) in http_writeable(). */
static int
http_respond(struct wk *k, struct lws *wsi, unsigned status,
    const char *ctype, const char *body, size_t len)
{
	unsigned char	 hdr[LWS_PRE + HDR_MAX], *start = hdr + LWS_PRE;
	unsigned char	*p = start, *end = hdr + sizeof(hdr) - 1;

	free(k->k_http);
	if ((k->k_http = malloc(LWS_PRE + len + 1)) == NULL) {
		log_warn("malloc");
		return -1;
	}
	memcpy(k->k_http + LWS_PRE, body, len);
	k->k_httplen = len;
	if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

int
http_writeable(struct wk *k, struct lws *wsi)
{
	if (k->k_http == NULL)
		return 0;
	if (lws_write(wsi, k->k_http + LWS_PRE, k->k_httplen,
	    LWS_WRITE_HTTP_FINAL) < (int)k->k_httplen)
		return -1;
	free(k->k_http);
	k->k_http = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
http_uri(struct lws *wsi, char *buf, size_t len)
{
	if (lws_hdr_copy(wsi, buf, (int)len, WSI_TOKEN_GET_URI) > 0)
		return 0;
	buf[0] = '\0';
	return -1;
}

int
http_request(struct wk *k, struct lws *wsi)
{
	char	 uri[256], *json;
	int	 rc;

	if (http_uri(wsi, uri, sizeof(uri)) < 0)
		return http_respond(k, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
		    "text/plain", "method not allowed\n", 19);
	if (!strcmp(uri, "/healthz"))
		return http_respond(k, wsi, HTTP_STATUS_OK, "text/plain",
		    "ok\n", 3);
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
 * clients cannot read.  Returns 1: the transaction is over.
 */
static int
http_refuse(struct lws *wsi, unsigned status, const char *text,
    const char *header)
{
	char	buf[LWS_PRE + HDR_MAX];
	int	n;

	n = snprintf(buf + LWS_PRE, HDR_MAX, "HTTP/1.1 %u %s\r\n"
	    "content-type: text/plain\r\ncontent-length: %zu\r\n"
	    "cache-control: no-store\r\n%s\r\n%s\n", status, text,
	    strlen(text) + 1, header ? header : "", text);
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
	    "realm=\"wstaskd\", charset=\"UTF-8\"\r\n");
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

/* 0 lets the upgrade go on; 1 after a refusal has been written. */
int
http_confirm_upgrade(struct wk *k, struct lws *wsi)
{
	char	uri[256], why[ORIGIN_HOST_MAX + 64];
	char	luri[LOG_ESC_SIZE(sizeof(uri))],
		lwhy[LOG_ESC_SIZE(sizeof(why))];

	if (http_uri(wsi, uri, sizeof(uri)) < 0 ||
	    strcmp(uri, k->k_cfg->ws_path)) {
		log_info("event=refuse peer=%s status=404 uri=%s", k->k_peer,
		    log_esc(luri, sizeof(luri), uri, false));
		return http_refuse(wsi, 404, "Not Found", NULL);
	}
	http_client(k, wsi);
	if (!http_authorized(k, wsi))
		return http_unauthorized(k, wsi);
	if (!http_origin_ok(k, wsi, why, sizeof(why))) {
		log_info("event=refuse peer=%s status=403 reason=\"%s\"",
		    k->k_peer, log_esc(lwhy, sizeof(lwhy), why, true));
		return http_refuse(wsi, 403, "Forbidden", NULL);
	}
	return 0;
}
