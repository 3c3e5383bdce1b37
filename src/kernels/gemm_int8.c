/*
 * gemm_int8.c — exact int8 GEMM over pre-packed, pre-quantised weights
 * (gemm_int8.h).
 *
 * Loop nest of one task (rows [m0, m1) x weight panels [p0, p1)):
 *   for each M block of up to mc rows
 *     quantise the block's rows (per-row scale, then s8 or biased u8, plus
 *     |q| for the AVX2 sign trick) into this thread's scratch, row-major
 *     with stride lda
 *     for each weight panel (two at a time on AVX-512 VNNI: a 12 x 32 tile;
 *     one on AVX-VNNI, 6 x 16, and AVX2, 4 x 16)
 *       for each row tile: the microkernel over all of K into s32
 *       registers, then the epilogue on the tile, still in registers
 * There is no K blocking: a panel is K x 16 bytes (6 KiB at K = 384, 48 KiB
 * at K = 3072), so it streams from L1/L2 across the row tiles of its block,
 * and a full-K s32 sum never needs a partial round trip through out. The
 * quantised A block is bounded to BLOCK_BYTES, which sets mc.
 *
 * The outlier channels' fp32 products are added in the epilogue: one fused
 * multiply-add per slot, row and 8 or 16 columns (fmaf in the portable
 * path, so that every path rounds alike).
 *
 * Activation quantisation is fused into the GEMM: the block's rows are read
 * once for their maximum and once to quantise, and the fp32 input is never
 * written back. A producer (LayerNorm, GELU) computing the scale would save
 * only that first read of a row (a few KiB, in L1 when the second comes),
 * and it would need a second output per op for the residual stream.
 *
 * Threads take (M block, panel chunk) tasks dynamically, as gemm.c does,
 * with more M blocks preferred over N chunks (a task quantises its M block,
 * so N chunks of one block would repeat that). With a single M block (a few
 * rows), its rows are quantised once, shared, and the threads split N.
 */
#include "kernels/gemm_int8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/target.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

#define NR SN_GEMM_I8_NR
#define MR_VNNI 12   /* rows per VNNI tile: 24 zmm sums for two panels */
#define MR_AVX2 4    /* rows per AVX2 tile: 8 ymm sums, b0, b1, |a|, a, ones, temps */
#define MR_AVXVNNI 6 /* rows per AVX-VNNI tile: 12 ymm sums, b0, b1, a */
#define MR_ALL 12    /* M blocks are multiples of every path's tile */
/* Quantised A block per task (bytes, |q| included): 256 KiB stays in L2
 * beside the streaming panel. */
#define BLOCK_BYTES (256 * 1024)
#define MC_MAX 192
#define TASKS 4           /* tasks per thread wanted */
#define MIN_CHUNK 4       /* narrowest panel chunk of a task */
#define MIN_BLOCK_ROWS 48 /* shortest M block made to get more tasks */
/* Below this many ops one thread runs it (waking the pool costs 40-75 us).
 * In a whole model the pool is awake (the CLI's short spin), and MiniLM's
 * 16-token request measured 0.57-0.63 ms p50 with 4e6 against 0.75-0.83 ms
 * with 1.5e8 (every linear on one thread), although alone, with the pool
 * asleep between calls, one thread wins up to ~1e8 (bench_gemm --int8). */
#define PARALLEL_MIN_OPS 4e6

enum { PATH_PORTABLE = 0, PATH_AVX2 = 1, PATH_VNNI = 2, PATH_AVXVNNI = 3 };

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

static int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

static int64_t k_padded(int64_t k) {
  return ceil_div(k, 4) * 4;
}

/* Row stride of the quantised A block: Kp rounded to 64 bytes, plus 64 so
 * that rows a power of two apart do not share L1 sets. */
static int64_t a_stride(int64_t k) {
  return ceil_div(k_padded(k), 64) * 64 + 64;
}

/* Rows per M block for a K: a multiple of MR_ALL within BLOCK_BYTES. */
static int64_t block_rows(int64_t k) {
  int64_t r = BLOCK_BYTES / (2 * a_stride(k)) / MR_ALL * MR_ALL;
  return r < MR_ALL ? MR_ALL : r > MC_MAX ? MC_MAX : r;
}

/* Per-thread scratch: the A block (q, then |q|), its row scales, one row
 * buffer; 64-byte multiples. */
static size_t thread_scratch(int64_t k) {
  size_t rows = (size_t)block_rows(k), lda = (size_t)a_stride(k);
  return 2 * rows * lda + (rows * sizeof(float) + 63) / 64 * 64;
}

size_t sn_gemm_i8_scratch_bytes(int64_t k, int threads) {
  if (threads < 1) threads = 1;
  if (k < 1 || k > SN_GEMM_I8_MAX_K) return 0;
  return thread_scratch(k) * (size_t)threads;
}

/* Bytes of the outlier slots' channel list: 8 int32, padded to 64. */
#define OUTLIER_LIST_BYTES 64

size_t sn_gemm_i8_packed_bytes(int64_t k, int64_t n) {
  if (k <= 0 || n <= 0 || k > SN_GEMM_I8_MAX_K) return 0;
  size_t p = (size_t)ceil_div(n, NR), kp = (size_t)k_padded(k);
  return p * kp * NR + p * NR * (sizeof(float) + sizeof(int32_t)) + kp * sizeof(float) +
         OUTLIER_LIST_BYTES + SN_GEMM_I8_OUTLIERS * p * NR * sizeof(float);
}

typedef struct parts {
  const int8_t *w;
  const float *sw;
  const int32_t *col_sums;
  const float *mask;
  const int32_t *outliers;
  const float *wo; /* [SN_GEMM_I8_OUTLIERS][P * 16] */
} parts_t;

static parts_t parts_of(int64_t k, int64_t n, const void *packed) {
  int64_t p = ceil_div(n, NR), kp = k_padded(k);
  parts_t r;
  r.w = packed;
  r.sw = (const float *)(r.w + p * kp * NR);
  r.col_sums = (const int32_t *)(r.sw + p * NR);
  r.mask = (const float *)(r.col_sums + p * NR);
  r.outliers = (const int32_t *)(r.mask + kp);
  r.wo = (const float *)((const char *)r.outliers + OUTLIER_LIST_BYTES);
  return r;
}

