/* matmul.c — oneDNN matmul with plain layouts (eager path), and the compiled
 * linears: oneDNN primitives or sinter's GEMM on pre-packed weights. */
#include "kernels/matmul.h"

#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/fused.h"
#include "kernels/gemm.h"
#include "kernels/gemm_int8.h"
#include "kernels/target.h"
#include "kernels/threadpool.h"

/* oneDNN's linears run on our pool, not on OpenMP: the rows are split into
 * tiles, and each tile executes the primitive on its own thread with one
 * OpenMP thread (so no OpenMP team ever starts), its own stream and its own
 * scratchpad (user-managed: what makes concurrent executions of one
 * primitive safe). Up to this many pool threads take part; a larger pool
 * runs oneDNN on the caller alone. */
#define DNNL_MAX_THREADS 64

struct sn_dnnl {
  dnnl_engine_t engine;
  dnnl_stream_t stream;                    /* the caller's (and streams[0]) */
  dnnl_stream_t streams[DNNL_MAX_THREADS]; /* per pool thread, made on first need */
};

sinter_status_t sn_dnnl_create(sn_dnnl_t **out, sinter_error_t *err) {
  *out = NULL;
  sn_dnnl_t *d = calloc(1, sizeof *d);
  if (!d) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "oneDNN context");
  if (dnnl_engine_create(&d->engine, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags) != dnnl_success) {
    sn_dnnl_destroy(d);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "oneDNN: cannot create a CPU engine and stream");
  }
  d->streams[0] = d->stream;
  *out = d;
  return SINTER_OK;
}

void sn_dnnl_destroy(sn_dnnl_t *d) {
  if (!d) return;
  for (int i = 1; i < DNNL_MAX_THREADS; i++)
    if (d->streams[i]) dnnl_stream_destroy(d->streams[i]);
  if (d->stream) dnnl_stream_destroy(d->stream);
  if (d->engine) dnnl_engine_destroy(d->engine);
  free(d);
}

sinter_status_t sn_matmul_f32(int64_t batch, int64_t m, int64_t k, int64_t n, const float *a,
                              const float *b, int b_batched, int trans_b, float *c,
                              sinter_error_t *err) {
  if (batch <= 0 || m <= 0 || n <= 0) return SINTER_OK;
  if (k <= 0) {
    memset(c, 0, (size_t)(batch * m * n) * sizeof *c);
    return SINTER_OK;
  }
  /* sinter's GEMM takes the right operand as W [N, K] packed: pack op(b)
   * once per distinct matrix (a transposed copy first when b is [K, N]). */
  size_t pbytes = (sn_gemm_packed_bytes(k, n) + 63) / 64 * 64;
  int threads = sn_threadpool_threads(sn_threadpool_current());
  size_t sbytes = (sn_gemm_scratch_bytes(k, threads) + 63) / 64 * 64;
  float *packed = aligned_alloc(64, pbytes);
  float *scratch = aligned_alloc(64, sbytes);
  float *wt = trans_b ? NULL : malloc((size_t)(k * n) * sizeof *wt);
  if (!packed || !scratch || (!trans_b && !wt)) {
    free(packed);
    free(scratch);
    free(wt);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "matmul [%lld x %lld x %lld]: out of memory",
                        (long long)m, (long long)k, (long long)n);
  }
  for (int64_t i = 0; i < batch; i++) {
    if (i == 0 || b_batched) {
      const float *bi = b + (b_batched ? i * k * n : 0);
      const float *w = bi;
      if (!trans_b) {
        for (int64_t r = 0; r < k; r++)
          for (int64_t col = 0; col < n; col++) wt[col * k + r] = bi[r * n + col];
        w = wt;
      }
      sn_gemm_pack(k, n, w, packed);
    }
    sn_gemm_run(m, k, n, a + i * m * k, packed, NULL, 0, 0, c + i * m * n, scratch);
  }
  free(packed);
  free(scratch);
  free(wt);
  return SINTER_OK;
}

/* ------------------------------------------------ compiled linear layers */

/* Up to this many rows, a plain-layout fp32 linear runs our own dot-product
 * kernel: oneDNN 2.6's AVX2 gemm re-packs the weights on every call, which
 * dominates when M is small (MiniLM, 16 tokens: 0.36 ms per linear). */
#define SMALL_M 32

