/*
 * worker.h - the worker role: one connection, one session, its batches.
 *
 * All of a worker's mutable state is the one struct wk, which lives on
 * worker_main()'s stack and reaches the libwebsockets callbacks as the
 * context's user pointer.  Members carry a prefix: k_ worker, b_ batch,
 * t_ task, q_ queued message, l_ a line being read, p_ progress.c's state.
 *
 * Life of a worker: spare (no connection) -> connected (HTTP, then maybe
 * WebSocket) -> claiming (session id sent to the supervisor, client
 * reading paused) -> granted (batches run) -> going (cancel, kill and reap
 * every child, close with the reason's code, exit 0).
 */
#ifndef WSTASKD_WORKER_H
#define WSTASKD_WORKER_H

#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/types.h>

#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "config.h"
#include "manifest.h"
#include "metrics.h"
#include "msg.h"
#include "session_id.h"

#define OUTQ_HIGH	(256 * 1024)	/* queued bytes: stop reading tasks */
#define OUTQ_LOW	(64 * 1024)	/* ... and resume below this */
#define HTTP_PROTOCOL_NAME_MAX	64	/* lws's longest subprotocol name + 1 */
#define CLOSE_WAIT_USEC	1000000		/* longest wait for a close ack */
#define LINE_CUT	4096		/* a progress line, a log piece (SPEC 7) */
/* k_trim: the stack is trimmed once, when "ready" has been written. */
#define TRIM_NOT_YET	0
#define TRIM_DUE	1
#define TRIM_DONE	2
#define CTL_REPORTS_MAX	32		/* reports held for one sendmmsg */
#define CTL_REPORT_LEN	(MSG_HDR_LEN + TASK_NAME_MAX + 24)	/* one, sent */

/*
 * Reports held for one sendmmsg (ctl.c).  Allocated at a session's first
 * report, not in struct wk: an idle worker never dirties the page.
 */
struct ctl_held {
	size_t			 h_len[CTL_REPORTS_MAX];
	uint8_t			 h_rec[CTL_REPORTS_MAX][CTL_REPORT_LEN];
};

struct cJSON;			/* cJSON.h: only its users include it */
struct wk;
struct batch;

enum task_state { T_QUEUED = 0, T_RUNNING, T_DONE };

/* What task_read_fd() and the pipe readers return (RD_AGAIN negated). */
enum { RD_MORE = 0, RD_AGAIN, RD_CLOSE };

struct lbuf {			/* a line being read from a pipe */
	size_t			 l_len;
	bool			 l_cut;		/* more was written than kept */
	char			 l_buf[LINE_CUT];
};

struct progress;		/* progress.c */

struct task {
	char			*t_id;
	char			*t_name;	/* handler */
	char			*t_args;	/* JSON text, NULL: none */
	uint64_t		 t_timeout_ms;	/* effective, 0 none */
	enum task_state		 t_state;
	pid_t			 t_pid;		/* also its process group */
	struct lws		*t_out;		/* adopted stdout read end */
	struct lws		*t_err;		/* adopted stderr read end */
	struct lws		*t_prog;	/* adopted fd 3 read end */
	struct progress		*t_progress;	/* NULL until fd 3 is read */
	struct lbuf		*t_log;		/* "log": the line being read */
	char			*t_buf;		/* stdout */
	size_t			 t_len, t_cap;
	char			 t_errtail[STDERR_TAIL];
	size_t			 t_errtotal;	/* bytes of stderr seen */
	bool			 t_over;	/* output exceeded */
	bool			 t_timed_out;
	bool			 t_killed;	/* SIGKILL already sent */
	int64_t			 t_start;	/* usec */
	struct batch		*t_batch;
	bool			 t_cg;		/* has a cgroup (contain.c) */
	int			 t_cg_fd;	/* its directory */
	int			 t_cg_ev;	/* its cgroup.events, in k_ep_fd */
	char			 t_cg_name[24];
	bool			 t_exited;	/* leader reaped, cgroup not empty */
	int			 t_status;	/* ... and its wait status */
	bool			 t_oom;		/* memory.events oom_kill */
	int			 t_execfd;	/* exec's errno comes here, -1 */
	int			 t_exec_errno;	/* the exec failed */
	lws_sorted_usec_list_t	 t_sul;		/* timeout, then grace */
	TAILQ_ENTRY(task)	 t_entry;	/* running list */
};

