/*
 * main.c - wstask's command line, its output mode and its exit status.
 *
 * The flags are one table that getopt_long, --help and the man page test
 * share.  Everything the command line can get wrong (a flag, a URL, a
 * session id, a TASK whose ARGS is not JSON, a -f file) is found here,
 * before any connection: a one-line message naming it, exit status 64.
 * Then the loop runs until run.c (or http.c) has decided the status.
 */
#include <getopt.h>
#include <signal.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "session_id.h"

#ifndef WSTASKD_VERSION
#define WSTASKD_VERSION "0.0.0"
#endif

#define LIMIT_MAX	1000000

enum opt_id { O_FILE, O_URL, O_SESSION, O_LIMIT, O_LOG, O_JSON, O_QUIET,
    O_LIST, O_DESCRIBE, O_HELP, O_VERSION, NOPTS };

struct opt {
	const char	*o_long;
	int		 o_short;	/* 0: long only */
	const char	*o_arg;		/* NULL: no argument */
	const char	*o_help;
};

static const struct opt opt_table[NOPTS] = {
	[O_FILE] = { "file", 'f', "FILE",
	    "run the batch in FILE (a tasks array or a run object); - is stdin" },
	[O_URL] = { "url", 'u', "URL",
	    "wstaskd's ws://, wss:// or ws+unix: URL; also WSTASK_URL "
	    "(default " URL_DEFAULT ")" },
	[O_SESSION] = { "session", 's', "ID",
	    "the session id (a new run supersedes the session's old one)" },
	[O_LIMIT] = { "limit", 'l', "N",
	    "run at most N tasks at once (the server caps it)" },
	[O_LOG] = { "log", 0, NULL,
	    "have the tasks' stderr lines sent, and print them" },
	[O_JSON] = { "json", 0, NULL,
	    "print every event as a JSON line (when stdout is not a terminal, "
	    "always)" },
	[O_QUIET] = { "quiet", 'q', NULL,
	    "print nothing on stdout; failures still go to stderr" },
	[O_LIST] = { "list", 0, NULL, "list the server's handlers and exit" },
	[O_DESCRIBE] = { "describe", 0, "NAME",
	    "print the description of handler NAME and exit" },
	[O_HELP] = { "help", 'h', NULL, "print this help and exit" },
	[O_VERSION] = { "version", 'V', NULL, "print the version and exit" },
};

struct cmdline {
	const char	*c_file, *c_url, *c_session, *c_list;
	long		 c_limit;
	bool		 c_log, c_json, c_quiet;
};

static void
main_usage(FILE *fp)
{
	char	left[64];
	size_t	i;

	fprintf(fp, "usage: wstask [options] TASK...   (TASK: NAME or "
	    "NAME=ARGS, ARGS as JSON)\n"
	    "       wstask [options] -f FILE\n"
	    "       wstask [options] --list | --describe NAME\n");
	for (i = 0; i < NOPTS; i++) {
		const struct opt *o = &opt_table[i];

		if (o->o_short)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->o_short,
			    o->o_long, o->o_arg ? " " : "",
			    o->o_arg ? o->o_arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->o_long,
			    o->o_arg ? " " : "", o->o_arg ? o->o_arg : "");
		fprintf(fp, "  %-24s %s\n", left, o->o_help);
	}
	fprintf(fp, "Exit status: 0 all tasks ok, 1 a task failed, 2 the batch "
	    "was refused,\n3 cannot connect or protocol error, 4 superseded "
	    "or killed, 5 server\nshut down, 64 bad usage, 130 interrupted,\n141 the reader of stdout went away.\n");
}

static noreturn void
main_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: one line naming what is wrong, exit 64, nothing sent. */
static noreturn void
main_bad(const char *fmt, ...)
{
	va_list	ap;

	fputs("wstask: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see wstask --help)\n", stderr);
	exit(EXIT_USAGE);
}

static long
main_limit(const char *arg)
{
	char	*end;
	long	 n;

	n = strtol(arg, &end, 10);
	if (*arg < '0' || *arg > '9' || *end || n < 1 || n > LIMIT_MAX)
		main_bad("-l %s: not a number from 1 to %d", arg, LIMIT_MAX);
	return n;
}

static void
main_opt(struct cmdline *c, enum opt_id id, const char *arg)
{
	switch (id) {
	case O_FILE:	c->c_file = arg; break;
	case O_URL:	c->c_url = arg; break;
	case O_SESSION:	c->c_session = arg; break;
	case O_LIMIT:	c->c_limit = main_limit(arg); break;
	case O_LOG:	c->c_log = true; break;
	case O_JSON:	c->c_json = true; break;
	case O_QUIET:	c->c_quiet = true; break;
	case O_LIST:	c->c_list = ""; break;
	case O_DESCRIBE:
		if (*arg == '\0')
			main_bad("--describe: no handler name");
		c->c_list = arg;
		break;
	case O_HELP:
		main_usage(stdout);
		exit(0);
	case O_VERSION:
		printf("wstask %s\n", WSTASKD_VERSION);
		exit(0);
	default:
		break;
	}
}

