/* out.c — response bodies (see out.h). */
#include "server/out.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sn_out_put(sn_out_t *o, const char *fmt, ...) {
  if (o->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p ? o->p + o->n : NULL, o->p ? o->cap - o->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      o->oom = 1;
      return;
    }
    if (o->p && o->n + (size_t)k < o->cap) {
      o->n += (size_t)k;
      return;
    }
    size_t cap = o->cap ? o->cap * 2 : 4096;
    while (cap < o->n + (size_t)k + 1) cap *= 2;
    char *grown = realloc(o->p, cap);
    if (!grown) {
      o->oom = 1;
      return;
    }
    o->p = grown;
    o->cap = cap;
  }
}

void sn_out_float(sn_out_t *o, float v) {
  if (isfinite(v))
    sn_out_put(o, "%.9g", (double)v);
  else
    sn_out_put(o, "null");
}

void sn_out_floats(sn_out_t *o, const float *v, size_t n) {
  sn_out_put(o, "[");
  for (size_t k = 0; k < n; k++) {
    if (k) sn_out_put(o, ",");
    sn_out_float(o, v[k]);
  }
  sn_out_put(o, "]");
}

void sn_out_string(sn_out_t *o, const char *s) {
  if (!s) {
    sn_out_put(o, "null");
    return;
  }
  cJSON *item = cJSON_CreateString(s);
  char *quoted = item ? cJSON_PrintUnformatted(item) : NULL;
  if (quoted)
    sn_out_put(o, "%s", quoted);
  else
    o->oom = 1;
  free(quoted);
  cJSON_Delete(item);
}

void sn_out_base64(sn_out_t *o, const float *v, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *b = (const unsigned char *)v; /* x86 is little-endian */
  size_t len = n * 4;
  sn_out_put(o, "\"");
  for (size_t i = 0; i < len; i += 3) {
    unsigned x = (unsigned)b[i] << 16 | (i + 1 < len ? (unsigned)b[i + 1] << 8 : 0) |
                 (i + 2 < len ? b[i + 2] : 0);
    sn_out_put(o, "%c%c%c%c", t[x >> 18 & 63], t[x >> 12 & 63], i + 1 < len ? t[x >> 6 & 63] : '=',
               i + 2 < len ? t[x & 63] : '=');
  }
  sn_out_put(o, "\"");
}

char *sn_out_take(sn_out_t *o) {
  if (o->oom || !o->p) {
    free(o->p);
    memset(o, 0, sizeof *o);
    return NULL;
  }
  char *p = o->p;
  memset(o, 0, sizeof *o);
  return p;
}