struct batch {
	struct wk		*b_wk;
	char			*b_name;
	char			*b_lname;	/* b_name for log lines (log_esc) */
	unsigned		 b_limit;
	struct task		*b_tasks;
	size_t			 b_ntasks;
	size_t			 b_next;	/* next task to start */
	size_t			 b_running, b_started, b_finished;
	size_t			 b_ok, b_failed;
	bool			 b_cancelling;
	bool			 b_log;		/* "log":true: stderr lines */
	const char		*b_reason;	/* why it was cancelled */
	int64_t			 b_start;
	TAILQ_HEAD(, task)	 b_run;
};

struct outmsg {
	struct outmsg		*q_next;
	size_t			 q_len;
	unsigned char		 q_buf[];	/* LWS_PRE + q_len */
};

struct name {
	RB_ENTRY(name)		 n_node;
	char			 n_text[];
};
RB_HEAD(name_tree, name);
#define NAMESET_MAX	128		/* longest name a set holds */
_Static_assert(NAMESET_MAX >= BATCH_NAME_MAX && NAMESET_MAX >= TASK_ID_MAX,
    "batch names and task ids fit a name set");
RB_PROTOTYPE(name_tree, name, n_node, name_cmp)

enum going { GO_NONE = 0, GO_CLOSED, GO_SUPERSEDED, GO_SHUTDOWN, GO_KILLED };

struct wk {
	const struct config	*k_cfg;
	struct lws_context	*k_ctx;
	struct lws_vhost	*k_vh;		/* plain */
	struct lws_vhost	*k_vh_tls;	/* NULL without --ssl-cert */
	struct lws		*k_conn;	/* the connection, NULL once gone */
	unsigned char		*k_wbuf;	/* LWS_PRE + COALESCE_MAX, conn.c:
						   at the first coalesced write */
	struct lws		*k_ctl_wsi;
	struct lws		*k_sig_wsi;
	int			 k_sigfd;
	int			 k_nullfd;	/* stdin of tasks without args */
	int			 k_tasks_fd;	/* O_PATH of --tasks */
	posix_spawnattr_t	 k_spawnattr;
	lws_retry_bo_t		 k_retry;	/* ping policy */
	enum wstate		 k_state;
	bool			 k_ws;		/* upgraded to WebSocket */
	bool			 k_have_id;
	char			 k_peer[64];
	char			 k_client[64];	/* behind a trusted proxy */
	bool			 k_peer_trusted;
	char			 k_session[SESSION_ID_MAX + 1];
	char			 k_user[SESSION_USER_MAX + 1];	/* basic auth */

	/* receiving */
	char			*k_rx;
	size_t			 k_rxlen, k_rxcap;
	struct cJSON		*k_held;	/* messages waiting for the grant */

	/* sending */
	struct outmsg		*k_qhead, **k_qtail;
	size_t			 k_qbytes;
	bool			 k_choked;
	int			 k_close_code;	/* close once the queue is sent */
	const char		*k_close_reason;
	unsigned char		*k_http;	/* LWS_PRE + body to send */
	size_t			 k_httplen;
	struct lws		*k_metrics_wsi;	/* GET /metrics waits for the page */
	char			*k_metrics;	/* ... which came: send it */
	size_t			 k_metricslen;
	bool			 k_metrics_failed;
	bool			 k_draining;	/* wstaskctl drain: /healthz 503 */

	/* ctl.c: reports held until the loop comes round */
	struct ctl_held		*k_rep;		/* at the first report */
	unsigned		 k_nrep;
	lws_sorted_usec_list_t	 k_sul_rep;

	/* batches */
	struct batch		*k_cur;		/* running or cancelling */
	struct batch		*k_next;	/* newest run waiting for k_cur */
	struct name_tree	 k_names;	/* batch names used */
	struct name_tree	 k_badmanifests; /* already logged as invalid */
	unsigned long		 k_autoname;

	/* --cgroup (contain.c) */
	bool			 k_cg;		/* the session's was tried */
	int			 k_cg_fd;	/* DIR/session.PID, -1: none */
	int			 k_cg_errno;	/* why not */
	char			*k_cg_path;
	unsigned long		 k_cg_seq;	/* task cgroups made */
	int			 k_cg_ev;	/* the session's cgroup.events */
	int			 k_ep_fd;	/* epoll of every cgroup.events */
	struct lws		*k_ep_wsi;

