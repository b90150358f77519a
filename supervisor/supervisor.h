/*
 * supervisor.h - the supervisor role: listening sockets, the worker table
 * and the session table.
 *
 * All of the supervisor's mutable state is the one struct supervisor,
 * passed explicitly; the only file-scope variables are none (signals come
 * through a signalfd).  Members carry a short prefix so a grep finds every
 * use: l_ listener, w_ worker, s_ session, sv_ supervisor.
 */
#ifndef WSTASKD_SUPERVISOR_H
#define WSTASKD_SUPERVISOR_H

#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libutil.h>

#include "config.h"
#include "metrics.h"
#include "msg.h"
#include "session_id.h"

enum ev_type { EV_LISTEN = 1, EV_WORKER, EV_SIGNAL, EV_DRAIN, EV_CTLSOCK,
    EV_CTLCLIENT };

struct listener {
	enum ev_type		 l_evtype;	/* first: epoll tag */
	int			 l_fd;
	const struct listen_spec *l_spec;
};

/* A refused connection read away until the client closes (or a deadline). */
struct drain {
	enum ev_type		 d_evtype;	/* first: epoll tag */
	int			 d_fd;
	int64_t			 d_deadline;
	TAILQ_ENTRY(drain)	 d_entry;
};

struct session;

/* A wstaskctl client of the control socket (ctlsock.c). */
struct ctlclient {
	enum ev_type		 c_evtype;	/* first: epoll tag */
	int			 c_fd;
	int64_t			 c_deadline;	/* usec */
	size_t			 c_len;		/* of the request read so far */
	char			*c_out;		/* the answer, malloc'd */
	size_t			 c_outlen, c_outoff;
	TAILQ_ENTRY(ctlclient)	 c_entry;
	char			 c_buf[];	/* CTLSOCK_LINE_MAX */
};

struct worker {
	enum ev_type		 w_evtype;	/* first: epoll tag */
	pid_t			 w_pid;
	int			 w_ctl;		/* -1 once read to EOF */
	enum wstate		 w_state;
	struct session		*w_ses;		/* claimed, held or draining */
	char			 w_id[SESSION_KEY_MAX + 1];
	char			 w_peer[64];
	int64_t			 w_start;	/* usec, monotonic */
	int64_t			 w_kill_at;	/* SIGKILL deadline, 0 none */
	int64_t			 w_claimed;	/* usec, when it claimed */
	bool			 w_reaped;	/* out of sv_workers */
	bool			 w_counted;	/* in sv_nconns */
	bool			 w_superseding;	/* its claim told others to go */
	unsigned		 w_queries;	/* MSG_QUERYs not yet answered */
	bool			 w_broken;	/* broke the protocol: killed */
	char			(*w_tasks)[TASK_NAME_MAX + 1]; /* running: handlers */
	unsigned		 w_ntasks, w_taskcap;
	RB_ENTRY(worker)	 w_node;	/* by pid */
	TAILQ_ENTRY(worker)	 w_spare;	/* in sv_spares: idle */
	TAILQ_ENTRY(worker)	 w_drain;	/* in its session's s_draining */
	TAILQ_ENTRY(worker)	 w_dying;	/* has a kill deadline */
	TAILQ_ENTRY(worker)	 w_sweep;	/* in sv_swept: over only after a
						   crash sweep */
};

/*
 * A TAILQ has no membership test, and a flag beside the list could
 * disagree with it: an entry off its list has a NULL tqe_prev (calloc,
 * then TAILQ_UNLINK), so the list alone says who is on it.
 */
#define TAILQ_LINKED(elm, field)	((elm)->field.tqe_prev != NULL)
#define TAILQ_UNLINK(head, elm, field) do {				\
	TAILQ_REMOVE(head, elm, field);					\
	(elm)->field.tqe_prev = NULL;					\
} while (0)

TAILQ_HEAD(worker_list, worker);

struct session {
	char			 s_id[SESSION_KEY_MAX + 1];
	int64_t			 s_created;	/* usec */
	struct worker		*s_holder;	/* granted, not yet over */
	struct worker		*s_pending;	/* newest claimant */
	struct worker_list	 s_draining;	/* told to go, not yet over */
	RB_ENTRY(session)	 s_node;
};

