/*
 * gemm.c — BLIS-style fp32 GEMM over pre-packed weights (gemm.h).
 *
 * Loop nest of one task (rows [m0, m1) x weight panels [p0, p1)):
 *   for each M block of up to MC = 144 rows
 *     for each K block                  (as packed: at most KC = 768 long)
 *       pack the A block into 6-row micro-panels, [kc][6] each (transposed
 *       8 columns at a time in registers)
 *       for each weight panel (16 columns; B micro-panel kc x 16, <= 48 KiB)
 *         for each 6-row micro-panel    (a 6 x 16 tile in 12 ymm registers)
 *           microkernel; on the last K block bias + activation (+ residual)
 * The weights need no run-time packing (their layout is the one the
 * microkernel streams), which is what makes small M cheap, and within a K
 * block the panels are contiguous, so a sweep over N reads the weights as one
 * sequential stream that the hardware prefetchers follow (panels stored
 * [K][16] whole, each K block of a panel a separate stream, measured up to
 * 5% slower at K = 768 and 3072).
 *
 * Block sizes, as measured on the 2-core Zen 3 VM (bench/GEMM.md): the
 * textbook KC = 256 (B micro-panel resident in L1) lost 2-3% to KC = 512 or
 * 768, because on Zen 3 the L2 feeds the B stream fast enough and fewer K
 * blocks mean fewer partial-sum round trips through out and fewer, longer
 * kernel calls. MC = 144 keeps the packed A block (432 KiB at kc = 768) in
 * the 512 KiB L2; MC from 96 to 288 measured within noise of each other.
 *
 * Bias is added on the first K block, the activation on the last; partial
 * sums of earlier K blocks live in out. A residual with no activation is
 * simply the initial value of the sum. A residual after an activation needs
 * out to keep the residual until the end, so that (rare: no BERT layer has
 * it) case packs all of K for a few rows and runs every K block of a tile
 * into a local tile before touching out.
 *
 * bf16 weights run the same code: every function below that reads B takes
 * the element type as a flag (a constant after inlining into the per-type
 * kernels), and only the load of a B row differs (load_b: a 32-byte load,
 * a shift and a mask, for the interleaved row order of gemm.h).
 *
 * Threads take (M block, panel chunk) tasks dynamically: on a VM whose other
 * tenants steal one core now and then, a static half each leaves the other
 * core idle at the end. Tasks per thread, chunk width and the single-thread
 * threshold are explained where they are set.
 */
#include "kernels/gemm.h"

#include <math.h>
#include <string.h>

#include "kernels/target.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

#define NR SN_GEMM_NR
#define MR 6
#define KC SN_GEMM_KC
/* Tuning knobs, overridable at build time only for experiments. */
#ifndef SN_GEMM_MC
#define SN_GEMM_MC 144 /* rows per M block */
#endif
#ifndef SN_GEMM_TASKS
#define SN_GEMM_TASKS 4 /* tasks per thread wanted */
#endif
#ifndef SN_GEMM_MIN_CHUNK
#define SN_GEMM_MIN_CHUNK 8 /* narrowest panel chunk of a task, in panels */
#endif
#ifndef SN_GEMM_PFC
#define SN_GEMM_PFC 64 /* K steps before the end at which to prefetch the out tile */
#endif
/* Below this many flops one thread is faster: waking the pool costs 40-75 us
 * per region on the 2-core VM we measure on with OMP_WAIT_POLICY=PASSIVE.
 * With weights warm in L3, 16 x 768 x 768 (19 MFLOP) ran at 91 GFLOP/s on one
 * thread against 83 on two; but in a whole model the weights stream from DRAM
 * (MiniLM's 42 MB exceed the L3), and two threads pull more bandwidth: one
 * 16-token MiniLM request took 3.6-3.9 ms p50 with this threshold, 6.1-6.4 ms
 * with 2.5e7 and 4.1-4.7 ms with 1e6 (`sinter bench --batch 1 --seq 16`). */
#define PARALLEL_MIN_FLOPS 4e6

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

static int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

/* Floats of A-packing scratch per thread: one MC x KC block, or MR rows of all
 * of K for the one-K-block case. A multiple of 16 floats (64 bytes). */
static int64_t scratch_floats(int64_t k) {
  int64_t f = (int64_t)SN_GEMM_MC * KC;
  if (MR * k > f) f = MR * k;
  return (f + 15) / 16 * 16;
}