struct sn_linear {
  sn_dnnl_t *d;
  sn_linear_desc_t desc;
  dnnl_primitive_t prim;
  dnnl_memory_desc_t weights_md;
  int small_m;         /* weights are plain [N, K] and the CPU has AVX2+FMA */
  int gemm;            /* sinter's GEMM, no oneDNN primitive: bytes per weight (4 fp32,
                          2 bf16, 1 int8: gemm_int8.h) */
  void *scratch;       /* gemm: per-thread packing buffers; oneDNN: per-thread scratchpads ... */
  int scratch_threads; /* ... for this many threads */
  dnnl_memory_desc_t scratch_md; /* oneDNN: the primitive's scratchpad */
  size_t scratch_bytes;          /* oneDNN: its size, rounded to 64 */
  float *tmp;                    /* small-M path with a residual: the product before the add */
};

/* The layout descriptor of weights packed for sinter's GEMM: a tag and the
 * packing parameters, so that a build packing differently refuses them. Its
 * size differs from a oneDNN memory descriptor's, so neither is mistaken for
 * the other. */
typedef struct gemm_layout {
  char tag[16];
  int32_t nr, kc;
  int32_t elem_bytes; /* 4: fp32 weights, 2: bf16, 1: int8 (gemm_int8.h; nr and kc
                         then record SN_GEMM_I8_NR and 0) */
} gemm_layout_t;
static const char gemm_tag[16] = "sinter-gemm-v3";

static int is_gemm_layout(const void *layout, size_t size) {
  return size == sizeof(gemm_layout_t) && !memcmp(layout, gemm_tag, sizeof gemm_tag);
}

const char *sn_linear_layout_kind(const void *layout, size_t layout_size) {
  if (!layout || !is_gemm_layout(layout, layout_size)) return "onednn";
  int eb = ((const gemm_layout_t *)layout)->elem_bytes;
  return eb == 1 ? "int8" : eb == 2 ? "bf16" : "f32";
}

static size_t gemm_bytes(int64_t k, int64_t n, int elem_bytes) {
  return elem_bytes == 1   ? sn_gemm_i8_packed_bytes(k, n)
         : elem_bytes == 2 ? sn_gemm_packed_bytes_bf16(k, n)
                           : sn_gemm_packed_bytes(k, n);
}

static size_t gemm_scratch_bytes(int elem_bytes, int64_t k, int threads) {
  return elem_bytes == 1 ? sn_gemm_i8_scratch_bytes(k, threads) : sn_gemm_scratch_bytes(k, threads);
}

static sinter_status_t prepack_gemm(const sn_linear_desc_t *desc, int elem_bytes, const float *w,
                                    int num_outliers, const int32_t *outliers, void **out_data,
                                    size_t *out_bytes, void **out_layout, size_t *out_layout_size,
                                    sinter_error_t *err) {
  size_t bytes = gemm_bytes(desc->k, desc->n, elem_bytes);
  if (bytes == 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED, "no %s linear for K=%lld N=%lld",
                        elem_bytes == 1 ? "int8" : "packed", (long long)desc->k,
                        (long long)desc->n);
  void *packed = aligned_alloc(64, (bytes + 63) / 64 * 64);
  gemm_layout_t *layout = calloc(1, sizeof *layout);
  if (!packed || !layout) {
    free(packed), free(layout);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prepack: %zu bytes", bytes);
  }
  if (elem_bytes == 1)
    sn_gemm_i8_pack(desc->k, desc->n, w, num_outliers, outliers, packed);
  else if (elem_bytes == 2)
    sn_gemm_pack_bf16(desc->k, desc->n, w, packed);
  else
    sn_gemm_pack(desc->k, desc->n, w, packed);
  memcpy(layout->tag, gemm_tag, sizeof gemm_tag);
  layout->nr = elem_bytes == 1 ? SN_GEMM_I8_NR : SN_GEMM_NR;
  layout->kc = elem_bytes == 1 ? 0 : SN_GEMM_KC;
  layout->elem_bytes = elem_bytes;
  *out_data = packed;
  *out_bytes = bytes;
  *out_layout = layout;
  *out_layout_size = sizeof *layout;
  return SINTER_OK;
}