/* loop_dispatch() reads the tag through a pointer to the struct. */
_Static_assert(offsetof(struct listener, l_evtype) == 0, "epoll tag first");
_Static_assert(offsetof(struct drain, d_evtype) == 0, "epoll tag first");
_Static_assert(offsetof(struct worker, w_evtype) == 0, "epoll tag first");
_Static_assert(offsetof(struct ctlclient, c_evtype) == 0, "epoll tag first");

RB_HEAD(worker_tree, worker);
RB_HEAD(session_tree, session);

struct supervisor {
	struct config		*sv_cfg;	/* ours: workers get it const */
	pid_t			 sv_pid;
	int			 sv_epfd;
	int			 sv_sigfd;
	struct listener		*sv_listeners;
	size_t			 sv_nlisteners;
	struct worker_tree	 sv_workers;
	struct session_tree	 sv_sessions;
	struct worker_list	 sv_spares;
	struct worker_list	 sv_dying;	/* by kill deadline */
	TAILQ_HEAD(, worker)	 sv_swept;	/* wait for the sweep */
	TAILQ_HEAD(, drain)	 sv_drains;	/* oldest first */
	unsigned		 sv_ndrains;
	unsigned		 sv_nworkers;	/* forked, not yet over */
	unsigned		 sv_nspares;
	unsigned		 sv_nconns;	/* connections being served */
	bool			 sv_stopping;
	bool			 sv_sweep;	/* a crash sweep is under way */
	int64_t			 sv_sweep_retry;	/* usec: a scan failed */
	int64_t			 sv_sweep_delay;	/* usec, doubling */
	bool			 sv_stop_expired; /* --shutdown-timeout passed */
	bool			 sv_accept_paused;
	int64_t			 sv_accept_resume;	/* usec */
	int64_t			 sv_fork_retry;		/* usec, back-off */
	int64_t			 sv_fork_delay;
	enum ev_type		 sv_sigtag;	/* epoll tag of the signalfd */
	int64_t			 sv_full_logged;	/* usec */
	int64_t			 sv_stop_deadline;	/* usec, 0: none */
	int64_t			 sv_topup_at;	/* usec: fork spares then, 0 now */
	unsigned		 sv_setup_fails; /* in a row, for one reason */
	char			 sv_setup_reason[MSG_DATA_MAX + 1];
	struct pidfh		*sv_pidfh;
	struct metrics		 sv_metrics;
	bool			 sv_draining;	/* wstaskctl drain: workers know */
	enum ev_type		 sv_ctltag;	/* epoll tag of the control socket */
	int			 sv_ctlfd;	/* --control, -1 none */
	bool			 sv_ctl_paused;	/* full: not accepting */
	TAILQ_HEAD(, ctlclient)	 sv_ctlclients;	/* by deadline */
	unsigned		 sv_nctlclients;
	int64_t			 sv_start_real;	/* usec, unix time */
	pid_t			 sv_forker;	/* the fork server, 0 none */
	int			 sv_forker_fd;	/* its request socket */
	int64_t			 sv_forker_retry; /* usec: start one then */
};

RB_PROTOTYPE(worker_tree, worker, w_node, child_cmp)
RB_PROTOTYPE(session_tree, session, s_node, session_cmp)

/* cgsetup.c: --cgroup */
void		 cgsetup_check(struct config *cfg);
void		 cgsetup_enter(const struct config *cfg);
int		 cgsetup_sweep(const struct config *cfg, pid_t worker);

/* daemon.c */
void		 daemon_pidfile_open(struct supervisor *sv);
void		 daemon_pidfile_write(struct supervisor *sv);
void		 daemon_pidfile_remove(struct supervisor *sv);
int		 daemon_detach(void);
void		 daemon_ready(int fd);
void		 daemon_drop_privileges(const struct config *cfg);
void		 daemon_check_access(const struct config *cfg);

