/*
 * family.h — a model family: all that sinter knows of one architecture
 * (BERT, DistilBERT, RoBERTa, ...), described in one file
 * src/model/family_<name>.c and listed in families.c.
 *
 * A folder's family is found by config.json's model_type. The config parser
 * (config.c), the weight binder (model.c: which tensors, with which shapes,
 * under which stored prefix) and the graph builder (ir/encoder.c: the
 * encoder assembled from shared blocks under these names) take everything
 * from the descriptor, so no other file names a family; adding one that is
 * made of existing blocks is adding one descriptor. docs/DESIGN.md shows how.
 */
#ifndef SN_MODEL_FAMILY_H
#define SN_MODEL_FAMILY_H

#include <stddef.h>

#include "base/status.h"
#include "model/config.h"

struct cJSON;

/* Where the position embeddings are read: row p for the token at position p
 * of its sequence (BERT), or row padding_idx + 1 + p (RoBERTa's
 * create_position_ids_from_input_ids, for a sequence without padding ids). */
typedef enum sn_positions {
  SN_POSITIONS_FROM_ZERO = 0,
  SN_POSITIONS_AFTER_PADDING = 1,
} sn_positions_t;

/* What a *ForSequenceClassification puts on the encoder. */
typedef enum sn_cls_head {
  SN_CLS_POOLER = 0,         /* BERT: pooler (first token, dense, tanh), then classifier */
  SN_CLS_RELU_DENSE = 1,     /* DistilBERT: first token, dense, ReLU, classifier */
  SN_CLS_TANH_DENSE = 2,     /* RoBERTa: first token, dense, tanh, out_proj */
  SN_CLS_DENSE_ACT_NORM = 3, /* ModernBERT: first token or mean (config classifier_pooling),
                                dense, the config's activation, norm (none without cls_norm:
                                DeBERTa-v2's ContextPooler), classifier */
  SN_CLS_LAST_TOKEN = 4,     /* decoders (Qwen3): the last token's final-norm output, then
                                cls_out without a bias (Qwen3ForSequenceClassification's score;
                                a folded LM head, model.c) */
} sn_cls_head_t;

/* Where a layer normalises. */
typedef enum sn_layer_layout {
  SN_LAYOUT_POST_NORM = 0,     /* BERT: x = norm(x + attn(x)); x = norm(x + ffn(x)) */
  SN_LAYOUT_PRE_NORM = 1,      /* ModernBERT: x += attn(norm(x)); x += ffn(norm(x)); final norm;
                                  layer 0 has no attention norm when its weight is absent */
  SN_LAYOUT_SANDWICH_NORM = 2, /* Gemma: x += norm'(attn(norm(x))); x += norm'(ffn(norm(x)));
                                  final norm (the primed norms are names.*_post_norm) */
} sn_layer_layout_t;

/* The feed-forward block. */
typedef enum sn_ffn {
  SN_FFN_DENSE = 0, /* ffn_out(act(ffn_in(x))) */
  SN_FFN_GLU = 1,   /* ffn_in gives [input, gate] (2 x intermediate): ffn_out(act(input) * gate) */
} sn_ffn_t;

/* One `architectures` value and the head it implies. */
typedef struct sn_family_arch {
  const char *name;
  sn_head_t head;
} sn_family_arch_t;

/* Canonical tensor names (the stored prefix removed). Per-layer ones are
 * printf formats taking the layer index; a linear names the prefix of its
 * .weight and .bias, a norm the prefix of its .weight and .bias. */