void sn_gemm_i8_parts(int64_t k, int64_t n, const void *packed, const int8_t **weights,
                      const float **scales, const int32_t **col_sums, const float **mask,
                      const int32_t **outliers) {
  parts_t r = parts_of(k, n, packed);
  if (weights) *weights = r.w;
  if (scales) *scales = r.sw;
  if (col_sums) *col_sums = r.col_sums;
  if (mask) *mask = r.mask;
  if (outliers) *outliers = r.outliers;
}

static int8_t clamp127(long v) {
  return (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
}

void sn_gemm_i8_pack(int64_t k, int64_t n, const float *w, int num_outliers,
                     const int32_t *outliers, void *packed) {
  const int64_t kp = k_padded(k), np = ceil_div(n, NR) * NR;
  memset(packed, 0, sn_gemm_i8_packed_bytes(k, n));
  parts_t r = parts_of(k, n, packed);
  int8_t *qw = (int8_t *)r.w;
  float *sw = (float *)r.sw, *c = (float *)r.mask, *wo = (float *)r.wo;
  int32_t *sums = (int32_t *)r.col_sums, *slots = (int32_t *)r.outliers;
  for (int64_t kk = 0; kk < kp; kk++) c[kk] = 1.0f;
  for (int o = 0; o < SN_GEMM_I8_OUTLIERS; o++) {
    slots[o] = o < num_outliers ? outliers[o] : -1;
    if (o >= num_outliers) continue;
    c[outliers[o]] = 0.0f;
    for (int64_t col = 0; col < n; col++) wo[o * np + col] = w[col * k + outliers[o]];
  }
  for (int64_t col = 0; col < n; col++) {
    const float *row = w + col * k;
    float amax = 0;
    for (int64_t kk = 0; kk < k; kk++) amax = fmaxf(amax, fabsf(c[kk] * row[kk]));
    float inv = amax > 0 ? 127.0f / amax : 0.0f;
    sw[col] = amax / 127.0f;
    int64_t p = col / NR, t = col % NR;
    int32_t sum = 0;
    for (int64_t kk = 0; kk < k; kk++) {
      int8_t q = clamp127(lrintf(c[kk] * row[kk] * inv));
      qw[p * kp * NR + kk / 4 * 64 + 4 * t + kk % 4] = q;
      sum += q;
    }
    sums[col] = sum;
  }
}

/* ------------------------------------------------------- quantising rows */

/* The scale of a row whose largest |x c| is amax, and 127 / amax; a zero row
 * quantises to zeros with scale 0, a non-finite one to zeros with scale NaN
 * (its outputs are NaN, as the product would be). */
static float row_scale(float amax, float *inv) {
  if (!(amax > 0) || !isfinite(amax)) {
    *inv = 0;
    return amax == 0 ? 0.0f : NAN;
  }
  *inv = 127.0f / amax;
  return amax / 127.0f;
}

/* Portable quantisation of one row into q[0..kp) (zero padded). The vector
 * versions below compute the same products in the same order, so every path
 * quantises a row to the same bytes. */
static float quantize_scalar(int64_t k, const float *x, const float *c, int8_t *q) {
  float amax = 0, inv;
  for (int64_t kk = 0; kk < k; kk++) amax = fmaxf(amax, fabsf(x[kk] * c[kk]));
  float s = row_scale(amax, &inv);
  for (int64_t kk = 0; kk < k; kk++) q[kk] = clamp127(lrintf(x[kk] * c[kk] * inv));
  for (int64_t kk = k; kk < k_padded(k); kk++) q[kk] = 0;
  return s;
}

float sn_gemm_i8_quantize_row(int64_t k, int64_t n, const void *packed, const float *x, int8_t *q) {
  return quantize_scalar(k, x, parts_of(k, n, packed).mask, q);
}

/* One call's shape and operands, shared by all threads. */
typedef struct plan {
  int64_t m, k, n, kp, lda;
  int64_t mc_max;             /* rows per M block at most */
  int64_t mc, chunk, nchunks; /* task grid */
  int act, residual, path;
  const float *x, *bias;
  parts_t w;
  int num_outliers;                            /* valid slots, gathered: */
  int32_t outlier[SN_GEMM_I8_OUTLIERS];        /* their channels, each in [0, k) */
  const float *outlier_w[SN_GEMM_I8_OUTLIERS]; /* and their weight rows [P * 16] */
  float *out;
} plan_t;

/* Rows [m0, m1) x panels [p0, p1), one row and one column at a time. */
static void run_range_portable(const plan_t *p, int64_t m0, int64_t m1, int64_t p0, int64_t p1,
                               unsigned char *scratch) {
  const int64_t K = p->k, N = p->n, kp = p->kp;
  int8_t *q = (int8_t *)scratch;
  for (int64_t i = m0; i < m1; i++) {
    float sx = quantize_scalar(K, p->x + i * K, p->w.mask, q);
    for (int64_t j = p0; j < p1; j++) {
      const int8_t *b = p->w.w + j * kp * NR;
      for (int64_t t = 0; t < NR && j * NR + t < N; t++) {
        int64_t col = j * NR + t;
        int32_t acc = 0;
        for (int64_t kk = 0; kk < kp; kk++)
          acc += (int32_t)q[kk] * (int32_t)b[kk / 4 * 64 + 4 * t + kk % 4];
        /* The vector paths' order: bias and outlier products first. */
        float f = p->bias ? p->bias[col] : 0.0f;
        for (int o = 0; o < p->num_outliers; o++)
          f = fmaf(p->x[i * K + p->outlier[o]], p->outlier_w[o][col], f);
        float v = (float)acc * (sx * p->w.sw[col]) + f;
        v = sn_act_scalar(v, p->act);
        float *o = p->out + i * N + col;
        *o = p->residual ? *o + v : v;
      }
    }
  }
}

/* A quantised A block in a thread's scratch (or the shared one): rows of q
 * (biased u8 on the VNNI path), rows of |q| (AVX2), one scale per row. */
typedef struct ablock {
  int8_t *q, *aq;
  float *sx;
} ablock_t;

static ablock_t ablock_of(const plan_t *p, unsigned char *scratch) {
  ablock_t b;
  b.q = (int8_t *)scratch;
  b.aq = b.q + p->mc_max * p->lda;
  b.sx = (float *)(b.aq + p->mc_max * p->lda);
  return b;
}

/* Block row r's part of b. */
static ablock_t ablock_row(const plan_t *p, ablock_t b, int64_t r) {
  b.q += r * p->lda, b.aq += r * p->lda, b.sx += r;
  return b;
}

#if SN_X86

/* --------------------------------------------------------------- AVX2 */

/* Quantises rows [0, mb) of x (row stride K) into q (and |q| into aq), row
 * stride lda, zero padded to kp; scales into sx. */
/* Quantises rows [0, mb) of x (row stride K) into q, row stride lda, zero
 * padded to kp: with |q| into aq for the sign trick, or (aq NULL) biased to
 * u8 (q + 128) for AVX-VNNI; scales into sx. */
SN_TARGET_AVX2 static void quantize_block_avx2(const plan_t *p, const float *x, int64_t mb,
                                               int8_t *q, int8_t *aq, float *sx) {
  const int64_t K = p->k;
  const float *c = p->w.mask;
  for (int64_t i = 0; i < mb; i++) {
    const float *xr = x + i * K;
    int8_t *qr = q + i * p->lda, *ar = aq ? aq + i * p->lda : NULL;
    __m256 vmax = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int64_t kk = 0;
    for (; kk + 8 <= K; kk += 8) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + kk), _mm256_loadu_ps(c + kk));
      vmax = _mm256_max_ps(_mm256_andnot_ps(sign, v), vmax); /* NaN lanes keep vmax */
    }
    float amax = sn_hmax_v8(vmax), inv;
    for (; kk < K; kk++) amax = fmaxf(amax, fabsf(xr[kk] * c[kk]));
    sx[i] = row_scale(amax, &inv);
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    for (kk = 0; kk + 8 <= K; kk += 8) {
      __m256 v =
          _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + kk), _mm256_loadu_ps(c + kk)), vinv);
      __m256i q32 = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(v), lo), hi);
      __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(q32), _mm256_extracti128_si256(q32, 1));
      if (ar) {
        __m128i a16 = _mm_abs_epi16(w16);
        _mm_storel_epi64((__m128i *)(qr + kk), _mm_packs_epi16(w16, w16));
        _mm_storel_epi64((__m128i *)(ar + kk), _mm_packs_epi16(a16, a16));
      } else {
        __m128i u16 = _mm_add_epi16(w16, _mm_set1_epi16(128));
        _mm_storel_epi64((__m128i *)(qr + kk), _mm_packus_epi16(u16, u16));
      }
    }
    for (; kk < K; kk++) {
      int8_t v = clamp127(lrintf(xr[kk] * c[kk] * inv));
      if (ar) {
        qr[kk] = v;
        ar[kk] = (int8_t)(v < 0 ? -v : v);
      } else {
        ((uint8_t *)qr)[kk] = (uint8_t)(v + 128);
      }
    }
    for (; kk < p->kp; kk++) {
      ((uint8_t *)qr)[kk] = ar ? 0 : 128; /* the bias of a zero; its weights are 0 */
      if (ar) ar[kk] = 0;
    }
  }
}

