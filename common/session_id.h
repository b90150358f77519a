/*
 * session_id.h - the session-id rules of wstask.v1 (SPEC 2.1).
 *
 * An id is 1 to 128 characters of [A-Za-z0-9._:-]; a server-made id is
 * 128 random bits as 32 lowercase hex digits.  With basic auth, the
 * supervisor's key for a session is "user/id", so users never meet.
 */
#ifndef WSTASKD_SESSION_ID_H
#define WSTASKD_SESSION_ID_H

#include <stdbool.h>
#include <stddef.h>

#define SESSION_ID_MAX		128
#define SESSION_ID_RANDOM_LEN	32
#define SESSION_USER_MAX	64
#define SESSION_KEY_MAX		(SESSION_USER_MAX + 1 + SESSION_ID_MAX)

bool	session_id_valid(const char *s, size_t len);
bool	session_key_valid(const char *s, size_t len);
void	session_id_random(char out[SESSION_ID_RANDOM_LEN + 1]);

#endif
