/*
 * fused.h — optimised CPU kernels for the compiled executor.
 *
 * The compiled executor packs a batch of B sequences of lengths L_0..L_{B-1}
 * without padding into T = sum(L_i) token rows. `offsets` is then an int32
 * array of B + 1 prefix sums (offsets[0] = 0, offsets[B] = T): sequence i owns
 * rows offsets[i] .. offsets[i+1]-1. Token-wise kernels run on the [T, H] rows;
 * attention and pooling run per sequence. Offsets must be non-decreasing.
 *
 * Every kernel has AVX-512, AVX2+FMA and portable C inner loops, picked per
 * call from sn_cpu_isa() (target.h). Kernels split their work into tiles over
 * the calling thread's current pool (threadpool.h) when it is large enough to
 * pay for it, allocate nothing, and keep only small fixed-size buffers on the
 * stack (attention: at most about 80 KiB per thread). Called from inside a
 * pool task they run on the calling thread only.
 *
 * Buffers are row-major float32 and must not overlap unless a comment allows
 * it. Indices (token ids, type ids, offsets) are the caller's to validate.
 * Every function is thread-safe for distinct output buffers.
 *
 * Accuracy against the reference kernels (reference.h), as tested (numbers in
 * bench/KERNELS.md): attention within 1e-5 absolute for inputs in [-2.5, 2.5];
 * layernorm within 1e-5 relative; GELU, tanh and softmax within 1e-6 relative
 * or 1e-7 absolute; pooling and L2 normalisation within 1e-6 relative.
 */
#ifndef SN_KERNELS_FUSED_H
#define SN_KERNELS_FUSED_H

#include <stdint.h>

#include "kernels/target.h"

/* Largest head size sn_attention_f32 accepts. Head sizes up to 256 run on the
 * vector paths; larger ones (no BERT-family model has them) run portable C. */
#define SN_ATTENTION_MAX_HEAD_DIM 1024

/* Fused multi-head self-attention over a packed batch, flash-attention style:
 * for each sequence and head, softmax(q k^T * scale) v over that sequence's own
 * keys (packing leaves no padding, so there is no mask), computed in key blocks
 * with a running max and sum, never forming the L x L score matrix.
 *
 * qkv: T rows of stride qkv_stride floats (normally 3H, H = heads * head_dim):
 *   columns [0, H) are q, [H, 2H) k, [2H, 3H) v; head h uses columns
 *   h*head_dim .. h*head_dim + head_dim - 1 of each.
 * offsets: num_seqs + 1 prefix sums, as above.
 * out: T rows of stride out_stride; row t gets the merged context, head h at
 *   columns h*head_dim. out may be exactly the q part of qkv (out == qkv and
 *   out_stride == qkv_stride): each query block reads its q before writing the
 *   same cells, and no other block reads them. Any other overlap is undefined.
 * params: heads, head_dim and the score scale; bias NULL, or a
 *   relative-position table [heads][2 D + 1] (D = bias_distance >= 0) added to
 *   the scaled scores: query i and key j of a sequence (positions within it)
 *   get bias[h][D + clamp(i - j, -D, D)] (MPNet's bucketed bias, expanded at
 *   compile time); window > 0 limits each query to the keys within that
 *   distance (sliding-window layers), causal to the keys up to it. Keys out
 *   of range are not visited: a window costs O(T window), not O(T^2).
 * head_dim in [1, SN_ATTENTION_MAX_HEAD_DIM]; 32, 64 and 128 have specialised
 * loops. Work is split over (sequence, head, block of query rows) so that two
 * threads stay busy even for one sequence. */
typedef struct sn_attention_params {
  int32_t heads, head_dim;
  float scale;
  const float *bias;     /* NULL or [heads][2 bias_distance + 1] */
  int64_t bias_distance; /* D >= 0 */
  int32_t window;        /* 0, or only keys j with |i - j| <= window for query i */
  int32_t causal;        /* 1: only keys j <= i */
  int32_t kv_heads;      /* 0, or fewer key/value heads than heads (grouped-query): q head h
                            reads k/v head h / (heads / kv_heads); qkv rows are then
                            heads + 2 kv_heads heads wide */
} sn_attention_params_t;

void sn_attention_f32(const float *qkv, int64_t qkv_stride, const int32_t *offsets,
                      int32_t num_seqs, const sn_attention_params_t *params, float *out,
                      int64_t out_stride);

/* DeBERTa-v2's disentangled attention terms (SN_OP_DISENTANGLED_BIAS): query
 * i and key j of a sequence (positions within it) add q_i . pos_key[r] +
 * k_j . pos_query[r] to their q_i . k_j before the scale, r = index[distance
 * + clamp(i - j, -distance, distance)], which must be a row of [0, 2 span)
 * (the plan's verifier checks it). pos is [4 span][heads x head_dim]: the
 * position keys in rows [0, 2 span), the position queries after; head h at
 * columns h x head_dim. */
typedef struct sn_attention_disentangled {
  const float *index; /* [2 distance + 1] row numbers, as floats */
  int64_t distance;
  const float *pos; /* [4 span][heads x head_dim] */
  int64_t span;
} sn_attention_disentangled_t;

/* sn_attention_f32 with the disentangled terms added to every score (params'
 * bias must be NULL, window 0, no causal limit, kv_heads 0). With AVX2 (and
 * head sizes up to 256) the blocked vector kernel of sn_attention_f32, the
 * position rows laid out by distance per work item; otherwise one query row
 * at a time with the softmax and weighted sum in double. */
void sn_attention_disentangled_f32(const float *qkv, int64_t qkv_stride, const int32_t *offsets,
                                   int32_t num_seqs, const sn_attention_params_t *params,
                                   const sn_attention_disentangled_t *dis, float *out,
                                   int64_t out_stride);

