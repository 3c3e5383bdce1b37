/*
 * attention.c — fused multi-head self-attention over a packed batch
 * (sn_attention_f32 in fused.h), flash-attention style.
 *
 * Why this shape. The unfused path (transpose, Q K^T, masked softmax, P V,
 * transpose back) writes and re-reads an L x L score matrix per head and
 * spends most of its time in memory traffic. Here each work item takes one
 * (sequence, head, block of query rows) and streams over the sequence's keys in
 * blocks, keeping a running max and sum per query (online softmax), so scores
 * live only in registers.
 *
 * Vector layout: the lanes of a register are *queries*, not keys or features.
 * A block of LANES queries (16 for AVX-512, 8 for AVX2) is transposed once into
 * qt[c][query] (pre-scaled by scale * log2 e, so the softmax needs exp2 only).
 * For a block of LANES keys copied into a small tile, score vector s[j] (key j,
 * all queries) is a chain of FMAs of qt[c] with key j's feature c broadcast
 * from memory; the row max and sum of the softmax are then plain vertical
 * max/add over the s[j], with no horizontal reductions. With AVX-512 the
 * output update o[c][query] += p[j] * v[j][c] is again broadcast FMAs with the
 * p[j] still in registers; AVX2 has too few registers for that and runs it as
 * a small GEMM micro-kernel over [query][feature] rows instead (PV_ROWS). Only
 * the query block's start and end pay for 16x16 (8x8) in-register transposes. Head sizes 32, 64 and
 * 128 are compiled with a constant head size (unrolled, no tails); other sizes run the same code
 * with the feature dimension padded to a multiple of LANES with zeros.
 *
 * The AVX-512 and AVX2 bodies are one template: this file includes itself with
 * SN_ATT_TEMPLATE defined and a set of vector macros (V_*), once per ISA.
 *
 * DeBERTa-v2's disentangled terms (q_i . pos_key[r] + k_j . pos_query[r], r
 * the position row of i - j) run in the same blocked body (AVX2): per work
 * item the position rows are laid out by distance and transposed, [feature]
 * [distance], so that for key j the terms of a block of query lanes are a
 * contiguous window of that table (distance i - j grows with the lane). The
 * score loop then adds, per feature, q (lanes) times (k_j broadcast + the
 * pos_key window) and k_j times the pos_query window: two FMAs and an add
 * where plain attention has one FMA, with the softmax and P V unchanged.
 *
 * Work split: items are ordered (sequence, head, query block) and cut into one
 * contiguous range per share (four per thread) by estimated cost (keys visited), so one
 * long sequence still keeps two threads busy, and a thread's consecutive items
 * mostly share a head's keys and values in cache.
 */
#ifndef SN_ATT_TEMPLATE

#include <math.h>
#include <stdlib.h>

#include "kernels/fused.h"
#include "kernels/threadpool.h"
#include "kernels/vecmath.h"

/* Head sizes above this run the portable path (stack tiles are sized by it). */
#define ATT_VEC_MAX_D 256
/* Query rows per portable work item. */
#define ATT_PORTABLE_QB 16
/* Cost of an item beyond its keys (transposes, setup), in key units. */
#define ATT_ITEM_OVERHEAD 32
/* Below this many multiply-adds a parallel region costs more than it saves. */
#define ATT_PARALLEL_MIN_FMAS (1 << 18)
/* Distances one disentangled position table holds (a multiple of every LANES;
 * at least QGROUPS * LANES + 2 * LANES): a work item rebuilds its tables
 * after about ATT_DIS_XW - 40 keys, so for sequences up to ~530 tokens (512:
 * DeBERTa's usual limit) it builds them once (10 % less attention time at 512
 * than with 256). */
#define ATT_DIS_XW 576

typedef struct att_args {
  const float *qkv;
  int64_t qkv_stride;
  const int32_t *offsets;
  int32_t num_seqs, heads, head_dim;
  float scale;
  const float *bias; /* NULL, or [heads][2 bias_distance + 1] */
  int64_t bias_distance;
  int32_t window, causal;
  int32_t kv_heads; /* heads of k and v (== heads unless grouped-query) */
  float *out;
  int64_t out_stride;
  const sn_attention_disentangled_t *dis; /* DeBERTa-v2's terms, or NULL */
} att_args_t;

/* The k/v head that q head `head` reads (grouped-query attention). */
static inline int64_t att_kv_head(const att_args_t *a, int head) {
  return head / (a->heads / a->kv_heads);
}

/* A score outside the window or after the query (base 2). Finite, unlike
 * -inf: a lane with only such keys so far gets a finite running max, and its
 * first key in range rescales what they added by exp2(-1e30 - m) = 0. */
#define ATT_OUT_OF_RANGE (-1e30f)

/* The keys [*lo, *hi) that queries [qa, qa + nq) of a sequence of len tokens
 * may see (positions in the sequence): all of them, or those the window and
 * the causal limit leave. */
static inline void att_key_range(const att_args_t *a, int len, int qa, int nq, int *lo, int *hi) {
  *lo = 0;
  *hi = len;
  if (a->window > 0) {
    *lo = qa - a->window > 0 ? qa - a->window : 0;
    *hi = qa + nq - 1 + a->window + 1 < len ? qa + nq - 1 + a->window + 1 : len;
  }
  if (a->causal && qa + nq < *hi) *hi = qa + nq;
}

/* The bias of query i against key j (positions in their sequence) for one
 * head's table row `t` (already offset to its centre, D = distance). */
static inline float att_bias_at(const float *t, int64_t distance, int64_t i, int64_t j) {
  int64_t x = i - j;
  return t[x < -distance ? -distance : x > distance ? distance : x];
}

/* Runs one item: one head's query rows [q0, q0 + nq) of the packed batch
 * against the key rows [k0, k0 + len) of their sequence (those in range:
 * att_key_range). scratch is the calling thread's stack tile. */
typedef void (*att_item_fn)(const att_args_t *a, int64_t k0, int len, int head, int64_t q0, int nq,
                            void *scratch);

