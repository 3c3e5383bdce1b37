/*
 * norm.c — row-wise reductions for the compiled executor: residual add +
 * LayerNorm, embedding sum + LayerNorm, pooling over packed sequences and L2
 * normalisation (fused.h), each with AVX-512, AVX2 and portable inner loops.
 *
 * LayerNorm is fused with the residual add (and the embedding gathers) so the
 * [T, H] activations are read once from memory; the row (<= 16 KiB for H 4096)
 * then stays in L1 for the second and third passes, which is why a plain
 * two-pass mean/variance in fp32 costs nothing extra and avoids the
 * cancellation of the one-pass sum-of-squares form.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "base/types.h"
#include "kernels/fused.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

/* Below this many floats a parallel region costs more than it saves. */
#define PARALLEL_MIN 32768

/* The calling run's pool when `work` floats are worth splitting, else NULL
 * (inline). */
static sn_threadpool_t *pool_for(int64_t work) {
  return work >= PARALLEL_MIN ? sn_threadpool_current() : NULL;
}

/* out = LayerNorm(a + b + c) * gamma + beta over one row; b and c may be NULL;
 * out may alias a or b. */
typedef void (*ln_row_fn)(const float *a, const float *b, const float *c, const float *gamma,
                          const float *beta, int64_t h, float eps, float *out);

static void ln_row_portable(const float *a, const float *b, const float *c, const float *gamma,
                            const float *beta, int64_t h, float eps, float *out) {
  const float *y = a;
  double sum = 0;
  if (b || c) {
    for (int64_t j = 0; j < h; j++) {
      float v = a[j];
      if (b) v += b[j];
      if (c) v += c[j];
      out[j] = v;
      sum += v;
    }
    y = out;
  } else {
    for (int64_t j = 0; j < h; j++) sum += a[j];
  }
  double mean = sum / (double)h, var = 0;
  for (int64_t j = 0; j < h; j++) var += (y[j] - mean) * (y[j] - mean);
  float inv = (float)(1.0 / sqrt(var / (double)h + eps));
  for (int64_t j = 0; j < h; j++) out[j] = (float)(y[j] - mean) * inv * gamma[j] + beta[j];
}

#if SN_X86
/* The vector rows run full vectors unmasked and only the tail masked: masked
 * stores (vmaskmovps) are microcoded and slow on AMD cores. */
SN_TARGET_AVX512 static void ln_row_avx512(const float *a, const float *b, const float *c,
                                           const float *gamma, const float *beta, int64_t h,
                                           float eps, float *out) {
  const float *y = a;
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t j = 0;
  if (b || c) {
    for (; j + 16 <= h; j += 16) {
      __m512 v = _mm512_loadu_ps(a + j);
      if (b) v = _mm512_add_ps(v, _mm512_loadu_ps(b + j));
      if (c) v = _mm512_add_ps(v, _mm512_loadu_ps(c + j));
      _mm512_storeu_ps(out + j, v);
      s0 = _mm512_add_ps(s0, v);
    }
    if (j < h) {
      __mmask16 m = sn_mask16(h - j);
      __m512 v = _mm512_maskz_loadu_ps(m, a + j);
      if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + j));
      if (c) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c + j));
      _mm512_mask_storeu_ps(out + j, m, v);
      s1 = v;
    }
    y = out;
  } else {
    /* Two accumulators halve the add latency chain on the read-only path. */
    for (; j + 32 <= h; j += 32) {
      s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + j));
      s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + j + 16));
    }
    for (; j < h; j += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(sn_mask16(h - j), a + j));
  }
  float mean = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)) / (float)h;
  __m512 vmean = _mm512_set1_ps(mean), q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
  for (j = 0; j + 32 <= h; j += 32) {
    __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(y + j), vmean);
    __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(y + j + 16), vmean);
    q0 = _mm512_fmadd_ps(d0, d0, q0);
    q1 = _mm512_fmadd_ps(d1, d1, q1);
  }
  for (; j < h; j += 16) {
    __mmask16 m = sn_mask16(h - j);
    __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, y + j), vmean);
    q0 = _mm512_fmadd_ps(d, d, q0);
  }
  float var = _mm512_reduce_add_ps(_mm512_add_ps(q0, q1)) / (float)h;
  __m512 inv = _mm512_set1_ps(1.0f / sqrtf(var + eps));
  for (j = 0; j + 16 <= h; j += 16) {
    __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(y + j), vmean), inv);
    _mm512_storeu_ps(out + j,
                     _mm512_fmadd_ps(d, _mm512_loadu_ps(gamma + j), _mm512_loadu_ps(beta + j)));
  }
  if (j < h) {
    __mmask16 m = sn_mask16(h - j);
    __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, y + j), vmean), inv);
    __m512 o =
        _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + j), _mm512_maskz_loadu_ps(m, beta + j));
    _mm512_mask_storeu_ps(out + j, m, o);
  }
}

