/*
 * session.h — what the runtime shows of a session beyond sinter.h, for the
 * tools that are about internals (bench --breakdown) and for tests.
 */
#ifndef SN_RUNTIME_SESSION_H
#define SN_RUNTIME_SESSION_H

#include "runtime/plan.h"
#include "sinter.h"

/* The plan executor of a compiled session (NULL for an eager one), borrowed:
 * for profiling. */
sn_plan_exec_t *sn_session_plan_exec(sinter_session_t *session);

/* The OpenMP team size the session's last run had: its own thread count,
 * whatever other sessions on other threads use. 0 before the first run. */
int sn_session_last_threads(const sinter_session_t *session);

#endif
