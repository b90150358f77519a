/*
 * role.h - where the two process roles meet.
 *
 * The supervisor's fork server clones (no exec) a child of the supervisor,
 * or the supervisor forks one, and the child becomes a worker by calling
 * worker_main(); nothing else of worker/ is visible to supervisor/.
 */
#ifndef WSTASKD_ROLE_H
#define WSTASKD_ROLE_H

#include <stdnoreturn.h>

#include "config.h"

/* In the child right after the fork; ctl is its end of the control socket. */
noreturn void	worker_main(const struct config *cfg, int ctl);

#endif