/* Cost of one head's query block b (qb rows) of a sequence: the keys it
 * visits and a fixed overhead. */
static int64_t att_block_cost(const att_args_t *a, int len, int qb, int64_t b) {
  int qa = (int)(b * qb), nq = len - qa < qb ? len - qa : qb, lo, hi;
  att_key_range(a, len, qa, nq, &lo, &hi);
  return hi - lo + ATT_ITEM_OVERHEAD;
}

/* A sequence's cost, all heads. Without a window or causal limit every block
 * costs the same; with one, blocks are summed (a few hundred at most). */
static int64_t att_seq_cost(const att_args_t *a, int len, int qb) {
  int64_t nb = (len + qb - 1) / qb, sum = 0;
  if (!a->window && !a->causal) return a->heads * nb * (len + ATT_ITEM_OVERHEAD);
  for (int64_t b = 0; b < nb; b++) sum += att_block_cost(a, len, qb, b);
  return a->heads * sum;
}

/* Calls fn for this thread's share of the items, query blocks of qb rows:
 * items ordered (sequence, head, block) and cut where the cumulative cost
 * crosses tid / nt of the total. */
static void att_partition(const att_args_t *a, int qb, int tid, int nt, att_item_fn fn,
                          void *scratch) {
  int64_t total = 0;
  for (int32_t i = 0; i < a->num_seqs; i++)
    total += att_seq_cost(a, a->offsets[i + 1] - a->offsets[i], qb);
  /* This thread owns the items whose cumulative cost starts in [lo, hi). */
  int64_t lo = total * tid / nt, hi = total * (tid + 1) / nt, acc = 0;
  for (int32_t i = 0; i < a->num_seqs && acc < hi; i++) {
    int len = a->offsets[i + 1] - a->offsets[i];
    int64_t seq = att_seq_cost(a, len, qb);
    if (acc + seq <= lo) {
      acc += seq;
      continue;
    }
    int64_t nb = (len + qb - 1) / qb;
    for (int head = 0; head < a->heads && acc < hi; head++)
      for (int64_t b = 0; b < nb && acc < hi; b++) {
        int64_t cost = att_block_cost(a, len, qb, b);
        if (acc >= lo) {
          int nq = len - (int)(b * qb) < qb ? len - (int)(b * qb) : qb;
          fn(a, a->offsets[i], len, head, (int64_t)a->offsets[i] + b * qb, nq, scratch);
        }
        acc += cost;
      }
  }
}

/* ----------------------------------------------------------------- portable */

/* The online-softmax step of the row-at-a-time paths: with the block's
 * scores s[0..nk) (max mx) and the row's running max m, sum l and output o
 * (double), rescales o and l to the new max and adds the block's values
 * (rows vrows + j * stride). Returns the new max. */
static double att_online_softmax(const double *s, int nk, double mx, double m, double *l, double *o,
                                 const float *vrows, int64_t stride, int d) {
  double mnew = mx > m ? mx : m;
  double alpha = exp(m - mnew); /* 0 on the first block: m is -inf */
  *l *= alpha;
  for (int c = 0; c < d; c++) o[c] *= alpha;
  for (int j = 0; j < nk; j++) {
    double p = exp(s[j] - mnew);
    const float *vrow = vrows + (int64_t)j * stride;
    *l += p;
    for (int c = 0; c < d; c++) o[c] += p * vrow[c];
  }
  return mnew;
}

typedef struct att_portable_scratch {
  double q[SN_ATTENTION_MAX_HEAD_DIM];
  double o[SN_ATTENTION_MAX_HEAD_DIM];
} att_portable_scratch_t;

/* One query row at a time: scores for 16 keys, then the online-softmax update.
 * Accumulates in double: this path is the fallback for any CPU and the most
 * accurate one, not the fast one. q is copied first so out may alias it. */
static void att_item_portable(const att_args_t *a, int64_t k0, int len, int head, int64_t q0,
                              int nq, void *scratch) {
  att_portable_scratch_t *sc = scratch;
  const int d = a->head_dim;
  const int64_t hd = (int64_t)a->heads * d, st = a->qkv_stride;
  const float *kbase = a->qkv + k0 * st + hd + att_kv_head(a, head) * d;
  const float *vbase = kbase + (int64_t)a->kv_heads * d;
  const float *brow =
      a->bias ? a->bias + head * (2 * a->bias_distance + 1) + a->bias_distance : NULL;
  for (int r = 0; r < nq; r++) {
    const float *qrow = a->qkv + (q0 + r) * st + (int64_t)head * d;
    for (int c = 0; c < d; c++) {
      sc->q[c] = qrow[c];
      sc->o[c] = 0.0;
    }
    double m = -INFINITY, l = 0.0;
    int klo, khi;
    att_key_range(a, len, (int)(q0 + r - k0), 1, &klo, &khi);
    for (int kb = klo; kb < khi; kb += 16) {
      int nk = khi - kb < 16 ? khi - kb : 16;
      double s[16], mx = -INFINITY;
      for (int j = 0; j < nk; j++) {
        const float *krow = kbase + (int64_t)(kb + j) * st;
        /* Four partial sums: one chain would wait on the add latency. */
        double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
        int c = 0;
        for (; c + 4 <= d; c += 4) {
          d0 += sc->q[c] * krow[c];
          d1 += sc->q[c + 1] * krow[c + 1];
          d2 += sc->q[c + 2] * krow[c + 2];
          d3 += sc->q[c + 3] * krow[c + 3];
        }
        for (; c < d; c++) d0 += sc->q[c] * krow[c];
        s[j] = ((d0 + d1) + (d2 + d3)) * a->scale;
        if (brow) s[j] += att_bias_at(brow, a->bias_distance, q0 + r - k0, kb + j);
        mx = s[j] > mx ? s[j] : mx;
      }
      m = att_online_softmax(s, nk, mx, m, &l, sc->o, vbase + (int64_t)kb * st, st, d);
    }
    float *orow = a->out + (q0 + r) * a->out_stride + (int64_t)head * d;
    for (int c = 0; c < d; c++) orow[c] = (float)(sc->o[c] / l);
  }
}

