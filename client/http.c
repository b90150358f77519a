/*
 * http.c - --list and --describe NAME: a GET of /handlers or
 * /handlers/NAME on the host of the -u URL, with its credentials.
 *
 * --list prints the handler names, one a line (--json: the server's array
 * as it came); --describe prints the handler's description as JSON.  A
 * 404 for --describe is "no such handler", exit 1; anything else that is
 * not a 200 with JSON is exit 3, as for the WebSocket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"

int
http_path(const struct wstask *w, char **path)
{
	char	*name;
	int	 n;

	if (*w->w_list == '\0')
		return (*path = strdup("/handlers")) ? 0 : -1;
	if ((name = url_escape(w->w_list)) == NULL)
		return -1;
	n = asprintf(path, "/handlers/%s", name);
	free(name);
	return n < 0 ? -1 : 0;
}

static int
http_print_list(const cJSON *names)
{
	const cJSON	*n;

	if (!cJSON_IsArray(names))
		return -1;
	cJSON_ArrayForEach(n, names)
		if (!cJSON_IsString(n))
			return -1;
	cJSON_ArrayForEach(n, names)
		printf("%s\n", n->valuestring);
	return 0;
}

static int
http_print(const struct wstask *w, const cJSON *v)
{
	char	*s;

	if (w->w_json && !w->w_quiet) {
		cJSON_Minify(w->w_body);
		printf("%s\n", w->w_body);
		return 0;
	}
	if (*w->w_list == '\0')
		return w->w_quiet ? 0 : http_print_list(v);
	if (!cJSON_IsObject(v))
		return -1;
	if (w->w_quiet)
		return 0;
	if ((s = cJSON_Print(v)) == NULL) {
		log_warnx("cJSON_Print: out of memory");
		return 0;
	}
	printf("%s\n", s);
	free(s);
	return 0;
}

/* The whole reply is in: print it, decide the exit status. */
void
http_reply(struct wstask *w)
{
	int	 st = w->w_http_status;
	cJSON	*v;

	w->w_phase = PH_FINISHED;
	if (st == 404 && *w->w_list) {
		run_decide(w, EXIT_TASK_FAILED, NULL, "%s: no such handler",
		    w->w_list);
		return;
	}
	if (st != 200) {
		run_decide(w, EXIT_PROTOCOL, NULL, "GET %s: HTTP %d%s",
		    *w->w_list ? "/handlers/NAME" : "/handlers", st, st == 401 ?
		    " (a user and password are needed: WSTASK_AUTH or the URL)" :
		    "");
		return;
	}
	v = cJSON_Parse(w->w_body ? w->w_body : "");
	if (v == NULL || http_print(w, v)) {
		run_decide(w, EXIT_PROTOCOL, NULL, "not a wstaskd server: "
		    "its /handlers reply is not what wstaskd sends");
		cJSON_Delete(v);
		return;
	}
	cJSON_Delete(v);
	if (fflush(stdout) == EOF)
		log_warn("write to stdout");
	run_decide(w, EXIT_ALL_OK, NULL, NULL);
}
