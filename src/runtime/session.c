/* session.c — the public session API over both executors: input validation,
 * eager padding or compiled packing, output ownership. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/cpus.h"
#include "ir/builder.h"
#include "kernels/fused.h"
#include "kernels/threadpool.h"
#include "program/program.h"
#include "runtime/eager.h"
#include "runtime/plan.h"
#include "runtime/session.h"

/* Upper bound on batch × longest sequence, far above any sane request; it
 * keeps size arithmetic far from overflow. */
#define MAX_BATCH_TOKENS ((int64_t)1 << 24)

enum { OUT_HIDDEN, OUT_POOLER, OUT_EMBEDDINGS, OUT_LOGITS, OUT_SCORES, OUT_SPARSE, OUT_COUNT };
static const char *const out_names[OUT_COUNT] = {
    "last_hidden_state", "pooler_output", "embeddings", "logits", "scores", "sparse"};

/* A growable float buffer owned by the session. */
typedef struct growable {
  float *data;
  size_t cap;
} growable_t;

struct sinter_session {
  const sinter_model_t *model;
  const sn_config_t *config;
  const sn_st_modules_t *modules;
  const sn_ir_graph_t *plan; /* compiled sessions: the program's plan */
  int threads;               /* threads of this session's runs */
  sn_threadpool_t *pool;     /* its threads for our kernels (threads - 1 workers) */
  int last_threads;          /* the team size its last run had (for tests) */
  int compiled;
  /* eager */
  sn_ir_graph_t graph;
  sn_build_options_t built_for;
  int has_graph;
  /* compiled */
  sn_plan_exec_t *exec;
  int plan_output[OUT_COUNT]; /* graph output index per kind, or -1 */
  int plan_normalized;        /* 1: the plan's embeddings end with the L2 norm */
  /* packed inputs and results, reused across runs */
  int32_t *ids, *types, *chunk_offsets;
  size_t ids_cap, offsets_cap;
  size_t *offsets;
  growable_t out[OUT_COUNT];
};

static sinter_pooling_t to_pool_mode(sinter_pooling_t p, sinter_pooling_t fallback) {
  return p == SINTER_POOL_DEFAULT ? fallback : p;
}

static sinter_status_t session_new(const sinter_model_t *model, int threads, sinter_session_t **out,
                                   sinter_error_t *err) {
  *out = NULL;
  if (!model) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "model is NULL");
  sinter_session_t *s = calloc(1, sizeof *s);
  if (!s) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "session");
  s->model = model;
  s->config = sn_model_config(model);
  s->modules = sn_model_modules(model);
  s->threads = threads > 0 ? threads : sn_cpus_available();
  /* Tuning knobs of the pool, for measurement (bench/idle_gaps.py,
   * bench/conditions.sh): SINTER_SPIN_US, how long an idle worker spins
   * before it sleeps (200 µs by default), and SINTER_LINGER_MAX_US, the cap
   * on the spin through the gaps between runs that the pool learns (100 ms
   * by default; 0: never). On a VM whose idle vCPU the host deschedules, a
   * worker woken from sleep can take 30 µs to 3.5 ms to run (bench/RESULTS.md
   * "Idle gaps"). */
  const char *spin = getenv("SINTER_SPIN_US"), *linger = getenv("SINTER_LINGER_MAX_US");
  int spin_us = spin && *spin ? atoi(spin) : -1;
  int linger_us = linger && *linger ? atoi(linger) : -1;
  if (sn_threadpool_create(s->threads, spin_us, linger_us, &s->pool, err)) {
    free(s);
    return err->status;
  }
  *out = s;
  return SINTER_OK;
}

sinter_status_t sinter_session_create_eager(const sinter_model_t *model, int threads,
                                            sinter_session_t **out_session, sinter_error_t *error) {
  *out_session = NULL;
  if (model && !sn_model_archive(model))
    return sn_error_set(error, SINTER_ERR_INVALID_ARGUMENT,
                        "%s: an artifact holds only the compiled plan; eager mode needs the model "
                        "folder",
                        sn_model_source(model));
  return session_new(model, threads, out_session, error);
}

