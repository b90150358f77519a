/*
 * ctlsock.h - the control socket's protocol (--control, wstaskctl(8)).
 *
 * A client connects to the unix socket, writes one request line
 *	COMMAND [ARGUMENT]\n
 * and reads the answer until EOF: a first line "ok" or "error: REASON",
 * then, for status, one line of JSON.  One request per connection; the
 * supervisor closes after answering.  Lines are at most CTLSOCK_LINE_MAX
 * bytes; a client that sends more, or has not read its whole answer
 * CTLSOCK_TIMEOUT_MS after connecting, is dropped.
 */
#ifndef WSTASKD_CTLSOCK_H
#define WSTASKD_CTLSOCK_H

#define CTLSOCK_LINE_MAX	512
#define CTLSOCK_TIMEOUT_MS	5000
#define CTLSOCK_CLIENTS_MAX	16	/* at once; more wait in the backlog */

#endif