/* Length of every K block but possibly the last (see gemm.h). */
static int64_t k_block(int64_t k) {
  return ceil_div(k, ceil_div(k, KC));
}

/* Bytes per packed weight element: 2 for bf16, 4 for fp32. */
static int64_t elem_bytes(int bf16) {
  return bf16 ? 2 : 4;
}

/* The B micro-panel of the K block starting at k0 (length kb) and panel j,
 * in a packed matrix of elements of either type. */
static const char *b_panel(const void *packed, int bf16, int64_t n, int64_t k0, int64_t kb,
                           int64_t j) {
  return (const char *)packed + (k0 * ceil_div(n, NR) + j * kb) * NR * elem_bytes(bf16);
}

/* Slot of column t (0..15) in a bf16 panel row: the interleave of gemm.h. */
static int bf16_slot(int64_t t) {
  return t < 8 ? (int)(2 * t) : (int)(2 * (t - 8) + 1);
}

static size_t packed_bytes(int64_t k, int64_t n, int bf16) {
  if (k <= 0 || n <= 0) return 0;
  return (size_t)(ceil_div(n, NR) * k * NR * elem_bytes(bf16));
}

size_t sn_gemm_packed_bytes(int64_t k, int64_t n) {
  return packed_bytes(k, n, 0);
}

size_t sn_gemm_packed_bytes_bf16(int64_t k, int64_t n) {
  return packed_bytes(k, n, 1);
}

static void pack(int64_t k, int64_t n, const float *w, void *packed, int bf16) {
  const int64_t kcb = k_block(k);
  for (int64_t k0 = 0; k0 < k; k0 += kcb) {
    int64_t kb = min64(kcb, k - k0);
    for (int64_t p = 0; p < ceil_div(n, NR); p++) {
      char *dst = (char *)b_panel(packed, bf16, n, k0, kb, p);
      for (int64_t kk = 0; kk < kb; kk++)
        for (int64_t t = 0; t < NR; t++) {
          int64_t col = p * NR + t;
          float v = col < n ? w[col * k + k0 + kk] : 0.0f;
          if (bf16)
            ((uint16_t *)dst)[kk * NR + bf16_slot(t)] = sn_f32_to_bf16(v);
          else
            ((float *)dst)[kk * NR + t] = v;
        }
    }
  }
}

void sn_gemm_pack(int64_t k, int64_t n, const float *w, float *packed) {
  pack(k, n, w, packed, 0);
}

void sn_gemm_pack_bf16(int64_t k, int64_t n, const float *w, uint16_t *packed) {
  pack(k, n, w, packed, 1);
}

size_t sn_gemm_scratch_bytes(int64_t k, int threads) {
  if (threads < 1) threads = 1;
  return (size_t)(scratch_floats(k) * threads) * sizeof(float);
}

/* One call's shape, operands and blocking, shared by all threads. */
typedef struct plan {
  int64_t m, k, n;
  int64_t kc;                 /* K block length (the last block may be shorter) */
  int64_t mc_max;             /* largest M block, a multiple of MR */
  int64_t mc, chunk, nchunks; /* task grid: rows per M block, panels per chunk */
  int act, residual;
  int bf16; /* packed holds bf16 (sn_gemm_pack_bf16), else fp32 */
  const float *x, *bias;
  const void *packed;
  float *out;
} plan_t;

/* ------------------------------------------------------------ portable C */

/* Rows [m0, m1) x panels [p0, p1), one row and one panel at a time over all
 * of K: the same packed layout, no cache blocking beyond its K blocks. */
static void run_range_portable(const plan_t *p, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  const int64_t K = p->k, N = p->n;
  for (int64_t i = m0; i < m1; i++) {
    const float *xr = p->x + i * K;
    for (int64_t j = p0; j < p1; j++) {
      float acc[NR] = {0}, row[NR];
      for (int64_t k0 = 0; k0 < K; k0 += p->kc) {
        int64_t kb = min64(p->kc, K - k0);
        const char *b = b_panel(p->packed, p->bf16, N, k0, kb, j);
        for (int64_t kk = 0; kk < kb; kk++) {
          const float *br = (const float *)b + kk * NR;
          if (p->bf16) {
            for (int t = 0; t < NR; t++)
              row[t] = sn_bf16_to_f32(((const uint16_t *)b)[kk * NR + bf16_slot(t)]);
            br = row;
          }
          float a = xr[k0 + kk];
          for (int t = 0; t < NR; t++) acc[t] += a * br[t];
        }
      }
      int64_t c0 = j * NR, nc = min64(NR, N - c0);
      float *o = p->out + i * N + c0;
      for (int64_t t = 0; t < nc; t++) {
        float v = sn_act_scalar(acc[t] + (p->bias ? p->bias[c0 + t] : 0.0f), p->act);
        o[t] = p->residual ? o[t] + v : v;
      }
    }
  }
}

