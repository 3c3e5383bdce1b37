/*
 * matmul.h — float32 matrix products through oneDNN with plain (unpacked)
 * layouts, as the eager executor uses them. oneDNN's primitive cache makes
 * re-creating a primitive for a shape seen before cheap.
 */
#ifndef SN_KERNELS_MATMUL_H
#define SN_KERNELS_MATMUL_H

#include <stdint.h>

#include "base/status.h"

/* A oneDNN CPU engine and stream. One per session: not thread-safe. */
typedef struct sn_dnnl sn_dnnl_t;

/* Creates an engine and stream (*out owned by the caller). */
sinter_status_t sn_dnnl_create(sn_dnnl_t **out, sinter_error_t *err);

/* Releases what sn_dnnl_create made. NULL is allowed. */
void sn_dnnl_destroy(sn_dnnl_t *d);

/* c[i] = a[i] @ op(b[i]) for i < batch, a [M, K], c [M, N]. b is [K, N], or
 * [N, K] when trans_b; b_batched says whether b has a matrix per batch entry
 * or one shared matrix. All contiguous row-major. Errors: INTERNAL with the
 * oneDNN status when a primitive cannot be made or run. */
sinter_status_t sn_matmul_f32(sn_dnnl_t *d, int64_t batch, int64_t m, int64_t k, int64_t n,
                              const float *a, const float *b, int b_batched, int trans_b,
                              float *c, sinter_error_t *err);

#endif
