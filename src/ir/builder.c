/* builder.c — the blocks the family encoders are built from, and the entry. */
#include "ir/builder.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/family.h"

int32_t sn_ir_model_weight(sn_ir_graph_t *g, const sinter_model_t *model, const char *fmt, ...) {
  char name[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  const sn_weight_t *w = sn_model_weight(model, name);
  if (!w) {
    if (g->build_status == SINTER_OK) {
      g->build_status = SINTER_ERR_NOT_FOUND;
      snprintf(g->build_error, sizeof g->build_error, "weight \"%s\" is not loaded", name);
    }
    return -1;
  }
  return sn_ir_weight(g, w->name, w->data, w->rank, w->shape);
}

/* An owned weight node over `data` (freed on failure). */
static int32_t owned_weight(sn_ir_graph_t *g, const char *name, float *data, int rank,
                            const int64_t *dims) {
  if (g->build_status) {
    free(data);
    return -1;
  }
  sn_ir_node_t n;
  memset(&n, 0, sizeof n);
  n.op = SN_OP_WEIGHT;
  n.shape.rank = rank;
  memcpy(n.shape.dims, dims, (size_t)rank * sizeof *dims);
  n.name = data ? strdup(name) : NULL;
  n.owned = data;
  n.data = data;
  n.arena_offset = -1;
  if (!n.name) {
    free(data);
    g->build_status = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(g->build_error, sizeof g->build_error, "weight %s", name);
    return -1;
  }
  return sn_ir_append(g, &n);
}

int32_t sn_ir_norm_weight(sn_ir_graph_t *g, const sinter_model_t *model, const char *prefix,
                          float offset) {
  char name[200];
  snprintf(name, sizeof name, "%s.weight", prefix);
  const sn_weight_t *w = sn_model_weight(model, name);
  if (offset == 0.0f || !w) return sn_ir_model_weight(g, model, "%s", name); /* names it missing */
  int64_t n = w->shape[0];
  float *data = malloc((size_t)n * sizeof *data);
  if (data)
    for (int64_t i = 0; i < n; i++) data[i] = offset + w->data[i];
  snprintf(name, sizeof name, "%s.weight%+g", prefix, (double)offset);
  return owned_weight(g, name, data, 1, &n);
}

int32_t sn_ir_zeros(sn_ir_graph_t *g, const char *name, int64_t n) {
  const int64_t dims[1] = {n};
  return owned_weight(g, name, calloc((size_t)(n > 0 ? n : 1), sizeof(float)), 1, dims);
}

/* prefix.bias, or zeros of the rows of `of` when the checkpoint has none. */
static int32_t bias_or_zeros(sn_ir_graph_t *g, const sinter_model_t *model, const char *prefix,
                             int32_t of) {
  char name[200];
  snprintf(name, sizeof name, "%s.bias", prefix);
  if (sn_model_weight(model, name) || of < 0) return sn_ir_model_weight(g, model, "%s", name);
  return sn_ir_zeros(g, name, g->nodes[of].shape.dims[0]);
}

int32_t sn_ir_linear(sn_ir_graph_t *g, const sinter_model_t *model, int32_t x, const char *prefix) {
  int32_t w = sn_ir_model_weight(g, model, "%s.weight", prefix);
  int32_t b = bias_or_zeros(g, model, prefix, w);
  return sn_ir_binary(g, SN_OP_ADD, sn_ir_matmul(g, x, w, 1), b);
}

int32_t sn_ir_model_layernorm(sn_ir_graph_t *g, const sinter_model_t *model, int32_t x,
                              const char *prefix, float eps) {
  int32_t gamma = sn_ir_model_weight(g, model, "%s.weight", prefix);
  int32_t beta = bias_or_zeros(g, model, prefix, gamma);
  return sn_ir_layernorm(g, x, gamma, beta, eps);
}

int32_t sn_ir_rotary_table(sn_ir_graph_t *g, const char *name, float theta, int64_t d,
                           int64_t positions) {
  const int64_t half = d / 2, dims[2] = {positions, d};
  float *table = malloc((size_t)(positions * d) * sizeof *table);
  float inv_freq[SN_IR_MAX_ROTARY_DIM / 2];
  if (table && d <= SN_IR_MAX_ROTARY_DIM) {
    for (int64_t i = 0; i < half; i++) inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)d);
    for (int64_t p = 0; p < positions; p++)
      for (int64_t i = 0; i < half; i++) {
        float angle = (float)p * inv_freq[i];
        table[p * d + i] = cosf(angle);
        table[p * d + half + i] = sinf(angle);
      }
  } else if (table) {
    free(table);
    table = NULL;
    if (!g->build_status) {
      g->build_status = SINTER_ERR_UNSUPPORTED;
      snprintf(g->build_error, sizeof g->build_error, "rotary head size %lld over %d", (long long)d,
               SN_IR_MAX_ROTARY_DIM);
    }
  }
  return owned_weight(g, name, table, 2, dims);
}

