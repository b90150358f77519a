/*
 * main.c - the worker role: from fork to exit 0.
 *
 * Right after fork the worker moves its control socket to CTL_FD, closes
 * everything else it inherited, leaves the supervisor's session and
 * signal state, becomes a child subreaper (so a handler's orphans come
 * back to it), and creates its own libwebsockets context.  Every event it
 * waits for (the connection, the control socket, a signalfd for SIGCHLD
 * and SIGTERM, task pipes, timers) is in that one loop: no threads, no
 * polling.
 *
 * It exits 0 only after every child is reaped (worker_progress), so exit
 * status 0 tells the supervisor "nothing of mine is left".
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "role.h"
#include "title.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define RX_BUFFER	8192

static int worker_callback(struct lws *, enum lws_callback_reasons, void *,
    void *, size_t);

/*
 * The first is also the protocol of adopted pipes; the second is named
 * only during an upgrade that offers no wstask.v1 (http.c), so its name
 * is the worker's own buffer.
 */
static void
worker_protocols(struct wk *k)
{
	const struct lws_protocols p[] = {
		{ "wstask.v1", worker_callback, 0, RX_BUFFER, 0, NULL, 0 },
		{ k->k_other_protocol, worker_callback, 0, RX_BUFFER, 1, NULL,
		    0 },
		{ NULL, NULL, 0, 0, 0, NULL, 0 }
	};

	_Static_assert(sizeof(p) == sizeof(k->k_protocols),
	    "k_protocols holds the table");
	memcpy(k->k_protocols, p, sizeof(p));
}

/* The supervisor raised its fd limit; handlers get the one it chose. */
static void
worker_rlimit(const struct config *cfg)
{
	if (cfg->worker_nofile.rlim_cur != 0 &&
	    setrlimit(RLIMIT_NOFILE, &cfg->worker_nofile) < 0)
		log_warn("setrlimit RLIMIT_NOFILE");
}

/*
 * Every process is named wstaskd, so a `killall -HUP wstaskd` meant for
 * the supervisor's log reopening reaches workers too: those signals must
 * not end a session.  Handlers get default dispositions all the same.
 */
static void
worker_ignore_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGUSR1, SIGUSR2 };
	size_t		 i;
	char		 name[16];

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (signal(sigs[i], SIG_IGN) == SIG_ERR)
			log_warn("signal %s", signal_name(sigs[i], name,
			    sizeof(name)));
}

