/* family_deberta.c — DeBERTa-v2 and DeBERTa-v3 (transformers'
 * modeling_deberta_v2.py; v3 checkpoints use model_type "deberta-v2"):
 * DebertaV2Model, DebertaV2ForSequenceClassification, and masked-LM
 * checkpoints used as encoders.
 *
 * BERT's post-norm layers under other names, with a disentangled attention:
 * besides content to content (q . k), each query i and key j also score
 * content to position (c2p: q_i . pos_key[r]) and position to content (p2c:
 * k_j . pos_query[r]), r the log-bucketed distance i - j moved into
 * [0, 2 span) (SN_OP_DISENTANGLED_BIAS), with pos_key and pos_query the
 * layer's own key and query projections of the shared relative embeddings
 * (share_att_key), normalised first (norm_rel_ebd "layer_norm"). Every term
 * is scaled by 1 / sqrt(head_dim * (1 + terms)). v3 has no absolute
 * positions (position_biased_input false) and no token types. The
 * classifier reads ContextPooler: the first token, dense, pooler_hidden_act.
 *
 * Refused, each by its config.json field: separate position projections
 * (share_att_key false), the convolution after layer 0 (conv_kernel_size),
 * embedding_size or attention_head_size other than the hidden sizes, token
 * types without absolute positions, terms other than c2p and p2c. The
 * embeddings' multiplication by the attention mask only changes padding rows,
 * which no output reads, so the graph leaves it out.
 *
 * A DebertaV2ForMaskedLM's head gives SPLADE output: cls.predictions.*
 * (legacy, transformers' default) or lm_predictions.lm_head.* (legacy
 * false), read under one set of names (aliases below). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

/* pos_att_type: ["p2c", "c2p"], "p2c|c2p", or null. */
static sinter_status_t parse_terms(const cJSON *root, sn_config_t *c, const char *label,
                                   sinter_error_t *err) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "pos_att_type");
  char buf[64];
  if (!t || cJSON_IsNull(t)) return SINTER_OK;
  const cJSON *items[8];
  int n = 0;
  if (cJSON_IsString(t)) {
    snprintf(buf, sizeof buf, "%s", t->valuestring);
  } else if (cJSON_IsArray(t)) {
    buf[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, t) {
      if (!cJSON_IsString(e) || n == 8)
        return sn_error_set(err, SINTER_ERR_FORMAT,
                            "%s: pos_att_type must be a list of at most 8 strings", label);
      items[n++] = e;
    }
  } else {
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: pos_att_type must be a list or a string",
                        label);
  }
  /* The string form is split on '|' (DebertaV2Config lowercases and strips). */
  char *save = NULL, *tok = cJSON_IsString(t) ? strtok_r(buf, "|", &save) : NULL;
  for (int i = 0; cJSON_IsString(t) ? tok != NULL : i < n; i++) {
    const char *v = cJSON_IsString(t) ? tok : items[i]->valuestring;
    while (*v == ' ') v++;
    size_t len = strlen(v);
    while (len && v[len - 1] == ' ') len--;
    if (len == 3 && !strncmp(v, "c2p", 3)) {
      c->rel_c2p = 1;
    } else if (len == 3 && !strncmp(v, "p2c", 3)) {
      c->rel_p2c = 1;
    } else {
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: pos_att_type \"%.*s\" is not supported (only \"c2p\" and \"p2c\")",
                          label, (int)len, v);
    }
    if (cJSON_IsString(t)) tok = strtok_r(NULL, "|", &save);
  }
  return SINTER_OK;
}

