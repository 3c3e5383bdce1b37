/*
 * guard.h — deadlines on connections that libmicrohttpd's idle timeout cannot
 * give. Its timeout restarts with every byte, so a client that trickles a
 * header one byte at a time (slowloris), or reads a response one byte at a
 * time, would hold a connection and its memory for as long as it likes. The
 * guard gives each connection one deadline for its current phase (headers,
 * body, response, keep-alive idle); the server moves it as the request goes
 * (server.c). One watchdog thread sleeps until the earliest deadline and
 * closes a connection past it by shutting its socket down; libmicrohttpd
 * then sees the socket fail and closes the connection as it would any other.
 *
 * The guard shuts down its own duplicate of the connection's descriptor, so a
 * descriptor that libmicrohttpd has closed and the kernel has handed to a new
 * connection is never touched. All calls are thread-safe; the watchdog uses
 * no CPU while no deadline is near.
 */
#ifndef SN_SERVER_GUARD_H
#define SN_SERVER_GUARD_H

#include <stdint.h>

#include "sinter.h"

typedef struct sn_guard sn_guard_t;
typedef struct sn_guarded sn_guarded_t; /* one connection */

/* Starts the watchdog. *out is owned by the caller (sn_guard_destroy).
 * Errors: OUT_OF_MEMORY, IO when the thread cannot start. */
sinter_status_t sn_guard_create(sn_guard_t **out, sinter_error_t *err);

/* Stops the watchdog. Every connection must have been removed. NULL allowed. */
void sn_guard_destroy(sn_guard_t *guard);

/* Guards the connection on socket `fd` with `deadline` (sn_batcher_now's
 * clock; 0: none). Returns the handle (owned by the guard until
 * sn_guard_remove), or NULL when the descriptor cannot be duplicated (out of
 * descriptors or memory): the connection then has libmicrohttpd's idle
 * timeout only. */
sn_guarded_t *sn_guard_add(sn_guard_t *guard, int fd, double deadline);

/* Sets the connection's deadline (0: none). NULL `conn` is ignored. */
void sn_guard_set(sn_guard_t *guard, sn_guarded_t *conn, double deadline);

/* Moves the deadline earlier only: to `deadline` when that is sooner than
 * the one set (or none is set). */
void sn_guard_tighten(sn_guard_t *guard, sn_guarded_t *conn, double deadline);

/* Forgets the connection (libmicrohttpd closed it) and frees the handle.
 * NULL `conn` is ignored. */
void sn_guard_remove(sn_guard_t *guard, sn_guarded_t *conn);

/* Connections closed for passing their deadline, since creation. */
uint64_t sn_guard_closed_count(sn_guard_t *guard);

#endif