typedef struct sn_family_names {
  const char *word, *position, *token_type;     /* token_type NULL: no type embeddings */
  const char *embed_norm;                       /* NULL: the embedding is not normalised */
  const char *q, *k, *v, *attn_out, *attn_norm; /* per layer */
  const char *qkv;                              /* per layer, one linear for q, k, v; or NULL */
  const char *q_norm, *k_norm; /* per layer: RMSNorm of q's and k's heads (Qwen3), or NULL */
  const char *ffn_gate;        /* per layer: the gate linear of a gated block whose input
                                  half is ffn_in (SwiGLU: gate_proj, up_proj), or NULL */
  const char *ffn_in, *ffn_out, *ffn_norm;    /* per layer */
  const char *attn_post_norm, *ffn_post_norm; /* per layer: the norms on the attention's and the
                                                 feed-forward's outputs (sandwich layout) */
  const char *pooler;                         /* NULL: the family has none */
  const char *cls_dense, *cls_out;            /* the classification head's linears */
  const char *cls_norm;                       /* its norm (SN_CLS_DENSE_ACT_NORM) */
  const char *final_norm;                     /* after the layers (pre-norm), or NULL */
  const char *rel_bias; /* [config relative_buckets, heads] bucketed position biases shared by
                           the layers (MPNet); NULL: none */
  /* DeBERTa-v2: relative embeddings [2 rel_span, H] shared by the layers and
   * their LayerNorm (norm_rel_ebd), read when the config has them; NULL: none */
  const char *rel_embeddings, *rel_norm;
  /* The masked-LM head of a *ForMaskedLM checkpoint, read only for SPLADE
   * sparse output (sn_build_options_t.sparse): h -> mlm_dense -> activation
   * -> mlm_norm -> vocabulary logits. NULL mlm_dense: the family has none. */
  const char *mlm_dense, *mlm_norm; /* a linear and a LayerNorm (prefixes) */
  const char *mlm_decoder; /* the vocabulary linear's prefix; its .weight is usually absent,
                              tied to the word embeddings, and its .bias may be mlm_bias */
  const char *mlm_bias;    /* the vocabulary bias tensor [vocab] (full name) */
} sn_family_names_t;

typedef struct sn_family {
  const char *name;               /* reported as the model type: "bert" */
  const char *const *model_types; /* config.json model_type values; NULL-terminated */
  const char *prefix;             /* stored tensor prefix that is removed: "bert." */
  const sn_family_arch_t *archs;  /* the first is the default when none is named */
  size_t arch_count;
  /* Reads the architecture's sizes and options from config.json into c
   * (labels and architecture are read after, by config.c). */
  sinter_status_t (*parse)(const struct cJSON *root, sn_config_t *c, const char *label,
                           sinter_error_t *err);
  sn_family_names_t names;
  sn_positions_t positions;
  int scale_q; /* 1: q is scaled by 1/sqrt(head_dim) before the scores (DistilBERT) */
  sn_cls_head_t cls_head;
  sn_layer_layout_t layout;
  sn_ffn_t ffn;
  int rms_norm; /* 1: the norms are RMSNorms (weight only), not LayerNorms */
  /* The norms multiply by (norm_offset + weight): Gemma stores weight - 1
   * (norm_offset 1); 0 for every other family. */
  float norm_offset;
  /* 1: the word embeddings are multiplied by sqrt(hidden_size) (Gemma). */
  int scale_embeddings;
  int causal; /* 1: a decoder: each token sees the ones before it (the config's
                 causal starts from this; a family's parse may change it) */
  /* With names.rel_bias: relative positions (key - query) are bucketed into
   * rel_buckets (sn_ir_relative_bucket), log-spaced up to rel_max_distance. */
  int32_t rel_buckets, rel_max_distance;
  const char *const *unused; /* prefixes of tensors knowingly not used; NULL-terminated */
  /* Why int8 is refused for this family, or NULL. A family's int8 must keep
   * a cosine to fp32 of at least 0.998 on the golden sentences (measured on
   * its real checkpoints); one that does not is refused, never silently
   * worse. */
  const char *int8_refusal;
  /* Where int8 is offered: the real checkpoint its accuracy was measured on
   * and the result, or NULL when only random-weight fixtures exist; such a
   * family's int8 compiles with a warning that names `--report` (never
   * silently unmeasured). */
  const char *int8_measured;
  /* The MLM head's activation: 1: GELU whatever the config says (RoBERTa's
   * and MPNet's lm_head); 0: the config's hidden activation (BERT, DistilBERT). */
  int mlm_gelu;
  /* 1: the MLM head's activation is the config's classifier_activation
   * (ModernBertPredictionHead, which the classifier shares); overrides
   * mlm_gelu. Which of its biases exist is the config's (sn_config_t.mlm_*_bias). */
  int mlm_classifier_act;
  /* Stored names another version of the family's code gives its tensors:
   * pairs {stored prefix, canonical prefix} (the family prefix removed
   * first), NULL-terminated, e.g. DeBERTa-v2's lm_predictions.lm_head.* (its
   * ForMaskedLM with legacy false) for cls.predictions.*. */
  const char *const *aliases;
} sn_family_t;

