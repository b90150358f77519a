/*
 * client.h - wstask, the command-line client of wstaskd (SPEC 10).
 *
 * One process, one connection, one batch.  All of its state is the one
 * struct wstask that main() owns and passes down; the signal flags are the
 * only other mutable file-scope data.  Files: main.c options and exit
 * status, url.c the URL and credentials, batch.c the run message, conn.c
 * the libwebsockets connection, run.c what each event means for the run,
 * view.c and table.c what the user sees, http.c --list and --describe.
 */
#ifndef WSTASK_CLIENT_H
#define WSTASK_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>
#include <cJSON.h>

#include "url.h"
#include "view.h"

/* Exit statuses (SPEC 10, wstask(1)). */
enum {
	EXIT_ALL_OK	= 0,
	EXIT_TASK_FAILED = 1,
	EXIT_REFUSED	= 2,
	EXIT_PROTOCOL	= 3,
	EXIT_ENDED	= 4,	/* superseded (4001) or killed (4002) */
	EXIT_SHUTDOWN	= 5,	/* the server went away (1001) */
	EXIT_USAGE	= 64,
	EXIT_INTERRUPT	= 130
};

#define CLOSE_SUPERSEDED	4001
#define CLOSE_KILLED		4002
#define WS_SUBPROTOCOL		"wstask.v1"

enum run_phase {
	PH_CONNECTING,		/* no upgrade yet */
	PH_RUNNING,		/* the run is sent; waiting for done */
	PH_CANCELLING,		/* SIGINT: cancel sent, waiting for cancelled */
	PH_ENDING,		/* the server ended the batch; its close follows */
	PH_CLOSING,		/* our close is on its way */
	PH_FINISHED		/* the exit status is decided */
};

struct outmsg {
	struct outmsg	*o_next;
	size_t		 o_len;
	unsigned char	 o_buf[];	/* LWS_PRE, then the text */
};

struct wstask {
	/* what the command line asked for */
	struct url		 w_url;
	cJSON			*w_run;		/* the run message */
	const char		*w_list;	/* --list "", --describe NAME */
	bool			 w_json;	/* --json */
	bool			 w_quiet;	/* -q */
	char			*w_where;	/* the URL without a password */

	/* libwebsockets */
	struct lws_context	*w_ctx;
	struct lws_vhost	*w_vh;
	struct lws		*w_wsi;
	lws_retry_bo_t		 w_retry;
	lws_sorted_usec_list_t	 w_sul_deadline;
	lws_sorted_usec_list_t	 w_sul_tick;	/* the table's clock */
	char			 w_why[160];	/* why the connection failed */

	/* the connection */
	char			*w_rx;		/* a message being assembled */
	size_t			 w_rxlen, w_rxcap;
	struct outmsg		*w_qhead, **w_qtail;
	bool			 w_close_queued;
	int			 w_peer_close;	/* the server's close code */
	char			 w_peer_reason[124];
	int			 w_http_status;
	char			*w_body;	/* --list/--describe reply */
	size_t			 w_bodylen;

	/* the run */
	enum run_phase		 w_phase;
	bool			 w_got_ready;
	bool			 w_decided;	/* w_exit is final */
	int			 w_exit;
	int			 w_end_status;	/* when the server ends it */
	int			 w_signal;	/* the first SIGINT/SIGTERM */
	struct view		 w_view;
};

/* conn.c */
int	conn_init(struct wstask *w);
int	conn_open(struct wstask *w, const char *http_path);
int	conn_send(struct wstask *w, const cJSON *msg);
void	conn_close(struct wstask *w);
void	conn_deadline(struct wstask *w, int secs);
void	conn_done(struct wstask *w);

/* run.c */
void	run_open(struct wstask *w);
void	run_message(struct wstask *w, const char *text, size_t len);
void	run_closed(struct wstask *w);
void	run_conn_failed(struct wstask *w, const char *why);
void	run_deadline(struct wstask *w);
void	run_signal(struct wstask *w, int sig);
void	run_decide(struct wstask *w, int status, const char *how,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	run_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* http.c */
void	http_reply(struct wstask *w);
int	http_path(const struct wstask *w, char **path);

#endif
