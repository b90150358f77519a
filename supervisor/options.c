/*
 * options.c - the command line: one table that parsing and --help share.
 *
 * Every flag of wstaskd(8) is a row of opt_table; usage() prints the table,
 * and a test holds the man page to the same list.  A bad flag or value is a
 * one-line message naming the flag and exit status 64 (EX_USAGE).  Runs
 * once in the supervisor before anything is forked.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

#ifndef WSTASKD_VERSION
#define WSTASKD_VERSION "0.0.0"
#endif
#ifndef WSTASKD_TASKS_DIR
#define WSTASKD_TASKS_DIR "/usr/local/libexec/wstaskd"
#endif
#ifndef WSTASKD_WWW_DIR
#define WSTASKD_WWW_DIR "/usr/local/share/wstaskd/www"
#endif

struct opt;
typedef void opt_fn(const struct opt *, const char *, struct config *);

struct opt {
	const char	*o_long;
	int		 o_short;	/* 0: long only */
	const char	*o_arg;		/* NULL: no argument */
	long long	 o_min, o_max;	/* for numbers */
	size_t		 o_off;		/* offsetof in struct config */
	opt_fn		*o_fn;
	const char	*o_help;
};

static opt_fn opt_listen, opt_dir, opt_path, opt_uint, opt_size, opt_origin,
    opt_pass_env, opt_flag, opt_string, opt_string_or_none, opt_credential, opt_trusted,
    opt_verbose, opt_quiet, opt_version, opt_help;

#define CFG(m)	offsetof(struct config, m)

/* The defaults in the help are the ones in force: one source, config.h. */
#define STR_(x)	#x
#define STR(x)	STR_(x)