/* Sizes the GEMM's packing scratch for `threads` threads. */
static int gemm_scratch_reserve(sn_linear_t *l, int threads) {
  if (threads <= l->scratch_threads) return 0;
  void *s = aligned_alloc(64, (gemm_scratch_bytes(l->gemm, l->desc.k, threads) + 63) / 64 * 64);
  if (!s) return -1;
  free(l->scratch);
  l->scratch = s;
  l->scratch_threads = threads;
  return 0;
}

static sinter_status_t create_gemm(const sn_linear_desc_t *desc, const gemm_layout_t *layout,
                                   size_t weight_bytes, sn_linear_t **out, sinter_error_t *err) {
  int int8 = layout->elem_bytes == 1;
  if (int8 ? layout->nr != SN_GEMM_I8_NR || layout->kc != 0
           : layout->nr != SN_GEMM_NR || layout->kc != SN_GEMM_KC ||
                 (layout->elem_bytes != 4 && layout->elem_bytes != 2))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "weights are packed in %d x %d blocks of %d-byte elements; this build "
                        "packs %d x %d blocks of 4 or 2 bytes, or int8 panels of %d; recompile "
                        "the artifact",
                        layout->nr, layout->kc, layout->elem_bytes, SN_GEMM_NR, SN_GEMM_KC,
                        SN_GEMM_I8_NR);
  if (int8 != (desc->int8 != 0))
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "a K=%lld N=%lld linear marked %s has weights packed as %s",
                        (long long)desc->k, (long long)desc->n, desc->int8 ? "int8" : "fp32",
                        int8 ? "int8" : "fp32 or bf16");
  size_t want = gemm_bytes(desc->k, desc->n, layout->elem_bytes);
  if (want == 0 || weight_bytes != want)
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "packed weights of a K=%lld N=%lld linear are %zu bytes; the layout "
                        "needs %zu",
                        (long long)desc->k, (long long)desc->n, weight_bytes, want);
  sn_linear_t *l = calloc(1, sizeof *l);
  if (!l) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear");
  l->desc = *desc;
  l->gemm = layout->elem_bytes;
  /* Sized for every CPU at once; a larger pool grows it at its first run. */
  int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  if (gemm_scratch_reserve(l, threads) != 0) {
    free(l);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear scratch");
  }
  *out = l;
  return SINTER_OK;
}

static dnnl_alg_kind_t eltwise_of(int act) {
  switch (act) {
    case 1: return dnnl_eltwise_gelu_erf;
    case 2: return dnnl_eltwise_gelu_tanh;
    case 3: return dnnl_eltwise_relu;
    case 4: return dnnl_eltwise_tanh;
    default: return dnnl_alg_kind_undef;
  }
}

/* Primitive descriptor for desc (fp32) with M a runtime dimension and
 * weights in the layout of the implementation's choosing. */
