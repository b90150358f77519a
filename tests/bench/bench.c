/*
 * bench - `make bench`: wstaskd's latency, throughput and memory, each
 *         figure next to the floor this machine sets for it, in one run.
 *
 * Usage: bench -d WSTASKD -t HANDLER_DIR -o RESULTS.json [-q] [-i N]
 *              [-p PHASE,...]
 *
 *   -d  the wstaskd binary (an optimized build, not the sanitizer one)
 *   -t  the bench's handler directory (nop, hold, stamp, pstamp, pflood,
 *       plog; built by make)
 *   -o  where the JSON goes; the daemons' logs go next to it
 *   -q  quick: a tenth of the trials, for trying the bench itself
 *   -i  the large idle-session count (default 10000)
 *   -p  run only these phases: floors, connect, supersede, close, result,
 *       progress, throughput, cgroup, idle (default: all)
 *
 * One process, one single-threaded libwebsockets client context, and for
 * the idle test a client of its own on epoll (its cost per event must not
 * grow with the connections it holds).  The bench starts each
 * wstaskd it measures itself (fork + exec, --listen 127.0.0.1:0, the port
 * read from the daemon's log), and a single-process libwebsockets server
 * as the handshake floor (a forked child that accepts the upgrade and
 * sends one `ready`-like message).  It is a child subreaper, so whatever
 * a daemon might leave behind comes back to it; it stops everything it
 * started by pid and reports any process it had to kill.
 *
 * Measurements (all times on CLOCK_MONOTONIC, in milliseconds):
 *   floors       TCP connect+close to a listener in the bench; ten hold
 *                processes SIGTERMed and reaped by the bench
 *   connect      connect start -> first message (`ready`), a new session
 *                each time, sequential and 50 concurrent clients, against
 *                the floor server and wstaskd --spare 2 and --spare 0,
 *                running side by side and measured in alternating blocks
 *   supersede    a session runs 10 `hold` tasks; a new connection with its
 *                id: connect start -> its `ready`
 *   close        a session runs 10 `hold` tasks; the client sends its
 *                close frame -> each task's exit and reap, seen through
 *                pidfds (POLLIN at exit, POLLHUP once reaped, checked at
 *                start), and the worker's own exit
 *   result       `stamp` prints its clock just before it exits -> the
 *                `result` arrives here
 *   progress     `pstamp` writes its clock on fd 3 -> the `progress`
 *                arrives here; `pflood` writes 100,000 and 1,000,000
 *                reports as fast as it can: the worker's CPU a line and
 *                its peak RSS; `plog` writes 2,000 stderr lines: run ->
 *                last `log` event, against no log and the handler alone
 *   throughput   5,000 `nop` tasks with limit 10 through wstaskd, through
 *                a posix_spawn loop here and through xargs -P 10 -n 1
 *   idle         N sessions opened and held; Private_Dirty of every worker
 *                from smaps_rollup, the supervisor's, and the time to open;
 *                every socket closed at once -> every session over in the
 *                daemon's log
 *   cgroup       (root and a cgroup2 mount) the per-task cgroup steps
 *                timed here (mkdir, clone3 into it + exec + wait,
 *                cgroup.kill, rmdir) against posix_spawn + wait and a
 *                plain clone3; throughput and close -> reaped of a
 *                wstaskd --cgroup beside the --spare 2 one
 *
 * Every wait is bounded; the whole run is bounded by an alarm.  Targets
 * are printed as PASS or MISS and never change the exit status, which is
 * 0 when the run completed and left nothing behind.
 */
#include <libwebsockets.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUBPROTO	"wstask.v1"
#define RX_BUF		1024		/* lws rx buffer per connection */
#define BENCH_ALARM_S	540		/* the whole run, then give up */
#define NHOLD		10		/* running tasks in supersede/close */
#define CONC		50		/* concurrent clients */
#define IDLE_WINDOW	64		/* handshakes in flight while opening */
#define NOFILE_WANT	65536		/* hard limit, for the daemon */
#define FLOOR_FDS	1024		/* the floor server's fd table */
#define MAX_ERR_LOG	20		/* error lines printed per run */

/* lws 4.1.6 keeps LWS_WRITE_CLOSE private; see tests/wsclient.c. */
#define WRITE_CLOSE	((enum lws_write_protocol)4)

struct samples {
	double		*v;		/* milliseconds (or KiB) */
	size_t		 n, cap;
	unsigned	 errors;
	bool		 sorted;
};

struct target {
	int		 port;
	char		 host[32];	/* Host header */
};

enum cstate { C_NEW, C_CONNECTING, C_OPEN, C_READY, C_ENDED };

struct conn;
typedef void result_fn(struct conn *, const char *, size_t, int64_t);

struct conn {
	struct lws	*wsi;
	enum cstate	 st;
	bool		 gone;		/* wsi destroyed (or never made) */
	bool		 autoclose;	/* close as soon as `ready` came */
	bool		 want_close, close_sent, superseded;
	int		 close_code;	/* the server's close frame, 0 none */
	int64_t		 t_start, t_open, t_ready, t_close, t_tx;
	int64_t		 t_cancelled, t_done;
	unsigned	 nstarted, nresults, ndone, ncancelled, nerrors,
			 nfailed;	/* results with "ok":false */
	unsigned	 nprogress, nlog;
	int64_t		 t_result, t_log;	/* the last of each */
	char		*tx;		/* one queued message, LWS_PRE first */
	size_t		 txlen;
	char		*rx;		/* fragments of a message */
	size_t		 rxlen, rxcap;
	result_fn	*on_result;
	result_fn	*on_progress;
	struct samples	*rs, *rs2;	/* for on_result, on_progress */
	char		 path[96];
};

struct daemon {
	pid_t		 pid;
	const char	*name;
	struct target	 tg;
	char		 log[PATH_MAX];
	cJSON		*j;		/* its entry in "daemons" */
};

static struct bench {
	/* options */
	const char	*wstaskd, *json_path, *phases;
	char		 handlers[PATH_MAX];	/* absolute */
	char		 workdir[PATH_MAX];
	bool		 quick;
	/* trial counts */
	unsigned	 n_warm, n_seq, n_paced, conc_rounds, n_sup, n_close,
			 n_result, n_result_batch, n_tp, tp_rounds, n_tcp,
			 n_pstamp, n_plog,
			 idle_small, idle_big;
	/* the client */
	struct lws_context *ctx;
	struct lws_vhost *vh;
	lws_sorted_usec_list_t sul_wake;
	int64_t		 wake_at;	/* its deadline */
	unsigned	 err_logged;
	unsigned	 sess;		/* session id counter */
	/* processes */
	pid_t		 floor_pid;
	struct target	 floor_tg;
	struct daemon	 d;		/* the one measured (--spare 2) */
	struct daemon	 d0;		/* --spare 0, beside it for connect */
	bool		 pidfd_hup;	/* POLLHUP on a pidfd = reaped */
	unsigned	 leftovers;	/* processes we had to kill */
	unsigned	 nofile;	/* our RLIMIT_NOFILE = lws fd table */
	/* report */
	cJSON		*json, *jmeas, *jdaemons;
	FILE		*tbl;
	char		*tblbuf;
	size_t		 tbllen;
	int		 exit_code;
} B;

static volatile sig_atomic_t stop_signal;

/* ------------------------------------------------------------------ */
/* small things                                                        */

static void __attribute__((format(printf, 1, 0)))
vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 1, 2)))
say(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	if (B.d.pid > 0)
		kill(B.d.pid, SIGKILL);
	if (B.d0.pid > 0)
		kill(B.d0.pid, SIGKILL);
	if (B.floor_pid > 0)
		kill(B.floor_pid, SIGKILL);
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
ms(int64_t from, int64_t to)
{
	return (double)(to - from) / 1e6;
}

static void
sleep_ms(unsigned n)
{
	struct timespec	ts = { n / 1000, (long)(n % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_signal)
		;
}

static bool
stopping(void)
{
	return stop_signal != 0;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size);

	if (p == NULL)
		die("calloc: %s", strerror(errno));
	return p;
}

/* ------------------------------------------------------------------ */
/* samples                                                             */

static void
s_add(struct samples *s, double v)
{
	double	*nv;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		if ((nv = realloc(s->v, s->cap * sizeof(*nv))) == NULL)
			die("realloc: %s", strerror(errno));
		s->v = nv;
	}
	s->v[s->n++] = v;
	s->sorted = false;
}

static int
dcmp(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile; NAN without samples. */
static double
s_q(struct samples *s, double q)
{
	size_t	i;

	if (s->n == 0)
		return NAN;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(double), dcmp);
		s->sorted = true;
	}
	i = (size_t)ceil(q * (double)s->n);
	if (i < 1)
		i = 1;
	if (i > s->n)
		i = s->n;
	return s->v[i - 1];
}

static double
s_sum(const struct samples *s)
{
	double	t = 0;
	size_t	i;

	for (i = 0; i < s->n; i++)
		t += s->v[i];
	return t;
}

static void
s_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* the report: a table for people, JSON for programs                   */

static void
tbl_section(const char *title)
{
	fprintf(B.tbl, "\n%s\n", title);
}

static void
j_stats(cJSON *o, struct samples *s, const char *unit)
{
	cJSON_AddStringToObject(o, "unit", unit);
	cJSON_AddNumberToObject(o, "n", (double)s->n);
	cJSON_AddNumberToObject(o, "errors", s->errors);
	if (s->n == 0)
		return;
	cJSON_AddNumberToObject(o, "min", s_q(s, 0));
	cJSON_AddNumberToObject(o, "p50", s_q(s, 0.5));
	cJSON_AddNumberToObject(o, "p90", s_q(s, 0.9));
	cJSON_AddNumberToObject(o, "p99", s_q(s, 0.99));
	cJSON_AddNumberToObject(o, "max", s_q(s, 1));
	cJSON_AddNumberToObject(o, "mean", s_sum(s) / (double)s->n);
}

static void
tbl_row(const char *label, struct samples *s)
{
	fprintf(B.tbl, "  %-48s %5zu %4u %8.3f %8.3f %8.3f %8.3f\n", label,
	    s->n, s->errors, s_q(s, 0.5), s_q(s, 0.9), s_q(s, 0.99),
	    s_q(s, 1));
}

/* One latency row in the table and its entry in "measurements". */
static void
report_lat(const char *key, const char *label, struct samples *s)
{
	cJSON	*o = cJSON_AddObjectToObject(B.jmeas, key);

	cJSON_AddStringToObject(o, "label", label);
	j_stats(o, s, "ms");
	tbl_row(label, s);
}

static double
j_get(const char *key, const char *field)
{
	cJSON	*o = cJSON_GetObjectItemCaseSensitive(B.jmeas, key), *f;

	f = o ? cJSON_GetObjectItemCaseSensitive(o, field) : NULL;
	return cJSON_IsNumber(f) ? f->valuedouble : NAN;
}

/* ------------------------------------------------------------------ */
/* /proc                                                               */

static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * Calls fn for each child of parent found in /proc, until it returns
 * true; returns how many children it was called for.
 */
static size_t
proc_each_child(pid_t parent, bool (*fn)(pid_t, void *), void *arg)
{
	struct dirent	*de;
	char		 path[300], buf[512], *p;
	size_t		 n = 0;
	long		 ppid;
	DIR		*d;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if (read_small(path, buf, sizeof(buf)) < 0 ||
		    (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != parent)
			continue;
		n++;
		if (fn((pid_t)atol(de->d_name), arg))
			break;
	}
	closedir(d);
	return n;
}

struct pid_list {
	pid_t	*out;
	size_t	 max, n;
};

static bool
pid_list_add(pid_t pid, void *arg)
{
	struct pid_list	*l = arg;

	if (l->n < l->max)
		l->out[l->n] = pid;
	l->n++;
	return false;
}

/* The children of parent (at most max stored); returns how many found. */
static size_t
proc_children(pid_t parent, pid_t *out, size_t max)
{
	struct pid_list	l = { out, max, 0 };

	proc_each_child(parent, pid_list_add, &l);
	return l.n;
}

static bool
proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char	path[64];
	ssize_t	n, i;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((n = read_small(path, buf, len)) <= 0)
		return false;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return true;
}

/* "Key:   123 kB" in a /proc file: 123, or -1. */
static long
kv_kib(const char *path, const char *key)
{
	char	buf[8192], *p;
	size_t	kl = strlen(key);

	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ':')
			return strtol(p + kl + 1, NULL, 10);
	return -1;
}

static long
pid_kib(pid_t pid, const char *file, const char *key)
{
	char	path[64];

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	return kv_kib(path, key);
}

/*
 * CPU seconds of pid: its own from /proc/PID/schedstat (nanoseconds on
 * the CPU), plus, if children, cutime + cstime of its stat (fields 16 and
 * 17, clock ticks: what its reaped children used, e.g. a daemon's
 * workers).
 */
static double
pid_cpu(pid_t pid, bool children)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ns;
	long long		 cut, cst;
	double			 t;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%llu", &ns) != 1)
		return NAN;
	t = (double)ns / 1e9;
	if (!children)
		return t;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) < 0 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
	    "%*u %lld %lld", &cut, &cst) != 2)
		return NAN;
	return t + (double)(cut + cst) / (double)sysconf(_SC_CLK_TCK);
}

/* Minor page faults of pid and of its reaped children (stat 10 + 12). */
static double
pid_minflt(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 mf, cmf;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) < 0 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lu %lu", &mf,
	    &cmf) != 2)
		return NAN;
	return (double)mf + (double)cmf;
}

static double
pid_cpu_s(pid_t pid)
{
	return pid_cpu(pid, false);
}

/*
 * The daemon's fork server (a child titled "fork server"), 0 if none:
 * workers are its siblings, charged to the supervisor once reaped, but
 * its own CPU and faults are charged to nobody until it exits.
 */
static bool
is_fork_server(pid_t pid, void *arg)
{
	char	cmd[256];

	if (!proc_cmdline(pid, cmd, sizeof(cmd)) ||
	    strstr(cmd, "fork server") == NULL)
		return false;
	*(pid_t *)arg = pid;
	return true;
}

static pid_t
fork_server_of(pid_t daemon)
{
	pid_t	fs = 0;

	proc_each_child(daemon, is_fork_server, &fs);
	return fs;
}

/*
 * All of a daemon's CPU: supervisor, reaped workers and fork server (fs,
 * 0 if none: found once by the caller, a /proc scan each).
 */
static double
server_cpu(pid_t daemon, pid_t fs)
{
	return pid_cpu(daemon, true) + (fs > 0 ? pid_cpu_s(fs) : 0);
}

/* The supervisor and the fork server, without the workers. */
static double
daemon_own_cpu(pid_t daemon, pid_t fs)
{
	return pid_cpu_s(daemon) + (fs > 0 ? pid_cpu_s(fs) : 0);
}

static double
server_minflt(pid_t daemon, pid_t fs)
{
	return pid_minflt(daemon) + (fs > 0 ? pid_minflt(fs) : 0);
}

static double
self_cpu_s(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
pidfd_open_pid(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ------------------------------------------------------------------ */
/* the client: connections                                             */

/* An error line (the first MAX_ERR_LOG of them); detail has len bytes. */
static void
err_say(const char *what, const char *path, const char *detail, size_t len)
{
	if (B.err_logged++ < MAX_ERR_LOG)
		say("error: %s (%s)%s%.*s", what, path, detail ? ": " : "",
		    detail ? (int)(len > 300 ? 300 : len) : 0,
		    detail ? detail : "");
	else if (B.err_logged == MAX_ERR_LOG + 1)
		say("more errors: not shown");
}

static void
err_msg(const char *what, const struct conn *c, const char *detail,
    size_t len)
{
	err_say(what, c ? c->path : "-", detail, len);
}

static void
err_line(const char *what, const struct conn *c, const char *detail)
{
	err_msg(what, c, detail, detail ? strlen(detail) : 0);
}

/* The connection has ended; idempotent. */
static void
conn_end(struct conn *c)
{
	c->st = C_ENDED;
}

static void
conn_kick(struct conn *c)
{
	if (c->wsi && !c->gone && c->st >= C_OPEN && c->st != C_ENDED &&
	    (c->tx || (c->want_close && !c->close_sent)))
		lws_callback_on_writable(c->wsi);
}

static void
conn_send(struct conn *c, const char *text)
{
	size_t	len = strlen(text);

	if (c->tx)
		die("conn_send: a message is already queued");
	c->tx = malloc(LWS_PRE + len);
	if (c->tx == NULL)
		die("malloc: %s", strerror(errno));
	memcpy(c->tx + LWS_PRE, text, len);
	c->txlen = len;
	conn_kick(c);
}

/* Ask for a clean close: our close frame, the server's echo, then TCP. */
static void
conn_close(struct conn *c)
{
	c->want_close = true;
	conn_kick(c);
}

/* No validity timer per connection: the daemon pings, lws answers. */
static const lws_retry_bo_t client_retry = {
	.secs_since_valid_ping = 0, .secs_since_valid_hangup = 0
};

static int
conn_connect(struct conn *c, const struct target *tg, const char *session)
{
	struct lws_client_connect_info	i;

	snprintf(c->path, sizeof(c->path), "/stream?session=%s", session);
	memset(&i, 0, sizeof(i));
	i.context = B.ctx;
	i.vhost = B.vh;
	i.address = "127.0.0.1";
	i.port = tg->port;
	i.path = c->path;
	i.host = tg->host;
	i.protocol = SUBPROTO;
	i.local_protocol_name = "bench";
	i.opaque_user_data = c;
	i.retry_and_idle_policy = &client_retry;
	c->st = C_CONNECTING;
	c->t_start = now_ns();
	c->wsi = lws_client_connect_via_info(&i);
	if (c->wsi == NULL) {
		c->gone = true;
		conn_end(c);
		err_line("cannot start a connection", c, NULL);
		return -1;
	}
	return 0;
}

static struct conn *
conn_new(void)
{
	return xcalloc(1, sizeof(struct conn));
}

/* Free c; a connection still alive is detached and killed by lws. */
static void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->wsi && !c->gone) {
		lws_set_opaque_user_data(c->wsi, NULL);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
	}
	free(c->tx);
	free(c->rx);
	free(c);
}