static const struct opt opt_table[] = {
	{ "listen", 'l', "ADDR", 0, 0, 0, opt_listen,
	  "listen on HOST:PORT, [V6ADDR]:PORT or unix:PATH; repeatable "
	  "(default " DEF_LISTEN ")" },
	{ "tasks", 't', "DIR", 0, 0, CFG(tasks_dir), opt_dir,
	  "run handlers DIR/NAME (default " WSTASKD_TASKS_DIR ")" },
	{ "www", 'w', "DIR", 0, 0, CFG(www_dir), opt_dir,
	  "serve static files from DIR, '' for none "
	  "(default " WSTASKD_WWW_DIR ")" },
	{ "path", 0, "PATH", 0, 0, 0, opt_path,
	  "WebSocket endpoint path (default " DEF_PATH ")" },
	{ "limit", 0, "N", 1, 1000, CFG(limit), opt_uint,
	  "at most N tasks of a batch at once; caps a batch's limit "
	  "(default " STR(DEF_LIMIT) ")" },
	{ "max-sessions", 0, "N", 1, 1000000, CFG(max_sessions), opt_uint,
	  "at most N connections at once, spare workers not counted "
	  "(default " STR(DEF_MAX_SESSIONS) ")" },
	{ "max-batch", 0, "N", 1, 1000000, CFG(max_batch), opt_uint,
	  "at most N tasks in one batch (default " STR(DEF_MAX_BATCH) ")" },
	{ "max-message", 0, "BYTES", 64, 1073741824, CFG(max_message), opt_size,
	  "largest client message; over it the connection is closed "
	  "with 1009 (default " STR(DEF_MAX_MESSAGE) ")" },
	{ "max-headers", 0, "BYTES", 4096, MAX_HEADERS_MAX, CFG(max_headers),
	  opt_uint, "room for a request's line and headers; over it the "
	  "answer is 431 (default " STR(DEF_MAX_HEADERS) ")" },
	{ "max-output", 0, "BYTES", 1, 1073741824, CFG(max_output), opt_size,
	  "most stdout read from a task; over it the task is killed "
	  "(default " STR(DEF_MAX_OUTPUT) ")" },
	{ "task-timeout", 0, "SECS", 0, 31536000, CFG(task_timeout_s), opt_uint,
	  "bound every task's run time, 0 for none "
	  "(default " STR(DEF_TASK_TIMEOUT) ")" },
	{ "kill-grace", 0, "MS", 0, 600000, CFG(kill_grace_ms), opt_uint,
	  "SIGKILL a cancelled task this long after SIGTERM "
	  "(default " STR(DEF_KILL_GRACE_MS) ")" },
	{ "ping-interval", 0, "SECS", 1, 65534, CFG(ping_interval), opt_uint,
	  "ping a client after SECS without proof of life "
	  "(default " STR(DEF_PING_INTERVAL) ")" },
	{ "ping-timeout", 0, "SECS", 2, 65535, CFG(ping_timeout), opt_uint,
	  "drop a client after SECS without proof of life; must exceed "
	  "--ping-interval (default " STR(DEF_PING_TIMEOUT) ")" },
	{ "origin", 0, "ORIGIN", 0, 0, 0, opt_origin,
	  "also accept WebSocket upgrades from scheme://host[:port], or '*' "
	  "for any; repeatable" },
	{ "trusted-proxy", 0, "CIDR", 0, 0, 0, opt_trusted,
	  "log the client named by X-Forwarded-For or Forwarded when the peer "
	  "is in CIDR ('unix' for unix listeners); repeatable" },
	{ "pass-env", 0, "NAME", 0, 0, 0, opt_pass_env,
	  "pass environment variable NAME to handlers; repeatable" },
	{ "spare", 0, "N", 0, 1000, CFG(spare), opt_uint,
	  "keep N workers forked and waiting for a connection "
	  "(default " STR(DEF_SPARE) ")" },
	{ "handshake-timeout", 0, "SECS", 1, 3600, CFG(handshake_timeout),
	  opt_uint, "close a connection not upgraded to a WebSocket within "
	  "SECS (default " STR(DEF_HANDSHAKE_TIMEOUT) ")" },
	{ "ssl-cert", 0, "FILE", 0, 0, CFG(ssl_cert), opt_string,
	  "serve TLS on the TCP listeners with this PEM certificate (and its "
	  "chain)" },
	{ "ssl-key", 0, "FILE", 0, 0, CFG(ssl_key), opt_string,
	  "the PEM private key of --ssl-cert" },
	{ "credentials", 0, "FILE", 0, 0, CFG(credentials_file), opt_string,
	  "require HTTP basic auth for the users in FILE (USER:HASH lines, "
	  "crypt(3) hashes); reread on SIGHUP; session ids are then per user" },
	{ "credential", 0, "USER:PASS", 0, 0, 0, opt_credential,
	  "require HTTP basic auth for USER with password PASS (visible in "
	  "ps: prefer --credentials); repeatable" },
	{ "user", 0, "USER", 0, 0, CFG(user), opt_string,
	  "after binding, drop privileges to USER (and its group)" },
	{ "group", 0, "GROUP", 0, 0, CFG(group), opt_string,
	  "with --user, run as GROUP instead of USER's group" },
	{ "cgroup", 0, "DIR", 0, 0, CFG(cgroup_dir), opt_string,
	  "run each session and each task in a cgroup of its own below the "
	  "cgroup v2 directory DIR, or 'auto' for the daemon's own" },
	{ "task-pids-max", 0, "N", 1, 4194304, CFG(task_pids_max), opt_uint,
	  "with --cgroup: at most N processes in one task (pids controller)" },
	{ "task-memory-max", 0, "BYTES", 1048576, 1099511627776LL,
	  CFG(task_memory_max), opt_size,
	  "with --cgroup: at most BYTES of memory for one task (memory "
	  "controller)" },
	{ "session-pids-max", 0, "N", 1, 4194304, CFG(session_pids_max),
	  opt_uint, "with --cgroup: at most N processes in one session's tasks "
	  "(pids controller)" },
	{ "session-memory-max", 0, "BYTES", 1048576, 1099511627776LL,
	  CFG(session_memory_max), opt_size,
	  "with --cgroup: at most BYTES of memory for one session's tasks "
	  "(memory controller)" },
	{ "allow-root", 0, NULL, 0, 0, CFG(allow_root), opt_flag,
	  "allow running as root without --user (handlers then run as root "
	  "too)" },
	{ "daemonize", 'D', NULL, 0, 0, CFG(daemonize), opt_flag,
	  "detach: fork twice, setsid, chdir /, stdio to /dev/null, log to "
	  "syslog" },
	{ "pidfile", 0, "FILE", 0, 0, CFG(pidfile), opt_string,
	  "write the pid to FILE, held locked; refuse to start if another "
	  "instance holds it" },
	{ "syslog", 0, NULL, 0, 0, CFG(use_syslog), opt_flag,
	  "log to syslog (LOG_DAEMON) instead of stderr" },
	{ "log-file", 0, "FILE", 0, 0, CFG(log_file), opt_string_or_none,
	  "append log lines to FILE instead, reopened on SIGHUP; '' none" },
	{ "metrics", 0, NULL, 0, 0, CFG(metrics), opt_flag,
	  "serve GET /metrics in the Prometheus text format" },
	{ "control", 0, "PATH", 0, 0, CFG(control), opt_string_or_none,
	  "serve wstaskctl(8) on the unix socket PATH (mode 0600); '' none" },
	{ "shutdown-timeout", 0, "SECS", 1, 3600, CFG(shutdown_timeout),
	  opt_uint, "on SIGTERM, SIGKILL workers still alive after SECS "
	  "(default " STR(DEF_SHUTDOWN_TIMEOUT) ")" },
	{ "check-config", 'n', NULL, 0, 0, CFG(check_only), opt_flag,
	  "check the flags and the files they name (dirs, TLS, users), then "
	  "exit 0" },
	{ "verbose", 'v', NULL, 0, 0, 0, opt_verbose,
	  "log more: debug events; twice: libwebsockets notices too" },
	{ "quiet", 'q', NULL, 0, 0, 0, opt_quiet,
	  "log only warnings and errors" },
	{ "version", 'V', NULL, 0, 0, 0, opt_version,
	  "print the version and exit" },
	{ "help", 'h', NULL, 0, 0, 0, opt_help,
	  "print this help and exit" },
};

