/*
 * role.h - where the two process roles meet.
 *
 * The supervisor's fork server clones (no exec) a child of the supervisor,
 * or the supervisor forks one, and the child becomes a worker by calling
 * worker_main(); nothing else of worker/ is visible to supervisor/.
 */
#ifndef WSTASKD_ROLE_H
#define WSTASKD_ROLE_H

#include <stdbool.h>
#include <stdnoreturn.h>

#include "config.h"

/*
 * What every worker needs before it starts, done once by a process that
 * creates many (the fork server): out of the terminal's session, every
 * signal's disposition the worker's.  false (logged) if it could not.
 */
bool		worker_prepare(void);

/*
 * In the child right after the fork; ctl is its end of the control socket.
 * `prepared': its creator ran worker_prepare() successfully.
 */
noreturn void	worker_main(const struct config *cfg, int ctl, bool prepared);

#endif
