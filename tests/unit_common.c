/*
 * unit_common.c - unit tests of common/ where a daemon cannot reach: the
 * control-record receiver against a hostile sender (extra descriptors),
 * the state table, the /proc scan, log_esc(), and the fork server's
 * clone: what it skips of glibc's fork() must stay harmless (proc.c).
 * Prints TAP.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <dirent.h>
#include <openssl/rand.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "proc.h"

#include "tap.h"

static int
open_fds(void)
{
	DIR	*d = opendir("/proc/self/fd");
	int	 n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* Sends the bytes of a real record with nfds descriptors riding on it. */
static int
send_with_fds(int sock, const void *rec, size_t len, int nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov = { (void *)rec, len };
	char		 cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct cmsghdr	*cm;
	int		 fds[8], i;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	for (i = 0; i < nfds; i++)
		fds[i] = STDIN_FILENO;
	if (nfds > 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, 0) < 0 ? -1 : 0;
}

/* A claim record's bytes, as msg_send() writes them. */
static size_t
claim_bytes(uint8_t *buf, size_t len)
{
	char	err[128];
	int	sp[2];
	ssize_t	n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0)
		return 0;
	msg_send(sp[0], MSG_CLAIM, 0, "abc", 3, -1, err, sizeof(err));
	n = recv(sp[1], buf, len, 0);
	close(sp[0]);
	close(sp[1]);
	return n > 0 ? (size_t)n : 0;
}

static void
test_fds(void)
{
	uint8_t		rec[MSG_HDR_LEN + MSG_DATA_MAX];
	size_t		len = claim_bytes(rec, sizeof(rec));
	struct msg	m;
	char		err[128], desc[256];
	int		sp[2], nfds, before, rc, got;

	ok(len > 0, "a claim record can be made");
	for (nfds = 0; nfds <= 4; nfds++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) < 0)
			return;
		before = open_fds();
		send_with_fds(sp[1], rec, len, nfds);
		got = -1;
		rc = msg_recv(sp[0], &m, &got, err, sizeof(err));
		if (got >= 0)
			close(got);
		snprintf(desc, sizeof(desc), "a record with %d descriptor(s): "
		    "%s, none left open (rc %d: %s)", nfds,
		    nfds <= 1 ? "accepted" : "refused", rc, rc < 0 ? err : "");
		ok((nfds <= 1 ? rc == 1 : rc == -1) && open_fds() == before,
		    desc);
		before = open_fds();
		send_with_fds(sp[1], rec, len, nfds);
		rc = msg_recv(sp[0], &m, NULL, err, sizeof(err));
		snprintf(desc, sizeof(desc), "... and with no place for one "
		    "(the supervisor's call): none left open");
		ok(open_fds() == before, desc);
		close(sp[0]);
		close(sp[1]);
	}
}

static void
test_table(void)
{
	ok(msg_allowed(MSG_CLAIM, WS_CONNECTED, false),
	    "a claim from a connected worker is allowed");
	ok(msg_allowed(MSG_CLAIM, WS_GOING, false),
	    "a claim crossing the supervisor's go is allowed (then ignored)");
	ok(!msg_allowed(MSG_CLAIM, WS_GRANTED, false),
	    "a second claim from a granted worker is not");
	ok(!msg_allowed(MSG_CLAIM, WS_CONNECTED, true),
	    "a claim never goes to a worker");
	ok(!msg_allowed(MSG_GRANT, WS_CONNECTED, true),
	    "a grant without a claim is not allowed");
}

static void
count_one(const struct proc_stat *ps, void *arg)
{
	(void)ps;
	(*(int *)arg)++;
}

/*
 * proc_children() with one descriptor free: opendir takes it, so every
 * /proc/PID/stat open fails with EMFILE (the supervisor at its limit).
 */
