/*
 * status.h — error context helpers shared by every module.
 *
 * A fallible internal call takes a `sinter_error_t *err` (which may be NULL)
 * and returns a status. sn_error_set formats a message into it and returns the
 * code, so the idiom is `return sn_error_set(err, SINTER_ERR_FORMAT, "...")`.
 */
#ifndef SN_BASE_STATUS_H
#define SN_BASE_STATUS_H

#include "sinter.h"

#if defined(__GNUC__)
#define SN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SN_NODISCARD __attribute__((warn_unused_result))
#else
#define SN_PRINTF(f, a)
#define SN_NODISCARD
#endif

/* Sets err (when non-NULL) to `code` with a printf-style message; returns code. */
sinter_status_t sn_error_set(sinter_error_t *err, sinter_status_t code, const char *fmt, ...)
    SN_PRINTF(3, 4);

/* Prepends "prefix: " to err's message (when err is non-NULL and not OK), to add
 * outer context such as the file being loaded. Returns err's status. */
sinter_status_t sn_error_prefix(sinter_error_t *err, const char *fmt, ...) SN_PRINTF(2, 3);

/* Clears err to SINTER_OK with an empty message (err may be NULL). */
void sn_error_clear(sinter_error_t *err);

/* Propagates a non-OK status from an expression. */
#define SN_TRY(expr)                                        \
  do {                                                      \
    sinter_status_t sn_try_status_ = (expr);                \
    if (sn_try_status_ != SINTER_OK) return sn_try_status_; \
  } while (0)

#endif
