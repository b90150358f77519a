/*
 * tasklog.c - live log lines (SPEC 7.2): with "log":true, every line a
 * task writes to stderr is also a `log` event.
 *
 * Nothing is dropped, so nothing here bounds the queue: the bound is
 * backpressure.  While the connection is choked the worker stops reading
 * stderr (task.c stops its read loop at once, and batch_choke() pauses
 * the pipe), and the handler blocks on write as it does on stdout.  A line
 * is held until its '\n' in one struct lbuf; one that fills it goes out in
 * pieces of at most LINE_CUT bytes, cut before a character that is not
 * complete yet.  The stderr tail kept for a failed result is not changed
 * by any of this (task.c keeps it as before).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

/* One line, or one piece of a long one, as events of at most LINE_CUT bytes. */
static void
tasklog_emit(struct wk *k, struct task *t, const char *raw, size_t len)
{
	char	*s, saved;
	size_t	 slen, off = 0, n;

	if ((s = utf8_repair(raw, len, &slen)) == NULL) {
		event_log(k, t->t_batch, t, NULL);
		return;
	}
	do {
		n = utf8_cut(s + off, slen - off, LINE_CUT);
		saved = s[off + n];
		s[off + n] = '\0';
		event_log(k, t->t_batch, t, s + off);
		s[off + n] = saved;
		off += n;
	} while (off < slen);
	free(s);
}

static void
tasklog_piece(struct wk *k, struct task *t, struct lbuf *l)
{
	size_t	keep = utf8_partial(l->l_buf, l->l_len);

	tasklog_emit(k, t, l->l_buf, l->l_len - keep);
	memmove(l->l_buf, l->l_buf + l->l_len - keep, keep);
	l->l_len = keep;
}

/* Bytes just read from t's stderr. */
void
tasklog_feed(struct wk *k, struct task *t, const char *buf, size_t n)
{
	struct lbuf	*l;
	size_t		 took;
	bool		 eol;

	if (!t->t_batch->b_log || t->t_batch->b_cancelling)
		return;
	if ((l = t->t_log) == NULL &&
	    (l = t->t_log = calloc(1, sizeof(*t->t_log))) == NULL) {
		log_warn("calloc");
		event_log(k, t->t_batch, t, NULL);	/* a line would be lost */
		return;
	}
	while (n > 0) {
		took = lbuf_feed(l, buf, n, true, &eol);
		if (eol) {
			tasklog_emit(k, t, l->l_buf, l->l_len);
			lbuf_reset(l);
		} else if (took < n)
			tasklog_piece(k, t, l);
		buf += took;
		n -= took;
	}
}

/* The leader has exited: a last line without '\n' goes now, before the result. */
void
tasklog_final(struct wk *k, struct task *t)
{
	if (t->t_log && t->t_log->l_len > 0 && !t->t_batch->b_cancelling)
		tasklog_emit(k, t, t->t_log->l_buf, t->t_log->l_len);
	tasklog_free(t);
}

void
tasklog_free(struct task *t)
{
	free(t->t_log);
	t->t_log = NULL;
}