/* ------------------------------------------------------------------ AVX2 */

#if SN_X86

/* Copies rows [0, mb) of a K block (kb columns, row stride ldx) into MR-row
 * micro-panels, [kb][MR] each, zero-filling rows past mb in the last one.
 * Full micro-panels go 8 columns at a time through an 8 x 8 register
 * transpose (rows 6 and 7 unused) rather than a scalar gather, which cost 3%
 * at K = 3072, where a packed block serves only N = 768 columns. */
SN_TARGET_AVX2 static void pack_a_avx2(const float *x, int64_t ldx, int64_t mb, int64_t kb,
                                       float *dst) {
  for (int64_t ir = 0; ir < mb; ir += MR) {
    int64_t mr = min64(MR, mb - ir), kk = 0;
    const float *xr = x + ir * ldx;
    if (mr == MR) {
      for (; kk + 8 <= kb; kk += 8) {
        __m256 r0 = _mm256_loadu_ps(xr + kk), r1 = _mm256_loadu_ps(xr + ldx + kk);
        __m256 r2 = _mm256_loadu_ps(xr + 2 * ldx + kk), r3 = _mm256_loadu_ps(xr + 3 * ldx + kk);
        __m256 r4 = _mm256_loadu_ps(xr + 4 * ldx + kk), r5 = _mm256_loadu_ps(xr + 5 * ldx + kk);
        __m256 z = _mm256_setzero_ps();
        /* 8 x 8 transpose of rows r0..r5, 0, 0: t_j = column j. */
        __m256 u0 = _mm256_unpacklo_ps(r0, r1), u1 = _mm256_unpackhi_ps(r0, r1);
        __m256 u2 = _mm256_unpacklo_ps(r2, r3), u3 = _mm256_unpackhi_ps(r2, r3);
        __m256 u4 = _mm256_unpacklo_ps(r4, r5), u5 = _mm256_unpackhi_ps(r4, r5);
        __m256 s0 = _mm256_shuffle_ps(u0, u2, 0x44), s1 = _mm256_shuffle_ps(u0, u2, 0xEE);
        __m256 s2 = _mm256_shuffle_ps(u1, u3, 0x44), s3 = _mm256_shuffle_ps(u1, u3, 0xEE);
        __m256 s4 = _mm256_shuffle_ps(u4, z, 0x44), s5 = _mm256_shuffle_ps(u4, z, 0xEE);
        __m256 s6 = _mm256_shuffle_ps(u5, z, 0x44), s7 = _mm256_shuffle_ps(u5, z, 0xEE);
        __m256 t0 = _mm256_permute2f128_ps(s0, s4, 0x20), t4 = _mm256_permute2f128_ps(s0, s4, 0x31);
        __m256 t1 = _mm256_permute2f128_ps(s1, s5, 0x20), t5 = _mm256_permute2f128_ps(s1, s5, 0x31);
        __m256 t2 = _mm256_permute2f128_ps(s2, s6, 0x20), t6 = _mm256_permute2f128_ps(s2, s6, 0x31);
        __m256 t3 = _mm256_permute2f128_ps(s3, s7, 0x20), t7 = _mm256_permute2f128_ps(s3, s7, 0x31);
        /* Column j goes to dst[(kk + j) * 6 ..]: 8-wide stores in order, each
         * one's two spare lanes overwritten by the next; the last one 4 + 2. */
        float *d = dst + kk * MR;
        _mm256_storeu_ps(d, t0);
        _mm256_storeu_ps(d + 6, t1);
        _mm256_storeu_ps(d + 12, t2);
        _mm256_storeu_ps(d + 18, t3);
        _mm256_storeu_ps(d + 24, t4);
        _mm256_storeu_ps(d + 30, t5);
        _mm256_storeu_ps(d + 36, t6);
        _mm_storeu_ps(d + 42, _mm256_castps256_ps128(t7));
        _mm_storel_pi((__m64 *)(d + 46), _mm256_extractf128_ps(t7, 1));
      }
      for (; kk < kb; kk++)
        for (int i = 0; i < MR; i++) dst[kk * MR + i] = xr[i * ldx + kk];
    } else {
      for (; kk < kb; kk++)
        for (int i = 0; i < MR; i++) dst[kk * MR + i] = i < mr ? xr[i * ldx + kk] : 0.0f;
    }
    dst += MR * kb;
  }
}