static void att_thread_portable(const att_args_t *a, int tid, int nt) {
  att_portable_scratch_t scratch;
  att_partition(a, ATT_PORTABLE_QB, tid, nt, att_item_portable, &scratch);
}

/* ------------------------------------------------ disentangled (DeBERTa-v2) */

/* Position rows a query row caches its content->position terms for; a row
 * needing more computes them per key. */
#define ATT_DIS_ROWS 2048

typedef struct att_dis_scratch {
  float q[SN_ATTENTION_MAX_HEAD_DIM];
  double o[SN_ATTENTION_MAX_HEAD_DIM];
  float c2p[ATT_DIS_ROWS]; /* q . pos_key[r] for r in [rlo, rlo + ATT_DIS_ROWS) */
} att_dis_scratch_t;

/* A float dot product in 8 independent lanes, which the compiler turns into
 * vector FMAs (with the target of the function it is inlined into). */
static inline __attribute__((always_inline)) float att_dot8(const float *restrict a,
                                                            const float *restrict b, int d) {
  float acc[8] = {0};
  int c = 0;
  for (; c + 8 <= d; c += 8)
    for (int l = 0; l < 8; l++) acc[l] += a[c + l] * b[c + l];
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; c < d; c++) sum += a[c] * b[c];
  return sum;
}

/* The position row of query - key = x. */
static inline int64_t att_dis_row(const sn_attention_disentangled_t *dis, int64_t x) {
  const int64_t D = dis->distance;
  return (int64_t)dis->index[D + (x < -D ? -D : x > D ? D : x)];
}

/* One query row at a time, as the portable path: for each key, (q . k +
 * q . pos_key[r] + k . pos_query[r]) * scale, r the row of their distance;
 * the q . pos_key terms are computed once per row for the rows its keys need
 * (a contiguous range: the index does not decrease with i - j), the others
 * per key. Online softmax and the weighted sum in double. */
static inline __attribute__((always_inline)) void att_dis_body(const att_args_t *a, int64_t k0,
                                                               int len, int head, int64_t q0,
                                                               int nq, att_dis_scratch_t *sc) {
  const sn_attention_disentangled_t *dis = a->dis;
  const int d = a->head_dim;
  const int64_t hd = (int64_t)a->heads * d, st = a->qkv_stride;
  const float *kbase = a->qkv + k0 * st + hd + (int64_t)head * d;
  const float *vbase = kbase + hd;
  const float *pkey = dis->pos + (int64_t)head * d, *pquery = pkey + 2 * dis->span * hd;
  for (int r = 0; r < nq; r++) {
    const int64_t i = q0 + r - k0; /* the query's position in its sequence */
    const float *qrow = a->qkv + (q0 + r) * st + (int64_t)head * d;
    for (int c = 0; c < d; c++) {
      sc->q[c] = qrow[c];
      sc->o[c] = 0.0;
    }
    const int64_t rlo = att_dis_row(dis, i - (len - 1)), rhi = att_dis_row(dis, i);
    const int cached = rhi - rlo < ATT_DIS_ROWS;
    if (cached)
      for (int64_t row = rlo; row <= rhi; row++)
        sc->c2p[row - rlo] = att_dot8(sc->q, pkey + row * hd, d);
    double m = -INFINITY, l = 0.0;
    for (int kb = 0; kb < len; kb += 16) {
      const int nk = len - kb < 16 ? len - kb : 16;
      double s[16], mx = -INFINITY;
      for (int j = 0; j < nk; j++) {
        const float *krow = kbase + (int64_t)(kb + j) * st;
        const int64_t row = att_dis_row(dis, i - (kb + j));
        /* (a row outside [rlo, rhi] would mean an index table that decreases,
         * which the verifier refuses; computed directly all the same) */
        const float c2p = cached && row >= rlo && row <= rhi ? sc->c2p[row - rlo]
                                                             : att_dot8(sc->q, pkey + row * hd, d);
        /* transformers: q . k / scale + (c2p / scale + p2c / scale) */
        const float p2c = att_dot8(krow, pquery + row * hd, d);
        s[j] = (double)att_dot8(sc->q, krow, d) * a->scale +
               ((double)c2p * a->scale + (double)p2c * a->scale);
        mx = s[j] > mx ? s[j] : mx;
      }
      m = att_online_softmax(s, nk, mx, m, &l, sc->o, vbase + (int64_t)kb * st, st, d);
    }
    float *orow = a->out + (q0 + r) * a->out_stride + (int64_t)head * d;
    for (int c = 0; c < d; c++) orow[c] = (float)(sc->o[c] / l);
  }
}

static void att_item_dis(const att_args_t *a, int64_t k0, int len, int head, int64_t q0, int nq,
                         void *scratch) {
  att_dis_body(a, k0, len, head, q0, nq, scratch);
}

static void att_thread_dis(const att_args_t *a, int tid, int nt) {
  att_dis_scratch_t scratch;
  att_partition(a, ATT_PORTABLE_QB, tid, nt, att_item_dis, &scratch);
}

#if SN_X86
SN_TARGET_AVX2 static void att_item_dis_avx2(const att_args_t *a, int64_t k0, int len, int head,
                                             int64_t q0, int nq, void *scratch) {
  att_dis_body(a, k0, len, head, q0, nq, scratch);
}

static void att_thread_dis_avx2(const att_args_t *a, int tid, int nt) {
  att_dis_scratch_t scratch;
  att_partition(a, ATT_PORTABLE_QB, tid, nt, att_item_dis_avx2, &scratch);
}
#endif

/* ------------------------------------------------------------- vector paths */

#if SN_X86
#define SN_ATT_TEMPLATE

/* AVX-512: 16 query lanes, 16-key blocks (16 score registers), 8 output
 * accumulation chains (16 weights + 8 accumulators fit the 32 zmm registers). */