#define NOPTS	(sizeof(opt_table) / sizeof(opt_table[0]))

/*
 * Every usage error ends here: one line naming the flag (its long name,
 * or none when the message names what is wrong) and exit status 64.
 */
static void __attribute__((__noreturn__, format(printf, 2, 3)))
opt_fail(const char *flag, const char *fmt, ...)
{
	va_list	ap;

	if (flag)
		fprintf(stderr, "wstaskd: --%s: ", flag);
	else
		fprintf(stderr, "wstaskd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_USAGE);
}

static void
usage(FILE *fp)
{
	char	left[64];
	size_t	i;

	fprintf(fp, "usage: wstaskd [options]\n");
	for (i = 0; i < NOPTS; i++) {
		const struct opt *o = &opt_table[i];

		if (o->o_short)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->o_short,
			    o->o_long, o->o_arg ? " " : "",
			    o->o_arg ? o->o_arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->o_long,
			    o->o_arg ? " " : "", o->o_arg ? o->o_arg : "");
		fprintf(fp, "  %-31s %s\n", left, o->o_help);
	}
}

/* Room for one more element at the end of a repeatable flag's array. */
static void *
opt_grow(void *array, size_t n, size_t size)
{
	void	*v;

	if ((v = reallocarray(array, n + 1, size)) == NULL)
		fatal("reallocarray");
	return v;
}

static void *
opt_field(const struct opt *o, struct config *cfg)
{
	return (char *)cfg + o->o_off;
}

static long long
opt_number(const struct opt *o, const char *arg)
{
	const char	*errstr;
	long long	 v;

	v = strtonum(arg, o->o_min, o->o_max, &errstr);
	if (errstr)
		opt_fail(o->o_long, "%s is %s (%lld to %lld)", arg, errstr,
		    o->o_min, o->o_max);
	return v;
}

