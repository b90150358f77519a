/*
 * msg.c - encode, decode and police supervisor <-> worker records.
 *
 * The helpers do not log: like redis' anet.c they fill the caller's error
 * buffer naming the failed call, and the caller decides how loud to be.
 * msg_decode() is separate from msg_recv() so the fuzzer can reach it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "msg.h"
#include "session_id.h"

#define BIT(s)	(1u << (s))

/*
 * Who may send what, when.  Indexed by message type: the states of the
 * worker in which its receiver accepts it, and the direction.
 */
static const struct {
	const char	*name;
	bool		 to_worker;
	unsigned	 states;
	size_t		 min_len, max_len;
} msg_table[MSG_TYPE_MAX] = {
	[MSG_FD]     = { "fd",     true,  BIT(WS_SPARE), 0, 64 },
	/* A claim may cross the go that the supervisor just sent. */
	[MSG_CLAIM]  = { "claim",  false, BIT(WS_CONNECTED) | BIT(WS_GOING), 1,
			    SESSION_KEY_MAX },
	[MSG_GRANT]  = { "grant",  true,  BIT(WS_CLAIMING), 0, 0 },
	[MSG_DENY]   = { "deny",   true,  BIT(WS_CLAIMING), 0, 0 },
	[MSG_GO]     = { "go",     true,  BIT(WS_SPARE) | BIT(WS_CONNECTED) |
			    BIT(WS_CLAIMING) | BIT(WS_GRANTED) | BIT(WS_GOING),
			    0, 0 },
	[MSG_STATUS] = { "status", false, BIT(WS_SPARE) | BIT(WS_CONNECTED) |
			    BIT(WS_CLAIMING) | BIT(WS_GRANTED) | BIT(WS_GOING),
			    0, MSG_DATA_MAX },
	[MSG_QUERY]  = { "query",  true,  BIT(WS_SPARE) | BIT(WS_CONNECTED) |
			    BIT(WS_CLAIMING) | BIT(WS_GRANTED) | BIT(WS_GOING),
			    0, 0 },
	/* Set-up comes before any connection, which may cross it. */
	[MSG_SETUP]  = { "setup-failed", false, BIT(WS_SPARE) |
			    BIT(WS_CONNECTED) | BIT(WS_GOING), 1, MSG_DATA_MAX },
	/* Reports come while granted, and while going (the cancel's). */
	[MSG_TASK]   = { "task",   false, BIT(WS_GRANTED) | BIT(WS_GOING), 1,
			    96 },
	[MSG_BATCH_END]  = { "batch",  false, BIT(WS_GRANTED) | BIT(WS_GOING), 0,
			    0 },
	/* Asked on a plain HTTP connection; may cross a go. */
	[MSG_METRICS_ASK] = { "metrics-ask", false, BIT(WS_CONNECTED) |
			    BIT(WS_GOING), 0, 0 },
	[MSG_METRICS] = { "metrics", true, BIT(WS_CONNECTED) | BIT(WS_GOING),
			    0, 0 },
	[MSG_DRAIN]  = { "drain",  true,  BIT(WS_SPARE) | BIT(WS_CONNECTED) |
			    BIT(WS_CLAIMING) | BIT(WS_GRANTED) | BIT(WS_GOING),
			    0, 0 },
};

const char *
msg_type_name(int type)
{
	if (type <= 0 || type >= MSG_TYPE_MAX)
		return "unknown";
	return msg_table[type].name;
}

const char *
msg_reason_name(int reason)
{
	switch (reason) {
	case REASON_SUPERSEDED:
		return "superseded";
	case REASON_SHUTDOWN:
		return "shutdown";
	case REASON_KILLED:
		return "killed";
	default:
		return "none";
	}
}

const char *
wstate_name(int state)
{
	static const char *const names[WS_MAX] = {
		"spare", "connected", "claiming", "granted", "going"
	};

	if (state < 0 || state >= WS_MAX)
		return "unknown";
	return names[state];
}

bool
msg_allowed(enum msg_type type, enum wstate state, bool to_worker)
{
	if (type <= 0 || type >= MSG_TYPE_MAX || state >= WS_MAX)
		return false;
	return msg_table[type].to_worker == to_worker &&
	    (msg_table[type].states & BIT(state)) != 0;
}

