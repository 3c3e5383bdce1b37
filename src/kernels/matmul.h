/*
 * matmul.h — float32 matrix products with plain (unpacked) layouts, as the
 * eager executor uses them (sinter's GEMM on operands packed per call, on the
 * calling thread's current pool), and the compiled linear layers, which run
 * oneDNN or sinter's own GEMM (gemm.h) on weights packed at compile time.
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
 * or one shared matrix. All contiguous row-major. Runs sinter's GEMM on the
 * current pool (no OpenMP), allocating its packed operand per call: the
 * eager executor's matmul, not a hot path. Errors: OUT_OF_MEMORY. */
sinter_status_t sn_matmul_f32(int64_t batch, int64_t m, int64_t k, int64_t n, const float *a,
                              const float *b, int b_batched, int trans_b, float *c,
                              sinter_error_t *err);

/* ------------------------------------------------ compiled linear layers */

/* What a compiled linear computes: out[M, N] = act(x[M, K] w^T + bias)
 * (+ out, when residual: the caller places the residual in out first). */
typedef struct sn_linear_desc {
  int64_t k, n;
  int act;      /* sn_activation_t */
  int residual; /* 1: accumulate onto out (oneDNN sum post-op) */
  int int8;     /* 1: s8 weights with a float scale per output channel, activations
                   quantised to s8 per token at run time (dynamic), exact s32 sums,
                   dequantisation, bias, activation and residual in fp32: sinter's
                   int8 GEMM (gemm_int8.h) on any target */
} sn_linear_desc_t;

/* Which fp32 kernel a compiled linear runs; the compiler chooses at prepack
 * time and the choice travels with the weights (their layout records it). */
typedef enum sn_linear_kernel {
  SN_LINEAR_ONEDNN = 0,    /* oneDNN matmul, weights in the layout it asks for */
  SN_LINEAR_GEMM = 1,      /* sinter's GEMM (gemm.h), weights packed by sn_gemm_pack */
  SN_LINEAR_GEMM_BF16 = 2, /* the same with bf16 weights (sn_gemm_pack_bf16), fp32 math */
  SN_LINEAR_GEMM_INT8 = 3, /* int8 linears (desc.int8): sinter's exact int8 GEMM */
} sn_linear_kernel_t;

/* Revision of the packed layouts above; part of the artifact's content key,
 * so that a change of layout never reuses a cached artifact. */
#define SN_LINEAR_LAYOUT_REVISION 3

/* What a weight layout descriptor (from sn_linear_prepack) names: "f32",
 * "bf16", "int8" (sinter's GEMMs, by weight type), or "onednn" for anything
 * else. */
const char *sn_linear_layout_kind(const void *layout, size_t layout_size);

/* A oneDNN matmul primitive for any row count M (a runtime dimension), made
 * once per artifact load. */
typedef struct sn_linear sn_linear_t;

/* Reorders plain weights w [N, K] (row-major, as stored by transformers) into
 * the layout `kernel` wants: for SN_LINEAR_ONEDNN, the layout the primitive
 * for `desc` wants on this CPU; for SN_LINEAR_GEMM and _BF16, sinter's packed
 * panels; for SN_LINEAR_GEMM_INT8 (exactly the desc.int8 linears), the
 * quantised panels of gemm_int8.h, keeping the input channels
 * outliers[0..num_outliers) in fp32 (num_outliers <= SN_GEMM_I8_OUTLIERS;
 * ignored by the other kernels). *out_data (bytes *out_bytes,
 * 64-byte aligned, free()) and *out_layout (a layout descriptor of
 * *out_layout_size bytes, free()) are new, owned by the caller. *out_data is
 * NULL when w is already in the wanted layout (use it as is). */
sinter_status_t sn_linear_prepack(sn_dnnl_t *d, const sn_linear_desc_t *desc,
                                  sn_linear_kernel_t kernel, const float *w, int num_outliers,
                                  const int32_t *outliers, void **out_data, size_t *out_bytes,
                                  void **out_layout, size_t *out_layout_size, sinter_error_t *err);

/* Creates the linear for desc, with the kernel its layout names; checks that
 * `layout` (from sn_linear_prepack, possibly on another machine) is one this
 * build runs here (a oneDNN layout must be the one this CPU's primitive wants;
 * sinter's packed layout runs anywhere) and that the weights are
 * `weight_bytes` long as that layout needs.
 * Errors: UNSUPPORTED when the layout differs (the artifact targets another
 * CPU), FORMAT for a wrong size. */
sinter_status_t sn_linear_create(sn_dnnl_t *d, const sn_linear_desc_t *desc, const void *layout,
                                 size_t layout_size, size_t weight_bytes, sn_linear_t **out,
                                 sinter_error_t *err);

/* Runs the primitive on m rows: x [m, K], packed weights w, bias [N], out
 * [m, N] (holding the residual when desc.residual). */
sinter_status_t sn_linear_run(sn_linear_t *l, int64_t m, const float *x, const void *w,
                              const float *bias, float *out, sinter_error_t *err);

/* Releases a primitive (NULL allowed). */
void sn_linear_destroy(sn_linear_t *l);

/* The oneDNN version as "major.minor.patch", recorded in artifacts. */
const char *sn_dnnl_version(void);

#endif