/* s32 sums of a tile of `rows` (1..4) rows x 16 columns into acc[2 i + h]
 * (h: columns 0..7, 8..15): vpsignb gives each weight vector the sign of the
 * row's activations, vpmaddubsw multiplies by |a| (pair sums <= 32258),
 * vpmaddwd by ones widens to s32. Named sums, to stay in registers. */
__attribute__((always_inline)) SN_TARGET_AVX2 static inline void sums_avx2(
    const int rows, int64_t kp, const int8_t *q, const int8_t *aq, int64_t lda, const int8_t *b,
    __m256i acc[2 * MR_AVX2]) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s0_0 = _mm256_setzero_si256(), s0_1 = s0_0, s1_0 = s0_0, s1_1 = s0_0;
  __m256i s2_0 = s0_0, s2_1 = s0_0, s3_0 = s0_0, s3_1 = s0_0;
#define SN_I8_ROW(i)                                                    \
  if ((i) < rows) {                                                     \
    int32_t sv, av;                                                     \
    memcpy(&sv, q + (i)*lda + kk, 4);                                   \
    memcpy(&av, aq + (i)*lda + kk, 4);                                  \
    __m256i sg = _mm256_set1_epi32(sv), a = _mm256_set1_epi32(av);      \
    __m256i t0 = _mm256_maddubs_epi16(a, _mm256_sign_epi8(b0, sg));     \
    __m256i t1 = _mm256_maddubs_epi16(a, _mm256_sign_epi8(b1, sg));     \
    s##i##_0 = _mm256_add_epi32(s##i##_0, _mm256_madd_epi16(t0, ones)); \
    s##i##_1 = _mm256_add_epi32(s##i##_1, _mm256_madd_epi16(t1, ones)); \
  }
  for (int64_t kk = 0; kk < kp; kk += 4, b += 64) {
    __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
    SN_I8_ROW(0) SN_I8_ROW(1) SN_I8_ROW(2) SN_I8_ROW(3)
  }
#undef SN_I8_ROW
  acc[0] = s0_0, acc[1] = s0_1, acc[2] = s1_0, acc[3] = s1_1;
  acc[4] = s2_0, acc[5] = s2_1, acc[6] = s3_0, acc[7] = s3_1;
}

/* GELU (erf form) for the int8 epilogues: erfc by Abramowitz & Stegun 7.1.26
 * (absolute error <= 1.5e-7), one exp and one reciprocal, about half the work
 * of sn_gelu_v16/_v8, whose 1-ulp accuracy the int8 products' own error
 * (~1e-3 relative) makes moot. The erf form's 1 + erf(x / sqrt 2) is 2 - q for
 * x >= 0 and q for x < 0, with q = erfc(|x| / sqrt 2) (no cancellation). */
#define AS_P 0.3275911f
#define AS_A1 0.254829592f
#define AS_A2 -0.284496736f
#define AS_A3 1.421413741f
#define AS_A4 -1.453152027f
#define AS_A5 1.061405429f

SN_TARGET_AVX2 static inline __m256 gelu_int8_v8(__m256 x) {
  __m256 z = _mm256_mul_ps(sn_abs_v8(x), SN_V8(SN_SQRT1_2));
  __m256 d = _mm256_fmadd_ps(z, SN_V8(AS_P), SN_V8(1.0f));
  __m256 r = _mm256_rcp_ps(d);
  __m256 t = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, SN_V8(2.0f)));
  __m256 q = _mm256_fmadd_ps(SN_V8(AS_A5), t, SN_V8(AS_A4));
  q = _mm256_fmadd_ps(q, t, SN_V8(AS_A3));
  q = _mm256_fmadd_ps(q, t, SN_V8(AS_A2));
  q = _mm256_fmadd_ps(q, t, SN_V8(AS_A1));
  q = _mm256_mul_ps(_mm256_mul_ps(q, t),
                    sn_exp2_neg_v8(_mm256_mul_ps(_mm256_mul_ps(z, z), SN_V8(-SN_LOG2E))));
  __m256 s = _mm256_blendv_ps(_mm256_sub_ps(SN_V8(2.0f), q), q, x); /* sign bit of x picks */
  return _mm256_mul_ps(_mm256_mul_ps(SN_V8(0.5f), x), s);
}

