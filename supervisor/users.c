/*
 * users.c - the users of --credentials, read after the privilege drop and
 * again on SIGHUP (SPEC 8.5).
 *
 * The file is read as the user the daemon runs as, at start as on every
 * reload, so a file that only root could read fails at once instead of
 * at the first SIGHUP.  A bad file refuses the start; at a reload it is
 * logged and the users in force stay.  Workers are forked with the table
 * of their moment, so after a reload the idle spares are replaced and
 * only connections already being served keep the old users.
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "supervisor.h"

static void
users_warn_loose(const struct config *cfg)
{
	if (cfg->users.db_loose)
		log_warnx("event=credentials-readable file=%s: other users can "
		    "read the password hashes; chmod o-r it", cfg->credentials_file);
}

/* Start (and -n): a bad file ends the process, naming the file and line. */
void
users_load(struct config *cfg)
{
	char	why[512];

	if (cfg->credentials_file == NULL)
		return;
	if (userdb_load(&cfg->users, cfg->credentials_file, why,
	    sizeof(why)) < 0) {
		fprintf(stderr, "wstaskd: --credentials: %s\n", why);
		log_warnx("event=bad-credentials: %s", why);
		exit(1);
	}
	users_warn_loose(cfg);
	log_info("event=credentials file=%s users=%zu", cfg->credentials_file,
	    cfg->users.db_n);
}

/* SIGHUP.  Returns whether the users changed (spares must be replaced). */
bool
users_reload(struct config *cfg)
{
	char	why[512];

	if (cfg->credentials_file == NULL)
		return false;
	if (userdb_reload(&cfg->users, cfg->credentials_file, why,
	    sizeof(why)) < 0) {
		log_warnx("event=bad-credentials: %s; keeping the %zu users in "
		    "force", why, cfg->users.db_n);
		return false;
	}
	users_warn_loose(cfg);
	log_info("event=credentials-reloaded file=%s users=%zu",
	    cfg->credentials_file, cfg->users.db_n);
	return true;
}