int32_t sn_ir_attention(sn_ir_graph_t *g, const sn_config_t *c, int32_t q, int32_t k, int32_t v,
                        int32_t mask, const sn_ir_attention_opts_t *o) {
  float q_scale = o->q_scale, score_scale = o->score_scale;
  int64_t heads = c->num_heads, kv = c->num_kv_heads, head_dim = c->head_dim;
  const int64_t split[4] = {SN_DIM_B, SN_DIM_S, heads, head_dim};
  const int64_t split_kv[4] = {SN_DIM_B, SN_DIM_S, kv, head_dim};
  const int64_t merged[3] = {SN_DIM_B, SN_DIM_S, heads * head_dim};
  const int to_heads[4] = {0, 2, 1, 3}; /* [B, S, h, d] <-> [B, h, S, d] */
  if (q_scale != 1.0f) q = sn_ir_mul_scalar(g, q, q_scale);
  q = sn_ir_reshape(g, q, 4, split);
  k = sn_ir_reshape(g, k, 4, split_kv);
  if (o->q_norm >= 0) { /* Qwen3: RMSNorm over each head's features */
    q = sn_ir_rmsnorm(g, q, o->q_norm, o->norm_eps);
    k = sn_ir_rmsnorm(g, k, o->k_norm, o->norm_eps);
  }
  int32_t qh = sn_ir_transpose(g, q, to_heads);
  int32_t kh = sn_ir_transpose(g, k, to_heads);
  int32_t vh = sn_ir_transpose(g, sn_ir_reshape(g, v, 4, split_kv), to_heads);
  if (o->rotary >= 0) {
    qh = sn_ir_rotary(g, qh, o->rotary);
    kh = sn_ir_rotary(g, kh, o->rotary);
  }
  if (kv != heads) { /* grouped-query attention: transformers' repeat_kv */
    kh = sn_ir_repeat_heads(g, kh, (int32_t)heads);
    vh = sn_ir_repeat_heads(g, vh, (int32_t)heads);
  }
  int32_t scores = sn_ir_matmul(g, qh, kh, 1);
  if (o->disentangled) { /* DeBERTa-v2: the terms are scaled with the scores */
    scores = sn_ir_disentangled_bias(g, scores, qh, kh, o->rel_index, o->rel_pos, score_scale);
    score_scale = 1.0f;
  } else if (o->rel_bias >= 0) { /* transformers adds the bias after scaling */
    scores = sn_ir_rel_bias(g, scores, o->rel_bias, score_scale);
    score_scale = 1.0f;
  }
  int32_t probs = sn_ir_unary(
      g, SN_OP_DROPOUT,
      sn_ir_masked_softmax_windowed(g, scores, mask, score_scale, o->window, o->causal));
  int32_t ctx = sn_ir_matmul(g, probs, vh, 0);
  return sn_ir_reshape(g, sn_ir_transpose(g, ctx, to_heads), 3, merged);
}

int32_t sn_ir_relative_bucket(int64_t relative_position, int32_t num_buckets,
                              int32_t max_distance) {
  int64_t n = -relative_position;
  int32_t half = num_buckets / 2, ret = n < 0 ? half : 0;
  n = n < 0 ? -n : n;
  int32_t max_exact = half / 2;
  if (n < max_exact) return ret + (int32_t)n;
  /* The float32 operations of torch, in its order: the bucket edges at
   * powers of two depend on the rounding. */
  float v = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact) *
            (float)(half - max_exact);
  int64_t large = max_exact + (int64_t)v;
  return ret + (int32_t)(large < half - 1 ? large : half - 1);
}

int32_t sn_ir_relative_bias_table(sn_ir_graph_t *g, const char *name, const float *weight,
                                  int32_t heads, int32_t num_buckets, int32_t max_distance) {
  if (g->build_status) return -1;
  const int64_t width = 2 * (int64_t)max_distance + 1;
  float *table = malloc((size_t)(heads * width) * sizeof *table);
  if (!table) {
    g->build_status = SINTER_ERR_OUT_OF_MEMORY;
    snprintf(g->build_error, sizeof g->build_error, "relative bias table %s", name);
    return -1;
  }
  /* Column x holds query - key = x - D, i.e. relative position D - x. */
  for (int64_t x = 0; x < width; x++) {
    int32_t bucket = sn_ir_relative_bucket(max_distance - x, num_buckets, max_distance);
    for (int32_t h = 0; h < heads; h++) table[h * width + x] = weight[bucket * heads + h];
  }
  const int64_t dims[2] = {heads, width};
  return owned_weight(g, name, table, 2, dims);
}