static void
opt_uint(const struct opt *o, const char *arg, struct config *cfg)
{
	*(unsigned *)opt_field(o, cfg) = (unsigned)opt_number(o, arg);
}

static void
opt_size(const struct opt *o, const char *arg, struct config *cfg)
{
	*(size_t *)opt_field(o, cfg) = (size_t)opt_number(o, arg);
}

static void
opt_flag(const struct opt *o, const char *arg, struct config *cfg)
{
	(void)arg;
	*(bool *)opt_field(o, cfg) = true;
}

static void
opt_string(const struct opt *o, const char *arg, struct config *cfg)
{
	char	**field = opt_field(o, cfg);

	if (*arg == '\0')
		opt_fail(o->o_long, "empty value");
	free(*field);
	if ((*field = strdup(arg)) == NULL)
		fatal("strdup");
}

/* '' is none: an init script or a unit can always pass the flag. */
static void
opt_string_or_none(const struct opt *o, const char *arg, struct config *cfg)
{
	char	**field = opt_field(o, cfg);

	free(*field);
	*field = NULL;
	if (*arg != '\0' && (*field = strdup(arg)) == NULL)
		fatal("strdup");
}

static void
opt_credential(const struct opt *o, const char *arg, struct config *cfg)
{
	const char	*colon = strchr(arg, ':');
	char		 why[128];
	size_t		 ulen, i;

	if (colon == NULL || colon == arg || colon[1] == '\0')
		opt_fail(o->o_long, "expected USER:PASS");
	ulen = (size_t)(colon - arg);
	if (ulen > CREDENTIAL_USER_MAX)
		opt_fail(o->o_long, "user name longer than %d",
		    CREDENTIAL_USER_MAX);
	for (i = 0; i < ulen; i++)
		if (!isalnum((unsigned char)arg[i]) && !strchr("._@+-", arg[i]))
			opt_fail(o->o_long,
			    "user name must be of A-Z a-z 0-9 . _ @ + -");
	if (strlen(colon + 1) > 256)
		opt_fail(o->o_long, "password longer than 256");
	if (userdb_add_plain(&cfg->users, arg, why, sizeof(why)) < 0)
		opt_fail(o->o_long, "%s", why);
}

static void
opt_verbose(const struct opt *o, const char *arg, struct config *cfg)
{
	(void)o, (void)arg;
	if (cfg->verbosity < LOG_LVL_INFO)
		cfg->verbosity = LOG_LVL_INFO;
	else if (cfg->verbosity < LOG_LVL_TRACE)
		cfg->verbosity++;
}

static void
opt_quiet(const struct opt *o, const char *arg, struct config *cfg)
{
	(void)o, (void)arg;
	cfg->verbosity = LOG_LVL_QUIET;
}

static void
opt_version(const struct opt *o, const char *arg, struct config *cfg)
{
	(void)o, (void)arg, (void)cfg;
	printf("wstaskd %s\n", WSTASKD_VERSION);
	exit(0);
}

static void
opt_help(const struct opt *o, const char *arg, struct config *cfg)
{
	(void)o, (void)arg, (void)cfg;
	usage(stdout);
	exit(0);
}

/* Stored as given; resolved and checked once every flag is known. */
static void
opt_dir(const struct opt *o, const char *arg, struct config *cfg)
{
	char	**field = opt_field(o, cfg);

	free(*field);
	if ((*field = strdup(arg)) == NULL)
		fatal("strdup");
}

static void
opt_path(const struct opt *o, const char *arg, struct config *cfg)
{
	size_t	len = strlen(arg);

	if (arg[0] != '/' || len > 255 || strpbrk(arg, "?# \t") != NULL)
		opt_fail(o->o_long, "%s is not an absolute URL path without "
		    "query", arg);
	free(cfg->ws_path);
	if ((cfg->ws_path = strdup(arg)) == NULL)
		fatal("strdup");
}

