/*
 * elementwise.c — GELU (erf and tanh forms), tanh and row softmax for the
 * compiled executor, with AVX-512, AVX2 and portable inner loops (fused.h).
 *
 * The activations are the FFN's only non-GEMM work and run over T x 4H floats
 * per layer, so they are vectorised with our own accurate exp/erf/tanh
 * (vecmath.h) rather than calling scalar libm per element. The portable path is
 * the reference formula itself.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "base/types.h"
#include "kernels/fused.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

/* Below this many floats a parallel region costs more than it saves. */
#define PARALLEL_MIN 32768
/* Chunk per task: big enough to amortise scheduling, small enough to balance. */
#define CHUNK 16384

typedef void (*unary_fn)(float *x, int64_t n);

static void gelu_portable(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SN_SQRT1_2));
}

static void gelu_tanh_portable(float *x, int64_t n) {
  const float k = SN_GELU_TANH_K; /* the reference's (float)sqrt(2 / pi) */
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
  }
}

static void tanh_portable(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
}

static void silu_portable(float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

#if SN_X86
/* x / (1 + e^-x); e^-x capped at e^88 (finite) where x / (1 + e^-x) is 0 anyway. */
SN_TARGET_AVX512 static inline __m512 silu_v16(__m512 x) {
  __m512 e = sn_exp_v16(_mm512_min_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), SN_V16(88.0f)));
  return _mm512_div_ps(x, _mm512_add_ps(SN_V16(1.0f), e));
}

SN_TARGET_AVX2 static inline __m256 silu_v8(__m256 x) {
  __m256 e = sn_exp_v8(_mm256_min_ps(_mm256_sub_ps(_mm256_setzero_ps(), x), SN_V8(88.0f)));
  return _mm256_div_ps(x, _mm256_add_ps(SN_V8(1.0f), e));
}
#endif

#if SN_X86
/* One definition per (activation, ISA): full vectors, then one masked tail. */
#define SN_UNARY_AVX512(name, vfn)                                                     \
  SN_TARGET_AVX512 static void name(float *x, int64_t n) {                             \
    int64_t i = 0;                                                                     \
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, vfn(_mm512_loadu_ps(x + i))); \
    if (i < n) {                                                                       \
      __mmask16 m = sn_mask16(n - i);                                                  \
      _mm512_mask_storeu_ps(x + i, m, vfn(_mm512_maskz_loadu_ps(m, x + i)));           \
    }                                                                                  \
  }

#define SN_UNARY_AVX2(name, vfn)                                                     \
  SN_TARGET_AVX2 static void name(float *x, int64_t n) {                             \
    int64_t i = 0;                                                                   \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, vfn(_mm256_loadu_ps(x + i))); \
    if (i < n) {                                                                     \
      __m256i m = sn_mask8(n - i);                                                   \
      _mm256_maskstore_ps(x + i, m, vfn(_mm256_maskload_ps(x + i, m)));              \
    }                                                                                \
  }

SN_UNARY_AVX512(gelu_avx512, sn_gelu_v16)
SN_UNARY_AVX512(gelu_tanh_avx512, sn_gelu_tanh_v16)
SN_UNARY_AVX512(tanh_avx512, sn_tanh_v16)
SN_UNARY_AVX512(silu_avx512, silu_v16)
SN_UNARY_AVX2(gelu_avx2, sn_gelu_v8)
SN_UNARY_AVX2(gelu_tanh_avx2, sn_gelu_tanh_v8)
SN_UNARY_AVX2(tanh_avx2, sn_tanh_v8)
SN_UNARY_AVX2(silu_avx2, silu_v8)
#endif

static unary_fn pick(unary_fn avx512, unary_fn avx2, unary_fn portable) {
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512 && avx512) return avx512;
  if (isa >= SN_ISA_AVX2 && avx2) return avx2;
  return portable;
}

typedef struct unary_call {
  unary_fn fn;
  float *x;
  int64_t n;
} unary_call_t;

/* Chunks [c0, c1) of CHUNK floats. */
static void unary_chunks(void *ctx, int64_t c0, int64_t c1) {
  const unary_call_t *u = ctx;
  int64_t a = c0 * CHUNK, b = c1 * CHUNK < u->n ? c1 * CHUNK : u->n;
  u->fn(u->x + a, b - a);
}