#define LANES 16
#define QGROUPS 1
#define PV_ROWS 0
#define PV_CHAINS 8
#define DP_ALIGN 16
/* No disentangled body: untested on AVX-512 hardware so far, and such CPUs
 * run the AVX2 one. */
#define ATT_DIS 0
#define VEC __m512
#define TARGET SN_TARGET_AVX512
#define SFX(name) name##_avx512
#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_LOAD(p) _mm512_load_ps(p)
#define V_STORE(p, v) _mm512_store_ps(p, v)
#define V_LOADU(p) _mm512_loadu_ps(p)
#define V_STOREU(p, v) _mm512_storeu_ps(p, v)
#define V_LOADU_PART(p, n) _mm512_maskz_loadu_ps(sn_mask16(n), p)
#define V_STOREU_PART(p, n, v) _mm512_mask_storeu_ps(p, sn_mask16(n), v)
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MAX(a, b) _mm512_max_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_DIV(a, b) _mm512_div_ps(a, b)
#define V_EXP2(t) sn_exp2_neg_v16(t)
/* s where lo <= lane <= hi, ATT_OUT_OF_RANGE elsewhere. */
#define V_KEEP_LANES(s, lo, hi)                                                                   \
  _mm512_mask_blend_ps(                                                                           \
      _mm512_cmp_ps_mask(_mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),     \
                         _mm512_set1_ps(lo), _CMP_GE_OQ) &                                        \
          _mm512_cmp_ps_mask(_mm512_set_ps(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), \
                             _mm512_set1_ps(hi), _CMP_LE_OQ),                                     \
      _mm512_set1_ps(ATT_OUT_OF_RANGE), s)

/* Transposes r[0..15] (row i = r[i]) in registers: 64 shuffles. */
SN_TARGET_AVX512 static inline void transpose_avx512(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  /* r[4i + k], 128-bit lane l: rows 4i..4i+3 of column 4l + k. */
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  /* Gather the 128-bit lanes: first rows 0-7 and 8-15, then all 16. */
#pragma GCC unroll 4
  for (int k = 0; k < 4; k++) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; k++) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
    r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xDD);
  }
}
#define V_TRANSPOSE(r) transpose_avx512(r)

#include "kernels/attention.c"

#undef LANES
#undef QGROUPS
#undef PV_ROWS
#undef PV_CHAINS
#undef DP_ALIGN
#undef ATT_DIS
#undef VEC
#undef TARGET
#undef SFX
#undef V_ZERO
#undef V_SET1
#undef V_LOAD
#undef V_STORE
#undef V_LOADU
#undef V_STOREU
#undef V_LOADU_PART
#undef V_STOREU_PART
#undef V_BCAST
#undef V_FMA
#undef V_MUL
#undef V_ADD
#undef V_MAX
#undef V_SUB
#undef V_DIV
#undef V_EXP2
#undef V_KEEP_LANES
#undef V_TRANSPOSE

/* AVX2: 8 query lanes, 8-key blocks; only 16 ymm registers, so the P V
 * update runs as a 4 x 2 GEMM micro-kernel, and four query groups share each
 * key/value tile (an 8 x 8 block is too small to amortise the copy alone). */
#define LANES 8
#define QGROUPS 4
#define PV_ROWS 1
#define PV_CHAINS 4
#define DP_ALIGN 16
#define ATT_DIS 1
#define ATT_DIS_FALLBACK att_thread_dis_avx2
#define VEC __m256
#define TARGET SN_TARGET_AVX2
#define SFX(name) name##_avx2
#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_LOAD(p) _mm256_load_ps(p)
#define V_STORE(p, v) _mm256_store_ps(p, v)
#define V_LOADU(p) _mm256_loadu_ps(p)
#define V_STOREU(p, v) _mm256_storeu_ps(p, v)
#define V_LOADU_PART(p, n) _mm256_maskload_ps(p, sn_mask8(n))
#define V_STOREU_PART(p, n, v) _mm256_maskstore_ps(p, sn_mask8(n), v)
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MAX(a, b) _mm256_max_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_DIV(a, b) _mm256_div_ps(a, b)
#define V_EXP2(t) sn_exp2_neg_v8(t)
#define V_KEEP_LANES(s, lo, hi)                                                                  \
  _mm256_blendv_ps(                                                                              \
      _mm256_set1_ps(ATT_OUT_OF_RANGE), s,                                                       \
      _mm256_and_ps(                                                                             \
          _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps(lo), _CMP_GE_OQ), \
          _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps(hi), _CMP_LE_OQ)))