static dnnl_status_t linear_pd(sn_dnnl_t *d, const sn_linear_desc_t *desc,
                               dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t src, wei, bias, dst;
  dnnl_dims_t src_dims = {DNNL_RUNTIME_DIM_VAL, desc->k}, src_strides = {desc->k, 1};
  dnnl_dims_t wei_dims = {desc->k, desc->n}, bias_dims = {1, desc->n};
  dnnl_dims_t dst_dims = {DNNL_RUNTIME_DIM_VAL, desc->n}, dst_strides = {desc->n, 1};
  dnnl_status_t s;
  dnnl_matmul_desc_t md;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_attr_t attr = NULL;
  if ((s = dnnl_memory_desc_init_by_strides(&src, 2, src_dims, dnnl_f32, src_strides)) ||
      (s = dnnl_memory_desc_init_by_tag(&wei, 2, wei_dims, dnnl_f32, dnnl_format_tag_any)) ||
      (s = dnnl_memory_desc_init_by_tag(&bias, 2, bias_dims, dnnl_f32, dnnl_ab)) ||
      (s = dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides)) ||
      (s = dnnl_matmul_desc_init(&md, &src, &wei, &bias, &dst)) ||
      (s = dnnl_post_ops_create(&po)) || (s = dnnl_primitive_attr_create(&attr)))
    goto done;
  if (desc->residual && (s = dnnl_post_ops_append_sum(po, 1.0f))) goto done;
  if (eltwise_of(desc->act) != dnnl_alg_kind_undef &&
      (s = dnnl_post_ops_append_eltwise(po, 1.0f, eltwise_of(desc->act), 0.0f, 0.0f)))
    goto done;
  if ((s = dnnl_primitive_attr_set_post_ops(attr, po)) ||
      (s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
    goto done;
  s = dnnl_primitive_desc_create(pd, &md, attr, d->engine, NULL);
done:
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return s;
}

sinter_status_t sn_linear_prepack(sn_dnnl_t *d, const sn_linear_desc_t *desc,
                                  sn_linear_kernel_t kernel, const float *w, int num_outliers,
                                  const int32_t *outliers, void **out_data, size_t *out_bytes,
                                  void **out_layout, size_t *out_layout_size, sinter_error_t *err) {
  *out_data = *out_layout = NULL;
  if (desc->int8 && (num_outliers < 0 || num_outliers > SN_GEMM_I8_OUTLIERS))
    return sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: %d outlier channels", num_outliers);
  for (int o = 0; desc->int8 && o < num_outliers; o++)
    if (outliers[o] < 0 || outliers[o] >= desc->k)
      return sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: outlier channel %d of %lld",
                          outliers[o], (long long)desc->k);
  if (desc->int8 != (kernel == SN_LINEAR_GEMM_INT8))
    return sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: int8 linears take the int8 kernel");
  if (kernel != SN_LINEAR_ONEDNN)
    return prepack_gemm(desc,
                        kernel == SN_LINEAR_GEMM_INT8   ? 1
                        : kernel == SN_LINEAR_GEMM_BF16 ? 2
                                                        : 4,
                        w, num_outliers, outliers, out_data, out_bytes, out_layout, out_layout_size,
                        err);
  dnnl_primitive_desc_t pd = NULL, rpd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_memory_t from = NULL, to = NULL;
  dnnl_memory_desc_t plain;
  /* w is [N, K] row-major: as a K x N matrix its strides are (1, K). */
  dnnl_dims_t dims = {desc->k, desc->n}, strides = {1, desc->k};
  sinter_status_t st = SINTER_OK;
  dnnl_status_t s;
  if ((s = linear_pd(d, desc, &pd))) {
    st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                      "oneDNN has no f32 matmul for K=%lld N=%lld on this CPU (status %d)",
                      (long long)desc->k, (long long)desc->n, (int)s);
    goto done;
  }
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  size_t bytes = dnnl_memory_desc_get_size(wmd);
  *out_layout = malloc(sizeof *wmd);
  if (!*out_layout) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prepack: layout");
    goto done;
  }
  memcpy(*out_layout, wmd, sizeof *wmd);
  *out_bytes = bytes;
  *out_layout_size = sizeof *wmd;
  if ((s = dnnl_memory_desc_init_by_strides(&plain, 2, dims, dnnl_f32, strides))) {
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: plain layout (status %d)", (int)s);
    goto done;
  }
  /* When the kernel wants the weights as transformers stores them (the
   * case for some ISAs), there is nothing to reorder: keep them in place. */
  if (dnnl_memory_desc_equal(&plain, wmd)) goto done;
  *out_data = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!*out_data) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "prepack: %zu bytes", bytes);
    goto done;
  }
  if ((s = dnnl_memory_create(&from, &plain, d->engine, (void *)w)) ||
      (s = dnnl_memory_create(&to, wmd, d->engine, *out_data)) ||
      (s = dnnl_reorder_primitive_desc_create(&rpd, &plain, d->engine, wmd, d->engine, NULL)) ||
      (s = dnnl_primitive_create(&reorder, rpd))) {
    st =
        sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: reorder setup failed (status %d)", (int)s);
    goto done;
  }
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if ((s = dnnl_primitive_execute(reorder, d->stream, 2, args)) ||
      (s = dnnl_stream_wait(d->stream)))
    st = sn_error_set(err, SINTER_ERR_INTERNAL, "prepack: reorder failed (status %d)", (int)s);
done:
  if (reorder) dnnl_primitive_destroy(reorder);
  if (rpd) dnnl_primitive_desc_destroy(rpd);
  if (from) dnnl_memory_destroy(from);
  if (to) dnnl_memory_destroy(to);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (st) {
    free(*out_data), free(*out_layout);
    *out_data = *out_layout = NULL;
  }
  return st;
}

