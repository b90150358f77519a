/*
 * role.h - where the two process roles meet.
 *
 * The supervisor forks (no exec) and the child becomes a worker by calling
 * worker_main(); nothing else of worker/ is visible to supervisor/.
 */
#ifndef WSTASKD_ROLE_H
#define WSTASKD_ROLE_H

#include <stdnoreturn.h>

#include "config.h"

/* In the child right after fork; ctl is its end of the control socket. */
noreturn void	worker_main(const struct config *cfg, int ctl);

#endif