SN_TARGET_AVX2 static inline void transpose_avx2(__m256 r[8]) {
  __m256 t[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  /* u[4i + k], 128-bit lane l: rows 4i..4i+3 of column 4l + k. */
  __m256 u[8];
#pragma GCC unroll 2
  for (int i = 0; i < 2; i++) {
    u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; k++) {
    r[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
    r[4 + k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
  }
}
#define V_TRANSPOSE(r) transpose_avx2(r)

#include "kernels/attention.c"

#undef ATT_DIS_FALLBACK
#undef SN_ATT_TEMPLATE
#endif /* SN_X86 */

/* ----------------------------------------------------------------- dispatch */

typedef struct att_region {
  const att_args_t *a;
  void (*share_fn)(const att_args_t *, int, int);
  int shares;
} att_region_t;

static void att_tile(void *ctx, size_t share, int worker) {
  (void)worker;
  const att_region_t *r = ctx;
  r->share_fn(r->a, (int)share, r->shares);
}

/* Both entry points: dis NULL, or DeBERTa-v2's terms (the blocked AVX2 body
 * where the CPU has AVX2 and the head fits its tiles, else one row at a
 * time). */
static void att_run(const float *qkv, int64_t qkv_stride, const int32_t *offsets, int32_t num_seqs,
                    const sn_attention_params_t *p, const sn_attention_disentangled_t *dis,
                    float *out, int64_t out_stride) {
  const int32_t heads = p->heads, head_dim = p->head_dim;
  const int32_t kv_heads = p->kv_heads ? p->kv_heads : heads;
  if (num_seqs <= 0 || heads <= 0 || head_dim <= 0 || head_dim > SN_ATTENTION_MAX_HEAD_DIM ||
      p->bias_distance < 0 || p->window < 0 || kv_heads < 1 || heads % kv_heads != 0)
    return;
  if (dis && (p->bias || p->window || p->causal || kv_heads != heads || dis->distance < 0 ||
              dis->span < 1))
    return;
  att_args_t a = {qkv,       qkv_stride, offsets,
                  num_seqs,  heads,      head_dim,
                  p->scale,  p->bias,    p->bias ? p->bias_distance : 0,
                  p->window, p->causal,  kv_heads,
                  out,       out_stride, dis};
  void (*thread_fn)(const att_args_t *, int, int) = dis ? att_thread_dis : att_thread_portable;
#if SN_X86
  int isa = sn_cpu_isa();
  if (dis) {
    if (isa >= SN_ISA_AVX2)
      thread_fn = head_dim <= ATT_VEC_MAX_D ? att_thread_dis_blocked_avx2 : att_thread_dis_avx2;
  } else if (head_dim <= ATT_VEC_MAX_D && isa >= SN_ISA_AVX512)
    thread_fn = att_thread_avx512;
  else if (head_dim <= ATT_VEC_MAX_D && isa >= SN_ISA_AVX2)
    thread_fn = att_thread_avx2;
#endif
  int64_t fmas = 0;
  for (int32_t i = 0; i < num_seqs; i++)
    fmas += 2 * att_seq_cost(&a, offsets[i + 1] - offsets[i], 32) * 32 * head_dim;
  /* About four cost-balanced shares per thread, taken as tiles: a thread
   * the OS deschedules holds up only the share it has. */
  sn_threadpool_t *pool = sn_threadpool_current();
  int threads = sn_threadpool_in_task() ? 1 : sn_threadpool_threads(pool);
  if (fmas < ATT_PARALLEL_MIN_FMAS || threads <= 1) {
    thread_fn(&a, 0, 1);
    return;
  }
  att_region_t r = {&a, thread_fn, 4 * threads};
  sn_threadpool_run(pool, (size_t)r.shares, att_tile, &r);
}

void sn_attention_f32(const float *qkv, int64_t qkv_stride, const int32_t *offsets,
                      int32_t num_seqs, const sn_attention_params_t *p, float *out,
                      int64_t out_stride) {
  att_run(qkv, qkv_stride, offsets, num_seqs, p, NULL, out, out_stride);
}

void sn_attention_disentangled_f32(const float *qkv, int64_t qkv_stride, const int32_t *offsets,
                                   int32_t num_seqs, const sn_attention_params_t *params,
                                   const sn_attention_disentangled_t *dis, float *out,
                                   int64_t out_stride) {
  if (dis) att_run(qkv, qkv_stride, offsets, num_seqs, params, dis, out, out_stride);
}

#else /* SN_ATT_TEMPLATE: the vector body, instantiated once per ISA */

/* Template parameters (set by the includer):
 *  LANES      queries per vector and keys per block
 *  QGROUPS    groups of LANES queries per work item; they share each copied
 *             key/value tile, which matters where tiles are small (AVX2)
 *  PV_ROWS    0: output accumulators transposed like the queries, updated
 *             with the weights still in registers (needs 2 x LANES + chains
 *             registers: AVX-512); 1: weights spilled to a small buffer and
 *             the update done as a GEMM micro-kernel over [query][feature]
 *             rows, 4 queries x 2 vectors (8 FMA chains in 16 registers: AVX2)
 *  PV_CHAINS  feature vectors in flight in the PV_ROWS == 0 update
 *  DP_ALIGN   the padded head size dp is a multiple of this
 *  ATT_DIS    1: also build the disentangled (DeBERTa-v2) body */

/* Loads/stores n (> 0) features: a plain access when n >= LANES, which is
 * known at compile time for the specialised head sizes; masked otherwise
 * (masked moves are much slower, on AMD especially, and the tail of the last
 * row must not be read past). */
#define LOAD_FEAT(p, n) ((n) >= LANES ? V_LOADU(p) : V_LOADU_PART(p, n))
#define STORE_FEAT(p, n, v)   \
  do {                        \
    if ((n) >= LANES)         \
      V_STOREU(p, v);         \
    else                      \
      V_STOREU_PART(p, n, v); \
  } while (0)

typedef struct SFX(att_scratch) {
  _Alignas(64) float qt[QGROUPS][ATT_VEC_MAX_D * LANES]; /* queries, [feature][query] */
  _Alignas(64) float ot[QGROUPS][ATT_VEC_MAX_D * LANES]; /* outputs, see PV_ROWS */
  _Alignas(64) float kt[LANES * ATT_VEC_MAX_D];          /* key tile, [key][feature] */
  _Alignas(64) float vt[LANES * ATT_VEC_MAX_D];          /* value tile, same */
  _Alignas(64) float pbuf[LANES * LANES];                /* weights, [key][query] */
  _Alignas(64) float abuf[LANES];                        /* rescale factors */
  _Alignas(64) float bbuf[LANES];                        /* a bias window over a table end */
#if ATT_DIS
  /* Disentangled position tables, [dp][ATT_DIS_XW] each (64-byte aligned):
   * entry [c][x - xbase] is feature c of the position key (pkt) or query
   * (pqt, pre-scaled like the queries) row of distance x. */
  float *pkt, *pqt;
#endif
} SFX(att_scratch_t);

#if ATT_DIS
/* Fills the disentangled tables of `head` for the distances [xfrom, xbase +
 * ATT_DIS_XW) (xfrom - xbase a multiple of LANES): LANES distances at a time,
 * their position rows loaded and transposed in registers. Padded features
 * (c >= d) are zero, so they add nothing against the zero-padded queries. */
TARGET static inline __attribute__((always_inline)) void SFX(att_dis_tables)(
    const att_args_t *a, int head, const int d, const int dp, int64_t xbase, int64_t xfrom,
    SFX(att_scratch_t) * sc) {
  const sn_attention_disentangled_t *dis = a->dis;
  const int64_t hd = (int64_t)a->heads * d;
  const float *pkey = dis->pos + (int64_t)head * d, *pquery = pkey + 2 * dis->span * hd;
  const VEC pscale = V_SET1(a->scale * SN_LOG2E);
  for (int64_t x = xfrom; x < xbase + ATT_DIS_XW; x += LANES) {
    const float *kr[LANES], *qr[LANES];
    for (int l = 0; l < LANES; l++) {
      const int64_t row = att_dis_row(dis, x + l) * hd;
      kr[l] = pkey + row;
      qr[l] = pquery + row;
    }
    float *restrict pk = sc->pkt + (x - xbase), *restrict pq = sc->pqt + (x - xbase);
    for (int c0 = 0; c0 < dp; c0 += LANES) {
      VEC r[LANES];
#pragma GCC unroll 16
      for (int l = 0; l < LANES; l++) r[l] = LOAD_FEAT(kr[l] + c0, d - c0);
      V_TRANSPOSE(r);
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++) V_STORE(pk + (int64_t)(c0 + i) * ATT_DIS_XW, r[i]);
#pragma GCC unroll 16
      for (int l = 0; l < LANES; l++) r[l] = V_MUL(LOAD_FEAT(qr[l] + c0, d - c0), pscale);
      V_TRANSPOSE(r);
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++) V_STORE(pq + (int64_t)(c0 + i) * ATT_DIS_XW, r[i]);
    }
  }
}
#endif

/* Biases of queries qi .. qi + LANES - 1 (lane l) against key kj:
 * brow[clamp(qi + l - kj)]. Inside the table that is a plain load of a
 * window; past either end one value; a window over an end is put together
 * in buf. */
TARGET static inline VEC SFX(att_bias_vec)(const float *brow, int64_t distance, int64_t qi,
                                           int64_t kj, float *buf) {
  const int64_t x0 = qi - kj;
  if (x0 >= -distance && x0 + LANES - 1 <= distance) return V_LOADU(brow + x0);
  if (x0 > distance) return V_SET1(brow[distance]);
  if (x0 + LANES - 1 < -distance) return V_SET1(brow[-distance]);
  for (int l = 0; l < LANES; l++) buf[l] = att_bias_at(brow, distance, qi + l, kj);
  return V_LOAD(buf);
}

/* One work item: up to QGROUPS * LANES queries starting at row q0. d is the
 * head size, dp = d rounded up to DP_ALIGN. Inlined into callers with constant
 * d so the specialised loops have fixed trip counts; dis (a constant too) adds
 * a->dis's terms through sc's tables (ATT_DIS builds only). */
TARGET static inline __attribute__((always_inline)) void SFX(att_block)(
    const att_args_t *a, int64_t k0, int len, int head, int64_t q0, int nq, const int d,
    const int dp, SFX(att_scratch_t) * sc, const int dis) {
  (void)dis;
  const int64_t hd = (int64_t)a->heads * d, st = a->qkv_stride, ost = a->out_stride;
  const float *kbase = a->qkv + k0 * st + hd + att_kv_head(a, head) * d;
  const float *vbase = kbase + (int64_t)a->kv_heads * d;
  /* The softmax runs in base 2: fold log2(e) into the queries once. */
  const VEC qscale = V_SET1(a->scale * SN_LOG2E);
  float *restrict kt = sc->kt, *restrict vt = sc->vt;
  const int ngroups = (nq + LANES - 1) / LANES;
  const float *brow =
      a->bias ? a->bias + head * (2 * a->bias_distance + 1) + a->bias_distance : NULL;
  const VEC l2e = V_SET1(SN_LOG2E);
  VEC m[QGROUPS], l[QGROUPS];

  /* Queries -> qt, LANES features at a time; absent rows and padded features
   * are zero, which makes their scores 0 (finite) and their outputs unused. */
  for (int g = 0; g < ngroups; g++) {
    const float *qbase = a->qkv + (q0 + g * LANES) * st + (int64_t)head * d;
    const int ng = nq - g * LANES;
    float *restrict qt = sc->qt[g], *restrict ot = sc->ot[g];
    for (int c0 = 0; c0 < dp; c0 += LANES) {
      VEC r[LANES];
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++)
        r[i] = i < ng ? V_MUL(LOAD_FEAT(qbase + i * st + c0, d - c0), qscale) : V_ZERO();
      V_TRANSPOSE(r);
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++) {
        V_STORE(qt + (c0 + i) * LANES, r[i]);
        V_STORE(ot + (c0 + i) * LANES, V_ZERO());
      }
    }
    m[g] = V_SET1(-INFINITY);
    l[g] = V_ZERO();
  }

  int klo, khi;
  att_key_range(a, len, (int)(q0 - k0), nq, &klo, &khi);
