/*
 * config.h — the architecture settings of a model, read from a Hugging Face
 * config.json by its family (family.h), plus the sentence-transformers
 * modules around it.
 *
 * Only what we run exactly is accepted: an unknown model type, activation,
 * position embedding type or an inconsistent size is refused by name, so a
 * model never runs with a silently different meaning.
 */
#ifndef SN_MODEL_CONFIG_H
#define SN_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/types.h"

struct sn_family;

/* The task head implied by `architectures`. */
typedef enum sn_head {
  SN_HEAD_NONE = 0,     /* bare encoder (BertModel, DistilBertModel, MLM as encoder) */
  SN_HEAD_SEQUENCE = 1, /* *ForSequenceClassification */
} sn_head_t;

#define SN_CONFIG_MAX_LABELS 4096
#define SN_CONFIG_MAX_LAYERS 1024

typedef struct sn_config {
  const struct sn_family *family; /* static (family.h): what the model is */
  char architecture[96];
  sn_head_t head;
  int32_t vocab_size;
  int32_t hidden_size;
  int32_t num_layers;
  int32_t num_heads;
  int32_t intermediate_size;
  int32_t max_position_embeddings;
  /* Row of the position table for the first token (RoBERTa: padding_idx +
   * 1); a sequence may hold max_positions = max_position_embeddings -
   * position_offset tokens. */
  int32_t position_offset;
  int32_t max_positions;
  int32_t type_vocab_size; /* 0 for DistilBERT */
  int32_t pad_token_id;
  int32_t relative_buckets; /* rows of the relative-bias table (MPNet); 0: none */
  int32_t num_kv_heads;     /* grouped-query attention: key/value heads (num_heads when equal) */
  int32_t head_dim;         /* hidden_size / num_heads unless the config says otherwise */
  /* Rotary positions (ModernBERT): thetas of the global and the sliding-window
   * layers; 0: none (a position table). */
  float rope_theta_global, rope_theta_local;
  int32_t local_window; /* sliding layers see |i - j| <= local_window */
  /* DeBERTa-v2's disentangled attention (relative_attention): rel_span rows of
   * relative embeddings per direction (position_buckets, else
   * max_relative_positions); 0: none. Distances i - j are log-bucketed with
   * rel_position_buckets (<= 0: exact) up to max_relative_positions. */
  int32_t rel_span, rel_position_buckets, max_relative_positions;
  /* The terms pos_att_type names: content->position, position->content. */
  int rel_c2p, rel_p2c;
  /* norm_rel_ebd has "layer_norm": the relative embeddings are normalised. */
  int rel_norm;
  /* 1: the family's absolute position table is not used (DeBERTa-v2's
   * position_biased_input false). */
  int no_position_table;
  /* The sentence embedding's width when the sentence-transformers Dense
   * modules change it (set by the model loader and the artifact reader, not
   * by config.json); 0: hidden_size. */
  int32_t embedding_dim;
  int causal;       /* 1: each token attends only to the ones before it (decoders) */
  float attn_scale; /* the scores' scale; 0: 1/sqrt(head_dim) (Gemma: query_pre_attn_scalar) */
  unsigned char layer_local[SN_CONFIG_MAX_LAYERS]; /* 1: layer i is a sliding-window layer */
  /* Which of a family's optional biases the checkpoint has. */
  int attention_bias, mlp_bias, norm_bias, classifier_bias;
  /* The masked-LM head's biases (its dense, its norm, the vocabulary's):
   * all there unless the family's parse says otherwise (ModernBERT:
   * classifier_bias, norm_bias, decoder_bias). */
  int mlm_dense_bias, mlm_norm_bias, mlm_decoder_bias;
  /* config.json's tie_word_embeddings (transformers' default: true): false
   * when the masked-LM decoder has weights of its own, which must be stored. */
  int tie_word_embeddings;
  sinter_pooling_t classifier_pooling; /* the classification head's input: CLS or MEAN */
  sn_activation_t classifier_activation;
  sn_activation_t activation;
  char hidden_act[32];
  float layer_norm_eps;
  int32_t num_labels;
  char **labels; /* num_labels heap strings (owned), "LABEL_i" when unnamed */
} sn_config_t;

