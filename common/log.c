/*
 * log.c - stderr or syslog logging shared by the supervisor and workers.
 *
 * Owns the only logging state of a process (ident, role, level, sink).  A
 * worker inherits it across fork and only changes the role, so both roles
 * write the same format.  Lines are formatted into one buffer and written
 * with a single write(2), so lines of concurrent processes never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
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
} lg = { "wstaskd", "", LOG_LVL_INFO, false, true };

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
	lg.use_stderr = on || !lg.use_syslog;
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

void
log_reopen(void)
{
	if (!lg.use_syslog)
		return;
	closelog();
	openlog(lg.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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