/* The fp32 epilogue on 8 columns: v = sum * (sx sw) (+ bias), act. */
SN_TARGET_AVX2 static inline __m256 finish_v8(__m256i sum, __m256 scale, __m256 bias, int act) {
  __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), scale), bias);
  switch (act) {
    case 1: return gelu_int8_v8(v);
    case 2: return sn_gelu_tanh_v8(v);
    case 3: return _mm256_max_ps(v, _mm256_setzero_ps());
    case 4: return sn_tanh_v8(v);
    default: return v;
  }
}

/* One tile: sums, then epilogue into out (nc valid columns of 16). */
/* The epilogue of one 16-column panel for `rows` rows of s32 sums acc[2 i + h];
 * biased: the sums include 128 * column sum (AVX-VNNI's u8 activations). */
__attribute__((always_inline)) SN_TARGET_AVX2 static inline void epilogue_avx2(
    const int rows, const int biased, const plan_t *p, const float *x, const __m256i *acc,
    const float *sx, int64_t j, float *out) {
  const int64_t c0 = j * NR, nc = min64(NR, p->n - c0), N = p->n;
  float bb[NR] = {0};
  if (p->bias) memcpy(bb, p->bias + c0, (size_t)nc * sizeof(float));
  __m256 sw0 = _mm256_loadu_ps(p->w.sw + c0), sw1 = _mm256_loadu_ps(p->w.sw + c0 + 8);
  __m256 bias0 = _mm256_loadu_ps(bb), bias1 = _mm256_loadu_ps(bb + 8);
  __m256i comp0 = _mm256_setzero_si256(), comp1 = comp0;
  if (biased) {
    comp0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(p->w.col_sums + c0)), 7);
    comp1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(p->w.col_sums + c0 + 8)), 7);
  }
  for (int i = 0; i < rows; i++) {
    __m256 s = _mm256_set1_ps(sx[i]), f0 = bias0, f1 = bias1;
    const float *xr = x + i * p->k;
    for (int o = 0; o < p->num_outliers; o++) {
      __m256 xo = _mm256_set1_ps(xr[p->outlier[o]]);
      f0 = _mm256_fmadd_ps(xo, _mm256_loadu_ps(p->outlier_w[o] + c0), f0);
      f1 = _mm256_fmadd_ps(xo, _mm256_loadu_ps(p->outlier_w[o] + c0 + 8), f1);
    }
    __m256i a0 = acc[2 * i], a1 = acc[2 * i + 1];
    if (biased) a0 = _mm256_sub_epi32(a0, comp0), a1 = _mm256_sub_epi32(a1, comp1);
    __m256 v0 = finish_v8(a0, _mm256_mul_ps(sw0, s), f0, p->act);
    __m256 v1 = finish_v8(a1, _mm256_mul_ps(sw1, s), f1, p->act);
    float *o = out + i * N + c0;
    if (nc == NR) {
      if (p->residual) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(o), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(o + 8), v1);
      }
      _mm256_storeu_ps(o, v0);
      _mm256_storeu_ps(o + 8, v1);
    } else {
      float t[NR];
      _mm256_storeu_ps(t, v0);
      _mm256_storeu_ps(t + 8, v1);
      for (int64_t c = 0; c < nc; c++) o[c] = p->residual ? o[c] + t[c] : t[c];
    }
  }
}

/* One tile: sums, then epilogue into out. */
__attribute__((always_inline)) SN_TARGET_AVX2 static inline void tile_avx2(
    const int rows, const plan_t *p, const float *x, const int8_t *q, const int8_t *aq,
    const float *sx, int64_t j, float *out) {
  __m256i acc[2 * MR_AVX2];
  sums_avx2(rows, p->kp, q, aq, p->lda, p->w.w + j * p->kp * NR, acc);
  epilogue_avx2(rows, 0, p, x, acc, sx, j, out);
}

typedef void (*tile_avx2_fn)(const plan_t *, const float *, const int8_t *, const int8_t *,
                             const float *, int64_t, float *);
#define SN_I8_TILE_AVX2(R)                                                                   \
  SN_TARGET_AVX2 static void tile_avx2_##R(const plan_t *p, const float *x, const int8_t *q, \
                                           const int8_t *aq, const float *sx, int64_t j,     \
                                           float *out) {                                     \
    tile_avx2(R, p, x, q, aq, sx, j, out);                                                   \
  }
SN_I8_TILE_AVX2(1)
SN_I8_TILE_AVX2(2)
SN_I8_TILE_AVX2(3)
SN_I8_TILE_AVX2(4)
#undef SN_I8_TILE_AVX2
static const tile_avx2_fn tiles_avx2[MR_AVX2 + 1] = {NULL, tile_avx2_1, tile_avx2_2, tile_avx2_3,
                                                     tile_avx2_4};

/* Panels [p0, p1) of block rows [i0, i0 + mb), quantised in b. */
SN_TARGET_AVX2 static void compute_avx2(const plan_t *p, int64_t i0, int64_t mb, int64_t p0,
                                        int64_t p1, ablock_t b) {
  for (int64_t j = p0; j < p1; j++)
    for (int64_t ir = 0; ir < mb; ir += MR_AVX2) {
      int64_t mr = min64(MR_AVX2, mb - ir);
      tiles_avx2[mr](p, p->x + (i0 + ir) * p->k, b.q + ir * p->lda, b.aq + ir * p->lda, b.sx + ir,
                     j, p->out + (i0 + ir) * p->n);
    }
}

/* ------------------------------------------------------------ AVX-VNNI */

#define SN_TARGET_AVXVNNI __attribute__((target("avx2,fma,bmi,bmi2,avxvnni")))

/* s32 sums of `rows` (1..6) rows x 16 columns on 256-bit vpdpbusd, with the
 * activations biased to u8 as on the AVX-512 VNNI path: 12 named sums. */
