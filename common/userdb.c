/*
 * userdb.c - reading --credentials and checking a basic-auth password.
 *
 * The file is all or nothing: a line that is not USER:HASH, a user named
 * twice, or a hash this host cannot check (plain text, an unknown or
 * disabled method) refuses the whole file, naming the file and the line,
 * so a typo never leaves a user locked out or, worse, let in by a
 * password written in clear.  Callers keep the users they had when a
 * reload fails.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "userdb.h"
#include "util.h"

#define USERDB_LINE_MAX	1024

bool
userdb_name_ok(const char *name, size_t len)
{
	return len >= 1 && len <= USERDB_NAME_MAX && name_chars_ok(name, len);
}

/*
 * Whether this host can check hash: a modern method ("$id$..."; plain
 * text and DES would pass crypt's own syntax check) that libcrypt knows,
 * and hashing a probe with it gives a string of the same method and size.
 */
static bool
userdb_hash_ok(const char *hash)
{
	struct crypt_data	*cd;
	const char		*out;
	bool			 ok;

	if (hash[0] != '$' || crypt_checksalt(hash) != CRYPT_SALT_OK)
		return false;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return false;
	out = crypt_r("probe", hash, cd);
	ok = out != NULL && out[0] == '$' && strlen(out) == strlen(hash) &&
	    strncmp(out, hash, (size_t)(strrchr(hash, '$') - hash)) == 0;
	free(cd);
	return ok;
}

