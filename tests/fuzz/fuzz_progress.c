/*
 * fuzz_progress.c - libFuzzer target: bytes from a handler's fd 3 and
 * stderr through the worker's line cutting (lbuf_feed), the report rules
 * (progress_value) and the log line pieces (tasklog_feed), read in chunks
 * whose sizes the input chooses.
 *
 * Checked besides what the sanitizers see: every report is a value that
 * cJSON prints, and a string report or log piece is valid UTF-8 without
 * NUL of at most LINE_CUT bytes.  The log events are built by the real
 * code for a worker without a connection, so they are dropped after
 * being built; the pieces are checked by a copy of the same cut.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "worker.h"

static struct wk	fz_wk;
static struct config	fz_cfg;
static struct batch	fz_batch;
static struct task	fz_task;

static void
fuzz_init(void)
{
	fz_wk.k_cfg = &fz_cfg;
	fz_wk.k_qtail = &fz_wk.k_qhead;
	fz_batch.b_wk = &fz_wk;
	fz_batch.b_name = "fuzz";
	fz_batch.b_log = true;
	fz_task.t_batch = &fz_batch;
	fz_task.t_id = "0";
}

/* Valid UTF-8 without NUL: what utf8_repair() promises. */
static void
fuzz_check_utf8(const char *s, size_t len)
{
	size_t	out;
	char	*again = utf8_repair(s, len, &out);

	if (again == NULL)
		return;
	if (out != len || memcmp(again, s, len) != 0 || memchr(s, '\0', len))
		abort();
	free(again);
}

static void
fuzz_report(const struct lbuf *l)
{
	cJSON	*v;
	char	*printed;
	bool	 empty;

	v = progress_value(l->l_buf, l->l_len, l->l_cut, &empty);
	if (v == NULL)
		return;
	if (cJSON_IsString(v)) {
		if (strlen(v->valuestring) > LINE_CUT)
			abort();
		fuzz_check_utf8(v->valuestring, strlen(v->valuestring));
	} else if (l->l_cut)
		abort();	/* a cut line is never parsed */
	if ((printed = cJSON_PrintUnformatted(v)) == NULL)
		abort();
	free(printed);
	cJSON_Delete(v);
}

/* The data as fd 3: cut into lines, each a report. */
static void
fuzz_fd3(const uint8_t *data, size_t size, size_t chunk)
{
	static struct lbuf	l;
	size_t			off = 0, n, took;
	bool			eol;

	lbuf_reset(&l);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		while (n > 0) {
			took = lbuf_feed(&l, (const char *)data + off, n, false,
			    &eol);
			if (took == 0 && !eol)
				abort();	/* no progress: a loop */
			if (eol) {
				fuzz_report(&l);
				lbuf_reset(&l);
			}
			off += took;
			n -= took;
		}
	}
	if (l.l_len > 0 || l.l_cut)
		fuzz_report(&l);
}

/* The data as stderr with "log": the real feed, then its last line. */
static void
fuzz_stderr(const uint8_t *data, size_t size, size_t chunk)
{
	size_t	off = 0, n;

	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		tasklog_feed(&fz_wk, &fz_task, (const char *)data + off, n);
		off += n;
	}
	tasklog_final(&fz_wk, &fz_task);
}

/* utf8_cut() on repaired text: a prefix within max, at a boundary. */
static void
fuzz_cut(const uint8_t *data, size_t size)
{
	char	*s;
	size_t	 len, n, max = size % 64;

	if ((s = utf8_repair((const char *)data, size, &len)) == NULL)
		return;
	n = utf8_cut(s, len, max + 4);
	if (n > len || (len > max + 4 && n > max + 4) || n + 3 < (len < max + 4 ?
	    len : max + 4))
		abort();
	fuzz_check_utf8(s, n);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	chunk;

	if (fz_wk.k_cfg == NULL)
		fuzz_init();
	if (size == 0)
		return 0;
	/* The first byte picks the read size: 1 to 256, or 4096. */
	chunk = data[0] == 0 ? 4096 : data[0];
	fuzz_fd3(data + 1, size - 1, chunk);
	fuzz_stderr(data + 1, size - 1, chunk);
	fuzz_cut(data + 1, size - 1);
	return 0;
}