__attribute__((always_inline)) SN_TARGET_AVXVNNI static inline void sums_avxvnni(
    const int rows, int64_t kp, const uint8_t *u, int64_t lda, const int8_t *b,
    __m256i acc[2 * MR_AVXVNNI]) {
  __m256i s0_0 = _mm256_setzero_si256(), s0_1 = s0_0, s1_0 = s0_0, s1_1 = s0_0, s2_0 = s0_0,
          s2_1 = s0_0, s3_0 = s0_0, s3_1 = s0_0, s4_0 = s0_0, s4_1 = s0_0, s5_0 = s0_0, s5_1 = s0_0;
#define SN_I8_ROW(i)                                     \
  if ((i) < rows) {                                      \
    int32_t av;                                          \
    memcpy(&av, u + (i)*lda + kk, 4);                    \
    __m256i a = _mm256_set1_epi32(av);                   \
    s##i##_0 = _mm256_dpbusd_avx_epi32(s##i##_0, a, b0); \
    s##i##_1 = _mm256_dpbusd_avx_epi32(s##i##_1, a, b1); \
  }
  for (int64_t kk = 0; kk < kp; kk += 4, b += 64) {
    __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
    SN_I8_ROW(0) SN_I8_ROW(1) SN_I8_ROW(2) SN_I8_ROW(3) SN_I8_ROW(4) SN_I8_ROW(5)
  }
#undef SN_I8_ROW
  acc[0] = s0_0, acc[1] = s0_1, acc[2] = s1_0, acc[3] = s1_1, acc[4] = s2_0, acc[5] = s2_1;
  acc[6] = s3_0, acc[7] = s3_1, acc[8] = s4_0, acc[9] = s4_1, acc[10] = s5_0, acc[11] = s5_1;
}

typedef void (*tile_avxvnni_fn)(const plan_t *, const float *, const uint8_t *, const float *,
                                int64_t, float *);
#define SN_I8_TILE_AVXVNNI(R)                                                                      \
  SN_TARGET_AVXVNNI static void tile_avxvnni_##R(                                                  \
      const plan_t *p, const float *x, const uint8_t *u, const float *sx, int64_t j, float *out) { \
    __m256i acc[2 * MR_AVXVNNI];                                                                   \
    sums_avxvnni(R, p->kp, u, p->lda, p->w.w + j * p->kp * NR, acc);                               \
    epilogue_avx2(R, 1, p, x, acc, sx, j, out);                                                    \
  }
SN_I8_TILE_AVXVNNI(1)
SN_I8_TILE_AVXVNNI(2)
SN_I8_TILE_AVXVNNI(3)
SN_I8_TILE_AVXVNNI(4)
SN_I8_TILE_AVXVNNI(5)
SN_I8_TILE_AVXVNNI(6)
#undef SN_I8_TILE_AVXVNNI
static const tile_avxvnni_fn tiles_avxvnni[MR_AVXVNNI + 1] = {
    NULL,           tile_avxvnni_1, tile_avxvnni_2, tile_avxvnni_3,
    tile_avxvnni_4, tile_avxvnni_5, tile_avxvnni_6};

/* Panels [p0, p1) of block rows [i0, i0 + mb), quantised (biased) in b. */
SN_TARGET_AVXVNNI static void compute_avxvnni(const plan_t *p, int64_t i0, int64_t mb, int64_t p0,
                                              int64_t p1, ablock_t b) {
  const uint8_t *u = (const uint8_t *)b.q;
  int64_t tile_rows = ceil_div(mb, ceil_div(mb, MR_AVXVNNI)); /* even tiles, as on VNNI */
  for (int64_t j = p0; j < p1; j++)
    for (int64_t ir = 0; ir < mb; ir += tile_rows) {
      int64_t mr = min64(tile_rows, mb - ir);
      tiles_avxvnni[mr](p, p->x + (i0 + ir) * p->k, u + ir * p->lda, b.sx + ir, j,
                        p->out + (i0 + ir) * p->n);
    }
}

/* --------------------------------------------------------- AVX-512 VNNI */

#define SN_TARGET_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,bmi,bmi2")))

/* Quantises rows [0, mb) into biased u8 (q + 128), row stride lda. */
SN_TARGET_VNNI static void quantize_block_vnni(const plan_t *p, const float *x, int64_t mb,
                                               uint8_t *u, float *sx) {
  const int64_t K = p->k;
  const float *c = p->w.mask;
  for (int64_t i = 0; i < mb; i++) {
    const float *xr = x + i * K;
    uint8_t *ur = u + i * p->lda;
    __m512 vmax = _mm512_setzero_ps();
    int64_t kk = 0;
    for (; kk < K; kk += 16) {
      __mmask16 m = sn_mask16(K - kk);
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + kk), _mm512_maskz_loadu_ps(m, c + kk));
      vmax = _mm512_max_ps(_mm512_abs_ps(v), vmax); /* NaN lanes keep vmax */
    }
    float inv;
    sx[i] = row_scale(_mm512_reduce_max_ps(vmax), &inv);
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127),
                  bias = _mm512_set1_epi32(128);
    for (kk = 0; kk < p->kp; kk += 16) {
      __mmask16 m = sn_mask16(K > kk ? K - kk : 0), mp = sn_mask16(p->kp - kk);
      __m512 v = _mm512_mul_ps(
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + kk), _mm512_maskz_loadu_ps(m, c + kk)), vinv);
      __m512i q32 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(ur + kk, mp, _mm512_add_epi32(q32, bias));
    }
  }
}

/* s32 sums of `rows` (1..12) rows x `panels` (1 or 2) panels of 16 columns
 * into acc[2 i + h], biased by 128 * column sum. The sums are named
 * variables, not an array, so that they stay in zmm registers (24 of 32). */
