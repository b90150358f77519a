/*
 * title.c - the process title that ps(1) shows, over libbsd's
 * setproctitle().
 *
 * setproctitle() writes the title over the old argv and environment and,
 * when the title is shorter than the old argv[0], puts a '.' where that
 * argv[0] ended.  Linux shows the title alone (up to its NUL) only when
 * the last byte of the old argv area is not a NUL; otherwise it shows the
 * whole area, NULs as spaces, and the dot with it ("wstaskd: supervisor
 * ."), as it does for any daemon started by a long path with arguments
 * (the init script's start-stop-daemon --startas /usr/sbin/wstaskd -D ...).
 * title_set() therefore makes that byte a non-NUL after every title.
 * title_init() runs once in main(), before anything reads argv; workers
 * inherit the state across fork.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "title.h"

static char	*title_base;	/* the old argv[0] */
static char	*title_last;	/* the last byte of the old argv area */

void
title_init(int argc, char **argv, char **envp)
{
	if (argc > 0) {
		title_base = argv[0];
		title_last = argv[argc - 1] + strlen(argv[argc - 1]);
	}
	setproctitle_init(argc, argv, envp);
}

void
title_set(const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	setproctitle("%s", buf);
	/* Not if the title was not written, or already covers the byte. */
	if (title_last && *title_last == '\0' && strstr(title_base, buf) &&
	    title_base + strlen(title_base) < title_last)
		*title_last = ' ';
}
