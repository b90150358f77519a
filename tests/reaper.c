/*
 * reaper -- run one test file and hold it accountable for every process
 *           it starts.
 *
 * Usage: reaper [-g GRACE_MS] COMMAND [ARG...]
 *
 * `make check` runs `prove --exec tests/reaper` over tests/NN-name.t,
 * so each test file runs under its own reaper.  On the test machines
 * pid 1 does not reap orphans: a process a test forgets (`sleep 100 &`,
 * a setsid'd daemon) would live forever, keep prove's pipe open and
 * leave zombies behind.
 * The reaper therefore:
 *
 *  1. makes itself a child subreaper, so every orphaned descendant of
 *     COMMAND is reparented to the reaper instead of to pid 1;
 *  2. runs COMMAND with inherited stdio (TAP goes straight to prove) and
 *     a clean signal state, forwards SIGTERM, SIGINT and SIGHUP to it, and
 *     reaps reparented orphans while it runs;
 *  3. once COMMAND has exited, gives the remaining descendants GRACE_MS
 *     milliseconds to exit (default 1500; $REAPER_GRACE_MS; -g wins);
 *     a SIGTERM, SIGINT or SIGHUP received then ends the grace early;
 *  4. reports on stderr whatever is still alive after that, SIGKILLs it
 *     (and its process group, if that group holds only our processes),
 *     and reaps everything before exiting.
 *
 * Exit status: COMMAND's own status (128+signo if a signal killed it);
 * 1 if it left processes behind; 127 if COMMAND could not be executed;
 * 2 on usage errors; 125 if the reaper itself could not be set up.
 *
 * Descendants are found by scanning /proc/PID/stat (this kernel has no
 * /proc/PID/task/TID/children) and following PPid links from our pid over
 * the whole snapshot, since a grandchild only becomes our child once its
 * parent dies.  "Nothing left" is decided by waitpid() failing with
 * ECHILD: as a subreaper we have no children exactly when we have no
 * descendants, which is race-free where a /proc scan is not.
 *
 * Signals are consumed through a signalfd: there are no signal handlers
 * and no global mutable state.
 */

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	DEFAULT_GRACE_MS = 1500,
	POLL_MS = 20,
	GIVE_UP_MS = 10000,	/* stop trying to SIGKILL after this long */
	EXIT_LEFTOVERS = 1,
	EXIT_USAGE = 2,
	EXIT_SETUP = 125,
	EXIT_NOEXEC = 127,
	COMM_MAX = 64,
	STAT_MAX = 1024,	/* enough to reach past comm and pgid */
	CMDLINE_MAX = 4096,
	KERNEL_SIGRTMIN = 32,	/* glibc reserves 32..SIGRTMIN-1 */
};

struct command {
	const char *name;	/* COMMAND as given; labels our messages */
	pid_t pid;
	int status;
	bool done;
};

struct proc {
	pid_t pid, ppid, pgid;
	char state;
	bool ours;		/* descends from the reaper */
	char comm[COMM_MAX + 1];
};

struct snapshot {
	struct proc *v;
	size_t n, cap;
};

struct pidset {
	pid_t *v;
	size_t n, cap;
};

static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(EXIT_SETUP, "clock_gettime");
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- command line ---------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: reaper [-g GRACE_MS] COMMAND [ARG...]\n");
	exit(EXIT_USAGE);
}

static bool parse_ms(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/* Parse options; returns the index of COMMAND in argv. */
static int parse_args(int argc, char **argv, int *grace_ms)
{
	const char *grace = getenv("REAPER_GRACE_MS");
	int opt;

	while ((opt = getopt(argc, argv, "+g:")) != -1) {
		if (opt != 'g')
			usage();
		grace = optarg;
	}
	*grace_ms = DEFAULT_GRACE_MS;
	if (grace != NULL && !parse_ms(grace, grace_ms)) {
		warnx("invalid grace period '%s' (milliseconds)", grace);
		usage();
	}
	if (optind >= argc)
		usage();
	return optind;
}

/* ---- signals and the command ----------------------------------------- */

/* Block the signals we care about and return a signalfd delivering them. */
static int setup_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;
	int fd;

	/* An inherited SIG_IGN for SIGCHLD would discard exit statuses;
	 * a stderr pipe nobody reads must not kill us before cleaning up. */
	if (sigaction(SIGCHLD, &dfl, NULL) == -1 ||
	    sigaction(SIGPIPE, &ign, NULL) == -1)
		err(EXIT_SETUP, "sigaction");
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(EXIT_SETUP, "sigprocmask");
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fd == -1)
		err(EXIT_SETUP, "signalfd");
	return fd;
}