#if ATT_DIS
  /* The distances the tables hold start at xbase (none yet). */
  const int64_t qa = q0 - k0;
  int64_t xbase = INT64_MAX;
#endif
  for (int kb = klo; kb < khi; kb += LANES) {
    const int nk = khi - kb < LANES ? khi - kb : LANES;
    /* Copy the key and value rows into contiguous tiles: every broadcast in the
     * loops below is then at a constant offset from one pointer. */
    for (int j = 0; j < LANES; j++) {
      const float *krow = kbase + (int64_t)(kb + j) * st, *vrow = vbase + (int64_t)(kb + j) * st;
      for (int c = 0; c < dp; c += LANES) {
        VEC kv = j < nk ? LOAD_FEAT(krow + c, d - c) : V_ZERO();
        VEC vv = j < nk ? LOAD_FEAT(vrow + c, d - c) : V_ZERO();
        V_STORE(kt + j * dp + c, kv);
        V_STORE(vt + j * dp + c, vv);
      }
    }
#if ATT_DIS
    /* This key block reads distances [qa - kb - (LANES - 1), qa + QGROUPS *
     * LANES - 1 - kb] (every lane and key slot, absent ones too); the next
     * blocks read lower ones. When the table no longer reaches down far
     * enough, rebuild it with this block's highest distance at its top, from
     * the lowest distance the item's last block will read (rounded to
     * LANES below it) if that is higher than the bottom. */
    if (dis && qa - kb - (LANES - 1) < xbase) {
      xbase = qa + QGROUPS * LANES - 1 - kb - ATT_DIS_XW + 1;
      const int64_t need = qa - (khi - 1) - (LANES - 1);
      const int64_t xfrom = need > xbase ? xbase + (need - xbase) / LANES * LANES : xbase;
      SFX(att_dis_tables)(a, head, d, dp, xbase, xfrom, sc);
    }
#endif

    for (int g = 0; g < ngroups; g++) {
      const float *restrict qt = sc->qt[g];
      float *restrict ot = sc->ot[g];
      /* s[j] = scores of key j against this group's LANES queries. */
      VEC s[LANES];
#pragma GCC unroll 16
      for (int j = 0; j < LANES; j++) s[j] = V_ZERO();
#if ATT_DIS
      if (dis) {
        /* Lane l of key j is distance x = qa + g LANES + l - (kb + j): the
         * window of LANES distances starting at pk / pq - j. Score =
         * q . (k + pos_key) + k . pos_query, all in the scaled base 2. */
        const float *pk = sc->pkt + (qa + g * LANES - kb - xbase);
        const float *pq = sc->pqt + (qa + g * LANES - kb - xbase);
        for (int c = 0; c < dp; c++) {
          const VEC qv = V_LOAD(qt + c * LANES);
          const float *pkc = pk + (int64_t)c * ATT_DIS_XW, *pqc = pq + (int64_t)c * ATT_DIS_XW;
#pragma GCC unroll 16
          for (int j = 0; j < LANES; j++) {
            const VEC kc = V_BCAST(kt + j * dp + c);
            s[j] = V_FMA(qv, V_ADD(kc, V_LOADU(pkc - j)), s[j]);
            s[j] = V_FMA(kc, V_LOADU(pqc - j), s[j]);
          }
        }
      } else
#endif
        for (int c = 0; c < dp; c++) {
          VEC qv = V_LOAD(qt + c * LANES);
#pragma GCC unroll 16
          for (int j = 0; j < LANES; j++) s[j] = V_FMA(qv, V_BCAST(kt + j * dp + c), s[j]);
        }
      if (brow) {
        /* The bias in the softmax's base 2, like the scores. */
        const int64_t qi = q0 - k0 + g * LANES;
#pragma GCC unroll 16
        for (int j = 0; j < LANES; j++)
          s[j] = V_FMA(SFX(att_bias_vec)(brow, a->bias_distance, qi, kb + j, sc->bbuf), l2e, s[j]);
      }
      if (a->window || a->causal) {
        /* Key kb + j is in range of the lanes [x - window, x + window] (and
         * lanes >= x when causal), x = its distance after lane 0's query;
         * blocks wholly in range for every lane skip the selects. */
        const int x0 = kb - (int)(q0 - k0) - g * LANES, xl = x0 + nk - 1;
        const int w = a->window;
        if ((w && (xl - w > 0 || x0 + w < LANES - 1)) || (a->causal && xl > 0)) {
#pragma GCC unroll 16
          for (int j = 0; j < LANES; j++) {
            const int x = x0 + j;
            const int lo = w ? (a->causal ? x : x - w) : x, hi = w ? x + w : LANES;
            s[j] = V_KEEP_LANES(s[j], (float)lo, (float)hi);
          }
        }
      }
      if (nk < LANES) {
#pragma GCC unroll 16
        for (int j = 0; j < LANES; j++)
          if (j >= nk) s[j] = V_SET1(-INFINITY);
      }

      /* Online softmax: new running max, rescale factor, weights, sum. */
      VEC mx = s[0];
#pragma GCC unroll 16
      for (int j = 1; j < LANES; j++) mx = V_MAX(mx, s[j]);
      VEC mnew = V_MAX(m[g], mx);
      VEC alpha = V_EXP2(V_SUB(m[g], mnew));
      m[g] = mnew;
      VEC psum = V_ZERO();
#pragma GCC unroll 16
      for (int j = 0; j < LANES; j++) {
        s[j] = V_EXP2(V_SUB(s[j], mnew));
        psum = V_ADD(psum, s[j]);
      }
      l[g] = V_FMA(l[g], alpha, psum);

#if PV_ROWS
      /* ot[q][c] = ot[q][c] * alpha[q] + sum_j p[j][q] * v[j][c]: 4 queries x
       * 2 feature vectors per step, each key a broadcast weight times two
       * value loads. */
#pragma GCC unroll 16
      for (int j = 0; j < LANES; j++) V_STORE(sc->pbuf + j * LANES, s[j]);
      V_STORE(sc->abuf, alpha);
      for (int q = 0; q < LANES; q += 4) {
        for (int c = 0; c < dp; c += 2 * LANES) {
          const float *restrict pw = sc->pbuf + q, *restrict al = sc->abuf + q;
          /* Opaque to the optimiser, which would otherwise hoist the 32
           * addresses pw + constant out of this loop and spill them. */
          __asm__("" : "+r"(pw));
          float *restrict orow = ot + q * dp + c;
          const float *restrict vcol = vt + c;
          VEC acc[4][2];
#pragma GCC unroll 4
          for (int i = 0; i < 4; i++) {
            VEC ai = V_BCAST(al + i);
            acc[i][0] = V_MUL(V_LOAD(orow + i * dp), ai);
            acc[i][1] = V_MUL(V_LOAD(orow + i * dp + LANES), ai);
          }
#pragma GCC unroll 16
          for (int j = 0; j < LANES; j++) {
            VEC v0 = V_LOAD(vcol + j * dp), v1 = V_LOAD(vcol + j * dp + LANES);
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
              VEC wi = V_BCAST(pw + j * LANES + i);
              acc[i][0] = V_FMA(wi, v0, acc[i][0]);
              acc[i][1] = V_FMA(wi, v1, acc[i][1]);
            }
          }
#pragma GCC unroll 4
          for (int i = 0; i < 4; i++) {
            V_STORE(orow + i * dp, acc[i][0]);
            V_STORE(orow + i * dp + LANES, acc[i][1]);
          }
        }
      }
#else
      /* ot[c] = ot[c] * alpha + sum_j p[j] * v[j][c], PV_CHAINS features at a
       * time so that many independent FMA chains hide the FMA latency. */
      for (int c = 0; c < dp; c += PV_CHAINS) {
        VEC acc[PV_CHAINS];
#pragma GCC unroll 8
        for (int i = 0; i < PV_CHAINS; i++) acc[i] = V_MUL(V_LOAD(ot + (c + i) * LANES), alpha);
#pragma GCC unroll 16
        for (int j = 0; j < LANES; j++) {
#pragma GCC unroll 8
          for (int i = 0; i < PV_CHAINS; i++)
            acc[i] = V_FMA(s[j], V_BCAST(vt + j * dp + c + i), acc[i]);
        }
#pragma GCC unroll 8
        for (int i = 0; i < PV_CHAINS; i++) V_STORE(ot + (c + i) * LANES, acc[i]);
      }
#endif
    }
  }

  /* Normalise and write the nq real rows and d real features. */
  for (int g = 0; g < ngroups; g++) {
    const int ng = nq - g * LANES;
    const float *ot = sc->ot[g];
    float *obase = a->out + (q0 + g * LANES) * ost + (int64_t)head * d;
    VEC inv = V_DIV(V_SET1(1.0f), l[g]);
#if PV_ROWS
    V_STORE(sc->abuf, inv);
    for (int i = 0; i < LANES && i < ng; i++) {
      VEC iv = V_BCAST(sc->abuf + i);
      for (int c = 0; c < dp; c += LANES)
        STORE_FEAT(obase + i * ost + c, d - c, V_MUL(V_LOAD(ot + i * dp + c), iv));
    }
#else
    for (int c0 = 0; c0 < dp; c0 += LANES) {
      VEC r[LANES];
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++) r[i] = V_MUL(V_LOAD(ot + (c0 + i) * LANES), inv);
      V_TRANSPOSE(r);
#pragma GCC unroll 16
      for (int i = 0; i < LANES; i++)
        if (i < ng) STORE_FEAT(obase + i * ost + c0, d - c0, r[i]);
    }
