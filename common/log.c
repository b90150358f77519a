/*
 * log.c - stderr or syslog logging shared by the supervisor and workers.
 *
 * Owns the only logging state of a process (ident, role, level, sink).  A
 * worker inherits it across fork and only changes the role, so both roles
 * write the same format.  Lines are formatted into one buffer and written
 * with a single write(2), so lines of concurrent processes never interleave.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024

/* The logger is process-wide by nature (syslog itself is); kept in one struct. */
static struct {
	const char	*ident;
	const char	*role;
	int		 verbosity;
	bool		 use_syslog;
	bool		 use_stderr;
	const char	*file;		/* --log-file, at LOG_FD */
} lg = { "wstaskd", "", LOG_LVL_INFO, false, true, NULL };

void
log_init(const char *ident, int verbosity, bool use_syslog)
{
	lg.ident = ident;
	lg.verbosity = verbosity;
	lg.use_syslog = use_syslog;
	lg.use_stderr = !use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Also (or only) stderr: a daemon says its start-up errors to both. */
void
log_stderr(bool on)
{
	lg.use_stderr = on || (!lg.use_syslog && lg.file == NULL);
}

static int
log_file_fd(const char *path, uid_t uid, gid_t gid)
{
	int	fd, saved;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0640)) < 0)
		return -1;
	/* Given to --user, so the reopen after the drop can create it anew. */
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * --log-file: from now on lines go to path, at LOG_FD.  Called first
 * thing, when LOG_FD can only be an inherited descriptor of nobody's.
 * uid -1: keep the owner.  -1 with errno when it cannot be opened.
 */
int
log_file_open(const char *path, uid_t uid, gid_t gid)
{
	int	fd;

	if ((fd = log_file_fd(path, uid, gid)) < 0)
		return -1;
	if (fd != LOG_FD) {
		if (dup3(fd, LOG_FD, O_CLOEXEC) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	lg.file = path;
	lg.use_syslog = false;
	lg.use_stderr = false;
	return 0;
}

bool
log_file_active(void)
{
	return lg.file != NULL;
}

/* Whether syslog(3) has a socket to write to (it drops lines silently). */
bool
log_syslog_reachable(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;
	bool			ok;

	strlcpy(sun.sun_path, _PATH_LOG, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

void
log_set_role(const char *role)
{
	lg.role = role;
}

/*
 * Text a client chose, made safe to put in a key=value line: as a bare
 * value (quoted false) white space, '=', '"', '%', '\\' and control bytes
 * become %XX; inside "..." only '"', '%', '\\' and control bytes do.  No
 * client can then forge a field.  Returns buf, the text cut to fit.
 */
const char *
log_esc(char *buf, size_t len, const char *s, bool quoted)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0;

	if (len == 0)
		return "";
	for (; *p && o + 1 < len; p++) {
		bool esc = *p < 0x20 || *p == 0x7f || *p == '"' ||
		    *p == '%' || *p == '\\' ||
		    (!quoted && (*p == ' ' || *p == '='));

		if (!esc) {
			buf[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= len)
			break;
		buf[o++] = '%';
		buf[o++] = hex[*p >> 4];
		buf[o++] = hex[*p & 0x0f];
	}
	buf[o] = '\0';
	return buf;
}

int
log_verbosity(void)
{
	return lg.verbosity;
}

/* A new file at the same path (logrotate); a failure keeps the old one. */
static void
log_file_reopen(void)
{
	int	fd;

	if ((fd = log_file_fd(lg.file, (uid_t)-1, (gid_t)-1)) < 0) {
		log_warn("reopen --log-file %s (still writing to the old file)",
		    lg.file);
		return;
	}
	if (dup3(fd, LOG_FD, O_CLOEXEC) < 0)
		log_warn("dup3 --log-file");
	close(fd);
}

void
log_reopen(void)
{
	if (lg.file) {
		log_file_reopen();
		return;
	}
	if (!lg.use_syslog)
		return;
	closelog();
	openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* One line, its UTC time first, in one write(2) (O_APPEND: never torn). */
static void
log_file_write(const char *line, size_t n)
{
	char		buf[LOG_LINE_MAX + 32];
	struct timespec	ts;
	struct tm	tm;
	size_t		t;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	t = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	t += (size_t)snprintf(buf + t, sizeof(buf) - t, ".%03ldZ ",
	    ts.tv_nsec / 1000000);
	memcpy(buf + t, line, n);
	buf[t + n] = '\n';
	/* Nothing sensible is left to report a failed log write to. */
	if (write(LOG_FD, buf, t + n + 1) < 0)
		return;
}

static void
log_vemit(int prio, const char *func, int err, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX];
	size_t	 n = 0, body;
	int	 r;

	r = snprintf(line, sizeof(line), "%s[%ld]: ", lg.ident, (long)getpid());
	n = body = r > 0 ? (size_t)r : 0;
	if (*lg.role && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, "%s: ", lg.role);
		n += r > 0 ? (size_t)r : 0;
	}
	if (func && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, "%s: ", func);
		n += r > 0 ? (size_t)r : 0;
	}
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		n += r > 0 ? (size_t)r : 0;
	}
	if (err && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(err));
		n += r > 0 ? (size_t)r : 0;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* Clients name batches and ids: they must not forge log lines. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (lg.use_syslog) {
		line[n] = '\0';
		syslog(prio, "%s", line + body);	/* syslog adds ident[pid] */
	}
	if (lg.file)
		log_file_write(line, n);
	if (!lg.use_stderr)
		return;
	line[n++] = '\n';
	/* Nothing sensible is left to report a failed log write to. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
log_warn_(const char *func, const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, func, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* A line without strerror(), at any level: errno is kept. */
static void
log_vx(int prio, const char *func, const char *fmt, va_list ap)
{
	int	saved = errno;

	log_vemit(prio, func, 0, fmt, ap);
	errno = saved;
}

void
log_warnx_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vx(LOG_WARNING, func, fmt, ap);
	va_end(ap);
}

void
log_errx_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vx(LOG_ERR, func, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	if (lg.verbosity < LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_INFO, NULL, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	if (lg.verbosity < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, NULL, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* libwebsockets' own lines: already newline-terminated, keep them short. */
void
log_lws_line(int level, const char *line)
{
	size_t	len = strlen(line);

	(void)level;		/* lws filters by its own mask */
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	log_warnx_("lws", "%.*s", (int)len, line);
}

noreturn void
fatal_(const char *func, const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, func, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

noreturn void
fatalx_(const char *func, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, func, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