static unsigned
listen_port(const struct opt *o, const char *text, const char *p)
{
	const char	*errstr;
	long long	 port;

	port = strtonum(p, 0, 65535, &errstr);
	if (errstr || *p == '\0')
		opt_fail(o->o_long, "%s: bad port", text);
	return (unsigned)port;
}

static void
listen_parse(const struct opt *o, const char *text, struct listen_spec *ls)
{
	char	*copy, *colon, *host;

	memset(ls, 0, sizeof(*ls));
	if ((ls->text = strdup(text)) == NULL || (copy = strdup(text)) == NULL)
		fatal("strdup");
	if (!strncmp(text, "unix:", 5)) {
		struct sockaddr_un sun;

		if (text[5] == '\0' || strlen(text + 5) >= sizeof(sun.sun_path))
			opt_fail(o->o_long, "%s: unix socket path empty or "
			    "too long", text);
		ls->family = AF_UNIX;
		ls->host = strdup(text + 5);
		free(copy);
		if (ls->host == NULL)
			fatal("strdup");
		return;
	}
	host = copy;
	if (*host == '[') {
		char *rb = strchr(host, ']');

		if (rb == NULL || rb[1] != ':')
			opt_fail(o->o_long, "%s: expected [V6ADDR]:PORT", text);
		*rb = '\0';
		host++;
		colon = rb + 1;
		ls->family = AF_INET6;
	} else {
		if ((colon = strrchr(host, ':')) == NULL)
			opt_fail(o->o_long, "%s: expected HOST:PORT", text);
		ls->family = AF_INET;
	}
	*colon = '\0';
	ls->port = listen_port(o, text, colon + 1);
	{
		unsigned char	buf[sizeof(struct in6_addr)];

		if (inet_pton(ls->family, host, buf) != 1)
			opt_fail(o->o_long, "%s: %s is not a numeric %s "
			    "address", text, host,
			    ls->family == AF_INET ? "IPv4" : "IPv6");
	}
	if ((ls->host = strdup(host)) == NULL)
		fatal("strdup");
	free(copy);
}

static void
opt_listen(const struct opt *o, const char *arg, struct config *cfg)
{
	struct listen_spec *ls;

	cfg->listens = ls = opt_grow(cfg->listens, cfg->nlistens, sizeof(*ls));
	listen_parse(o, arg, &ls[cfg->nlistens++]);
}

static void
opt_origin(const struct opt *o, const char *arg, struct config *cfg)
{
	struct origin	*v;

	if (!strcmp(arg, "*")) {
		cfg->origin_any = true;
		return;
	}
	cfg->origins = v = opt_grow(cfg->origins, cfg->norigins, sizeof(*v));
	if (origin_parse(arg, &v[cfg->norigins]) < 0)
		opt_fail(o->o_long, "%s is not scheme://host[:port]", arg);
	cfg->norigins++;
}

static void
opt_trusted(const struct opt *o, const char *arg, struct config *cfg)
{
	struct cidr	*v;

	cfg->trusted = v = opt_grow(cfg->trusted, cfg->ntrusted, sizeof(*v));
	if (cidr_parse(arg, &v[cfg->ntrusted]) < 0)
		opt_fail(o->o_long, "%s is not ADDRESS[/BITS] nor unix", arg);
	cfg->ntrusted++;
}