__attribute__((always_inline)) SN_TARGET_VNNI static inline void sums_vnni(
    const int rows, const int panels, int64_t kp, const uint8_t *u, int64_t lda, const int8_t *b0,
    const int8_t *b1, __m512i acc[2 * MR_VNNI]) {
#define SN_I8_DECL(i) __m512i s##i##_0 = _mm512_setzero_si512(), s##i##_1 = _mm512_setzero_si512();
  /* clang-format 14 cannot settle on a layout for the macros here (it
   * splits them differently on every run). */
  // clang-format off
  SN_I8_DECL(0) SN_I8_DECL(1) SN_I8_DECL(2) SN_I8_DECL(3)
  SN_I8_DECL(4) SN_I8_DECL(5) SN_I8_DECL(6) SN_I8_DECL(7)
  SN_I8_DECL(8) SN_I8_DECL(9) SN_I8_DECL(10) SN_I8_DECL(11)
#undef SN_I8_DECL
#define SN_I8_ROW(i)                                                  \
  if ((i) < rows) {                                                   \
    int32_t av;                                                       \
    memcpy(&av, u + (i)*lda + kk, 4);                                 \
    __m512i a = _mm512_set1_epi32(av);                                \
    s##i##_0 = _mm512_dpbusd_epi32(s##i##_0, a, w0);                  \
    if (panels == 2) s##i##_1 = _mm512_dpbusd_epi32(s##i##_1, a, w1); \
  }
  for (int64_t kk = 0; kk < kp; kk += 4) {
    // clang-format on
    __m512i w0 = _mm512_loadu_si512((const void *)(b0 + kk * NR));
    __m512i w1 = panels == 2 ? _mm512_loadu_si512((const void *)(b1 + kk * NR)) : w0;
    SN_I8_ROW(0)
    SN_I8_ROW(1)
    SN_I8_ROW(2)
    SN_I8_ROW(3)
    SN_I8_ROW(4)
    SN_I8_ROW(5) SN_I8_ROW(6) SN_I8_ROW(7) SN_I8_ROW(8) SN_I8_ROW(9) SN_I8_ROW(10) SN_I8_ROW(11)
  }
#undef SN_I8_ROW
#define SN_I8_OUT(i) acc[2 * (i)] = s##i##_0, acc[2 * (i) + 1] = s##i##_1;
  SN_I8_OUT(0)
  SN_I8_OUT(1)
  SN_I8_OUT(2)
  SN_I8_OUT(3)
  SN_I8_OUT(4)
  SN_I8_OUT(5) SN_I8_OUT(6) SN_I8_OUT(7) SN_I8_OUT(8) SN_I8_OUT(9) SN_I8_OUT(10) SN_I8_OUT(11)
#undef SN_I8_OUT
}

/* gelu_int8_v8 in 16 lanes. */
SN_TARGET_VNNI static inline __m512 gelu_int8_v16(__m512 x) {
  __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), SN_V16(SN_SQRT1_2));
  __m512 d = _mm512_fmadd_ps(z, SN_V16(AS_P), SN_V16(1.0f));
  __m512 r = _mm512_rcp14_ps(d);
  __m512 t = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, SN_V16(2.0f)));
  __m512 q = _mm512_fmadd_ps(SN_V16(AS_A5), t, SN_V16(AS_A4));
  q = _mm512_fmadd_ps(q, t, SN_V16(AS_A3));
  q = _mm512_fmadd_ps(q, t, SN_V16(AS_A2));
  q = _mm512_fmadd_ps(q, t, SN_V16(AS_A1));
  q = _mm512_mul_ps(_mm512_mul_ps(q, t),
                    sn_exp2_neg_v16(_mm512_mul_ps(_mm512_mul_ps(z, z), SN_V16(-SN_LOG2E))));
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512 s = _mm512_mask_blend_ps(neg, _mm512_sub_ps(SN_V16(2.0f), q), q);
  return _mm512_mul_ps(_mm512_mul_ps(SN_V16(0.5f), x), s);
}

SN_TARGET_VNNI static inline __m512 finish_v16(__m512i sum, __m512 scale, __m512 bias, int act) {
  __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), scale), bias);
  switch (act) {
    case 1: return gelu_int8_v16(v);
    case 2: return sn_gelu_tanh_v16(v);
    case 3: return _mm512_max_ps(v, _mm512_setzero_ps());
    case 4: return sn_tanh_v16(v);
    default: return v;
  }
}

/* Epilogue of panel j for `rows` rows of sums acc[2 i + h]. */
__attribute__((always_inline)) SN_TARGET_VNNI static inline void finish_panel_vnni(
    const int rows, const plan_t *p, const __m512i *acc, int h, const float *x, const float *sx,
    int64_t j, float *out) {
  const int64_t c0 = j * NR, nc = min64(NR, p->n - c0);
  const __mmask16 m = sn_mask16(nc);
  __m512i comp = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(p->w.col_sums + c0)), 7);
  __m512 sw = _mm512_loadu_ps(p->w.sw + c0);
  __m512 bias = p->bias ? _mm512_maskz_loadu_ps(m, p->bias + c0) : _mm512_setzero_ps();
  __m512 wo[SN_GEMM_I8_OUTLIERS];
  for (int o = 0; o < p->num_outliers; o++) wo[o] = _mm512_loadu_ps(p->outlier_w[o] + c0);
  for (int i = 0; i < rows; i++) {
    __m512 f = bias;
    for (int o = 0; o < p->num_outliers; o++)
      f = _mm512_fmadd_ps(_mm512_set1_ps(x[i * p->k + p->outlier[o]]), wo[o], f);
    __m512 v = finish_v16(_mm512_sub_epi32(acc[2 * i + h], comp),
                          _mm512_mul_ps(sw, _mm512_set1_ps(sx[i])), f, p->act);
    float *o = out + i * p->n + c0;
    if (p->residual) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), v);
    _mm512_mask_storeu_ps(o, m, v);
  }
}

__attribute__((always_inline)) SN_TARGET_VNNI static inline void tile_vnni(
    const int rows, const int panels, const plan_t *p, const float *x, const uint8_t *u,
    const float *sx, int64_t j, float *out) {
  __m512i acc[2 * MR_VNNI];
  const int8_t *b0 = p->w.w + j * p->kp * NR;
  sums_vnni(rows, panels, p->kp, u, p->lda, b0, b0 + p->kp * NR, acc);
  finish_panel_vnni(rows, p, acc, 0, x, sx, j, out);
  if (panels == 2) finish_panel_vnni(rows, p, acc, 1, x, sx, j + 1, out);
}

typedef void (*tile_vnni_fn)(const plan_t *, const float *, const uint8_t *, const float *, int64_t,
                             float *);
#define SN_I8_TILE_VNNI(R, P)                                                                      \
  SN_TARGET_VNNI static void tile_vnni_##R##_##P(                                                  \
      const plan_t *p, const float *x, const uint8_t *u, const float *sx, int64_t j, float *out) { \
    tile_vnni(R, P, p, x, u, sx, j, out);                                                          \
  }