/* The value of "type" in an event, copied to buf ("" if none). */
static void
msg_type(const char *msg, size_t len, char *buf, size_t blen)
{
	const char	*p = memmem(msg, len, "\"type\":\"", 8), *q;
	size_t		 n;

	buf[0] = '\0';
	if (p == NULL)
		return;
	p += 8;
	if ((q = memchr(p, '"', len - (size_t)(p - msg))) == NULL)
		return;
	n = (size_t)(q - p) < blen - 1 ? (size_t)(q - p) : blen - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static void
conn_msg(struct conn *c, const char *msg, size_t len, int64_t t)
{
	char	type[16];

	msg_type(msg, len, type, sizeof(type));
	if (c->st == C_OPEN) {
		if (strcmp(type, "ready") != 0) {
			err_line("first event is not ready", c, type);
			conn_close(c);
			return;
		}
		c->st = C_READY;
		c->t_ready = t;
		c->superseded = memmem(msg, len, "\"superseded\":true", 17);
		if (c->autoclose)
			conn_close(c);
		return;
	}
	if (!strcmp(type, "started"))
		c->nstarted++;
	else if (!strcmp(type, "progress")) {
		c->nprogress++;
		if (c->on_progress)
			c->on_progress(c, msg, len, t);
	} else if (!strcmp(type, "log")) {
		c->nlog++;
		c->t_log = t;
	} else if (!strcmp(type, "result")) {
		c->nresults++;
		c->t_result = t;
		if (!memmem(msg, len, "\"ok\":true", 9))
			c->nfailed++;
		if (c->on_result)
			c->on_result(c, msg, len, t);
	} else if (!strcmp(type, "done")) {
		c->ndone++;
		c->t_done = t;
	} else if (!strcmp(type, "cancelled")) {
		c->ncancelled++;
		c->t_cancelled = t;
	} else if (!strcmp(type, "error")) {
		c->nerrors++;
		err_msg("error event", c, msg, len);
	}
}

static int
conn_rx(struct conn *c, struct lws *wsi, const char *in, size_t len)
{
	int64_t	 t = now_ns();
	bool	 last = lws_is_final_fragment(wsi) &&
		    !lws_remaining_packet_payload(wsi);
	char	*p;

	if (last && c->rxlen == 0) {		/* the usual case: whole */
		conn_msg(c, in, len, t);
		return 0;
	}
	if (c->rxlen + len > c->rxcap) {
		c->rxcap = (c->rxlen + len) * 2;
		if ((p = realloc(c->rx, c->rxcap)) == NULL)
			return -1;
		c->rx = p;
	}
	memcpy(c->rx + c->rxlen, in, len);
	c->rxlen += len;
	if (last) {
		conn_msg(c, c->rx, c->rxlen, t);
		c->rxlen = 0;
	}
	return 0;
}

static int
conn_writeable(struct conn *c, struct lws *wsi)
{
	unsigned char	 cl[LWS_PRE + 2];
	size_t		 len;
	int		 n;

	if (c->tx) {
		len = c->txlen;
		c->t_tx = now_ns();
		n = lws_write(wsi, (unsigned char *)c->tx + LWS_PRE, len,
		    LWS_WRITE_TEXT);
		free(c->tx);
		c->tx = NULL;
		if (n < (int)len)
			return -1;
		conn_kick(c);
		return 0;
	}
	if (!c->want_close || c->close_sent)
		return 0;
	cl[LWS_PRE] = 1000 >> 8;
	cl[LWS_PRE + 1] = 1000 & 0xff;
	c->t_close = now_ns();
	if (lws_write(wsi, cl + LWS_PRE, 2, WRITE_CLOSE) < 2)
		return -1;
	c->close_sent = true;
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 5);
	return 0;
}

