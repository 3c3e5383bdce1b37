/* family_modernbert.c — ModernBERT (transformers' modeling_modernbert.py):
 * ModernBertModel, ModernBertForSequenceClassification, and masked-LM
 * checkpoints used as encoders.
 *
 * Pre-norm layers (no attention norm in layer 0), one Wqkv linear, rotary
 * positions with one theta for the global layers and another for the
 * sliding-window ones, a GeGLU feed-forward block (Wi gives input and gate),
 * optional biases (attention_bias, mlp_bias, norm_bias: off in the released
 * checkpoints), a final norm; the classifier pools the first token or the
 * mean (classifier_pooling), then dense, activation, norm, classifier. A
 * ModernBertForMaskedLM's head (head.dense, classifier_activation, head.norm,
 * the decoder tied to the word table, decoder_bias) gives SPLADE output.
 *
 * Which layers slide: `layer_types` when the config has it (transformers
 * 5), else every layer but each global_attn_every_n_layers-th (older
 * configs). A sliding layer sees keys within local_attention / 2 of the
 * query, as transformers' bidirectional sliding-window mask does. */
#include <cjson/cJSON.h>
#include <string.h>

#include "base/json.h"
#include "model/family.h"

static sinter_status_t layer_types(const cJSON *root, sn_config_t *c, const char *label,
                                   sinter_error_t *err) {
  int listed;
  SN_TRY(sn_config_parse_layer_types(root, c, label, &listed, err));
  if (listed) return SINTER_OK;
  int32_t every;
  SN_TRY(sn_config_get_i32(root, "global_attn_every_n_layers", 3, 1, SN_CONFIG_MAX_LAYERS, label,
                           &every, err));
  for (int i = 0; i < c->num_layers; i++) c->layer_local[i] = i % every != 0;
  return SINTER_OK;
}

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  SN_TRY(sn_config_get_i32(root, "vocab_size", 50368, 1, SN_CONFIG_MAX_VOCAB, label, &c->vocab_size,
                           err));
  SN_TRY(sn_config_get_i32(root, "hidden_size", 768, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &c->hidden_size, err));
  SN_TRY(sn_config_get_i32(root, "num_hidden_layers", 22, 1, SN_CONFIG_MAX_LAYERS, label,
                           &c->num_layers, err));
  SN_TRY(sn_config_get_i32(root, "num_attention_heads", 12, 1, SN_CONFIG_MAX_HIDDEN, label,
                           &c->num_heads, err));
  SN_TRY(sn_config_get_i32(root, "intermediate_size", 1152, 1, 16 * SN_CONFIG_MAX_HIDDEN, label,
                           &c->intermediate_size, err));
  SN_TRY(sn_config_get_i32(root, "max_position_embeddings", 8192, 1, SN_CONFIG_MAX_POSITIONS, label,
                           &c->max_position_embeddings, err));
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 50283, 0, SN_CONFIG_MAX_VOCAB, label,
                           &c->pad_token_id, err));
  c->type_vocab_size = 0;
  const char *act;
  SN_TRY(sn_json_get_string(root, "hidden_activation", "gelu", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  SN_TRY(sn_json_get_string(root, "classifier_activation", "gelu", label, &act, err));
  SN_TRY(sn_config_parse_activation(act, label, &c->classifier_activation, err));
  double eps;
  SN_TRY(sn_json_get_double(root, "norm_eps", 1e-5, label, &eps, err));
  if (!(eps > 0) || eps > 1)
    return sn_error_set(err, SINTER_ERR_FORMAT, "%s: norm_eps %g must be in (0, 1]", label, eps);
  c->layer_norm_eps = (float)eps;
  SN_TRY(sn_json_get_bool(root, "attention_bias", 0, label, &c->attention_bias, err));
  SN_TRY(sn_json_get_bool(root, "mlp_bias", 0, label, &c->mlp_bias, err));
  SN_TRY(sn_json_get_bool(root, "norm_bias", 0, label, &c->norm_bias, err));
  SN_TRY(sn_json_get_bool(root, "classifier_bias", 0, label, &c->classifier_bias, err));
  /* The masked-LM head is the classifier's prediction head (dense, the
   * classifier's activation, norm) and the decoder, tied to the word table. */
  c->mlm_dense_bias = c->classifier_bias;
  c->mlm_norm_bias = c->norm_bias;
  SN_TRY(sn_json_get_bool(root, "decoder_bias", 1, label, &c->mlm_decoder_bias, err));
  const char *pooling;
  SN_TRY(sn_json_get_string(root, "classifier_pooling", "cls", label, &pooling, err));
  if (!strcmp(pooling, "cls")) {
    c->classifier_pooling = SINTER_POOL_CLS;
  } else if (!strcmp(pooling, "mean")) {
    c->classifier_pooling = SINTER_POOL_MEAN;
  } else {
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: classifier_pooling \"%s\" is not supported (cls, mean)", label,
                        pooling);
  }
  int32_t local;
  SN_TRY(sn_config_get_i32(root, "local_attention", 128, 2, SN_CONFIG_MAX_POSITIONS, label, &local,
                           err));
  c->local_window = local / 2;
  SN_TRY(layer_types(root, c, label, err));
  SN_TRY(sn_config_rope_theta(root, "full_attention", "global_rope_theta", 160000.0, label,
                              &c->rope_theta_global, err));
  SN_TRY(sn_config_rope_theta(root, "sliding_attention", "local_rope_theta", 10000.0, label,
                              &c->rope_theta_local, err));
  if ((c->hidden_size / (c->num_heads ? c->num_heads : 1)) % 2 != 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: rotary positions need an even head size (hidden_size %d, %d heads)",
                        label, (int)c->hidden_size, (int)c->num_heads);
  return SINTER_OK;
}

static const char *const model_types[] = {"modernbert", NULL};

static const sn_family_arch_t archs[] = {
    {"ModernBertModel", SN_HEAD_NONE},
    {"ModernBertForSequenceClassification", SN_HEAD_SEQUENCE},
    {"ModernBertForMaskedLM", SN_HEAD_NONE},
};

/* The masked-LM head (head.*, decoder.*) of an MLM checkpoint, bound for
 * SPLADE; a classifier's head.* is read, so never reported unused. */
static const char *const unused[] = {"head.", "decoder.", NULL};

const sn_family_t sn_family_modernbert = {
    .name = "modernbert",
    .model_types = model_types,
    .prefix = "model.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embeddings.tok_embeddings.weight",
            .embed_norm = "embeddings.norm",
            .qkv = "layers.%d.attn.Wqkv",
            .attn_out = "layers.%d.attn.Wo",
            .attn_norm = "layers.%d.attn_norm",
            .ffn_in = "layers.%d.mlp.Wi",
            .ffn_out = "layers.%d.mlp.Wo",
            .ffn_norm = "layers.%d.mlp_norm",
            .final_norm = "final_norm",
            .cls_dense = "head.dense",
            .cls_norm = "head.norm",
            .cls_out = "classifier",
            /* ModernBertForMaskedLM: decoder(head(final_norm(h))) */
            .mlm_dense = "head.dense",
            .mlm_norm = "head.norm",
            .mlm_decoder = "decoder",
            .mlm_bias = "decoder.bias",
        },
    .positions = SN_POSITIONS_FROM_ZERO,
    .cls_head = SN_CLS_DENSE_ACT_NORM,
    .layout = SN_LAYOUT_PRE_NORM,
    .ffn = SN_FFN_GLU,
    .unused = unused,
    .mlm_classifier_act = 1,
};
