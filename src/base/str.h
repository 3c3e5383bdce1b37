/*
 * str.h — small string helpers shared across modules.
 */
#ifndef SN_BASE_STR_H
#define SN_BASE_STR_H

#include <stdarg.h>
#include <stddef.h>

#include "base/status.h"

/* A new heap string from printf-style arguments (caller frees with free()),
 * or NULL on allocation failure. */
char *sn_format(const char *fmt, ...) SN_PRINTF(1, 2);

/* A list of messages (warnings), each a heap string the list owns.
 * Zero-initialise; sn_strlist_clear frees. Warnings are advice: one that
 * cannot be stored is dropped rather than failing the caller's work. */
typedef struct sn_strlist {
  char **items;
  size_t count;
} sn_strlist_t;

/* Appends a printf-style message unless the list already holds `max`
 * (0: no limit). Returns 0, or -1 when the message was dropped (list full, or
 * no memory). */
int sn_strlist_addf(sn_strlist_t *list, size_t max, const char *fmt, ...) SN_PRINTF(3, 4);
int sn_strlist_vaddf(sn_strlist_t *list, size_t max, const char *fmt, va_list ap);

/* The i-th message (borrowed), or NULL out of range. */
const char *sn_strlist_at(const sn_strlist_t *list, size_t index);

/* Frees every message and empties the list. */
void sn_strlist_clear(sn_strlist_t *list);

#endif