static void run_unary(unary_fn fn, float *x, int64_t n) {
  if (n < PARALLEL_MIN) {
    fn(x, n);
    return;
  }
  unary_call_t u = {fn, x, n};
  sn_threadpool_for(sn_threadpool_current(), (n + CHUNK - 1) / CHUNK, 1, unary_chunks, &u);
}

#if SN_X86
#define PICK(base) pick(base##_avx512, base##_avx2, base##_portable)
#else
#define PICK(base) pick(NULL, NULL, base##_portable)
#endif

void sn_gelu_f32(float *x, int64_t n) {
  run_unary(PICK(gelu), x, n);
}

void sn_gelu_tanh_f32(float *x, int64_t n) {
  run_unary(PICK(gelu_tanh), x, n);
}

void sn_tanh_f32(float *x, int64_t n) {
  run_unary(PICK(tanh), x, n);
}

/* ------------------------------------------------------------------ softmax */

typedef void (*softmax_fn)(const float *x, int64_t n, float *out);

static void softmax_portable(const float *x, int64_t n, float *out) {
  float mx = -FLT_MAX;
  for (int64_t j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
  double sum = 0;
  for (int64_t j = 0; j < n; j++) sum += (out[j] = expf(x[j] - mx));
  float inv = (float)(1.0 / sum);
  for (int64_t j = 0; j < n; j++) out[j] *= inv;
}

#if SN_X86
SN_TARGET_AVX512 static void softmax_avx512(const float *x, int64_t n, float *out) {
  __m512 vmax = _mm512_set1_ps(-FLT_MAX);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 m = sn_mask16(n - j);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + j));
  }
  __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax)), vsum = _mm512_setzero_ps();
  /* Masked moves only for the tail: they are slow on AMD cores. */
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512 e = sn_exp_v16(_mm512_sub_ps(_mm512_loadu_ps(x + j), mx));
    vsum = _mm512_add_ps(vsum, e);
    _mm512_storeu_ps(out + j, e);
  }
  if (j < n) {
    __mmask16 m = sn_mask16(n - j);
    __m512 e =
        _mm512_maskz_mov_ps(m, sn_exp_v16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), mx)));
    vsum = _mm512_add_ps(vsum, e);
    _mm512_mask_storeu_ps(out + j, m, e);
  }
  __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
  for (j = 0; j + 16 <= n; j += 16)
    _mm512_storeu_ps(out + j, _mm512_mul_ps(_mm512_loadu_ps(out + j), inv));
  if (j < n) {
    __mmask16 m = sn_mask16(n - j);
    _mm512_mask_storeu_ps(out + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, out + j), inv));
  }
}

SN_TARGET_AVX2 static void softmax_avx2(const float *x, int64_t n, float *out) {
  __m256 vmax = _mm256_set1_ps(-FLT_MAX);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + j));
  float mxs = sn_hmax_v8(vmax);
  for (; j < n; j++) mxs = x[j] > mxs ? x[j] : mxs;
  __m256 mx = _mm256_set1_ps(mxs), vsum = _mm256_setzero_ps();
  for (j = 0; j + 8 <= n; j += 8) {
    __m256 e = sn_exp_v8(_mm256_sub_ps(_mm256_loadu_ps(x + j), mx));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_storeu_ps(out + j, e);
  }
  if (j < n) {
    __m256i m = sn_mask8(n - j);
    __m256 e = sn_exp_v8(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), mx));
    e = _mm256_and_ps(e, _mm256_castsi256_ps(m));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_maskstore_ps(out + j, m, e);
  }
  __m256 inv = _mm256_set1_ps(1.0f / sn_hsum_v8(vsum));
  for (j = 0; j + 8 <= n; j += 8)
    _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(out + j), inv));
  if (j < n) {
    __m256i m = sn_mask8(n - j);
    _mm256_maskstore_ps(out + j, m, _mm256_mul_ps(_mm256_maskload_ps(out + j, m), inv));
  }
}
#endif

typedef struct softmax_call {
  softmax_fn fn;
  const float *x;
  int64_t n;
  float *out;
} softmax_call_t;

static void softmax_rows(void *ctx, int64_t r0, int64_t r1) {
  const softmax_call_t *c = ctx;
  for (int64_t r = r0; r < r1; r++) c->fn(c->x + r * c->n, c->n, c->out + r * c->n);
}