/* Row `row` of a B micro-panel as fp32 columns 0..7 (*b0) and 8..15 (*b1).
 * bf16: one 32-byte load; its 32-bit words hold columns j (low half) and
 * 8 + j (high half) (gemm.h), so a shift left by 16 and a mask of the high
 * halves widen them exactly, with no cross-lane shuffle (a vpmovzxwd of two
 * 16-byte loads and two shifts would be 4 ops to these 3). */
__attribute__((always_inline)) SN_TARGET_AVX2 static inline void load_b(const char *b, int64_t row,
                                                                        const int bf16, __m256 *b0,
                                                                        __m256 *b1) {
  if (bf16) {
    __m256i w = _mm256_loadu_si256((const __m256i *)(b + row * NR * 2));
    *b0 = _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    *b1 = _mm256_castsi256_ps(_mm256_and_si256(w, _mm256_set1_epi32(-65536)));
  } else {
    *b0 = _mm256_loadu_ps((const float *)(b + row * NR * 4));
    *b1 = _mm256_loadu_ps((const float *)(b + row * NR * 4) + 8);
  }
}

/* The microkernel, for a tile of `rows` (1..6, a constant after inlining)
 * rows by 16 columns: c[i][t] (row stride ldc) gets
 *   act(sum_k a[k][i] b[k][t] (+ bias[t]) (+ c[i][t], when pre_c))
 * a: one packed micro-panel [kc][6]; b: [kc][16] with rows 16 elements
 * apart, fp32 or (bf16, a constant after inlining) bf16 in the interleaved
 * order; bias: 16 floats or NULL; act 0 for none (earlier K blocks). The
 * sums live in up to 12 ymm registers; with b0, b1 and the broadcast that is
 * 15 of 16. */
__attribute__((always_inline)) SN_TARGET_AVX2 static inline void kernel_body(
    const int rows, const int bf16, int64_t kc, const float *a, const void *bv, float *c,
    int64_t ldc, const float *bias, int pre_c, int act) {
  const char *b = bv;
  const int64_t brow = NR * elem_bytes(bf16); /* bytes per B row */
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#define SN_GEMM_ROW(i, off)                       \
  if ((i) < rows) {                               \
    av = _mm256_broadcast_ss(a + (off)*MR + (i)); \
    c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);   \
    c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);   \
  }
#define SN_GEMM_STEP(off)             \
  do {                                \
    __m256 b0, b1, av;                \
    load_b(b, (off), bf16, &b0, &b1); \
    SN_GEMM_ROW(0, off)               \
    SN_GEMM_ROW(1, off)               \
    SN_GEMM_ROW(2, off)               \
    SN_GEMM_ROW(3, off)               \
    SN_GEMM_ROW(4, off)               \
    SN_GEMM_ROW(5, off)               \
  } while (0)
  /* The tile of out is needed after the loop: fetch it SN_GEMM_PFC steps
   * before the end (earlier, the streaming B panel would evict it again). */
