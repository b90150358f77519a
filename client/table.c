/*
 * table.c - the live table on a terminal.
 *
 * A frame is a header, one row per task (state, time, progress, value)
 * and a summary line, built in one buffer and written with one write(2).
 * It is redrawn in place: the cursor goes back up over the last frame and
 * every line is rewritten and cleared to its end, never the whole screen,
 * so nothing flickers.  Lines are cut to the terminal's width (a wrapped
 * line would break the count of lines to go back up); when the rows do not
 * fit its height, the running and failed ones are shown first.  Log lines
 * (--log) are written over the old frame, which is then drawn below them.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "log.h"
#include "util.h"
#include "view.h"

#define BAR_WIDTH	12
#define PROGRESS_WIDTH	32
#define ID_WIDTH_MAX	12
#define NAME_WIDTH_MAX	20

struct sbuf {
	char	*s;
	size_t	 len, cap;
	bool	 oom;
};

struct cols {
	int	id, name, progress, value;
};

static const char *const state_name[] = {
	[TS_WAITING] = "waiting", [TS_RUNNING] = "running", [TS_OK] = "ok",
	[TS_FAILED] = "failed", [TS_CANCELLED] = "cancelled"
};
static const char *const state_color[] = {
	[TS_WAITING] = "\033[2m", [TS_RUNNING] = "\033[33m",
	[TS_OK] = "\033[32m", [TS_FAILED] = "\033[31m",
	[TS_CANCELLED] = "\033[35m"
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	size_t	 cap = b->cap ? b->cap : 4096;
	char	*ns;

	if (b->oom)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap != b->cap) {
		if ((ns = realloc(b->s, cap)) == NULL) {
			log_warn("realloc");
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char	tmp[256];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/*
 * s in exactly width columns: cut (the last column then shows the cut)
 * or padded.  Control characters and bytes that are not text in the
 * locale show as '?', so a value cannot move the cursor.
 */
static void
sb_cell(struct sbuf *b, const char *s, int width)
{
	mbstate_t	 st;
	const char	*p = s ? s : "";
	size_t		 left = strlen(p), n;
	int		 used = 0, w;
	wchar_t		 wc;
	bool		 bad;

	memset(&st, 0, sizeof(st));
	while (left) {
		n = mbrtowc(&wc, p, left, &st);
		if ((bad = n == (size_t)-1 || n == (size_t)-2 || n == 0)) {
			memset(&st, 0, sizeof(st));
			n = 1;
		}
		bad = bad || wc < 0x20 || wcwidth(wc) < 0;
		w = bad ? 1 : wcwidth(wc);
		/* it must leave room for the cut mark if more follows */
		if (used + w > width - (left > n ? 1 : 0))
			break;
		sb_add(b, bad ? "?" : p, bad ? 1 : n);
		used += w;
		p += n;
		left -= n;
	}
	if (left && used < width) {
		sb_add(b, MB_CUR_MAX > 1 ? "\xe2\x80\xa6" : ">",
		    MB_CUR_MAX > 1 ? 3 : 1);
		used++;
	}
	for (; used < width; used++)
		sb_add(b, " ", 1);
}

static void
table_write(struct view *v, const struct sbuf *b)
{
	size_t	 off = 0;
	ssize_t	 n;

	if (b->oom || v->v_broken)
		return;
	while (off < b->len) {
		n = write(STDOUT_FILENO, b->s + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			view_broken(v);
			return;
		}
		off += (size_t)n;
	}
}

void
table_cursor(bool show)
{
	const char	*s = show ? "\033[?25h" : "\033[?25l";

	if (write(STDOUT_FILENO, s, strlen(s)) < 0)
		log_warn("write to stdout");
}

void
table_size(struct view *v)
{
	struct winsize	ws;

	v->v_cols = 80;
	v->v_lines = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		v->v_cols = ws.ws_col;
		v->v_lines = ws.ws_row;
	}
}

static int
table_widest(const struct view *v, bool name, int min, int max)
{
	int	w = min, n;
	size_t	i;

	for (i = 0; i < v->v_n; i++) {
		n = (int)strlen(name ? v->v_rows[i].r_name : v->v_rows[i].r_id);
		if (n > w)
			w = n;
	}
	return w > max ? max : w;
}

/* The columns for this width: the value takes what is left. */
static struct cols
table_cols(const struct view *v)
{
	struct cols	c;
	bool		any = false;
	size_t		i;

	for (i = 0; i < v->v_n; i++)
		any = any || v->v_rows[i].r_text != NULL;
	c.id = table_widest(v, false, 2, ID_WIDTH_MAX);
	c.name = table_widest(v, true, 4, NAME_WIDTH_MAX);
	c.progress = any ? PROGRESS_WIDTH : 0;
	/* id task state(9) time(6), a space after each, and the last column
	 * left free: the cursor must not wrap */
	c.value = v->v_cols - 1 - (c.id + 1 + c.name + 1 + 10 + 7) -
	    (any ? c.progress + 1 : 0);
	if (c.value < 0)
		c.value = 0;
	return c;
}

static void
table_progress(struct sbuf *b, const struct view_row *r, int width)
{
	char	cell[PROGRESS_WIDTH * 4 + 64], bar[BAR_WIDTH + 1];
	double	f;
	int	i, fill;

	if (!r->r_bar) {
		sb_cell(b, r->r_text, width);
		return;
	}
	f = r->r_done / r->r_total;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	fill = (int)lround(f * BAR_WIDTH);
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	snprintf(cell, sizeof(cell), "[%s] %g/%g%s%s", bar, r->r_done,
	    r->r_total, r->r_text && *r->r_text ? " " : "",
	    r->r_text ? r->r_text : "");
	sb_cell(b, cell, width);
}