/* out[r] = LayerNorm(x[r] + residual[r]) * gamma + beta over rows of length h
 * (the BERT post-attention and post-FFN epilogue). residual may be NULL (plain
 * LayerNorm). out may alias x or residual (exactly, not shifted). Mean and
 * variance are two-pass in fp32 over the row, which stays in L1. */
void sn_add_layernorm_f32(const float *x, const float *residual, const float *gamma,
                          const float *beta, int64_t rows, int64_t h, float eps, float *out);

/* Embedding sum and LayerNorm for a packed batch. For token t of sequence i at
 * position p = t - offsets[i]:
 *   out[t] = LayerNorm(word[ids[t]] + type[type_ids[t]] + pos[p]) * gamma + beta
 * word_table [vocab, h], pos_table [max_positions, h] (every p must be in
 * range) or NULL (rotary models: no position term), type_table
 * [type_vocab, h] or NULL (DistilBERT: no type term),
 * type_ids NULL means all zeros. ids and type_ids have T = offsets[num_seqs]
 * entries; out is [T, h] and must not overlap the tables. */
void sn_embed_layernorm_f32(const float *word_table, const float *pos_table,
                            const float *type_table, const int32_t *ids, const int32_t *type_ids,
                            const int32_t *offsets, int32_t num_seqs, int64_t h, const float *gamma,
                            const float *beta, float eps, float *out);

/* Rotary positions on the q and k heads of a packed qkv [T, 3H] (row stride
 * `stride`, H = heads * head_dim), each token by its position p in its
 * sequence: features c and c + d/2 of a head become x_c cos - x_{c+d/2} sin
 * and x_{c+d/2} cos + x_c sin, cos = table[p, c], sin = table[p, d/2 + c]
 * (table [positions, d]; every p must be a row). Rows hold heads q heads,
 * then kv_heads k and kv_heads v heads; with q_gamma and k_gamma each q and k
 * head is RMS-normalised first (Qwen3's q_norm, k_norm). out gets the same
 * rows, v copied; it may be qkv itself. */
void sn_rotary_qk_f32(const float *qkv, int64_t stride, const int32_t *offsets, int32_t num_seqs,
                      int32_t heads, int32_t kv_heads, int32_t head_dim, const float *table,
                      const float *q_gamma, const float *k_gamma, float eps, float *out);

/* RMSNorm over rows of length h: x / sqrt(mean(x^2) + eps) * gamma (out may
 * alias x). */
void sn_rms_norm_f32(const float *x, const float *gamma, int64_t rows, int64_t h, float eps,
                     float *out);

/* residual + RMSNorm(x) * gamma over rows of length h, in one pass (Gemma's
 * sandwich norms); out may alias x or residual. */
void sn_rms_norm_add_f32(const float *x, const float *gamma, const float *residual, int64_t rows,
                         int64_t h, float eps, float *out);

/* In place over n floats: x sigmoid(x) (SiLU). */
void sn_silu_f32(float *x, int64_t n);

/* Gated linear unit over rows of 2 inner floats: out[r, c] = act(x[r, c]) *
 * x[r, inner + c] (GeGLU with GELU, ...). act: SN_ACT_GELU, SN_ACT_GELU_TANH,
 * SN_ACT_RELU or SN_ACT_TANH. out [rows, inner] must not overlap x. */
void sn_glu_f32(const float *x, int64_t rows, int64_t inner, int act, float *out);

/* In place over n floats: GELU, erf form (0.5 x (1 + erf(x / sqrt 2))). */
void sn_gelu_f32(float *x, int64_t n);

/* In place over n floats: GELU, tanh approximation ("gelu_new"). */
void sn_gelu_tanh_f32(float *x, int64_t n);

/* In place over n floats: tanh (the BERT pooler's activation). */
void sn_tanh_f32(float *x, int64_t n);

/* Sentence-transformers pooling over a packed batch: out [num_seqs, h] from
 * x [T, h]. mode is an sinter_pooling_t (model/config.h): 1 CLS (the first row
 * of each sequence), 2 mean, 3 max, 4 sum / sqrt(length). Mean sums in double,
 * as the reference does. An empty sequence gives zeros (max: -1e9, the value
 * sentence-transformers assigns to masked positions). An unknown mode gives
 * zeros. out must not overlap x. */
void sn_pool_packed_f32(const float *x, const int32_t *offsets, int32_t num_seqs, int64_t h,
                        int mode, float *out);

/* SPLADE a chunk of rows at a time (the pooled linear, runtime/plan.c):
 * acc[s, j] = max(acc[s, j], x[t - row0, j]) for every row t in [row0, row0 +
 * rows) of the packed batch that belongs to sequence s (offsets, as above).
 * x holds just those rows, [rows, n]. With acc zeroed first and
 * sn_splade_activate_f32 after the last chunk, acc is the SPLADE pooling of
 * all rows, as sn_pool_packed_f32 with SINTER_POOL_SPLADE gives it. */
void sn_pool_max_rows_f32(const float *x, int64_t row0, int64_t rows, int64_t n,
                          const int32_t *offsets, int32_t num_seqs, float *acc);

/* In place over n floats: log(1 + x) where x > 0, else 0: SPLADE's transform
 * of a max (monotone, so applied once to the max, not to every token). */
void sn_splade_activate_f32(float *x, int64_t n);

/* In place: each of rows rows of length h divided by max(||row||_2, 1e-12), as
 * torch.nn.functional.normalize. */
void sn_l2_normalize_f32(float *x, int64_t rows, int64_t h);

/* Row softmax over rows of length n (classification scores). out may alias x. */
void sn_softmax_rows_f32(const float *x, int64_t rows, int64_t n, float *out);

#endif