	/* leaving */
	enum going		 k_going;
	bool			 k_finishing;	/* children gone, closing */
	bool			 k_quit;
	int			 k_trim;	/* TRIM_*: worker_trim_stack() */
	lws_sorted_usec_list_t	 k_sul_grace;	/* cancel: SIGKILL time */
	lws_sorted_usec_list_t	 k_sul_fill;	/* start tasks, after a reap */
	lws_sorted_usec_list_t	 k_sul_close;	/* cap on the close wait */
	lws_sorted_usec_list_t	 k_sul_handshake; /* --handshake-timeout */
	lws_sorted_usec_list_t	 k_sul_alive;	/* proof of life while claiming */
	struct lws_http_mount	 k_mounts[4];	/* the vhosts refer to them */
	struct lws_protocols	 k_protocols[3];	/* and to these */
	char			 k_other_protocol[HTTP_PROTOCOL_NAME_MAX];
};

/* main.c */
void		 worker_go(struct wk *k, enum going why);
void		 worker_progress(struct wk *k);

/* ctl.c: the control socket, the only door to the supervisor */
int		 ctl_read(struct wk *k);
void		 ctl_claim(struct wk *k, const char *key, size_t len);
void		 ctl_task(struct wk *k, const struct task *t, enum msg_task what);
void		 ctl_unstarted(struct wk *k, const struct batch *b);
void		 ctl_batch(struct wk *k, enum metrics_batch outcome);
int		 ctl_metrics_ask(struct wk *k);
void		 ctl_reports_send(struct wk *k);
void		 ctl_free(struct wk *k);

/* conn.c: the connection: adoption, messages in, events out, close */
void		 conn_adopt(struct wk *k, int fd, bool tls, const char *peer);
void		 conn_title(struct wk *k);
int		 conn_established(struct wk *k, struct lws *wsi);
int		 conn_receive(struct wk *k, struct lws *wsi, const void *in,
		    size_t len);
int		 conn_writeable(struct wk *k, struct lws *wsi);
void		 conn_gone(struct wk *k);
void		 conn_close(struct wk *k, int code, const char *reason);
void		 conn_rx_update(struct wk *k);

/* http.c */
void		 http_subprotocol_chosen(struct wk *k);
void		 http_log_init(struct wk *k);
void		 http_log_watch(void);
void		 http_log_upgraded(void);
int		 http_confirm_upgrade(struct wk *k, struct lws *wsi);
int		 http_filter(struct wk *k, struct lws *wsi, const char *uri,
		    size_t len);
int		 http_request(struct wk *k, struct lws *wsi);
int		 http_writeable(struct wk *k, struct lws *wsi);
void		 http_closed(struct wk *k, struct lws *wsi);
void		 http_metrics_page(struct wk *k, int fd);
const struct lws_http_mount *http_mounts(const struct config *cfg,
		    struct lws_http_mount *m, size_t n);

/* request.c: client messages, one table */
void		 request_message(struct wk *k, const char *text, size_t len);
void		 request_release(struct wk *k);

/* claim.c: the session id, claim and grant */
void		 claim_from_query(struct wk *k, struct lws *wsi);
void		 claim_bare(struct wk *k, const char *text, size_t len);
void		 claim_hello(struct wk *k, const struct cJSON *msg);
void		 claim_random(struct wk *k);
void		 claim_granted(struct wk *k, bool superseded);

/* handler.c: what a handler is */
bool		 handler_name_ok(const char *name, size_t len);
enum handler_state {
	HANDLER_OK = 0,
	HANDLER_UNKNOWN,	/* bad name, no such file, or not for this user */
	HANDLER_NOT_FILE,	/* a directory, a fifo, ... */
	HANDLER_NOT_EXEC,	/* a file we may not execute */
	HANDLER_BAD_MANIFEST,	/* NAME.json is invalid: why says why */
	HANDLER_CLOSED,		/* its manifest names users; none configured */
};
enum handler_state handler_check(int dirfd, const char *name);
enum handler_state handler_load(struct wk *k, const char *name,
		    struct manifest *m, char *why, size_t whylen);
char		*handler_list_json(struct wk *k);
char		*handler_describe_json(struct wk *k, const char *name);

/* validate.c: a run checked before anything of it starts */
struct verr {
	const char	*code;		/* error event code */
	char		 msg[768];
	const char	*task;		/* bad_args: the task's id ... */
	char		 path[512];	/* ... and the pointer into its args */
};
int		 validate_run(struct wk *k, const struct cJSON *run,
		    struct batch *b, const char **name, struct verr *e);

/* nameset.c: sets of batch names and task ids */
bool		 nameset_add(struct name_tree *tree, const char *text,
		    bool *oom);
