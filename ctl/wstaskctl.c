/*
 * wstaskctl.c - control a running wstaskd through its control socket, in
 * the manner of OpenBSD's relayctl and smtpctl (wstaskctl(8)).
 *
 * One command per run: it is sent as one line, the daemon's answer is
 * read to EOF, and the exit status says how it went: 0 done, 1 refused or
 * the daemon cannot be reached (with a one-line reason), 64 bad usage.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "ctlsock.h"

#define EX_USAGE	64
#define ANSWER_MAX	(4 * 1024 * 1024)

#ifndef WSTASKCTL_SOCKET
#define WSTASKCTL_SOCKET	"/run/wstaskd/control.sock"
#endif

struct cmd {
	const char	*c_name;
	int		 c_nargs;	/* 0 or 1 */
	const char	*c_help;
};

static const struct cmd cmds[] = {
	{ "status", 0, "the daemon, then one line per worker" },
	{ "kill", 1, "end session ID (reason killed, close 4002)" },
	{ "drain", 0, "answer /healthz with 503 draining; keep serving" },
	{ "resume", 0, "undo drain" },
	{ "reload", 0, "as SIGHUP: reopen the log, reread --credentials" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "usage: wstaskctl [-j] [-s socket] command [argument]\n"
	    "  -s, --socket PATH  the daemon's --control socket (default "
	    WSTASKCTL_SOCKET ")\n"
	    "  -j, --json         status as JSON\n"
	    "  -h, --help         this text\n"
	    "commands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %-6s %-3s %s\n", cmds[i].c_name,
		    cmds[i].c_nargs ? "ID" : "", cmds[i].c_help);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list	ap;

	fputs("wstaskctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		die(EX_USAGE, "-s: %s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die(1, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die(1, "cannot reach wstaskd at %s: %s%s", path,
		    strerror(errno), errno == ENOENT || errno == ECONNREFUSED ?
		    " (is it running with --control?)" : "");
	return fd;
}

/* Sends the request and reads the answer to EOF, within the time-out. */
static char *
ctl_ask(int fd, const char *req)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	size_t		 len = 0, cap = 4096;
	char		*buf;
	ssize_t		 n;
	int		 r;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		die(1, "write: %s", strerror(errno));
	if ((buf = malloc(cap)) == NULL)
		die(1, "out of memory");
	for (;;) {
		if ((r = poll(&pfd, 1, 2 * CTLSOCK_TIMEOUT_MS)) == 0)
			die(1, "no answer from wstaskd");
		if (r < 0)
			die(1, "poll: %s", strerror(errno));
		if (len + 1 >= cap) {
			if (cap >= ANSWER_MAX || (buf = realloc(buf, cap *= 2)) ==
			    NULL)
				die(1, "answer too large or out of memory");
		}
		if ((n = read(fd, buf + len, cap - len - 1)) < 0)
			die(1, "read: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static void
status_print(const char *json)
{
	cJSON		*st = cJSON_Parse(json), *w;
	const cJSON	*ws;
	double		 now = (double)time(NULL);

	if (st == NULL)
		die(1, "status: the daemon's answer is not JSON");
#define NUM(o, k)	cJSON_GetNumberValue(cJSON_GetObjectItem((o), (k)))
#define STR(o, k)	(cJSON_GetStringValue(cJSON_GetObjectItem((o), (k))) ? \
			    cJSON_GetStringValue(cJSON_GetObjectItem((o), (k))) : "-")
	printf("wstaskd %s pid %.0f, up %.0f s, %.0f sessions, %.0f tasks "
	    "running, %s\n", STR(st, "version"), NUM(st, "pid"),
	    NUM(st, "uptime"), NUM(st, "sessions"), NUM(st, "tasks_running"),
	    cJSON_IsTrue(cJSON_GetObjectItem(st, "draining")) ? "draining" :
	    "accepting");
	printf("%-8s %-10s %-24s %-22s %-12s %8s %5s\n", "PID", "STATE",
	    "SESSION", "PEER", "USER", "AGE", "TASKS");
	ws = cJSON_GetObjectItem(st, "workers");
	cJSON_ArrayForEach(w, ws)
		printf("%-8.0f %-10s %-24s %-22s %-12s %7.0fs %5.0f\n",
		    NUM(w, "pid"), STR(w, "state"), STR(w, "session"),
		    STR(w, "peer"), STR(w, "user"), now - NUM(w, "since"),
		    NUM(w, "tasks"));
#undef NUM
#undef STR
	cJSON_Delete(st);
}

static const struct cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].c_name, name))
			return &cmds[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = WSTASKCTL_SOCKET, *nl;
	const struct cmd *c;
	char		 req[CTLSOCK_LINE_MAX + 1], *ans;
	bool		 json = false;
	int		 ch, fd;

	while ((ch = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1)
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die(EX_USAGE, "no command (status, kill, drain, resume, reload)");
	if ((c = cmd_find(argv[0])) == NULL)
		die(EX_USAGE, "%s: unknown command", argv[0]);
	if (argc - 1 != c->c_nargs)
		die(EX_USAGE, "%s: %s", c->c_name, c->c_nargs ? "needs a "
		    "session id" : "takes no argument");
	if (c->c_nargs && (strlen(argv[1]) > 200 || strpbrk(argv[1], " \n")))
		die(EX_USAGE, "%s: bad session id", c->c_name);
	snprintf(req, sizeof(req), "%s%s%s\n", c->c_name, c->c_nargs ? " " :
	    "", c->c_nargs ? argv[1] : "");
	fd = ctl_connect(path);
	ans = ctl_ask(fd, req);
	close(fd);
	if (strncmp(ans, "ok\n", 3) != 0) {
		const char *why = strncmp(ans, "error: ", 7) ? ans : ans + 7;

		nl = strchr(why, '\n');
		die(1, "%s: %.*s", c->c_name, nl ? (int)(nl - why) :
		    (int)strlen(why), why[0] ? why : "no answer");
	}
	if (!strcmp(c->c_name, "status")) {
		if (json)
			fputs(ans + 3, stdout);
		else
			status_print(ans + 3);
	}
	free(ans);
	return 0;
}