static int
userdb_push(struct userdb *db, const char *name, size_t nlen,
    const char *secret, bool hashed)
{
	struct userdb_entry	*v;
	size_t			 i;

	for (i = 0; i < db->db_n; i++)
		if (strlen(db->db_users[i].u_name) == nlen &&
		    !memcmp(db->db_users[i].u_name, name, nlen))
			return 1;
	v = reallocarray(db->db_users, db->db_n + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	db->db_users = v;
	v += db->db_n;
	v->u_hashed = hashed;
	if ((v->u_name = strndup(name, nlen)) == NULL)
		return -1;
	if ((v->u_secret = strdup(secret)) == NULL) {
		free(v->u_name);
		return -1;
	}
	db->db_n++;
	return 0;
}

/* One line of the file, without its newline; 0, or -1 with why set. */
static int
userdb_line(struct userdb *db, char *line, char *why, size_t whylen)
{
	char	*colon = strchr(line, ':');
	int	 rc;

	if (colon == NULL) {
		snprintf(why, whylen, "expected USER:HASH");
		return -1;
	}
	if (!userdb_name_ok(line, (size_t)(colon - line))) {
		snprintf(why, whylen, "user name must be 1 to %d characters of "
		    "A-Z a-z 0-9 . _ -", USERDB_NAME_MAX);
		return -1;
	}
	if (!userdb_hash_ok(colon + 1)) {
		snprintf(why, whylen, "not a password hash this host can check "
		    "(a crypt(3) string such as $y$, $2b$ or $6$; never the "
		    "password itself)");
		return -1;
	}
	if ((rc = userdb_push(db, line, (size_t)(colon - line), colon + 1,
	    true)) != 0) {
		snprintf(why, whylen, rc > 0 ? "user named twice" :
		    "out of memory");
		return -1;
	}
	return 0;
}

static int
userdb_read(struct userdb *db, FILE *fp, const char *path, char *why,
    size_t whylen)
{
	char	line[USERDB_LINE_MAX + 2], what[200];
	size_t	len;
	int	lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > USERDB_LINE_MAX) {
			snprintf(why, whylen, "%s:%d: line longer than %d bytes",
			    path, lineno, USERDB_LINE_MAX);
			return -1;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (userdb_line(db, line, what, sizeof(what)) < 0) {
			snprintf(why, whylen, "%s:%d: %s", path, lineno, what);
			explicit_bzero(line, sizeof(line));
			return -1;
		}
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(fp)) {
		snprintf(why, whylen, "read %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Adds the users of path to db; on failure db is as it was. */
int
userdb_load(struct userdb *db, const char *path, char *why, size_t whylen)
{
	struct userdb	 add = { NULL, 0, false };
	struct stat	 st;
	FILE		*fp;
	size_t		 i;
	int		 rc;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(why, whylen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == 0)
		db->db_loose = (st.st_mode & S_IROTH) != 0;
	rc = userdb_read(&add, fp, path, why, whylen);
	fclose(fp);
	for (i = 0; rc == 0 && i < add.db_n; i++)
		if (userdb_push(db, add.db_users[i].u_name,
		    strlen(add.db_users[i].u_name), add.db_users[i].u_secret,
		    true) != 0) {
			snprintf(why, whylen, "%s: user %s: named twice or out of "
			    "memory", path, add.db_users[i].u_name);
			rc = -1;
		}
	userdb_free(&add);
	return rc;
}

/* --credential USER:PASS, already checked by the flag's parser. */
int
userdb_add_plain(struct userdb *db, const char *user_pass, char *why,
    size_t whylen)
{
	const char	*colon = strchr(user_pass, ':');
	int		 rc;

	if (colon == NULL) {
		snprintf(why, whylen, "expected USER:PASS");
		return -1;
	}
	rc = userdb_push(db, user_pass, (size_t)(colon - user_pass), colon + 1,
	    false);
	if (rc != 0)
		snprintf(why, whylen, rc > 0 ? "user named twice" :
		    "out of memory");
	return rc ? -1 : 0;
}

static bool
userdb_match(const struct userdb_entry *u, const char *pass, size_t plen)
{
	struct crypt_data	*cd;
	const char		*out;
	size_t			 slen = strlen(u->u_secret);
	char			 pw[USERDB_PASS_MAX + 1];
	bool			 ok;

	if (!u->u_hashed)
		return slen == plen && CRYPTO_memcmp(u->u_secret, pass,
		    plen) == 0;
	if (plen > USERDB_PASS_MAX || (cd = calloc(1, sizeof(*cd))) == NULL)
		return false;
	memcpy(pw, pass, plen);		/* crypt_r wants a C string */
	pw[plen] = '\0';
	out = crypt_r(pw, u->u_secret, cd);
	ok = out != NULL && strlen(out) == slen &&
	    CRYPTO_memcmp(out, u->u_secret, slen) == 0;
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/*
 * Checks a decoded "user:password"; on success the user's name is copied
 * to user.  A password with a NUL in it never matches a hash.
 */
bool
userdb_check(const struct userdb *db, const char *user_pass, size_t len,
    char *user, size_t userlen)
{
	const char	*colon = memchr(user_pass, ':', len);
	size_t		 nlen, i;

	if (colon == NULL)
		return false;
	nlen = (size_t)(colon - user_pass);
	for (i = 0; i < db->db_n; i++) {
		const struct userdb_entry *u = &db->db_users[i];

		if (strlen(u->u_name) != nlen ||
		    memcmp(u->u_name, user_pass, nlen) != 0)
			continue;
		if (u->u_hashed && memchr(colon + 1, '\0', len - nlen - 1))
			return false;
		if (!userdb_match(u, colon + 1, len - nlen - 1))
			return false;
		snprintf(user, userlen, "%s", u->u_name);
		return true;
	}
	return false;
}

void
userdb_free(struct userdb *db)
{
	size_t	i;

	for (i = 0; i < db->db_n; i++) {
		explicit_bzero(db->db_users[i].u_secret,
		    strlen(db->db_users[i].u_secret));
		free(db->db_users[i].u_secret);
		free(db->db_users[i].u_name);
	}
	free(db->db_users);
	db->db_users = NULL;
	db->db_n = 0;
}

/*
 * SIGHUP: the --credential users as they were plus the file read anew.
 * On failure db is untouched: the users in force stay.
 */
int
userdb_reload(struct userdb *db, const char *path, char *why, size_t whylen)
{
	struct userdb	 fresh = { NULL, 0, false };
	size_t		 i;

	for (i = 0; i < db->db_n; i++) {
		const struct userdb_entry *u = &db->db_users[i];

		if (!u->u_hashed && userdb_push(&fresh, u->u_name,
		    strlen(u->u_name), u->u_secret, false) != 0) {
			snprintf(why, whylen, "out of memory");
			userdb_free(&fresh);
			return -1;
		}
	}
	if (userdb_load(&fresh, path, why, whylen) < 0) {
		userdb_free(&fresh);
		return -1;
	}
	userdb_free(db);
	*db = fresh;
	return 0;
}