#endif
  }
}

/* Specialised instances: the head size is a compile-time constant. */
TARGET static void SFX(att_item_d32)(const att_args_t *a, int64_t k0, int len, int head, int64_t q0,
                                     int nq, void *sc) {
  SFX(att_block)(a, k0, len, head, q0, nq, 32, 32, sc, 0);
}

TARGET static void SFX(att_item_d64)(const att_args_t *a, int64_t k0, int len, int head, int64_t q0,
                                     int nq, void *sc) {
  SFX(att_block)(a, k0, len, head, q0, nq, 64, 64, sc, 0);
}

TARGET static void SFX(att_item_d128)(const att_args_t *a, int64_t k0, int len, int head,
                                      int64_t q0, int nq, void *sc) {
  SFX(att_block)(a, k0, len, head, q0, nq, 128, 128, sc, 0);
}

TARGET static void SFX(att_item_any)(const att_args_t *a, int64_t k0, int len, int head, int64_t q0,
                                     int nq, void *sc) {
  int d = a->head_dim;
  SFX(att_block)(a, k0, len, head, q0, nq, d, (d + DP_ALIGN - 1) / DP_ALIGN * DP_ALIGN, sc, 0);
}

static void SFX(att_thread)(const att_args_t *a, int tid, int nt) {
  SFX(att_scratch_t) scratch;
  att_item_fn fn = a->head_dim == 32    ? SFX(att_item_d32)
                   : a->head_dim == 64  ? SFX(att_item_d64)
                   : a->head_dim == 128 ? SFX(att_item_d128)
                                        : SFX(att_item_any);
  att_partition(a, QGROUPS * LANES, tid, nt, fn, &scratch);
}