/* What the worker's signalfd takes; blocked from the fork on. */
static void
worker_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * Every disposition back to its default but the ignored ones, the mask
 * ending as `mask'.  What is blocked stays blocked on the way, and the
 * ignored ones too until ignored: one may be pending.
 */
static int
worker_signals_reset(const sigset_t *mask)
{
	sigset_t	hold = *mask;

	sigaddset(&hold, SIGHUP);
	sigaddset(&hold, SIGUSR1);
	sigaddset(&hold, SIGUSR2);
	if (signal_reset_all(&hold) < 0)
		return -1;
	worker_ignore_signals();
	return sigprocmask(SIG_SETMASK, mask, NULL);
}

/*
 * Out of the terminal's session, where a worker that logs to the terminal
 * could be stopped by SIGTTOU, and the dispositions a worker's: once in
 * the fork server rather than in each worker.  The clones inherit both,
 * and its mask, which keeps what a worker blocks from its first instant.
 */
bool
worker_prepare(void)
{
	sigset_t	mask, set;

	if (setsid() < 0) {
		log_warn("setsid");
		return false;
	}
	worker_signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, &mask) < 0) {
		log_warn("sigprocmask");
		return false;
	}
	sigorset(&mask, &mask, &set);
	if (worker_signals_reset(&mask) < 0) {
		log_warn("sigprocmask");
		return false;
	}
	return true;
}

static void
worker_detach(const struct config *cfg, int ctl, bool prepared)
{
	sigset_t	set;

	if (ctl != CTL_FD) {
		if (dup3(ctl, CTL_FD, O_CLOEXEC) < 0)
			fatal("dup3 control socket");
		close(ctl);
	}
	/* --log-file's descriptor stays: the worker logs there too. */
	_Static_assert(LOG_FD == CTL_FD + 1, "the log follows the control fd");
	closefrom(log_file_active() ? LOG_FD + 1 : CTL_FD + 1);
	worker_signal_set(&set);
	if (prepared) {
		/*
		 * A group of its own, as setsid() gives the others: the crash
		 * sweep kills an orphan's group unless it is a live worker's,
		 * and a group shared by every worker would be none of theirs.
		 */
		if (setpgid(0, 0) < 0)
			log_warn("setpgid");
		if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
			fatal("sigprocmask");
	} else {
		if (setsid() < 0)
			log_warn("setsid");
		if (worker_signals_reset(&set) < 0)
			fatal("sigprocmask");
	}
	worker_rlimit(cfg);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fatal("prctl PR_SET_CHILD_SUBREAPER");
	if (fd_set_nonblock(CTL_FD) < 0)
		fatal("fcntl control socket");
	log_set_role("worker");
	title_set("worker (spare)");
}

static int
worker_signalfd(void)
{
	sigset_t	set;
	int		fd;

	worker_signal_set(&set);
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	return fd;
}

/*
 * Handlers get an empty mask and default dispositions whatever ours are.
 * Every bit of the default set is on: sigfillset() leaves out glibc's two
 * internal signals (32, 33), which posix_spawn then sets to "ignored"
 * in the child, and an ignored signal survives exec.
 */
static void
worker_spawnattr(struct wk *k)
{
	sigset_t	none, all;

	sigemptyset(&none);
	memset(&all, 0xff, sizeof(all));
	if (posix_spawnattr_init(&k->k_spawnattr) != 0 ||
	    posix_spawnattr_setflags(&k->k_spawnattr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(&k->k_spawnattr, 0) != 0 ||
	    posix_spawnattr_setsigmask(&k->k_spawnattr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&k->k_spawnattr, &all) != 0)
		fatalx("posix_spawnattr setup failed");
}

static struct lws *
worker_adopt_fd(struct wk *k, int fd)
{
	lws_sock_file_fd_type	u;
	struct lws		*wsi;

	u.filefd = (lws_filefd_type)(intptr_t)fd;
	wsi = lws_adopt_descriptor_vhost(k->k_vh, LWS_ADOPT_RAW_FILE_DESC, u,
	    "wstask.v1", NULL);
	if (wsi == NULL)	/* (lws leaves a raw fd it could not adopt open) */
		fatalx("cannot adopt fd %d into the event loop", fd);
	return wsi;
}

static void
worker_context(struct wk *k)
{
	const struct config		*cfg = k->k_cfg;
	struct lws_context_creation_info info;

	http_log_init(k);
	k->k_retry.secs_since_valid_ping = (uint16_t)cfg->ping_interval;
	k->k_retry.secs_since_valid_hangup = (uint16_t)cfg->ping_timeout;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	    LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_SKIP_SERVER_CANONICAL_NAME;
	worker_protocols(k);
	info.protocols = k->k_protocols;
	info.user = k;
	/* Three pipes per running task, and room for as many closing. */
	info.fd_limit_per_thread = WORKER_FDS(cfg);
	info.max_http_header_pool = 1;
	/* Allocated per connection, when it comes: a spare costs nothing. */
	info.max_http_header_data = (unsigned short)cfg->max_headers;
	info.retry_and_idle_policy = &k->k_retry;
	info.mounts = http_mounts(cfg, k->k_mounts,
	    sizeof(k->k_mounts) / sizeof(k->k_mounts[0]));
	info.vhost_name = "wstaskd";
	info.keepalive_timeout = 5;
	if (cfg->tls.cert)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if ((k->k_ctx = lws_create_context(&info)) == NULL)
		fatalx("lws_create_context failed");
	if ((k->k_vh = lws_create_vhost(k->k_ctx, &info)) == NULL)
		fatalx("lws_create_vhost failed");
	if (cfg->tls.cert == NULL)
		return;
	/*
	 * An empty SSL_CTX that worker_callback() fills from the PEM the
	 * supervisor read (LOAD_EXTRA_SERVER_VERIFY_CERTS).  http/1.1 only:
	 * one worker must never carry several WebSockets over HTTP/2.
	 */
	info.vhost_name = "wstaskd-tls";
	info.options |= LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	info.alpn = "http/1.1";
	if ((k->k_vh_tls = lws_create_vhost(k->k_ctx, &info)) == NULL)
		fatalx("lws_create_vhost (TLS) failed");
}

/*
 * A set-up failure every worker will meet (a --tasks its user cannot
 * reach): the supervisor is told why, so it can name the fault once
 * instead of only forking again (MSG_SETUP); errno is the failure's.
 */
static noreturn void __attribute__((format(printf, 1, 2)))
worker_setup_failed(const char *fmt, ...)
{
	char	reason[MSG_DATA_MAX + 1], what[512], err[128];
	int	saved = errno, n;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	n = snprintf(reason, sizeof(reason), "%s: %s", what, strerror(saved));
	if (n > MSG_DATA_MAX)
		n = MSG_DATA_MAX;
	if (n > 0 && msg_send(CTL_FD, MSG_SETUP, 0, reason, (size_t)n, -1,
	    err, sizeof(err)) < 0)
		log_warnx("%s", err);
	errno = saved;
	fatal("%s", what);
}

static void
worker_init(struct wk *k, const struct config *cfg)
{
	memset(k, 0, sizeof(*k));
	k->k_cfg = cfg;
	k->k_qtail = &k->k_qhead;
	k->k_state = WS_SPARE;
	RB_INIT(&k->k_names);
	RB_INIT(&k->k_badmanifests);
	k->k_sigfd = worker_signalfd();
	if ((k->k_nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		fatal("open /dev/null");
	k->k_tasks_fd = open(cfg->tasks_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (k->k_tasks_fd < 0)
		worker_setup_failed("open %s", cfg->tasks_dir);
	worker_spawnattr(k);
	worker_context(k);
	k->k_ctl_wsi = worker_adopt_fd(k, CTL_FD);
	k->k_sig_wsi = worker_adopt_fd(k, k->k_sigfd);
	http_log_watch();
}

/* Before the context goes: batches still refer to its timers and pipes. */
static void
worker_free_batches(struct wk *k)
{
	lws_sul_cancel(&k->k_sul_close);
	lws_sul_cancel(&k->k_sul_grace);
	lws_sul_cancel(&k->k_sul_fill);
	lws_sul_cancel(&k->k_sul_handshake);
	lws_sul_cancel(&k->k_sul_alive);
	ctl_reports_send(k);
	if (k->k_next)
		batch_free(k->k_next);
	if (k->k_cur)
		batch_free(k->k_cur);
	k->k_next = k->k_cur = NULL;
}

static void
worker_free(struct wk *k)
{
	nameset_clear(&k->k_names);
	nameset_clear(&k->k_badmanifests);
	outq_free(k);
	free(k->k_rx);
	cJSON_Delete(k->k_held);
	free(k->k_http);
	posix_spawnattr_destroy(&k->k_spawnattr);
	close(k->k_nullfd);
	close(k->k_tasks_fd);
	contain_free(k);
	ctl_free(k);
}

/*
 * Everything the worker owns is freed or closed by now, so exit(3)'s
 * work is only the libraries' exit handlers and destructors (OpenSSL's
 * cleanup among them), a third of a session's page faults for nothing.
 * Under the sanitizers exit(3) stays: their leak check runs there.
 */
static noreturn void
worker_exit(void)
{
#if defined(__SANITIZE_ADDRESS__)
	exit(0);
#else
	if (fflush(NULL) == EOF)
		log_warn("fflush");
	_exit(0);
#endif
}

#define TRIM_WINDOW	(64 * 1024)	/* below the loop's frame; the rest
					   down to the guard gap is unmapped */

/*
 * An idle session costs mostly what its worker has written, and the
 * handshake and the claim ran deeper in the stack than the idle loop
 * does: once "ready" has been written (conn_writeable), and before the
 * loop polls again, those pages are given back (read again, they are
 * zeros).  A page is left below `frame' for the loop.
 */