SN_TARGET_AVX2 static void ln_row_avx2(const float *a, const float *b, const float *c,
                                       const float *gamma, const float *beta, int64_t h, float eps,
                                       float *out) {
  const float *y = a;
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t j = 0;
  if (b || c) {
    for (; j + 8 <= h; j += 8) {
      __m256 v = _mm256_loadu_ps(a + j);
      if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + j));
      if (c) v = _mm256_add_ps(v, _mm256_loadu_ps(c + j));
      _mm256_storeu_ps(out + j, v);
      s0 = _mm256_add_ps(s0, v);
    }
    if (j < h) {
      __m256i m = sn_mask8(h - j);
      __m256 v = _mm256_maskload_ps(a + j, m);
      if (b) v = _mm256_add_ps(v, _mm256_maskload_ps(b + j, m));
      if (c) v = _mm256_add_ps(v, _mm256_maskload_ps(c + j, m));
      _mm256_maskstore_ps(out + j, m, v);
      s1 = v;
    }
    y = out;
  } else {
    for (; j + 16 <= h; j += 16) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + j));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + j + 8));
    }
    for (; j < h; j += 8) s0 = _mm256_add_ps(s0, _mm256_maskload_ps(a + j, sn_mask8(h - j)));
  }
  float mean = sn_hsum_v8(_mm256_add_ps(s0, s1)) / (float)h;
  __m256 vmean = _mm256_set1_ps(mean), q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps();
  for (j = 0; j + 16 <= h; j += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(y + j), vmean);
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(y + j + 8), vmean);
    q0 = _mm256_fmadd_ps(d0, d0, q0);
    q1 = _mm256_fmadd_ps(d1, d1, q1);
  }
  for (; j < h; j += 8) {
    __m256i m = sn_mask8(h - j);
    __m256 d =
        _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(y + j, m), vmean), _mm256_castsi256_ps(m));
    q0 = _mm256_fmadd_ps(d, d, q0);
  }
  float var = sn_hsum_v8(_mm256_add_ps(q0, q1)) / (float)h;
  __m256 inv = _mm256_set1_ps(1.0f / sqrtf(var + eps));
  for (j = 0; j + 8 <= h; j += 8) {
    __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(y + j), vmean), inv);
    _mm256_storeu_ps(out + j,
                     _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + j), _mm256_loadu_ps(beta + j)));
  }
  if (j < h) {
    __m256i m = sn_mask8(h - j);
    __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(y + j, m), vmean), inv);
    __m256 o =
        _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + j, m), _mm256_maskload_ps(beta + j, m));
    _mm256_maskstore_ps(out + j, m, o);
  }
}
#endif

static ln_row_fn pick_ln_row(void) {
#if SN_X86
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512) return ln_row_avx512;
  if (isa >= SN_ISA_AVX2) return ln_row_avx2;
#endif
  return ln_row_portable;
}

/* The arguments of one LayerNorm call, for its row ranges. */
typedef struct ln_call {
  ln_row_fn fn;
  const float *x, *residual, *gamma, *beta;
  const float *word_table, *pos_table, *type_table; /* the embedding form */
  const int32_t *ids, *type_ids, *offsets;
  int32_t num_seqs;
  int64_t h;
  float eps;
  float *out;
} ln_call_t;

static void add_layernorm_rows(void *ctx, int64_t r0, int64_t r1) {
  const ln_call_t *c = ctx;
  const int64_t h = c->h;
  for (int64_t r = r0; r < r1; r++)
    c->fn(c->x + r * h, c->residual ? c->residual + r * h : NULL, NULL, c->gamma, c->beta, h,
          c->eps, c->out + r * h);
}

void sn_add_layernorm_f32(const float *x, const float *residual, const float *gamma,
                          const float *beta, int64_t rows, int64_t h, float eps, float *out) {
  ln_call_t c = {.fn = pick_ln_row(),
                 .x = x,
                 .residual = residual,
                 .gamma = gamma,
                 .beta = beta,
                 .h = h,
                 .eps = eps,
                 .out = out};
  sn_threadpool_for(pool_for(rows * h), rows, 1, add_layernorm_rows, &c);
}

/* Index of the sequence that owns token t: the last i with offsets[i] <= t
 * among sequences that are not empty. */
