/*
 * reference.h — straightforward CPU kernels for the eager executor: one loop
 * nest per op, written to be obviously correct (they are the oracle the
 * optimised kernels are tested against). Rows are split across OpenMP
 * threads, the runtime oneDNN also uses, so the two never oversubscribe.
 *
 * Buffers are contiguous row-major float32 unless noted; outputs never alias
 * inputs unless noted. Callers validate indices beforehand.
 */
#ifndef SN_KERNELS_REFERENCE_H
#define SN_KERNELS_REFERENCE_H

#include <stdint.h>

#include "base/types.h"

/* out[i, :] = table[ids[i], :] for n ids; every id must be in [0, rows). */
void sn_ref_gather(const float *table, int64_t h, const int32_t *ids, int64_t n, float *out);

/* out[i] = a[i] + b[i % nb]: b broadcast over a's leading dims (out may alias a). */
void sn_ref_add(const float *a, int64_t na, const float *b, int64_t nb, float *out);

/* out[i] = x[i] * s (out may alias x). */
void sn_ref_scale(const float *x, int64_t n, float s, float *out);

/* Permutes a rank-`rank` (<= 4) tensor: out dim i is x dim perm[i]. */
void sn_ref_transpose(const float *x, int rank, const int64_t *dims, const int *perm, float *out);

/* Row softmax of scores [B, heads, Sq, Sk] * scale with keys whose mask
 * [B, Sk] is 0 excluded (as adding float's minimum would), and with a window
 * > 0 the keys j farther than it from query i (|i - j| > window), with causal
 * the keys after it (j > i). */
void sn_ref_masked_softmax(const float *scores, const float *mask, int64_t b, int64_t heads,
                           int64_t sq, int64_t sk, float scale, int64_t window, int causal,
                           float *out);

/* Rotary positions (rotate_half form) on x [B, heads, S, d]: feature pairs
 * (c, c + d/2) of position s turned by cos = table[s, c], sin = table[s,
 * d/2 + c] (out may alias x). */
void sn_ref_rotary(const float *x, const float *table, int64_t bh, int64_t s, int64_t d,
                   float *out);

/* out[i] = x[i] sigmoid(x[i]) (out may alias x). */
void sn_ref_silu(const float *x, int64_t n, float *out);

/* RMSNorm over rows of length h: x / sqrt(mean(x^2) + eps) * gamma. */
void sn_ref_rmsnorm(const float *x, const float *gamma, int64_t rows, int64_t h, float eps,
                    float *out);

/* x [B, kv, S, d] -> out [B, heads, S, d]: head h is x's head h / (heads / kv). */
void sn_ref_repeat_heads(const float *x, int64_t b, int64_t kv, int64_t heads, int64_t sd,
                         float *out);

/* out[i] = a[i] * b[i] (out may alias either). */
void sn_ref_mul(const float *a, const float *b, int64_t n, float *out);

/* Columns [begin, end) of rows of length cols. */
void sn_ref_slice_cols(const float *x, int64_t rows, int64_t cols, int64_t begin, int64_t end,
                       float *out);

/* out[b, h, i, j] = scores[b, h, i, j] * scale + table[h, D + clamp(i - j, -D, D)] for
 * scores [B, heads, S, S] and a table [heads, 2D + 1] (out may alias scores). */
void sn_ref_rel_bias(const float *scores, const float *table, int64_t distance, int64_t b,
                     int64_t heads, int64_t s, float scale, float *out);

/* DeBERTa-v2's disentangled attention terms: out[b, h, i, j] = (scores[b, h, i, j] +
 * q_i . pos_key[r] + k_j . pos_query[r]) * scale, r = index[D + clamp(i - j, -D, D)], for
 * scores [B, heads, S, S], q and k [B, heads, S, d], index [2D + 1] (rows of [0, 2 span))
 * and pos [4 span, heads d]: pos_key its first 2 span rows, pos_query the rest, head h at
 * columns h d. The dot products accumulate in double (out may alias scores). */
void sn_ref_disentangled_bias(const float *scores, const float *q, const float *k,
                              const float *index, int64_t distance, const float *pos, int64_t span,
                              int64_t b, int64_t heads, int64_t s, int64_t d, float scale,
                              float *out);

/* LayerNorm over rows of length h: (x - mean) / sqrt(var + eps) * gamma + beta. */
void sn_ref_layernorm(const float *x, const float *gamma, const float *beta, int64_t rows,
                      int64_t h, float eps, float *out);

/* Elementwise activations (out may alias x). */
void sn_ref_gelu(const float *x, int64_t n, float *out);      /* erf form */
void sn_ref_gelu_tanh(const float *x, int64_t n, float *out); /* tanh approximation */
void sn_ref_relu(const float *x, int64_t n, float *out);
void sn_ref_tanh(const float *x, int64_t n, float *out);

/* out[b, :] = x[b, 0, :] for x [B, S, H]. */
void sn_ref_slice_first(const float *x, int64_t b, int64_t s, int64_t h, float *out);

/* Sentence-transformers pooling of x [B, S, H] over tokens whose mask is 1. */
void sn_ref_pool(const float *x, const float *mask, int64_t b, int64_t s, int64_t h,
                 sinter_pooling_t mode, float *out);

/* Rows divided by max(||row||_2, 1e-12), as torch.nn.functional.normalize. */
void sn_ref_l2_normalize(const float *x, int64_t rows, int64_t h, float *out);

/* Row softmax over the last dim. */
void sn_ref_softmax(const float *x, int64_t rows, int64_t n, float *out);

#endif