sinter_status_t sinter_session_create_compiled(const sinter_program_t *program, int threads,
                                               sinter_session_t **out_session,
                                               sinter_error_t *error) {
  *out_session = NULL;
  if (!program) return sn_error_set(error, SINTER_ERR_INVALID_ARGUMENT, "program is NULL");
  SN_TRY(session_new(sn_program_model(program), threads, out_session, error));
  sinter_session_t *s = *out_session;
  const sn_ir_graph_t *plan = sn_program_plan(program);
  s->compiled = 1;
  s->plan = plan;
  for (int k = 0; k < OUT_COUNT; k++) {
    s->plan_output[k] = -1;
    for (int j = 0; j < plan->num_outputs; j++)
      if (!strcmp(plan->outputs[j].name, out_names[k])) s->plan_output[k] = j;
  }
  int emb = s->plan_output[OUT_EMBEDDINGS];
  s->plan_normalized = emb >= 0 && plan->nodes[plan->outputs[emb].node].op == SN_OP_L2_NORMALIZE;
  sinter_status_t st = sn_plan_exec_create(plan, &s->exec, error);
  if (st) {
    sinter_session_destroy(s);
    *out_session = NULL;
  }
  return st;
}

void sinter_session_destroy(sinter_session_t *s) {
  if (!s) return;
  for (int k = 0; k < OUT_COUNT; k++) free(s->out[k].data);
  free(s->ids), free(s->types), free(s->chunk_offsets), free(s->offsets);
  if (s->has_graph) sn_ir_graph_deinit(&s->graph);
  sn_plan_exec_destroy(s->exec);
  sn_threadpool_destroy(s->pool);
  free(s);
}

static sinter_status_t validate(const sinter_session_t *s, const sinter_batch_t *batch,
                                size_t *out_max_len, size_t *out_total, sinter_error_t *err) {
  const sn_config_t *c = s->config;
  if (!batch || batch->count == 0 || !batch->input_ids || !batch->lengths)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "batch is empty");
  size_t max_len = 0, total = 0;
  size_t limit = (size_t)c->max_positions;
  if (s->plan && s->plan->max_tokens > 0) {
    /* A compiled plan also bounds one sequence by its token budget. */
    size_t budget = (size_t)s->plan->max_tokens;
    limit = limit < budget ? limit : budget;
  }
  for (size_t i = 0; i < batch->count; i++) {
    size_t len = batch->lengths[i];
    if (len == 0) return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sequence %zu is empty", i);
    if (len > limit)
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                          "sequence %zu has %zu tokens; the model takes at most %zu", i, len,
                          limit);
    if (!batch->input_ids[i])
      return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT, "sequence %zu has no ids", i);
    const int32_t *types = batch->token_type_ids ? batch->token_type_ids[i] : NULL;
    for (size_t t = 0; t < len; t++) {
      int32_t id = batch->input_ids[i][t];
      if (id < 0 || id >= c->vocab_size)
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "sequence %zu, position %zu: token id %d is outside the vocabulary "
                            "[0, %d)",
                            i, t, (int)id, (int)c->vocab_size);
      if (types && c->type_vocab_size > 0 && (types[t] < 0 || types[t] >= c->type_vocab_size))
        return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                            "sequence %zu, position %zu: token type %d is outside [0, %d)", i, t,
                            (int)types[t], (int)c->type_vocab_size);
    }
    if (len > max_len) max_len = len;
    total += len;
  }
  if ((int64_t)batch->count * (int64_t)max_len > MAX_BATCH_TOKENS)
    return sn_error_set(err, SINTER_ERR_LIMIT,
                        "batch of %zu sequences padded to %zu tokens exceeds %lld tokens",
                        batch->count, max_len, (long long)MAX_BATCH_TOKENS);
  *out_max_len = max_len;
  *out_total = total;
  return SINTER_OK;
}

static float *reserve(growable_t *g, size_t count, sinter_error_t *err) {
  if (count > g->cap) {
    float *p = realloc(g->data, count * sizeof *p);
    if (!p) {
      sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "outputs: %zu floats", count);
      return NULL;
    }
    g->data = p;
    g->cap = count;
  }
  return g->data;
}

