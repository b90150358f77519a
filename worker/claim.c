/*
 * claim.c - the session id and its claim (SPEC 2.1).
 *
 * The id comes from ?session=ID at once, or from the first message: a
 * hello, a run (a random id is made), or a bare text that is a valid id.
 * Claiming stops reading the client until the supervisor grants the id,
 * so nothing of the new session runs before every process of the old
 * one is gone; `ready` is then the first event the client sees, and the
 * messages held while claiming (request.c) run after it, in order.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "worker.h"

#define URLARG_MAX	4096	/* a longer value would read as "absent" */
#define BAD_ID_RULE	"1 to 128 characters of A-Z a-z 0-9 . _ : -"

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
	char	key[SESSION_KEY_MAX + 1];
	int	n;

	memcpy(k->k_session, id, len);
	k->k_session[len] = '\0';
	k->k_have_id = true;
	k->k_state = WS_CLAIMING;
	conn_rx_update(k);
	conn_title(k);
	if (k->k_user[0])
		n = snprintf(key, sizeof(key), "%s/%s", k->k_user, k->k_session);
	else
		n = snprintf(key, sizeof(key), "%s", k->k_session);
	ctl_claim(k, key, (size_t)n);
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
		claim_bad_session(k, "session id must be " BAD_ID_RULE);
		return;
	}
	claim_start(k, id, strlen(id));
}

/* A first message that is not JSON: the seed's bare session id. */
void
claim_bare(struct wk *k, const char *text, size_t len)
{
	if (session_id_valid(text, len))
		claim_start(k, text, len);
	else
		claim_bad_session(k, "first message is neither a session id, "
		    "a hello nor a run");
}

void
claim_hello(struct wk *k, const struct cJSON *msg)
{
	const cJSON	*id = cJSON_GetObjectItemCaseSensitive(msg, "session");

	if (!cJSON_IsString(id) ||
	    !session_id_valid(id->valuestring, strlen(id->valuestring))) {
		claim_bad_session(k, "hello needs \"session\": " BAD_ID_RULE);
		return;
	}
	claim_start(k, id->valuestring, strlen(id->valuestring));
}

/* A run came first: the session gets a random id. */
void
claim_random(struct wk *k)
{
	char	id[SESSION_ID_RANDOM_LEN + 1];

	session_id_random(id);
	claim_start(k, id, SESSION_ID_RANDOM_LEN);
}

void
claim_granted(struct wk *k, bool superseded)
{
	log_debug("event=granted session=%s superseded=%d", k->k_session,
	    superseded);
	k->k_state = WS_GRANTED;
	lws_sul_cancel(&k->k_sul_alive);
	contain_session(k);
	event_ready(k, superseded);
	conn_rx_update(k);
	if (k->k_conn)		/* the wait was ours, not the client's */
		lws_validity_confirmed(k->k_conn);
	request_release(k);
}
