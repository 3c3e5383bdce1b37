/* encoder.c — the unfused graph of an encoder family (model/family.h) as
 * transformers computes it, op for op (dropout omitted: the identity at
 * inference): embeddings (words, token types, positions, LayerNorm), the
 * layers — post-norm (BERT: attention, add & norm, feed-forward, add &
 * norm) or pre-norm (ModernBERT: norm, attention, add; norm, feed-forward,
 * add; a final norm) — and the family's classification head. The family
 * gives the tensor names and chooses among the blocks; nothing here names a
 * family. */
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
                                int32_t h, int32_t mask, int32_t pooled) {
  const sn_family_names_t *nm = &c->family->names;
  int32_t x;
  switch (c->family->cls_head) {
    case SN_CLS_POOLER: x = pooled; break;
    case SN_CLS_RELU_DENSE:
      x = sn_ir_unary(g, SN_OP_RELU,
                      sn_ir_linear(g, model, sn_ir_unary(g, SN_OP_SLICE_FIRST, h), nm->cls_dense));
      break;
    case SN_CLS_DENSE_ACT_NORM: {
      int32_t in = c->classifier_pooling == SINTER_POOL_MEAN
                       ? sn_ir_pool(g, h, mask, SINTER_POOL_MEAN)
                       : sn_ir_unary(g, SN_OP_SLICE_FIRST, h);
      x = sn_ir_activation(g, c->classifier_activation, sn_ir_linear(g, model, in, nm->cls_dense));
      if (nm->cls_norm) x = sn_ir_model_layernorm(g, model, x, nm->cls_norm, c->layer_norm_eps);
      break;
    }
    case SN_CLS_LAST_TOKEN: /* a decoder's last token has seen the whole sequence */
      x = sn_ir_pool(g, h, mask, SINTER_POOL_LAST_TOKEN);
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

/* SPLADE on the encoder's output h: the masked-LM head's vocabulary logits
 * (transform dense, activation, LayerNorm, the vocabulary linear, whose
 * weight is the word table unless the checkpoint stores its own), then the
 * max over each sequence's tokens of log(1 + ReLU(logits)) (a pooling mode)
 * as the output "sparse". The logits are [B, S, vocab]: built only when
 * asked, never for plain embeddings. */
static void sparse_head(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c,
                        int32_t h, int32_t mask) {
  const sn_family_names_t *nm = &c->family->names;
  if (!nm->mlm_dense || !sn_model_has_mlm_head(model)) {
    if (g->build_status == SINTER_OK) {
      g->build_status = SINTER_ERR_UNSUPPORTED;
      snprintf(g->build_error, sizeof g->build_error,
               "%s: sparse (SPLADE) output needs a masked-LM head (a *ForMaskedLM checkpoint "
               "with %s.weight); this %s checkpoint has none",
               sn_model_source(model), nm->mlm_dense ? nm->mlm_dense : "its head", c->family->name);
    }
    return;
  }
  sn_activation_t act = c->family->mlm_classifier_act ? c->classifier_activation
                        : c->family->mlm_gelu         ? SN_ACT_GELU
                                                      : c->activation;
  int32_t x = sn_ir_activation(g, act, sn_ir_linear(g, model, h, nm->mlm_dense));
  x = sn_ir_model_layernorm(g, model, x, nm->mlm_norm, c->layer_norm_eps);
  char wname[200];
  snprintf(wname, sizeof wname, "%s.weight", nm->mlm_decoder);
  if (!sn_model_weight(model, wname) && !c->tie_word_embeddings) {
    /* Untied and not stored: the word table is not the decoder; refuse. */
    if (g->build_status == SINTER_OK) {
      g->build_status = SINTER_ERR_NOT_FOUND;
      snprintf(g->build_error, sizeof g->build_error,
               "%s: sparse (SPLADE) output needs \"%s\": tie_word_embeddings is false, so the "
               "decoder is not the word table, and the checkpoint does not store it",
               sn_model_source(model), wname);
    }
    return;
  }
  int32_t w = sn_model_weight(model, wname) ? sn_ir_model_weight(g, model, "%s", wname)
                                            : sn_ir_model_weight(g, model, "%s", nm->word);
  /* Without a vocabulary bias (ModernBERT's decoder_bias false), zeros keep
   * the linear's matmul + add shape the compiler packs. */
  int32_t bias = c->mlm_decoder_bias ? sn_ir_model_weight(g, model, "%s", nm->mlm_bias)
                                     : sn_ir_zeros(g, nm->mlm_bias, c->vocab_size);
  int32_t logits = sn_ir_binary(g, SN_OP_ADD, sn_ir_matmul(g, x, w, 1), bias);
  sn_ir_mark_output(g, "sparse", sn_ir_pool(g, logits, mask, SINTER_POOL_SPLADE));
}

/* The family's norm on x: LayerNorm, or RMSNorm (weight only, plus the
 * family's offset). */
static int32_t norm(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c, int32_t x,
                    const char *prefix) {
  if (!c->family->rms_norm) return sn_ir_model_layernorm(g, model, x, prefix, c->layer_norm_eps);
  return sn_ir_rmsnorm(g, x, sn_ir_norm_weight(g, model, prefix, c->family->norm_offset),
                       c->layer_norm_eps);
}

/* The feed-forward block on x: dense (act(in), out) or gated (act(input) *
 * gate from one `in` linear of twice the width, or act(gate) * in from two). */
static int32_t feed_forward(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c,
                            int32_t x, int layer) {
  const sn_family_names_t *nm = &c->family->names;
  char p[160];
  if (nm->ffn_gate) { /* SwiGLU: down(act(gate(x)) * up(x)) */
    char q[160];
    int32_t gate = sn_ir_linear(g, model, x, at(q, sizeof q, nm->ffn_gate, layer));
    int32_t up = sn_ir_linear(g, model, x, at(p, sizeof p, nm->ffn_in, layer));
    int32_t u = sn_ir_binary(g, SN_OP_MUL, sn_ir_activation(g, c->activation, gate), up);
    return sn_ir_unary(g, SN_OP_DROPOUT,
                       sn_ir_linear(g, model, u, at(p, sizeof p, nm->ffn_out, layer)));
  }
  int32_t u = sn_ir_linear(g, model, x, at(p, sizeof p, nm->ffn_in, layer));
  if (c->family->ffn == SN_FFN_GLU) {
    int64_t inner = c->intermediate_size;
    int32_t input = sn_ir_slice_cols(g, u, 0, inner),
            gate = sn_ir_slice_cols(g, u, inner, 2 * inner);
    u = sn_ir_binary(g, SN_OP_MUL, sn_ir_activation(g, c->activation, input), gate);
  } else {
    u = sn_ir_activation(g, c->activation, u);
  }
  return sn_ir_unary(g, SN_OP_DROPOUT,
                     sn_ir_linear(g, model, u, at(p, sizeof p, nm->ffn_out, layer)));
}

/* Layer i's q, k and v: three linears, or slices of one. */
static void project_qkv(sn_ir_graph_t *g, const sinter_model_t *model, const sn_config_t *c,
                        int32_t x, int layer, int32_t *q, int32_t *k, int32_t *v) {
  const sn_family_names_t *nm = &c->family->names;
  char p[160];
  if (nm->qkv) {
    int64_t hs = c->hidden_size;
    int32_t qkv = sn_ir_linear(g, model, x, at(p, sizeof p, nm->qkv, layer));
    *q = sn_ir_slice_cols(g, qkv, 0, hs);
    *k = sn_ir_slice_cols(g, qkv, hs, 2 * hs);
    *v = sn_ir_slice_cols(g, qkv, 2 * hs, 3 * hs);
    return;
  }
  *q = sn_ir_linear(g, model, x, at(p, sizeof p, nm->q, layer));
  *k = sn_ir_linear(g, model, x, at(p, sizeof p, nm->k, layer));
  *v = sn_ir_linear(g, model, x, at(p, sizeof p, nm->v, layer));
}

sinter_status_t sn_ir_build_encoder(const sinter_model_t *model, const sn_build_options_t *options,
                                    sn_ir_graph_t *g) {
  const sn_config_t *c = sn_model_config(model);
  const sn_family_t *f = c->family;
  const sn_family_names_t *nm = &f->names;
  const float eps = c->layer_norm_eps;
  int32_t ids = sn_ir_input(g, SN_INPUT_IDS);
  int32_t mask = sn_ir_input(g, SN_INPUT_MASK);

  /* Embeddings: words (+ token types) (+ positions), then LayerNorm. */
  int32_t emb = sn_ir_binary(g, SN_OP_GATHER, sn_ir_model_weight(g, model, "%s", nm->word), ids);
  /* Gemma scales by sqrt(hidden) as a float32 tensor (torch.tensor of the
   * Python float). */
  if (f->scale_embeddings) emb = sn_ir_mul_scalar(g, emb, (float)sqrt((double)c->hidden_size));
  if (nm->token_type && c->type_vocab_size > 0) {
    int32_t type_ids = sn_ir_input(g, SN_INPUT_TYPE_IDS);
    int32_t types =
        sn_ir_binary(g, SN_OP_GATHER, sn_ir_model_weight(g, model, "%s", nm->token_type), type_ids);
    emb = sn_ir_binary(g, SN_OP_ADD, emb, types);
  }
  if (nm->position && !c->no_position_table) {
    int32_t positions = sn_ir_binary(g, SN_OP_GATHER, position_table(g, model, c), sn_ir_arange(g));
    emb = sn_ir_binary(g, SN_OP_ADD, emb, positions);
  }
  int32_t h =
      nm->embed_norm ? sn_ir_unary(g, SN_OP_DROPOUT, norm(g, model, c, emb, nm->embed_norm)) : emb;

  /* A relative-position bias (MPNet) is bucketed once, for all layers. */
  sn_ir_attention_opts_t global = {1.0f, 1.0f, -1, -1, 0, c->causal, -1, -1, 0.0f, 0, -1, -1};
  if (nm->rel_bias) {
    const sn_weight_t *w = sn_model_weight(model, nm->rel_bias);
    char name[200];
    snprintf(name, sizeof name, "%s@distance", nm->rel_bias);
    global.rel_bias = w ? sn_ir_relative_bias_table(g, name, w->data, c->num_heads, f->rel_buckets,
                                                    f->rel_max_distance)
                        : sn_ir_model_weight(g, model, "%s", nm->rel_bias); /* names it missing */
  }
  /* BERT scales the scores by 1/sqrt(head_dim), DistilBERT q before them. */
  const int64_t head_dim = c->head_dim;
  const float scale = c->attn_scale > 0 ? c->attn_scale : 1.0f / sqrtf((float)head_dim);
  global.q_scale = f->scale_q ? scale : 1.0f;
  global.score_scale = f->scale_q ? 1.0f : scale;
  /* Rotary positions (ModernBERT): one table per theta, shared by the layers;
   * sliding-window layers have their own theta. */
  sn_ir_attention_opts_t local = global;
  if (c->rope_theta_global > 0) {
    global.rotary =
        sn_ir_rotary_table(g, "rotary@global", c->rope_theta_global, head_dim, c->max_positions);
    local.window = c->local_window;
    for (int i = 0; i < c->num_layers && local.rotary < 0; i++)
      if (c->layer_local[i])
        local.rotary =
            sn_ir_rotary_table(g, "rotary@local", c->rope_theta_local, head_dim, c->max_positions);
  }

  /* DeBERTa-v2's disentangled attention: the bucketed distances once, each
   * layer's position keys and queries from its own projections. */
  const int disentangled = c->rel_span > 0 && (c->rel_c2p || c->rel_p2c);
  int32_t rel_index = disentangled ? sn_ir_disentangled_index(g, c) : -1;

  global.norm_eps = local.norm_eps = eps;
  char p[160];
  for (int i = 0; i < c->num_layers; i++) {
    sn_ir_attention_opts_t layer = c->layer_local[i] ? local : global;
    const sn_ir_attention_opts_t *opts = &layer;
    if (nm->q_norm) {
      layer.q_norm = sn_ir_norm_weight(g, model, at(p, sizeof p, nm->q_norm, i), f->norm_offset);
      layer.k_norm = sn_ir_norm_weight(g, model, at(p, sizeof p, nm->k_norm, i), f->norm_offset);
    }
    if (disentangled) {
      char kp[160];
      layer.disentangled = 1;
      layer.rel_index = rel_index;
      layer.rel_pos = sn_ir_disentangled_positions(g, model, c, at(kp, sizeof kp, nm->k, i),
                                                   at(p, sizeof p, nm->q, i));
    }
    int32_t q, k, v;
    if (f->layout == SN_LAYOUT_SANDWICH_NORM) {
      /* x += post(attn(pre(x))); x += post(ffn(pre(x))) */
      project_qkv(g, model, c, norm(g, model, c, h, at(p, sizeof p, nm->attn_norm, i)), i, &q, &k,
                  &v);
      int32_t ctx = sn_ir_attention(g, c, q, k, v, mask, opts);
      int32_t attn = sn_ir_unary(g, SN_OP_DROPOUT,
                                 sn_ir_linear(g, model, ctx, at(p, sizeof p, nm->attn_out, i)));
      h = sn_ir_binary(g, SN_OP_ADD, h,
                       norm(g, model, c, attn, at(p, sizeof p, nm->attn_post_norm, i)));
      int32_t y = norm(g, model, c, h, at(p, sizeof p, nm->ffn_norm, i));
      int32_t ffn = feed_forward(g, model, c, y, i);
      h = sn_ir_binary(g, SN_OP_ADD, h,
                       norm(g, model, c, ffn, at(p, sizeof p, nm->ffn_post_norm, i)));
      continue;
    }
    if (f->layout == SN_LAYOUT_PRE_NORM) {
      /* x += attn(norm(x)); x += ffn(norm(x)); layer 0 may have no attention norm */
      at(p, sizeof p, nm->attn_norm, i);
      char wname[200];
      snprintf(wname, sizeof wname, "%s.weight", p);
      int32_t x = sn_model_weight(model, wname) ? norm(g, model, c, h, p) : h;
      project_qkv(g, model, c, x, i, &q, &k, &v);
      int32_t ctx = sn_ir_attention(g, c, q, k, v, mask, opts);
      int32_t attn = sn_ir_unary(g, SN_OP_DROPOUT,
                                 sn_ir_linear(g, model, ctx, at(p, sizeof p, nm->attn_out, i)));
      h = sn_ir_binary(g, SN_OP_ADD, attn, h);
      int32_t y = norm(g, model, c, h, at(p, sizeof p, nm->ffn_norm, i));
      h = sn_ir_binary(g, SN_OP_ADD, feed_forward(g, model, c, y, i), h);
      continue;
    }
    project_qkv(g, model, c, h, i, &q, &k, &v);
    int32_t ctx = sn_ir_attention(g, c, q, k, v, mask, opts);
    int32_t attn =
        sn_ir_binary(g, SN_OP_ADD,
                     sn_ir_unary(g, SN_OP_DROPOUT,
                                 sn_ir_linear(g, model, ctx, at(p, sizeof p, nm->attn_out, i))),
                     h);
    int32_t h1 = sn_ir_model_layernorm(g, model, attn, at(p, sizeof p, nm->attn_norm, i), eps);
    int32_t out = sn_ir_binary(g, SN_OP_ADD, feed_forward(g, model, c, h1, i), h1);
    h = sn_ir_model_layernorm(g, model, out, at(p, sizeof p, nm->ffn_norm, i), eps);
  }
  if (nm->final_norm) h = norm(g, model, c, h, nm->final_norm);
  sn_ir_mark_output(g, "last_hidden_state", h);
  sn_ir_add_embedding_output(g, model, h, mask, options);

  int32_t pooled = -1;
  if (sn_model_has_pooler(model)) {
    int32_t cls = sn_ir_unary(g, SN_OP_SLICE_FIRST, h);
    pooled = sn_ir_unary(g, SN_OP_TANH, sn_ir_linear(g, model, cls, nm->pooler));
    sn_ir_mark_output(g, "pooler_output", pooled);
  }
  if (c->head == SN_HEAD_SEQUENCE) classification_head(g, model, c, h, mask, pooled);
  if (options->sparse) sparse_head(g, model, c, h, mask);
  return g->build_status;
}
