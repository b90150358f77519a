/*
 * log.h - the one logging idiom of both process roles.
 *
 * log_warn() appends strerror(errno) (saved on entry), log_warnx() does not;
 * log_errx() is for a fault an operator must fix (LOG_ERR in syslog);
 * fatal()/fatalx() log and exit(1).  Lines go to stderr as one write(2)
 * each, to syslog(LOG_DAEMON), or (--log-file) to a file, each line
 * prefixed by its UTC time.  Events are written as key=value fields.
 * Every function keeps errno unchanged.
 */
#ifndef WSTASKD_LOG_H
#define WSTASKD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/*
 * --log-file's descriptor, the same number in the supervisor and every
 * worker: the supervisor takes it before opening anything else, a worker
 * keeps it across its closefrom(), and a reopen dup3()s over it.
 */
#define LOG_FD		4

enum log_level { LOG_LVL_QUIET = -1, LOG_LVL_INFO = 0, LOG_LVL_DEBUG = 1,
		 LOG_LVL_TRACE = 2 };

void	log_init(const char *ident, int verbosity, bool use_syslog);
void	log_set_role(const char *role);
void	log_stderr(bool on);
void	log_reopen(void);
int	log_file_open(const char *path, uid_t uid, gid_t gid);
bool	log_file_active(void);
bool	log_syslog_reachable(void);
int	log_verbosity(void);
void	log_lws_line(int level, const char *line);

/* Room for log_esc() of n bytes of text. */
#define LOG_ESC_SIZE(n)	(3 * (n) + 1)
const char *log_esc(char *buf, size_t len, const char *s, bool quoted);

void	log_warn_(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx_(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_errx_(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal_(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
noreturn void fatalx_(const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_warn(...)	log_warn_(__func__, __VA_ARGS__)
#define log_warnx(...)	log_warnx_(__func__, __VA_ARGS__)
#define log_errx(...)	log_errx_(__func__, __VA_ARGS__)
#define fatal(...)	fatal_(__func__, __VA_ARGS__)
#define fatalx(...)	fatalx_(__func__, __VA_ARGS__)

#endif
