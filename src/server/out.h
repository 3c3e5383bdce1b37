/*
 * out.h — building response bodies: a growing text buffer and the JSON
 * pieces the API writers share (floats that round-trip, strings escaped by
 * cJSON, base64 of little-endian float32 as OpenAI sends it).
 */
#ifndef SN_SERVER_OUT_H
#define SN_SERVER_OUT_H

#include <stddef.h>

typedef struct sn_out {
  char *p; /* NUL-terminated text, owned */
  size_t n, cap;
  int oom; /* an allocation failed: the text is incomplete */
} sn_out_t;

/* Appends printf-formatted text. */
void sn_out_put(sn_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A float with 9 significant digits (a float32 round-trips); null when not finite. */
void sn_out_float(sn_out_t *o, float v);

/* [v0,v1,...] */
void sn_out_floats(sn_out_t *o, const float *v, size_t n);

/* A JSON string literal of s (NULL: null). */
void sn_out_string(sn_out_t *o, const char *s);

/* "<base64 of n little-endian float32>" */
void sn_out_base64(sn_out_t *o, const float *v, size_t n);

/* The text (the caller owns it), or NULL when an allocation failed. */
char *sn_out_take(sn_out_t *o);

#endif