sinter_status_t sn_linear_create(sn_dnnl_t *d, const sn_linear_desc_t *desc, const void *layout,
                                 size_t layout_size, size_t weight_bytes, sn_linear_t **out,
                                 sinter_error_t *err) {
  *out = NULL;
  if (is_gemm_layout(layout, layout_size)) return create_gemm(desc, layout, weight_bytes, out, err);
  if (desc->int8)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "an int8 linear (K=%lld N=%lld) with weights in a layout this build no "
                        "longer runs; recompile the artifact",
                        (long long)desc->k, (long long)desc->n);
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s;
  if ((s = linear_pd(d, desc, &pd)))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "oneDNN has no f32 matmul for K=%lld N=%lld on this CPU (status %d)",
                        (long long)desc->k, (long long)desc->n, (int)s);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  if (layout_size != sizeof *wmd ||
      !dnnl_memory_desc_equal(wmd, (const dnnl_memory_desc_t *)layout)) {
    dnnl_primitive_desc_destroy(pd);
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "pre-packed weights (K=%lld N=%lld) are laid out for another CPU or "
                        "oneDNN build; recompile the artifact on this machine",
                        (long long)desc->k, (long long)desc->n);
  }
  /* The weights' size follows from the (now trusted) layout: a buffer of
   * any other size would be read out of bounds. */
  size_t want = dnnl_memory_desc_get_size(wmd);
  if (weight_bytes != want) {
    dnnl_primitive_desc_destroy(pd);
    return sn_error_set(err, SINTER_ERR_FORMAT,
                        "weights of a K=%lld N=%lld linear are %zu bytes; the layout needs %zu",
                        (long long)desc->k, (long long)desc->n, weight_bytes, want);
  }
  sn_linear_t *l = calloc(1, sizeof *l);
  if (!l) {
    dnnl_primitive_desc_destroy(pd);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear");
  }
  l->d = d;
  l->desc = *desc;
  l->weights_md = *wmd;
  {
    dnnl_memory_desc_t plain;
    dnnl_dims_t dims = {desc->k, desc->n}, strides = {1, desc->k};
    l->small_m = sn_cpu_isa_max() >= SN_ISA_AVX2 &&
                 dnnl_memory_desc_init_by_strides(&plain, 2, dims, dnnl_f32, strides) == 0 &&
                 dnnl_memory_desc_equal(&plain, wmd) && getenv("SINTER_NO_SMALL_M") == NULL;
  }
  l->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  l->scratch_bytes = (dnnl_memory_desc_get_size(&l->scratch_md) + 63) / 64 * 64;
  if (l->small_m && desc->residual &&
      !(l->tmp = malloc((size_t)(SMALL_M * desc->n) * sizeof(float)))) {
    dnnl_primitive_desc_destroy(pd);
    sn_linear_destroy(l);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear scratch");
  }
  s = dnnl_primitive_create(&l->prim, pd);
  dnnl_primitive_desc_destroy(pd);
  if (s) {
    free(l);
    return sn_error_set(err, SINTER_ERR_INTERNAL, "linear: primitive creation failed (status %d)",
                        (int)s);
  }
  *out = l;
  return SINTER_OK;
}

/* Dot products of one weight row with ROWS rows of x, in registers. */
#define SMALL_M_BLOCK(ROWS)                                                                     \
  do {                                                                                          \
    __m256 acc[ROWS];                                                                           \
    for (int i = 0; i < ROWS; i++) acc[i] = _mm256_setzero_ps();                                \
    for (j = 0; j + 8 <= k; j += 8) {                                                           \
      __m256 wv = _mm256_loadu_ps(wr + j);                                                      \
      for (int i = 0; i < ROWS; i++)                                                            \
        acc[i] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xr + i * k + j), acc[i]);                  \
    }                                                                                           \
    for (int i = 0; i < ROWS; i++) {                                                            \
      __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1)); \
      s4 = _mm_hadd_ps(s4, s4);                                                                 \
      s4 = _mm_hadd_ps(s4, s4);                                                                 \
      float s = _mm_cvtss_f32(s4);                                                              \
      for (int64_t t = j; t < k; t++) s += wr[t] * xr[i * k + t];                               \
      out[(r0 + i) * n + c] = s;                                                                \
    }                                                                                           \
  } while (0)

/* Output column c: out[r, c] = x[r, :] . w[c, :] for every r < m. The weight
 * row is loaded once per block of 8 rows (8 accumulators and the weight
 * vector fit AVX2's 16 registers); x stays in L1. */