static int32_t seq_of_token(const int32_t *offsets, int32_t num_seqs, int64_t t) {
  int32_t lo = 0, hi = num_seqs - 1;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo + 1) / 2;
    if (offsets[mid] <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* A binary search per token is cheaper than one row of LayerNorm and keeps
 * the split a plain range of tokens. */
static void embed_layernorm_rows(void *ctx, int64_t t0, int64_t t1) {
  const ln_call_t *c = ctx;
  const int64_t h = c->h;
  for (int64_t t = t0; t < t1; t++) {
    int64_t p = t - c->offsets[seq_of_token(c->offsets, c->num_seqs, t)];
    const float *type =
        c->type_table ? c->type_table + (int64_t)(c->type_ids ? c->type_ids[t] : 0) * h : NULL;
    c->fn(c->word_table + (int64_t)c->ids[t] * h, type, c->pos_table ? c->pos_table + p * h : NULL,
          c->gamma, c->beta, h, c->eps, c->out + t * h);
  }
}

void sn_embed_layernorm_f32(const float *word_table, const float *pos_table,
                            const float *type_table, const int32_t *ids, const int32_t *type_ids,
                            const int32_t *offsets, int32_t num_seqs, int64_t h, const float *gamma,
                            const float *beta, float eps, float *out) {
  if (num_seqs <= 0) return;
  ln_call_t c = {.fn = pick_ln_row(),
                 .gamma = gamma,
                 .beta = beta,
                 .word_table = word_table,
                 .pos_table = pos_table,
                 .type_table = type_table,
                 .ids = ids,
                 .type_ids = type_ids,
                 .offsets = offsets,
                 .num_seqs = num_seqs,
                 .h = h,
                 .eps = eps,
                 .out = out};
  int64_t total = offsets[num_seqs];
  sn_threadpool_for(pool_for(total * h), total, 1, embed_layernorm_rows, &c);
}

/* ------------------------------------------------------------------ pooling */

/* Pools rows [0, len) of x into out (h floats) for mean, max or sqrt-len; the
 * caller handles CLS and empty sequences. */
typedef void (*pool_fn)(const float *x, int64_t len, int64_t h, int mode, float *out);

static void pool_portable(const float *x, int64_t len, int64_t h, int mode, float *out) {
  for (int64_t j = 0; j < h; j++) {
    if (mode == SINTER_POOL_MAX) {
      float mx = -FLT_MAX;
      for (int64_t t = 0; t < len; t++) mx = x[t * h + j] > mx ? x[t * h + j] : mx;
      out[j] = mx;
    } else {
      double sum = 0;
      for (int64_t t = 0; t < len; t++) sum += x[t * h + j];
      out[j] = (float)(mode == SINTER_POOL_MEAN ? sum / (double)len : sum / sqrt((double)len));
    }
  }
}

#if SN_X86
SN_TARGET_AVX512 static void pool_avx512(const float *x, int64_t len, int64_t h, int mode,
                                         float *out) {
  for (int64_t j = 0; j < h; j += 16) {
    __mmask16 m = sn_mask16(h - j);
    if (mode == SINTER_POOL_MAX) {
      __m512 mx = _mm512_set1_ps(-FLT_MAX);
      for (int64_t t = 0; t < len; t++)
        mx = _mm512_max_ps(mx, _mm512_maskz_loadu_ps(m, x + t * h + j));
      _mm512_mask_storeu_ps(out + j, m, mx);
      continue;
    }
    /* Double accumulators, as the reference: long sequences of large
     * activations would otherwise lose low bits. */
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int64_t t = 0; t < len; t++) {
      __m512 v = _mm512_maskz_loadu_ps(m, x + t * h + j);
      lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
      hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    __m512d d = _mm512_set1_pd(mode == SINTER_POOL_MEAN ? (double)len : sqrt((double)len));
    __m256 rlo = _mm512_cvtpd_ps(_mm512_div_pd(lo, d)), rhi = _mm512_cvtpd_ps(_mm512_div_pd(hi, d));
    _mm512_mask_storeu_ps(out + j, m, _mm512_insertf32x8(_mm512_castps256_ps512(rlo), rhi, 1));
  }
}

SN_TARGET_AVX2 static void pool_avx2(const float *x, int64_t len, int64_t h, int mode, float *out) {
  for (int64_t j = 0; j < h; j += 8) {
    __m256i m = sn_mask8(h - j);
    if (mode == SINTER_POOL_MAX) {
      __m256 mx = _mm256_set1_ps(-FLT_MAX);
      for (int64_t t = 0; t < len; t++)
        mx = _mm256_max_ps(mx, _mm256_maskload_ps(x + t * h + j, m));
      _mm256_maskstore_ps(out + j, m, mx);
      continue;
    }
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    for (int64_t t = 0; t < len; t++) {
      __m256 v = _mm256_maskload_ps(x + t * h + j, m);
      lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    __m256d d = _mm256_set1_pd(mode == SINTER_POOL_MEAN ? (double)len : sqrt((double)len));
    __m128 rlo = _mm256_cvtpd_ps(_mm256_div_pd(lo, d)), rhi = _mm256_cvtpd_ps(_mm256_div_pd(hi, d));
    _mm256_maskstore_ps(out + j, m, _mm256_insertf128_ps(_mm256_castps128_ps256(rlo), rhi, 1));
  }
}
#endif

typedef struct pool_call {
  pool_fn fn;
  const float *x;
  const int32_t *offsets;
  int64_t h;
  int mode;
  float *out;
} pool_call_t;

static void pool_one(const pool_call_t *c, int32_t i) {
  const int64_t h = c->h;
  const int mode = c->mode;
  int64_t len = c->offsets[i + 1] - c->offsets[i];
  const float *seq = c->x + (int64_t)c->offsets[i] * h;
  float *o = c->out + (int64_t)i * h;
  if (mode == SINTER_POOL_CLS && len > 0) {
    memcpy(o, seq, (size_t)h * sizeof(float));
  } else if (mode == SINTER_POOL_LAST_TOKEN && len > 0) {
    memcpy(o, seq + (len - 1) * h, (size_t)h * sizeof(float));
  } else if (mode == SINTER_POOL_WEIGHTED_MEAN && len > 0) {
    /* sentence-transformers: weights 1..len, sums in its float32 order
     * approximated in double, divided by their sum. */
    double wsum = (double)len * (double)(len + 1) / 2.0;
    for (int64_t j = 0; j < h; j++) {
      double s = 0;
      for (int64_t t = 0; t < len; t++) s += (double)seq[t * h + j] * (double)(t + 1);
      o[j] = (float)(s / wsum);
    }
  } else if (mode == SINTER_POOL_SPLADE) {
    /* SPLADE: log(1 + ReLU(max)), the max over tokens of log(1 + ReLU(x)),
     * since the transform is monotone: one log per vocabulary entry, not per
     * token. An empty sequence is all zeros. */
    if (len > 0) {
      c->fn(seq, len, h, SINTER_POOL_MAX, o);
      sn_splade_activate_f32(o, h);
    } else {
      memset(o, 0, (size_t)h * sizeof(float));
    }
  } else if (mode == SINTER_POOL_MAX && len == 0) {
    for (int64_t j = 0; j < h; j++) o[j] = -1e9f;
  } else if ((mode == SINTER_POOL_MEAN || mode == SINTER_POOL_MAX ||
              mode == SINTER_POOL_MEAN_SQRT_LEN) &&
             len > 0) {
    c->fn(seq, len, h, mode, o);
  } else {
    memset(o, 0, (size_t)h * sizeof(float));
  }
}

static void pool_one_tile(void *ctx, size_t i, int worker) {
  (void)worker;
  pool_one(ctx, (int32_t)i);
}

void sn_pool_packed_f32(const float *x, const int32_t *offsets, int32_t num_seqs, int64_t h,
                        int mode, float *out) {
  pool_fn fn = pool_portable;
#if SN_X86
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512)
    fn = pool_avx512;
  else if (isa >= SN_ISA_AVX2)
    fn = pool_avx2;
#endif
  int64_t total = num_seqs > 0 ? offsets[num_seqs] : 0;
  pool_call_t c = {fn, x, offsets, h, mode, out};
  /* One sequence per tile: their lengths differ. */
  sn_threadpool_t *pool = pool_for(total * h);
  if (pool && num_seqs > 1)
    sn_threadpool_run(pool, (size_t)num_seqs, pool_one_tile, &c);
  else
    for (int32_t i = 0; i < num_seqs; i++) pool_one(&c, i);
}

/* --------------------------------------------- SPLADE over chunks of rows */

typedef struct max_rows_call {
  const float *x; /* the chunk: rows row0 .. row0 + rows - 1 of the batch, [rows, n] */
  int64_t row0, rows, n;
  const int32_t *offsets;
  int32_t first, num_seqs; /* first: the first sequence ending after row0 */
  float *acc;              /* [num_seqs, n] */
} max_rows_call_t;

/* Columns [j0, j1) of every sequence the chunk touches: a column range is
 * one thread's, so no two threads write one accumulator. */
static void max_rows_cols(void *ctx, int64_t j0, int64_t j1) {
  const max_rows_call_t *c = ctx;
  const int64_t end = c->row0 + c->rows;
  for (int32_t s = c->first; s < c->num_seqs && c->offsets[s] < end; s++) {
    int64_t t0 = c->offsets[s] > c->row0 ? c->offsets[s] : c->row0;
    int64_t t1 = c->offsets[s + 1] < end ? c->offsets[s + 1] : end;
    float *o = c->acc + (int64_t)s * c->n;
    for (int64_t t = t0; t < t1; t++) {
      const float *row = c->x + (t - c->row0) * c->n;
      for (int64_t j = j0; j < j1; j++) o[j] = row[j] > o[j] ? row[j] : o[j];
    }
  }
}

void sn_pool_max_rows_f32(const float *x, int64_t row0, int64_t rows, int64_t n,
                          const int32_t *offsets, int32_t num_seqs, float *acc) {
  /* Offsets never decrease: the first sequence ending after row0 by bisection. */
  int32_t lo = 0, hi = num_seqs;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (offsets[mid + 1] <= row0)
      lo = mid + 1;
    else
      hi = mid;
  }
  max_rows_call_t c = {x, row0, rows, n, offsets, lo, num_seqs, acc};
  sn_threadpool_for(pool_for(rows * n), n, 256, max_rows_cols, &c);
}