static void
worker_trim_stack(const char *frame)
{
	uintptr_t	page = (uintptr_t)getpagesize();
	uintptr_t	end = ((uintptr_t)frame & ~(page - 1)) - page;

	if (madvise((void *)(end - TRIM_WINDOW), TRIM_WINDOW,
	    MADV_DONTNEED) < 0 && errno != ENOMEM)
		log_warn("madvise");
}

noreturn void
worker_main(const struct config *cfg, int ctl, bool prepared)
{
	struct wk	k;

	worker_detach(cfg, ctl, prepared);
	worker_init(&k, cfg);
	while (!k.k_quit) {
		if (k.k_trim == TRIM_DUE) {
			k.k_trim = TRIM_DONE;
			worker_trim_stack(__builtin_frame_address(0));
		}
		if (lws_service(k.k_ctx, 0) < 0) {
			/*
			 * Our children may live: exit 0 would say nothing is
			 * left.  Any other status makes the supervisor sweep.
			 */
			log_warnx("event=loop-failed session=%s: lws_service",
			    k.k_session);
			exit(1);
		}
	}
	worker_free_batches(&k);
	lws_context_destroy(k.k_ctx);	/* closes the adopted fds */
	worker_free(&k);
	worker_exit();
}

/* Leave the loop.  Wakes the poll: a timer callback runs just before it. */
static void
worker_quit(struct wk *k)
{
	k->k_quit = true;
	lws_cancel_service(k->k_ctx);
}

