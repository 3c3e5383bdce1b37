/*
 * session.h — internal access to a session's executors (for tools such as
 * `sinter bench --breakdown`); the public API is in include/sinter.h.
 */
#ifndef SN_RUNTIME_SESSION_H
#define SN_RUNTIME_SESSION_H

#include "runtime/plan.h"
#include "sinter.h"

/* The compiled executor of a compiled session, or NULL for an eager one
 * (borrowed from the session). */
sn_plan_exec_t *sn_session_plan_exec(sinter_session_t *session);

#endif