int
msg_decode(const uint8_t *buf, size_t len, struct msg *m, char *err,
    size_t errlen)
{
	if (len < MSG_HDR_LEN) {
		snprintf(err, errlen, "short record (%zu bytes)", len);
		return -1;
	}
	m->type = buf[0];
	m->arg = buf[1];
	m->len = (uint16_t)(buf[2] | buf[3] << 8);
	if (m->type == 0 || m->type >= MSG_TYPE_MAX) {
		snprintf(err, errlen, "unknown record type %u", m->type);
		return -1;
	}
	if (m->len != len - MSG_HDR_LEN || m->len < msg_table[m->type].min_len ||
	    m->len > msg_table[m->type].max_len) {
		snprintf(err, errlen, "%s: bad length %u", msg_type_name(m->type),
		    m->len);
		return -1;
	}
	if ((m->type == MSG_GO || m->type == MSG_DENY) &&
	    (m->arg == REASON_NONE || m->arg >= REASON_MAX)) {
		snprintf(err, errlen, "%s: bad reason %u", msg_type_name(m->type),
		    m->arg);
		return -1;
	}
	if ((m->type == MSG_TASK && m->arg >= MT_MAX) ||
	    (m->type == MSG_BATCH_END && m->arg > 2) ||
	    (m->type == MSG_DRAIN && m->arg > 1)) {
		snprintf(err, errlen, "%s: bad arg %u", msg_type_name(m->type),
		    m->arg);
		return -1;
	}
	memcpy(m->data, buf + MSG_HDR_LEN, m->len);
	m->data[m->len] = '\0';
	if (memchr(m->data, '\0', m->len) != NULL) {
		snprintf(err, errlen, "%s: NUL in payload", msg_type_name(m->type));
		return -1;
	}
	return 0;
}

/* A record's header; len is at most MSG_DATA_MAX. */
void
msg_header(uint8_t hdr[MSG_HDR_LEN], enum msg_type type, uint8_t arg,
    size_t len)
{
	hdr[0] = (uint8_t)type;
	hdr[1] = arg;
	hdr[2] = (uint8_t)(len & 0xff);
	hdr[3] = (uint8_t)(len >> 8);
}

/* sendmsg() of iov, with passfd (unless -1) riding on it as SCM_RIGHTS. */
ssize_t
msg_sendfd(int fd, struct iovec *iov, int iovcnt, int passfd)
{
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (passfd >= 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = sizeof(cmsg.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

int
msg_send(int fd, enum msg_type type, uint8_t arg, const char *data,
    size_t len, int passfd, char *err, size_t errlen)
{
	uint8_t		 hdr[MSG_HDR_LEN];
	struct iovec	 iov[2];

	if (len > MSG_DATA_MAX) {
		snprintf(err, errlen, "%s: payload too long", msg_type_name(type));
		errno = EMSGSIZE;
		return -1;
	}
	msg_header(hdr, type, arg, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = len;
	if (msg_sendfd(fd, iov, len ? 2 : 1, passfd) < 0) {
		snprintf(err, errlen, "sendmsg(%s): %s", msg_type_name(type),
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * recvmsg() into buf (descriptors close-on-exec): the bytes read, 0 at
 * EOF, and in *passfd the descriptor that came with them (-1: none); or
 * -1 with errno.  A record that carried more than one descriptor
 * (EPROTO) or did not fit (EMSGSIZE) is an error too, and every
 * descriptor it carried is closed: a malformed record must not leak them.
 */
ssize_t
msg_recvfd(int fd, void *buf, size_t len, int flags, int *passfd)
{
	struct iovec	 iov = { buf, len };
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct cmsghdr	*cm;
	ssize_t		 n;
	size_t		 i;
	int		 got = -1, one;
	bool		 extra = false;

	*passfd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	if ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | flags)) <= 0)
		return n;
	/* Every descriptor that came is ours to close, however many. */
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		    i++) {
			memcpy(&one, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (got < 0)
				got = one;
			else {
				close(one);
				extra = true;
			}
		}
	}
	if (!extra && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		*passfd = got;
		return n;
	}
	if (got >= 0)
		close(got);
	errno = extra ? EPROTO : EMSGSIZE;
	return -1;
}

/* Returns 1 for a record, 0 at EOF, -1 on error (errno EAGAIN: none yet). */
int
msg_recv(int fd, struct msg *m, int *passfd, char *err, size_t errlen)
{
	uint8_t		 buf[MSG_HDR_LEN + MSG_DATA_MAX + 1];
	ssize_t		 n;
	int		 got;

	if ((n = msg_recvfd(fd, buf, sizeof(buf), MSG_DONTWAIT, &got)) < 0) {
		if (errno == EPROTO)
			snprintf(err, errlen, "more than one descriptor");
		else if (errno == EMSGSIZE)
			snprintf(err, errlen, "record truncated");
		else
			snprintf(err, errlen, "recvmsg: %s", strerror(errno));
		return -1;
	}
	if (n == 0)
		return 0;
	if (msg_decode(buf, (size_t)n, m, err, errlen) < 0) {
		if (got >= 0)
			close(got);
		errno = EPROTO;
		return -1;
	}
	if (passfd)
		*passfd = got;
	else if (got >= 0)
		close(got);
	return 1;
}