static int
client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct conn		*c = lws_get_opaque_user_data(wsi);
	const unsigned char	*p = in;

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (c == NULL)
			return -1;
		c->wsi = wsi;
		c->st = C_OPEN;
		c->t_open = now_ns();
		conn_kick(c);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return c ? conn_rx(c, wsi, in, len) : -1;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return c ? conn_writeable(c, wsi) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c == NULL)
			return -1;
		c->close_code = len >= 2 ? p[0] << 8 | p[1] : 1005;
		/* the echo of our close: hang up; else lws echoes theirs */
		return c->close_sent ? -1 : 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c && c->st != C_ENDED) {
			err_msg("connection error", c, in && len ?
			    (const char *)in : "unknown", in && len ? len : 7);
			conn_end(c);
		}
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c)
			conn_end(c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (c) {
			conn_end(c);
			c->gone = true;
			c->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols client_protocols[] = {
	{ "bench", client_cb, 0, RX_BUF, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
wake_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

/*
 * One round of the client's event loop, never past deadline.  lws 4.1
 * ignores lws_service()'s timeout: the wake timer bounds its poll().
 */
static bool
serve(int64_t deadline)
{
	int64_t	left = deadline - now_ns();

	if (stopping() || left <= 0)
		return false;
	/* (re)arm only for a new deadline: each wsi has timers in the list */
	if (deadline != B.wake_at || !B.sul_wake.list.owner) {
		lws_sul_schedule(B.ctx, 0, &B.sul_wake, wake_cb,
		    left / 1000 + 1);
		B.wake_at = deadline;
	}
	if (lws_service(B.ctx, 0) < 0)
		die("lws_service failed");
	return true;
}

static void
serve_end(void)
{
	lws_sul_cancel(&B.sul_wake);
	B.wake_at = 0;
}

static int64_t
deadline_ms(unsigned n)
{
	return now_ns() + (int64_t)n * 1000000;
}

static bool
wait_ready(struct conn *c, unsigned tmo)
{
	int64_t	dl = deadline_ms(tmo);

	while (c->st != C_READY && c->st != C_ENDED && serve(dl))
		;
	serve_end();
	return c->st == C_READY;
}

static bool
wait_gone(struct conn *c, unsigned tmo)
{
	int64_t	dl = deadline_ms(tmo);

	while (!c->gone && serve(dl))
		;
	serve_end();
	return c->gone;
}

/* Wait until *counter reaches n (or the connection ends). */
static bool
wait_count(struct conn *c, const unsigned *counter, unsigned n, unsigned tmo)
{
	int64_t	dl = deadline_ms(tmo);

	while (*counter < n && c->st != C_ENDED && serve(dl))
		;
	serve_end();
	return *counter >= n;
}

/* Close c, wait for the end of it (bounded) and free it. */
static void
conn_finish(struct conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	wait_gone(c, 3000);
	conn_free(c);
}

static void
session_id(char *buf, size_t len, const char *prefix)
{
	snprintf(buf, len, "%s-%ld-%u", prefix, (long)getpid(), ++B.sess);
}

/*
 * The client's context.  lws 4.1 poll()s every fd on each service round,
 * so with thousands of sockets open a round costs about a microsecond per
 * socket: the idle test has a client of its own (idle_open()).  (lws's
 * libev plugin would epoll, but with it client connections never
 * progressed here.)
 */
static void
client_create(void)
{
	struct lws_context_creation_info info;

	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = client_protocols;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.fd_limit_per_thread = B.nofile;	/* see raise_nofile() */
	info.max_http_header_pool = IDLE_WINDOW * 2;
	info.max_http_header_data = 1024;
	info.timeout_secs = 20;
	info.vhost_name = "bench";
	if ((B.ctx = lws_create_context(&info)) == NULL)
		die("lws_create_context failed");
	if ((B.vh = lws_create_vhost(B.ctx, &info)) == NULL)
		die("lws_create_vhost failed");
}

/* ------------------------------------------------------------------ */
/* the handshake floor: a single-process libwebsockets server          */

struct floor_pss {
	char	session[160];
	bool	sent;
};

static int
floor_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct floor_pss	*p = user;
	unsigned char		 out[LWS_PRE + 256];
	char			 buf[256];
	const char		*id;
	int			 n;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		id = lws_get_urlarg_by_name(wsi, "session=", buf, sizeof(buf));
		snprintf(p->session, sizeof(p->session), "%s", id ? id : "-");
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (p->sent)
			return 0;
		n = snprintf((char *)out + LWS_PRE, sizeof(out) - LWS_PRE,
		    "{\"type\":\"ready\",\"session\":\"%s\","
		    "\"superseded\":false}", p->session);
		p->sent = true;
		return lws_write(wsi, out + LWS_PRE, (size_t)n,
		    LWS_WRITE_TEXT) < n ? -1 : 0;
	case LWS_CALLBACK_RECEIVE:
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols floor_protocols[] = {
	{ SUBPROTO, floor_cb, sizeof(struct floor_pss), RX_BUF, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* The forked floor server: listens, reports its port on wfd, serves. */
static void __attribute__((noreturn))
floor_main(int wfd)
{
	struct lws_context_creation_info info;
	static lws_retry_bo_t	 retry = { .secs_since_valid_ping = 600,
				    .secs_since_valid_hangup = 1200 };
	struct rlimit		 rl;
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	int			 port;

	/* a table as large as the fd limit: the fast lookup (raise_nofile) */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = FLOOR_FDS;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	info.port = 0;				/* any free port */
	info.iface = "127.0.0.1";
	info.protocols = floor_protocols;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
	info.fd_limit_per_thread = FLOOR_FDS;
	info.max_http_header_pool = CONC + 14;
	info.retry_and_idle_policy = &retry;
	info.vhost_name = "floor";
	if ((ctx = lws_create_context(&info)) == NULL ||
	    (vh = lws_create_vhost(ctx, &info)) == NULL)
		_exit(1);
	port = lws_get_vhost_listen_port(vh);
	if (write(wfd, &port, sizeof(port)) != sizeof(port))
		_exit(1);
	close(wfd);
	for (;;)
		if (lws_service(ctx, 0) < 0)
			_exit(1);
}

static void
floor_start(void)
{
	struct pollfd	pf;
	int		p[2], port = 0;
	pid_t		parent = getpid(), pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(p[0]);
		floor_main(p[1]);
	}
	close(p[1]);
	B.floor_pid = pid;
	pf.fd = p[0];
	pf.events = POLLIN;
	if (poll(&pf, 1, 5000) != 1 ||
	    read(p[0], &port, sizeof(port)) != sizeof(port) || port <= 0)
		die("the floor server did not start");
	close(p[0]);
	B.floor_tg.port = port;
	snprintf(B.floor_tg.host, sizeof(B.floor_tg.host), "127.0.0.1:%d",
	    port);
	say("floor server: pid %ld port %d", (long)pid, port);
}

/* ------------------------------------------------------------------ */
/* processes we start                                                  */

/* Wait for pid to exit (bounded); true if it was reaped. */
static bool
wait_pid(pid_t pid, int *status, unsigned tmo)
{
	int64_t	dl = deadline_ms(tmo);
	pid_t	r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		if (now_ns() >= dl)
			return false;
		sleep_ms(2);
	}
}

/*
 * Our children besides the floor server: orphans that came back to us (we
 * are a subreaper) or anything else left.  Killed, reaped and counted.
 */
static void
reap_strays(const char *when)
{
	pid_t	kids[256];
	size_t	n, i, found = 0;
	int	round;

	for (round = 0; round < 50; round++) {
		n = proc_children(getpid(), kids, 256);
		if (n > 256)
			n = 256;
		found = 0;
		for (i = 0; i < n; i++) {
			if (kids[i] == B.floor_pid || kids[i] == B.d.pid ||
			    kids[i] == B.d0.pid)
				continue;
			found++;
			if (round == 0) {
				char cmd[128] = "?";

				proc_cmdline(kids[i], cmd, sizeof(cmd));
				say("left over after %s: pid %ld (%s): killing",
				    when, (long)kids[i], cmd);
				B.leftovers++;
			}
			kill(kids[i], SIGKILL);
			wait_pid(kids[i], NULL, 1000);
		}
		if (found == 0)
			return;
	}
}

static void
child_exec_prep(int in, int out, int err)
{
	sigset_t	none;
	int		sig;

	if (in >= 0)
		dup2(in, 0);
	if (out >= 0)
		dup2(out, 1);
	if (err >= 0)
		dup2(err, 2);
	closefrom(3);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The port from the daemon's `event=listen addr=127.0.0.1:PORT` line. */
static int
daemon_port(const struct daemon *d)
{
	char		 buf[8192];
	const char	*p;

	if (read_small(d->log, buf, sizeof(buf)) < 0)
		return -1;
	if ((p = strstr(buf, "event=listen addr=127.0.0.1:")) == NULL)
		return -1;
	return atoi(p + strlen("event=listen addr=127.0.0.1:"));
}

static unsigned
daemon_spares(pid_t sup)
{
	pid_t		kids[64];
	char		cmd[256];
	size_t		n, i;
	unsigned	spares = 0;

	n = proc_children(sup, kids, 64);
	for (i = 0; i < n && i < 64; i++)
		if (proc_cmdline(kids[i], cmd, sizeof(cmd)) &&
		    strstr(cmd, "worker (spare)"))
			spares++;
	return spares;
}

/* Starts wstaskd with our handlers, -l 127.0.0.1:0 and extra flags. */
static void
daemon_start(struct daemon *d, const char *name, unsigned spare,
    const char *const *extra)
{
	const char	*argv[48];
	char		 flags[512] = "", sparebuf[16];
	size_t		 n = 0, i;
	int64_t		 dl;
	int		 logfd, nullfd, port = -1;
	pid_t		 parent = getpid(), pid;

	memset(d, 0, sizeof(*d));
	d->name = name;
	if (snprintf(d->log, sizeof(d->log), "%s/wstaskd-%s.log", B.workdir,
	    name) >= (int)sizeof(d->log))
		die("path too long: %s", B.workdir);
	snprintf(sparebuf, sizeof(sparebuf), "%u", spare);
	argv[n++] = B.wstaskd;
	argv[n++] = "-l";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "-t";
	argv[n++] = B.handlers;
	argv[n++] = "-w";
	argv[n++] = "";
	if (geteuid() == 0)
		argv[n++] = "--allow-root";
	argv[n++] = "--spare";
	argv[n++] = sparebuf;
	for (i = 0; extra && extra[i] && n < 46; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	for (i = 1; i < n; i++)
		snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags),
		    "%s%s", i > 1 ? " " : "", *argv[i] ? argv[i] : "''");

	if ((logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		die("%s: %s", d->log, strerror(errno));
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		die("/dev/null: %s", strerror(errno));
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* should the bench die, the daemon stops gracefully */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		child_exec_prep(nullfd, nullfd, logfd);
		execv(B.wstaskd, (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	d->pid = pid;
	dl = deadline_ms(10000);
	while ((port = daemon_port(d)) <= 0 && now_ns() < dl && !stopping()) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			d->pid = 0;
			die("wstaskd %s exited at start; see %s", flags, d->log);
		}
		sleep_ms(2);
	}
	if (port <= 0)
		die("wstaskd did not log its port; see %s", d->log);
	d->tg.port = port;
	snprintf(d->tg.host, sizeof(d->tg.host), "127.0.0.1:%d", port);
	/* the spares are forked at start; let them create their contexts */
	dl = deadline_ms(3000);
	while (daemon_spares(pid) < spare && now_ns() < dl && !stopping())
		sleep_ms(5);
	sleep_ms(200);
	d->j = cJSON_AddObjectToObject(B.jdaemons, name);
	cJSON_AddStringToObject(d->j, "flags", flags);
	cJSON_AddStringToObject(d->j, "log", d->log);
	say("wstaskd %s: pid %ld port %d (%s)", name, (long)pid, port, flags);
}

/*
 * Lines of the daemon's log that say something went wrong (its log has
 * no level field): counted per daemon, a few shown, so a figure measured
 * while the daemon misbehaved does not pass unnoticed.
 */
static const char *const log_bad[] = {
	"cannot adopt", "no space for new conn", "protocol-violation",
	"fork-failed", "event=kill ", "event=orphan", "refusing connections",
	"lws_write failed", "spawn-failed", "Too many fds", NULL
};

static bool
log_line_bad(const char *line)
{
	const char	*p;
	unsigned	 i;

	for (i = 0; log_bad[i]; i++)
		if (strstr(line, log_bad[i]))
			return true;
	/* a worker that did not exit 0 */
	return (p = strstr(line, "event=exit pid=")) != NULL &&
	    (strstr(p, " signal=") || (strstr(p, " status=") &&
	    !strstr(p, " status=0")));
}

static unsigned	log_warnings_total;

/* Where a running daemon's log ends now: a phase's start. */
static long
log_mark(const struct daemon *d)
{
	struct stat	st;

	return d->pid > 0 && stat(d->log, &st) == 0 ? (long)st.st_size : -1;
}

/* Failure lines the daemon logged since mark (a phase's own). */
static unsigned
log_failures_since(const struct daemon *d, long mark)
{
	char		line[1024];
	unsigned	n = 0;
	FILE		*f;

	if (mark < 0 || (f = fopen(d->log, "r")) == NULL)
		return 0;
	if (fseek(f, mark, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f))
			n += log_line_bad(line);
	fclose(f);
	return n;
}

/*
 * Notes on measurement key how many failures the daemon logged while it
 * was measured: a figure taken while the daemon misbehaved is not a pass
 * (targets() says INVALID), and the table says so under it.
 */
static void
phase_failures(const struct daemon *d, const char *key, long mark)
{
	cJSON		*o = cJSON_GetObjectItemCaseSensitive(B.jmeas, key);
	unsigned	 n = log_failures_since(d, mark);

	if (o)
		cJSON_AddNumberToObject(o, "daemon_log_failures", n);
	if (n)
		fprintf(B.tbl, "  !! wstaskd logged %u failure line(s) during "
		    "the measurement above (%s): see %s\n", n, key, d->log);
}

static void
daemon_log_scan(struct daemon *d)
{
	cJSON		*ex = cJSON_AddArrayToObject(d->j, "log_warning_examples");
	char		 line[1024];
	unsigned	 n = 0, shown = 0;
	FILE		*f = fopen(d->log, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!log_line_bad(line))
			continue;
		n++;
		line[strcspn(line, "\n")] = '\0';
		if (shown++ < 3)
			cJSON_AddItemToArray(ex, cJSON_CreateString(line));
	}
	fclose(f);
	cJSON_AddNumberToObject(d->j, "log_warnings", n);
	log_warnings_total += n;
	if (n)
		say("wstaskd %s: %u warning line(s) in %s", d->name, n, d->log);
}

/* SIGTERM, a bounded wait (then SIGKILL), and whatever is left is swept. */
static void
daemon_stop(struct daemon *d)
{
	int		 status = 0;
	int64_t		 t0 = now_ns();
	bool		 clean;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	clean = wait_pid(d->pid, &status, 60000);
	if (!clean) {
		say("wstaskd %s: still alive 60 s after SIGTERM: SIGKILL",
		    d->name);
		kill(d->pid, SIGKILL);
		wait_pid(d->pid, &status, 5000);
	}
	if (d->j) {
		cJSON_AddNumberToObject(d->j, "stop_ms", ms(t0, now_ns()));
		cJSON_AddBoolToObject(d->j, "stopped_cleanly", clean &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	if (!clean || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		say("wstaskd %s did not stop cleanly (status %#x)", d->name,
		    status);
		B.exit_code = 1;
	}
	d->pid = 0;
	reap_strays(d->name);
	if (d->j)
		daemon_log_scan(d);
}

/* ------------------------------------------------------------------ */
/* pidfds: what POLLIN and POLLHUP mean on this kernel                 */

/*
 * A helper forks a grandchild that exits at once and reaps it only
 * 60 ms later; we watch the grandchild's pidfd.  POLLIN should come at
 * the exit, POLLHUP at the reap (Linux 6.9 and later).
 */
static void
pidfd_selftest(void)
{
	cJSON		*o = cJSON_AddObjectToObject(B.json, "pidfd");
	struct pollfd	 pf;
	int64_t		 t0, t_in = 0, t_hup = 0;
	pid_t		 h, g = 0, parent = getpid();
	int		 p[2], fd;

	if (pipe2(p, O_CLOEXEC) < 0 || (h = fork()) < 0)
		die("pidfd selftest: %s", strerror(errno));
	if (h == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if ((g = fork()) == 0)
			_exit(0);
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		usleep(60000);
		waitpid(g, NULL, 0);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &g, sizeof(g)) != sizeof(g) ||
	    (fd = pidfd_open_pid(g)) < 0)
		die("pidfd selftest: no pidfd: %s", strerror(errno));
	close(p[0]);
	t0 = now_ns();
	pf.fd = fd;
	pf.events = POLLIN;
	while (!t_hup && now_ns() - t0 < 2000000000LL) {
		if (poll(&pf, 1, 100) < 0 && errno != EINTR)
			break;
		if ((pf.revents & POLLIN) && !t_in) {
			t_in = now_ns();
			pf.events = 0;		/* now wait for the hangup */
		}
		if (pf.revents & POLLHUP)
			t_hup = now_ns();
	}
	close(fd);
	wait_pid(h, NULL, 2000);
	B.pidfd_hup = t_in && t_hup && ms(t_in, t_hup) > 30;
	cJSON_AddBoolToObject(o, "pollin_at_exit", t_in && ms(t0, t_in) < 30);
	cJSON_AddBoolToObject(o, "pollhup_at_reap", B.pidfd_hup);
	cJSON_AddNumberToObject(o, "pollin_ms", t_in ? ms(t0, t_in) : -1);
	cJSON_AddNumberToObject(o, "pollhup_ms", t_hup ? ms(t0, t_hup) : -1);
	cJSON_AddStringToObject(o, "test", "grandchild exits at once, its "
	    "parent reaps it 60 ms later");
	say("pidfd: POLLIN at exit %.1f ms, POLLHUP at reap %.1f ms: %s",
	    t_in ? ms(t0, t_in) : -1, t_hup ? ms(t0, t_hup) : -1,
	    B.pidfd_hup ? "reap times are measurable" :
	    "no reap event: the worker's exit stands in for the reap");
}

/* ------------------------------------------------------------------ */
/* floors: TCP and WebSocket                                            */

static void
phase_tcp_floor(void)
{
	struct samples		s = { 0 };
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	unsigned		i;
	int64_t			t0;
	int			lfd, fd, a;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		die("tcp floor listener: %s", strerror(errno));
	for (i = 0; i < B.n_tcp && !stopping(); i++) {
		t0 = now_ns();
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin)) < 0) {
			s.errors++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		s_add(&s, ms(t0, now_ns()));
		if ((a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
			close(a);
	}
	close(lfd);
	report_lat("tcp_connect_close_floor",
	    "floor: TCP connect+close (loopback)", &s);
	s_free(&s);
}

/*
 * The floor of a process per session, run in a fresh exec of this
 * program (linked like wstaskd, and as small as a supervisor): n times
 * fork, in the child nothing (bare) or a libwebsockets context and vhost
 * configured like a worker's created and destroyed, then the exit a
 * worker makes (worker_exit: _exit(0) after a flush, skipping the
 * libraries' exit handlers); reaped by the parent.  CPU of the parent (schedstat) and of its reaped children
 * (getrusage: microseconds) per session, for both, on stdout.
 */
static bool	wait_exit_precise(pid_t, unsigned, int64_t *, int *);

static double
sfloor_series(unsigned n, bool ctx)
{
	struct rusage	ru0, ru1;
	double		self0 = pid_cpu_s(getpid());
	unsigned	i;
	pid_t		pid;
	int		st;

	getrusage(RUSAGE_CHILDREN, &ru0);
	for (i = 0; i < n; i++) {
		if ((pid = fork()) < 0)
			return NAN;
		if (pid == 0) {
			struct lws_context_creation_info info;
			struct lws_context *c;

			if (!ctx) {
				fflush(NULL);
				_exit(0);
			}
			memset(&info, 0, sizeof(info));
			info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
			info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
			    LWS_SERVER_OPTION_VALIDATE_UTF8 |
			    LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
			info.protocols = floor_protocols;
			info.fd_limit_per_thread = 16 + 6 * 8;
			info.max_http_header_pool = 1;
			info.vhost_name = "floor";
			if ((c = lws_create_context(&info)) == NULL ||
			    lws_create_vhost(c, &info) == NULL)
				_exit(1);
			lws_context_destroy(c);
			fflush(NULL);
			_exit(0);
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR)
				return NAN;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return NAN;
	}
	getrusage(RUSAGE_CHILDREN, &ru1);
	return ((pid_cpu_s(getpid()) - self0) +
	    (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	    (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	    (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6) *
	    1e6 / n;
}

static void __attribute__((noreturn))
sfloor_main(unsigned n)
{
	double	bare, ctx;

	lws_set_log_level(LLL_ERR, NULL);
	sfloor_series(n / 10 + 1, true);		/* warm up */
	bare = sfloor_series(n, false);
	ctx = sfloor_series(n, true);
	printf("%f %f\n", bare, ctx);
	exit(isnan(bare) || isnan(ctx) ? 1 : 0);
}

static void
phase_session_floor(void)
{
	cJSON	*o = cJSON_AddObjectToObject(B.jmeas, "session_floor");
	char	 nbuf[16], out[128] = "";
	double	 bare = NAN, ctx = NAN;
	unsigned n = B.quick ? 200 : 1000;
	pid_t	 pid, parent = getpid();
	int	 p[2], st;
	ssize_t	 len;
	int64_t	 t;

	snprintf(nbuf, sizeof(nbuf), "%u", n);
	fflush(NULL);
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		die("session floor: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		child_exec_prep(-1, p[1], -1);
		execl("/proc/self/exe", "bench", "-S", nbuf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (wait_exit_precise(pid, 120000, &t, &st) && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0 && (len = read(p[0], out, sizeof(out) - 1)) >
	    0 && sscanf(out, "%lf %lf", &bare, &ctx) != 2)
		bare = ctx = NAN;
	close(p[0]);
	cJSON_AddNumberToObject(o, "sessions", n);
	cJSON_AddStringToObject(o, "note", "a fresh process linked like "
	    "wstaskd forks n children and reaps each; a child exits at once "
	    "(bare) or creates and destroys a libwebsockets context and vhost "
	    "configured like a worker's, then exits; CPU of parent and "
	    "children per session");
	cJSON_AddNumberToObject(o, "fork_exit_wait_cpu_us", bare);
	cJSON_AddNumberToObject(o, "fork_context_exit_wait_cpu_us", ctx);
	fprintf(B.tbl, "  %-48s %.0f us bare, %.0f us with a context\n",
	    "floor: fork+exit+wait, CPU per session", bare, ctx);
}

/* ------------------------------------------------------------------ */
/* connect -> ready: one or many clients, each a series of sessions    */

struct trials {
	const struct target *tg;
	const char	*prefix;
	unsigned	 clients;
	struct samples	 total, open, claim;
	unsigned	 gap_ms;	/* pause between a client's trials */
	pid_t		 server;	/* whose CPU to account */
	double		 cpu_s, faults;	/* the server's, over the blocks */
	size_t		 counted;	/* trials they cover */
};

static struct conn *
trial_start(struct trials *tr)
{
	struct conn	*c = conn_new();
	char		 id[64];

	c->autoclose = true;
	session_id(id, sizeof(id), tr->prefix);
	conn_connect(c, tr->tg, id);
	return c;
}

static void
trial_record(struct trials *tr, struct conn *c)
{
	if (!c->t_ready) {
		tr->total.errors++;
		return;
	}
	s_add(&tr->total, ms(c->t_start, c->t_ready));
	s_add(&tr->open, ms(c->t_start, c->t_open));
	s_add(&tr->claim, ms(c->t_open, c->t_ready));
}

/* One block: each client runs rounds trials, one after the other. */
static void
run_block(struct trials *tr, unsigned rounds)
{
	struct conn	**slot = xcalloc(tr->clients, sizeof(*slot));
	unsigned	 *left = xcalloc(tr->clients, sizeof(*left));
	unsigned	  k, active = tr->clients;
	int64_t		  dl = deadline_ms(60000 + rounds * 100);
	pid_t		  fs = fork_server_of(tr->server);
	double		  cpu0 = server_cpu(tr->server, fs);
	double		  flt0 = server_minflt(tr->server, fs);
	size_t		  n0 = tr->total.n;

	if (rounds == 0)
		active = 0;
	for (k = 0; k < tr->clients && rounds; k++) {
		left[k] = rounds;
		slot[k] = trial_start(tr);
	}
	while (active && serve(dl)) {
		for (k = 0; k < tr->clients; k++) {
			if (slot[k] == NULL || !slot[k]->gone)
				continue;
			trial_record(tr, slot[k]);
			conn_free(slot[k]);
			slot[k] = NULL;
			if (--left[k] > 0 && !stopping()) {
				if (tr->gap_ms)		/* nothing else is open */
					sleep_ms(tr->gap_ms);
				slot[k] = trial_start(tr);
			} else
				active--;
		}
	}
	serve_end();
	for (k = 0; k < tr->clients; k++) {
		if (slot[k] == NULL)
			continue;
		if (slot[k]->t_ready)
			trial_record(tr, slot[k]);
		else
			tr->total.errors++;
		tr->total.errors += left[k] - 1;	/* never run */
		conn_free(slot[k]);
	}
	free(slot);
	free(left);
	/* exited workers are charged to the supervisor once reaped */
	sleep_ms(50);
	tr->cpu_s += server_cpu(tr->server, fs) - cpu0;
	tr->faults += server_minflt(tr->server, fs) - flt0;
	tr->counted += tr->total.n - n0;
}

static void
trials_free(struct trials *tr)
{
	s_free(&tr->total);
	s_free(&tr->open);
	s_free(&tr->claim);
}

/* One server of the connect phase: the floor, or a wstaskd. */
struct cserver {
	const char		*key, *label;
	const struct target	*tg;
	pid_t			 pid;
	const struct daemon	*d;		/* NULL: the floor */
	struct trials		 seq, paced, conc;
	long			 mark;
};

static void
cserver_init(struct cserver *cs)
{
	struct trials	t = { .tg = cs->tg, .prefix = cs->key, .clients = 1,
			    .server = cs->pid };
	struct trials	warm = t;

	cs->seq = t;
	cs->paced = t;
	cs->paced.gap_ms = 10;
	cs->conc = t;
	cs->conc.clients = CONC;
	cs->mark = cs->d ? log_mark(cs->d) : -1;
	warm.prefix = "warm";
	run_block(&warm, B.n_warm);
	trials_free(&warm);
}

static double
per_trial(double v, const struct trials *tr)
{
	return tr->counted ? v / (double)tr->counted : NAN;
}

static void
cserver_report(struct cserver *cs)
{
	char	k[96], l[96];
	cJSON	*o;

	snprintf(k, sizeof(k), "%s_seq", cs->key);
	snprintf(l, sizeof(l), "%s, sequential", cs->label);
	report_lat(k, l, &cs->seq.total);
	o = cJSON_GetObjectItemCaseSensitive(B.jmeas, k);
	cJSON_AddNumberToObject(o, "server_cpu_us_per_session",
	    per_trial(cs->seq.cpu_s * 1e6, &cs->seq));
	cJSON_AddNumberToObject(o, "server_minor_faults_per_session",
	    per_trial(cs->seq.faults, &cs->seq));
	snprintf(k, sizeof(k), "%s_seq_handshake", cs->key);
	report_lat(k, "    of which connect -> handshake done",
	    &cs->seq.open);
	snprintf(k, sizeof(k), "%s_seq_after_handshake", cs->key);
	report_lat(k, "    of which handshake done -> first message",
	    &cs->seq.claim);
	snprintf(k, sizeof(k), "%s_paced", cs->key);
	snprintf(l, sizeof(l), "%s, 10 ms apart", cs->label);
	report_lat(k, l, &cs->paced.total);
	snprintf(k, sizeof(k), "%s_conc%d", cs->key, CONC);
	snprintf(l, sizeof(l), "%s, %d concurrent", cs->label, CONC);
	report_lat(k, l, &cs->conc.total);
	o = cJSON_GetObjectItemCaseSensitive(B.jmeas, k);
	cJSON_AddNumberToObject(o, "server_cpu_us_per_session",
	    per_trial(cs->conc.cpu_s * 1e6, &cs->conc));
	cJSON_AddNumberToObject(o, "server_minor_faults_per_session",
	    per_trial(cs->conc.faults, &cs->conc));
	fprintf(B.tbl, "  %-48s %.0f us sequential, %.0f us concurrent\n",
	    "    server CPU per session (all its processes):",
	    per_trial(cs->seq.cpu_s * 1e6, &cs->seq),
	    per_trial(cs->conc.cpu_s * 1e6, &cs->conc));
	fprintf(B.tbl, "  %-48s %.0f sequential, %.0f concurrent\n",
	    "    server minor page faults per session:",
	    per_trial(cs->seq.faults, &cs->seq),
	    per_trial(cs->conc.faults, &cs->conc));
	if (cs->d) {
		snprintf(k, sizeof(k), "%s_seq", cs->key);
		phase_failures(cs->d, k, cs->mark);
	}
	trials_free(&cs->seq);
	trials_free(&cs->paced);
	trials_free(&cs->conc);
}

/*
 * connect -> ready against the floor server, wstaskd --spare 2 and (if it
 * runs) wstaskd --spare 0, all running side by side and measured in
 * alternating blocks, the order rotated per block: on a shared machine a
 * ratio of two series taken minutes apart says little.  Sequential (after
 * a warm-up), 10 ms apart (every CPU idle in between: the wake-up path),
 * and CONC concurrent clients.
 */
static void
phase_connect(void)
{
	struct cserver	 cs[3] = {
		{ .key = "ws_handshake_floor",
		  .label = "floor: WS handshake, 1 process",
		  .tg = &B.floor_tg, .pid = B.floor_pid },
		{ .key = "connect_ready_spare2",
		  .label = "connect -> ready, spare 2",
		  .tg = &B.d.tg, .pid = B.d.pid, .d = &B.d },
		{ .key = "connect_ready_spare0",
		  .label = "connect -> ready, spare 0",
		  .tg = &B.d0.tg, .pid = B.d0.pid, .d = &B.d0 },
	};
	unsigned	 n = B.d0.pid > 0 ? 3 : 2, i, b;

	for (i = 0; i < n; i++)
		cserver_init(&cs[i]);
	for (b = 0; b < 10; b++)
		for (i = 0; i < n; i++)
			run_block(&cs[(i + b) % n].seq, B.n_seq / 10);
	for (b = 0; b < 4; b++)
		for (i = 0; i < n; i++)
			run_block(&cs[(i + b) % n].paced, B.n_paced / 4);
	for (b = 0; b < 4; b++)
		for (i = 0; i < n; i++)
			run_block(&cs[(i + b) % n].conc, B.conc_rounds / 4);
	for (i = 0; i < n; i++) {
		if (i)
			fputc('\n', B.tbl);
		cserver_report(&cs[i]);
	}
}

/* ------------------------------------------------------------------ */
/* sessions with running tasks                                         */

static char *
run_msg(const char *batch, unsigned limit, const char *handler, unsigned n)
{
	size_t	cap = 128 + strlen(batch) + (size_t)n * (strlen(handler) + 3);
	char	*buf = malloc(cap), *p;
	unsigned i;

	if (buf == NULL)
		die("malloc: %s", strerror(errno));
	p = buf + sprintf(buf, "{\"type\":\"run\",\"batch\":\"%s\","
	    "\"limit\":%u,\"tasks\":[", batch, limit);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i ? "," : "", handler);
	strcpy(p, "]}");
	return buf;
}

/* A session that runs NHOLD hold tasks, all started; NULL on failure. */
static struct conn *
session_holding(const char *id)
{
	struct conn	*c = conn_new();
	char		*msg;

	if (conn_connect(c, &B.d.tg, id) < 0 || !wait_ready(c, 5000)) {
		err_line("no ready for a holding session", c, NULL);
		conn_free(c);
		return NULL;
	}
	msg = run_msg("hold", NHOLD, "hold", NHOLD);
	conn_send(c, msg);
	free(msg);
	if (!wait_count(c, &c->nstarted, NHOLD, 5000)) {
		err_line("hold tasks did not start", c, NULL);
		conn_finish(c);
		return NULL;
	}
	return c;
}

static void
phase_supersede(void)
{
	struct samples	ready = { 0 }, cancelled = { 0 }, after = { 0 };
	struct conn	*a, *b;
	char		 id[64];
	unsigned	 i;
	long		 mark = log_mark(&B.d);

	for (i = 0; i < B.n_sup && !stopping(); i++) {
		session_id(id, sizeof(id), "sup");
		if ((a = session_holding(id)) == NULL) {
			ready.errors++;
			continue;
		}
		b = conn_new();
		b->autoclose = true;
		conn_connect(b, &B.d.tg, id);
		if (!wait_ready(b, 10000) || !b->superseded) {
			err_line("supersede: no ready with superseded:true",
			    b, NULL);
			ready.errors++;
		} else {
			s_add(&ready, ms(b->t_start, b->t_ready));
			if (a->t_cancelled) {
				s_add(&cancelled, ms(b->t_start,
				    a->t_cancelled));
				s_add(&after, ms(a->t_cancelled, b->t_ready));
			}
		}
		wait_gone(a, 3000);
		if (a->close_code != 4001)
			ready.errors++;
		conn_finish(b);
		conn_free(a);
	}
	report_lat("supersede_ready",
	    "supersede, 10 tasks: connect -> ready", &ready);
	report_lat("supersede_old_cancelled",
	    "    of which connect -> old batch cancelled", &cancelled);
	report_lat("supersede_cancelled_to_ready",
	    "    of which old cancelled -> new ready", &after);
	phase_failures(&B.d, "supersede_ready", mark);
	s_free(&ready);
	s_free(&cancelled);
	s_free(&after);
}

/* The worker holding session id: the supervisor's child titled so. */
static pid_t
find_worker(const char *id)
{
	pid_t	kids[1024];
	char	cmd[512], needle[96];
	size_t	n, i;

	snprintf(needle, sizeof(needle), "session=%s ", id);
	n = proc_children(B.d.pid, kids, 1024);
	for (i = 0; i < n && i < 1024; i++)
		if (proc_cmdline(kids[i], cmd, sizeof(cmd)) &&
		    strstr(cmd, needle))
			return kids[i];
	return 0;
}

struct close_times {
	int64_t	exited, reaped;		/* the last task's */
	int64_t	worker_exited, worker_reaped;
};

/*
 * Watch pidfds[0..n-1] (the tasks) and wfd (the worker) from t0 until
 * all are reaped (or exited, if this kernel cannot tell) or 5 s passed.
 * Nothing else runs meanwhile: the bench sleeps in poll().
 */
static bool
watch_exits(const int *pidfds, size_t n, int wfd, struct close_times *ct)
{
	struct pollfd	pf[NHOLD + 1];
	int64_t		exited[NHOLD + 1] = { 0 }, reaped[NHOLD + 1] = { 0 };
	int64_t		dl = deadline_ms(5000), t;
	size_t		i, pending;

	for (i = 0; i <= n; i++) {
		pf[i].fd = i < n ? pidfds[i] : wfd;
		pf[i].events = POLLIN;
	}
	for (;;) {
		pending = 0;
		for (i = 0; i <= n; i++)
			if (!exited[i] || (B.pidfd_hup && !reaped[i]))
				pending++;
		if (!pending || (t = now_ns()) >= dl)
			break;
		if (poll(pf, n + 1, (int)((dl - t) / 1000000) + 1) < 0 &&
		    errno != EINTR)
			return false;
		t = now_ns();
		for (i = 0; i <= n; i++) {
			if ((pf[i].revents & POLLIN) && !exited[i]) {
				exited[i] = t;
				pf[i].events = 0;
			}
			if ((pf[i].revents & POLLHUP) && !reaped[i]) {
				reaped[i] = t;
				exited[i] = exited[i] ? exited[i] : t;
				pf[i].fd = -1;
			}
		}
	}
	memset(ct, 0, sizeof(*ct));
	for (i = 0; i < n; i++) {
		if (!exited[i] || (B.pidfd_hup && !reaped[i]))
			return false;
		if (exited[i] > ct->exited)
			ct->exited = exited[i];
		if (reaped[i] > ct->reaped)
			ct->reaped = reaped[i];
	}
	ct->worker_exited = exited[n];
	ct->worker_reaped = reaped[n];
	return exited[n] != 0;
}

/* One close trial; false (an error) if anything did not go as planned. */
static bool
close_trial(struct samples *s)
{
	struct close_times ct;
	struct conn	*c;
	pid_t		 worker, tasks[NHOLD + 4];
	int		 pfd[NHOLD], wfd = -1;
	char		 id[64];
	size_t		 n = 0, i, got = 0;
	bool		 ok = false;

	session_id(id, sizeof(id), "close");
	if ((c = session_holding(id)) == NULL)
		return false;
	if ((worker = find_worker(id)) > 0) {
		n = proc_children(worker, tasks, NHOLD + 4);
		wfd = pidfd_open_pid(worker);
	}
	if (n != NHOLD || wfd < 0) {
		err_line("close: worker or its tasks not found", c, NULL);
		goto out;
	}
	for (got = 0; got < n; got++)
		if ((pfd[got] = pidfd_open_pid(tasks[got])) < 0)
			goto out;
	conn_close(c);
	{
		int64_t dl = deadline_ms(2000);

		while (!c->close_sent && serve(dl))
			;
		serve_end();
	}
	if (!c->close_sent || !watch_exits(pfd, n, wfd, &ct)) {
		err_line("close: tasks not all gone within 5 s", c, NULL);
		goto out;
	}
	s_add(&s[0], ms(c->t_close, ct.exited));
	if (B.pidfd_hup)
		s_add(&s[1], ms(c->t_close, ct.reaped));
	s_add(&s[2], ms(c->t_close, ct.worker_exited));
	if (ct.worker_reaped)
		s_add(&s[3], ms(c->t_close, ct.worker_reaped));
	ok = true;
out:
	for (i = 0; i < got; i++)
		close(pfd[i]);
	if (wfd >= 0)
		close(wfd);
	conn_finish(c);
	return ok;
}

static void
phase_close(void)
{
	struct samples	s[4] = { { 0 }, { 0 }, { 0 }, { 0 } };
	unsigned	i;
	int		k;
	long		mark = log_mark(&B.d);

	for (i = 0; i < B.n_close && !stopping(); i++)
		if (!close_trial(s))
			s[0].errors++;
	s[1].errors = s[2].errors = s[0].errors;
	report_lat("close_last_task_exited",
	    "close, 10 tasks: close -> last task exited", &s[0]);
	if (B.pidfd_hup)
		report_lat("close_last_task_reaped",
		    "close, 10 tasks: close -> last task reaped", &s[1]);
	report_lat("close_worker_exited",
	    "close, 10 tasks: close -> worker exited", &s[2]);
	report_lat("close_worker_reaped",
	    "close, 10 tasks: close -> worker reaped (sup.)", &s[3]);
	phase_failures(&B.d, B.pidfd_hup ? "close_last_task_reaped" :
	    "close_worker_exited", mark);
	for (k = 0; k < 4; k++)
		s_free(&s[k]);
}

/* ------------------------------------------------------------------ */
/* handler exit -> result                                              */

static void
on_stamp(struct conn *c, const char *msg, size_t len, int64_t t)
{
	cJSON	*j = cJSON_ParseWithLength(msg, len), *v;

	v = j ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
	if (!cJSON_IsNumber(v)) {
		c->rs->errors++;
		err_msg("result without a clock value", c, msg, len);
	}
	else {
		s_add(c->rs, ((double)t / 1e3 - v->valuedouble) / 1e3);
		if (c->rs2)
			s_add(c->rs2, ms(c->t_tx, t));
	}
	cJSON_Delete(j);
}

static void
phase_result(void)
{
	struct samples	single = { 0 }, rtt = { 0 }, batch = { 0 };
	struct conn	*c = conn_new();
	char		 id[64], *msg, name[32];
	unsigned	 i, f_single = 0;
	long		 mark = log_mark(&B.d), mark2 = -1;

	session_id(id, sizeof(id), "result");
	if (conn_connect(c, &B.d.tg, id) < 0 || !wait_ready(c, 5000)) {
		single.errors = B.n_result;
		goto out;
	}
	c->on_result = on_stamp;
	c->rs = &single;
	c->rs2 = &rtt;
	for (i = 0; i < B.n_result && !stopping(); i++) {
		snprintf(name, sizeof(name), "s%u", i);
		msg = run_msg(name, 1, "stamp", 1);
		conn_send(c, msg);
		free(msg);
		if (!wait_count(c, &c->ndone, i + 1, 5000)) {
			single.errors++;
			break;
		}
	}
	f_single = log_failures_since(&B.d, mark);
	mark2 = log_mark(&B.d);
	c->rs = &batch;
	c->rs2 = NULL;
	msg = run_msg("stamps", 10, "stamp", B.n_result_batch);
	conn_send(c, msg);
	free(msg);
	if (!wait_count(c, &c->ndone, B.n_result + 1, 60000))
		batch.errors++;
out:
	conn_finish(c);
	report_lat("exit_to_result",
	    "handler exit -> result (1-task batches)", &single);
	report_lat("run_to_result",
	    "    run sent -> result (1-task batches)", &rtt);
	report_lat("exit_to_result_in_batch",
	    "handler exit -> result (batch, limit 10)", &batch);
	cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(B.jmeas,
	    "exit_to_result"), "daemon_log_failures", f_single);
	phase_failures(&B.d, "exit_to_result_in_batch", mark2);
	s_free(&single);
	s_free(&rtt);
	s_free(&batch);
}

/* ------------------------------------------------------------------ */
/* progress on fd 3 and live log lines (SPEC 7)                        */

#define PLOG_LINES	2000

static void
on_pstamp(struct conn *c, const char *msg, size_t len, int64_t t)
{
	cJSON	*j = cJSON_ParseWithLength(msg, len), *v;

	v = j ? cJSON_GetObjectItemCaseSensitive(j, "data") : NULL;
	if (!cJSON_IsNumber(v)) {
		c->rs->errors++;
		err_msg("progress without a clock value", c, msg, len);
	} else
		s_add(c->rs, ((double)t / 1e3 - v->valuedouble) / 1e3);
	cJSON_Delete(j);
}

/* A new session of the main daemon, ready; NULL on failure. */
static struct conn *
session_ready(const char *prefix, char *id, size_t idlen)
{
	struct conn	*c = conn_new();

	session_id(id, idlen, prefix);
	if (conn_connect(c, &B.d.tg, id) < 0 || !wait_ready(c, 5000)) {
		err_line("no ready", c, NULL);
		conn_finish(c);
		return NULL;
	}
	return c;
}

/* Handler writes a report (60 ms apart: each goes at once) -> event. */
static void
progress_latency(void)
{
	struct samples	 lat = { 0 };
	struct conn	*c;
	char		 id[64], msg[160];

	if ((c = session_ready("pstamp", id, sizeof(id))) == NULL)
		lat.errors++;
	else {
		c->on_progress = on_pstamp;
		c->rs = &lat;
		snprintf(msg, sizeof(msg), "{\"type\":\"run\",\"batch\":\"p\","
		    "\"tasks\":[{\"task\":\"pstamp\",\"args\":[%u,60]}]}",
		    B.n_pstamp);
		conn_send(c, msg);
		if (!wait_count(c, &c->ndone, 1, B.n_pstamp * 70 + 10000))
			lat.errors++;
		conn_finish(c);
	}
	report_lat("progress_to_event",
	    "progress line written -> event (60 ms apart)", &lat);
	s_free(&lat);
}

/*
 * n progress lines as fast as pflood writes them, in a fresh session:
 * the worker's CPU per line and its peak RSS (VmHWM, which only grows).
 */
static void
progress_flood(unsigned long n)
{
	struct conn	*c;
	char		 id[64], msg[160], key[48], label[96];
	double		 cpu0, cpu1;
	long		 hwm0, hwm;
	pid_t		 w;
	bool		 ok;
	cJSON		*o;

	snprintf(key, sizeof(key), "progress_flood_%lu", n);
	o = cJSON_AddObjectToObject(B.jmeas, key);
	if ((c = session_ready("pflood", id, sizeof(id))) == NULL ||
	    (w = find_worker(id)) == 0) {
		cJSON_AddNumberToObject(o, "errors", 1);
		conn_finish(c);
		return;
	}
	cpu0 = pid_cpu_s(w);
	hwm0 = pid_kib(w, "status", "VmHWM");
	snprintf(msg, sizeof(msg), "{\"type\":\"run\",\"batch\":\"f\","
	    "\"tasks\":[{\"task\":\"pflood\",\"args\":%lu}]}", n);
	conn_send(c, msg);
	ok = wait_count(c, &c->ndone, 1, 120000) && c->nfailed == 0;
	cpu1 = pid_cpu_s(w);
	hwm = pid_kib(w, "status", "VmHWM");
	cJSON_AddNumberToObject(o, "lines", (double)n);
	cJSON_AddNumberToObject(o, "errors", ok ? 0 : 1);
	cJSON_AddNumberToObject(o, "ms", ms(c->t_tx, c->t_done));
	cJSON_AddNumberToObject(o, "progress_events", c->nprogress);
	cJSON_AddNumberToObject(o, "worker_cpu_ns_per_line",
	    (cpu1 - cpu0) * 1e9 / (double)n);
	cJSON_AddNumberToObject(o, "worker_vmhwm_kib_before", (double)hwm0);
	cJSON_AddNumberToObject(o, "worker_vmhwm_kib", (double)hwm);
	snprintf(label, sizeof(label), "%lu lines on fd 3, as fast as it can",
	    n);
	fprintf(B.tbl, "  %-48s %s%.0f ns worker CPU a line, peak RSS %ld KiB "
	    "(%ld before), %u events, %.0f ms\n", label, ok ? "" : "FAILED ",
	    (cpu1 - cpu0) * 1e9 / (double)n, hwm, hwm0, c->nprogress,
	    ms(c->t_tx, c->t_done));
	conn_finish(c);
}

/* plog run by the bench, stderr to /dev/null: its run time in ms. */
static double
plog_direct(void)
{
	char	path[PATH_MAX + 8];
	int	in[2], null, status;
	int64_t	t0 = now_ns();
	pid_t	pid;

	snprintf(path, sizeof(path), "%s/plog", B.handlers);
	if (pipe(in) < 0 || (null = open("/dev/null", O_WRONLY)) < 0)
		return NAN;
	if ((pid = fork()) == 0) {
		child_exec_prep(in[0], null, null);
		execl(path, "plog", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(null);
	if (pid < 0 || dprintf(in[1], "%u", PLOG_LINES) < 0) {
		close(in[1]);
		return NAN;
	}
	close(in[1]);
	if (!wait_pid(pid, &status, 10000) || status != 0)
		return NAN;
	return ms(t0, now_ns());
}

/* One plog batch on c: ms from run sent to the last log line (log) or result. */
static double
plog_run(struct conn *c, unsigned i, bool log)
{
	char		msg[160];
	unsigned	nlog = c->nlog, ndone = c->ndone;

	snprintf(msg, sizeof(msg), "{\"type\":\"run\",\"batch\":\"%s%u\","
	    "\"log\":%s,\"tasks\":[{\"task\":\"plog\",\"args\":%u}]}",
	    log ? "l" : "n", i, log ? "true" : "false", PLOG_LINES);
	conn_send(c, msg);
	if (!wait_count(c, &c->ndone, ndone + 1, 30000) ||
	    c->nlog - nlog != (log ? PLOG_LINES : 0))
		return NAN;
	return ms(c->t_tx, log ? c->t_log : c->t_result);
}

static void
progress_log(void)
{
	struct samples	 with = { 0 }, without = { 0 }, direct = { 0 };
	struct samples	*all[] = { &with, &without, &direct };
	struct conn	*c;
	char		 id[64];
	double		 v[3];
	unsigned	 i, k;

	if ((c = session_ready("plog", id, sizeof(id))) == NULL)
		with.errors++;
	for (i = 0; c && i < B.n_plog && !stopping(); i++) {
		v[0] = plog_run(c, i, true);
		v[1] = plog_run(c, i, false);
		v[2] = plog_direct();
		for (k = 0; k < 3; k++)
			if (isnan(v[k]))
				all[k]->errors++;
			else
				s_add(all[k], v[k]);
	}
	conn_finish(c);
	report_lat("log_2000_lines",
	    "2000 stderr lines, log: run sent -> last line", &with);
	report_lat("log_2000_lines_off",
	    "    the same without log: run sent -> result", &without);
	report_lat("log_2000_lines_direct",
	    "    the handler alone, stderr to /dev/null", &direct);
	if (with.n && direct.n)
		fprintf(B.tbl, "  %-48s %.0f lines/s to the client (p50), "
		    "%.0f lines/s written with no reader\n", "log lines",
		    PLOG_LINES / (s_q(&with, 0.5) / 1e3),
		    PLOG_LINES / (s_q(&direct, 0.5) / 1e3));
	for (k = 0; k < 3; k++)
		s_free(all[k]);
}

static void
phase_progress(void)
{
	long	mark = log_mark(&B.d);

	progress_latency();
	progress_flood(100000);
	progress_flood(1000000);
	progress_log();
	phase_failures(&B.d, "progress_to_event", mark);
}

/* ------------------------------------------------------------------ */
/* throughput: wstaskd against posix_spawn and xargs                   */

/*
 * One batch of n tasks of handler; the rate, and in *cpu_us wstaskd's own
 * CPU per task: the session's worker and the supervisor (schedstat, their
 * own threads only: a handler's CPU is the handler's).
 */
static double
tp_wstaskd(const char *handler, unsigned n, unsigned round, double *cpu_us,
    double *kids_us, double *client_us)
{
	struct conn	*c = conn_new();
	char		 id[64], batch[32], *msg;
	double		 rate = -1, cw = NAN, cs, ck = NAN, cc;
	pid_t		 w = 0;

	*cpu_us = *kids_us = *client_us = NAN;
	session_id(id, sizeof(id), "tp");
	if (conn_connect(c, &B.d.tg, id) < 0 || !wait_ready(c, 5000))
		goto out;
	if ((w = find_worker(id)) > 0) {
		cw = pid_cpu_s(w);
		ck = pid_cpu(w, true) - cw;
	}
	cs = pid_cpu_s(B.d.pid);
	cc = self_cpu_s();
	snprintf(batch, sizeof(batch), "tp%u", round);
	msg = run_msg(batch, 10, handler, n);
	conn_send(c, msg);
	free(msg);
	if (!wait_count(c, &c->ndone, 1, 120000) || c->nresults != n ||
	    c->nfailed) {
		err_line("throughput batch incomplete", c, NULL);
		goto out;
	}
	rate = n / ((double)(c->t_done - c->t_tx) / 1e9);
	*client_us = (self_cpu_s() - cc) * 1e6 / n;
	if (w > 0) {
		double	now = pid_cpu_s(w);

		*cpu_us = (now - cw + pid_cpu_s(B.d.pid) - cs) * 1e6 / n;
		*kids_us = (pid_cpu(w, true) - now - ck) * 1e6 / n;
	}
out:
	conn_finish(c);
	return rate;
}

static char *floor_argv[] = { "nop", NULL };
static char *floor_envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin",
    "WSTASK_SESSION=floor", "WSTASK_BATCH=floor", "WSTASK_TASK_ID=0",
    "WSTASK_TASK=nop", NULL };

/*
 * What wstaskd gives its handlers, minus the pipes: own process group,
 * empty mask, default dispositions, cwd the handler directory, stdio on
 * /dev/null, nothing else open.  Only dispositions that are ignored here
 * survive exec (caught ones are reset by it), so only those are named in
 * the default set: with a full set glibc's child makes a sigaction call
 * per signal while the parent waits for the exec.
 */
static int
spawn_setup(posix_spawnattr_t *attr, posix_spawn_file_actions_t *fa)
{
	struct sigaction	sa;
	sigset_t		none, ign;
	int			sig;

	sigemptyset(&none);
	sigemptyset(&ign);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&ign, sig);
	if (posix_spawnattr_init(attr) ||
	    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ||
	    posix_spawnattr_setpgroup(attr, 0) ||
	    posix_spawnattr_setsigmask(attr, &none) ||
	    posix_spawnattr_setsigdefault(attr, &ign) ||
	    posix_spawn_file_actions_init(fa) ||
	    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0) ||
	    posix_spawn_file_actions_adddup2(fa, 1, 2) ||
	    posix_spawn_file_actions_addchdir_np(fa, B.handlers) ||
	    posix_spawn_file_actions_addclosefrom_np(fa, 3))
		return -1;
	return 0;
}

/*
 * The posix_spawn floor, run in a forked child: its only children.  The
 * elapsed seconds; in cpu_s[0] the loop's own CPU, in cpu_s[1] its reaped
 * children's (the handlers').
 */
static double
spawn_loop(const char *path, unsigned n, unsigned par, double cpu_s[2])
{
	posix_spawnattr_t		attr;
	posix_spawn_file_actions_t	fa;
	unsigned			started = 0, running = 0, done = 0;
	int64_t				t0;
	pid_t				pid;
	int				st;
	double				el;

	if (spawn_setup(&attr, &fa) < 0)
		return -1;
	cpu_s[0] = pid_cpu_s(getpid());
	cpu_s[1] = pid_cpu(getpid(), true) - cpu_s[0];
	t0 = now_ns();
	while (done < n) {
		while (running < par && started < n) {
			if (posix_spawn(&pid, path, &fa, &attr, floor_argv,
			    floor_envp))
				return -1;
			started++;
			running++;
		}
		if ((pid = waitpid(-1, &st, 0)) < 0) {
			if (errno == EINTR && !stopping())
				continue;
			return -1;
		}
		running--;
		done++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return -1;
	}
	el = pid_cpu_s(getpid());
	cpu_s[1] = pid_cpu(getpid(), true) - el - cpu_s[1];
	cpu_s[0] = el - cpu_s[0];
	return (double)(now_ns() - t0) / 1e9;
}

/* One kill-floor trial: NHOLD holds spawned, settled, SIGTERMed, reaped. */
static bool
kill_trial(const char *path, posix_spawnattr_t *attr,
    posix_spawn_file_actions_t *fa, struct samples *s)
{
	pid_t		pids[NHOLD];
	unsigned	i, n = 0;
	int64_t		t0;
	bool		ok = true;

	for (n = 0; n < NHOLD; n++)
		if (posix_spawn(&pids[n], path, fa, attr, floor_argv,
		    floor_envp))
			break;
	sleep_ms(5);			/* as tasks are, a while after start */
	t0 = now_ns();
	for (i = 0; i < n; i++)
		kill(-pids[i], SIGTERM);
	for (i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) < 0)
			if (errno != EINTR) {
				ok = false;
				break;
			}
	if (ok && n == NHOLD)
		s_add(s, ms(t0, now_ns()));
	return ok && n == NHOLD;
}

/*
 * The floor under close and supersede: the time a parent needs to end
 * ten running hold processes (SIGTERM to each group) and reap them all.
 */
static void
phase_kill_floor(void)
{
	posix_spawnattr_t		attr;
	posix_spawn_file_actions_t	fa;
	struct samples			s = { 0 };
	char				hold[PATH_MAX];
	unsigned			i;

	if (snprintf(hold, sizeof(hold), "%s/hold", B.handlers) >=
	    (int)sizeof(hold) || spawn_setup(&attr, &fa) < 0)
		die("kill floor: cannot set up posix_spawn");
	for (i = 0; i < B.n_close && !stopping(); i++)
		if (!kill_trial(hold, &attr, &fa, &s))
			s.errors++;
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	report_lat("kill_floor", "floor: SIGTERM 10 tasks -> all reaped", &s);
	s_free(&s);
}

/* Wait for pid to exit, precisely (pidfd), at most tmo ms; its status. */
static bool
wait_exit_precise(pid_t pid, unsigned tmo, int64_t *t_exit, int *status)
{
	struct pollfd	pf;
	int		fd = pidfd_open_pid(pid), n;
	bool		ok;

	if (fd < 0)
		return false;
	pf.fd = fd;
	pf.events = POLLIN;
	do
		n = poll(&pf, 1, (int)tmo);
	while (n < 0 && errno == EINTR && !stopping());
	ok = n == 1;
	*t_exit = now_ns();
	close(fd);
	if (!ok) {
		kill(pid, SIGKILL);
		wait_pid(pid, status, 2000);
		return false;
	}
	return wait_pid(pid, status, 2000);
}

static double
tp_spawn(const char *path, unsigned n, double *cpu_us, double *kids_us)
{
	pid_t	pid, parent = getpid();
	int	p[2], st;
	int64_t	t;
	double	r[3] = { -1, NAN, NAN };

	*cpu_us = *kids_us = NAN;
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		r[0] = spawn_loop(path, n, 10, &r[1]);
		_exit(write(p[1], r, sizeof(r)) == sizeof(r) && r[0] > 0 ?
		    0 : 1);
	}
	close(p[1]);
	if (!wait_exit_precise(pid, 120000, &t, &st) || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0 || read(p[0], r, sizeof(r)) != sizeof(r))
		r[0] = -1;
	close(p[0]);
	if (r[0] > 0) {
		*cpu_us = r[1] * 1e6 / n;
		*kids_us = r[2] * 1e6 / n;
	}
	return r[0] > 0 ? n / r[0] : -1;
}

static double
tp_xargs(const char *path, unsigned n)
{
	char	input[PATH_MAX], npar[] = "10";
	pid_t	pid, parent = getpid();
	int64_t	t0, t1;
	int	fd, nullfd, st;
	FILE	*f;
	unsigned i;

	if (snprintf(input, sizeof(input), "%s/xargs-input.txt", B.workdir) >=
	    (int)sizeof(input))
		return -1;
	if ((f = fopen(input, "w")) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		fputs("x\n", f);
	if (fclose(f) != 0 || (fd = open(input, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
		close(fd);
		return -1;
	}
	t0 = now_ns();
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		child_exec_prep(fd, nullfd, -1);
		execlp("xargs", "xargs", "-P", npar, "-n", "1", path,
		    (char *)NULL);
		_exit(127);
	}
	close(fd);
	close(nullfd);
	if (pid < 0 || !wait_exit_precise(pid, 120000, &t1, &st) ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return n / ((double)(t1 - t0) / 1e9);
}

/* Busy and total jiffies of the whole machine, from /proc/stat. */
static void
cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long	v[8] = { 0 };
	char			buf[256];
	int			i;

	*busy = *total = 0;
	if (read_small("/proc/stat", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		return;
	for (i = 0; i < 8; i++)
		*total += v[i];
	*busy = *total - v[3] - v[4];		/* not idle, not iowait */
}

static double
median3(const double *v, unsigned n)
{
	struct samples	s = { 0 };
	unsigned	i;
	double		m;

	for (i = 0; i < n; i++)
		if (v[i] > 0)
			s_add(&s, v[i]);
	m = s_q(&s, 0.5);
	s_free(&s);
	return m;
}

#define TP_METHODS	5

static const char *const tp_label[TP_METHODS] = {
	"wstaskd, one batch (tasks/s)",
	"floor: posix_spawn loop (tasks/s)",
	"floor: xargs -P 10 -n 1 (tasks/s)",
	"wstaskd, one batch, static nop (tasks/s)",
	"floor: posix_spawn loop, static nop (tasks/s)",
};
static const char *const tp_key[TP_METHODS] = {
	"wstaskd", "posix_spawn_floor", "xargs_floor", "wstaskd_static",
	"posix_spawn_floor_static",
};

/* One throughput measurement; *cpu_us its own CPU per task if it can tell. */
static double
tp_method(unsigned m, const char *nop, const char *nops, unsigned n,
    unsigned r, double cpu[3])
{
	cpu[0] = cpu[1] = cpu[2] = NAN;
	switch (m) {
	case 0: return tp_wstaskd("nop", n, r, &cpu[0], &cpu[1], &cpu[2]);
	case 1: return tp_spawn(nop, n, &cpu[0], &cpu[1]);
	case 2: return tp_xargs(nop, n);
	case 3: return tp_wstaskd("nop-static", n, r, &cpu[0], &cpu[1],
		    &cpu[2]);
	default: return tp_spawn(nops, n, &cpu[0], &cpu[1]);
	}
}

static void
tp_json(cJSON *o, const char *key, const double *v, unsigned r)
{
	cJSON		*a = cJSON_AddArrayToObject(o, key);
	unsigned	 i;

	for (i = 0; i < r; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
}

static void
tp_row(const char *label, const double *v, const double *busy,
    const double *cpu, unsigned r)
{
	struct samples	bs = { 0 }, cs = { 0 };
	double		lo = INFINITY, hi = 0;
	unsigned	i;

	for (i = 0; i < r; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
		s_add(&bs, busy[i]);
		if (!isnan(cpu[i]))
			s_add(&cs, cpu[i]);
	}
	fprintf(B.tbl, "  %-48s %9.0f %9.0f %9.0f %8.0f%%", label,
	    median3(v, r), lo, hi, 100 * s_q(&bs, 0.5));
	if (cs.n)
		fprintf(B.tbl, " %9.1f", s_q(&cs, 0.5));
	fputc('\n', B.tbl);
	s_free(&bs);
	s_free(&cs);
}

/*
 * 5,000 nop tasks, limit 10, through wstaskd, a posix_spawn loop and
 * xargs (the dynamically linked nop: the figure kept from issue 6), and
 * through wstaskd and the loop with a static nop (no dynamic loader: the
 * floor that shows wstaskd's own cost).  Beside each rate its own CPU
 * per task: wstaskd's worker and supervisor, or the loop's process.
 */
static void
phase_throughput(void)
{
	cJSON		*o = cJSON_AddObjectToObject(B.jmeas, "throughput");
	double		 v[TP_METHODS][8], cpu[TP_METHODS][8],
			 kids[TP_METHODS][8], cli[TP_METHODS][8],
			 busy[TP_METHODS][8], med[TP_METHODS], mcpu[TP_METHODS];
	long		 mark = log_mark(&B.d);
	char		 nop[PATH_MAX], nops[PATH_MAX];
	unsigned	 r, k, n = B.n_tp;
	double		 cpu_ratio;

	if (snprintf(nop, sizeof(nop), "%s/nop", B.handlers) >=
	    (int)sizeof(nop) || snprintf(nops, sizeof(nops), "%s/nop-static",
	    B.handlers) >= (int)sizeof(nops))
		die("path too long: %s", B.handlers);
	for (r = 0; r < B.tp_rounds && r < 8 && !stopping(); r++) {
		/* rotate the order, so no method always goes first */
		for (k = 0; k < TP_METHODS; k++) {
			unsigned long long b0, t0, b1, t1;
			unsigned m = (r + k) % TP_METHODS;

			double c3[3];

			cpu_jiffies(&b0, &t0);
			v[m][r] = tp_method(m, nop, nops, n, r, c3);
			cpu_jiffies(&b1, &t1);
			cpu[m][r] = c3[0];
			kids[m][r] = c3[1];
			cli[m][r] = c3[2];
			busy[m][r] = t1 > t0 ? (double)(b1 - b0) / (t1 - t0) :
			    NAN;
		}
		say("throughput round %u: wstaskd %.0f/s, posix_spawn %.0f/s, "
		    "xargs %.0f/s; static: wstaskd %.0f/s (%.1f us own CPU a "
		    "task), posix_spawn %.0f/s (%.1f us)", r + 1, v[0][r],
		    v[1][r], v[2][r], v[3][r], cpu[3][r], v[4][r], cpu[4][r]);
	}
	for (k = 0; k < TP_METHODS; k++) {
		med[k] = median3(v[k], r);
		mcpu[k] = median3(cpu[k], r);
	}
	cJSON_AddNumberToObject(o, "tasks", n);
	cJSON_AddNumberToObject(o, "limit", 10);
	cJSON_AddNumberToObject(o, "rounds", r);
	cJSON_AddStringToObject(o, "unit", "tasks/s");
	cJSON_AddStringToObject(o, "handler", "nop: a dynamically linked C "
	    "program that exits 0; *_static: nop-static, the same linked "
	    "statically");
	cJSON_AddStringToObject(o, "machine_busy_note", "share of all CPUs "
	    "not idle during each run, whoever used them (the machine is "
	    "shared)");
	cJSON_AddStringToObject(o, "own_cpu_note", "*_own_cpu_us: CPU per "
	    "task of wstaskd's worker and supervisor, or of the posix_spawn "
	    "loop's process; the handlers' own CPU is not in it; "
	    "*_handler_cpu_us: the reaped handlers' (clock ticks); "
	    "*_client_cpu_us: this bench's, receiving the events");
	for (k = 0; k < TP_METHODS; k++) {
		char key[64];

		tp_json(o, tp_key[k], v[k], r);
		snprintf(key, sizeof(key), "%s_machine_busy", tp_key[k]);
		tp_json(o, key, busy[k], r);
		if (k == 2)
			continue;
		snprintf(key, sizeof(key), "%s_own_cpu_us", tp_key[k]);
		tp_json(o, key, cpu[k], r);
		snprintf(key, sizeof(key), "%s_own_cpu_us_median", tp_key[k]);
		cJSON_AddNumberToObject(o, key, mcpu[k]);
		snprintf(key, sizeof(key), "%s_handler_cpu_us", tp_key[k]);
		tp_json(o, key, kids[k], r);
		snprintf(key, sizeof(key), "%s_handler_cpu_us_median",
		    tp_key[k]);
		cJSON_AddNumberToObject(o, key, median3(kids[k], r));
		if (k == 1 || k == 4)
			continue;
		snprintf(key, sizeof(key), "%s_client_cpu_us", tp_key[k]);
		tp_json(o, key, cli[k], r);
		snprintf(key, sizeof(key), "%s_client_cpu_us_median",
		    tp_key[k]);
		cJSON_AddNumberToObject(o, key, median3(cli[k], r));
	}
	cJSON_AddNumberToObject(o, "wstaskd_median", med[0]);
	cJSON_AddNumberToObject(o, "posix_spawn_median", med[1]);
	cJSON_AddNumberToObject(o, "xargs_median", med[2]);
	cJSON_AddNumberToObject(o, "wstaskd_static_median", med[3]);
	cJSON_AddNumberToObject(o, "posix_spawn_static_median", med[4]);
	cJSON_AddNumberToObject(o, "ratio_to_posix_spawn", med[0] / med[1]);
	cJSON_AddNumberToObject(o, "ratio_to_xargs", med[0] / med[2]);
	cJSON_AddNumberToObject(o, "ratio_static", med[3] / med[4]);
	fprintf(B.tbl, "  %-48s %9s %9s %9s %9s %9s\n", "", "median", "min",
	    "max", "CPU busy", "own us/t");
	for (k = 0; k < TP_METHODS; k++)
		tp_row(tp_label[k], v[k], busy[k], cpu[k], r);
	fprintf(B.tbl, "  %-48s %9.2f x\n  %-48s %9.2f x\n", "wstaskd / "
	    "posix_spawn floor", med[0] / med[1], "wstaskd / xargs",
	    med[0] / med[2]);
	fprintf(B.tbl, "  %-48s %9.2f x    own CPU a task: wstaskd %.1f us, "
	    "the loop %.1f us\n", "static: wstaskd / posix_spawn floor",
	    med[3] / med[4], mcpu[3], mcpu[4]);
	cpu_ratio = (mcpu[4] + median3(kids[4], r)) / (mcpu[3] +
	    median3(kids[3], r) + median3(cli[3], r));
	cJSON_AddNumberToObject(o, "cpu_ratio_static", cpu_ratio);
	fprintf(B.tbl, "  %-48s wstaskd %.0f + handler %.0f + this client "
	    "%.0f us; the loop %.0f + handler %.0f us\n",
	    "static: CPU a task, by process", mcpu[3], median3(kids[3], r),
	    median3(cli[3], r), mcpu[4], median3(kids[4], r));
	fprintf(B.tbl, "  %-48s %9.2f x    (the ratio if CPU were all that "
	    "bounds it: the load of others cancels out)\n",
	    "static: floor CPU a task / wstaskd's", cpu_ratio);
	phase_failures(&B.d, "throughput", mark);
}

/* ------------------------------------------------------------------ */
/* --cgroup: the per-task cost, and close -> reaped                    */

static char cg_dir[PATH_MAX];	/* made here, removed at the end */

/* A fresh cgroup directory for the phase; false (say why) to skip it. */
static bool
cg_make(void)
{
	char	 line[1024], mnt[PATH_MAX] = "";
	FILE	*fp;

	if (geteuid() != 0) {
		say("cgroup: skipped: not root");
		return false;
	}
	if ((fp = fopen("/proc/self/mountinfo", "re")) != NULL) {
		while (!*mnt && fgets(line, sizeof(line), fp))
			if (strstr(line, " - cgroup2 ") &&
			    sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
				*mnt = '\0';
		fclose(fp);
	}
	if (!*mnt) {
		say("cgroup: skipped: no cgroup2 mount");
		return false;
	}
	snprintf(cg_dir, sizeof(cg_dir), "%s/wstaskd-bench.%ld", mnt,
	    (long)getpid());
	if (mkdir(cg_dir, 0755) < 0) {
		say("cgroup: skipped: mkdir %s: %s", cg_dir, strerror(errno));
		*cg_dir = '\0';
		return false;
	}
	return true;
}

/* Depth first: daemon/, session.*\/task.*, session.*, then cg_dir. */
static void
cg_remove(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 sub[PATH_MAX];

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
			    (size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
			    de->d_name) < sizeof(sub))
				cg_remove(sub);
		closedir(d);
	}
	if (rmdir(dir) < 0)
		say("rmdir %s: %s", dir, strerror(errno));
}

static int
cg_write(const char *dir, const char *file, const char *text)
{
	char	path[PATH_MAX];
	int	fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >=
	    (int)sizeof(path))
		return -1;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return rc;
}

/* clone3 (into cgfd when >= 0) + exec path + wait, as contain.c does. */
static bool
cg_clone_run(const char *path, int cgfd)
{
	struct clone_args	ca;
	long			pid;
	int			st;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_VFORK | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0);
	ca.exit_signal = SIGCHLD;
	ca.cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0;
	if ((pid = syscall(SYS_clone3, &ca, sizeof(ca))) == 0) {
		execve(path, floor_argv, floor_envp);
		_exit(127);
	}
	if (pid < 0)
		return false;
	return waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0;
}

/*
 * n sequential tasks each way, in the bench (a small process, as a
 * worker is): posix_spawn + wait; clone3 + wait; and the cgroup steps
 * one by one.  Microseconds per task.
 */
static void
cg_steps(cJSON *o, const char *path, unsigned n)
{
	posix_spawnattr_t		attr;
	posix_spawn_file_actions_t	fa;
	struct samples			t[6] = { { 0 } };
	static const char *const key[6] = { "posix_spawn_wait_us",
	    "clone3_wait_us", "mkdir_us", "clone3_into_cgroup_wait_us",
	    "cgroup_kill_us", "rmdir_us" };
	char				 sub[PATH_MAX];
	unsigned			 i, k;
	int64_t				 a, b;
	pid_t				 pid;
	int				 st, fd;

	if (spawn_setup(&attr, &fa) < 0)
		die("posix_spawn setup failed");
	for (i = 0; i < n && !stopping(); i++) {
		a = now_ns();
		if (posix_spawn(&pid, path, &fa, &attr, floor_argv,
		    floor_envp) == 0)
			waitpid(pid, &st, 0);
		b = now_ns();
		s_add(&t[0], (b - a) / 1e3);
		if (!cg_clone_run(path, -1))
			t[1].errors++;
		a = now_ns();
		s_add(&t[1], (a - b) / 1e3);
		if (snprintf(sub, sizeof(sub), "%s/task.%u", cg_dir, i) >=
		    (int)sizeof(sub) || mkdir(sub, 0755) < 0 || (fd = open(sub, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) < 0) {
			t[2].errors++;
			continue;
		}
		b = now_ns();
		s_add(&t[2], (b - a) / 1e3);
		if (!cg_clone_run(path, fd))
			t[3].errors++;
		a = now_ns();
		s_add(&t[3], (a - b) / 1e3);
		if (cg_write(sub, "cgroup.kill", "1") < 0)
			t[4].errors++;
		b = now_ns();
		s_add(&t[4], (b - a) / 1e3);
		close(fd);
		if (rmdir(sub) < 0)
			t[5].errors++;
		s_add(&t[5], (now_ns() - b) / 1e3);
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	fprintf(B.tbl, "  %-48s %9s %9s %9s\n", "one task, sequential (us)",
	    "median", "p90", "errors");
	for (k = 0; k < 6; k++) {
		static const char *const lab[6] = {
			"floor: posix_spawn + wait", "clone3 (no VM) + wait",
			"cgroup: mkdir + open", "clone3 into the cgroup + wait",
			"cgroup: cgroup.kill", "cgroup: rmdir" };
		cJSON	*j = cJSON_AddObjectToObject(o, key[k]);

		j_stats(j, &t[k], "us");
		fprintf(B.tbl, "  %-48s %9.1f %9.1f %9u\n", lab[k],
		    s_q(&t[k], 0.5), s_q(&t[k], 0.9), t[k].errors);
	}
	cJSON_AddNumberToObject(o, "cgroup_steps_added_us_p50",
	    s_q(&t[2], 0.5) + s_q(&t[3], 0.5) - s_q(&t[0], 0.5) +
	    s_q(&t[4], 0.5) + s_q(&t[5], 0.5));
	fprintf(B.tbl, "  %-48s %9.1f\n", "added by the cgroup, all steps (us)",
	    s_q(&t[2], 0.5) + s_q(&t[3], 0.5) - s_q(&t[0], 0.5) +
	    s_q(&t[4], 0.5) + s_q(&t[5], 0.5));
	for (k = 0; k < 6; k++)
		s_free(&t[k]);
}

/* Throughput rounds alternating the two daemons, close trials with --cgroup. */
static void
cg_daemon(cJSON *o, struct daemon *dc)
{
	struct daemon	 plain = B.d;
	struct samples	 s[4] = { { 0 } }, tw = { 0 }, tc = { 0 };
	unsigned	 r, i, n = B.n_tp;
	double		 v, mw, mc;
	int		 k;

	for (r = 0; r < B.tp_rounds && !stopping(); r++) {
		double	cpu, kids, client;

		if ((v = tp_wstaskd("nop", n, 100 + r, &cpu, &kids,
		    &client)) > 0)
			s_add(&tw, v);
		B.d = *dc;
		if ((v = tp_wstaskd("nop", n, 200 + r, &cpu, &kids,
		    &client)) > 0)
			s_add(&tc, v);
		B.d = plain;
	}
	mw = s_q(&tw, 0.5);
	mc = s_q(&tc, 0.5);
	cJSON_AddNumberToObject(o, "throughput_tasks", n);
	cJSON_AddNumberToObject(o, "throughput_plain_median", mw);
	cJSON_AddNumberToObject(o, "throughput_cgroup_median", mc);
	cJSON_AddNumberToObject(o, "per_task_added_us", 1e6 / mc - 1e6 / mw);
	fprintf(B.tbl, "  %-48s %9.0f\n  %-48s %9.0f\n  %-48s %9.1f\n",
	    "wstaskd throughput, nop, limit 10 (tasks/s)", mw,
	    "wstaskd --cgroup, the same (tasks/s)", mc,
	    "added per task by --cgroup (us)", 1e6 / mc - 1e6 / mw);
	B.d = *dc;
	for (i = 0; i < B.n_close && !stopping(); i++)
		if (!close_trial(s))
			s[0].errors++;
	B.d = plain;
	report_lat("cgroup_close_last_task_exited",
	    "--cgroup: close -> last task exited", &s[0]);
	if (B.pidfd_hup)
		report_lat("cgroup_close_last_task_reaped",
		    "--cgroup: close -> last task reaped", &s[1]);
	report_lat("cgroup_close_worker_exited",
	    "--cgroup: close -> worker exited", &s[2]);
	report_lat("cgroup_close_worker_reaped",
	    "--cgroup: close -> worker reaped (sup.)", &s[3]);
	for (k = 0; k < 4; k++)
		s_free(&s[k]);
	s_free(&tw);
	s_free(&tc);
}

static void
phase_cgroup(const char *const *main_flags)
{
	const char	*flags[16];
	struct daemon	 dc;
	cJSON		*o;
	char		 nop[PATH_MAX];
	size_t		 n = 0;
	long		 mark;

	if (!cg_make())
		return;
	o = cJSON_AddObjectToObject(B.jmeas, "cgroup");
	cJSON_AddStringToObject(o, "dir", cg_dir);
	if (snprintf(nop, sizeof(nop), "%s/nop", B.handlers) >=
	    (int)sizeof(nop))
		die("path too long: %s", B.handlers);
	cg_steps(o, nop, B.quick ? 200 : 2000);
	while (main_flags[n] && n < 12) {
		flags[n] = main_flags[n];
		n++;
	}
	flags[n++] = "--cgroup";
	flags[n++] = cg_dir;
	flags[n] = NULL;
	daemon_start(&dc, "cgroup", 2, flags);
	mark = log_mark(&dc);
	cg_daemon(o, &dc);
	phase_failures(&dc, "cgroup_close_worker_exited", mark);
	daemon_stop(&dc);
	cg_remove(cg_dir);
}

/* ------------------------------------------------------------------ */
/* idle sessions                                                       */

struct meminfo {
	long	avail, slab, ptables, kstack;
};

static void
meminfo_read(struct meminfo *m)
{
	m->avail = kv_kib("/proc/meminfo", "MemAvailable");
	m->slab = kv_kib("/proc/meminfo", "Slab");
	m->ptables = kv_kib("/proc/meminfo", "PageTables");
	m->kstack = kv_kib("/proc/meminfo", "KernelStack");
}

static void
j_kib(cJSON *o, const char *key, struct samples *s)
{
	cJSON	*e = cJSON_AddObjectToObject(o, key);

	j_stats(e, s, "KiB");
	cJSON_AddNumberToObject(e, "total", s_sum(s));
}

/* Every worker's Private_Dirty (KiB), the supervisor's, and the client's. */
static void
idle_memory(cJSON *o, unsigned n, struct samples *pd, struct samples *fds)
{
	struct samples	 pss = { 0 }, pte = { 0 }, rss = { 0 };
	pid_t		*kids = xcalloc(n + 256, sizeof(pid_t));
	char		 cmd[256];
	size_t		 nk, i;
	unsigned	 spares = 0, other = 0;
	long		 v;

	nk = proc_children(B.d.pid, kids, n + 256);
	for (i = 0; i < nk && i < n + 256; i++) {
		if (!proc_cmdline(kids[i], cmd, sizeof(cmd)))
			continue;
		if (!strstr(cmd, "session=")) {
			if (strstr(cmd, "(spare)"))
				spares++;
			else
				other++;
			continue;
		}
		if ((v = pid_kib(kids[i], "smaps_rollup", "Private_Dirty")) < 0)
			continue;
		s_add(pd, (double)v);
		s_add(&pss, (double)pid_kib(kids[i], "smaps_rollup", "Pss"));
		s_add(&rss, (double)pid_kib(kids[i], "smaps_rollup", "Rss"));
		s_add(&pte, (double)pid_kib(kids[i], "status", "VmPTE"));
		/* fd slots the worker's table has: copied from the supervisor */
		s_add(fds, (double)pid_kib(kids[i], "status", "FDSize"));
	}
	free(kids);
	cJSON_AddNumberToObject(o, "session_workers", (double)pd->n);
	cJSON_AddNumberToObject(o, "spare_workers", spares);
	cJSON_AddNumberToObject(o, "other_children", other);
	j_kib(o, "worker_private_dirty", pd);
	j_kib(o, "worker_pss", &pss);
	j_kib(o, "worker_rss", &rss);
	j_kib(o, "worker_page_tables", &pte);
	j_stats(cJSON_AddObjectToObject(o, "worker_fd_table_slots"), fds,
	    "slots");
	cJSON_AddNumberToObject(o, "supervisor_fd_table_slots",
	    (double)pid_kib(B.d.pid, "status", "FDSize"));
	cJSON_AddNumberToObject(o, "supervisor_private_dirty_kib",
	    (double)pid_kib(B.d.pid, "smaps_rollup", "Private_Dirty"));
	cJSON_AddNumberToObject(o, "supervisor_rss_kib",
	    (double)pid_kib(B.d.pid, "smaps_rollup", "Rss"));
	cJSON_AddNumberToObject(o, "bench_client_private_dirty_kib",
	    (double)pid_kib(getpid(), "smaps_rollup", "Private_Dirty"));
	s_free(&pss);
	s_free(&rss);
	s_free(&pte);
}

static void
j_meminfo_delta(cJSON *o, const struct meminfo *a, const struct meminfo *b,
    unsigned n)
{
	cJSON	*e = cJSON_AddObjectToObject(o, "system_delta_per_session_kib");

	cJSON_AddStringToObject(e, "note", "from /proc/meminfo before and "
	    "after opening; the machine is shared, so this is indicative");
	cJSON_AddNumberToObject(e, "mem_available", (double)(a->avail -
	    b->avail) / n);
	cJSON_AddNumberToObject(e, "slab", (double)(b->slab - a->slab) / n);
	cJSON_AddNumberToObject(e, "page_tables", (double)(b->ptables -
	    a->ptables) / n);
	cJSON_AddNumberToObject(e, "kernel_stack", (double)(b->kstack -
	    a->kstack) / n);
}

/*
 * The idle phase opens its sessions with a client of its own.  lws 4.1's
 * default loop poll()s every descriptor on each turn, so holding n
 * connections made each event cost O(n) here, and the last tenth of
 * 10,000 sessions measured this client rather than the daemon.  Here:
 * non-blocking sockets in one epoll set (level-triggered), the RFC 6455
 * client handshake written by hand, and the first frame read and required
 * to be `ready`.  A ready socket is then watched for hang-ups only, so a
 * held connection costs nothing per event.  Nothing else is ever sent,
 * and the end is a plain close(2): what a client that vanished does.
 */
#define IDLE_BUF	2048	/* the 101 and the first frame, while opening */
#define IDLE_EVENTS	256	/* epoll events taken per round */
#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum idle_state { IS_NEW, IS_CONNECTING, IS_RESPONSE, IS_READY, IS_FAILED,
	IS_DROPPED };

struct idle_conn {
	int		 ic_fd;
	enum idle_state	 ic_st;
	unsigned	 ic_sess;	/* its number in session_id() */
	int64_t		 ic_start, ic_ready;
	char		*ic_buf;	/* what arrived, until ready */
	size_t		 ic_len, ic_hlen;	/* ic_hlen: the 101, once whole */
	char		 ic_accept[32];	/* the Sec-WebSocket-Accept expected */
};

struct idle_run {
	struct idle_conn *ir_c;
	unsigned	 ir_n, ir_started, ir_ready, ir_refused, ir_failed,
			 ir_bad, ir_dropped;
	unsigned	 ir_window, ir_nap_us;
	int		 ir_ep;
	unsigned long	 ir_rounds;	/* epoll_wait() calls */
	const char	*ir_prefix;
	const struct target *ir_tg;
	/* the opening: start and last ready, CPU (the bench's, and the
	 * supervisor's and fork server's) at the start and over it */
	int64_t		 ir_t[2];
	double		 ir_cpu0[2], ir_cpu[2];
	unsigned long	 ir_open_rounds;
	/* the same CPU at each tenth */
	pid_t		 ir_fs;
	unsigned	 ir_next_dec;
	int64_t		 ir_decile[10];
	double		 ir_dcpu[10][2];
};

static void
idle_err(const struct idle_run *r, const struct idle_conn *c,
    const char *what, const char *detail)
{
	char	path[96];

	snprintf(path, sizeof(path), "/stream?session=%s-%ld-%u",
	    r->ir_prefix, (long)getpid(), c->ic_sess);
	err_say(what, path, detail, detail ? strlen(detail) : 0);
}

/* c is over, its fd closed (the caller counts why). */
static void
idle_end(struct idle_conn *c, enum idle_state st)
{
	if (c->ic_fd >= 0 && close(c->ic_fd) < 0)
		say("close: %s", strerror(errno));
	c->ic_fd = -1;
	free(c->ic_buf);
	c->ic_buf = NULL;
	c->ic_st = st;
}

static void
idle_fail(struct idle_run *r, struct idle_conn *c, const char *what,
    const char *detail)
{
	idle_err(r, c, what, detail);
	idle_end(c, IS_FAILED);
	r->ir_failed++;
}

static bool
idle_watch(struct idle_run *r, struct idle_conn *c, int op, uint32_t events)
{
	struct epoll_event	ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(r->ir_ep, op, c->ic_fd, &ev) == 0)
		return true;
	idle_fail(r, c, "epoll_ctl", strerror(errno));
	return false;
}

/* base64 of len bytes into out (4/3 of len, rounded up, plus a NUL). */
static void
idle_b64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* A fresh Sec-WebSocket-Key in key[25], the accept it implies in c. */
static void
idle_key(struct idle_conn *c, char *key)
{
	unsigned char	raw[16], md[EVP_MAX_MD_SIZE];
	char		cat[96];
	unsigned	mdlen;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		die("getrandom: %s", strerror(errno));
	idle_b64(raw, sizeof(raw), key);
	snprintf(cat, sizeof(cat), "%s%s", key, WS_GUID);
	if (!EVP_Digest(cat, strlen(cat), md, &mdlen, EVP_sha1(), NULL))
		die("EVP_Digest(SHA-1) failed");
	idle_b64(md, mdlen, c->ic_accept);
}

/* The connect is done: the upgrade request goes out in one write. */
static void
idle_send(struct idle_run *r, struct idle_conn *c)
{
	char	req[512], key[32] = "";
	int	len;
	ssize_t	n;

	idle_key(c, key);
	len = snprintf(req, sizeof(req), "GET /stream?session=%s-%ld-%u "
	    "HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " SUBPROTO
	    "\r\n\r\n", r->ir_prefix, (long)getpid(), c->ic_sess,
	    r->ir_tg->host, key);
	/* a fresh socket's send buffer takes it whole, or something is off */
	if ((n = write(c->ic_fd, req, (size_t)len)) != len) {
		idle_fail(r, c, "write (the upgrade request)", n < 0 ?
		    strerror(errno) : "short write");
		return;
	}
	if ((c->ic_buf = malloc(IDLE_BUF)) == NULL)
		die("malloc: %s", strerror(errno));
	c->ic_st = IS_RESPONSE;
	idle_watch(r, c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
}

static void
idle_connect_error(struct idle_run *r, struct idle_conn *c, int err)
{
	if (err == ECONNREFUSED) {
		r->ir_refused++;
		idle_err(r, c, "connection refused", NULL);
		idle_end(c, IS_FAILED);
		return;
	}
	idle_fail(r, c, "connect", strerror(err));
}

static void
idle_start(struct idle_run *r)
{
	struct idle_conn	*c = &r->ir_c[r->ir_started++];
	struct sockaddr_in	 sa = { .sin_family = AF_INET };

	sa.sin_port = htons((uint16_t)r->ir_tg->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->ic_sess = ++B.sess;
	c->ic_st = IS_CONNECTING;
	c->ic_start = now_ns();
	c->ic_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->ic_fd < 0) {
		idle_fail(r, c, "socket", strerror(errno));
		return;
	}
	if (!idle_watch(r, c, EPOLL_CTL_ADD, EPOLLOUT | EPOLLRDHUP))
		return;
	if (connect(c->ic_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		idle_send(r, c);
	else if (errno != EINPROGRESS)
		idle_connect_error(r, c, errno);
}

/* Whether the header name (any case) in line has the value val exactly. */
static bool
idle_header_is(const char *line, size_t len, const char *name,
    const char *val)
{
	size_t	nl = strlen(name), vl = strlen(val);

	if (len < nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
		return false;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return len == vl && !memcmp(line, val, vl);
}

/* The 101 in c->ic_buf[0, ic_hlen): NULL if right, else what is wrong. */
static const char *
idle_check_101(const struct idle_conn *c)
{
	const char	*p = c->ic_buf, *end = c->ic_buf + c->ic_hlen, *eol;
	bool		 accept = false, proto = false;

	if (c->ic_hlen < 13 || memcmp(p, "HTTP/1.1 101 ", 13))
		return "the response is not 101";
	for (; (eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL;
	    p = eol + 2) {
		accept |= idle_header_is(p, (size_t)(eol - p),
		    "Sec-WebSocket-Accept", c->ic_accept);
		proto |= idle_header_is(p, (size_t)(eol - p),
		    "Sec-WebSocket-Protocol", SUBPROTO);
	}
	if (!accept)
		return "no Sec-WebSocket-Accept matching the key";
	return proto ? NULL : "no Sec-WebSocket-Protocol: " SUBPROTO;
}

/* The JSON text of the first frame: NULL if `ready`, else what is wrong. */
static const char *
idle_check_ready(const char *text, size_t len)
{
	cJSON		*j = cJSON_ParseWithLength(text, len), *t;
	const char	*why = NULL;

	t = j ? cJSON_GetObjectItemCaseSensitive(j, "type") : NULL;
	if (j == NULL)
		why = "the first frame is not JSON";
	else if (!cJSON_IsString(t) || strcmp(t->valuestring, "ready"))
		why = "the first event is not ready";
	cJSON_Delete(j);
	return why;
}

/*
 * The first frame after the 101 (a whole, unmasked text frame with a 7 or
 * 16-bit length): 1 if it was `ready`, 0 if more must come, -1 if not.
 */
static int
idle_first_frame(const struct idle_conn *c, const char **why)
{
	const unsigned char	*p = (unsigned char *)c->ic_buf + c->ic_hlen;
	size_t			 have = c->ic_len - c->ic_hlen, hdr = 2, plen;

	if (have < 2)
		return 0;
	*why = "the first frame is not one unmasked text frame";
	if (p[0] != 0x81 || (p[1] & 0x80) || (p[1] & 0x7f) == 127)
		return -1;
	plen = p[1] & 0x7f;
	if (plen == 126) {
		if (have < 4)
			return 0;
		plen = (size_t)p[2] << 8 | p[3];
		hdr = 4;
	}
	*why = "the first frame is larger than the bench takes";
	if (c->ic_hlen + hdr + plen > IDLE_BUF)
		return -1;
	if (have < hdr + plen)
		return 0;
	*why = idle_check_ready((const char *)p + hdr, plen);
	return *why ? -1 : 1;
}

/* Records the decile(s) that the ready count has just reached. */
static void
idle_decile(struct idle_run *r)
{
	while (r->ir_next_dec <= 10 &&
	    r->ir_ready >= r->ir_n / 10 * r->ir_next_dec) {
		/* whose CPU grows with the count: ours, or the daemon's */
		r->ir_dcpu[r->ir_next_dec - 1][0] = self_cpu_s();
		r->ir_dcpu[r->ir_next_dec - 1][1] = daemon_own_cpu(B.d.pid,
		    r->ir_fs);
		r->ir_decile[r->ir_next_dec++ - 1] = now_ns();
	}
}

static void
idle_ready(struct idle_run *r, struct idle_conn *c, int64_t t)
{
	/* from here on only a hang-up wakes us for it */
	if (!idle_watch(r, c, EPOLL_CTL_MOD, EPOLLRDHUP))
		return;
	c->ic_ready = t;
	c->ic_st = IS_READY;
	free(c->ic_buf);
	c->ic_buf = NULL;
	r->ir_ready++;
	idle_decile(r);
}

/* What the 101 and the first frame say so far, once more has arrived. */
static void
idle_parse(struct idle_run *r, struct idle_conn *c, int64_t t)
{
	const char	*why = NULL, *e;
	int		 k;

	if (c->ic_hlen == 0) {
		e = memmem(c->ic_buf, c->ic_len, "\r\n\r\n", 4);
		if (e == NULL) {
			if (c->ic_len == IDLE_BUF)
				idle_fail(r, c, "the response headers are "
				    "larger than the bench takes", NULL);
			return;
		}
		c->ic_hlen = (size_t)(e - c->ic_buf) + 4;
		if ((why = idle_check_101(c)) != NULL) {
			idle_fail(r, c, why, NULL);
			return;
		}
	}
	if ((k = idle_first_frame(c, &why)) == 1)
		idle_ready(r, c, t);
	else if (k < 0) {
		r->ir_bad++;
		idle_fail(r, c, why, NULL);
	}
}

/* One bounded read of the 101 and the first frame. */
static void
idle_read(struct idle_run *r, struct idle_conn *c)
{
	ssize_t	n;
	int64_t	t;

	if (c->ic_len == IDLE_BUF) {
		idle_fail(r, c, "the 101 and the first frame are larger than "
		    "the bench takes", NULL);
		return;
	}
	n = read(c->ic_fd, c->ic_buf + c->ic_len, IDLE_BUF - c->ic_len);
	t = now_ns();

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		idle_fail(r, c, "read", strerror(errno));
		return;
	}
	if (n == 0) {
		idle_fail(r, c, "closed before ready", "end of file");
		return;
	}
	c->ic_len += (size_t)n;
	idle_parse(r, c, t);
}

static void
idle_event(struct idle_run *r, struct idle_conn *c, uint32_t ev)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	switch (c->ic_st) {
	case IS_CONNECTING:
		if (getsockopt(c->ic_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			idle_fail(r, c, "getsockopt(SO_ERROR)", strerror(errno));
		else if (err)
			idle_connect_error(r, c, err);
		else if (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			idle_fail(r, c, "connect", "hung up");
		else
			idle_send(r, c);
		break;
	case IS_RESPONSE:
		/* a hang-up with data still unread: read it first */
		if (ev & EPOLLIN)
			idle_read(r, c);
		else
			idle_fail(r, c, "closed before ready", "hang-up");
		break;
	case IS_READY:
		idle_err(r, c, "dropped while held", NULL);
		idle_end(c, IS_DROPPED);
		r->ir_dropped++;
		break;
	default:
		break;
	}
}

/* One round: what epoll reports, waiting no later than dl. */
static bool
idle_serve(struct idle_run *r, int64_t dl)
{
	struct epoll_event	ev[IDLE_EVENTS];
	int64_t			left = dl - now_ns();
	int			n, i;

	if (stopping() || left <= 0)
		return false;
	r->ir_rounds++;
	n = epoll_wait(r->ir_ep, ev, IDLE_EVENTS, (int)(left / 1000000) + 1);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++)
		idle_event(r, ev[i].data.ptr, ev[i].events);
	return true;
}

/* Connections that are ready or failed. */
static unsigned
idle_done(const struct idle_run *r)
{
	return r->ir_ready + r->ir_failed + r->ir_refused;
}

/* Up to the window's handshakes in flight until all n are done or dl. */
static void
idle_open(struct idle_run *r, int64_t dl)
{
	while (idle_done(r) < r->ir_n) {
		while (r->ir_started < r->ir_n &&
		    r->ir_started - idle_done(r) < r->ir_window)
			idle_start(r);
		if (idle_done(r) >= r->ir_n || !idle_serve(r, dl))
			break;
		if (r->ir_nap_us)
			usleep(r->ir_nap_us);
	}
	idle_decile(r);
}

static void
idle_run_init(struct idle_run *r, unsigned n, const char *prefix)
{
	const char	*e;
	unsigned	 i;

	memset(r, 0, sizeof(*r));
	r->ir_n = n;
	r->ir_prefix = prefix;
	r->ir_tg = &B.d.tg;
	r->ir_window = IDLE_WINDOW;
	if ((e = getenv("BENCH_IDLE_WINDOW")) && atoi(e) > 0)
		r->ir_window = (unsigned)atoi(e);
	if ((e = getenv("BENCH_IDLE_NAP_US")))
		r->ir_nap_us = (unsigned)atoi(e);
	r->ir_next_dec = 1;
	r->ir_fs = fork_server_of(B.d.pid);
	r->ir_c = xcalloc(n, sizeof(*r->ir_c));
	for (i = 0; i < n; i++)
		r->ir_c[i].ic_fd = -1;
	if ((r->ir_ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
}

/* Closes every connection still open (no close frame); frees all. */
static void
idle_run_free(struct idle_run *r)
{
	unsigned	i;

	for (i = 0; i < r->ir_n; i++)
		if (r->ir_c[i].ic_fd >= 0)
			idle_end(&r->ir_c[i], r->ir_c[i].ic_st);
	if (r->ir_ep >= 0 && close(r->ir_ep) < 0)
		say("close: %s", strerror(errno));
	r->ir_ep = -1;
	free(r->ir_c);
	r->ir_c = NULL;
}

/*
 * Counts the daemon's `event=claim` and `event=session-over` lines from
 * *off on, and moves *off past the whole lines read.
 */
static void
idle_log_count(FILE *f, long *off, unsigned *claims, unsigned *over)
{
	char	line[1024];
	size_t	len;

	if (fseek(f, *off, SEEK_SET) < 0)
		die("fseek: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		len = strlen(line);
		if (line[len - 1] != '\n' && feof(f))
			break;			/* a line still being written */
		*off += (long)len;
		*claims += strstr(line, "event=claim ") != NULL;
		*over += strstr(line, "event=session-over ") != NULL;
	}
	clearerr(f);
}

/*
 * Waits (bounded) until the daemon has logged as many sessions over as it
 * claimed, and at least ready of them: the ms it took, -1 if it did not.
 */
static double
idle_wait_over(const struct daemon *d, long mark, unsigned ready,
    int64_t t0, unsigned *over)
{
	unsigned	 claims = 0;
	int64_t		 dl = deadline_ms(120000);
	FILE		*f;

	*over = 0;
	if (mark < 0) {
		say("error: no log mark: sessions over not counted");
		return -1;
	}
	if ((f = fopen(d->log, "r")) == NULL) {
		say("fopen %s: %s", d->log, strerror(errno));
		return -1;
	}
	for (;;) {
		idle_log_count(f, &mark, &claims, over);
		if ((*over >= claims && *over >= ready) || now_ns() >= dl ||
		    stopping())
			break;
		sleep_ms(2);
	}
	fclose(f);
	if (*over >= claims && *over >= ready)
		return ms(t0, now_ns());
	say("error: the daemon saw %u of %u sessions over in 120 s", *over,
	    claims > ready ? claims : ready);
	return -1;
}

/* The opening's figures, in the JSON and the table. */
static void
idle_report_open(cJSON *o, const struct idle_run *r, struct samples *lat)
{
	const int64_t	*t = r->ir_t;
	const double	*cpu = r->ir_cpu, *dcpu0 = r->ir_cpu0;
	double		 all = t[1] ? ms(t[0], t[1]) : -1;
	double		 rate = t[1] ? r->ir_ready / (all / 1e3) : 0;
	const int64_t	*dec = r->ir_decile;
	cJSON		*jd;
	unsigned	 i, k;
	char		 label[96];

	cJSON_AddNumberToObject(o, "open_all_ms", all);
	cJSON_AddNumberToObject(o, "open_rate_per_s", rate);
	cJSON_AddNumberToObject(o, "open_cpu_s_bench", cpu[0]);
	cJSON_AddNumberToObject(o, "open_cpu_s_supervisor", cpu[1]);
	cJSON_AddNumberToObject(o, "open_client_rounds",
	    (double)r->ir_open_rounds);
	jd = cJSON_AddArrayToObject(o, "open_decile_ms");
	for (i = 0; i < 10; i++)
		cJSON_AddItemToArray(jd, cJSON_CreateNumber(dec[i] ?
		    ms(i ? dec[i - 1] : t[0], dec[i]) : -1));
	for (k = 0; k < 2; k++) {
		jd = cJSON_AddArrayToObject(o, k ? "open_decile_cpu_s_daemon" :
		    "open_decile_cpu_s_bench");
		for (i = 0; i < 10; i++)
			cJSON_AddItemToArray(jd, cJSON_CreateNumber(
			    r->ir_dcpu[i][k] - (i ? r->ir_dcpu[i - 1][k] :
			    dcpu0[k])));
	}
	j_stats(cJSON_AddObjectToObject(o, "connect_to_ready"), lat, "ms");

	snprintf(label, sizeof(label), "%u idle sessions: connect -> ready",
	    r->ir_n);
	tbl_row(label, lat);
	fprintf(B.tbl, "  %-48s %5u errors, all open in %.2f s (%.0f/s)\n", "",
	    r->ir_n - r->ir_ready + r->ir_dropped, all / 1e3, rate);
	fprintf(B.tbl, "  %-48s first tenth %.2f s, last tenth %.2f s; CPU: "
	    "bench %.1f s (%lu epoll rounds), supervisor and fork server "
	    "%.1f s\n", "    opening:", dec[0] ? ms(t[0], dec[0]) / 1e3 : -1.0,
	    dec[9] && dec[8] ? ms(dec[8], dec[9]) / 1e3 : -1.0, cpu[0],
	    r->ir_open_rounds, cpu[1]);
	fprintf(B.tbl, "  %-48s bench %.2f / %.2f s, supervisor and fork "
	    "server %.2f / %.2f s\n", "    CPU in the first / last tenth:",
	    r->ir_dcpu[0][0] - dcpu0[0], r->ir_dcpu[9][0] - r->ir_dcpu[8][0],
	    r->ir_dcpu[0][1] - dcpu0[1], r->ir_dcpu[9][1] - r->ir_dcpu[8][1]);
}

/* The errors, by kind: every session that was not ready and held. */
static unsigned
idle_report_errors(cJSON *o, const struct idle_run *r)
{
	unsigned	errors = r->ir_n - r->ir_ready + r->ir_dropped;

	cJSON_AddNumberToObject(o, "sessions", r->ir_n);
	cJSON_AddNumberToObject(o, "ready", r->ir_ready);
	cJSON_AddNumberToObject(o, "errors", errors);
	cJSON_AddNumberToObject(o, "refused", r->ir_refused);
	cJSON_AddNumberToObject(o, "failed", r->ir_failed);
	cJSON_AddNumberToObject(o, "first_frame_not_ready", r->ir_bad);
	cJSON_AddNumberToObject(o, "not_ready_by_deadline", r->ir_n -
	    idle_done(r));
	cJSON_AddNumberToObject(o, "dropped_while_held", r->ir_dropped);
	cJSON_AddNumberToObject(o, "open_window", r->ir_window);
	return errors;
}

/* The memory figures (after the hold), in the JSON and the table. */
static void
idle_report_memory(cJSON *o, unsigned n, const struct meminfo *m0,
    const struct meminfo *m1, struct samples *pd)
{
	struct samples	fds = { 0 };

	idle_memory(o, n, pd, &fds);
	j_meminfo_delta(o, m0, m1, n);
	fprintf(B.tbl, "  %-48s p50 %.0f  p90 %.0f  max %.0f  total %.1f MiB"
	    "\n", "    worker Private_Dirty KiB:", s_q(pd, 0.5),
	    s_q(pd, 0.9), s_q(pd, 1), s_sum(pd) / 1024);
	fprintf(B.tbl, "  %-48s %ld KiB; bench client %ld KiB\n",
	    "    supervisor Private_Dirty:",
	    pid_kib(B.d.pid, "smaps_rollup", "Private_Dirty"),
	    pid_kib(getpid(), "smaps_rollup", "Private_Dirty"));
	fprintf(B.tbl, "  %-48s p50 %.0f, max %.0f (the supervisor's %ld)\n",
	    "    worker fd table slots (FDSize):", s_q(&fds, 0.5),
	    s_q(&fds, 1), pid_kib(B.d.pid, "status", "FDSize"));
	fprintf(B.tbl, "  %-48s %.0f KiB (page tables %.0f, slab %.0f, "
	    "kernel stacks %.0f)\n", "    system memory per session:",
	    (double)(m0->avail - m1->avail) / n,
	    (double)(m1->ptables - m0->ptables) / n,
	    (double)(m1->slab - m0->slab) / n,
	    (double)(m1->kstack - m0->kstack) / n);
	s_free(&fds);
}

/* Closes every connection at once; the daemon must see each session over. */
static void
idle_close_all(cJSON *o, struct idle_run *r, long mark)
{
	int64_t		t0 = now_ns();
	unsigned	over;
	double		t;

	idle_run_free(r);
	t = idle_wait_over(&B.d, mark, r->ir_ready, t0, &over);
	cJSON_AddNumberToObject(o, "close_all_ms", t);
	cJSON_AddNumberToObject(o, "sessions_over_after_close", over);
	fprintf(B.tbl, "  %-48s %u sessions over in the daemon's log %.0f ms "
	    "after the close\n", "    closing (plain close(2) each):", over,
	    t);
}

static void
phase_idle(unsigned n)
{
	const char	*extra[] = { "--max-sessions", NULL, "--ping-interval",
	    "600", "--ping-timeout", "1200", NULL };
	struct samples	 lat = { 0 }, pd = { 0 };
	struct meminfo	 m0, m1;
	struct idle_run	 r;
	char		 key[32], maxs[16], name[32];
	cJSON		*o;
	int64_t		 dl;
	unsigned	 i, errors;
	long		 mark;

	snprintf(maxs, sizeof(maxs), "%u", n + 100);
	extra[1] = maxs;
	snprintf(name, sizeof(name), "idle%u", n);
	daemon_start(&B.d, name, 2, extra);
	mark = log_mark(&B.d);
	meminfo_read(&m0);
	idle_run_init(&r, n, name);
	r.ir_cpu0[0] = self_cpu_s();
	r.ir_cpu0[1] = daemon_own_cpu(B.d.pid, r.ir_fs);
	r.ir_t[0] = now_ns();
	idle_open(&r, deadline_ms(180000));
	r.ir_cpu[0] = self_cpu_s() - r.ir_cpu0[0];
	r.ir_cpu[1] = daemon_own_cpu(B.d.pid, r.ir_fs) - r.ir_cpu0[1];
	r.ir_open_rounds = r.ir_rounds;
	for (i = 0; i < n; i++)
		if (r.ir_c[i].ic_ready) {
			s_add(&lat, ms(r.ir_c[i].ic_start, r.ir_c[i].ic_ready));
			if (r.ir_c[i].ic_ready > r.ir_t[1])
				r.ir_t[1] = r.ir_c[i].ic_ready;
		}
	/* hold them a second: none may drop */
	dl = deadline_ms(1000);
	while (idle_serve(&r, dl))
		;
	snprintf(key, sizeof(key), "idle_%u", n);
	o = cJSON_AddObjectToObject(B.jmeas, key);
	errors = idle_report_errors(o, &r);
	idle_report_open(o, &r, &lat);
	meminfo_read(&m1);
	idle_report_memory(o, n, &m0, &m1, &pd);
	phase_failures(&B.d, key, mark);
	say("%u idle sessions: %u ready, %u errors, Private_Dirty p50 %.0f "
	    "KiB", n, r.ir_ready, errors, s_q(&pd, 0.5));
	idle_close_all(o, &r, mark);
	daemon_stop(&B.d);
	s_free(&lat);
	s_free(&pd);
}

/* ------------------------------------------------------------------ */
/* targets                                                             */

static unsigned	targets_missed;

/*
 * One target.  key names the measurement: if the daemon logged failures
 * while it was taken, the figure says nothing and the target is INVALID.
 */
static void
target(cJSON *arr, const char *name, double value, const char *unit,
    double bound, bool at_least, const char *key)
{
	cJSON	*o = cJSON_CreateObject();
	double	 fails = key ? j_get(key, "daemon_log_failures") : NAN;
	bool	 invalid = !isnan(fails) && fails > 0;
	bool	 known = !isnan(value), pass = known && !invalid &&
		    (at_least ? value >= bound : value <= bound);

	cJSON_AddStringToObject(o, "target", name);
	cJSON_AddNumberToObject(o, "value", value);
	cJSON_AddStringToObject(o, "unit", unit);
	cJSON_AddStringToObject(o, "bound", at_least ? ">=" : "<=");
	cJSON_AddNumberToObject(o, "limit", bound);
	cJSON_AddStringToObject(o, "result", !known ? "not measured" :
	    invalid ? "invalid: the daemon logged failures meanwhile" :
	    pass ? "pass" : "miss");
	cJSON_AddItemToArray(arr, o);
	if (known && !pass)
		targets_missed++;
	fprintf(B.tbl, "  %-9s %-48s %9.3f %-4s (%s %g)%s\n", !known ?
	    "[-]" : invalid ? "[INVALID]" : pass ? "[PASS]" : "[MISS]", name,
	    value, unit, at_least ? ">=" : "<=", bound, invalid ?
	    "  the daemon logged failures meanwhile" : "");
}

static double
ratio(const char *a, const char *b, const char *field)
{
	return j_get(a, field) / j_get(b, field);
}

static void
targets(void)
{
	cJSON	*arr = cJSON_AddArrayToObject(B.json, "targets");
	cJSON	*tp = cJSON_GetObjectItemCaseSensitive(B.jmeas, "throughput");
	cJSON	*idle, *v;
	char	 key[32];
	double	 r;

	tbl_section("Targets (issue 6)");
	v = tp ? cJSON_GetObjectItemCaseSensitive(tp, "ratio_to_posix_spawn") :
	    NULL;
	target(arr, "task throughput / posix_spawn floor",
	    cJSON_IsNumber(v) ? v->valuedouble : NAN, "x", 0.9, true,
	    "throughput");
	target(arr, "connect->ready p50 / handshake floor p50",
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p50"),
	    "x", 1.5, false, "connect_ready_spare2_seq");
	target(arr, "connect->ready p99 / handshake floor p99",
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p99"),
	    "x", 5, false, "connect_ready_spare2_seq");
	target(arr, "supersede with 10 tasks: ready p50",
	    j_get("supersede_ready", "p50"), "ms", 3, false,
	    "supersede_ready");
	r = B.pidfd_hup ? j_get("close_last_task_reaped", "p50") :
	    j_get("close_worker_exited", "p50");
	target(arr, B.pidfd_hup ? "close -> last task reaped p50" :
	    "close -> worker exited (all reaped) p50", r, "ms", 3, false,
	    B.pidfd_hup ? "close_last_task_reaped" : "close_worker_exited");
	r = B.pidfd_hup ? j_get("close_last_task_reaped", "p99") :
	    j_get("close_worker_exited", "p99");
	target(arr, B.pidfd_hup ? "close -> last task reaped p99" :
	    "close -> worker exited (all reaped) p99", r, "ms", 10, false,
	    B.pidfd_hup ? "close_last_task_reaped" : "close_worker_exited");
	target(arr, "handler exit -> result p50",
	    j_get("exit_to_result", "p50"), "ms", 0.5, false,
	    "exit_to_result");
	target(arr, "progress line -> event p50",
	    j_get("progress_to_event", "p50"), "ms", 1, false,
	    "progress_to_event");
	snprintf(key, sizeof(key), "idle_%u", B.idle_big);
	idle = cJSON_GetObjectItemCaseSensitive(B.jmeas, key);
	v = idle ? cJSON_GetObjectItemCaseSensitive(idle,
	    "worker_private_dirty") : NULL;
	v = v ? cJSON_GetObjectItemCaseSensitive(v, "p50") : NULL;
	target(arr, "idle session Private_Dirty p50",
	    cJSON_IsNumber(v) ? v->valuedouble : NAN, "KiB", 128, false, key);
	v = idle ? cJSON_GetObjectItemCaseSensitive(idle, "errors") : NULL;
	snprintf(key, sizeof(key), "%u idle sessions: errors", B.idle_big);
	target(arr, key, cJSON_IsNumber(v) ? v->valuedouble : NAN, "", 0,
	    false, NULL);
}

/*
 * A target against a floor measured in the same run: value / floor must
 * be within bound (floor NAN: value itself is judged, an absolute bound).
 */
static void
target_floor(cJSON *arr, const char *name, double value, double floor,
    const char *unit, double bound, bool at_least, const char *key)
{
	double	 r = isnan(floor) ? value : value / floor;
	cJSON	*o;

	target(arr, name, r, isnan(floor) ? unit : "x", bound, at_least,
	    key);
	o = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
	cJSON_AddNumberToObject(o, "measured", value);
	cJSON_AddNumberToObject(o, "floor", floor);
	cJSON_AddStringToObject(o, "measured_unit", unit);
	if (isnan(floor))
		fprintf(B.tbl, "  %-9s %-48s measured %.3f %s\n", "", "", value,
		    unit);
	else
		fprintf(B.tbl, "  %-9s %-48s measured %.3f %s, floor %.3f %s\n",
		    "", "", value, unit, floor, unit);
}

static double
j_num(cJSON *o, const char *key)
{
	cJSON	*v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/*
 * Where 50 concurrent clients must land if each session costs at least
 * the session floor's CPU and the cores are all busy: a process per
 * session alone gives this multiple of the one-process handshake floor.
 */
static void
target17_conc_bound(cJSON *sf)
{
	double	floor_us = j_num(sf, "fork_context_exit_wait_cpu_us");
	double	hs = j_get("ws_handshake_floor_conc50", "p50");
	double	cpu = j_get("connect_ready_spare2_conc50",
		    "server_cpu_us_per_session");
	long	cores = sysconf(_SC_NPROCESSORS_ONLN);
	double	ms_floor = CONC * floor_us / 1e3 / (double)cores;

	if (isnan(floor_us) || isnan(hs) || cores < 1)
		return;
	fprintf(B.tbl, "  %-9s %-48s a process per session alone: %d x %.0f us "
	    "/ %ld cores = %.1f ms (%.1f x); wstaskd's CPU a session here "
	    "%.0f us\n", "", "", CONC, floor_us, cores, ms_floor,
	    ms_floor / hs, cpu);
}

/* Whose CPU grew from the first to the last tenth of the idle opening. */
static void
target17_tenths(cJSON *idle)
{
	cJSON	*b = idle ? cJSON_GetObjectItemCaseSensitive(idle,
		    "open_decile_cpu_s_bench") : NULL;
	cJSON	*d = idle ? cJSON_GetObjectItemCaseSensitive(idle,
		    "open_decile_cpu_s_daemon") : NULL;

	if (cJSON_GetArraySize(b) != 10 || cJSON_GetArraySize(d) != 10)
		return;
	fprintf(B.tbl, "  %-9s %-48s CPU last / first tenth: the daemon's "
	    "(supervisor, fork server) %.2f x, the bench client's %.2f x\n",
	    "", "", cJSON_GetArrayItem(d, 9)->valuedouble /
	    cJSON_GetArrayItem(d, 0)->valuedouble,
	    cJSON_GetArrayItem(b, 9)->valuedouble /
	    cJSON_GetArrayItem(b, 0)->valuedouble);
}

/* Issue 17: the figures against floors of their own, all from this run. */
static void
targets17(void)
{
	cJSON	*arr = cJSON_GetObjectItemCaseSensitive(B.json, "targets");
	cJSON	*tp = cJSON_GetObjectItemCaseSensitive(B.jmeas, "throughput");
	cJSON	*sf = cJSON_GetObjectItemCaseSensitive(B.jmeas, "session_floor");
	cJSON	*idle, *dec;
	char	 key[32];

	tbl_section("Targets (issue 17), each beside its floor");
	target_floor(arr, "static nop throughput / posix_spawn floor",
	    j_num(tp, "wstaskd_static_median"),
	    j_num(tp, "posix_spawn_static_median"), "tasks/s", 0.75, true,
	    "throughput");
	fprintf(B.tbl, "  %-9s %-48s own CPU a task: wstaskd %.1f us, the "
	    "loop %.1f us; CPU ratio %.2f x\n", "", "",
	    j_num(tp, "wstaskd_static_own_cpu_us_median"),
	    j_num(tp, "posix_spawn_floor_static_own_cpu_us_median"),
	    j_num(tp, "cpu_ratio_static"));
	target_floor(arr, "server CPU per session / fork+context floor",
	    j_get("connect_ready_spare2_seq", "server_cpu_us_per_session"),
	    j_num(sf, "fork_context_exit_wait_cpu_us"), "us", 1.5, false,
	    "connect_ready_spare2_seq");
	target_floor(arr, "50 concurrent connect->ready p50 / floor p50",
	    j_get("connect_ready_spare2_conc50", "p50"),
	    j_get("ws_handshake_floor_conc50", "p50"), "ms", 5, false,
	    "connect_ready_spare2_conc50");
	target17_conc_bound(sf);
	snprintf(key, sizeof(key), "idle_%u", B.idle_big);
	idle = cJSON_GetObjectItemCaseSensitive(B.jmeas, key);
	dec = idle ? cJSON_GetObjectItemCaseSensitive(idle, "open_decile_ms") :
	    NULL;
	target_floor(arr, "idle sessions: last tenth / first tenth to open",
	    cJSON_GetArraySize(dec) == 10 ?
	    cJSON_GetArrayItem(dec, 9)->valuedouble : NAN,
	    cJSON_GetArraySize(dec) == 10 ?
	    cJSON_GetArrayItem(dec, 0)->valuedouble : NAN, "ms", 1.5, false,
	    key);
	target17_tenths(idle);
	target_floor(arr, "memory per idle session (MemAvailable drop)",
	    j_num(idle ? cJSON_GetObjectItemCaseSensitive(idle,
	    "system_delta_per_session_kib") : NULL, "mem_available"), NAN,
	    "KiB", 200, false, key);
}

/* ------------------------------------------------------------------ */
/* setup and main                                                      */

static void
on_signal(int sig)
{
	stop_signal = sig;
	if (B.ctx)
		lws_cancel_service(B.ctx);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench -d WSTASKD -t HANDLER_DIR -o RESULTS.json"
	    " [-q] [-i N] [-p PHASE,...]\n");
	exit(2);
}

static void
parse_args(int argc, char **argv)
{
	char	*end, *slash;
	long	 v;
	int	 c;

	B.idle_big = 10000;
	while ((c = getopt(argc, argv, "d:t:o:qi:p:")) != -1) {
		switch (c) {
		case 'd': B.wstaskd = optarg; break;
		case 't':
			if (realpath(optarg, B.handlers) == NULL)
				die("%s: %s", optarg, strerror(errno));
			break;
		case 'o': B.json_path = optarg; break;
		case 'q': B.quick = true; break;
		case 'p': B.phases = optarg; break;
		case 'i':
			v = strtol(optarg, &end, 10);
			if (*end || v < 10 || v > 30000)
				usage();
			B.idle_big = (unsigned)v;
			break;
		default: usage();
		}
	}
	if (!B.wstaskd || !B.handlers[0] || !B.json_path || optind != argc)
		usage();
	snprintf(B.workdir, sizeof(B.workdir), "%s", B.json_path);
	if ((slash = strrchr(B.workdir, '/')) != NULL)
		*slash = '\0';
	else
		strcpy(B.workdir, ".");
}

static void
set_counts(void)
{
	unsigned	q = B.quick ? 10 : 1;

	B.n_tcp = 1000 / q;
	B.n_warm = 20;
	B.n_seq = 1000 / q;
	B.n_paced = 200 / q;
	B.conc_rounds = B.quick ? 4 : 20;	/* in 4 blocks */
	B.n_sup = 100 / q;
	B.n_close = 100 / q;
	B.n_result = 1000 / q;
	B.n_result_batch = 1000 / q;
	B.n_pstamp = B.quick ? 20 : 100;
	B.n_plog = B.quick ? 3 : 10;
	B.n_tp = 5000 / (B.quick ? 5 : 1);
	B.tp_rounds = B.quick ? 1 : 3;
	B.idle_small = 1000 / (B.quick ? 5 : 1);
	if (B.quick && B.idle_big == 10000)
		B.idle_big = 1000;
}

/*
 * Enough fds for every idle connection here and in the supervisor.  The
 * hard limit goes up for the daemon (it raises its soft limit to the hard
 * one); our soft limit is exactly the client's fd table: lws 4.1 looks a
 * wsi up by indexing its table with the fd only when the table is as large
 * as RLIMIT_NOFILE, and otherwise scans the whole table on every event.
 */
static void
raise_nofile(void)
{
	struct rlimit	rl;
	rlim_t		want = B.idle_big + 512;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_max < NOFILE_WANT) {
		struct rlimit	hard = { NOFILE_WANT, NOFILE_WANT };

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			rl = hard;
	}
	if (want > rl.rlim_max) {
		say("RLIMIT_NOFILE hard limit is %lu: idle test cut to %lu "
		    "sessions", (unsigned long)rl.rlim_max,
		    (unsigned long)rl.rlim_max - 512);
		B.idle_big = (unsigned)(rl.rlim_max - 512);
		want = rl.rlim_max;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit: %s", strerror(errno));
	B.nofile = (unsigned)want;
}

/* The load average now: the machine is shared, so runs carry it. */
static void
load_json(const char *key)
{
	char	buf[128];

	if (read_small("/proc/loadavg", buf, sizeof(buf)) > 0) {
		buf[strcspn(buf, "\n")] = '\0';
		cJSON_AddStringToObject(B.json, key, buf);
	}
}

static void
machine_json(void)
{
	cJSON		*o = cJSON_AddObjectToObject(B.json, "machine");
	struct utsname	 u;
	char		 date[64];
	time_t		 t = time(NULL);

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	cJSON_AddStringToObject(B.json, "date", date);
	cJSON_AddNumberToObject(o, "nproc", (double)sysconf(_SC_NPROCESSORS_ONLN));
	cJSON_AddStringToObject(o, "kernel", u.release);
	cJSON_AddNumberToObject(o, "mem_total_kib",
	    (double)kv_kib("/proc/meminfo", "MemTotal"));
	fprintf(B.tbl, "wstaskd bench, %s: %ld cores, Linux %s, %.1f GiB%s\n",
	    date, sysconf(_SC_NPROCESSORS_ONLN), u.release,
	    (double)kv_kib("/proc/meminfo", "MemTotal") / 1048576,
	    B.quick ? " (QUICK run: fewer trials)" : "");
	fprintf(B.tbl, "\n  %-48s %5s %4s %8s %8s %8s %8s\n", "(milliseconds)",
	    "n", "err", "p50", "p90", "p99", "max");
}

static void
write_json(void)
{
	char	 tmp[PATH_MAX];
	char	*text = cJSON_Print(B.json);
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", B.json_path);
	if (text == NULL || (f = fopen(tmp, "w")) == NULL ||
	    fputs(text, f) < 0 || fputc('\n', f) < 0 || fclose(f) != 0 ||
	    rename(tmp, B.json_path) < 0)
		die("cannot write %s: %s", B.json_path, strerror(errno));
	free(text);
}

static void
set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(BENCH_ALARM_S);
}

/* Is this phase selected (-p), and are we still running? */
static bool
want(const char *phase)
{
	const char	*p = B.phases;
	size_t		 len = strlen(phase);

	if (stopping())
		return false;
	if (p == NULL)
		return true;
	while ((p = strstr(p, phase)) != NULL) {
		if ((p == B.phases || p[-1] == ',') &&
		    (p[len] == '\0' || p[len] == ','))
			return true;
		p += len;
	}
	return false;
}

static void
run_all(void)
{
	const char *const main_flags[] = { "--max-batch", "10000",
	    "--ping-interval", "600", "--ping-timeout", "1200", NULL };
	bool	main_daemon = want("connect") || want("supersede") ||
		    want("close") || want("result") || want("throughput") ||
		    want("progress") || want("cgroup");

	if (want("floors")) {
		say("floors");
		tbl_section("Floors");
		phase_tcp_floor();
		phase_kill_floor();
		phase_session_floor();
	}
	if (main_daemon)
		daemon_start(&B.d, "spare2", 2, main_flags);
	if (want("connect")) {
		daemon_start(&B.d0, "spare0", 0, main_flags);
		say("connect -> ready: floor, --spare 2, --spare 0");
		tbl_section("Connect -> ready: the floor server, wstaskd "
		    "--spare 2 and --spare 0,\nside by side, measured in "
		    "alternating blocks");
		phase_connect();
		daemon_stop(&B.d0);
	}
	if (want("supersede") || want("close") || want("result") ||
	    want("progress"))
		tbl_section("wstaskd --spare 2");
	if (want("supersede")) {
		say("supersede");
		phase_supersede();
	}
	if (want("close")) {
		say("close -> reaped");
		phase_close();
	}
	if (want("result")) {
		say("handler exit -> result");
		phase_result();
	}
	if (want("progress")) {
		say("progress on fd 3, log lines");
		phase_progress();
	}
	if (want("throughput")) {
		say("throughput");
		tbl_section("Task throughput: 5000 nop tasks, limit 10");
		phase_throughput();
	}
	if (want("cgroup")) {
		say("cgroup");
		tbl_section("--cgroup: the steps of a task's cgroup, and a "
		    "wstaskd --cgroup\nbeside the --spare 2 one");
		phase_cgroup(main_flags);
	}
	daemon_stop(&B.d);

	if (want("idle")) {
		tbl_section("Idle sessions (--spare 2, ping 600 s)");
		say("%u idle sessions", B.idle_small);
		phase_idle(B.idle_small);
	}
	if (want("idle")) {
		say("%u idle sessions", B.idle_big);
		phase_idle(B.idle_big);
	}
}

static void
log_report(void)
{
	cJSON	*d, *n, *ex;

	tbl_section("Daemon logs (lines that report a failure)");
	cJSON_ArrayForEach(d, B.jdaemons) {
		n = cJSON_GetObjectItemCaseSensitive(d, "log_warnings");
		ex = cJSON_GetObjectItemCaseSensitive(d,
		    "log_warning_examples");
		fprintf(B.tbl, "  %-10s %6.0f%s%.110s\n", d->string,
		    cJSON_IsNumber(n) ? n->valuedouble : -1,
		    cJSON_GetArraySize(ex) ? "  e.g. " : "",
		    cJSON_GetArraySize(ex) ?
		    cJSON_GetArrayItem(ex, 0)->valuestring : "");
	}
}

static void
ratios(void)
{
	cJSON	*o = cJSON_AddObjectToObject(B.json, "ratios");

	tbl_section("Ratios to the floors");
	cJSON_AddNumberToObject(o, "connect_ready_p50_over_floor_p50",
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p50"));
	cJSON_AddNumberToObject(o, "connect_ready_p99_over_floor_p99",
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p99"));
	cJSON_AddNumberToObject(o, "connect_ready_conc_p50_over_floor_p50",
	    ratio("connect_ready_spare2_conc50", "ws_handshake_floor_conc50",
	    "p50"));
	cJSON_AddNumberToObject(o, "connect_ready_spare0_p50_over_floor_p50",
	    ratio("connect_ready_spare0_seq", "ws_handshake_floor_seq", "p50"));
	fprintf(B.tbl, "  connect->ready / handshake floor, sequential: "
	    "p50 %.2f x, p99 %.2f x\n",
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p50"),
	    ratio("connect_ready_spare2_seq", "ws_handshake_floor_seq", "p99"));
	fprintf(B.tbl, "  connect->ready / handshake floor, %d concurrent: "
	    "p50 %.2f x, p99 %.2f x\n", CONC,
	    ratio("connect_ready_spare2_conc50", "ws_handshake_floor_conc50",
	    "p50"),
	    ratio("connect_ready_spare2_conc50", "ws_handshake_floor_conc50",
	    "p99"));
	fprintf(B.tbl, "  spare 0 / spare 2, sequential p50: %.2f x; "
	    "%d concurrent p50: %.2f x\n",
	    ratio("connect_ready_spare0_seq", "connect_ready_spare2_seq", "p50"),
	    CONC, ratio("connect_ready_spare0_conc50",
	    "connect_ready_spare2_conc50", "p50"));
}

int
main(int argc, char **argv)
{
	int64_t	t0 = now_ns();

	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "-S") == 0)
		sfloor_main((unsigned)atoi(argv[2]));
	parse_args(argc, argv);
	set_counts();
	raise_nofile();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	floor_start();			/* before any lws context here */
	set_signals();
	if ((B.tbl = open_memstream(&B.tblbuf, &B.tbllen)) == NULL)
		die("open_memstream: %s", strerror(errno));
	B.json = cJSON_CreateObject();
	cJSON_AddStringToObject(B.json, "bench", "wstaskd make bench");
	cJSON_AddBoolToObject(B.json, "quick", B.quick);
	machine_json();
	B.jmeas = cJSON_AddObjectToObject(B.json, "measurements");
	B.jdaemons = cJSON_AddObjectToObject(B.json, "daemons");
	load_json("loadavg_at_start");
	pidfd_selftest();
	client_create();

	run_all();
	daemon_stop(&B.d0);
	daemon_stop(&B.d);
	ratios();
	log_report();
	targets();
	targets17();

	lws_context_destroy(B.ctx);
	B.ctx = NULL;
	kill(B.floor_pid, SIGTERM);
	wait_pid(B.floor_pid, NULL, 5000);
	B.floor_pid = 0;
	reap_strays("the run");
	if (stopping()) {
		say("stopped early by signal %d", (int)stop_signal);
		B.exit_code = 1;
	}
	load_json("loadavg_at_end");
	cJSON_AddBoolToObject(B.json, "completed", !stopping());
	cJSON_AddNumberToObject(B.json, "leftover_processes", B.leftovers);
	cJSON_AddNumberToObject(B.json, "targets_missed", targets_missed);
	cJSON_AddNumberToObject(B.json, "daemon_log_warnings",
	    log_warnings_total);
	cJSON_AddNumberToObject(B.json, "run_seconds", ms(t0, now_ns()) / 1e3);
	write_json();
	fclose(B.tbl);
	fputs(B.tblbuf, stdout);
	printf("\n%u target(s) missed; run took %.0f s; load average at start "
	    "%s, at end %s; JSON: %s\n", targets_missed,
	    ms(t0, now_ns()) / 1e3,
	    cJSON_GetStringValue(cJSON_GetObjectItem(B.json,
	    "loadavg_at_start")),
	    cJSON_GetStringValue(cJSON_GetObjectItem(B.json,
	    "loadavg_at_end")), B.json_path);
	free(B.tblbuf);
	cJSON_Delete(B.json);
	if (B.leftovers)
		B.exit_code = 1;
	return B.exit_code;
}