static int
main_getopt(int argc, char **argv, struct cmdline *c)
{
	struct option	 longopts[NOPTS + 1];
	char		 shortopts[2 * NOPTS + 2], *sp = shortopts;
	size_t		 i;
	int		 ch;

	memset(longopts, 0, sizeof(longopts));
	*sp++ = ':';	/* report a missing argument as ':' */
	for (i = 0; i < NOPTS; i++) {
		longopts[i].name = opt_table[i].o_long;
		longopts[i].has_arg = opt_table[i].o_arg ? required_argument :
		    no_argument;
		longopts[i].val = (int)(256 + i);
		if (opt_table[i].o_short) {
			*sp++ = (char)opt_table[i].o_short;
			if (opt_table[i].o_arg)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			if (optopt && optopt < 256)
				main_bad("-%c: %s", optopt, ch == ':' ?
				    "missing value" : "unknown option");
			main_bad("%s: %s", argv[optind - 1], ch == ':' ?
			    "missing value" : "unknown option");
		}
		for (i = 0; ch < 256 && i < NOPTS; i++)
			if (opt_table[i].o_short == ch)
				ch = (int)(256 + i);
		main_opt(c, (enum opt_id)(ch - 256), optarg);
	}
	return optind;
}

/* NO_COLOR (no-color.org) and TERM=dumb ask for text without escapes. */
static enum view_mode
main_mode(const struct cmdline *c)
{
	const char	*term = getenv("TERM"), *nc = getenv("NO_COLOR");

	if (c->c_quiet)
		return VIEW_QUIET;
	if (c->c_json || !isatty(STDOUT_FILENO))
		return VIEW_JSON;
	if ((nc && *nc) || term == NULL || !strcmp(term, "dumb"))
		return VIEW_PLAIN;
	return VIEW_TABLE;
}

/* The URL as it may be shown: no password. */
static char *
main_where(const struct url *u)
{
	char	*s;
	int	 n;

	if (u->u_unix)
		n = asprintf(&s, "ws+unix:%s", u->u_unix);
	else
		n = asprintf(&s, "%s://%s%s", u->u_tls ? "wss" : "ws",
		    u->u_hosthdr, u->u_path);
	return n < 0 ? NULL : s;
}

static void
main_target(struct wstask *w, const struct cmdline *c)
{
	const char	*url = c->c_url ? c->c_url : getenv("WSTASK_URL");
	char		 err[256];

	if (url == NULL || *url == '\0')
		url = URL_DEFAULT;
	if (url_parse(&w->w_url, url, getenv("WSTASK_AUTH"), err, sizeof(err)))
		main_bad("%s%s: %s", c->c_url ? "-u " : "WSTASK_URL=", url,
		    err);
	if (c->c_session && !session_id_valid(c->c_session,
	    strlen(c->c_session)))
		main_bad("-s %s: not a session id (1 to %d of A-Z a-z 0-9 . _ "
		    ": -)", c->c_session, SESSION_ID_MAX);
	if (c->c_session && url_add_session(&w->w_url, c->c_session, err,
	    sizeof(err)))
		main_bad("-s %s: %s", c->c_session, err);
	if ((w->w_where = main_where(&w->w_url)) == NULL)
		fatal("asprintf");
}

/* The run message from the TASKs or -f; exit 64 for what is wrong. */
static void
main_batch(struct wstask *w, const struct cmdline *c, int n, char **tasks)
{
	char	err[512];

	if (c->c_list) {
		if (n || c->c_file)
			main_bad("--list and --describe take no TASK or -f");
		return;
	}
	if (c->c_file && n)
		main_bad("%s: a TASK and -f together", tasks[0]);
	if (!c->c_file && n == 0)
		main_bad("no TASK given");
	w->w_run = c->c_file ? batch_from_file(c->c_file, err, sizeof(err)) :
	    batch_from_args(tasks, n, err, sizeof(err));
	if (w->w_run == NULL)
		main_bad("%s", err);
	if (batch_set(w->w_run, c->c_limit, c->c_log))
		fatalx("out of memory");
}

static int
main_loop(struct wstask *w)
{
	char	*path = NULL;

	if (w->w_list && http_path(w, &path))
		fatalx("out of memory");
	if (conn_open(w, path) == 0)
		while (w->w_phase != PH_FINISHED) {
			if (lws_service(w->w_ctx, 0) < 0) {
				run_decide(w, EXIT_PROTOCOL, "failed",
				    "the event loop failed");
				break;
			}
			/* closing the connection cancels what still runs */
			if (w->w_view.v_gone) {
				run_decide(w, 128 + SIGPIPE, NULL, NULL);
				break;
			}
		}
	free(path);
	return w->w_exit;
}

int
main(int argc, char **argv)
{
	struct wstask	 w;
	struct cmdline	 c;
	int		 first, status;

	memset(&w, 0, sizeof(w));
	memset(&c, 0, sizeof(c));
	setlocale(LC_CTYPE, "");
	log_init("wstask", LOG_LVL_INFO, false);
	first = main_getopt(argc, argv, &c);
	main_batch(&w, &c, argc - first, argv + first);
	main_target(&w, &c);
	w.w_list = c.c_list;
	w.w_json = c.c_json;	/* for --list; the view decides for itself */
	w.w_quiet = c.c_quiet;
	if (view_init(&w.w_view, c.c_list ? VIEW_QUIET : main_mode(&c),
	    w.w_run) || conn_init(&w))
		status = EXIT_PROTOCOL;
	else
		status = main_loop(&w);
	view_end(&w.w_view, NULL);
	conn_done(&w);
	view_free(&w.w_view);
	cJSON_Delete(w.w_run);
	url_free(&w.w_url);
	free(w.w_where);
	return status;
}