#define SN_I8_TILES_VNNI(P)                                                  \
  SN_I8_TILE_VNNI(1, P)                                                      \
  SN_I8_TILE_VNNI(2, P)                                                      \
  SN_I8_TILE_VNNI(3, P)                                                      \
  SN_I8_TILE_VNNI(4, P)                                                      \
  SN_I8_TILE_VNNI(5, P)                                                      \
  SN_I8_TILE_VNNI(6, P)                                                      \
  SN_I8_TILE_VNNI(7, P)                                                      \
  SN_I8_TILE_VNNI(8, P)                                                      \
  SN_I8_TILE_VNNI(9, P)                                                      \
  SN_I8_TILE_VNNI(10, P)                                                     \
  SN_I8_TILE_VNNI(11, P)                                                     \
  SN_I8_TILE_VNNI(12, P)                                                     \
  static const tile_vnni_fn tiles_vnni_##P[MR_VNNI + 1] = {NULL,             \
                                                           tile_vnni_1_##P,  \
                                                           tile_vnni_2_##P,  \
                                                           tile_vnni_3_##P,  \
                                                           tile_vnni_4_##P,  \
                                                           tile_vnni_5_##P,  \
                                                           tile_vnni_6_##P,  \
                                                           tile_vnni_7_##P,  \
                                                           tile_vnni_8_##P,  \
                                                           tile_vnni_9_##P,  \
                                                           tile_vnni_10_##P, \
                                                           tile_vnni_11_##P, \
                                                           tile_vnni_12_##P};
SN_I8_TILES_VNNI(1)
SN_I8_TILES_VNNI(2)
#undef SN_I8_TILES_VNNI
#undef SN_I8_TILE_VNNI

/* Panels [p0, p1) of block rows [i0, i0 + mb), quantised (biased) in b. */
SN_TARGET_VNNI static void compute_vnni(const plan_t *p, int64_t i0, int64_t mb, int64_t p0,
                                        int64_t p1, ablock_t b) {
  const uint8_t *u = (const uint8_t *)b.q;
  /* Row tiles of even height (16 rows: 8 + 8, not 12 + 4): a short tile
   * has too few independent sums to hide vpdpbusd's latency. */
  int64_t tile_rows = ceil_div(mb, ceil_div(mb, MR_VNNI));
  for (int64_t j = p0; j < p1; j += 2) {
    const tile_vnni_fn *tiles = j + 1 < p1 ? tiles_vnni_2 : tiles_vnni_1;
    for (int64_t ir = 0; ir < mb; ir += tile_rows) {
      int64_t mr = min64(tile_rows, mb - ir);
      tiles[mr](p, p->x + (i0 + ir) * p->k, u + ir * p->lda, b.sx + ir, j,
                p->out + (i0 + ir) * p->n);
    }
  }
}

#endif /* SN_X86 */

/* ---------------------------------------------------------------- driver */

static const char *const path_names[] = {"portable", "avx2-sign", "avx512-vnni", "avx2-vnni"};
#define NUM_PATHS 4

static int path_available(int path) {
#if SN_X86
  switch (path) {
    case PATH_VNNI: return sn_cpu_isa_max() >= SN_ISA_AVX512 && sn_cpu_has_avx512_vnni();
    case PATH_AVXVNNI: return sn_cpu_has_avx_vnni();
    case PATH_AVX2: return sn_cpu_isa_max() >= SN_ISA_AVX2;
    default: return path == PATH_PORTABLE;
  }
#else
  return path == PATH_PORTABLE;
#endif
}

static int path_of(const char *name) {
  for (int i = 0; i < NUM_PATHS; i++)
    if (name && !strcmp(name, path_names[i])) return i;
  return -1;
}

/* The forced path: -1 automatic, -2 not yet read from SINTER_INT8_PATH. */
static _Atomic int forced_path = -2;

int sn_gemm_i8_set_path(const char *name) {
  if (!name || !strcmp(name, "auto")) {
    forced_path = -1;
    return 0;
  }
  int path = path_of(name);
  if (path < 0 || !path_available(path)) return -1;
  forced_path = path;
  return 0;
}

int sn_gemm_i8_path_available(const char *name) {
  int path = path_of(name);
  return path >= 0 && path_available(path);
}

static int current_path(void) {
  int forced = forced_path;
  if (forced == -2) {
    const char *env = getenv("SINTER_INT8_PATH");
    int path = path_of(env);
    forced_path = forced = path >= 0 && path_available(path) ? path : -1;
  }
  if (forced >= 0) return forced;
#if SN_X86
  int isa = sn_cpu_isa();
  if (isa >= SN_ISA_AVX512 && sn_cpu_has_avx512_vnni()) return PATH_VNNI;
  if (isa >= SN_ISA_AVX2) return sn_cpu_has_avx_vnni() ? PATH_AVXVNNI : PATH_AVX2;
#endif
  return PATH_PORTABLE;
}

const char *sn_gemm_i8_path(void) {
  return path_names[current_path()];
}

/* Quantises x rows [r0, r1) into b, whose row 0 is x row `base`. */
static void quantize_rows(const plan_t *p, int64_t base, int64_t r0, int64_t r1, ablock_t b) {
  if (r1 <= r0) return;
  ablock_t at = ablock_row(p, b, r0 - base);
#if SN_X86
  if (p->path == PATH_VNNI) {
    quantize_block_vnni(p, p->x + r0 * p->k, r1 - r0, (uint8_t *)at.q, at.sx);
    return;
  }
  if (p->path == PATH_AVX2) quantize_block_avx2(p, p->x + r0 * p->k, r1 - r0, at.q, at.aq, at.sx);
  if (p->path == PATH_AVXVNNI) quantize_block_avx2(p, p->x + r0 * p->k, r1 - r0, at.q, NULL, at.sx);
#else
  (void)at;
#endif
}

/* Panels [p0, p1) of rows [i0, i0 + mb), already quantised in b. */
static void compute(const plan_t *p, int64_t i0, int64_t mb, int64_t p0, int64_t p1, ablock_t b) {
#if SN_X86
  if (p->path == PATH_VNNI) compute_vnni(p, i0, mb, p0, p1, b);
  if (p->path == PATH_AVX2) compute_avx2(p, i0, mb, p0, p1, b);
  if (p->path == PATH_AVXVNNI) compute_avxvnni(p, i0, mb, p0, p1, b);
#else
  (void)p, (void)i0, (void)mb, (void)p0, (void)p1, (void)b;
#endif
}

/* Rows [m0, m1) x panels [p0, p1): M blocks of even height, each quantised
 * into this thread's scratch, then computed. */
