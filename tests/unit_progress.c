/*
 * unit_progress.c - unit tests of the fd-3 and log line rules (SPEC 7.1,
 * 7.2) that a daemon test reaches only by luck of read sizes: lines fed a
 * byte at a time, the 4096-byte limit in both modes, the report rules,
 * and the UTF-8 boundary helpers.  Prints TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "worker.h"

#include "tap.h"

/* The report of one line, printed (NULL: none); the caller frees. */
static char *
report(const char *line, size_t len, bool cut)
{
	cJSON	*v;
	char	*s;
	bool	 empty;

	if ((v = progress_value(line, len, cut, &empty)) == NULL)
		return NULL;
	s = cJSON_PrintUnformatted(v);
	cJSON_Delete(v);
	return s;
}

static void
is_report(const char *line, size_t len, bool cut, const char *want,
    const char *desc)
{
	char	*got = report(line, len, cut);

	ok(want ? got && !strcmp(got, want) : got == NULL, desc);
	if (want && got && strcmp(got, want))
		printf("# got %.100s\n", got);
	free(got);
}

static void
test_feed(void)
{
	static struct lbuf	l;
	static char		big[LINE_CUT + 100];
	const char		*in = "ab\ncd";
	size_t			i, took, lines = 0;
	bool			eol;

	lbuf_reset(&l);
	for (i = 0; i < strlen(in); i++) {
		took = lbuf_feed(&l, in + i, 1, false, &eol);
		if (eol) {
			lines += l.l_len == 2 && !memcmp(l.l_buf, "ab", 2);
			lbuf_reset(&l);
		}
		if (took != 1)
			lines = 99;
	}
	ok(lines == 1 && l.l_len == 2 && !memcmp(l.l_buf, "cd", 2),
	    "fed a byte at a time: one line \"ab\", \"cd\" pending");

	memset(big, 'x', sizeof(big));
	lbuf_reset(&l);
	took = lbuf_feed(&l, big, sizeof(big), false, &eol);
	ok(took == sizeof(big) && !eol && l.l_len == LINE_CUT && l.l_cut,
	    "a report line over 4096 bytes: all taken, 4096 kept, cut");
	lbuf_reset(&l);
	took = lbuf_feed(&l, big, sizeof(big), true, &eol);
	ok(took == LINE_CUT && !eol && l.l_len == LINE_CUT && !l.l_cut,
	    "a log line over 4096 bytes: stops at 4096 for a piece");
	big[LINE_CUT] = '\n';
	lbuf_reset(&l);
	took = lbuf_feed(&l, big, sizeof(big), true, &eol);
	ok(took == LINE_CUT + 1 && eol && l.l_len == LINE_CUT,
	    "a log line of exactly 4096 bytes is one line, not a piece and an empty line");
	lbuf_reset(&l);
	lbuf_feed(&l, big, LINE_CUT, true, &eol);
	took = lbuf_feed(&l, big + LINE_CUT, 1, true, &eol);
	ok(took == 1 && eol, "... also when its newline comes in the next read");
}

static void
test_values(void)
{
	static char	line[LINE_CUT];
	char		want[LINE_CUT + 3];

	is_report(" {\"done\":1,\"total\":2} \t", 23, false,
	    "{\"done\":1,\"total\":2}", "JSON, white space trimmed");
	is_report("step two\r\n ", 11, false, "\"step two\"",
	    "text: a string, trimmed");
	is_report(" \t\r", 3, false, NULL, "blank: no report");
	is_report("", 0, false, NULL, "empty: no report");
	is_report("007", 3, false, "\"007\"", "\"007\" is a string");
	is_report("1e400", 5, false, "\"1e400\"", "a number beyond a double is a string");
	is_report("a\377b\0c", 5, false, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\"",
	    "invalid UTF-8 and NUL become U+FFFD");
	memset(line, '1', sizeof(line));
	memset(want, '1', sizeof(want));
	want[0] = want[LINE_CUT + 1] = '"';
	want[LINE_CUT + 2] = '\0';
	is_report(line, LINE_CUT, true, want,
	    "a cut line of digits (JSON were it whole) is a string");
	line[LINE_CUT - 1] = '\xc3';		/* half of an "é" */
	want[LINE_CUT] = '"';
	want[LINE_CUT + 1] = '\0';
	is_report(line, LINE_CUT, true, want,
	    "a cut line loses the half character at its end");
	memset(line, '\377', sizeof(line));
	{
		char	*got = report(line, LINE_CUT, true);

		ok(got && strlen(got) == 2 + 1365 * 3,
		    "a cut line of invalid bytes: at most 4096 bytes once repaired");
		free(got);
		got = report(line, 2000, false);
		ok(got && strlen(got) == 2 + 1365 * 3,
		    "a short line that repair makes longer than 4096 bytes is cut too");
		free(got);
	}
}

static void
test_utf8(void)
{
	ok(utf8_partial("a\xe2\x82", 3) == 2, "partial: 2 of a 3-byte character");
	ok(utf8_partial("a\xe2\x82\xac", 4) == 0, "partial: a whole character");
	ok(utf8_partial("\xf0\x9f\x98", 3) == 3, "partial: 3 of a 4-byte character");
	ok(utf8_partial("ab", 2) == 0, "partial: ASCII");
	ok(utf8_partial("\x80\x80\x80\x80", 4) == 0, "partial: stray continuation bytes");
	ok(utf8_cut("ab\xc3\xa9", 4, 3) == 2, "cut: before a character that does not fit");
	ok(utf8_cut("ab\xc3\xa9", 4, 4) == 4, "cut: all of it when it fits");
	ok(utf8_cut("abc", 3, 2) == 2, "cut: ASCII");
}

int
main(void)
{
	printf("1..24\n");
	test_feed();
	test_values();
	test_utf8();
	return n_failed ? 1 : 0;
}
