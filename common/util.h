/*
 * util.h - small helpers both roles use.
 */
#ifndef WSTASKD_UTIL_H
#define WSTASKD_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t		 now_usec(void);
int		 fd_set_nonblock(int fd);
const char	*signal_name(int sig, char *buf, size_t len);
int		 signal_reset_all(const sigset_t *keep);
bool		 name_chars_ok(const char *s, size_t len);

#endif
