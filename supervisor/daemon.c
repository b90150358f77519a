/*
 * daemon.c - becoming a well-behaved daemon: the pidfile, detaching from
 * the terminal, and dropping privileges.
 *
 * Called once from main() in this order: the sockets are bound first (so a
 * bind error still reaches the terminal and privileged ports work), then
 * the pidfile is locked (a second instance is refused before it detaches),
 * then the process detaches and writes its final pid, then it drops to
 * --user.  The pidfile is libbsd's: locked with flock for the daemon's
 * life, so a stale file from a crash is simply reused.
 *
 * Before all of that (and for -n), daemon_check_access() makes sure the
 * user the workers will run as can use the directories every worker
 * needs: a daemon whose every worker fails at set-up would only answer
 * 503.  As root with --user it checks in a child that drops to the user,
 * the same way, so the supervisor stays root until its own drop.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

/*
 * Exit 1 if another live instance holds the pidfile.  The file is opened
 * as root and truncated, so a symbolic link is refused rather than
 * followed: keep the pidfile's directory writable by root alone.
 */
void
daemon_pidfile_open(struct supervisor *sv)
{
	const struct config	*cfg = sv->sv_cfg;
	struct stat		 st;
	pid_t			 other = -1;

	if (cfg->pidfile == NULL)
		return;
	if (lstat(cfg->pidfile, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "wstaskd: --pidfile %s: not a regular file\n",
		    cfg->pidfile);
		exit(1);
	}
	sv->sv_pidfh = pidfile_open(cfg->pidfile, 0644, &other);
	if (sv->sv_pidfh != NULL)
		return;
	if (errno == EEXIST) {
		fprintf(stderr, "wstaskd: already running as pid %ld "
		    "(--pidfile %s)\n", (long)other, cfg->pidfile);
		exit(1);
	}
	fprintf(stderr, "wstaskd: --pidfile %s: %s\n", cfg->pidfile,
	    strerror(errno));
	exit(1);
}

void
daemon_pidfile_write(struct supervisor *sv)
{
	if (sv->sv_pidfh && pidfile_write(sv->sv_pidfh) < 0)
		fatal("pidfile_write %s", sv->sv_cfg->pidfile);
}

/*
 * After --user the directory (root's) may not let us: then whoever
 * started us as root removes it (the init script does); the lock is
 * released either way, so a leftover file is harmless.
 */
void
daemon_pidfile_remove(struct supervisor *sv)
{
	if (sv->sv_pidfh && pidfile_remove(sv->sv_pidfh) < 0) {
		if (errno == EACCES || errno == EPERM)
			log_info("event=pidfile-kept file=%s: no permission "
			    "after dropping privileges", sv->sv_cfg->pidfile);
		else
			log_warn("remove %s", sv->sv_cfg->pidfile);
	}
	sv->sv_pidfh = NULL;
}

static void
daemon_stdio_null(void)
{
	int	fd;

	if ((fd = open("/dev/null", O_RDWR)) < 0)
		fatal("open /dev/null");
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		fatal("dup2 /dev/null");
	if (fd > STDERR_FILENO)
		close(fd);
}

/*
 * Fork twice with a setsid() between, so the daemon is no session leader
 * and can never acquire a controlling terminal.  The command that was
 * started exits only when the daemon says it is ready (daemon_ready():
 * pidfile written, privileges dropped) with status 0, or with 1 when it
 * died before that: an init script or systemd can trust the status.
 * Returns the write end of that readiness pipe.
 */
int
daemon_detach(void)
{
	pid_t	pid;
	char	c = 0;
	int	p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe2");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(c == 'R' ? 0 : 1);	/* EOF: it died first */
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		fatal("chdir /");
	return p[1];
}

/* The daemon is ready: let the starting command exit 0, and go quiet. */
void
daemon_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "R", 1) != 1)
		log_warn("write readiness pipe");
	close(fd);
	log_stderr(false);
	daemon_stdio_null();
}

/* setgroups, setgid, setuid; then make sure none of it can be undone. */
static void
daemon_become_user(const struct config *cfg)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	if (setgroups(1, &cfg->gid) < 0)
		fatal("setgroups");
	if (setresgid(cfg->gid, cfg->gid, cfg->gid) < 0)
		fatal("setresgid %ld", (long)cfg->gid);
	if (setresuid(cfg->uid, cfg->uid, cfg->uid) < 0)
		fatal("setresuid %ld", (long)cfg->uid);
	if (getresgid(&rgid, &egid, &sgid) < 0 || getresuid(&ruid, &euid,
	    &suid) < 0)
		fatal("getresuid");
	if (rgid != cfg->gid || egid != cfg->gid || sgid != cfg->gid ||
	    ruid != cfg->uid || euid != cfg->uid || suid != cfg->uid)
		fatalx("privileges were not dropped to %s", cfg->user);
	if (cfg->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		fatalx("could regain root after dropping to %s", cfg->user);
}

void
daemon_drop_privileges(const struct config *cfg)
{
	if (cfg->user == NULL)
		return;
	daemon_become_user(cfg);
	log_info("event=privileges user=%s uid=%ld gid=%ld", cfg->user,
	    (long)cfg->uid, (long)cfg->gid);
}

/* -1, with one line naming the flag, the path and the reason, if not. */
static int
daemon_can_use(const struct config *cfg, const char *flag, const char *dir,
    int mode)
{
	if (dir == NULL || faccessat(AT_FDCWD, dir, mode, AT_EACCESS) == 0)
		return 0;
	fprintf(stderr, "wstaskd: --%s: %s: %s%s%s%s\n", flag, dir,
	    strerror(errno), cfg->user ? " (as user " : "",
	    cfg->user ? cfg->user : "", cfg->user ? ")" : "");
	return -1;
}

/*
 * Workers list and open handlers in --tasks (read, search) and open the
 * files under --www (search), and make their session cgroups in
 * --cgroup (write, search) unless the directory will be given to them.  The TLS key and certificate need no check:
 * they were read before any drop (options.c).
 */
static int
daemon_workers_can_work(const struct config *cfg)
{
	if (daemon_can_use(cfg, "tasks", cfg->tasks_dir, R_OK | X_OK) < 0 ||
	    daemon_can_use(cfg, "www", cfg->www_dir, X_OK) < 0 ||
	    (!cfg->cgroup_give && daemon_can_use(cfg, "cgroup",
	    cfg->cgroup_dir, W_OK | X_OK) < 0))
		return -1;
	return 0;
}

/* Exits 64 (as for a missing directory) when the workers could not work. */
void
daemon_check_access(const struct config *cfg)
{
	pid_t	pid;
	int	status;

	if (cfg->user == NULL || geteuid() != 0) {
		if (daemon_workers_can_work(cfg) < 0)
			exit(EX_USAGE);
		return;
	}
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		daemon_become_user(cfg);
		_exit(daemon_workers_can_work(cfg) < 0 ? EX_USAGE : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fatal("waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}