static void
opt_pass_env(const struct opt *o, const char *arg, struct config *cfg)
{
	const char	*value;
	char		**v, *entry;
	size_t		 i;

	if (!isalpha((unsigned char)arg[0]) && arg[0] != '_')
		opt_fail(o->o_long, "%s is not a variable name", arg);
	for (i = 1; arg[i]; i++)
		if (!isalnum((unsigned char)arg[i]) && arg[i] != '_')
			opt_fail(o->o_long, "%s is not a variable name", arg);
	if (!strncmp(arg, "WSTASK_", 7))
		opt_fail(o->o_long, "%s: WSTASK_ variables are set by wstaskd",
		    arg);
	if ((value = getenv(arg)) == NULL)
		return;		/* unset: nothing to pass */
	if (!strcmp(arg, "PATH"))
		cfg->pass_path = true;
	if (asprintf(&entry, "%s=%s", arg, value) < 0)
		fatal("asprintf");
	cfg->pass_env = v = opt_grow(cfg->pass_env, cfg->npass_env, sizeof(*v));
	v[cfg->npass_env++] = entry;
}

static char *
resolve_dir(const char *flag, const char *dir)
{
	struct stat	 st;
	char		*abs;

	if ((abs = realpath(dir, NULL)) == NULL) {
		opt_fail(flag, "%s: %s", dir, strerror(errno));
	}
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		opt_fail(flag, "%s is not a directory", dir);
	}
	return abs;
}

static void
options_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->limit = DEF_LIMIT;
	cfg->max_sessions = DEF_MAX_SESSIONS;
	cfg->max_batch = DEF_MAX_BATCH;
	cfg->max_message = DEF_MAX_MESSAGE;
	cfg->max_output = DEF_MAX_OUTPUT;
	cfg->max_headers = DEF_MAX_HEADERS;
	cfg->kill_grace_ms = DEF_KILL_GRACE_MS;
	cfg->ping_interval = DEF_PING_INTERVAL;
	cfg->ping_timeout = DEF_PING_TIMEOUT;
	cfg->task_timeout_s = DEF_TASK_TIMEOUT;
	cfg->spare = DEF_SPARE;
	cfg->verbosity = LOG_LVL_INFO;
	cfg->shutdown_timeout = DEF_SHUTDOWN_TIMEOUT;
	cfg->handshake_timeout = DEF_HANDSHAKE_TIMEOUT;
}

/* Read now, while the key is readable: workers may run as --user. */
static void
options_tls(struct config *cfg)
{
	char	err[512];
	size_t	i;

	if (cfg->ssl_cert == NULL && cfg->ssl_key == NULL)
		return;
	if (cfg->ssl_cert == NULL || cfg->ssl_key == NULL) {
		opt_fail(cfg->ssl_cert ? "ssl-cert" : "ssl-key",
		    "needs --%s too", cfg->ssl_cert ? "ssl-key" : "ssl-cert");
	}
	if (tls_pem_read(&cfg->tls, cfg->ssl_cert, cfg->ssl_key, err,
	    sizeof(err)) < 0) {
		opt_fail("ssl-cert/--ssl-key", "%s", err);
	}
	for (i = 0; i < cfg->nlistens; i++)
		cfg->listens[i].tls = cfg->listens[i].family != AF_UNIX;
}

/* --user and --group become ids now, so a typo is a usage error. */
static void
options_identity(struct config *cfg)
{
	struct passwd	*pw;
	struct group	*gr;

	if (cfg->group && cfg->user == NULL) {
		opt_fail("group", "needs --user");
	}
	if (cfg->user == NULL)
		return;
	if ((pw = getpwnam(cfg->user)) == NULL) {
		opt_fail("user", "%s: no such user", cfg->user);
	}
	cfg->uid = pw->pw_uid;
	cfg->gid = pw->pw_gid;
	if (cfg->group) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			opt_fail("group", "%s: no such group", cfg->group);
		}
		cfg->gid = gr->gr_gid;
	}
}

/* The limits are a cgroup's: cgsetup.c checks their controllers. */
static void
options_cgroup_limits(const struct config *cfg)
{
	const char	*flag = cfg->task_pids_max ? "task-pids-max" :
	    cfg->task_memory_max ? "task-memory-max" :
	    cfg->session_pids_max ? "session-pids-max" :
	    cfg->session_memory_max ? "session-memory-max" : NULL;

	if (flag && cfg->cgroup_dir == NULL)
		opt_fail(flag, "needs --cgroup");
}

