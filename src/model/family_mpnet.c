/* family_mpnet.c — MPNet (transformers' modeling_mpnet.py): MPNetModel,
 * MPNetForSequenceClassification, and masked-LM checkpoints used as encoders
 * (all-mpnet-base-v2 is an MPNetModel under sentence-transformers).
 *
 * BERT's post-norm layers under other names, no token types, RoBERTa's
 * positions (the modeling code fixes padding_idx at 1, whatever
 * pad_token_id says, so the first token reads row 2) and classification head,
 * and a relative position bias: one embedding of 32 bucketed distances (up
 * to 128) per head, computed once and added to every layer's scaled scores.
 * The modeling code buckets into 32 whatever relative_attention_num_buckets
 * says; a table with fewer rows would index past its end there, and is
 * refused here. */
#include <cjson/cJSON.h>

#include "model/family.h"

/* What modeling_mpnet.py passes to relative_position_bucket. */
#define MPNET_BUCKETS 32
#define MPNET_MAX_DISTANCE 128
#define MPNET_PADDING_IDX 1

static sinter_status_t parse(const cJSON *root, sn_config_t *c, const char *label,
                             sinter_error_t *err) {
  SN_TRY(sn_config_parse_bert_like(root, c, label, err));
  SN_TRY(sn_config_get_i32(root, "pad_token_id", 1, 0, SN_CONFIG_MAX_VOCAB, label, &c->pad_token_id,
                           err));
  SN_TRY(sn_config_get_i32(root, "relative_attention_num_buckets", 32, 1, SN_CONFIG_MAX_VOCAB,
                           label, &c->relative_buckets, err));
  if (c->relative_buckets < MPNET_BUCKETS)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: relative_attention_num_buckets %d is under the %d buckets MPNet's "
                        "attention reads",
                        label, (int)c->relative_buckets, MPNET_BUCKETS);
  c->type_vocab_size = 0;
  c->position_offset = MPNET_PADDING_IDX + 1;
  return SINTER_OK;
}

static const char *const model_types[] = {"mpnet", NULL};

static const sn_family_arch_t archs[] = {
    {"MPNetModel", SN_HEAD_NONE},
    {"MPNetForSequenceClassification", SN_HEAD_SEQUENCE},
    {"MPNetForMaskedLM", SN_HEAD_NONE},
};

static const char *const unused[] = {"lm_head.", NULL};

const sn_family_t sn_family_mpnet = {
    .name = "mpnet",
    .model_types = model_types,
    .prefix = "mpnet.",
    .archs = archs,
    .arch_count = sizeof archs / sizeof archs[0],
    .parse = parse,
    .names =
        {
            .word = "embeddings.word_embeddings.weight",
            .position = "embeddings.position_embeddings.weight",
            .embed_norm = "embeddings.LayerNorm",
            .q = "encoder.layer.%d.attention.attn.q",
            .k = "encoder.layer.%d.attention.attn.k",
            .v = "encoder.layer.%d.attention.attn.v",
            .attn_out = "encoder.layer.%d.attention.attn.o",
            .attn_norm = "encoder.layer.%d.attention.LayerNorm",
            .ffn_in = "encoder.layer.%d.intermediate.dense",
            .ffn_out = "encoder.layer.%d.output.dense",
            .ffn_norm = "encoder.layer.%d.output.LayerNorm",
            .pooler = "pooler.dense",
            .cls_dense = "classifier.dense",
            .cls_out = "classifier.out_proj",
            .rel_bias = "encoder.relative_attention_bias.weight",
            .mlm_dense = "lm_head.dense",
            .mlm_norm = "lm_head.layer_norm",
            .mlm_decoder = "lm_head.decoder",
            .mlm_bias = "lm_head.bias",
        },
    .positions = SN_POSITIONS_AFTER_PADDING,
    .cls_head = SN_CLS_TANH_DENSE,
    .mlm_gelu = 1, /* MPNetLMHead applies gelu whatever hidden_act says */
    .rel_buckets = MPNET_BUCKETS,
    .rel_max_distance = MPNET_MAX_DISTANCE,
    .unused = unused,
    /* tests/fixtures/golden/all_minilm_l6_v2.json's 37 sentences through the
     * real all-mpnet-base-v2: worst cosine 0.99708, mean 0.99904 (MiniLM, a
     * BERT: 0.99869); its activations have more outlier channels than the 8
     * the int8 linears keep in fp32. */
    .int8_refusal =
        "on all-mpnet-base-v2 its worst cosine to fp32 is 0.9971 on the golden "
        "sentences, under the 0.998 sinter requires; use --dtype bf16 or f32",
};
