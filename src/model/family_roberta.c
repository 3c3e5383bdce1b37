/* family_roberta.c — RoBERTa, XLM-RoBERTa and CamemBERT
 * (modeling_roberta.py, modeling_xlm_roberta.py, modeling_camembert.py: one
 * architecture under three names). BERT's layers and config; positions
 * start after the padding index; the classifier is dense, tanh, out_proj on
 * the first token, without the pooler.
 *
 * Positions: transformers numbers the tokens that are not the padding id
 * from padding_idx + 1 (create_position_ids_from_input_ids). sinter numbers
 * every token of a sequence so, as TEI does: identical unless the text itself
 * holds the padding token (a literal "<pad>"), which transformers gives the
 * padding position and does not count. */
#include <cjson/cJSON.h>

#include "model/family.h"

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  SN_TRY(sn_config_parse_bert_like(root, c, label, err));
  /* transformers' RobertaConfig defaults pad_token_id to 1, BERT's to 0. */
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 1, 0, SN_CONFIG_MAX_VOCAB, label, &c->pad_token_id,
                           err));
  c->position_offset = c->pad_token_id + 1;
  return SINTER_OK;
}

static const char *const model_types[] = {"roberta", "xlm-roberta", "camembert", NULL};

static const sn_family_arch_t archs[] = {
    {"RobertaModel", SN_HEAD_NONE},
    {"RobertaForSequenceClassification", SN_HEAD_SEQUENCE},
    {"RobertaForMaskedLM", SN_HEAD_NONE},
    {"XLMRobertaModel", SN_HEAD_NONE},
    {"XLMRobertaForSequenceClassification", SN_HEAD_SEQUENCE},
    {"XLMRobertaForMaskedLM", SN_HEAD_NONE},
    {"CamembertModel", SN_HEAD_NONE},
    {"CamembertForSequenceClassification", SN_HEAD_SEQUENCE},
    {"CamembertForMaskedLM", SN_HEAD_NONE},
};

static const char *const unused[] = {"lm_head.", NULL};

const sn_family_t sn_family_roberta = {
    .name = "roberta",
    .model_types = model_types,
    .prefix = "roberta.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embeddings.word_embeddings.weight",
            .position = "embeddings.position_embeddings.weight",
            .token_type = "embeddings.token_type_embeddings.weight",
            .embed_norm = "embeddings.LayerNorm",
            .q = "encoder.layer.%d.attention.self.query",
            .k = "encoder.layer.%d.attention.self.key",
            .v = "encoder.layer.%d.attention.self.value",
            .attn_out = "encoder.layer.%d.attention.output.dense",
            .attn_norm = "encoder.layer.%d.attention.output.LayerNorm",
            .ffn_in = "encoder.layer.%d.intermediate.dense",
            .ffn_out = "encoder.layer.%d.output.dense",
            .ffn_norm = "encoder.layer.%d.output.LayerNorm",
            .pooler = "pooler.dense",
            .cls_dense = "classifier.dense",
            .cls_out = "classifier.out_proj",
            .mlm_dense = "lm_head.dense",
            .mlm_norm = "lm_head.layer_norm",
            .mlm_decoder = "lm_head.decoder",
            .mlm_bias = "lm_head.bias",
        },
    .positions = SN_POSITIONS_AFTER_PADDING,
    .cls_head = SN_CLS_TANH_DENSE,
    .mlm_gelu = 1, /* RobertaLMHead applies gelu whatever hidden_act says */
    .unused = unused,
};
