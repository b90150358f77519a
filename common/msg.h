/*
 * msg.h - the supervisor <-> worker control protocol.
 *
 * One SOCK_SEQPACKET socketpair per worker carries fixed-format records:
 * a 4-byte header (type, arg, payload length) and at most MSG_DATA_MAX
 * bytes of text payload (no NUL).  The connection's fd rides on MSG_FD as
 * SCM_RIGHTS.  Both roles track the worker's state with enum wstate, and
 * msg_allowed() is the single table saying which message may arrive in
 * which state: anything else is a protocol violation (the supervisor drops
 * the worker, a worker exits).
 *
 *   supervisor -> worker   MSG_FD     arg 1 for TLS, data = peer, + fd
 *                          MSG_GRANT  arg = 1 if an earlier holder was told to go
 *                          MSG_DENY   arg = enum msg_reason (shutdown)
 *                          MSG_GO     arg = enum msg_reason
 *                          MSG_QUERY  (answer with MSG_STATUS)
 *                          MSG_METRICS the /metrics page, + a memfd
 *                          MSG_DRAIN  arg 1: /healthz says draining, 0: not
 *   worker -> supervisor   MSG_CLAIM  data = session key (id or user/id)
 *                          MSG_STATUS data = "batch=... running=N ..."
 *                          MSG_SETUP  data = why it could not set up
 *                                     (then it exits 1; not for a client)
 *                          MSG_TASK   arg = enum msg_task, data = handler
 *                                     [usec | count] (see below)
 *                          MSG_BATCH_END  arg = enum metrics_batch (done,
 *                                     cancelled, rejected)
 *                          MSG_METRICS_ASK (answered with MSG_METRICS)
 *
 * MSG_TASK keeps the supervisor's count of a worker's running tasks exact:
 * "started NAME" for every task spawned, then exactly one of "ok NAME
 * USEC", "failed NAME USEC" or "cancelled NAME" for it; "unstarted NAME N"
 * counts N queued tasks of a cancelled batch that never started.
 */
#ifndef WSTASKD_MSG_H
#define WSTASKD_MSG_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_HDR_LEN	4
#define MSG_DATA_MAX	256
#define CTL_FD		3	/* a worker's control socket, fixed so the
				   rest of the inheritance can be closed */

enum msg_type {
	MSG_FD = 1,
	MSG_CLAIM,
	MSG_GRANT,
	MSG_DENY,
	MSG_GO,
	MSG_STATUS,
	MSG_QUERY,
	MSG_SETUP,
	MSG_TASK,
	MSG_BATCH_END,
	MSG_METRICS_ASK,
	MSG_METRICS,
	MSG_DRAIN,
	MSG_TYPE_MAX
};

enum msg_reason {
	REASON_NONE = 0,
	REASON_SUPERSEDED,
	REASON_SHUTDOWN,
	REASON_KILLED,		/* wstaskctl kill */
	REASON_MAX
};

/* MSG_TASK's arg. */
enum msg_task {
	MT_STARTED = 0, MT_OK, MT_FAILED, MT_CANCELLED, MT_UNSTARTED, MT_MAX
};

/* A worker's life, as both sides see it. */
enum wstate {
	WS_SPARE = 0,		/* forked, waiting for a connection */
	WS_CONNECTED,		/* has its connection, no claim yet */
	WS_CLAIMING,		/* claim sent, waiting for grant */
	WS_GRANTED,		/* holds its session */
	WS_GOING,		/* told to go (or denied) */
	WS_MAX
};

struct msg {
	uint8_t		 type;
	uint8_t		 arg;
	uint16_t	 len;
	char		 data[MSG_DATA_MAX + 1];	/* NUL-terminated copy */
};

void		 msg_header(uint8_t hdr[MSG_HDR_LEN], enum msg_type type,
		    uint8_t arg, size_t len);
int		 msg_send(int fd, enum msg_type type, uint8_t arg,
		    const char *data, size_t len, int passfd,
		    char *err, size_t errlen);
ssize_t		 msg_sendfd(int fd, struct iovec *iov, int iovcnt, int passfd);
ssize_t		 msg_recvfd(int fd, void *buf, size_t len, int flags,
		    int *passfd);
int		 msg_recv(int fd, struct msg *m, int *passfd,
		    char *err, size_t errlen);
int		 msg_decode(const uint8_t *buf, size_t len, struct msg *m,
		    char *err, size_t errlen);
bool		 msg_allowed(enum msg_type type, enum wstate state,
		    bool to_worker);
const char	*msg_type_name(int type);
const char	*msg_reason_name(int reason);
const char	*wstate_name(int state);

#endif