static int
proc_children_at_fd_limit(pid_t child)
{
	struct rlimit	old, lim;
	int		n, low;

	(void)child;
	if (getrlimit(RLIMIT_NOFILE, &old) < 0 || (low = dup(0)) < 0)
		return -2;
	close(low);
	lim = old;
	lim.rlim_cur = (rlim_t)low + 1;	/* the lowest free one, no more */
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		return -2;
	n = proc_children(getpid(), NULL, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	return n;
}

static void
test_proc(void)
{
	pid_t	pid;
	int	seen = 0, n;

	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	n = proc_children(getpid(), count_one, &seen);
	ok(n == 1 && seen == 1, "the /proc scan finds the one child");
	n = proc_children_at_fd_limit(pid);
	ok(n == -1, "... and, out of descriptors, says it cannot tell "
	    "instead of \"none\"");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	n = proc_children(getpid(), NULL, NULL);
	ok(n == 0, "... and none once it is reaped");
}

static void
test_esc(void)
{
	char	buf[LOG_ESC_SIZE(32)], small[8];

	ok(strcmp(log_esc(buf, sizeof(buf), "b x=1 \"%\\", false),
	    "b%20x%3D1%20%22%25%5C") == 0,
	    "log_esc: space = \" % \\ encoded in a bare value");
	ok(strcmp(log_esc(buf, sizeof(buf), "a b=\"c\"\n", true),
	    "a b=%22c%22%0A") == 0,
	    "log_esc: only \" % \\ and control bytes in a quoted one");
	ok(strcmp(log_esc(buf, sizeof(buf), "caf\xc3\xa9", false),
	    "caf\xc3\xa9") == 0, "log_esc: UTF-8 is kept");
	ok(strcmp(log_esc(small, sizeof(small), "abcde f", false),
	    "abcde") == 0, "log_esc: cut to fit, never half an escape");
}

/*
 * What a sibling sees after proc_clone_sibling(), written by it to fd:
 * its parent, and random bytes from OpenSSL and from arc4random drawn
 * after the clone; the cloner draws the same after, which must differ.
 */
struct sibling_view {
	pid_t		ppid, pid;
	unsigned char	ssl[16], bsd[16];
};

static void
test_clone_middle(int fd)
{
	struct sibling_view	 mine, theirs;
	unsigned char		 warm[16];
	pid_t			 pid;
	int			 p[2];

	/* Both generators seeded and in use before the clone. */
	if (RAND_bytes(warm, sizeof(warm)) != 1)
		_exit(2);
	arc4random_buf(warm, sizeof(warm));
	if (pipe(p) < 0 || (pid = proc_clone_sibling()) < 0)
		_exit(2);
	if (pid == 0) {
		theirs.ppid = getppid();
		theirs.pid = getpid();
		if (RAND_bytes(theirs.ssl, sizeof(theirs.ssl)) != 1)
			_exit(2);
		arc4random_buf(theirs.bsd, sizeof(theirs.bsd));
		if (write(p[1], &theirs, sizeof(theirs)) != sizeof(theirs))
			_exit(2);
		_exit(0);
	}
	if (read(p[0], &theirs, sizeof(theirs)) != sizeof(theirs) ||
	    RAND_bytes(mine.ssl, sizeof(mine.ssl)) != 1)
		_exit(2);
	arc4random_buf(mine.bsd, sizeof(mine.bsd));
	mine.ppid = getppid();
	mine.pid = pid;		/* what the clone returned */
	if (write(fd, &mine, sizeof(mine)) != sizeof(mine) ||
	    write(fd, &theirs, sizeof(theirs)) != sizeof(theirs))
		_exit(2);
	_exit(0);
}

static void
test_clone(void)
{
	struct sibling_view	mine, theirs;
	pid_t			middle, got;
	int			p[2], st, reaped = 0;

	if (pipe(p) < 0 || (middle = fork()) < 0) {
		ok(0, "fork for the clone test");
		return;
	}
	if (middle == 0) {
		close(p[0]);
		test_clone_middle(p[1]);
	}
	close(p[1]);
	ok(read(p[0], &mine, sizeof(mine)) == sizeof(mine) &&
	    read(p[0], &theirs, sizeof(theirs)) == sizeof(theirs),
	    "clone: the sibling ran and reported");
	close(p[0]);
	ok(theirs.ppid == getpid() && mine.ppid == getpid(),
	    "clone: the sibling's parent is its cloner's parent");
	ok(theirs.pid == mine.pid && theirs.pid != middle,
	    "clone: getpid() in the sibling is its own pid (no stale cache)");
	ok(memcmp(mine.ssl, theirs.ssl, sizeof(mine.ssl)) != 0,
	    "clone: OpenSSL's RAND_bytes differs in the sibling");
	ok(memcmp(mine.bsd, theirs.bsd, sizeof(mine.bsd)) != 0,
	    "clone: libbsd's arc4random differs in the sibling");
	/* Both are our children: we reap the sibling, not its cloner. */
	while ((got = waitpid(-1, &st, 0)) > 0)
		if ((got == middle || got == theirs.pid) && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0)
			reaped++;
	ok(reaped == 2, "clone: the sibling is reaped by the cloner's parent");
}

int
main(void)
{
	log_init("unit", LOG_LVL_QUIET, false);
	test_fds();
	test_table();
	test_proc();
	test_esc();
	test_clone();
	printf("1..%d\n", n_test);
	return n_failed ? 1 : 0;
}