/* Give the command default dispositions and an empty signal mask. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    (sig >= KERNEL_SIGRTMIN && sig < SIGRTMIN))
			continue;
		if (sigaction(sig, &dfl, NULL) == -1)
			warn("sigaction %d", sig);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		warn("sigprocmask");
}

static pid_t spawn(char **argv)
{
	pid_t pid = fork();

	if (pid == -1)
		err(EXIT_NOEXEC, "fork");
	if (pid == 0) {
		reset_signals();
		execvp(argv[0], argv);
		warn("execvp %s", argv[0]);
		_exit(EXIT_NOEXEC);
	}
	return pid;
}

/* Reap every child that has exited; false once we have no children. */
static bool reap(struct command *cmd)
{
	for (;;) {
		int status, saved;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0 && pid == cmd->pid) {
			cmd->status = status;
			cmd->done = true;
		}
		if (pid > 0 || (pid == -1 && errno == EINTR))
			continue;
		if (pid == 0)
			return true;
		saved = errno;
		if (saved != ECHILD)
			warn("waitpid");
		return saved != ECHILD;
	}
}

static void forward(const struct command *cmd, int sig)
{
	if (kill(cmd->pid, sig) == -1 && errno != ESRCH)
		warn("kill %d %s", (int)cmd->pid, strsignal(sig));
}

/*
 * Wait up to timeout_ms (-1: forever) for signals and act on them:
 * forward termination signals while the command runs.  Returns true if
 * one arrived after the command had exited.
 */
static bool handle_signals(int sfd, int timeout_ms, const struct command *cmd)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	struct signalfd_siginfo si[16];
	bool stop = false;
	ssize_t len;
	int ready = poll(&pfd, 1, timeout_ms);

	if (ready == -1 && errno != EINTR) {
		warn("poll");
		poll(NULL, 0, POLL_MS);		/* never spin */
	}
	if (ready <= 0)
		return false;
	len = read(sfd, si, sizeof si);
	if (len == -1) {
		if (errno != EINTR && errno != EAGAIN)
			warn("read signalfd");
		return false;
	}
	for (ssize_t i = 0; i < len / (ssize_t)sizeof *si; i++) {
		int sig = (int)si[i].ssi_signo;

		if (sig == SIGCHLD)
			continue;
		if (!cmd->done)
			forward(cmd, sig);
		else
			stop = true;
	}
	return stop;
}

static void run(int sfd, struct command *cmd)
{
	while (reap(cmd) && !cmd->done)
		handle_signals(sfd, -1, cmd);
}

/* Give the command's leftovers grace_ms to exit; true if none are left. */
static bool settle(int sfd, struct command *cmd, int grace_ms)
{
	long long deadline = now_ms() + grace_ms;

	while (reap(cmd)) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return false;
		if (handle_signals(sfd, left < POLL_MS ? (int)left : POLL_MS,
				   cmd))
			return false;
	}
	return true;
}

/* ---- /proc snapshot -------------------------------------------------- */

/* Replace NULs by spaces and other control characters by '?'. */
static void sanitize(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\0')
			s[i] = ' ';
		else if (iscntrl((unsigned char)s[i]))
			s[i] = '?';
	}
}

/* Read up to size bytes of a /proc file; -1 if it is gone or unreadable. */
static ssize_t read_proc(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		if (errno != ENOENT && errno != ESRCH)
			warn("open %s", path);
		return -1;
	}
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno != ESRCH)
			warn("read %s", path);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (close(fd) == -1)
		warn("close %s", path);
	return (ssize_t)got;
}