void sn_splade_activate_f32(float *x, int64_t n) {
  for (int64_t j = 0; j < n; j++) x[j] = x[j] > 0.0f ? log1pf(x[j]) : 0.0f;
}

/* --------------------------------------------------------------- normalise */

typedef void (*l2_fn)(float *x, int64_t h);

/* Sums of squares in double, as the reference: the result is a unit vector
 * compared for cosine similarity, where a relative 1e-7 matters. */
static void l2_portable(float *x, int64_t h) {
  double ss = 0;
  for (int64_t j = 0; j < h; j++) ss += (double)x[j] * x[j];
  double norm = sqrt(ss);
  float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
  for (int64_t j = 0; j < h; j++) x[j] *= inv;
}

#if SN_X86
SN_TARGET_AVX512 static void l2_avx512(float *x, int64_t h) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t j = 0; j < h; j += 16) {
    __m512 v = _mm512_maskz_loadu_ps(sn_mask16(h - j), x + j);
    __m512d a = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d b = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    lo = _mm512_fmadd_pd(a, a, lo);
    hi = _mm512_fmadd_pd(b, b, hi);
  }
  double norm = sqrt(_mm512_reduce_add_pd(_mm512_add_pd(lo, hi)));
  __m512 inv = _mm512_set1_ps((float)(1.0 / (norm > 1e-12 ? norm : 1e-12)));
  int64_t j = 0;
  for (; j + 16 <= h; j += 16) _mm512_storeu_ps(x + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
  if (j < h) {
    __mmask16 m = sn_mask16(h - j);
    _mm512_mask_storeu_ps(x + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), inv));
  }
}