/* norm_rel_ebd: "none", "layer_norm", or both joined by '|'. */
static sinter_status_t parse_rel_norm(const cJSON *root, sn_config_t *c, const char *label,
                                      sinter_error_t *err) {
  const char *s;
  SN_TRY(sn_json_get_string(root, "norm_rel_ebd", "none", label, &s, err));
  char buf[64], *save = NULL;
  if (strlen(s) >= sizeof buf)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: norm_rel_ebd \"%.40s...\" is not supported", label, s);
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok_r(buf, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ') tok[--len] = '\0';
    if (!strcmp(tok, "layer_norm"))
      c->rel_norm = 1;
    else if (strcmp(tok, "none"))
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: norm_rel_ebd \"%s\" is not supported (only \"layer_norm\" or "
                          "\"none\")",
                          label, tok);
  }
  return SINTER_OK;
}

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  SN_TRY(sn_config_get_i32(root, "vocab_size", 128100, 1, SN_CONFIG_MAX_VOCAB, label,
                           &c->vocab_size, err));
  SN_TRY(sn_config_get_i32(root, "hidden_size", 1536, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &c->hidden_size, err));
  SN_TRY(sn_config_get_i32(root, "num_hidden_layers", 24, 1, SN_CONFIG_MAX_LAYERS, label,
                           &c->num_layers, err));
  SN_TRY(sn_config_get_i32(root, "num_attention_heads", 24, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &c->num_heads, err));
  SN_TRY(sn_config_get_i32(root, "intermediate_size", 6144, 1, 16 * SN_CONFIG_MAX_HIDDEN, label,
                           &c->intermediate_size, err));
  SN_TRY(sn_config_get_i32(root, "max_position_embeddings", 512, 1, SN_CONFIG_MAX_POSITIONS, label,
                           &c->max_position_embeddings, err));
  SN_TRY(sn_config_get_i32(root, "type_vocab_size", 0, 0, SN_CONFIG_MAX_VOCAB, label,
                           &c->type_vocab_size, err));
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 0, 0, SN_CONFIG_MAX_VOCAB, label, &c->pad_token_id,
                           err));
  const char *act;
  SN_TRY(sn_json_get_string(root, "hidden_act", "gelu", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  SN_TRY(sn_json_get_string(root, "pooler_hidden_act", "gelu", label, &act, err));
  SN_TRY(sn_config_parse_activation(act, label, &c->classifier_activation, err));
  c->classifier_pooling = SINTER_POOL_CLS;
  double eps;
  SN_TRY(sn_json_get_double(root, "layer_norm_eps", 1e-7, label, &eps, err));
  if (!(eps > 0) || eps > 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: layer_norm_eps %g must be in (0, 1]", label,
                        eps);
  c->layer_norm_eps = (float)eps;

  /* Sizes this family's modules may change, accepted when they change nothing. */
  int32_t v;
  SN_TRY(sn_config_get_i32(root, "embedding_size", c->hidden_size, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &v, err));
  if (v != c->hidden_size)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: embedding_size %d differs from hidden_size %d (embed_proj) and is not "
                        "supported",
                        label, (int)v, (int)c->hidden_size);
  SN_TRY(sn_config_get_i32(root, "pooler_hidden_size", c->hidden_size, 1, SN_CONFIG_MAX_HIDDEN,
                           label, &v, err));
  if (v != c->hidden_size)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: pooler_hidden_size %d differs from hidden_size %d", label, (int)v,
                        (int)c->hidden_size);
  if (c->hidden_size % c->num_heads == 0) {
    SN_TRY(sn_config_get_i32(root, "attention_head_size", c->hidden_size / c->num_heads, 1,
                             SN_CONFIG_MAX_HIDDEN, label, &v, err));
    if (v != c->hidden_size / c->num_heads)
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: attention_head_size %d differs from hidden_size / "
                          "num_attention_heads and is not supported",
                          label, (int)v);
  }
  SN_TRY(sn_config_get_i32(root, "conv_kernel_size", 0, 0, 1 << 20, label, &v, err));
  if (v > 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: conv_kernel_size %d (the convolution after the first layer) is not "
                        "supported",
                        label, (int)v);

  int position_biased;
  SN_TRY(sn_json_get_bool(root, "position_biased_input", 1, label, &position_biased, err));
  c->no_position_table = !position_biased;
  if (c->type_vocab_size > 0 && !position_biased)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: type_vocab_size %d without absolute positions "
                        "(position_biased_input false) is not supported",
                        label, (int)c->type_vocab_size);

  SN_TRY(parse_terms(root, c, label, err));
  /* Every term is scaled by 1 / sqrt(head_dim * (1 + terms)), the root in
   * float32 as transformers' scaled_size_sqrt. */
  if (c->hidden_size % c->num_heads == 0)
    c->attn_scale =
        1.0f / sqrtf((float)(c->hidden_size / c->num_heads) * (float)(1 + c->rel_c2p + c->rel_p2c));
  SN_TRY(parse_rel_norm(root, c, label, err));
  int relative;
  SN_TRY(sn_json_get_bool(root, "relative_attention", 0, label, &relative, err));
  if (!relative) return SINTER_OK; /* the terms still count in the scale (transformers) */
  SN_TRY(sn_config_get_i32(root, "max_relative_positions", -1, -1, SN_CONFIG_MAX_POSITIONS, label,
                           &c->max_relative_positions, err));
  if (c->max_relative_positions < 1) c->max_relative_positions = c->max_position_embeddings;
  SN_TRY(sn_config_get_i32(root, "position_buckets", -1, -1, SN_CONFIG_MAX_POSITIONS, label,
                           &c->rel_position_buckets, err));
  c->rel_span = c->rel_position_buckets > 0 ? c->rel_position_buckets : c->max_relative_positions;
  if (c->rel_position_buckets > 0 && c->rel_position_buckets < 2)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: position_buckets %d is too few to bucket distances (at least 2)",
                        label, (int)c->rel_position_buckets);
  if (c->rel_position_buckets > 0 && c->max_relative_positions < 2)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: max_relative_positions %d is too small to bucket distances", label,
                        (int)c->max_relative_positions);
  int shared;
  SN_TRY(sn_json_get_bool(root, "share_att_key", 0, label, &shared, err));
  if (!shared && (c->rel_c2p || c->rel_p2c))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: share_att_key false (separate pos_key_proj / pos_query_proj) is not "
                        "supported",
                        label);
  return SINTER_OK;
}