int64_t sn_ir_log_bucket(int64_t relative_position, int32_t buckets, int32_t max_position) {
  if (buckets <= 0 || max_position <= 0) return relative_position;
  const int64_t mid = buckets / 2, rel = relative_position;
  const int64_t abs_pos = rel < mid && rel > -mid ? mid - 1 : (rel < 0 ? -rel : rel);
  if (abs_pos <= mid) return rel;
  /* torch's float32 operations in its order: the ceil makes the bucket edges
   * depend on the rounding. */
  float log_pos =
      ceilf(logf((float)abs_pos / (float)mid) /
            logf((float)((double)(max_position - 1) / (double)mid)) * (float)(mid - 1)) +
      (float)mid;
  return rel < 0 ? -(int64_t)log_pos : (int64_t)log_pos;
}

int32_t sn_ir_disentangled_index(sn_ir_graph_t *g, const sn_config_t *c) {
  if (g->build_status) return -1;
  const int64_t distance = c->max_positions > 1 ? c->max_positions - 1 : 1;
  const int64_t span = c->rel_span, dims[1] = {2 * distance + 1};
  if (distance > SN_IR_MAX_REL_DISTANCE || span < 1) {
    g->build_status = SINTER_ERR_UNSUPPORTED;
    snprintf(g->build_error, sizeof g->build_error,
             "relative attention over %lld positions (span %lld): at most %d", (long long)distance,
             (long long)span, SN_IR_MAX_REL_DISTANCE);
    return -1;
  }
  float *index = malloc((size_t)dims[0] * sizeof *index);
  if (index)
    for (int64_t x = -distance; x <= distance; x++) {
      int64_t r = span + sn_ir_log_bucket(x, c->rel_position_buckets, c->max_relative_positions);
      index[distance + x] = (float)(r < 0 ? 0 : r > 2 * span - 1 ? 2 * span - 1 : r);
    }
  return owned_weight(g, "disentangled@index", index, 1, dims);
}

/* out[r] = rel[r] W^T + b for the linear `prefix`, rows rows of width h, as
 * row updates out[r] += rel[r][k] W^T[k] over a transposed copy of W: the
 * inner loop is an axpy the compiler vectorises (a real DeBERTa-v3 layer is
 * two 512 x 768 x 768 products, at build time). */
static int project_rows(const sinter_model_t *model, const float *rel, int64_t rows, int64_t h,
                        const char *prefix, float *out) {
  char name[200];
  snprintf(name, sizeof name, "%s.weight", prefix);
  const sn_weight_t *w = sn_model_weight(model, name);
  snprintf(name, sizeof name, "%s.bias", prefix);
  const sn_weight_t *b = sn_model_weight(model, name);
  if (!w || w->shape[1] != h) return -1;
  const int64_t n = w->shape[0];
  float *wt = malloc((size_t)(n * h) * sizeof *wt);
  if (!wt) return -1;
  for (int64_t o = 0; o < n; o++)
    for (int64_t k = 0; k < h; k++) wt[k * n + o] = w->data[o * h + k];
  for (int64_t r = 0; r < rows; r++) {
    float *restrict y = out + r * n;
    for (int64_t o = 0; o < n; o++) y[o] = 0.0f;
    for (int64_t k = 0; k < h; k++) {
      const float a = rel[r * h + k], *restrict wk = wt + k * n;
      for (int64_t o = 0; o < n; o++) y[o] += a * wk[o];
    }
    if (b)
      for (int64_t o = 0; o < n; o++) y[o] += b->data[o];
  }
  free(wt);
  return 0;
}

