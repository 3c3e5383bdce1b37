/* status.c — error context formatting. */
#include "base/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sinter_status_name(sinter_status_t status) {
  switch (status) {
    case SINTER_OK: return "ok";
    case SINTER_ERR_INVALID_ARGUMENT: return "invalid argument";
    case SINTER_ERR_IO: return "i/o error";
    case SINTER_ERR_FORMAT: return "format error";
    case SINTER_ERR_UNSUPPORTED: return "unsupported";
    case SINTER_ERR_OUT_OF_MEMORY: return "out of memory";
    case SINTER_ERR_LIMIT: return "limit exceeded";
    case SINTER_ERR_NOT_FOUND: return "not found";
    case SINTER_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

sinter_status_t sn_error_set(sinter_error_t *err, sinter_status_t code, const char *fmt, ...) {
  if (err) {
    err->status = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

sinter_status_t sn_error_prefix(sinter_error_t *err, const char *fmt, ...) {
  if (!err) return SINTER_ERR_INTERNAL;
  if (err->status == SINTER_OK) return SINTER_OK;
  char prefix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char joined[sizeof prefix + sizeof err->message + 2];
  snprintf(joined, sizeof joined, "%s: %s", prefix, err->message);
  /* Keep the head of the joined text: prefix first, then as much as fits. */
  memcpy(err->message, joined, sizeof err->message - 1);
  err->message[sizeof err->message - 1] = '\0';
  return err->status;
}

void sn_error_clear(sinter_error_t *err) {
  if (err) {
    err->status = SINTER_OK;
    err->message[0] = '\0';
  }
}
