/*
 * view.h - what wstask shows while a batch runs.
 */
#ifndef WSTASK_VIEW_H
#define WSTASK_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "batch.h"

enum view_mode {
	VIEW_JSON,	/* every event, one JSON object a line */
	VIEW_TABLE,	/* the live table on a terminal */
	VIEW_PLAIN,	/* a line per happening, no escapes */
	VIEW_QUIET	/* nothing on stdout; failures on stderr */
};

enum task_state { TS_WAITING, TS_RUNNING, TS_OK, TS_FAILED, TS_CANCELLED };

struct view_row {
	char		*r_id;
	char		*r_name;
	enum task_state	 r_state;
	bool		 r_bar;		/* progress has done and total */
	double		 r_done, r_total;
	char		*r_text;	/* progress text or message */
	char		*r_value;	/* value, or the error of a failure */
	int64_t		 r_start;	/* usec, when started came */
	long		 r_ms;		/* the server's time, once finished */
};

struct view {
	enum view_mode	 v_mode;
	struct view_row	*v_rows;
	size_t		 v_n;
	size_t		 v_hint;	/* where the last lookup found its row */
	char		 v_batch[BATCH_NAME_MAX];
	char		 v_session[130];
	size_t		 v_ok, v_failed, v_running, v_cancelled;
	long		 v_ms;		/* the batch's time, from done */
	const char	*v_end;		/* "done", "cancelled", ... */
	int64_t		 v_t0;
	int		 v_drawn;	/* lines of the last frame */
	int64_t		 v_drawn_at;
	bool		 v_dirty, v_closed;
	bool		 v_broken;	/* stdout failed: write no more */
	bool		 v_gone;	/* ... because its reader went away */
	int		 v_cols, v_lines;
};

int	view_init(struct view *v, enum view_mode mode, const cJSON *run);
void	view_event(struct view *v, const char *raw, const cJSON *ev);
void	view_tick(struct view *v);
void	view_resize(struct view *v);
void	view_end(struct view *v, const char *how);
void	view_free(struct view *v);
void	view_broken(struct view *v);
bool	view_live(const struct view *v);

/* table.c */
void	table_draw(struct view *v, bool final);
void	table_log(struct view *v, const struct view_row *r, const char *line);
void	table_cursor(bool show);
void	table_size(struct view *v);
void	view_duration(char *buf, size_t len, double ms);

#endif
