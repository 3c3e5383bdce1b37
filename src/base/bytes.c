/* bytes.c — little-endian byte buffers (see bytes.h). */
#include "base/bytes.h"

#include <stdlib.h>
#include <string.h>

void sn_wbuf_bytes(sn_wbuf_t *w, const void *data, size_t len) {
  if (w->oom) return;
  if (w->n + len > w->cap) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->n + len) cap *= 2;
    unsigned char *p = realloc(w->p, cap);
    if (!p) {
      w->oom = 1;
      return;
    }
    w->p = p;
    w->cap = cap;
  }
  if (len) memcpy(w->p + w->n, data, len);
  w->n += len;
}

void sn_wbuf_u32(sn_wbuf_t *w, uint32_t v) {
  sn_wbuf_bytes(w, &v, 4);
}

void sn_wbuf_u64(sn_wbuf_t *w, uint64_t v) {
  sn_wbuf_bytes(w, &v, 8);
}

void sn_wbuf_f32(sn_wbuf_t *w, float v) {
  sn_wbuf_bytes(w, &v, 4);
}

void sn_wbuf_str(sn_wbuf_t *w, const char *s) {
  sn_wbuf_u32(w, (uint32_t)strlen(s));
  sn_wbuf_bytes(w, s, strlen(s));
}

const void *sn_rbuf_bytes(sn_rbuf_t *r, size_t len) {
  if (r->bad || len > r->n - r->at) {
    r->bad = 1;
    return NULL;
  }
  const void *p = r->p + r->at;
  r->at += len;
  return p;
}

uint32_t sn_rbuf_u32(sn_rbuf_t *r) {
  uint32_t v = 0;
  const void *p = sn_rbuf_bytes(r, 4);
  if (p) memcpy(&v, p, 4);
  return v;
}

uint64_t sn_rbuf_u64(sn_rbuf_t *r) {
  uint64_t v = 0;
  const void *p = sn_rbuf_bytes(r, 8);
  if (p) memcpy(&v, p, 8);
  return v;
}

float sn_rbuf_f32(sn_rbuf_t *r) {
  float v = 0;
  const void *p = sn_rbuf_bytes(r, 4);
  if (p) memcpy(&v, p, 4);
  return v;
}
