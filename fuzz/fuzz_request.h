/*
 * fuzz_request.h — what the request-parser fuzz targets (fuzz_request_*.c)
 * share: the limits chosen from the input's first byte, and the invariants
 * every parser's result must keep, checked with abort() so that libFuzzer
 * reports a broken one as a crash.
 *
 * The first byte of an input is a control byte: its low 3 bits choose what a
 * target varies (TEI: the route; TorchServe: the Content-Type; KServe: the
 * route's model and whether a binary-data header comes first), its high 5
 * bits the limits (limits_from). The rest is the
 * request body. Seeds start with '0'..'7' (0x30..0x37: the server's default
 * limits, max_inputs 2048 and no character limit).
 */
#ifndef SN_FUZZ_REQUEST_H
#define SN_FUZZ_REQUEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

/* What a target checks besides the common invariants. */
typedef struct fuzz_expect {
  sn_op_t op;         /* the operation the route asks */
  int pairs_allowed;  /* r->pairs may be set */
  int pairs_may_miss; /* entries of r->pairs may be NULL (TEI's texts and pairs mixed) */
  int ids_allowed;    /* inputs may be token ids */
  int ids_required;   /* inputs must be token ids (TEI /decode) */
  int query_required; /* rerank: r->query set */
  int raw_text;       /* a raw text body may be taken (TorchServe) */
  int route_model;    /* r->model must be `model`, the route's (KServe, TorchServe) */
  const char *model;
} fuzz_expect_t;

/* c: 5 bits. Bit 0: a small max_inputs (1 + bits 1-2), else 2048; bit 3: a
 * character limit (16 with bit 4, else 3), else none. */
static inline sn_request_limits_t limits_from(unsigned c) {
  sn_request_limits_t lim;
  lim.max_inputs = (c & 1) ? 1 + ((c >> 1) & 3) : 2048;
  lim.max_input_chars = (c & 8) ? ((c & 16) ? 16 : 3) : 0;
  return lim;
}

/* The number of code points of valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF), or -1: written apart from request.c's. */
static inline long fuzz_utf8_chars(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  long n = 0;
  while (*p) {
    uint32_t cp;
    size_t len;
    if (p[0] < 0x80) {
      cp = p[0], len = 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
      cp = p[0] & 0x1F, len = 2;
    } else if ((p[0] & 0xF0) == 0xE0) {
      cp = p[0] & 0x0F, len = 3;
    } else if ((p[0] & 0xF8) == 0xF0) {
      cp = p[0] & 0x07, len = 4;
    } else {
      return -1;
    }
    for (size_t k = 1; k < len; k++) {
      if ((p[k] & 0xC0) != 0x80) return -1;
      cp = cp << 6 | (p[k] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return -1;
    p += len;
    n++;
  }
  return n;
}

static inline void check_text(const char *s, const sn_request_limits_t *lim) {
  if (!s) abort();
  long chars = fuzz_utf8_chars(s);
  if (chars < 0) abort();
  if (lim->max_input_chars && (size_t)chars > lim->max_input_chars) abort();
}

/* The invariants of a parsed request. Every string it borrows lies in its
 * JSON or raw text (request.h), not in the body: fuzz_parse frees the body
 * first, so ASan reports a string read from it. */
static inline void check_success(const sn_request_t *r, const sn_request_limits_t *lim,
                                 const fuzz_expect_t *x) {
  if (r->op != x->op) abort();
  if (r->count == 0 || r->count > lim->max_inputs) abort();
  if (!r->texts == !r->ids) abort(); /* texts XOR ids */
  if (r->count > 1 && !r->is_list) abort();
  if (r->ids && !x->ids_allowed) abort();
  if (x->ids_required && !r->ids) abort();
  if (!r->json && !(x->raw_text && r->raw_text)) abort();
  if (r->raw_text && !x->raw_text) abort();
  if (r->texts)
    for (size_t i = 0; i < r->count; i++) check_text(r->texts[i], lim);
  if (r->ids) {
    if (!r->id_lengths) abort();
    for (size_t i = 0; i < r->count; i++) {
      if (!r->ids[i] || r->id_lengths[i] == 0) abort();
      volatile int32_t sink = r->ids[i][0] ^ r->ids[i][r->id_lengths[i] - 1];
      (void)sink;
    }
  }
  if (r->pairs) {
    if (!x->pairs_allowed || !r->texts) abort();
    for (size_t i = 0; i < r->count; i++) {
      if (!r->pairs[i]) {
        if (!x->pairs_may_miss) abort();
        continue;
      }
      check_text(r->pairs[i], lim);
    }
  }
  if (x->query_required) {
    if (!r->query) abort();
    check_text(r->query, lim);
  } else if (r->query) {
    abort();
  }
  if (r->model) (void)strlen(r->model);
  if (x->route_model && r->model != x->model) abort();
  if (r->id) (void)strlen(r->id);
  if (r->dimensions < 0 || r->top_n < 0 || r->max_tokens_per_doc < 0) abort();
  /* A similarity: the source and at least one sentence, as texts. */
  if (r->similarity && (r->op != SN_OP_EMBED || !r->texts || r->count < 2)) abort();
}

static inline void check_failure(const sn_parse_error_t *e) {
  if (e->status != 400 && e->status != 413 && e->status != 422 && e->status != 500) abort();
  if (!e->kind || !e->kind[0]) abort();
  if (!memchr(e->message, '\0', sizeof e->message) || !e->message[0]) abort();
  if (!memchr(e->param, '\0', sizeof e->param)) abort();
}

/* Runs one parser on body[0, size), with KServe's Inference-Header-Content-
 * Length header `header` (NULL: none), and checks its result either way. The
 * body is copied to a buffer of exactly `size` bytes, so that ASan sees any
 * read past its end. */
static inline void fuzz_parse_header(sn_parse_fn parse, const uint8_t *body, size_t size,
                                     const char *content_type, const char *route_model,
                                     const char *header, sn_request_limits_t lim,
                                     const fuzz_expect_t *x) {
  char *copy = malloc(size ? size : 1);
  if (!copy) return;
  if (size) memcpy(copy, body, size);
  sn_parse_input_t in = {copy, size, content_type, route_model, lim, header};
  sn_request_t r;
  sn_parse_error_t e;
  memset(&e, 0, sizeof e); /* a failure must fill it */
  int rc = parse(&in, &r, &e);
  free(copy);
  if (rc == 0)
    check_success(&r, &lim, x);
  else if (rc == -1)
    check_failure(&e);
  else
    abort();
  sn_request_free(&r);
}

/* fuzz_parse_header without the header. */
static inline void fuzz_parse(sn_parse_fn parse, const uint8_t *body, size_t size,
                              const char *content_type, const char *route_model,
                              sn_request_limits_t lim, const fuzz_expect_t *x) {
  fuzz_parse_header(parse, body, size, content_type, route_model, NULL, lim, x);
}

#endif