#if ATT_DIS
TARGET static void SFX(att_item_dis_d64)(const att_args_t *a, int64_t k0, int len, int head,
                                         int64_t q0, int nq, void *sc) {
  SFX(att_block)(a, k0, len, head, q0, nq, 64, 64, sc, 1);
}

TARGET static void SFX(att_item_dis_any)(const att_args_t *a, int64_t k0, int len, int head,
                                         int64_t q0, int nq, void *sc) {
  int d = a->head_dim;
  SFX(att_block)(a, k0, len, head, q0, nq, d, (d + DP_ALIGN - 1) / DP_ALIGN * DP_ALIGN, sc, 1);
}

/* The disentangled share: the scratch with its two position tables is on the
 * heap (2 x dp x ATT_DIS_XW floats, 288 KiB at head size 64: too much for
 * every thread's stack). If it cannot be had, the share runs the row path
 * instead: slower, the same result within rounding. */
static void SFX(att_thread_dis_blocked)(const att_args_t *a, int tid, int nt) {
  const size_t dp = (size_t)(a->head_dim + DP_ALIGN - 1) / DP_ALIGN * DP_ALIGN;
  const size_t size = sizeof(SFX(att_scratch_t)) + 2 * dp * ATT_DIS_XW * sizeof(float);
  SFX(att_scratch_t) *sc = aligned_alloc(64, (size + 63) / 64 * 64);
  if (!sc) {
    ATT_DIS_FALLBACK(a, tid, nt);
    return;
  }
  /* sizeof is a multiple of the struct's 64-byte alignment: sc + 1 is aligned. */
  sc->pkt = (float *)(sc + 1);
  sc->pqt = sc->pkt + dp * ATT_DIS_XW;
  att_partition(a, QGROUPS * LANES, tid, nt,
                a->head_dim == 64 ? SFX(att_item_dis_d64) : SFX(att_item_dis_any), sc);
  free(sc);
}
#endif

#undef LOAD_FEAT
#undef STORE_FEAT

#endif /* SN_ATT_TEMPLATE */