bool		 nameset_has(struct name_tree *tree, const char *text);
void		 nameset_clear(struct name_tree *tree);

/* batch.c */
struct batch	*batch_new(struct wk *k, const struct cJSON *run);
void		 batch_submit(struct wk *k, struct batch *b);
void		 batch_cancel_request(struct wk *k);
void		 batch_skip(struct wk *k, struct batch *b, const char *why);
void		 batch_cancel(struct wk *k, struct batch *b, const char *why);
void		 batch_fill(struct wk *k, struct batch *b);
void		 batch_task_done(struct wk *k, struct task *t, int status);
bool		 batch_settle(struct wk *k);
void		 batch_free(struct batch *b);
void		 batch_resume(struct wk *k);
void		 batch_choke(struct wk *k);

/* task.c */
int		 task_spawn(struct wk *k, struct task *t);
void		 task_signal(struct task *t, int sig);
int		 task_read(struct wk *k, struct task *t, struct lws *wsi);
void		 task_drain(struct wk *k, struct task *t);
void		 task_pipe_closing(struct wk *k, struct task *t,
		    struct lws *wsi);
void		 task_pause_pipes(struct task *t, bool paused);
ssize_t		 task_read_fd(const struct task *t, int fd, void *buf,
		    size_t len, const char *what);
void		 task_release(struct task *t);
void		 task_free(struct wk *k, struct task *t);

/* progress.c: fd 3, and the line cutting shared with tasklog.c */
size_t		 lbuf_feed(struct lbuf *l, const char *p, size_t n,
		    bool keep_full, bool *eol);
void		 lbuf_reset(struct lbuf *l);
size_t		 utf8_partial(const char *s, size_t len);
size_t		 utf8_cut(const char *s, size_t len, size_t max);
struct cJSON	*progress_value(const char *line, size_t len, bool cut,
		    bool *empty);
int		 progress_read(struct wk *k, struct task *t, int fd,
		    size_t budget);
void		 progress_drain(struct wk *k, struct task *t, int fd);
void		 progress_due(struct wk *k, struct task *t);
void		 progress_final(struct wk *k, struct task *t);
void		 progress_drop(struct task *t);
void		 progress_free(struct task *t);

/* tasklog.c: "log":true, stderr lines as events */
void		 tasklog_feed(struct wk *k, struct task *t, const char *buf,
		    size_t n);
void		 tasklog_final(struct wk *k, struct task *t);
void		 tasklog_free(struct task *t);

/* contain.c: --cgroup */
struct contain_exec {
	const char	*x_path, *x_dir;
	char		**x_argv, **x_envp;
	int		 x_in, x_out, x_err, x_prog;
};
void		 contain_session(struct wk *k);
int		 contain_spawn(struct wk *k, struct task *t,
		    const struct contain_exec *x);
bool		 contain_leader_exited(struct wk *k, struct task *t,
		    int status);
void		 contain_kill(struct task *t);
int		 contain_exec_errno(struct task *t);
void		 contain_events(struct wk *k);
void		 contain_task_end(struct wk *k, struct task *t);
bool		 contain_session_left(struct wk *k);
void		 contain_free(struct wk *k);

/* reap.c */
void		 reap_signals(struct wk *k);
bool		 reap_children_left(struct wk *k);

/* event.c */
void		 event_push(struct wk *k, struct cJSON *obj);
void		 event_ready(struct wk *k, bool superseded);
void		 event_error(struct wk *k, const char *code, const char *batch,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void		 event_refused(struct wk *k, const struct verr *e,
		    const char *batch);
void		 event_accepted(struct wk *k, const struct batch *b);
void		 event_started(struct wk *k, const struct batch *b,
		    const struct task *t);
bool		 event_result(struct wk *k, const struct batch *b,
		    struct task *t, int status, int spawn_errno);
void		 event_done(struct wk *k, const struct batch *b);
void		 event_cancelled(struct wk *k, const struct batch *b);
void		 event_progress(struct wk *k, const struct batch *b,
		    const struct task *t, struct cJSON *data);
void		 event_log(struct wk *k, const struct batch *b,
		    const struct task *t, const char *line);
void		 outq_free(struct wk *k);

/* value.c */
struct cJSON	*value_from_output(char *buf, size_t len, char **text);
struct cJSON	*json_parse(const char *text, size_t len, const char **why);
char		*utf8_repair(const char *buf, size_t len, size_t *outlen);

#endif