static void
table_row(struct sbuf *b, const struct view_row *r, const struct cols *c)
{
	char	t[32];
	double	ms = r->r_state == TS_RUNNING ?
	    (double)(now_usec() - r->r_start) / 1000 :
	    r->r_state == TS_OK || r->r_state == TS_FAILED ? (double)r->r_ms : NAN;

	view_duration(t, sizeof(t), ms);
	if (isnan(ms))
		t[0] = '\0';
	sb_cell(b, r->r_id, c->id);
	sb_add(b, " ", 1);
	sb_cell(b, r->r_name, c->name);
	sb_add(b, " ", 1);
	sb_add(b, state_color[r->r_state], strlen(state_color[r->r_state]));
	sb_cell(b, state_name[r->r_state], 9);
	sb_add(b, "\033[0m ", 5);
	sb_printf(b, "%6s ", t);
	if (c->progress) {
		table_progress(b, r, c->progress);
		sb_add(b, " ", 1);
	}
	sb_cell(b, r->r_value, c->value);
	sb_add(b, "\033[K\n", 4);
}

static void
table_summary(struct sbuf *b, const struct view *v)
{
	char	t[32], line[512];
	size_t	waiting = v->v_n - v->v_ok - v->v_failed - v->v_running -
	    v->v_cancelled;

	view_duration(t, sizeof(t), v->v_end ? (double)v->v_ms :
	    (double)(now_usec() - v->v_t0) / 1000);
	if (v->v_end)
		snprintf(line, sizeof(line), "batch %s %s: %zu ok, %zu failed, "
		    "%zu cancelled  %s", *v->v_batch ? v->v_batch : "-",
		    v->v_end, v->v_ok, v->v_failed, v->v_cancelled, t);
	else
		snprintf(line, sizeof(line), "batch %s: %zu ok, %zu failed, "
		    "%zu running, %zu waiting  %s", *v->v_batch ? v->v_batch :
		    "-", v->v_ok, v->v_failed, v->v_running, waiting, t);
	sb_add(b, "\033[1m", 4);
	sb_cell(b, line, v->v_cols - 1);
	sb_add(b, "\033[0m\033[K\n", 8);
}

/*
 * Which rows a live frame shows when they do not all fit: the running,
 * then the failed, then the waiting, then the rest, in batch order.
 */
static size_t
table_pick(const struct view *v, bool *show, size_t room)
{
	static const enum task_state order[] = { TS_RUNNING, TS_FAILED,
	    TS_WAITING, TS_OK, TS_CANCELLED };
	size_t	i, k, n = 0;

	if (v->v_n <= room) {
		for (i = 0; i < v->v_n; i++)
			show[i] = true;
		return v->v_n;
	}
	room--;			/* for the "more" line */
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (i = 0; i < v->v_n && n < room; i++)
			if (v->v_rows[i].r_state == order[k] && !show[i]) {
				show[i] = true;
				n++;
			}
	return n;
}

void
table_draw(struct view *v, bool final)
{
	struct sbuf	 b = { NULL, 0, 0, false };
	struct cols	 c = table_cols(v);
	size_t		 room, shown, i;
	bool		*show;
	int		 lines = 0;

	room = final || v->v_lines < 4 ? v->v_n : (size_t)v->v_lines - 3;
	if ((show = calloc(v->v_n + 1, sizeof(*show))) == NULL) {
		log_warn("calloc");
		return;
	}
	shown = table_pick(v, show, room ? room : 1);
	if (v->v_drawn)
		sb_printf(&b, "\r\033[%dA", v->v_drawn);
	sb_add(&b, "\033[1m", 4);
	sb_cell(&b, "ID", c.id);
	sb_add(&b, " ", 1);
	sb_cell(&b, "TASK", c.name);
	sb_printf(&b, " %-9s %6s ", "STATE", "TIME");
	if (c.progress)
		sb_printf(&b, "%-*s ", c.progress, "PROGRESS");
	sb_cell(&b, "VALUE", c.value);
	sb_add(&b, "\033[0m\033[K\n", 8);
	lines++;
	for (i = 0; i < v->v_n; i++)
		if (show[i]) {
			table_row(&b, &v->v_rows[i], &c);
			lines++;
		}
	if (shown < v->v_n) {
		sb_printf(&b, "(%zu more)\033[K\n", v->v_n - shown);
		lines++;
	}
	table_summary(&b, v);
	lines++;
	sb_add(&b, "\033[J", 3);
	table_write(v, &b);
	v->v_drawn = final ? 0 : lines;
	free(show);
	free(b.s);
}

/* A log line goes over the old frame; the frame follows below it. */
void
table_log(struct view *v, const struct view_row *r, const char *line)
{
	struct sbuf	b = { NULL, 0, 0, false };
	char		head[128];
	int		w;

	if (v->v_drawn)
		sb_printf(&b, "\r\033[%dA", v->v_drawn);
	snprintf(head, sizeof(head), "%s %s: ", r->r_id, r->r_name);
	w = v->v_cols - 1 - (int)strlen(head);
	sb_add(&b, "\033[2m", 4);
	sb_add(&b, head, strlen(head));
	sb_add(&b, "\033[0m", 4);
	sb_cell(&b, line, w > 0 ? w : 0);
	sb_add(&b, "\033[K\n", 4);
	table_write(v, &b);
	free(b.s);
	v->v_drawn = 0;
	v->v_dirty = true;
}