/* Parse /proc/PID/stat: "pid (comm) state ppid pgrp ...", where comm may
 * contain spaces and ')', so it ends at the last ')'. */
static bool read_stat(pid_t pid, struct proc *p)
{
	char path[64], buf[STAT_MAX];
	char *lp, *rp;
	ssize_t len;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	len = read_proc(path, buf, sizeof buf - 1);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	if (lp == NULL || rp == NULL || rp < lp ||
	    sscanf(rp + 1, " %c %d %d", &p->state, &p->ppid, &p->pgid) != 3) {
		warnx("%s: cannot parse '%s'", path, buf);
		return false;
	}
	n = (size_t)(rp - lp - 1);
	n = n > COMM_MAX ? COMM_MAX : n;
	memcpy(p->comm, lp + 1, n);
	p->comm[n] = '\0';
	sanitize(p->comm, n);
	p->pid = pid;
	p->ours = false;
	return true;
}

static pid_t parse_pid(const char *name)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)name[0]))
		return 0;
	errno = 0;
	v = strtol(name, &end, 10);
	return (errno == 0 && *end == '\0' && v > 0 && v <= INT_MAX) ?
		(pid_t)v : 0;
}

static bool snapshot_reserve(struct snapshot *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256;
	struct proc *v;

	if (s->n < s->cap)
		return true;
	v = realloc(s->v, cap * sizeof *v);
	if (v == NULL) {
		warn("realloc");
		return false;
	}
	s->v = v;
	s->cap = cap;
	return true;
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid;
	pid_t y = ((const struct proc *)b)->pid;

	return (x > y) - (x < y);
}

static const struct proc *find_proc(const struct snapshot *s, pid_t pid)
{
	struct proc key = { .pid = pid };

	return s->n ? bsearch(&key, s->v, s->n, sizeof *s->v, by_pid) : NULL;
}

/* Mark every process descending from self, following PPid links until
 * nothing changes. */
static void mark_ours(struct snapshot *s, pid_t self)
{
	bool changed = true;

	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, by_pid);
	while (changed) {
		changed = false;
		for (size_t i = 0; i < s->n; i++) {
			struct proc *p = &s->v[i];
			const struct proc *parent = find_proc(s, p->ppid);

			if (!p->ours && (p->ppid == self ||
					 (parent != NULL && parent->ours))) {
				p->ours = true;
				changed = true;
			}
		}
	}
}

static void snapshot_take(struct snapshot *s, pid_t self)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;

	s->n = 0;
	if (dir == NULL) {
		warn("opendir /proc");
		return;
	}
	for (;;) {
		pid_t pid;

		errno = 0;
		de = readdir(dir);
		if (de == NULL)
			break;
		pid = parse_pid(de->d_name);
		if (pid > 0 && snapshot_reserve(s) && read_stat(pid, &s->v[s->n]))
			s->n++;
	}
	if (errno != 0)
		warn("readdir /proc");
	if (closedir(dir) == -1)
		warn("closedir /proc");
	mark_ours(s, self);
}

/* ---- leftovers ------------------------------------------------------- */

static bool is_alive(const struct proc *p)
{
	return p->state != 'Z' && p->state != 'X' && p->state != 'x';
}

/* Add pid; false if it was already there. */
static bool pidset_add(struct pidset *set, pid_t pid)
{
	pid_t *v;

	for (size_t i = 0; i < set->n; i++)
		if (set->v[i] == pid)
			return false;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;

		v = realloc(set->v, cap * sizeof *v);
		if (v == NULL) {
			warn("realloc");
			return true;
		}
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = pid;
	return true;
}