/* Packs the batch's ids and types into the session's reusable buffers. */
static sinter_status_t pack_inputs(sinter_session_t *s, const sinter_batch_t *batch, size_t total,
                                   sinter_error_t *err) {
  size_t b = batch->count;
  if (total > s->ids_cap) {
    int32_t *ids = realloc(s->ids, total * sizeof *ids);
    if (ids) s->ids = ids;
    int32_t *types = realloc(s->types, total * sizeof *types);
    if (types) s->types = types;
    if (!ids || !types) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "packed inputs");
    s->ids_cap = total;
  }
  if (b + 1 > s->offsets_cap) {
    size_t *o = realloc(s->offsets, (b + 1) * sizeof *o);
    if (o) s->offsets = o;
    int32_t *co = realloc(s->chunk_offsets, (b + 1) * sizeof *co);
    if (co) s->chunk_offsets = co;
    if (!o || !co) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "offsets");
    s->offsets_cap = b + 1;
  }
  size_t at = 0;
  for (size_t i = 0; i < b; i++) {
    s->offsets[i] = at;
    size_t len = batch->lengths[i];
    memcpy(s->ids + at, batch->input_ids[i], len * sizeof *s->ids);
    if (batch->token_type_ids && batch->token_type_ids[i]) {
      memcpy(s->types + at, batch->token_type_ids[i], len * sizeof *s->types);
    } else {
      memset(s->types + at, 0, len * sizeof *s->types);
    }
    at += len;
  }
  s->offsets[b] = at;
  return SINTER_OK;
}

/* The sentence embedding's width: the last Dense module's out_features, or
 * the hidden size. */
static int32_t embedding_width(const sinter_session_t *s) {
  return s->config->embedding_dim > 0 ? s->config->embedding_dim : s->config->hidden_size;
}

static sinter_status_t run_eager(sinter_session_t *s, const sinter_batch_t *batch,
                                 const sn_build_options_t *want, size_t max_len, size_t total,
                                 sinter_error_t *err) {
  const sinter_model_t *m = s->model;
  const sn_config_t *c = s->config;
  if (!s->has_graph || want->pooling != s->built_for.pooling ||
      want->normalize != s->built_for.normalize || want->sparse != s->built_for.sparse) {
    if (s->has_graph) sn_ir_graph_deinit(&s->graph);
    s->has_graph = 0;
    SN_TRY(sn_ir_build(m, want, &s->graph, err));
    s->has_graph = 1;
    s->built_for = *want;
  }
  /* Pad to the longest sequence; the mask keeps padding out of attention. */
  size_t b = batch->count, n = b * max_len, h = (size_t)c->hidden_size;
  int32_t *ids = calloc(n, sizeof *ids), *types = calloc(n, sizeof *types);
  float *mask = calloc(n, sizeof *mask);
  float *values[SN_IR_MAX_OUTPUTS] = {0};
  sinter_status_t st = SINTER_OK;
  if (!ids || !types || !mask) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "padded inputs");
    goto done;
  }
  for (size_t i = 0; i < b; i++) {
    for (size_t t = 0; t < max_len; t++) ids[i * max_len + t] = c->pad_token_id;
    memcpy(ids + i * max_len, batch->input_ids[i], batch->lengths[i] * sizeof *ids);
    if (batch->token_type_ids && batch->token_type_ids[i])
      memcpy(types + i * max_len, batch->token_type_ids[i], batch->lengths[i] * sizeof *types);
    for (size_t t = 0; t < batch->lengths[i]; t++) mask[i * max_len + t] = 1.0f;
  }
  sn_eager_inputs_t in = {(int64_t)b, (int64_t)max_len, ids, types, mask};
  st = sn_eager_run(&s->graph, &in, values, err);
  if (st) goto done;
  for (int j = 0; j < s->graph.num_outputs; j++) {
    for (int k = 0; k < OUT_COUNT; k++) {
      if (strcmp(s->graph.outputs[j].name, out_names[k])) continue;
      if (k == OUT_HIDDEN) { /* drop the padding rows */
        float *dst = reserve(&s->out[k], total * h, err);
        if (!dst) {
          st = SINTER_ERR_OUT_OF_MEMORY;
          goto done;
        }
        for (size_t i = 0; i < b; i++)
          memcpy(dst + s->offsets[i] * h, values[j] + i * max_len * h,
                 batch->lengths[i] * h * sizeof(float));
      } else {
        int64_t numel = sn_ir_shape_bind(&s->graph.nodes[s->graph.outputs[j].node].shape,
                                         (int64_t)b, (int64_t)max_len, NULL);
        float *dst = reserve(&s->out[k], (size_t)numel, err);
        if (!dst) {
          st = SINTER_ERR_OUT_OF_MEMORY;
          goto done;
        }
        memcpy(dst, values[j], (size_t)numel * sizeof(float));
      }
    }
  }
