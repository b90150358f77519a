/*
 * config.h - the daemon's settings, as parsed from the command line.
 *
 * The supervisor fills it once before anything is forked; a worker gets
 * its copy with fork and only reads it.  Defaults are those of SPEC 5
 * and of wstaskd(8).
 */
#ifndef WSTASKD_CONFIG_H
#define WSTASKD_CONFIG_H

#include <sys/resource.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "origin.h"
#include "tls.h"
#include "userdb.h"

#define DEF_LISTEN		"127.0.0.1:8080"
#define DEF_PATH		"/stream"
#define DEF_LIMIT		10
#define DEF_MAX_SESSIONS	256
#define DEF_MAX_BATCH		1000
#define DEF_MAX_MESSAGE		1048576
#define DEF_MAX_OUTPUT		1048576
#define DEF_KILL_GRACE_MS	2000
#define DEF_PING_INTERVAL	10
#define DEF_PING_TIMEOUT	25
#define DEF_TASK_TIMEOUT	0
#define DEF_SPARE		2
#define DEF_SHUTDOWN_TIMEOUT	10
#define DEF_HANDSHAKE_TIMEOUT	10
#define DEF_MAX_HEADERS		32768	/* room for a request's line and headers */
#define MAX_HEADERS_MAX		65535	/* libwebsockets' 16-bit lengths */
#define CREDENTIAL_USER_MAX	64

#define STDERR_TAIL		2048	/* bytes of a task's stderr kept */
#define TASK_NAME_MAX		64
#define BATCH_NAME_MAX		128
#define TASK_ID_MAX		128

struct listen_spec {
	char		*text;		/* as given, for messages */
	int		 family;	/* AF_INET, AF_INET6, AF_UNIX */
	char		*host;		/* address or unix path */
	unsigned	 port;
	bool		 tls;		/* TCP listeners when --ssl-cert */
};

/*
 * A worker's descriptors: one connection, the control socket, signalfd,
 * three pipes a task (stdout, stderr, fd 3), and room for as many closing.
 */
#define WORKER_FDS(cfg)	((rlim_t)16 + 6 * (rlim_t)(cfg)->limit)

struct config {
	struct listen_spec *listens;
	size_t		 nlistens;
	char		*tasks_dir;	/* absolute */
	char		*www_dir;	/* absolute, NULL when off */
	const char	*www_missing;	/* the default www_dir, absent: none */
	char		*ws_path;
	unsigned	 limit;
	unsigned	 max_sessions;
	unsigned	 max_batch;
	size_t		 max_message;
	size_t		 max_output;
	unsigned	 task_timeout_s;
	unsigned	 kill_grace_ms;
	unsigned	 ping_interval;
	unsigned	 ping_timeout;
	struct origin	*origins;
	size_t		 norigins;
	bool		 origin_any;
	char		**pass_env;	/* "NAME=value", captured at start */
	size_t		 npass_env;
	bool		 pass_path;	/* PATH is among them */
	unsigned	 spare;
	bool		 allow_root;
	int		 verbosity;
	bool		 daemonize;
	bool		 check_only;	/* -n: check the flags and files, exit */
	struct rlimit	 worker_nofile;	/* a worker's RLIMIT_NOFILE; cur 0: keep */
	bool		 use_syslog;
	char		*pidfile;
	char		*user;		/* --user, NULL: stay who we are */
	char		*group;
	uid_t		 uid;		/* resolved from user/group */
	gid_t		 gid;
	unsigned	 shutdown_timeout;
	unsigned	 handshake_timeout;
	unsigned	 max_headers;	/* --max-headers */
	char		*ssl_cert;	/* paths as given */
	char		*ssl_key;
	struct tls_pem	 tls;		/* read at start; cert NULL: no TLS */
	struct userdb	 users;		/* --credential and --credentials */
	char		*credentials_file; /* --credentials, read after the drop */
	struct cidr	*trusted;	/* --trusted-proxy */
	size_t		 ntrusted;
	char		*cgroup_dir;	/* --cgroup, absolute; NULL: none */
	bool		 cgroup_give;	/* root with --user: DIR goes to user */
	unsigned	 task_pids_max;	/* 0: no limit */
	unsigned	 session_pids_max;
	size_t		 task_memory_max;
	size_t		 session_memory_max;
	bool		 metrics;	/* --metrics: GET /metrics */
	char		*control;	/* --control socket, absolute */
	char		*log_file;	/* --log-file, absolute */
};

#endif