/* users.c */
void		 users_load(struct config *cfg);
bool		 users_reload(struct config *cfg);

/* catalog.c */
int		 catalog_check(const struct config *cfg, bool to_stderr);

/* options.c */
void		 options_parse(int argc, char **argv, struct config *cfg);

/* listen.c */
void		 listen_open_all(struct supervisor *sv);
void		 listen_accept(struct supervisor *sv, struct listener *l);
void		 listen_pause(struct supervisor *sv, int64_t until);
void		 listen_resume(struct supervisor *sv);
void		 listen_close_all(struct supervisor *sv);
void		 listen_drain(struct supervisor *sv, struct drain *d);
void		 listen_drain_expired(struct supervisor *sv, int64_t now);
void		 listen_unix_stale(const char *path, const char *what);

/* child.c */
struct worker	*child_fork(struct supervisor *sv);
struct worker	*child_find(struct supervisor *sv, pid_t pid);
void		 child_backoff(struct supervisor *sv);
void		 child_served(struct supervisor *sv);
void		 child_top_up(struct supervisor *sv);
void		 child_unspare(struct supervisor *sv, struct worker *w);
int		 child_handoff(struct supervisor *sv, int fd, const char *peer,
		    bool tls);
void		 child_tell_go(struct supervisor *sv, struct worker *w,
		    enum msg_reason reason);
void		 child_shutdown(struct supervisor *sv);
void		 child_kill_expired(struct supervisor *sv, int64_t now);
void		 child_kill_all(struct supervisor *sv, const char *why);
void		 child_reaped(struct supervisor *sv, struct worker *w);
void		 child_over(struct supervisor *sv, struct worker *w);

/* forker.c */
pid_t		 forker_spawn(struct supervisor *sv, int wfd);
void		 forker_stop(struct supervisor *sv);
bool		 forker_reaped(struct supervisor *sv, pid_t pid, int status);

/* sweep.c */
void		 sweep_reap(struct supervisor *sv);
void		 sweep_run(struct supervisor *sv);

/* control.c */
void		 control_dispatch(struct supervisor *sv, struct worker *w);
void		 control_violation(struct supervisor *sv, struct worker *w,
		    const char *what);
int		 control_send(struct supervisor *sv, struct worker *w,
		    enum msg_type type, uint8_t arg, const char *data,
		    size_t len, int passfd);

/* report.c */
void		 report_task(struct supervisor *sv, struct worker *w,
		    const struct msg *m);
void		 report_batch(struct supervisor *sv, struct worker *w,
		    const struct msg *m);
void		 report_metrics(struct supervisor *sv, struct worker *w);
void		 report_worker_over(struct supervisor *sv, struct worker *w);
const char	*report_wstate(const struct worker *w);
unsigned	 report_tasks_running(struct supervisor *sv);
unsigned	 report_sessions(struct supervisor *sv);

/* ctlsock.c */
void		 ctlsock_open(struct supervisor *sv);
void		 ctlsock_start(struct supervisor *sv);
void		 ctlsock_close(struct supervisor *sv);
void		 ctlsock_accept(struct supervisor *sv);
void		 ctlsock_io(struct supervisor *sv, struct ctlclient *c,
		    uint32_t events);
void		 ctlsock_expired(struct supervisor *sv, int64_t now);
int64_t		 ctlsock_deadline(const struct supervisor *sv);

/* session.c */
void		 session_claim(struct supervisor *sv, struct worker *w,
		    const char *id);
void		 session_worker_over(struct supervisor *sv, struct worker *w);
void		 session_dump(struct supervisor *sv);
int		 session_kill(struct supervisor *sv, const char *key);

/* loop.c */
void		 loop_init(struct supervisor *sv);
void		 loop_add(struct supervisor *sv, int fd, void *tag);
void		 loop_del(struct supervisor *sv, int fd);
void		 loop_mod(struct supervisor *sv, int fd, void *tag,
		    uint32_t events);
void		 loop_reload(struct supervisor *sv);
void		 loop_drain(struct supervisor *sv, bool on);
int		 loop_run(struct supervisor *sv);

#endif