__attribute__((target("avx2,fma"))) static void small_m_column(const float *x, const float *wr,
                                                               int64_t m, int64_t k, int64_t n,
                                                               int64_t c, float *out) {
  int64_t r0 = 0, j;
  for (; r0 + 8 <= m; r0 += 8) {
    const float *xr = x + r0 * k;
    SMALL_M_BLOCK(8);
  }
  for (; r0 < m; r0++) {
    const float *xr = x + r0 * k;
    SMALL_M_BLOCK(1);
  }
}

/* out = x w^T for m <= SMALL_M rows, w plain [N, K]; threads split N. (The
 * OpenMP region stays outside the AVX2 function: clang does not carry the
 * target attribute into outlined regions.) */
typedef struct small_m_call {
  const float *x, *w;
  int64_t m, k, n;
  float *out;
} small_m_call_t;

static void small_m_columns(void *ctx, int64_t c0, int64_t c1) {
  const small_m_call_t *s = ctx;
  for (int64_t c = c0; c < c1; c++)
    small_m_column(s->x, s->w + c * s->k, s->m, s->k, s->n, c, s->out);
}

static void small_m_f32(const float *x, const float *w, int64_t m, int64_t k, int64_t n,
                        float *out) {
  small_m_call_t s = {x, w, m, k, n, out};
  sn_threadpool_for(sn_threadpool_current(), n, 16, small_m_columns, &s);
}

/* The epilogue the oneDNN post-ops give, for paths that compute the product
 * themselves: v (m x N, bias already added) gets the activation, then is added
 * onto the residual in out when desc.residual (else v is out). */
static void finish_epilogue(const sn_linear_t *l, int64_t m, float *v, float *out) {
  const int64_t N = l->desc.n;
  switch (l->desc.act) {
    case 1: sn_gelu_f32(v, m * N); break;
    case 2: sn_gelu_tanh_f32(v, m * N); break;
    case 3:
      for (int64_t i = 0; i < m * N; i++) v[i] = v[i] > 0 ? v[i] : 0;
      break;
    case 4: sn_tanh_f32(v, m * N); break;
    default: break;
  }
  if (l->desc.residual)
    for (int64_t i = 0; i < m * N; i++) out[i] += v[i];
}

/* The small-M path: GEMM, then the same epilogue the oneDNN post-ops give. */
static void run_small_m(const sn_linear_t *l, int64_t m, const float *x, const float *w,
                        const float *bias, float *out, float *tmp) {
  const int64_t K = l->desc.k, N = l->desc.n;
  float *v = l->desc.residual ? tmp : out;
  small_m_f32(x, w, m, K, N, v);
  for (int64_t r = 0; r < m; r++)
    for (int64_t c = 0; c < N; c++) v[r * N + c] += bias[c];
  finish_epilogue(l, m, v, out);
}

typedef struct onednn_call {
  sn_linear_t *l;
  int64_t m, rows; /* rows per tile */
  const float *x;
  const void *w;
  const float *bias;
  float *out;
  _Atomic int status; /* the first failure's dnnl_status_t */
} onednn_call_t;

/* One tile of rows of a oneDNN linear, on the calling pool thread. */
static void onednn_tile(void *ctx, size_t tile, int worker) {
  onednn_call_t *c = ctx;
  const sn_linear_t *l = c->l;
  int64_t r0 = (int64_t)tile * c->rows, r1 = r0 + c->rows < c->m ? r0 + c->rows : c->m;
  if (r0 >= r1) return;
  /* This thread's OpenMP threads (a per-thread setting): one, so that the
   * primitive runs here and starts no team. */
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
  const int64_t K = l->desc.k, N = l->desc.n;
  dnnl_memory_desc_t src, bmd, dst;
  dnnl_dims_t src_dims = {r1 - r0, K}, src_strides = {K, 1};
  dnnl_dims_t bias_dims = {1, N};
  dnnl_dims_t dst_dims = {r1 - r0, N}, dst_strides = {N, 1};
  dnnl_memory_t mem[5] = {NULL, NULL, NULL, NULL, NULL};
  dnnl_status_t s;
  void *pad = l->scratch_bytes ? (char *)l->scratch + (size_t)worker * l->scratch_bytes : NULL;
  if ((s = dnnl_memory_desc_init_by_strides(&src, 2, src_dims, dnnl_f32, src_strides)) ||
      (s = dnnl_memory_desc_init_by_tag(&bmd, 2, bias_dims, dnnl_f32, dnnl_ab)) ||
      (s = dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides)) ||
      (s = dnnl_memory_create(&mem[0], &src, l->d->engine, (void *)(c->x + r0 * K))) ||
      (s = dnnl_memory_create(&mem[1], &l->weights_md, l->d->engine, (void *)c->w)) ||
      (s = dnnl_memory_create(&mem[2], &bmd, l->d->engine, (void *)c->bias)) ||
      (s = dnnl_memory_create(&mem[3], &dst, l->d->engine, c->out + r0 * N)) ||
      (pad && (s = dnnl_memory_create(&mem[4], &l->scratch_md, l->d->engine, pad))))
    goto done;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, mem[0]},
                             {DNNL_ARG_WEIGHTS, mem[1]},
                             {DNNL_ARG_BIAS, mem[2]},
                             {DNNL_ARG_DST, mem[3]},
                             {DNNL_ARG_SCRATCHPAD, mem[4]}};
  dnnl_stream_t stream = l->d->streams[worker];
  if (!(s = dnnl_primitive_execute(l->prim, stream, pad ? 5 : 4, args)))
    s = dnnl_stream_wait(stream);