SN_TARGET_AVX2 static void l2_avx2(float *x, int64_t h) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int64_t j = 0; j < h; j += 8) {
    __m256 v = _mm256_maskload_ps(x + j, sn_mask8(h - j));
    __m256d a = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d b = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    lo = _mm256_fmadd_pd(a, a, lo);
    hi = _mm256_fmadd_pd(b, b, hi);
  }
  __m256d s = _mm256_add_pd(lo, hi);
  __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  double norm = sqrt(_mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2))));
  __m256 inv = _mm256_set1_ps((float)(1.0 / (norm > 1e-12 ? norm : 1e-12)));
  int64_t j = 0;
  for (; j + 8 <= h; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), inv));
  if (j < h) {
    __m256i m = sn_mask8(h - j);
    _mm256_maskstore_ps(x + j, m, _mm256_mul_ps(_mm256_maskload_ps(x + j, m), inv));
  }
}
#endif

typedef struct l2_call {
  l2_fn fn;
  float *x;
  int64_t h;
} l2_call_t;

static void l2_rows(void *ctx, int64_t r0, int64_t r1) {
  const l2_call_t *c = ctx;
  for (int64_t r = r0; r < r1; r++) c->fn(c->x + r * c->h, c->h);
}

void sn_l2_normalize_f32(float *x, int64_t rows, int64_t h) {
  l2_fn fn = l2_portable;
#if SN_X86
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512)
    fn = l2_avx512;
  else if (isa >= SN_ISA_AVX2)
    fn = l2_avx2;
#endif
  l2_call_t c = {fn, x, h};
  sn_threadpool_for(pool_for(rows * h), rows, 1, l2_rows, &c);
}
