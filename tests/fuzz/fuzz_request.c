/*
 * fuzz_request.c - libFuzzer target: a client message through the worker's
 * strict JSON parser and batch validation, and a handler's output through
 * the value rules (UTF-8 repair, strict JSON).
 *
 * The value rules run last: they change the text they are given.
 * Runs the real worker code with a worker struct that has no connection,
 * so every event it would send is built and dropped.  Nothing is spawned:
 * validation never starts a batch.  Handler names are checked against
 * FUZZ_TASKS (default tests/handlers).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "worker.h"

static struct wk	fz_wk;
static struct config	fz_cfg;

static void
fuzz_init(void)
{
	struct lws_context_creation_info info;
	const char	*dir = getenv("FUZZ_TASKS");

	fz_cfg.tasks_dir = realpath(dir ? dir : "tests/handlers", NULL);
	if (fz_cfg.tasks_dir == NULL)
		abort();
	/*
	 * A context that is never serviced: a rejected batch's report to the
	 * supervisor is held on its timer list (worker/ctl.c), as in a worker.
	 */
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	lws_set_log_level(0, NULL);
	if ((fz_wk.k_ctx = lws_create_context(&info)) == NULL)
		abort();
	fz_cfg.limit = 10;
	fz_cfg.max_batch = 1000;
	fz_cfg.max_output = 1048576;
	fz_cfg.task_timeout_s = 5;
	fz_wk.k_cfg = &fz_cfg;
	fz_wk.k_qtail = &fz_wk.k_qhead;
	RB_INIT(&fz_wk.k_names);
	fz_wk.k_tasks_fd = open(fz_cfg.tasks_dir, O_PATH | O_DIRECTORY);
	if (fz_wk.k_tasks_fd < 0)
		abort();
	strcpy(fz_wk.k_session, "fuzz");
	fz_wk.k_have_id = true;
}

static void
fuzz_request(const char *text, size_t len)
{
	struct batch	*b;
	const char	*why;
	cJSON		*msg;

	if ((msg = json_parse(text, len, &why)) == NULL)
		return;
	if ((b = batch_new(&fz_wk, msg)) != NULL)
		batch_free(b);
	cJSON_Delete(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*text, *value_text;

	if (fz_cfg.tasks_dir == NULL)
		fuzz_init();
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_request(text, size);
	cJSON_Delete(value_from_output(text, size, &value_text));
	free(value_text);
	nameset_clear(&fz_wk.k_names);
	fz_wk.k_autoname = 0;
	free(text);
	return 0;
}
