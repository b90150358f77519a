/*
 * util.c - clocks, fds and signals.
 *
 * signal_reset_all() is what every child must run after fork: blocked or
 * ignored signals survive fork and exec, and libwebsockets ignores SIGPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t
now_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
fd_set_nonblock(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* "SIGTERM" for SIGTERM; "SIG42" for a signal without a name. */
const char *
signal_name(int sig, char *buf, size_t len)
{
	const char	*abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "SIG%d", sig);
	return buf;
}

/*
 * Every disposition back to its default, and the mask set to `keep' (NULL:
 * empty).  Signals that must stay blocked are never unblocked on the way:
 * one arriving in that gap would act on its default disposition.
 */
int
signal_reset_all(const sigset_t *keep)
{
	struct sigaction sa;
	sigset_t	 none;
	int		 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);	/* EINVAL for RT
							   signals glibc keeps */
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, keep ? keep : &none, NULL);
}

/*
 * Every byte one of [A-Za-z0-9._-]: the characters of handler and user
 * names (SPEC 3, 8.5), which their callers bound in length and first byte.
 */
bool
name_chars_ok(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
