/*
 * handler.c - what makes a name in --tasks a handler (SPEC 3).
 *
 * A handler NAME is 1 to 64 characters of [A-Za-z0-9._-] not starting
 * with a dot, and the file DIR/NAME is a regular file (a symlink the
 * administrator placed is followed) that we may execute.  The batch
 * validation and the /handlers listing ask the same question here, so a
 * name listed as usable is never refused by a run, and the other way round.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "worker.h"

bool
handler_name_ok(const char *name, size_t len)
{
	size_t	i;

	if (len < 1 || len > TASK_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Whether DIR/NAME can run.  A file that exists but cannot run is told
 * apart from a missing one: "unknown" would send its author looking for a
 * typo when the fix is chmod.
 */
enum handler_state
handler_check(int dirfd, const char *name)
{
	struct stat	st;

	if (!handler_name_ok(name, strlen(name)) ||
	    fstatat(dirfd, name, &st, 0) < 0)
		return HANDLER_UNKNOWN;
	if (!S_ISREG(st.st_mode))
		return HANDLER_NOT_FILE;
	if (faccessat(dirfd, name, X_OK, AT_EACCESS) < 0)
		return errno == EACCES ? HANDLER_NOT_EXEC : HANDLER_UNKNOWN;
	return HANDLER_OK;
}