#define SN_GEMM_STEP4() \
  do {                  \
    SN_GEMM_STEP(0);    \
    SN_GEMM_STEP(1);    \
    SN_GEMM_STEP(2);    \
    SN_GEMM_STEP(3);    \
    a += 4 * MR;        \
    b += 4 * brow;      \
  } while (0)
  int64_t k = 0;
  for (; k + 4 <= kc - SN_GEMM_PFC; k += 4) SN_GEMM_STEP4();
  for (int i = 0; i < rows; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
  for (; k + 4 <= kc; k += 4) SN_GEMM_STEP4();
  for (; k < kc; k++) {
    SN_GEMM_STEP(0);
    a += MR;
    b += brow;
  }
#undef SN_GEMM_STEP4
#undef SN_GEMM_STEP
#undef SN_GEMM_ROW
  __m256 v[2 * MR] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  if (bias) {
    __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
    for (int i = 0; i < rows; i++) {
      v[2 * i] = _mm256_add_ps(v[2 * i], b0);
      v[2 * i + 1] = _mm256_add_ps(v[2 * i + 1], b1);
    }
  }
  if (pre_c)
    for (int i = 0; i < rows; i++) {
      v[2 * i] = _mm256_add_ps(v[2 * i], _mm256_loadu_ps(c + i * ldc));
      v[2 * i + 1] = _mm256_add_ps(v[2 * i + 1], _mm256_loadu_ps(c + i * ldc + 8));
    }
  switch (act) {
    case 1:
      for (int i = 0; i < 2 * rows; i++) v[i] = sn_gelu_v8(v[i]);
      break;
    case 2:
      for (int i = 0; i < 2 * rows; i++) v[i] = sn_gelu_tanh_v8(v[i]);
      break;
    case 3:
      for (int i = 0; i < 2 * rows; i++) v[i] = _mm256_max_ps(v[i], _mm256_setzero_ps());
      break;
    case 4:
      for (int i = 0; i < 2 * rows; i++) v[i] = sn_tanh_v8(v[i]);
      break;
    default: break;
  }
  for (int i = 0; i < rows; i++) {
    _mm256_storeu_ps(c + i * ldc, v[2 * i]);
    _mm256_storeu_ps(c + i * ldc + 8, v[2 * i + 1]);
  }
}

typedef void (*kernel_fn)(int64_t kc, const float *a, const void *b, float *c, int64_t ldc,
                          const float *bias, int pre_c, int act);

/* One kernel per row count and B element type, so a partial row tile
 * (m % 6, or a small M) costs only its own rows instead of a full tile
 * through a buffer. T: f32 (bf16 = 0) or bf16 (1). */
#define SN_GEMM_KERNEL(T, BF16, R)                                                                 \
  SN_TARGET_AVX2 static void kernel_##T##_##R(int64_t kc, const float *a, const void *b, float *c, \
                                              int64_t ldc, const float *bias, int pre_c,           \
                                              int act) {                                           \
    kernel_body(R, BF16, kc, a, b, c, ldc, bias, pre_c, act);                                      \
  }
#define SN_GEMM_KERNELS(T, BF16)                                                                \
  SN_GEMM_KERNEL(T, BF16, 1)                                                                    \
  SN_GEMM_KERNEL(T, BF16, 2)                                                                    \
  SN_GEMM_KERNEL(T, BF16, 3)                                                                    \
  SN_GEMM_KERNEL(T, BF16, 4)                                                                    \
  SN_GEMM_KERNEL(T, BF16, 5)                                                                    \
  SN_GEMM_KERNEL(T, BF16, 6)                                                                    \
  static const kernel_fn kernels_##T[MR + 1] = {NULL,           kernel_##T##_1, kernel_##T##_2, \
                                                kernel_##T##_3, kernel_##T##_4, kernel_##T##_5, \
                                                kernel_##T##_6};
SN_GEMM_KERNELS(f32, 0)
SN_GEMM_KERNELS(bf16, 1)
#undef SN_GEMM_KERNELS
#undef SN_GEMM_KERNEL

/* The kernels of a plan's weight type, indexed by row count. */
static const kernel_fn *kernels_for(const plan_t *p) {
  return p->bf16 ? kernels_bf16 : kernels_f32;
}

/* A tile of fewer than 16 valid columns (the last panel when n % 16 != 0):
 * the kernel runs on a local tile, and only the valid columns go back to c. */
SN_TARGET_AVX2 static void edge_tile_avx2(const kernel_fn *kernels, int64_t kc, const float *a,
                                          const void *b, float *c, int64_t ldc, int64_t mr,
                                          int64_t nc, const float *bias, int pre_c, int act) {
  float t[MR * NR], bb[NR];
  memset(t, 0, sizeof t);
  if (pre_c)
    for (int64_t i = 0; i < mr; i++) memcpy(t + i * NR, c + i * ldc, (size_t)nc * sizeof(float));
  if (bias) {
    memset(bb, 0, sizeof bb);
    memcpy(bb, bias, (size_t)nc * sizeof(float));
  }
  kernels[mr](kc, a, b, t, NR, bias ? bb : NULL, pre_c, act);
  for (int64_t i = 0; i < mr; i++) memcpy(c + i * ldc, t + i * NR, (size_t)nc * sizeof(float));
}

/* Rows [m0, m1) x panels [p0, p1) with the blocked loop nest of the header
 * comment; apack: this thread's scratch. */
