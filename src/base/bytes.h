/*
 * bytes.h — little-endian byte buffers for binary formats: a growable writer
 * that remembers an allocation failure instead of failing each call, and a
 * bounds-checked reader that yields zeros past the end and remembers it.
 * Check `oom` / `bad` once at the end of a sequence of calls.
 */
#ifndef SN_BASE_BYTES_H
#define SN_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* A growable buffer: zero-initialise; free(p) when done. */
typedef struct sn_wbuf {
  unsigned char *p;
  size_t n, cap;
  int oom; /* set by the first failed allocation; later writes do nothing */
} sn_wbuf_t;

void sn_wbuf_bytes(sn_wbuf_t *w, const void *data, size_t len);
void sn_wbuf_u32(sn_wbuf_t *w, uint32_t v);
void sn_wbuf_u64(sn_wbuf_t *w, uint64_t v);
void sn_wbuf_f32(sn_wbuf_t *w, float v);
/* A u32 length, then the bytes of s (no NUL). */
void sn_wbuf_str(sn_wbuf_t *w, const char *s);

/* A reader over p[0..n): `at` is the next byte; `bad` is set by the first
 * read past the end. */
typedef struct sn_rbuf {
  const unsigned char *p;
  size_t n, at;
  int bad;
} sn_rbuf_t;

/* The next len bytes (borrowed), or NULL (and bad set) when fewer remain. */
const void *sn_rbuf_bytes(sn_rbuf_t *r, size_t len);
uint32_t sn_rbuf_u32(sn_rbuf_t *r);
uint64_t sn_rbuf_u64(sn_rbuf_t *r);
float sn_rbuf_f32(sn_rbuf_t *r);

#endif
