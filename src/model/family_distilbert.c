/* family_distilbert.c — DistilBERT (modeling_distilbert.py): its own config
 * names (dim, n_layers, ...), no token types, q scaled before the scores,
 * and a pre_classifier with ReLU in its classifier. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/json.h"
#include "model/family.h"

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  SN_TRY(sn_config_get_i32(root, "vocab_size", 30522, 1, SN_CONFIG_MAX_VOCAB, label, &c->vocab_size,
                           err));
  SN_TRY(sn_config_get_i32(root, "dim", 768, 1, SN_CONFIG_MAX_HIDDEN, label, &c->hidden_size, err));
  SN_TRY(
      sn_config_get_i32(root, "n_layers", 6, 1, SN_CONFIG_MAX_LAYERS, label, &c->num_layers, err));
  SN_TRY(
      sn_config_get_i32(root, "n_heads", 12, 1, SN_CONFIG_MAX_HIDDEN, label, &c->num_heads, err));
  SN_TRY(sn_config_get_i32(root, "hidden_dim", 3072, 1, 16 * SN_CONFIG_MAX_HIDDEN, label,
                           &c->intermediate_size, err));
  SN_TRY(sn_config_get_i32(root, "max_position_embeddings", 512, 1, SN_CONFIG_MAX_POSITIONS, label,
                           &c->max_position_embeddings, err));
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 0, 0, SN_CONFIG_MAX_VOCAB, label, &c->pad_token_id,
                           err));
  c->type_vocab_size = 0;
  const char *act;
  SN_TRY(sn_json_get_string(root, "activation", "gelu", label, &act, err));
  SN_TRY(sn_config_set_activation(c, act, label, err));
  c->layer_norm_eps = 1e-12f; /* fixed in DistilBERT's modeling code */
  return SINTER_OK;
}

static const char *const model_types[] = {"distilbert", NULL};

static const sn_family_arch_t archs[] = {
    {"DistilBertModel", SN_HEAD_NONE},
    {"DistilBertForSequenceClassification", SN_HEAD_SEQUENCE},
    {"DistilBertForMaskedLM", SN_HEAD_NONE},
};

static const char *const unused[] = {"vocab_transform.", "vocab_layer_norm.", "vocab_projector.",
                                     "qa_outputs.", NULL};

const sn_family_t sn_family_distilbert = {
    .name = "distilbert",
    .model_types = model_types,
    .prefix = "distilbert.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embeddings.word_embeddings.weight",
            .position = "embeddings.position_embeddings.weight",
            .embed_norm = "embeddings.LayerNorm",
            .q = "transformer.layer.%d.attention.q_lin",
            .k = "transformer.layer.%d.attention.k_lin",
            .v = "transformer.layer.%d.attention.v_lin",
            .attn_out = "transformer.layer.%d.attention.out_lin",
            .attn_norm = "transformer.layer.%d.sa_layer_norm",
            .ffn_in = "transformer.layer.%d.ffn.lin1",
            .ffn_out = "transformer.layer.%d.ffn.lin2",
            .ffn_norm = "transformer.layer.%d.output_layer_norm",
            .cls_dense = "pre_classifier",
            .cls_out = "classifier",
            .mlm_dense = "vocab_transform",
            .mlm_norm = "vocab_layer_norm",
            .mlm_decoder = "vocab_projector",
            .mlm_bias = "vocab_projector.bias",
        },
    .positions = SN_POSITIONS_FROM_ZERO,
    .scale_q = 1,
    .cls_head = SN_CLS_RELU_DENSE,
    .unused = unused,
};
