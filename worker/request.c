/*
 * request.c - every client message, parsed once and dispatched from one
 * table (SPEC 2.1, 2.2).
 *
 * The rules of the protocol are the rows' flags, in the manner of
 * OpenSSH's mon_table:
 *   RQ_FIRST    only before the session is known (hello); afterwards it
 *               is bad_message;
 *   RQ_STARTS   before the session is known, starts one with a random id
 *               (run), and waits for the grant as below;
 *   RQ_SESSION  acts on the session: while the claim waits it is held,
 *               and it runs after `ready`, in the order it came.
 * A message with none of them is handled whenever it comes.  Text that
 * does not parse is bad_json; a JSON value that is not an object (but for
 * the bare array, a run of those tasks) or has no known "type" is
 * bad_message; neither closes the connection.  Before the session is
 * known, text that is not JSON at all is the seed's bare session id.
 */
#include <ctype.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "worker.h"

#define RQ_FIRST	0x01
#define RQ_STARTS	0x02
#define RQ_SESSION	0x04

struct request_type {
	const char	*rq_type;
	void		(*rq_fn)(struct wk *, const cJSON *);
	unsigned	 rq_flags;
};

static void
request_run(struct wk *k, const cJSON *msg)
{
	struct batch	*b;

	if ((b = batch_new(k, msg)) != NULL)
		batch_submit(k, b);
}

/* With nothing running (before the session, say) a cancel is ignored. */
static void
request_cancel(struct wk *k, const cJSON *msg)
{
	(void)msg;
	batch_cancel_request(k);
}

static const struct request_type request_types[] = {
	{ "run",	request_run,		RQ_STARTS | RQ_SESSION },
	{ "cancel",	request_cancel,		RQ_SESSION },
	{ "hello",	claim_hello,		RQ_FIRST },
};

/* The row for msg, or NULL with *why set for bad_message. */
static const struct request_type *
request_lookup(const cJSON *msg, const char **why)
{
	const cJSON	*type;
	size_t		 i;

	if (cJSON_IsArray(msg))		/* the seed's bare list of tasks */
		return &request_types[0];
	if (!cJSON_IsObject(msg)) {
		*why = "message is not a JSON object";
		return NULL;
	}
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (!cJSON_IsString(type)) {
		*why = "message has no \"type\" string";
		return NULL;
	}
	for (i = 0; i < sizeof(request_types) / sizeof(request_types[0]); i++)
		if (!strcmp(type->valuestring, request_types[i].rq_type))
			return &request_types[i];
	*why = NULL;
	return NULL;
}

/* Keeps msg for after the grant; -1 (msg still the caller's) without memory. */
static int
request_hold(struct wk *k, cJSON *msg)
{
	if (k->k_held == NULL && (k->k_held = cJSON_CreateArray()) == NULL) {
		log_warnx("cJSON_CreateArray: out of memory");
		return -1;
	}
	if (!cJSON_AddItemToArray(k->k_held, msg)) {
		log_warnx("cJSON_AddItemToArray: out of memory");
		return -1;
	}
	return 0;
}

/* Runs, in order, what came while the claim waited.  Called at the grant. */
void
request_release(struct wk *k)
{
	const struct request_type	*rt;
	const char			*why;
	cJSON				*held = k->k_held, *msg;

	k->k_held = NULL;
	while (held && (msg = cJSON_DetachItemFromArray(held, 0)) != NULL) {
		if (k->k_going == GO_NONE && !k->k_close_code &&
		    (rt = request_lookup(msg, &why)) != NULL)
			rt->rq_fn(k, msg);
		cJSON_Delete(msg);
	}
	cJSON_Delete(held);
}

/* Returns whether it kept msg. */
static bool
request_dispatch(struct wk *k, const struct request_type *rt, cJSON *msg)
{
	if ((rt->rq_flags & RQ_FIRST) && k->k_have_id) {
		event_error(k, "bad_message", NULL,
		    "the session is already set");
		return false;
	}
	if ((rt->rq_flags & RQ_STARTS) && !k->k_have_id) {
		/* Granting a session whose run was lost would be a silent loss. */
		if (request_hold(k, msg) < 0) {
			conn_close(k, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
			    "server out of memory");
			return false;
		}
		claim_random(k);
		return true;
	}
	if ((rt->rq_flags & RQ_SESSION) && k->k_state == WS_CLAIMING) {
		if (request_hold(k, msg) < 0) {
			conn_close(k, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
			    "server out of memory");
			return false;
		}
		return true;
	}
	rt->rq_fn(k, msg);
	return false;
}

static bool
request_is_json(const char *text, size_t len)
{
	size_t	i = 0;

	while (i < len && isspace((unsigned char)text[i]))
		i++;
	return i < len && (text[i] == '{' || text[i] == '[');
}

void
request_message(struct wk *k, const char *text, size_t len)
{
	const struct request_type	*rt;
	const char			*why;
	cJSON				*msg;

	/* Closing (a bad session id, say): nothing it sends counts now. */
	if (k->k_going != GO_NONE || k->k_close_code)
		return;
	if (!k->k_have_id && !request_is_json(text, len)) {
		claim_bare(k, text, len);
		return;
	}
	if ((msg = json_parse(text, len, &why)) == NULL) {
		event_error(k, "bad_json", NULL, "%s", why);
		return;
	}
	if ((rt = request_lookup(msg, &why)) == NULL) {
		if (why)
			event_error(k, "bad_message", NULL, "%s", why);
		else
			event_error(k, "bad_message", NULL, "unknown type "
			    "\"%.64s\"", cJSON_GetObjectItemCaseSensitive(msg,
			    "type")->valuestring);
		cJSON_Delete(msg);
		return;
	}
	if (!request_dispatch(k, rt, msg))
		cJSON_Delete(msg);
}
