/*
 * monorec - a task handler for the stress tests that records its life with
 *           CLOCK_MONOTONIC times, the clock of Python's time.monotonic(),
 *           so the handlers' records and the clients' can be compared.
 *
 * args (stdin): {"conn":"C","run":SECS,"clean":SECS}, each optional.  It
 * runs SECS seconds (default 30) and exits 0; on SIGTERM it takes `clean`
 * seconds (default 0.1) to clean up, then exits 0.  It appends to
 * $WT_DIR/records, one write(2) of one line each (O_APPEND: lines of
 * concurrent handlers never mix):
 *
 *	KIND PID SESSION BATCH TASK_ID MONO_USEC CONN PPID
 *
 * KIND is start, then term when SIGTERM came, then end just before it
 * exits.  SIGTERM is blocked from the first instruction of main() until
 * start is written and then taken only inside ppoll(), so a handler that
 * got that far always writes start before term and end.  (One killed
 * between exec and main() writes nothing: a window of well under a
 * millisecond, against ~15 ms for a Perl or shell handler.)  PPID is the
 * worker that spawned it.  Compiled by tests/stress/common.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t	term;
static int			recfd = -1;
static char			conn[128] = "-";

static void
on_term(int sig)
{
	(void)sig;
	term = 1;
}

static long long
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v && *v ? v : "-";
}

static void
rec(const char *kind)
{
	char	line[1024];
	int	n;

	n = snprintf(line, sizeof(line), "%s %ld %s %s %s %lld %s %ld\n", kind,
	    (long)getpid(), env("WSTASK_SESSION"), env("WSTASK_BATCH"),
	    env("WSTASK_TASK_ID"), mono_us(), conn, (long)getppid());
	if (n > 0 && (size_t)n < sizeof(line) && recfd >= 0 &&
	    write(recfd, line, (size_t)n) != n)
		exit(3);
}

/* The number after "key": in the args, or def. */
static double
num(const char *args, const char *key, double def)
{
	const char	*p = strstr(args, key);
	char		*end;
	double		 v;

	if (p == NULL || (p = strchr(p + strlen(key), ':')) == NULL)
		return def;
	v = strtod(p + 1, &end);
	return end == p + 1 || v < 0 ? def : v;
}

/* Sleep until mono time `until` (usec) with SIGTERM taken only here;
 * returns early on SIGTERM when stop_on_term. */
static void
sleep_until(long long until, int stop_on_term, const sigset_t *unblocked)
{
	struct timespec	ts;
	long long	left;

	while ((left = until - mono_us()) > 0 && !(stop_on_term && term)) {
		ts.tv_sec = left / 1000000;
		ts.tv_nsec = (left % 1000000) * 1000;
		ppoll(NULL, 0, &ts, unblocked);
	}
}

int
main(void)
{
	struct sigaction sa;
	sigset_t	 block, unblocked;
	char		 args[4096], *p, *q, path[4096];
	ssize_t		 n;
	size_t		 len = 0;
	double		 run, clean;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGTERM);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	while (len < sizeof(args) - 1 &&
	    (n = read(0, args + len, sizeof(args) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	args[len] = '\0';
	if ((p = strstr(args, "\"conn\"")) && (p = strchr(p + 6, ':')) &&
	    (p = strchr(p, '"')) && (q = strchr(p + 1, '"')) && q > p + 1 &&
	    (size_t)(q - p - 1) < sizeof(conn) && !memchr(p + 1, ' ', q - p - 1)) {
		memcpy(conn, p + 1, (size_t)(q - p - 1));
		conn[q - p - 1] = '\0';
	}
	run = num(args, "\"run\"", 30);
	clean = num(args, "\"clean\"", 0.1);
	snprintf(path, sizeof(path), "%s/records", env("WT_DIR"));
	recfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);

	rec("start");
	sleep_until(mono_us() + (long long)(run * 1e6), 1, &unblocked);
	if (term) {
		rec("term");
		sleep_until(mono_us() + (long long)(clean * 1e6), 0, &unblocked);
	}
	rec("end");
	printf("{\"conn\":\"%s\",\"term\":%s}\n", conn, term ? "true" : "false");
	return 0;
}
