/*
 * str.h — small string helpers shared across modules.
 */
#ifndef SN_BASE_STR_H
#define SN_BASE_STR_H

#include "base/status.h"

/* A new heap string from printf-style arguments (caller frees with free()),
 * or NULL on allocation failure. */
char *sn_format(const char *fmt, ...) SN_PRINTF(1, 2);

#endif
