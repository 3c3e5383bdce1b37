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
  int32_t local_window;                            /* sliding layers see |i - j| <= local_window */
  unsigned char layer_local[SN_CONFIG_MAX_LAYERS]; /* 1: layer i is a sliding-window layer */
  /* Which of a family's optional biases the checkpoint has. */
  int attention_bias, mlp_bias, norm_bias, classifier_bias;
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

/* The sentence-transformers modules of a folder, or defaults when it has none. */
typedef struct sn_st_modules {
  int present;              /* 1 when modules.json exists */
  sinter_pooling_t pooling; /* from 1_Pooling/config.json; CLS when absent */
  int normalize;            /* 1 when a Normalize module is listed */
  int32_t max_seq_length;   /* sentence_bert_config.json; 0 when absent */
  int do_lower_case;        /* sentence_bert_config.json */
  char pooling_config[256]; /* the Pooling module's config file, relative to
                               the folder (modules.json names its folder); "" */
} sn_st_modules_t;

/* Reads modules.json, the pooling config and sentence_bert_config.json from
 * DIR when present. A folder without modules.json gets defaults and OK.
 * Errors: FORMAT naming the file and field; UNSUPPORTED for a module type
 * or pooling combination we do not run (e.g. a Dense layer). */
sinter_status_t sn_st_modules_load(const char *dir, sn_st_modules_t *out, sinter_error_t *err);

#endif