void sn_softmax_rows_f32(const float *x, int64_t rows, int64_t n, float *out) {
  softmax_fn fn = softmax_portable;
#if SN_X86
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512)
    fn = softmax_avx512;
  else if (isa >= SN_ISA_AVX2)
    fn = softmax_avx2;
#endif
  if (n <= 0) return;
  softmax_call_t c = {fn, x, n, out};
  sn_threadpool_for(rows * n >= PARALLEL_MIN ? sn_threadpool_current() : NULL, rows, 1,
                    softmax_rows, &c);
}

/* ------------------------------------------------------- rotary, gated units */

/* RMS-normalises one head row of d floats in place-safe fashion into o. */
static void rms_head(const float *x, const float *gamma, int64_t d, float eps, float *o) {
  double ss = 0;
  for (int64_t c = 0; c < d; c++) ss += (double)x[c] * x[c];
  float inv = 1.0f / sqrtf((float)(ss / (double)d) + eps);
  for (int64_t c = 0; c < d; c++) o[c] = gamma[c] * (x[c] * inv);
}

void sn_rotary_qk_f32(const float *qkv, int64_t stride, const int32_t *offsets, int32_t num_seqs,
                      int32_t heads, int32_t kv_heads, int32_t head_dim, const float *table,
                      const float *q_gamma, const float *k_gamma, float eps, float *out) {
  const int64_t half = head_dim / 2;
  const int64_t kv = kv_heads ? kv_heads : heads, width = (heads + 2 * kv) * head_dim;
  float normed[2 * 1024];
  for (int32_t i = 0; i < num_seqs; i++)
    for (int64_t t = offsets[i]; t < offsets[i + 1]; t++) {
      const float *cs = table + (t - offsets[i]) * head_dim, *sn = cs + half;
      const float *x = qkv + t * stride;
      float *o = out + t * stride;
      /* q then k heads; x1 is read before o1 is written, so out may be qkv. */
      for (int64_t h = 0; h < heads + kv; h++) {
        const float *x1 = x + h * head_dim;
        if (q_gamma && head_dim <= 1024) {
          rms_head(x1, h < heads ? q_gamma : k_gamma, head_dim, eps, normed);
          x1 = normed;
        }
        const float *x2 = x1 + half;
        float *o1 = o + h * head_dim, *o2 = o1 + half;
        for (int64_t c = 0; c < half; c++) {
          float a = x1[c], b = x2[c];
          o1[c] = a * cs[c] + -b * sn[c];
          o2[c] = b * cs[c] + a * sn[c];
        }
      }
      if (out != qkv)
        for (int64_t c = (heads + kv) * head_dim; c < width; c++) o[c] = x[c];
    }
}

void sn_rms_norm_f32(const float *x, const float *gamma, int64_t rows, int64_t h, float eps,
                     float *out) {
  for (int64_t r = 0; r < rows; r++) rms_head(x + r * h, gamma, h, eps, out + r * h);
}

void sn_rms_norm_add_f32(const float *x, const float *gamma, const float *residual, int64_t rows,
                         int64_t h, float eps, float *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * h, *rr = residual + r * h;
    float *o = out + r * h;
    double ss = 0;
    for (int64_t c = 0; c < h; c++) ss += (double)xr[c] * xr[c];
    float inv = 1.0f / sqrtf((float)(ss / (double)h) + eps);
    /* Element c of x and of the residual is read before o[c] is written. */
    for (int64_t c = 0; c < h; c++) o[c] = rr[c] + gamma[c] * (xr[c] * inv);
  }
}

void sn_silu_f32(float *x, int64_t n) {
  run_unary(PICK(silu), x, n);
}

void sn_glu_f32(const float *x, int64_t rows, int64_t inner, int act, float *out) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < inner; c++) out[r * inner + c] = x[r * 2 * inner + c];
  switch (act) {
    case SN_ACT_GELU: sn_gelu_f32(out, rows * inner); break;
    case SN_ACT_GELU_TANH: sn_gelu_tanh_f32(out, rows * inner); break;
    case SN_ACT_RELU:
      for (int64_t k = 0; k < rows * inner; k++) out[k] = out[k] > 0 ? out[k] : 0;
      break;
    case SN_ACT_TANH: sn_tanh_f32(out, rows * inner); break;
    case SN_ACT_SILU: sn_silu_f32(out, rows * inner); break;
    default: break;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < inner; c++) out[r * inner + c] *= x[r * 2 * inner + inner + c];
}