done:
  for (int j = 0; j < SN_IR_MAX_OUTPUTS; j++) free(values[j]);
  free(ids), free(types), free(mask);
  return st;
}

/* Runs the compiled plan over the packed batch in parts of at most the
 * plan's token budget and sequence count, copying each part's outputs into
 * place. */
static sinter_status_t run_compiled(sinter_session_t *s, size_t b, size_t total,
                                    sinter_error_t *err) {
  const sn_ir_graph_t *plan = s->plan;
  size_t h = (size_t)s->config->hidden_size;
  size_t labels = (size_t)s->config->num_labels;
  size_t e = (size_t)embedding_width(s);
  size_t widths[OUT_COUNT] = {h, h, e, labels, labels, (size_t)s->config->vocab_size};
  for (int k = 0; k < OUT_COUNT; k++)
    if (s->plan_output[k] >= 0 &&
        !reserve(&s->out[k], (k == OUT_HIDDEN ? total : b) * widths[k], err))
      return SINTER_ERR_OUT_OF_MEMORY;
  size_t first = 0;
  while (first < b) {
    size_t last = first, base = s->offsets[first];
    while (last < b && s->offsets[last + 1] - base <= (size_t)plan->max_tokens &&
           last - first < (size_t)plan->max_seqs)
      last++;
    int32_t n = (int32_t)(last - first);
    for (size_t i = first; i <= last; i++)
      s->chunk_offsets[i - first] = (int32_t)(s->offsets[i] - base);
    SN_TRY(sn_plan_exec_run(s->exec, s->ids + base, s->types + base, s->chunk_offsets, n, err));
    for (int k = 0; k < OUT_COUNT; k++) {
      if (s->plan_output[k] < 0) continue;
      const float *src = sn_plan_exec_output(s->exec, s->plan_output[k]);
      size_t rows = k == OUT_HIDDEN ? s->offsets[last] - base : (size_t)n;
      size_t at = k == OUT_HIDDEN ? base : first;
      memcpy(s->out[k].data + at * widths[k], src, rows * widths[k] * sizeof(float));
    }
    first = last;
  }
  return SINTER_OK;
}