SN_TARGET_AVX2 static void run_range_avx2(const plan_t *p, int64_t m0, int64_t m1, int64_t p0,
                                          int64_t p1, float *apack) {
  const int64_t K = p->k, N = p->n, rows = m1 - m0;
  const kernel_fn *kernels = kernels_for(p);
  if (rows <= 0 || p1 <= p0) return;
  /* Even M blocks, so that no block is a sliver. */
  int64_t nbm = ceil_div(rows, p->mc_max);
  int64_t mc = ceil_div(ceil_div(rows, nbm), MR) * MR;
  for (int64_t i0 = m0; i0 < m1; i0 += mc) {
    int64_t mb = min64(mc, m1 - i0);
    for (int64_t k0 = 0; k0 < K; k0 += p->kc) {
      int64_t kb = min64(p->kc, K - k0);
      int first = k0 == 0, last = k0 + kb >= K;
      int pre_c = !first || p->residual;
      int act = last ? p->act : 0;
      const float *bias = first ? p->bias : NULL;
      pack_a_avx2(p->x + i0 * K + k0, K, mb, kb, apack);
      for (int64_t j = p0; j < p1; j++) {
        const char *bp = b_panel(p->packed, p->bf16, N, k0, kb, j);
        int64_t c0 = j * NR, nc = min64(NR, N - c0);
        const float *bj = bias ? bias + c0 : NULL;
        for (int64_t ir = 0; ir < mb; ir += MR) {
          int64_t mr = min64(MR, mb - ir);
          float *cp = p->out + (i0 + ir) * N + c0;
          if (nc == NR)
            kernels[mr](kb, apack + ir * kb, bp, cp, N, bj, pre_c, act);
          else
            edge_tile_avx2(kernels, kb, apack + ir * kb, bp, cp, N, mr, nc, bj, pre_c, act);
        }
      }
    }
  }
}

/* The residual-after-activation case: A is packed for all of K (a few rows
 * at a time), and each tile runs every K block into a local tile before the
 * activation and the residual add, so out holds the residual until then. */
SN_TARGET_AVX2 static void run_range_res_act_avx2(const plan_t *p, int64_t m0, int64_t m1,
                                                  int64_t p0, int64_t p1, float *apack) {
  const int64_t K = p->k, N = p->n, rows = m1 - m0;
  const kernel_fn *kernels = kernels_for(p);
  if (rows <= 0 || p1 <= p0) return;
  int64_t nbm = ceil_div(rows, p->mc_max);
  int64_t mc = ceil_div(ceil_div(rows, nbm), MR) * MR;
  for (int64_t i0 = m0; i0 < m1; i0 += mc) {
    int64_t mb = min64(mc, m1 - i0), mbp = ceil_div(mb, MR) * MR;
    for (int64_t k0 = 0; k0 < K; k0 += p->kc)
      pack_a_avx2(p->x + i0 * K + k0, K, mb, min64(p->kc, K - k0), apack + mbp * k0);
    for (int64_t j = p0; j < p1; j++) {
      int64_t c0 = j * NR, nc = min64(NR, N - c0);
      float bb[NR] = {0}, t[MR * NR];
      if (p->bias) memcpy(bb, p->bias + c0, (size_t)nc * sizeof(float));
      for (int64_t ir = 0; ir < mb; ir += MR) {
        int64_t mr = min64(MR, mb - ir);
        for (int64_t k0 = 0; k0 < K; k0 += p->kc) {
          int64_t kb = min64(p->kc, K - k0);
          int first = k0 == 0, last = k0 + kb >= K;
          kernels[mr](kb, apack + mbp * k0 + ir * kb, b_panel(p->packed, p->bf16, N, k0, kb, j), t,
                      NR, first && p->bias ? bb : NULL, !first, last ? p->act : 0);
        }
        float *cp = p->out + (i0 + ir) * N + c0;
        for (int64_t i = 0; i < mr; i++)
          for (int64_t c = 0; c < nc; c++) cp[i * N + c] += t[i * NR + c];
      }
    }
  }
}

#endif /* SN_X86 */

/* ---------------------------------------------------------------- driver */

/* Rows [m0, m1) x panels [p0, p1) on this thread, with the chosen inner loops. */
static void run_range(const plan_t *p, int isa, int64_t m0, int64_t m1, int64_t p0, int64_t p1,
                      float *apack) {
#if SN_X86
  if (isa >= SN_ISA_AVX2) {
    if (p->residual && p->act)
      run_range_res_act_avx2(p, m0, m1, p0, p1, apack);
    else
      run_range_avx2(p, m0, m1, p0, p1, apack);
    return;
  }
#endif
  (void)isa;
  (void)apack;
  run_range_portable(p, m0, m1, p0, p1);
}

