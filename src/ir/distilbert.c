/* distilbert.c — the unfused graph of DistilBertModel and
 * DistilBertForSequenceClassification, following modeling_distilbert.py. */
#include <math.h>
#include <stdio.h>

#include "ir/builder.h"

sinter_status_t sn_ir_build_distilbert(const sinter_model_t *model,
                                       const sn_build_options_t *options, sn_ir_graph_t *g) {
  const sn_config_t *c = sn_model_config(model);
  const float eps = c->layer_norm_eps;
  int32_t ids = sn_ir_input(g, SN_INPUT_IDS);
  int32_t mask = sn_ir_input(g, SN_INPUT_MASK);

  /* Embeddings: words + positions, LayerNorm; no token types. */
  int32_t words = sn_ir_binary(
      g, SN_OP_GATHER, sn_ir_model_weight(g, model, "embeddings.word_embeddings.weight"), ids);
  int32_t positions = sn_ir_binary(
      g, SN_OP_GATHER, sn_ir_model_weight(g, model, "embeddings.position_embeddings.weight"),
      sn_ir_arange(g));
  int32_t h =
      sn_ir_unary(g, SN_OP_DROPOUT,
                  sn_ir_model_layernorm(g, model, sn_ir_binary(g, SN_OP_ADD, words, positions),
                                        "embeddings.LayerNorm", eps));

  /* DistilBERT scales q by 1/sqrt(head_dim) before the scores. */
  const float q_scale = 1.0f / sqrtf((float)(c->hidden_size / c->num_heads));
  char p[160];
  for (int i = 0; i < c->num_layers; i++) {
    snprintf(p, sizeof p, "transformer.layer.%d.attention.q_lin", i);
    int32_t q = sn_ir_linear(g, model, h, p);
    snprintf(p, sizeof p, "transformer.layer.%d.attention.k_lin", i);
    int32_t k = sn_ir_linear(g, model, h, p);
    snprintf(p, sizeof p, "transformer.layer.%d.attention.v_lin", i);
    int32_t v = sn_ir_linear(g, model, h, p);
    int32_t ctx = sn_ir_attention(g, c, q, k, v, mask, q_scale, 1.0f);
    snprintf(p, sizeof p, "transformer.layer.%d.attention.out_lin", i);
    int32_t attn = sn_ir_binary(g, SN_OP_ADD, sn_ir_linear(g, model, ctx, p), h);
    snprintf(p, sizeof p, "transformer.layer.%d.sa_layer_norm", i);
    int32_t h1 = sn_ir_model_layernorm(g, model, attn, p, eps);
    snprintf(p, sizeof p, "transformer.layer.%d.ffn.lin1", i);
    int32_t ff = sn_ir_activation(g, c->activation, sn_ir_linear(g, model, h1, p));
    snprintf(p, sizeof p, "transformer.layer.%d.ffn.lin2", i);
    int32_t out = sn_ir_binary(g, SN_OP_ADD,
                               sn_ir_unary(g, SN_OP_DROPOUT, sn_ir_linear(g, model, ff, p)), h1);
    snprintf(p, sizeof p, "transformer.layer.%d.output_layer_norm", i);
    h = sn_ir_model_layernorm(g, model, out, p, eps);
  }
  sn_ir_mark_output(g, "last_hidden_state", h);
  sn_ir_add_embedding_output(g, h, mask, options);

  if (c->head == SN_HEAD_SEQUENCE) {
    /* hidden[:, 0] -> pre_classifier -> ReLU -> classifier */
    int32_t cls = sn_ir_unary(g, SN_OP_SLICE_FIRST, h);
    int32_t pre = sn_ir_unary(g, SN_OP_RELU, sn_ir_linear(g, model, cls, "pre_classifier"));
    int32_t logits = sn_ir_linear(g, model, sn_ir_unary(g, SN_OP_DROPOUT, pre), "classifier");
    sn_ir_mark_output(g, "logits", logits);
    sn_ir_mark_output(g, "scores", sn_ir_unary(g, SN_OP_SOFTMAX, logits));
  }
  return g->build_status;
}
