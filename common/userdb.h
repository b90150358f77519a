/*
 * userdb.h - the users allowed in with HTTP basic auth (SPEC 8.5).
 *
 * Users come from --credentials FILE (USER:HASH lines, HASH a crypt(3)
 * string that this host's libcrypt can check) and from --credential
 * USER:PASS (a plain password, for tests and quick trials).  A password
 * is checked with crypt_r: hashing is never written here.
 */
#ifndef WSTASKD_USERDB_H
#define WSTASKD_USERDB_H

#include <stdbool.h>
#include <stddef.h>

#define USERDB_NAME_MAX		64
#define USERDB_PASS_MAX		256

struct userdb_entry {
	char		*u_name;
	char		*u_secret;	/* crypt string, or the plain password */
	bool		 u_hashed;
};

struct userdb {
	struct userdb_entry *db_users;
	size_t		 db_n;
	bool		 db_loose;	/* the file is readable by others */
};

int		 userdb_load(struct userdb *db, const char *path, char *why,
		    size_t whylen);
int		 userdb_reload(struct userdb *db, const char *path, char *why,
		    size_t whylen);
int		 userdb_add_plain(struct userdb *db, const char *user_pass,
		    char *why, size_t whylen);
bool		 userdb_check(const struct userdb *db, const char *user_pass,
		    size_t len, char *user, size_t userlen);
bool		 userdb_name_ok(const char *name, size_t len);
void		 userdb_free(struct userdb *db);

#endif