done:
  if (s) {
    int none = 0;
    atomic_compare_exchange_strong(&c->status, &none, (int)s);
  }
  for (int i = 0; i < 5; i++)
    if (mem[i]) dnnl_memory_destroy(mem[i]);
}

sinter_status_t sn_linear_run(sn_linear_t *l, int64_t m, const float *x, const void *w,
                              const float *bias, float *out, sinter_error_t *err) {
  if (l->gemm) {
    /* More threads than at creation (the run's pool is larger): grow once. */
    int threads = sn_threadpool_threads(sn_threadpool_current());
    if (gemm_scratch_reserve(l, threads) != 0)
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear scratch for %d threads", threads);
    if (l->gemm == 1)
      sn_gemm_i8_run(m, l->desc.k, l->desc.n, x, w, bias, l->desc.act, l->desc.residual, out,
                     l->scratch);
    else if (l->gemm == 2)
      sn_gemm_run_bf16(m, l->desc.k, l->desc.n, x, w, bias, l->desc.act, l->desc.residual, out,
                       l->scratch);
    else
      sn_gemm_run(m, l->desc.k, l->desc.n, x, w, bias, l->desc.act, l->desc.residual, out,
                  l->scratch);
    return SINTER_OK;
  }
  if (l->small_m && m <= SMALL_M) {
    run_small_m(l, m, x, w, bias, out, l->tmp);
    return SINTER_OK;
  }
  int threads = sn_threadpool_threads(sn_threadpool_current());
  if (threads > DNNL_MAX_THREADS) threads = 1;
  if (l->scratch_bytes && threads > l->scratch_threads) {
    void *pads = aligned_alloc(64, l->scratch_bytes * (size_t)threads);
    if (!pads) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "linear scratchpads");
    free(l->scratch);
    l->scratch = pads;
    l->scratch_threads = threads;
  }
  for (int t = 1; t < threads; t++)
    if (!l->d->streams[t] &&
        dnnl_stream_create(&l->d->streams[t], l->d->engine, dnnl_stream_default_flags))
      return sn_error_set(err, SINTER_ERR_INTERNAL, "oneDNN: cannot create a stream");
  /* Tiles of at least 16 rows, two per thread so that a late thread's share
   * is taken by the others. */
  int64_t tiles = (m + 15) / 16;
  if (tiles > 2 * threads) tiles = 2 * threads;
  onednn_call_t call = {l, m, (m + tiles - 1) / tiles, x, w, bias, out, 0};
  if (threads == 1)
    for (int64_t t = 0; t < tiles; t++) onednn_tile(&call, (size_t)t, 0);
  else
    sn_threadpool_run(sn_threadpool_current(), (size_t)tiles, onednn_tile, &call);
  int s = atomic_load(&call.status);
  if (s)
    return sn_error_set(err, SINTER_ERR_INTERNAL, "linear: oneDNN execution failed (status %d)", s);
  return SINTER_OK;
}

void sn_linear_destroy(sn_linear_t *l) {
  if (!l) return;
  if (l->prim) dnnl_primitive_destroy(l->prim);
  free(l->tmp), free(l->scratch);
  free(l);
}

const char *sn_dnnl_version(void) {
  static char buf[32];
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
  return buf;
}