/* Task t of the (M block, panel chunk) grid. */
static void run_task(const plan_t *p, int isa, int64_t t, float *apack) {
  int64_t i = t / p->nchunks, c = t % p->nchunks, panels = ceil_div(p->n, NR);
  run_range(p, isa, i * p->mc, min64(p->m, (i + 1) * p->mc), c * p->chunk,
            min64(panels, (c + 1) * p->chunk), apack);
}

/* One parallel GEMM: each worker packs A into its own slice of scratch. */
typedef struct gemm_region {
  const plan_t *p;
  int isa;
  float *scratch;
  int64_t per_worker; /* floats of scratch per worker */
} gemm_region_t;

static void gemm_tile(void *ctx, size_t task, int worker) {
  const gemm_region_t *r = ctx;
  run_task(r->p, r->isa, (int64_t)task, r->scratch + (int64_t)worker * r->per_worker);
}

/* sn_gemm_run for either weight type (bf16: packed by sn_gemm_pack_bf16). */
static void run(int64_t m, int64_t k, int64_t n, const float *x, const void *packed, int bf16,
                const float *bias, int act, int residual, float *out, float *scratch) {
  if (m <= 0 || k <= 0 || n <= 0) return;
  plan_t p = {.m = m,
              .k = k,
              .n = n,
              .act = act >= 1 && act <= 4 ? act : 0,
              .residual = residual != 0,
              .bf16 = bf16,
              .x = x,
              .packed = packed,
              .bias = bias,
              .out = out};
  p.kc = k_block(k);
  p.mc_max = SN_GEMM_MC;
  if (p.residual && p.act) { /* A for all of K must fit the scratch */
    int64_t rows = scratch_floats(k) / k / MR * MR;
    if (rows < p.mc_max) p.mc_max = rows;
  }
  int isa = sn_cpu_isa();
  sn_threadpool_t *pool = sn_threadpool_current();
  int threads = sn_threadpool_in_task() ? 1 : sn_threadpool_threads(pool);
  if (2.0 * (double)m * (double)n * (double)k < PARALLEL_MIN_FLOPS) threads = 1;
  if (threads <= 1) {
    run_range(&p, isa, 0, m, 0, ceil_div(n, NR), scratch);
    return;
  }
  /* Tasks: M blocks of up to MC rows times chunks of panels, taken
   * dynamically (a noisy neighbour on one core then delays only its own
   * tasks). About SN_GEMM_TASKS per thread, chunks no narrower than
   * SN_GEMM_MIN_CHUNK panels (each task packs its own A), and a task count
   * that the threads divide, so that a quiet machine ends balanced. */
  int64_t panels = ceil_div(n, NR), nbm = ceil_div(m, SN_GEMM_MC);
  p.mc = ceil_div(ceil_div(m, nbm), MR) * MR;
  nbm = ceil_div(m, p.mc);
  int64_t max_ch = panels / SN_GEMM_MIN_CHUNK > 1 ? panels / SN_GEMM_MIN_CHUNK : 1;
  int64_t want = min64(ceil_div((int64_t)SN_GEMM_TASKS * threads, nbm), max_ch), nch = want;
  for (int64_t c = want; c >= 1; c--)
    if (nbm * c % threads == 0) {
      nch = c;
      break;
    }
  p.chunk = ceil_div(panels, nch);
  p.nchunks = ceil_div(panels, p.chunk);
  int64_t tasks = nbm * p.nchunks;
  gemm_region_t r = {&p, isa, scratch, scratch_floats(k)};
  sn_threadpool_run(pool, (size_t)tasks, gemm_tile, &r);
}

void sn_gemm_run(int64_t m, int64_t k, int64_t n, const float *x, const float *packed,
                 const float *bias, int act, int residual, float *out, float *scratch) {
  run(m, k, n, x, packed, 0, bias, act, residual, out, scratch);
}

void sn_gemm_run_bf16(int64_t m, int64_t k, int64_t n, const float *x, const uint16_t *packed,
                      const float *bias, int act, int residual, float *out, float *scratch) {
  run(m, k, n, x, packed, 1, bias, act, residual, out, scratch);
}
