/* session.c — the public session API over the eager executor: input
 * validation, padding of variable-length batches, output ownership. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "ir/builder.h"
#include "model/model.h"
#include "runtime/eager.h"

/* Upper bound on batch × longest sequence, far above any sane request; it
 * keeps size arithmetic far from overflow. */
#define MAX_BATCH_TOKENS ((int64_t)1 << 24)

struct sinter_session {
  const sinter_model_t *model;
  sn_dnnl_t *dnnl;
  sn_ir_graph_t graph;
  sn_build_options_t built_for; /* options the cached graph was built with */
  int has_graph;
  float *values[SN_IR_MAX_OUTPUTS]; /* outputs of the last run, owned */
};

static sn_pool_mode_t to_pool_mode(sinter_pooling_t p, sn_pool_mode_t fallback) {
  switch (p) {
    case SINTER_POOL_CLS: return SN_POOL_CLS;
    case SINTER_POOL_MEAN: return SN_POOL_MEAN;
    case SINTER_POOL_MAX: return SN_POOL_MAX;
    case SINTER_POOL_MEAN_SQRT_LEN: return SN_POOL_MEAN_SQRT_LEN;
    case SINTER_POOL_DEFAULT: break;
  }
  return fallback;
}

sinter_status_t sinter_session_create_eager(const sinter_model_t *model, int threads,
                                            sinter_session_t **out_session,
                                            sinter_error_t *error) {
  *out_session = NULL;
  if (!model) return sn_error_set(error, SINTER_ERR_INVALID_ARGUMENT, "model is NULL");
  sinter_session_t *s = calloc(1, sizeof *s);
  if (!s) return sn_error_set(error, SINTER_ERR_OUT_OF_MEMORY, "session");
  s->model = model;
  sinter_status_t st = sn_dnnl_create(&s->dnnl, error);
  if (st) {
    free(s);
    return st;
  }
  /* OpenMP is the one thread pool: oneDNN and our kernels both use it. */
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
  *out_session = s;
  return SINTER_OK;
}

static void release_values(sinter_session_t *s) {
  for (int k = 0; k < SN_IR_MAX_OUTPUTS; k++) free(s->values[k]), s->values[k] = NULL;
}

void sinter_session_destroy(sinter_session_t *s) {
  if (!s) return;
  release_values(s);
  if (s->has_graph) sn_ir_graph_deinit(&s->graph);
  sn_dnnl_destroy(s->dnnl);
  free(s);
}

static sinter_status_t validate(const sinter_model_t *m, const sinter_batch_t *batch,
                                size_t *out_max_len, sinter_error_t *err) {
  const sn_config_t *c = &m->config;
  if (!batch || batch->count == 0 || !batch->input_ids || !batch->lengths)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "batch is empty");
  size_t max_len = 0;
  for (size_t i = 0; i < batch->count; i++) {
    size_t len = batch->lengths[i];
    if (len == 0)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sequence %zu is empty", i);
    if (len > (size_t)c->max_position_embeddings)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "sequence %zu has %zu tokens; the model takes at most %d "
                          "(max_position_embeddings)",
                          i, len, (int)c->max_position_embeddings);
    if (!batch->input_ids[i])
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sequence %zu has no ids", i);
    for (size_t t = 0; t < len; t++) {
      int32_t id = batch->input_ids[i][t];
      if (id < 0 || id >= c->vocab_size)
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "sequence %zu, position %zu: token id %d is outside the vocabulary "
                            "[0, %d)",
                            i, t, (int)id, (int)c->vocab_size);
      const int32_t *types = batch->token_type_ids ? batch->token_type_ids[i] : NULL;
      if (types && c->type_vocab_size > 0 && (types[t] < 0 || types[t] >= c->type_vocab_size))
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "sequence %zu, position %zu: token type %d is outside [0, %d)", i, t,
                            (int)types[t], (int)c->type_vocab_size);
    }
    if (len > max_len) max_len = len;
  }
  if ((int64_t)batch->count * (int64_t)max_len > MAX_BATCH_TOKENS)
    return sn_error_set(err, SINTER_ERR_LIMIT,
                        "batch of %zu sequences padded to %zu tokens exceeds %lld tokens",
                        batch->count, max_len, (long long)MAX_BATCH_TOKENS);
  *out_max_len = max_len;
  return SINTER_OK;
}

sinter_status_t sinter_session_run(sinter_session_t *s, const sinter_batch_t *batch,
                                   const sinter_run_options_t *options,
                                   sinter_outputs_t *out, sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  memset(out, 0, sizeof *out);
  const sinter_model_t *m = s->model;
  size_t max_len = 0;
  SN_TRY(validate(m, batch, &max_len, err));

  sinter_run_options_t defaults = {0};
  if (!options) options = &defaults;
  sn_build_options_t want = {
      .pooling = to_pool_mode(options->pooling, m->modules.pooling),
      .normalize = options->normalize == 0 ? m->modules.normalize : options->normalize > 0,
  };
  if (!s->has_graph || want.pooling != s->built_for.pooling ||
      want.normalize != s->built_for.normalize) {
    if (s->has_graph) sn_ir_graph_deinit(&s->graph);
    s->has_graph = 0;
    SN_TRY(sn_ir_build(m, &want, &s->graph, err));
    s->has_graph = 1;
    s->built_for = want;
  }

  /* Pad to the longest sequence; the mask keeps padding out of attention. */
  size_t b = batch->count, n = b * max_len;
  int32_t *ids = calloc(n, sizeof *ids), *types = calloc(n, sizeof *types);
  float *mask = calloc(n, sizeof *mask);
  sinter_status_t st = SINTER_OK;
  if (!ids || !types || !mask) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "padded inputs");
    goto done;
  }
  for (size_t i = 0; i < b; i++) {
    for (size_t t = 0; t < max_len; t++) ids[i * max_len + t] = m->config.pad_token_id;
    memcpy(ids + i * max_len, batch->input_ids[i], batch->lengths[i] * sizeof *ids);
    if (batch->token_type_ids && batch->token_type_ids[i])
      memcpy(types + i * max_len, batch->token_type_ids[i], batch->lengths[i] * sizeof *types);
    for (size_t t = 0; t < batch->lengths[i]; t++) mask[i * max_len + t] = 1.0f;
  }
  release_values(s);
  sn_eager_inputs_t in = {(int64_t)b, (int64_t)max_len, ids, types, mask};
  st = sn_eager_run(s->dnnl, &s->graph, &in, s->values, err);
  if (st) goto done;

  out->batch = b;
  out->max_length = max_len;
  out->hidden_size = (size_t)m->config.hidden_size;
  for (int k = 0; k < s->graph.num_outputs; k++) {
    const char *name = s->graph.outputs[k].name;
    if (!strcmp(name, "last_hidden_state")) out->last_hidden_state = s->values[k];
    else if (!strcmp(name, "pooler_output")) out->pooler_output = s->values[k];
    else if (!strcmp(name, "embeddings")) out->embeddings = s->values[k];
    else if (!strcmp(name, "logits")) out->logits = s->values[k];
    else if (!strcmp(name, "scores")) out->scores = s->values[k];
  }
  if (out->logits) out->num_labels = (size_t)m->config.num_labels;
done:
  free(ids);
  free(types);
  free(mask);
  return st;
}
