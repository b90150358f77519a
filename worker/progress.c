/*
 * progress.c - a task's progress reports on fd 3 (SPEC 7.1), and the line
 * cutting that they share with live log lines (tasklog.c).
 *
 * Progress is a state, not a log: the pipe is read whenever it is
 * readable, even while the client is choked, so a handler never blocks on
 * it, and only the newest complete line is kept unsent (struct progress
 * holds the line being read and that one: its memory is bounded by two
 * lines of LINE_CUT bytes, whatever the handler writes).  A line is turned
 * into a value only when it is sent, so the lines that a newer one
 * replaces cost a memchr and a copy.  A task sends its first report at
 * once and then at most one per PROGRESS_GAP_USEC (a timer sends the one
 * held back), none while the connection is choked (batch_resume() sends
 * it), and the last one before its result; none once its batch is being
 * cancelled.
 *
 * The pure part, lbuf_feed() and progress_value(), knows nothing of the
 * loop: the fuzz target (tests/fuzz/fuzz_progress.c) and the unit tests
 * call it with arbitrary bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define PROGRESS_GAP_USEC	50000	/* at most one report per task per */
#define PROGRESS_DRAIN_MAX	(1024 * 1024)	/* read after exit, at most */

struct progress {
	struct lbuf		 p_line[2];	/* being read, and unsent */
	unsigned		 p_cur;		/* index of the one being read */
	bool			 p_unsent;	/* p_line[!p_cur] is a report */
	bool			 p_sent;	/* one has gone out: the gap holds */
	int64_t			 p_last;	/* when it went, usec */
	struct task		*p_task;
	lws_sorted_usec_list_t	 p_sul;		/* the end of the gap */
};

/*
 * Takes the bytes of p up to the first '\n' (taken, not stored) into l,
 * and returns how many it took; *eol says whether a line ended.  When l
 * is full: with keep_full false the rest of the line is dropped (l_cut);
 * with keep_full true it stops before a byte that does not end the line,
 * and the caller must empty l (a log line's piece) before feeding more.
 */
size_t
lbuf_feed(struct lbuf *l, const char *p, size_t n, bool keep_full, bool *eol)
{
	const char	*nl = memchr(p, '\n', n);
	size_t		 want = nl ? (size_t)(nl - p) : n, room, take;

	room = LINE_CUT - l->l_len;
	take = want < room ? want : room;
	memcpy(l->l_buf + l->l_len, p, take);
	l->l_len += take;
	*eol = false;
	if (take < want) {
		if (keep_full)
			return take;
		l->l_cut = true;
	}
	if (nl == NULL)
		return n;
	*eol = true;
	return want + 1;
}

void
lbuf_reset(struct lbuf *l)
{
	l->l_len = 0;
	l->l_cut = false;
}

/* Bytes at the end of s that begin a character without ending it. */
size_t
utf8_partial(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 back, need;

	for (back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = u[len - back];

		if (c >= 0x80 && c <= 0xBF)
			continue;	/* a continuation byte: look further */
		if (c >= 0xC2 && c <= 0xDF)
			need = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 4;
		else
			return 0;
		return need > back ? back : 0;
	}
	return 0;
}

/* The longest prefix of valid UTF-8 s, at most max bytes, that ends a character. */
size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static size_t
line_trim(const char *s, size_t len)
{
	while (len && strchr(" \t\n\r\f\v", s[len - 1]) && s[len - 1])
		len--;
	return len;
}

/*
 * A line (its bytes without the '\n', cut when more were written than
 * line holds) as SPEC 7.1 makes it a report: white space trimmed, valid
 * UTF-8, a JSON value if the whole uncut line is one, else a string.
 * What is over LINE_CUT bytes, before or after the repair, is cut to a
 * string of at most LINE_CUT.  NULL: the line is empty (*empty) or memory
 * ran out.
 */
cJSON *
progress_value(const char *line, size_t len, bool cut, bool *empty)
{
	char	*s;
	size_t	 slen;
	cJSON	*v = NULL;

	if (cut)
		len -= utf8_partial(line, len);
	len = line_trim(line, len);
	if ((*empty = len == 0))
		return NULL;
	if ((s = utf8_repair(line, len, &slen)) == NULL)
		return NULL;
	/* Repair makes a bad byte three: the limit holds for what is sent. */
	if (cut || slen > LINE_CUT) {
		slen = utf8_cut(s, slen, LINE_CUT);
		s[slen] = '\0';
	} else
		v = json_parse(s, slen, NULL);
	if (v == NULL)
		v = cJSON_CreateString(s);
	free(s);
	return v;
}

