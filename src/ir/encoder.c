/* encoder.c — the unfused graph of an encoder family (model/family.h) as
 * transformers computes it, op for op (dropout omitted: the identity at
 * inference): embeddings (words, token types, positions, LayerNorm),
 * post-norm layers of self-attention and a feed-forward block, and the
 * family's classification head. The family gives the tensor names and
 * chooses among the blocks; nothing here names a family. */
#include <math.h>
#include <stdio.h>

#include "ir/builder.h"
#include "model/family.h"

/* The position table as the gathers read it: from the family's first row
 * (RoBERTa: padding_idx + 1), so that position p of a sequence is row p. */
static int32_t position_table(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c) {
  const sn_weight_t *w = sn_model_weight(model, c->family->names.position);
  if (!w || c->position_offset == 0)
    return sn_ir_model_weight(g, model, "%s", c->family->names.position);
  int64_t cols = w->shape[1];
  const int64_t dims[2] = {c->max_positions, cols};
  return sn_ir_weight(g, w->name, w->data + (int64_t)c->position_offset * cols, 2, dims);
}

static const char *at(char *buf, size_t cap, const char *fmt, int layer) {
  snprintf(buf, cap, fmt, layer);
  return buf;
}

/* The *ForSequenceClassification head on the encoder's output h: logits and
 * their softmax as outputs. */
static void classification_head(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c,
                                int32_t h, int32_t pooled) {
  const sn_family_names_t *nm = &c->family->names;
  int32_t x;
  switch (c->family->cls_head) {
    case SN_CLS_POOLER: x = pooled; break;
    case SN_CLS_RELU_DENSE:
      x = sn_ir_unary(g, SN_OP_RELU,
                      sn_ir_linear(g, model, sn_ir_unary(g, SN_OP_SLICE_FIRST, h), nm->cls_dense));
      break;
    case SN_CLS_TANH_DENSE:
    default:
      x = sn_ir_unary(g, SN_OP_TANH,
                      sn_ir_linear(g, model, sn_ir_unary(g, SN_OP_SLICE_FIRST, h), nm->cls_dense));
      break;
  }
  int32_t logits = sn_ir_linear(g, model, sn_ir_unary(g, SN_OP_DROPOUT, x), nm->cls_out);
  sn_ir_mark_output(g, "logits", logits);
  sn_ir_mark_output(g, "scores", sn_ir_unary(g, SN_OP_SOFTMAX, logits));
}

sinter_status_t sn_ir_build_encoder(const sinter_model_t *model, const sn_build_options_t *options,
                                    sn_ir_graph_t *g) {
  const sn_config_t *c = sn_model_config(model);
  const sn_family_t *f = c->family;
  const sn_family_names_t *nm = &f->names;
  const float eps = c->layer_norm_eps;
  int32_t ids = sn_ir_input(g, SN_INPUT_IDS);
  int32_t mask = sn_ir_input(g, SN_INPUT_MASK);

  /* Embeddings: words (+ token types), then + positions, then LayerNorm. */
  int32_t emb = sn_ir_binary(g, SN_OP_GATHER, sn_ir_model_weight(g, model, "%s", nm->word), ids);
  if (nm->token_type) {
    int32_t type_ids = sn_ir_input(g, SN_INPUT_TYPE_IDS);
    int32_t types =
        sn_ir_binary(g, SN_OP_GATHER, sn_ir_model_weight(g, model, "%s", nm->token_type), type_ids);
    emb = sn_ir_binary(g, SN_OP_ADD, emb, types);
  }
  int32_t positions = sn_ir_binary(g, SN_OP_GATHER, position_table(g, model, c), sn_ir_arange(g));
  emb = sn_ir_binary(g, SN_OP_ADD, emb, positions);
  int32_t h =
      sn_ir_unary(g, SN_OP_DROPOUT, sn_ir_model_layernorm(g, model, emb, nm->embed_norm, eps));

  /* A relative-position bias (MPNet) is bucketed once, for all layers. */
  int32_t rel_bias = -1;
  if (nm->rel_bias) {
    const sn_weight_t *w = sn_model_weight(model, nm->rel_bias);
    char name[200];
    snprintf(name, sizeof name, "%s@distance", nm->rel_bias);
    rel_bias = w ? sn_ir_relative_bias_table(g, name, w->data, c->num_heads, f->rel_buckets,
                                             f->rel_max_distance)
                 : sn_ir_model_weight(g, model, "%s", nm->rel_bias); /* names the missing one */
  }

  /* BERT scales the scores by 1/sqrt(head_dim), DistilBERT q before them. */
  const float scale = 1.0f / sqrtf((float)(c->hidden_size / c->num_heads));
  char p[160];
  for (int i = 0; i < c->num_layers; i++) {
    int32_t q = sn_ir_linear(g, model, h, at(p, sizeof p, nm->q, i));
    int32_t k = sn_ir_linear(g, model, h, at(p, sizeof p, nm->k, i));
    int32_t v = sn_ir_linear(g, model, h, at(p, sizeof p, nm->v, i));
    int32_t ctx = sn_ir_attention(g, c, q, k, v, mask, f->scale_q ? scale : 1.0f,
                                  f->scale_q ? 1.0f : scale, rel_bias);
    int32_t attn =
        sn_ir_binary(g, SN_OP_ADD,
                     sn_ir_unary(g, SN_OP_DROPOUT,
                                 sn_ir_linear(g, model, ctx, at(p, sizeof p, nm->attn_out, i))),
                     h);
    int32_t h1 = sn_ir_model_layernorm(g, model, attn, at(p, sizeof p, nm->attn_norm, i), eps);
    int32_t ff = sn_ir_activation(g, c->activation,
                                  sn_ir_linear(g, model, h1, at(p, sizeof p, nm->ffn_in, i)));
    int32_t out = sn_ir_binary(
        g, SN_OP_ADD,
        sn_ir_unary(g, SN_OP_DROPOUT, sn_ir_linear(g, model, ff, at(p, sizeof p, nm->ffn_out, i))),
        h1);
    h = sn_ir_model_layernorm(g, model, out, at(p, sizeof p, nm->ffn_norm, i), eps);
  }
  sn_ir_mark_output(g, "last_hidden_state", h);
  sn_ir_add_embedding_output(g, h, mask, options);

  int32_t pooled = -1;
  if (sn_model_has_pooler(model)) {
    int32_t cls = sn_ir_unary(g, SN_OP_SLICE_FIRST, h);
    pooled = sn_ir_unary(g, SN_OP_TANH, sn_ir_linear(g, model, cls, nm->pooler));
    sn_ir_mark_output(g, "pooler_output", pooled);
  }
  if (c->head == SN_HEAD_SEQUENCE) classification_head(g, model, c, h, pooled);
  return g->build_status;
}