/* Relative paths would change meaning after -D's chdir("/"). */
static char *
absolute_path(const char *flag, const char *path)
{
	char	cwd[PATH_MAX], *abs;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		opt_fail(flag, "getcwd: %s", strerror(errno));
	}
	if (asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

/* *path made absolute in place (the daemon's cwd becomes /). */
static void
options_absolute(char **path, const char *flag)
{
	char	*rel = *path;

	if (rel == NULL)
		return;
	if ((*path = absolute_path(flag, rel)) == NULL)
		fatal("asprintf");
	free(rel);
}

static void
options_finish(struct config *cfg)
{
	char	*dir;

	if (cfg->ping_timeout <= cfg->ping_interval) {
		opt_fail("ping-timeout", "%u must be greater than "
		    "--ping-interval %u", cfg->ping_timeout,
		    cfg->ping_interval);
	}
	if (cfg->nlistens == 0)
		opt_listen(&opt_table[0], DEF_LISTEN, cfg);
	for (size_t i = 0; i < cfg->nlistens; i++) {
		struct listen_spec *ls = &cfg->listens[i];

		if (ls->family == AF_UNIX && ls->host[0] != '/') {
			dir = ls->host;
			if ((ls->host = absolute_path("listen", dir)) == NULL)
				fatal("asprintf");
			free(dir);
		}
		if (ls->family == AF_UNIX && strlen(ls->host) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path)) {
			opt_fail("listen", "%s: unix socket path too long",
			    ls->text);
		}
	}
	options_absolute(&cfg->pidfile, "pidfile");
	if (cfg->log_file && cfg->use_syslog)
		opt_fail("log-file", "--log-file and --syslog are exclusive");
	options_absolute(&cfg->control, "control");
	options_absolute(&cfg->log_file, "log-file");
	if (cfg->control && strlen(cfg->control) >=
	    sizeof(((struct sockaddr_un *)0)->sun_path))
		opt_fail("control", "%s: unix socket path too long",
		    cfg->control);
	options_absolute(&cfg->credentials_file, "credentials");
	options_identity(cfg);
	options_tls(cfg);
	options_cgroup_limits(cfg);
	if (cfg->ws_path == NULL && (cfg->ws_path = strdup(DEF_PATH)) == NULL)
		fatal("strdup");
	dir = cfg->tasks_dir;
	cfg->tasks_dir = resolve_dir("tasks", dir ? dir : WSTASKD_TASKS_DIR);
	free(dir);
	dir = cfg->www_dir;
	if (dir && *dir == '\0')
		cfg->www_dir = NULL;
	else if (dir == NULL && access(WSTASKD_WWW_DIR, F_OK) < 0 &&
	    errno == ENOENT)
		cfg->www_missing = WSTASKD_WWW_DIR;	/* uninstalled */
	else
		cfg->www_dir = resolve_dir("www", dir ? dir : WSTASKD_WWW_DIR);
	free(dir);
}

void
options_parse(int argc, char **argv, struct config *cfg)
{
	struct option	 longopts[NOPTS + 1];
	char		 shortopts[2 * NOPTS + 2], *sp = shortopts;
	size_t		 i;
	int		 c, idx;

	options_defaults(cfg);
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
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const struct opt *o = NULL;

		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			const char *what = c == ':' ? "missing value" :
			    "unknown flag";

			if (optopt && optopt < 256)
				opt_fail(NULL, "-%c: %s (see wstaskd --help)",
				    optopt, what);
			opt_fail(NULL, "%s: %s (see wstaskd --help)", bad,
			    what);
		}
		if (c >= 256)
			o = &opt_table[c - 256];
		else
			for (i = 0; i < NOPTS; i++)
				if (opt_table[i].o_short == c)
					o = &opt_table[i];
		o->o_fn(o, optarg, cfg);
	}
	if (optind < argc)
		opt_fail(NULL, "%s: unexpected argument", argv[optind]);
	options_finish(cfg);
}