static void	progress_gap_over(lws_sorted_usec_list_t *sul);

static struct progress *
progress_get(struct task *t)
{
	if (t->t_progress == NULL) {
		if ((t->t_progress = calloc(1, sizeof(*t->t_progress))) == NULL) {
			log_warn("calloc");
			return NULL;
		}
		t->t_progress->p_task = t;
	}
	return t->t_progress;
}

/* The line being read has ended: it is the report to send, unless empty. */
static void
progress_line_end(struct progress *p)
{
	struct lbuf	*l = &p->p_line[p->p_cur];

	if (line_trim(l->l_buf, l->l_len) == 0) {
		lbuf_reset(l);
		return;
	}
	p->p_cur ^= 1;
	p->p_unsent = true;
	lbuf_reset(&p->p_line[p->p_cur]);
}

static void
progress_feed(struct progress *p, const char *buf, size_t n)
{
	size_t	took;
	bool	eol;

	while (n > 0) {
		took = lbuf_feed(&p->p_line[p->p_cur], buf, n, false, &eol);
		if (eol)
			progress_line_end(p);
		buf += took;
		n -= took;
	}
}

static void
progress_send(struct wk *k, struct task *t)
{
	struct progress	*p = t->t_progress;
	struct lbuf	*l = &p->p_line[p->p_cur ^ 1];
	cJSON		*v;
	bool		 empty;

	p->p_unsent = false;
	p->p_sent = true;
	p->p_last = now_usec();
	v = progress_value(l->l_buf, l->l_len, l->l_cut, &empty);
	if (v == NULL && empty)
		return;		/* (an empty line never becomes unsent) */
	event_progress(k, t->t_batch, t, v);
}

/* Sends the unsent report if the gap is over, or sets the timer for it. */
void
progress_due(struct wk *k, struct task *t)
{
	struct progress	*p = t->t_progress;
	int64_t		 wait;

	if (p == NULL || !p->p_unsent || t->t_batch->b_cancelling ||
	    k->k_choked || lws_dll2_is_detached(&p->p_sul.list) == 0)
		return;
	wait = p->p_sent ? p->p_last + PROGRESS_GAP_USEC - now_usec() : 0;
	if (wait <= 0)
		progress_send(k, t);
	else
		lws_sul_schedule(k->k_ctx, 0, &p->p_sul, progress_gap_over,
		    wait);
}

static void
progress_gap_over(lws_sorted_usec_list_t *sul)
{
	struct progress	*p = lws_container_of(sul, struct progress, p_sul);
	struct task	*t = p->p_task;

	progress_due(t->t_batch->b_wk, t);
}

/* Reads fd 3 until EAGAIN, EOF or budget bytes; an RD_ code. */
int
progress_read(struct wk *k, struct task *t, int fd, size_t budget)
{
	struct progress	*p;
	char		 buf[16384];
	size_t		 got = 0;
	ssize_t		 n;
	int		 rc = RD_MORE;

	/* Without memory for it the pipe is still read: the handler goes on. */
	p = progress_get(t);
	while (got < budget) {
		if ((n = task_read_fd(t, fd, buf, sizeof(buf), "fd 3")) <= 0) {
			rc = (int)-n;
			break;
		}
		if (p)
			progress_feed(p, buf, (size_t)n);
		got += (size_t)n;
	}
	progress_due(k, t);
	return rc;
}

/* What is left in fd 3 once the leader has exited. */
void
progress_drain(struct wk *k, struct task *t, int fd)
{
	progress_read(k, t, fd, PROGRESS_DRAIN_MAX);
}

/*
 * The leader has exited: a last line without '\n' counts, and the report
 * not sent yet goes now, gap or not, before the result.
 */
void
progress_final(struct wk *k, struct task *t)
{
	struct progress	*p = t->t_progress;
	struct lbuf	*l;

	if (p == NULL)
		return;
	lws_sul_cancel(&p->p_sul);
	l = &p->p_line[p->p_cur];
	if (l->l_len > 0 || l->l_cut)
		progress_line_end(p);
	if (p->p_unsent && !t->t_batch->b_cancelling)
		progress_send(k, t);
	p->p_unsent = false;
}

/* A cancel drops the unsent report; the task's later lines are read, never sent. */
void
progress_drop(struct task *t)
{
	if (t->t_progress == NULL)
		return;
	lws_sul_cancel(&t->t_progress->p_sul);
	t->t_progress->p_unsent = false;
}

void
progress_free(struct task *t)
{
	if (t->t_progress == NULL)
		return;
	lws_sul_cancel(&t->t_progress->p_sul);
	free(t->t_progress);
	t->t_progress = NULL;
}