static void run_range(const plan_t *p, int64_t m0, int64_t m1, int64_t p0, int64_t p1,
                      unsigned char *scratch) {
  if (m1 <= m0 || p1 <= p0) return;
  if (p->path == PATH_PORTABLE) {
    run_range_portable(p, m0, m1, p0, p1, scratch);
    return;
  }
  ablock_t b = ablock_of(p, scratch);
  int64_t nbm = ceil_div(m1 - m0, p->mc_max);
  int64_t mc = ceil_div(ceil_div(m1 - m0, nbm), MR_ALL) * MR_ALL;
  for (int64_t i0 = m0; i0 < m1; i0 += mc) {
    int64_t mb = min64(mc, m1 - i0);
    quantize_rows(p, i0, i0, i0 + mb, b);
    compute(p, i0, mb, p0, p1, b);
  }
}

/* One parallel int8 GEMM's tiles (threadpool.h). */
typedef struct i8_region {
  const plan_t *p;
  void *scratch;
  size_t per_worker; /* bytes of scratch per worker */
  ablock_t shared;   /* one M block quantised once, shared by its N chunks */
  int shares;        /* quantize_share's tiles */
  int64_t panels;
} i8_region_t;

static void run_task(const plan_t *p, int64_t t, unsigned char *scratch);

static void i8_tile(void *ctx, size_t task, int worker) {
  const i8_region_t *r = ctx;
  run_task(r->p, (int64_t)task, (unsigned char *)r->scratch + (size_t)worker * r->per_worker);
}

static void quantize_share(void *ctx, size_t share, int worker) {
  (void)worker;
  const i8_region_t *r = ctx;
  int64_t m = r->p->m, t = (int64_t)share, nt = r->shares;
  quantize_rows(r->p, 0, m * t / nt, m * (t + 1) / nt, r->shared);
}

static void compute_chunk(void *ctx, size_t chunk, int worker) {
  (void)worker;
  const i8_region_t *r = ctx;
  int64_t c = (int64_t)chunk;
  compute(r->p, 0, r->p->m, c * r->p->chunk, min64(r->panels, (c + 1) * r->p->chunk), r->shared);
}

static void run_task(const plan_t *p, int64_t t, unsigned char *scratch) {
  int64_t i = t / p->nchunks, c = t % p->nchunks, panels = ceil_div(p->n, NR);
  run_range(p, i * p->mc, min64(p->m, (i + 1) * p->mc), c * p->chunk,
            min64(panels, (c + 1) * p->chunk), scratch);
}

void sn_gemm_i8_run(int64_t m, int64_t k, int64_t n, const float *x, const void *packed,
                    const float *bias, int act, int residual, float *out, void *scratch) {
  if (m <= 0 || k <= 0 || n <= 0 || k > SN_GEMM_I8_MAX_K) return;
  plan_t p = {.m = m,
              .k = k,
              .n = n,
              .kp = k_padded(k),
              .lda = a_stride(k),
              .mc_max = block_rows(k),
              .act = act >= 1 && act <= 4 ? act : 0,
              .residual = residual != 0,
              .path = current_path(),
              .x = x,
              .bias = bias,
              .w = parts_of(k, n, packed),
              .out = out};
  /* The outlier slots in use; a channel outside [0, k) (an untrusted
   * artifact's) is skipped, never read. */
  for (int o = 0; o < SN_GEMM_I8_OUTLIERS; o++) {
    int32_t ch = p.w.outliers[o];
    if (ch < 0 || ch >= k) continue;
    p.outlier[p.num_outliers] = ch;
    p.outlier_w[p.num_outliers++] = p.w.wo + o * ceil_div(n, NR) * NR;
  }
  sn_threadpool_t *pool = sn_threadpool_current();
  int threads = sn_threadpool_in_task() ? 1 : sn_threadpool_threads(pool);
  if (2.0 * (double)m * (double)n * (double)k < PARALLEL_MIN_OPS) threads = 1;
  int64_t panels = ceil_div(n, NR);
  if (threads <= 1) {
    p.mc = m, p.chunk = panels, p.nchunks = 1;
    run_range(&p, 0, m, 0, panels, scratch);
    return;
  }
  /* Tasks as in gemm.c: M blocks times panel chunks, about TASKS per
   * thread, a count the threads divide; chunks even where possible, so that
   * the VNNI path's panel pairs stay whole. Unlike gemm.c, more M blocks
   * (down to MIN_BLOCK_ROWS) are preferred over splitting N: every task
   * quantises its M block, so N chunks of one block repeat that work. */
  int64_t nbm = ceil_div(m, p.mc_max);
  int64_t by_rows = min64((int64_t)TASKS * threads, ceil_div(m, MIN_BLOCK_ROWS));
  if (nbm < by_rows) nbm = by_rows;
  if (nbm > 1) nbm = ceil_div(nbm, threads) * threads; /* (a few rows stay one block) */
  p.mc = ceil_div(ceil_div(m, nbm), MR_ALL) * MR_ALL;
  nbm = ceil_div(m, p.mc);
  int64_t max_ch = panels / MIN_CHUNK > 1 ? panels / MIN_CHUNK : 1;
  int64_t want = min64(ceil_div((int64_t)TASKS * threads, nbm), max_ch), nch = want;
  for (int64_t c = want; c >= 1; c--)
    if (nbm * c % threads == 0) {
      nch = c;
      break;
    }
  p.chunk = ceil_div(panels, nch);
  if (p.chunk % 2 && p.chunk < panels) p.chunk++;
  p.nchunks = ceil_div(panels, p.chunk);
  int64_t tasks = nbm * p.nchunks;
  const size_t per_thread = thread_scratch(k);
  if (nbm == 1 && p.path != PATH_PORTABLE) {
    /* One M block (few rows, the N split across threads): quantise it once,
     * each thread a share of the rows into thread 0's scratch, instead of
     * once per task (at 16 rows, quantising cost more than a task's sums). */
    i8_region_t r = {&p, scratch, per_thread, ablock_of(&p, scratch), threads, panels};
    sn_threadpool_run(pool, (size_t)threads, quantize_share, &r); /* then the sums: */
    sn_threadpool_run(pool, (size_t)p.nchunks, compute_chunk, &r);
    return;
  }
  i8_region_t r = {&p, scratch, per_thread, {0}, threads, panels};
  sn_threadpool_run(pool, (size_t)tasks, i8_tile, &r);
}
