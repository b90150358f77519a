/*
 * request.c - a client message once the session is known (SPEC 2.2).
 *
 * Text that does not parse is bad_json; a JSON value that is not an object
 * (but for the bare array, a run of those tasks) or has no known "type" is
 * bad_message.  Neither closes the connection.
 */
#include <ctype.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "worker.h"

static void
request_run(struct wk *k, const cJSON *msg, const cJSON *tasks)
{
	struct batch	*b;

	if ((b = batch_parse(k, msg, tasks)) != NULL)
		batch_submit(k, b);
}

void
request_handle(struct wk *k, const char *text, size_t len)
{
	const cJSON	*type;
	const char	*why;
	cJSON		*msg;

	if ((msg = json_parse(text, len, &why)) == NULL) {
		event_error(k, "bad_json", NULL, "%s", why);
		return;
	}
	type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	if (cJSON_IsArray(msg))
		request_run(k, NULL, msg);
	else if (!cJSON_IsObject(msg))
		event_error(k, "bad_message", NULL,
		    "message is not a JSON object");
	else if (!cJSON_IsString(type))
		event_error(k, "bad_message", NULL,
		    "message has no \"type\" string");
	else if (!strcmp(type->valuestring, "run"))
		request_run(k, msg, cJSON_GetObjectItemCaseSensitive(msg,
		    "tasks"));
	else if (!strcmp(type->valuestring, "cancel"))
		batch_cancel_request(k);
	else if (!strcmp(type->valuestring, "hello"))
		event_error(k, "bad_message", NULL,
		    k->k_have_id ? "the session is already set" :
		    "hello must be the first message");
	else
		event_error(k, "bad_message", NULL, "unknown type \"%.64s\"",
		    type->valuestring);
	cJSON_Delete(msg);
}