sinter_status_t sinter_session_run(sinter_session_t *s, const sinter_batch_t *batch,
                                   const sinter_run_options_t *options, sinter_outputs_t *out,
                                   sinter_error_t *error) {
  sinter_error_t local;
  sinter_error_t *err = error ? error : &local;
  sn_error_clear(err);
  memset(out, 0, sizeof *out);
  const sn_config_t *c = s->config;
  const sn_st_modules_t *mod = s->modules;
  size_t max_len = 0, total = 0;
  SN_TRY(validate(s, batch, &max_len, &total, err));
  SN_TRY(pack_inputs(s, batch, total, err));

  sinter_run_options_t defaults = {0};
  if (!options) options = &defaults;
  sn_build_options_t want = {
      .pooling = to_pool_mode(options->pooling, mod->pooling),
      .normalize = options->normalize == 0 ? mod->normalize : options->normalize > 0,
      .sparse = options->sparse != 0,
  };
  if (options->pooling == SINTER_POOL_SPLADE)
    return sn_error_set(err, SINTER_ERR_INVALID_ARGUMENT,
                        "splade pooling applies to the masked-LM logits, not to embeddings: ask "
                        "for the sparse output (run option sparse) instead");
  if (want.sparse && s->compiled && s->plan_output[OUT_SPARSE] < 0)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: the program was compiled without sparse (SPLADE) output; compile "
                        "it with the sparse option",
                        sn_model_source(s->model));
  if (want.sparse && !s->compiled && !sn_model_has_mlm_head(s->model))
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: sparse (SPLADE) output needs a masked-LM head: a *ForMaskedLM "
                        "checkpoint (this %s checkpoint has none)",
                        sn_model_source(s->model), c->architecture);
  /* Dense modules were trained on the folder's pooling; they cannot be
   * applied to another (sentence-transformers has no such choice either). */
  if (mod->dense_count > 0 && want.pooling != mod->pooling)
    return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                        "%s: %s pooling is refused: the model's %d Dense module(s) follow its "
                        "own %s pooling",
                        sn_model_source(s->model), sn_pooling_name(want.pooling),
                        (int)mod->dense_count, sn_pooling_name(mod->pooling));
  size_t b = batch->count, h = (size_t)c->hidden_size;
  size_t edim = (size_t)embedding_width(s);
  /* This session's threads, for this thread's parallel regions only: our
   * kernels take the session's pool as the calling thread's current one,
   * and oneDNN's linears run in tiles on it, each with one OpenMP thread
   * (nthreads-var, a per-thread setting: no OpenMP team ever starts).
   * Sessions running at once on other threads keep theirs; the caller's
   * own settings are restored after. */
  int caller_threads = omp_get_max_threads();
  omp_set_num_threads(1);
  sn_threadpool_t *caller_pool = sn_threadpool_set_current(s->pool);
  sinter_status_t st = SINTER_OK;
  if (s->compiled) {
    st = run_compiled(s, b, total, err);
    if (!st && mod->dense_count > 0) {
      /* The plan's embeddings stop before the Normalize (sn_api_compile):
       * the run's choice is applied here. */
      if (want.normalize && !s->plan_normalized)
        sn_l2_normalize_f32(s->out[OUT_EMBEDDINGS].data, (int64_t)b, (int64_t)edim);
      else if (!want.normalize && s->plan_normalized)
        st = sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "%s: the program's embeddings are normalized after its Dense "
                          "modules; unnormalized ones need a program compiled without it",
                          sn_model_source(s->model));
    } else if (!st && (want.pooling != mod->pooling || want.normalize != mod->normalize)) {
      /* The plan pools as the folder says; other poolings come from the rows. */
      float *emb = reserve(&s->out[OUT_EMBEDDINGS], b * h, err);
      if (emb) {
        for (size_t i = 0; i <= b; i++) s->chunk_offsets[i] = (int32_t)s->offsets[i];
        sn_pool_packed_f32(s->out[OUT_HIDDEN].data, s->chunk_offsets, (int32_t)b, (int64_t)h,
                           (int)want.pooling, emb);
        if (want.normalize) sn_l2_normalize_f32(emb, (int64_t)b, (int64_t)h);
      } else {
        st = SINTER_ERR_OUT_OF_MEMORY;
      }
    }
  } else {
    st = run_eager(s, batch, &want, max_len, total, err);
  }
  s->last_threads = sn_threadpool_threads(sn_threadpool_current());
  sn_threadpool_set_current(caller_pool);
  omp_set_num_threads(caller_threads);
  if (st) return st;
  out->batch = b;
  out->total_tokens = total;
  out->offsets = s->offsets;
  out->hidden_size = h;
  out->embedding_dim = edim;
  const int present[OUT_COUNT] = {1,
                                  sn_model_has_pooler(s->model) || s->plan_output[OUT_POOLER] >= 0,
                                  1, c->head == SN_HEAD_SEQUENCE, c->head == SN_HEAD_SEQUENCE};
  out->last_hidden_state = s->out[OUT_HIDDEN].data;
  out->pooler_output = present[OUT_POOLER] ? s->out[OUT_POOLER].data : NULL;
  out->embeddings = s->out[OUT_EMBEDDINGS].data;
  out->logits = present[OUT_LOGITS] ? s->out[OUT_LOGITS].data : NULL;
  out->scores = present[OUT_SCORES] ? s->out[OUT_SCORES].data : NULL;
  if (out->logits) out->num_labels = (size_t)c->num_labels;
  if (s->compiled ? s->plan_output[OUT_SPARSE] >= 0 : want.sparse) {
    out->sparse = s->out[OUT_SPARSE].data;
    out->vocab_size = (size_t)c->vocab_size;
  }
  return SINTER_OK;
}

sn_plan_exec_t *sn_session_plan_exec(sinter_session_t *session) {
  return session->exec;
}

int sn_session_last_threads(const sinter_session_t *session) {
  return session->last_threads;
}

int sinter_cpu_count(void) {
  return sn_cpus_available();
}
