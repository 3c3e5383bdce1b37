/* family_bert.c — BERT (transformers' modeling_bert.py): BertModel,
 * BertForSequenceClassification, and MLM / pre-training checkpoints used as
 * encoders. Post-norm layers, absolute positions, token types, a pooler. */
#include <cjson/cJSON.h>

#include "model/family.h"

static const char *const model_types[] = {"bert", NULL};

static const sn_family_arch_t archs[] = {
    {"BertModel", SN_HEAD_NONE},
    {"BertForSequenceClassification", SN_HEAD_SEQUENCE},
    {"BertForMaskedLM", SN_HEAD_NONE},
    {"BertForPreTraining", SN_HEAD_NONE},
};

static const char *const unused[] = {"cls.", "qa_outputs.", NULL};

const sn_family_t sn_family_bert = {
    .name = "bert",
    .model_types = model_types,
    .prefix = "bert.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = sn_config_parse_bert_like,
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
            .cls_out = "classifier",
            .mlm_dense = "cls.predictions.transform.dense",
            .mlm_norm = "cls.predictions.transform.LayerNorm",
            .mlm_decoder = "cls.predictions.decoder",
            .mlm_bias = "cls.predictions.bias",
        },
    .positions = SN_POSITIONS_FROM_ZERO,
    .cls_head = SN_CLS_POOLER,
    .unused = unused,
    /* tests/python/test_families.py::test_int8_per_family_accuracy */
    .int8_measured =
        "all-MiniLM-L6-v2 keeps a worst cosine to fp32 of 0.9987 on the golden "
        "sentences",
};
