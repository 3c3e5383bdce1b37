/*
 * builder.h — turning a loaded model into its unfused graph: the encoder of
 * its family (encoder.c, reading model/family.h) from the blocks declared
 * here.
 */
#ifndef SN_IR_BUILDER_H
#define SN_IR_BUILDER_H

#include "ir/graph.h"
#include "model/model.h"

/* Choices baked into the graph's sentence-embedding output. */
typedef struct sn_build_options {
  sinter_pooling_t pooling;
  int normalize;
  int sparse; /* 1: add the SPLADE output "sparse" [B, vocab] from the masked-LM head (the
                 build fails, naming it, for a model without one) */
} sn_build_options_t;

/* Builds and verifies the graph of `model` into *g (initialised here; the
 * caller deinits it). Outputs: last_hidden_state, embeddings, and when the
 * model has them pooler_output, logits and scores; sparse when asked. */
sinter_status_t sn_ir_build(const sinter_model_t *model, const sn_build_options_t *options,
                            sn_ir_graph_t *g, sinter_error_t *err);

/* --- helpers for the architecture builders --- */

/* A weight node for canonical name printf(fmt, ...), or -1 when absent (the
 * graph's build_status then names it). */
int32_t sn_ir_model_weight(sn_ir_graph_t *g, const sinter_model_t *model, const char *fmt, ...)
    SN_PRINTF(3, 4);

/* x @ W^T + b for the linear layer `prefix` (prefix.weight, prefix.bias; a
 * bias the checkpoint does not have, which the family's config said, is
 * zeros). */
int32_t sn_ir_linear(sn_ir_graph_t *g, const sinter_model_t *model, int32_t x, const char *prefix);

/* LayerNorm with prefix.weight and prefix.bias (zeros when absent). */
int32_t sn_ir_model_layernorm(sn_ir_graph_t *g, const sinter_model_t *model, int32_t x,
                              const char *prefix, float eps);

/* How one attention block differs from BERT's. */
typedef struct sn_ir_attention_opts {
  float q_scale;          /* multiplies q before the scores (DistilBERT), or 1 */
  float score_scale;      /* multiplies the scores (BERT) */
  int32_t rel_bias;       /* a relative-position table [heads, 2D + 1] added to the scaled scores
                             (SN_OP_REL_BIAS: MPNet), or -1 */
  int32_t rotary;         /* a rotary table [P, head_dim] applied to q and k (ModernBERT), or -1 */
  int32_t window;         /* 0, or keys within this distance of the query only */
  int32_t causal;         /* 1: keys up to the query only */
  int32_t q_norm, k_norm; /* RMSNorm gammas [head_dim] of q's and k's heads (Qwen3), or -1 */
  float norm_eps;
  /* DeBERTa-v2 (disentangled 1): the index table and the layer's position keys
   * and queries of SN_OP_DISENTANGLED_BIAS (sn_ir_disentangled_tables), added
   * to the scores before score_scale scales them all. */
  int disentangled;
  int32_t rel_index, rel_pos;
} sn_ir_attention_opts_t;

/* Multi-head self-attention as PyTorch computes it, unfused: per-head reshape
 * and transpose of q, k, v (rotary positions on q and k); scores; masked
 * softmax; weighted sum; merge heads. Returns the merged context [B, S, H]. */
int32_t sn_ir_attention(sn_ir_graph_t *g, const sn_config_t *c, int32_t q, int32_t k, int32_t v,
                        int32_t mask, const sn_ir_attention_opts_t *opts);

/* The rotary table of SN_OP_ROTARY for `positions` positions and head size d
 * with base theta, computed in float32 as transformers' default rope:
 * inv_freq = 1 / theta^(2i / d), angle = p * inv_freq, [cos | sin]. */
int32_t sn_ir_rotary_table(sn_ir_graph_t *g, const char *name, float theta, int64_t d,
                           int64_t positions);

/* The weight of the norm `prefix` (prefix.weight) as the norm multiplies
 * by it: offset + weight (Gemma's RMSNorm: 1 + weight, in float32 as torch
 * adds it), an owned copy; the model's tensor itself when offset is 0. */
int32_t sn_ir_norm_weight(sn_ir_graph_t *g, const sinter_model_t *model, const char *prefix,
                          float offset);

/* A weight of n zeros named `name` (a bias a checkpoint leaves out). */
int32_t sn_ir_zeros(sn_ir_graph_t *g, const char *name, int64_t n);

/* T5-style bucket of a relative position (key minus query) as transformers
 * computes it in float32 (MPNet's relative_position_bucket): half the buckets
 * for each sign, exact below num_buckets / 4, log-spaced up to max_distance,
 * the last bucket beyond. */
int32_t sn_ir_relative_bucket(int64_t relative_position, int32_t num_buckets, int32_t max_distance);

/* The bias table of SN_OP_REL_BIAS, [heads, 2 * max_distance + 1], from an
 * embedding `weight` [rows >= num_buckets, heads] of bucketed biases, as an
 * owned weight node named `name`; -1 on failure (sticky, as every add). */
int32_t sn_ir_relative_bias_table(sn_ir_graph_t *g, const char *name, const float *weight,
                                  int32_t heads, int32_t num_buckets, int32_t max_distance);

/* DeBERTa-v2's bucketed relative position (query - key) as transformers'
 * make_log_bucket_position computes it in float32: exact within
 * buckets / 2, log-spaced beyond up to max_position (and growing past it);
 * the distance itself when buckets or max_position is <= 0. */
int64_t sn_ir_log_bucket(int64_t relative_position, int32_t buckets, int32_t max_position);

/* The index table of SN_OP_DISENTANGLED_BIAS for the config's relative
 * attention: [2D + 1] with D = max_positions - 1, column D + x holding
 * clamp(span + bucket(x), 0, 2 span - 1) for query - key = x, as an owned
 * weight node; -1 on failure (sticky). */
int32_t sn_ir_disentangled_index(sn_ir_graph_t *g, const sn_config_t *c);

/* A layer's position keys and queries of SN_OP_DISENTANGLED_BIAS, [4 span,
 * H]: the family's relative embeddings [2 span, H] (LayerNorm'd first when
 * the config says) through the layer's key linear `key_prefix` (rows
 * [0, 2 span)) and query linear `query_prefix` (the rest), computed here
 * once: they depend on weights only. A term the config
 * leaves out is zeros. An owned weight node; -1 on failure (sticky). */
int32_t sn_ir_disentangled_positions(sn_ir_graph_t *g, const sinter_model_t *model,
                                     const sn_config_t *c, const char *key_prefix,
                                     const char *query_prefix);

/* The activation of the feed-forward block. */
int32_t sn_ir_activation(sn_ir_graph_t *g, sn_activation_t act, int32_t x);

/* The encoder of the model's family, with its heads. */
sinter_status_t sn_ir_build_encoder(const sinter_model_t *model, const sn_build_options_t *options,
                                    sn_ir_graph_t *g);

/* Adds the sentence-embedding output shared by all architectures: the
 * pooling, the model's sentence-transformers Dense modules in order
 * (activation(linear(x)) each, weights "<path>/linear.*"), the L2 norm. */
void sn_ir_add_embedding_output(sn_ir_graph_t *g, const sinter_model_t *model, int32_t hidden,
                                int32_t mask, const sn_build_options_t *options);

#endif