static void
worker_close_timeout(lws_sorted_usec_list_t *sul)
{
	struct wk *k = lws_container_of(sul, struct wk, k_sul_close);

	log_debug("event=close-timeout session=%s", k->k_session);
	worker_quit(k);
}

/*
 * Every child is gone: say goodbye on the connection with the reason's
 * close code and leave once it is closed (or CLOSE_WAIT_USEC passed).
 */
static void
worker_finish(struct wk *k)
{
	if (k->k_finishing)
		return;
	k->k_finishing = true;
	if (k->k_conn == NULL) {
		worker_quit(k);
		return;
	}
	lws_sul_schedule(k->k_ctx, 0, &k->k_sul_close, worker_close_timeout,
	    CLOSE_WAIT_USEC);
	if (k->k_going == GO_SUPERSEDED)
		conn_close(k, 4001, "superseded");
	else if (k->k_going == GO_KILLED)
		conn_close(k, 4002, "killed");
	else
		conn_close(k, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
}

/*
 * Called after anything that can end a batch or a child: settles a
 * finished cancel (which may start the next batch) and, when leaving,
 * finishes once nothing is left.
 */
void
worker_progress(struct wk *k)
{
	if (!batch_settle(k))
		return;
	if (k->k_going == GO_NONE || reap_children_left(k))
		return;
	if (k->k_conn == NULL) {
		worker_quit(k);
		return;
	}
	worker_finish(k);
}

/* Begin leaving: cancel what runs, then worker_progress() finishes. */
void
worker_go(struct wk *k, enum going why)
{
	static const char *const reason[] = {
		[GO_CLOSED] = "closed", [GO_SUPERSEDED] = "superseded",
		[GO_SHUTDOWN] = "shutdown", [GO_KILLED] = "killed"
	};

	if (k->k_going != GO_NONE)
		return;
	k->k_going = why;
	k->k_state = WS_GOING;
	log_debug("event=going session=%s reason=%s", k->k_session,
	    reason[why]);
	conn_rx_update(k);	/* the close handshake needs reading */
	if (k->k_next) {
		batch_skip(k, k->k_next, reason[why]);
		k->k_next = NULL;
	}
	if (k->k_cur)
		batch_cancel(k, k->k_cur, reason[why]);
	worker_progress(k);
}

static int
worker_raw_rx(struct wk *k, struct lws *wsi)
{
	struct task	*t;

	if (wsi == k->k_ctl_wsi)
		return ctl_read(k);
	if (wsi == k->k_sig_wsi) {
		reap_signals(k);
		return 0;
	}
	if (wsi == k->k_ep_wsi) {
		contain_events(k);
		return 0;
	}
	/* A pipe at EOF (or past --max-output) is closed by returning -1. */
	if ((t = lws_get_opaque_user_data(wsi)) != NULL)
		return task_read(k, t, wsi) ? -1 : 0;
	return 0;
}

static void
worker_raw_closed(struct wk *k, struct lws *wsi)
{
	struct task	*t = lws_get_opaque_user_data(wsi);

	if (wsi == k->k_ctl_wsi)
		k->k_ctl_wsi = NULL;
	else if (wsi == k->k_sig_wsi)
		k->k_sig_wsi = NULL;
	else if (wsi == k->k_ep_wsi)
		k->k_ep_wsi = NULL;
	else if (t)
		task_pipe_closing(k, t, wsi);
}

static int
worker_tls_certs(struct wk *k, void *ssl_ctx)
{
	char	err[256];

	if (tls_pem_install(ssl_ctx, &k->k_cfg->tls, err, sizeof(err)) < 0) {
		log_warnx("TLS: %s", err);
		return 1;
	}
	return 0;
}

static int
worker_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct wk	*k = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return worker_tls_certs(k, user);
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		return http_filter(k, wsi, in, len);
	case LWS_CALLBACK_HTTP:
		return http_request(k, wsi);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(k, wsi);
	case LWS_CALLBACK_CLOSED_HTTP:
		http_closed(k, wsi);
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return http_confirm_upgrade(k, wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		http_subprotocol_chosen(k);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		http_log_upgraded();
		return conn_established(k, wsi);
	case LWS_CALLBACK_RECEIVE:
		return conn_receive(k, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return conn_writeable(k, wsi);
	case LWS_CALLBACK_RAW_RX_FILE:
		return worker_raw_rx(k, wsi);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		worker_raw_closed(k, wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		if (wsi == k->k_conn && !k->k_quit)
			conn_gone(k);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}
