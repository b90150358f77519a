/*
 * main.c - wstaskd's entry point: the supervisor role.
 *
 * Parses the flags, refuses to run as root without a reason, makes sure
 * fds 0-2 are open (so no socket can land there and be handed to a
 * handler as stdio), becomes a child subreaper, binds, and runs the loop
 * until a graceful stop has let every worker finish.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "title.h"

#define MAIN_TOP_PAD	(256 * 1024)	/* bytes; glibc's default is 128 KiB */

extern char **environ;

/*
 * Room at the top of the heap, from its first allocation on, costs nothing
 * until written.  The fork server, forked from this heap, leaves its
 * workers a free top (forker.c); had it to grow its heap instead, the
 * kernel would map the growth apart from the heap it inherited (a forked
 * process's brk extension is not merged with it): one mapping more in
 * every worker.  Not under ASan, whose allocator has no such setting.
 */
static bool
main_heap_pad(void)
{
#ifndef __SANITIZE_ADDRESS__
	return mallopt(M_TOP_PAD, MAIN_TOP_PAD) == 1;
#else
	return true;
#endif
}

static void
main_stdio(void)
{
	int	fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			exit(1);	/* nowhere to say it */
	}
}

/*
 * Each connection costs a few fds here; take what the hard limit allows.
 * Workers put back the limit we were given, for their handlers (some
 * programs close or select() up to it), or what a worker needs if more;
 * decided once, here, not in every worker.
 */
static void
main_rlimit(struct config *cfg)
{
	struct rlimit	rl;
	rlim_t		need = WORKER_FDS(cfg) + 16;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return;
	}
	cfg->worker_nofile.rlim_cur = rl.rlim_cur > need ? rl.rlim_cur : need;
	if (cfg->worker_nofile.rlim_cur > rl.rlim_max)
		cfg->worker_nofile.rlim_cur = rl.rlim_max;
	cfg->worker_nofile.rlim_max = rl.rlim_max;
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("setrlimit RLIMIT_NOFILE");
}

static void
main_free(struct supervisor *sv, struct config *cfg)
{
	size_t	i;

	if (sv) {
		free(sv->sv_listeners);
		ctlsock_close(sv);
		metrics_free(&sv->sv_metrics);
		close(sv->sv_sigfd);
		close(sv->sv_epfd);
	}
	for (i = 0; i < cfg->nlistens; i++) {
		free(cfg->listens[i].text);
		free(cfg->listens[i].host);
	}
	free(cfg->listens);
	for (i = 0; i < cfg->npass_env; i++)
		free(cfg->pass_env[i]);
	free(cfg->pass_env);
	free(cfg->origins);
	free(cfg->trusted);
	free(cfg->tasks_dir);
	free(cfg->www_dir);
	free(cfg->ws_path);
	free(cfg->pidfile);
	free(cfg->ssl_cert);
	free(cfg->ssl_key);
	tls_pem_free(&cfg->tls);
	userdb_free(&cfg->users);
	free(cfg->credentials_file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->cgroup_dir);
	free(cfg->control);
	free(cfg->log_file);
}

/*
 * --log-file is opened before anything else takes LOG_FD, and before the
 * drop (given to --user, so a reopen works after it).
 */
static void
main_log_file(const struct config *cfg)
{
	if (cfg->check_only || cfg->log_file == NULL)
		return;
	if (log_file_open(cfg->log_file, cfg->user ? cfg->uid : (uid_t)-1,
	    cfg->user ? cfg->gid : (gid_t)-1) < 0) {
		fprintf(stderr, "wstaskd: --log-file %s: %s\n", cfg->log_file,
		    strerror(errno));
		exit(1);
	}
}

/* -D needs a log: a file, or a syslog that listens (it drops silently). */
static void
main_log_lost(const struct config *cfg)
{
	if (!cfg->daemonize || cfg->check_only || cfg->log_file != NULL ||
	    log_syslog_reachable())
		return;
	fprintf(stderr, "wstaskd: -D: no syslog listens on /dev/log and no "
	    "--log-file is given: refusing to run with the log lost\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct supervisor	sv;
	struct config		cfg;
	size_t			i;
	int			rc, ready = -1;
	bool			padded;

	padded = main_heap_pad();
	title_init(argc, argv, environ);
	main_stdio();
	options_parse(argc, argv, &cfg);
	/* Until detached, -D logs to the terminal as well as to syslog. */
	log_init("wstaskd", cfg.verbosity, (cfg.use_syslog || cfg.daemonize) &&
	    cfg.log_file == NULL);
	main_log_file(&cfg);
	log_stderr(cfg.daemonize || (!cfg.use_syslog && cfg.log_file == NULL));
	log_set_role("supervisor");
	if (!padded)
		log_warnx("mallopt M_TOP_PAD: workers get a heap mapping more");
	if (cfg.www_missing)
		log_warnx("event=no-www dir=%s: the default --www directory "
		    "does not exist: serving no pages", cfg.www_missing);
	if (geteuid() == 0 && cfg.user == NULL && !cfg.allow_root) {
		fprintf(stderr, "wstaskd: refusing to run as root: give --user "
		    "to drop privileges, or --allow-root to run handlers as "
		    "root\n");
		exit(1);
	}
	cgsetup_check(&cfg);
	daemon_check_access(&cfg);
	main_log_lost(&cfg);
	/* Sockets and the pid file are not tried: a running daemon holds them. */
	if (cfg.check_only) {
		users_load(&cfg);
		if (catalog_check(&cfg, true) != 0) {
			fprintf(stderr, "wstaskd: invalid manifests in %s\n",
			    cfg.tasks_dir);
			main_free(NULL, &cfg);
			return 1;
		}
		fprintf(stderr, "wstaskd: configuration ok\n");
		main_free(NULL, &cfg);
		return 0;
	}
	main_rlimit(&cfg);

	memset(&sv, 0, sizeof(sv));
	sv.sv_cfg = &cfg;
	RB_INIT(&sv.sv_workers);
	RB_INIT(&sv.sv_sessions);
	TAILQ_INIT(&sv.sv_spares);
	TAILQ_INIT(&sv.sv_dying);
	TAILQ_INIT(&sv.sv_swept);
	TAILQ_INIT(&sv.sv_drains);
	sv.sv_metrics.m_start = (double)time(NULL);
	sv.sv_start_real = (int64_t)time(NULL) * 1000000;
	/* First: a live control socket is another daemon; bind nothing. */
	ctlsock_open(&sv);
	cgsetup_enter(&cfg);
	listen_open_all(&sv);
	daemon_pidfile_open(&sv);
	if (cfg.daemonize)
		ready = daemon_detach();
	sv.sv_pid = getpid();
	daemon_pidfile_write(&sv);
	daemon_drop_privileges(&cfg);
	users_load(&cfg);
	catalog_check(&cfg, false);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fatal("prctl PR_SET_CHILD_SUBREAPER");
	loop_init(&sv);
	daemon_ready(ready);
	for (i = 0; i < sv.sv_nlisteners; i++)
		loop_add(&sv, sv.sv_listeners[i].l_fd, &sv.sv_listeners[i]);
	ctlsock_start(&sv);
	title_set("supervisor");
	log_info("event=start pid=%ld tasks=%s www=%s path=%s limit=%u",
	    (long)sv.sv_pid, cfg.tasks_dir, cfg.www_dir ? cfg.www_dir : "-",
	    cfg.ws_path, cfg.limit);
	child_top_up(&sv);
	rc = loop_run(&sv);
	daemon_pidfile_remove(&sv);
	log_info("event=exit status=%d", rc);
	main_free(&sv, &cfg);
	return rc;
}