static const char *const model_types[] = {"deberta-v2", NULL};

static const sn_family_arch_t archs[] = {
    {"DebertaV2Model", SN_HEAD_NONE},
    {"DebertaV2ForSequenceClassification", SN_HEAD_SEQUENCE},
    {"DebertaV2ForMaskedLM", SN_HEAD_NONE},
};

/* The masked-LM heads, and an absolute position table transformers itself
 * ignores when position_biased_input is false. */
static const char *const unused[] = {"cls.", "lm_predictions.", "mask_predictions.",
                                     "embeddings.position_embeddings.", NULL};

/* DebertaV2ForMaskedLM with legacy false (and the original DeBERTa-v3
 * checkpoints) store the same head as lm_predictions.lm_head.{dense,
 * LayerNorm, bias}, the decoder being the word table either way. */
static const char *const aliases[] = {"lm_predictions.lm_head.dense.",
                                      "cls.predictions.transform.dense.",
                                      "lm_predictions.lm_head.LayerNorm.",
                                      "cls.predictions.transform.LayerNorm.",
                                      "lm_predictions.lm_head.bias",
                                      "cls.predictions.bias",
                                      NULL};

const sn_family_t sn_family_deberta = {
    .name = "deberta-v2",
    .model_types = model_types,
    .prefix = "deberta.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embeddings.word_embeddings.weight",
            .position = "embeddings.position_embeddings.weight",
            .token_type = "embeddings.token_type_embeddings.weight",
            .embed_norm = "embeddings.LayerNorm",
            .q = "encoder.layer.%d.attention.self.query_proj",
            .k = "encoder.layer.%d.attention.self.key_proj",
            .v = "encoder.layer.%d.attention.self.value_proj",
            .attn_out = "encoder.layer.%d.attention.output.dense",
            .attn_norm = "encoder.layer.%d.attention.output.LayerNorm",
            .ffn_in = "encoder.layer.%d.intermediate.dense",
            .ffn_out = "encoder.layer.%d.output.dense",
            .ffn_norm = "encoder.layer.%d.output.LayerNorm",
            .cls_dense = "pooler.dense",
            .cls_out = "classifier",
            .rel_embeddings = "encoder.rel_embeddings.weight",
            .rel_norm = "encoder.LayerNorm",
            /* DebertaV2ForMaskedLM (legacy, the default): transform dense,
             * hidden_act, LayerNorm, the decoder tied to the word table */
            .mlm_dense = "cls.predictions.transform.dense",
            .mlm_norm = "cls.predictions.transform.LayerNorm",
            .mlm_decoder = "cls.predictions.decoder",
            .mlm_bias = "cls.predictions.bias",
        },
    .positions = SN_POSITIONS_FROM_ZERO,
    .cls_head = SN_CLS_DENSE_ACT_NORM,
    .unused = unused,
    .aliases = aliases,
};