int32_t sn_ir_disentangled_positions(sn_ir_graph_t *g, const sinter_model_t *model,
                                     const sn_config_t *c, const char *key_prefix,
                                     const char *query_prefix) {
  if (g->build_status) return -1;
  const sn_family_names_t *nm = &c->family->names;
  const int64_t h = c->hidden_size, rows = 2 * (int64_t)c->rel_span;
  const int64_t hd = (int64_t)c->num_heads * c->head_dim, dims[2] = {2 * rows, hd};
  const sn_weight_t *rel = sn_model_weight(model, nm->rel_embeddings);
  if (!rel) return sn_ir_model_weight(g, model, "%s", nm->rel_embeddings); /* names it missing */
  float *normed = malloc((size_t)(rows * h) * sizeof *normed);
  float *pos = calloc((size_t)(2 * rows * hd), sizeof *pos);
  const int oom = !normed || !pos;
  int rc = oom ? -1 : 0;
  if (!rc) memcpy(normed, rel->data, (size_t)(rows * h) * sizeof *normed);
  if (!rc && c->rel_norm) { /* nn.LayerNorm in float32: mean, biased variance */
    char name[200];
    snprintf(name, sizeof name, "%s.weight", nm->rel_norm);
    const sn_weight_t *gamma = sn_model_weight(model, name);
    snprintf(name, sizeof name, "%s.bias", nm->rel_norm);
    const sn_weight_t *beta = sn_model_weight(model, name);
    rc = gamma && beta ? 0 : -1;
    for (int64_t r = 0; !rc && r < rows; r++) {
      float *x = normed + r * h;
      double mean = 0.0, var = 0.0;
      for (int64_t k = 0; k < h; k++) mean += x[k];
      mean /= (double)h;
      for (int64_t k = 0; k < h; k++) var += ((double)x[k] - mean) * ((double)x[k] - mean);
      var /= (double)h;
      const double inv = 1.0 / sqrt(var + (double)c->layer_norm_eps);
      for (int64_t k = 0; k < h; k++)
        x[k] = (float)(((double)x[k] - mean) * inv) * gamma->data[k] + beta->data[k];
    }
  }
  if (!rc && c->rel_c2p) rc = project_rows(model, normed, rows, h, key_prefix, pos);
  if (!rc && c->rel_p2c) rc = project_rows(model, normed, rows, h, query_prefix, pos + rows * hd);
  free(normed);
  if (rc) {
    free(pos);
    if (!g->build_status) {
      g->build_status = oom ? SINTER_ERR_OUT_OF_MEMORY : SINTER_ERR_NOT_FOUND;
      snprintf(g->build_error, sizeof g->build_error,
               "relative positions of %s / %s: a weight is missing or of the wrong shape",
               key_prefix, query_prefix);
    }
    return -1;
  }
  char name[200];
  snprintf(name, sizeof name, "%s@positions", key_prefix);
  return owned_weight(g, name, pos, 2, dims);
}

int32_t sn_ir_activation(sn_ir_graph_t *g, sn_activation_t act, int32_t x) {
  switch (act) {
    case SN_ACT_GELU: return sn_ir_unary(g, SN_OP_GELU, x);
    case SN_ACT_GELU_TANH: return sn_ir_unary(g, SN_OP_GELU_TANH, x);
    case SN_ACT_RELU: return sn_ir_unary(g, SN_OP_RELU, x);
    case SN_ACT_TANH: return sn_ir_unary(g, SN_OP_TANH, x);
    case SN_ACT_SILU: return sn_ir_unary(g, SN_OP_SILU, x);
    case SN_ACT_NONE: return x;
  }
  return -1;
}

void sn_ir_add_embedding_output(sn_ir_graph_t *g, const sinter_model_t *model, int32_t hidden,
                                int32_t mask, const sn_build_options_t *options) {
  int32_t pooled = sn_ir_pool(g, hidden, mask, options->pooling);
  const sn_st_modules_t *mod = sn_model_modules(model);
  for (int32_t i = 0; i < mod->dense_count; i++) {
    char prefix[sizeof mod->dense[i].path + 16];
    snprintf(prefix, sizeof prefix, "%s/linear", mod->dense[i].path);
    pooled = sn_ir_activation(g, mod->dense[i].activation, sn_ir_linear(g, model, pooled, prefix));
  }
  if (options->normalize) pooled = sn_ir_unary(g, SN_OP_L2_NORMALIZE, pooled);
  sn_ir_mark_output(g, "embeddings", pooled);
}

sinter_status_t sn_ir_build(const sinter_model_t *model, const sn_build_options_t *options,
                            sn_ir_graph_t *g, sinter_error_t *err) {
  /* The graph holds weight values: the model's stored forms become float32. */
  SN_TRY(sn_model_materialize(model, err));
  sn_ir_graph_init(g);
  sn_ir_build_encoder(model, options, g);
  sinter_status_t st = sn_ir_graph_finish(g, err);
  if (st) sn_ir_graph_deinit(g);
  return st;
}