/* The family whose model_types holds `model_type`, or NULL. */
const sn_family_t *sn_family_find(const char *model_type);

/* "bert, distilbert, ..." (the supported model_type values) into buf. */
void sn_family_list(char *buf, size_t cap);

/* ---- helpers for the families' parse functions (config.c) ---- */

/* The parse of BERT's config.json (hidden_size, num_hidden_layers, ...,
 * hidden_act, position_embedding_type "absolute", layer_norm_eps), which the
 * families derived from BERT share. */
sinter_status_t sn_config_parse_bert_like(const struct cJSON *root, sn_config_t *c,
                                          const char *label, sinter_error_t *err);

/* An integer field in [min, max] (fallback when absent) into *out. */
sinter_status_t sn_config_get_i32(const struct cJSON *root, const char *key, int64_t fallback,
                                  int64_t min, int64_t max, const char *label, int32_t *out,
                                  sinter_error_t *err);

/* An activation name ("gelu", "gelu_new", "relu", ...) into *out. */
sinter_status_t sn_config_parse_activation(const char *name, const char *label,
                                           sn_activation_t *out, sinter_error_t *err);

/* An activation name ("gelu", "gelu_new", "relu", ...) into c->activation and
 * c->hidden_act. */
sinter_status_t sn_config_set_activation(sn_config_t *c, const char *name, const char *label,
                                         sinter_error_t *err);

/* The defaults of a decoder's config.json (transformers' config class). */
typedef struct sn_decoder_defaults {
  int32_t vocab_size, hidden_size, num_layers, num_heads;
  int32_t num_kv_heads; /* 0: num_attention_heads */
  int32_t head_dim, intermediate_size, max_position_embeddings;
} sn_decoder_defaults_t;

/* The sizes every decoder family's config.json states the same way
 * (vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
 * num_key_value_heads, head_dim, intermediate_size, max_position_embeddings,
 * pad_token_id (0 when absent: eager padding only needs a row),
 * rms_norm_eps, attention_bias), with `d` where a field is absent; no type
 * vocabulary, MLP or norm biases. */
sinter_status_t sn_config_parse_decoder_sizes(const struct cJSON *root, sn_config_t *c,
                                              const sn_decoder_defaults_t *d, const char *label,
                                              sinter_error_t *err);

/* A rotary theta for layers of `type` ("full_attention",
 * "sliding_attention"): rope_parameters[type].rope_theta (transformers 5),
 * else the older top-level key `old_key`, else `fallback`. Only the
 * "default" rope type; others are refused by name. */
sinter_status_t sn_config_rope_theta(const struct cJSON *root, const char *type,
                                     const char *old_key, double fallback, const char *label,
                                     float *out, sinter_error_t *err);

/* config.json's layer_types ("full_attention" / "sliding_attention", one per
 * layer) into c->layer_local; *listed = 0 when the field is absent or null
 * (the family then applies its own pattern). */
sinter_status_t sn_config_parse_layer_types(const struct cJSON *root, sn_config_t *c,
                                            const char *label, int *listed, sinter_error_t *err);

/* Limits on config values: they reject nonsense (and overflow) long before
 * memory. */
#define SN_CONFIG_MAX_VOCAB 10000000
#define SN_CONFIG_MAX_HIDDEN 65536
#define SN_CONFIG_MAX_POSITIONS 1048576

#endif