static void report(const char *test, const struct proc *p)
{
	char path[64], cmdline[CMDLINE_MAX];
	ssize_t len;

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p->pid);
	len = read_proc(path, cmdline, sizeof cmdline - 1);
	while (len > 0 && cmdline[len - 1] == '\0')
		len--;
	len = len < 0 ? 0 : len;
	cmdline[len] = '\0';
	sanitize(cmdline, (size_t)len);
	fprintf(stderr, "reaper: %s left pid=%d ppid=%d state=%c comm=%s "
		"cmdline=%s\n", test, (int)p->pid, (int)p->ppid, p->state,
		p->comm, cmdline);
}

/* Does every process in group pgid descend from us? */
static bool group_is_ours(const struct snapshot *s, pid_t pgid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].pgid == pgid && !s->v[i].ours)
			return false;
	return true;
}

static void kill_proc(const struct snapshot *s, const struct proc *p,
		      pid_t mypgid, bool verbose)
{
	if (kill(p->pid, SIGKILL) == -1 && errno != ESRCH && verbose)
		warn("kill %d", (int)p->pid);
	if (p->pgid <= 0 || p->pgid == mypgid || !group_is_ours(s, p->pgid))
		return;
	if (kill(-p->pgid, SIGKILL) == -1 && errno != ESRCH && verbose)
		warn("kill -%d", (int)p->pgid);
}

/* One round: report what is newly found alive, SIGKILL all of ours.
 * Returns true if anything alive was found. */
static bool kill_round(const struct snapshot *s, struct pidset *seen,
		       const char *test, pid_t mypgid)
{
	bool alive = false;

	for (size_t i = 0; i < s->n; i++) {
		const struct proc *p = &s->v[i];
		bool fresh = false;

		if (!p->ours)
			continue;
		if (is_alive(p)) {
			alive = true;
			fresh = pidset_add(seen, p->pid);
			if (fresh)
				report(test, p);
		}
		/* zombies too: a zombie leader may still have live threads */
		kill_proc(s, p, mypgid, fresh);
	}
	return alive;
}

/*
 * Report and SIGKILL everything of ours still alive, round after round,
 * until we have no children left.  Returns true if anything was alive.
 */
static bool kill_leftovers(int sfd, struct command *cmd)
{
	struct snapshot s = { 0 };
	struct pidset seen = { 0 };
	pid_t self = getpid(), mypgid = getpgrp();
	long long give_up = now_ms() + GIVE_UP_MS;
	bool left = false;

	while (reap(cmd)) {
		if (now_ms() >= give_up) {
			warnx("%s: giving up, descendants survive SIGKILL",
			      cmd->name);
			left = true;
			break;
		}
		snapshot_take(&s, self);
		left |= kill_round(&s, &seen, cmd->name, mypgid);
		handle_signals(sfd, POLL_MS, cmd);
	}
	free(s.v);
	free(seen.v);
	return left;
}

/* ---- main ------------------------------------------------------------ */

static int exit_status(const struct command *cmd, bool left)
{
	int status = EXIT_LEFTOVERS;

	if (WIFEXITED(cmd->status)) {
		status = WEXITSTATUS(cmd->status);
	} else if (WIFSIGNALED(cmd->status)) {
		int sig = WTERMSIG(cmd->status);
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev != NULL)
			fprintf(stderr, "reaper: %s killed by SIG%s%s\n",
				cmd->name, abbrev,
				WCOREDUMP(cmd->status) ? " (core dumped)" : "");
		else
			fprintf(stderr, "reaper: %s killed by signal %d\n",
				cmd->name, sig);
		status = 128 + sig;
	}
	return left ? EXIT_LEFTOVERS : status;
}

int main(int argc, char **argv)
{
	struct command cmd = { 0 };
	int grace_ms, sfd, first;
	bool left;

	first = parse_args(argc, argv, &grace_ms);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		err(EXIT_SETUP, "prctl PR_SET_CHILD_SUBREAPER");
	sfd = setup_signals();
	cmd.name = argv[first];
	cmd.pid = spawn(argv + first);
	run(sfd, &cmd);
	left = !settle(sfd, &cmd, grace_ms) && kill_leftovers(sfd, &cmd);
	if (close(sfd) == -1)
		warn("close signalfd");
	return exit_status(&cmd, left);
}