/* Parses config.json text (`json`, `size` bytes; `path` names it in errors)
 * into *out (caller storage; release with sn_config_deinit). Errors: FORMAT
 * for malformed JSON, wrong field types or invalid sizes; UNSUPPORTED for a
 * model type, architecture, activation or setting we do not run. */
sinter_status_t sn_config_parse(const char *json, size_t size, const char *path, sn_config_t *out,
                                sinter_error_t *err);

/* Reads and parses DIR/config.json. */
sinter_status_t sn_config_load(const char *dir, sn_config_t *out, sinter_error_t *err);

/* Frees what sn_config_parse allocated; safe on zeroed or deinited storage. */
void sn_config_deinit(sn_config_t *config);

/* Most Dense modules a folder may list (EmbeddingGemma has two). */
#define SN_ST_MAX_DENSE 8

/* A sentence-transformers Dense module: activation(linear(x)) on the pooled
 * embedding, its weights "<path>/linear.weight" [out, in] and, with bias,
 * "<path>/linear.bias" [out] from <path>/model.safetensors. */
typedef struct sn_st_dense {
  char path[96]; /* its folder, relative to the model folder ("2_Dense") */
  int32_t in_features, out_features;
  int bias;                   /* 1: the linear has a bias */
  sn_activation_t activation; /* NONE (Identity), TANH, RELU or GELU (erf) */
} sn_st_dense_t;

/* The sentence-transformers modules of a folder, or defaults when it has none. */
typedef struct sn_st_modules {
  int present;              /* 1 when modules.json exists */
  sinter_pooling_t pooling; /* from 1_Pooling/config.json; CLS when absent */
  int normalize;            /* 1 when a Normalize module is listed */
  int32_t max_seq_length;   /* sentence_bert_config.json; 0 when absent */
  int do_lower_case;        /* sentence_bert_config.json */
  char pooling_config[256]; /* the Pooling module's config file, relative to
                               the folder (modules.json names its folder); "" */
  int32_t dense_count;      /* Dense modules after the Pooling, in order */
  sn_st_dense_t dense[SN_ST_MAX_DENSE];
  /* A CrossEncoder over a causal LM (sentence-transformers 6): its
   * LogitScore module's config file (true_token_id, false_token_id),
   * relative to the folder, read by model/rerank.c; "" when none. */
  char logit_score_config[256];
} sn_st_modules_t;

/* Reads modules.json, the pooling config, each Dense module's config.json
 * and sentence_bert_config.json from DIR when present. A folder without
 * modules.json gets defaults and OK. Errors: FORMAT naming the file and
 * field; UNSUPPORTED for a module type, pooling combination, Dense
 * activation or option we do not run. */
sinter_status_t sn_st_modules_load(const char *dir, sn_st_modules_t *out, sinter_error_t *err);

/* Checks that the Dense modules chain from a pooled embedding of `hidden`
 * features (the first in_features == hidden, each next in_features == the
 * previous out_features). `label` names the folder or artifact. Errors:
 * FORMAT naming the module and both widths. */
sinter_status_t sn_st_modules_check_dense(const sn_st_modules_t *m, int32_t hidden,
                                          const char *label, sinter_error_t *err);

/* The width of the sentence embedding: the last Dense module's
 * out_features, or `hidden` without Dense modules. */
int32_t sn_st_embedding_dim(const sn_st_modules_t *m, int32_t hidden);

/* The Dense activation named by a torch class path ("torch.nn.modules.
 * activation.Tanh", "torch.nn.Identity", ...) into *out; -1 when it is not
 * one we run (Identity, Tanh, ReLU, GELU), else 0. */
int sn_st_dense_activation(const char *name, sn_activation_t *out);

/* The torch class name of a Dense activation ("Identity", "Tanh", ...). */
const char *sn_st_dense_activation_name(sn_activation_t act);

#endif
