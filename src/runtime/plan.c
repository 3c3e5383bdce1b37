/* plan.c — the compiled executor over packed batches. */
#include "runtime/plan.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/time.h"
#include "kernels/fused.h"
#include "kernels/matmul.h"

struct sn_plan_exec {
  const sn_ir_graph_t *g;
  sn_dnnl_t *dnnl;
  sn_linear_t **linear; /* per node, for LINEAR nodes (shared configs share one) */
  float *arena;
  float *chunk;   /* pooled linears: one chunk's product (splade_chunk_rows rows) */
  int32_t *zeros; /* token types when the caller gives none */
  int64_t total;  /* tokens of the last run */
  int profile;
  sn_plan_observer_fn observer;
  void *observer_ctx;
  double seconds[SN_OP_COUNT_];
  int64_t calls[SN_OP_COUNT_];
};

void sn_plan_exec_profile(sn_plan_exec_t *e, int on) {
  e->profile = on;
  memset(e->seconds, 0, sizeof e->seconds);
  memset(e->calls, 0, sizeof e->calls);
}

void sn_plan_exec_observe(sn_plan_exec_t *e, sn_plan_observer_fn fn, void *ctx) {
  e->observer = fn;
  e->observer_ctx = ctx;
}

void sn_plan_exec_profile_get(const sn_plan_exec_t *e, double *seconds, int64_t *calls) {
  memcpy(seconds, e->seconds, sizeof e->seconds);
  memcpy(calls, e->calls, sizeof e->calls);
}

static int same_desc(const sn_linear_desc_t *a, const sn_linear_desc_t *b) {
  return a->k == b->k && a->n == b->n && a->act == b->act && a->residual == b->residual &&
         a->int8 == b->int8;
}

/* A pooled (SPLADE) linear's product runs this many rows at a time, into a
 * scratch of about SPLADE_CHUNK_BYTES: 256 rows of a 30,522-word vocabulary
 * (31 MB) instead of [max_tokens, vocab] in the arena (1 GB at 8,192
 * tokens). Never under 144 rows, sinter's GEMM's M block (SN_GEMM_MC), so
 * that chunking adds no pass over the [vocab, K] weights: XLM-R's 250,002
 * words take 144 MB. With 33 rows (32 MB) an XLM-R-base SPLADE batch ran
 * 8-10 % slower than the unchunked product; with 144, as fast (bench/RESULTS.md). */
#define SPLADE_CHUNK_BYTES ((int64_t)32 << 20)
#define SPLADE_CHUNK_MAX 256
#define SPLADE_CHUNK_MIN 144

static int64_t splade_chunk_rows(int64_t n, int64_t max_tokens) {
  int64_t rows = SPLADE_CHUNK_BYTES / (n * (int64_t)sizeof(float));
  if (rows > SPLADE_CHUNK_MAX) rows = SPLADE_CHUNK_MAX;
  if (rows < SPLADE_CHUNK_MIN) rows = SPLADE_CHUNK_MIN;
  return rows < max_tokens ? rows : max_tokens;
}

static sn_linear_desc_t desc_of(const sn_ir_graph_t *g, const sn_ir_node_t *n) {
  const sn_ir_node_t *w = &g->nodes[n->inputs[1]];
  return (sn_linear_desc_t){w->shape.dims[1], w->shape.dims[0], (int)n->act, n->num_inputs == 4,
                            n->int8 != 0};
}

sinter_status_t sn_plan_exec_create(const sn_ir_graph_t *g, sn_plan_exec_t **out,
                                    sinter_error_t *err) {
  *out = NULL;
  if (!g->packed || g->max_tokens < 1)
    return sn_error_set(err, SINTER_ERR_INTERNAL, "plan: graph is not compiled");
  sn_plan_exec_t *e = calloc(1, sizeof *e);
  if (!e) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan executor");
  e->g = g;
  sinter_status_t st = sn_dnnl_create(&e->dnnl, err);
  if (st) goto fail;
  e->linear = calloc((size_t)g->count, sizeof *e->linear);
  e->arena = aligned_alloc(64, (size_t)(g->arena_bytes + 64) / 64 * 64);
  e->zeros = calloc((size_t)g->max_tokens, sizeof *e->zeros);
  if (!e->linear || !e->arena || !e->zeros) {
    st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan: arena of %lld bytes",
                      (long long)g->arena_bytes);
    goto fail;
  }
  int64_t chunk_floats = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op != SN_OP_LINEAR) continue;
    sn_linear_desc_t d = desc_of(g, n);
    if (n->pool) { /* SPLADE: scratch for the largest chunk of any pooled linear */
      int64_t rows = splade_chunk_rows(d.n, g->max_tokens);
      if (rows * d.n > chunk_floats) chunk_floats = rows * d.n;
    }
    const sn_ir_node_t *w = &g->nodes[n->inputs[1]];
    /* Reuse an identical linear: same description and the same weight layout
     * and size, which sn_linear_create validated for the first one (a hostile
     * artifact could otherwise pair a validated linear with other weights). */
    for (int32_t j = 0; j < i && !e->linear[i]; j++) {
      if (!e->linear[j]) continue;
      sn_linear_desc_t dj = desc_of(g, &g->nodes[j]);
      const sn_ir_node_t *wj = &g->nodes[g->nodes[j].inputs[1]];
      if (same_desc(&d, &dj) && w->nbytes == wj->nbytes && w->layout_size == wj->layout_size &&
          (!w->layout_size || !memcmp(w->layout, wj->layout, w->layout_size)))
        e->linear[i] = e->linear[j];
    }
    if (e->linear[i]) continue;
    st = sn_linear_create(e->dnnl, &d, w->layout, w->layout_size, w->nbytes, &e->linear[i], err);
    if (st) {
      sn_error_prefix(err, "weight \"%s\"", w->name);
      goto fail;
    }
  }
  if (chunk_floats) {
    e->chunk = malloc((size_t)chunk_floats * sizeof(float));
    if (!e->chunk) {
      st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan: SPLADE scratch of %lld floats",
                        (long long)chunk_floats);
      goto fail;
    }
  }
  *out = e;
  return SINTER_OK;
fail:
  sn_plan_exec_destroy(e);
  return st;
}

void sn_plan_exec_destroy(sn_plan_exec_t *e) {
  if (!e) return;
  if (e->linear) {
    for (int32_t i = 0; i < e->g->count; i++) {
      if (!e->linear[i]) continue;
      for (int32_t j = i + 1; j < e->g->count; j++)
        if (e->linear[j] == e->linear[i]) e->linear[j] = NULL;
      sn_linear_destroy(e->linear[i]);
    }
  }
  free(e->linear);
  free(e->arena);
  free(e->chunk);
  free(e->zeros);
  sn_dnnl_destroy(e->dnnl);
  free(e);
}

static float *buf(const sn_plan_exec_t *e, int32_t node) {
  return (float *)((char *)e->arena + e->g->nodes[node].arena_offset);
}

/* A pooled linear (SPLADE): the product chunk by chunk into e->chunk, each
 * folded into the sequences' running maxima in out [num_seqs, N]. */
static sinter_status_t run_pooled_linear(sn_plan_exec_t *e, int32_t node, const float *x,
                                         const void *w, const float *bias, const int32_t *offsets,
                                         int32_t num_seqs, float *out, sinter_error_t *err) {
  sn_linear_desc_t d = desc_of(e->g, &e->g->nodes[node]);
  int64_t total = offsets[num_seqs], chunk = splade_chunk_rows(d.n, e->g->max_tokens);
  memset(out, 0, (size_t)num_seqs * (size_t)d.n * sizeof(float));
  for (int64_t r0 = 0; r0 < total; r0 += chunk) {
    int64_t rows = total - r0 < chunk ? total - r0 : chunk;
    SN_TRY(sn_linear_run(e->linear[node], rows, x + r0 * d.k, w, bias, e->chunk, err));
    sn_pool_max_rows_f32(e->chunk, r0, rows, d.n, offsets, num_seqs, out);
  }
  sn_splade_activate_f32(out, (int64_t)num_seqs * d.n);
  return SINTER_OK;
}

/* A node's input data: arena buffers, weights, or the run's token inputs. */
static const void *in_data(const sn_plan_exec_t *e, const sn_ir_node_t *n, int k,
                           const int32_t *ids, const int32_t *types) {
  const sn_ir_node_t *src = &e->g->nodes[n->inputs[k]];
  if (src->op == SN_OP_WEIGHT) return src->data;
  if (src->op == SN_OP_INPUT) return src->input == SN_INPUT_IDS ? (const void *)ids : types;
  return buf(e, n->inputs[k]);
}

sinter_status_t sn_plan_exec_run(sn_plan_exec_t *e, const int32_t *ids, const int32_t *type_ids,
                                 const int32_t *offsets, int32_t num_seqs, sinter_error_t *err) {
  const sn_ir_graph_t *g = e->g;
  int64_t total = offsets[num_seqs];
  if (total < 1 || total > g->max_tokens)
    return sn_error_set(err, SINTER_ERR_LIMIT, "plan: %lld tokens, compiled for at most %lld",
                        (long long)total, (long long)g->max_tokens);
  if (num_seqs > g->max_seqs)
    return sn_error_set(err, SINTER_ERR_LIMIT, "plan: %d sequences, compiled for at most %lld",
                        (int)num_seqs, (long long)g->max_seqs);
  if (!type_ids) type_ids = e->zeros;
  e->total = total;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_INPUT || n->op == SN_OP_WEIGHT) continue;
    double t0 = e->profile ? sn_time_now() : 0;
    float *out = buf(e, i);
    const float *x = in_data(e, n, 0, ids, type_ids);
    int64_t last = n->shape.dims[n->shape.rank - 1];
    int64_t rows = n->shape.dims[0] == SN_DIM_T ? total : num_seqs;
    switch (n->op) {
      case SN_OP_EMBED_LN: {
        int pos = n->num_inputs != 4; /* (ids, word, [pos,] gamma, beta, [types]) */
        sn_embed_layernorm_f32(in_data(e, n, 1, ids, type_ids),
                               pos ? in_data(e, n, 2, ids, type_ids) : NULL,
                               n->num_inputs == 7 ? in_data(e, n, 6, ids, type_ids) : NULL, ids,
                               n->num_inputs == 7 ? type_ids : NULL, offsets, num_seqs, last,
                               in_data(e, n, 2 + pos, ids, type_ids),
                               in_data(e, n, 3 + pos, ids, type_ids), n->eps, out);
        break;
      }
      case SN_OP_ROTARY_QK:
        sn_rotary_qk_f32(x, last, offsets, num_seqs, n->heads, n->kv_heads, n->head_dim,
                         in_data(e, n, 1, ids, type_ids),
                         n->num_inputs == 4 ? in_data(e, n, 2, ids, type_ids) : NULL,
                         n->num_inputs == 4 ? in_data(e, n, 3, ids, type_ids) : NULL, n->eps, out);
        break;
      case SN_OP_RMSNORM:
        if (n->num_inputs == 3)
          sn_rms_norm_add_f32(x, in_data(e, n, 1, ids, type_ids), in_data(e, n, 2, ids, type_ids),
                              rows, last, n->eps, out);
        else
          sn_rms_norm_f32(x, in_data(e, n, 1, ids, type_ids), rows, last, n->eps, out);
        break;
      case SN_OP_MUL_SCALAR: /* Gemma's embedding scale */
        for (int64_t k = 0; k < rows * last; k++) out[k] = x[k] * n->scale;
        break;
      case SN_OP_GATHER: { /* the word rows of the ids (models without an embedding norm) */
        const float *table = in_data(e, n, 0, ids, type_ids);
        for (int64_t t = 0; t < total; t++)
          memcpy(out + t * last, table + (int64_t)ids[t] * last, (size_t)last * sizeof(float));
        break;
      }
      case SN_OP_GLU: sn_glu_f32(x, rows, last, (int)n->act, out); break;
      case SN_OP_LINEAR: {
        if (n->pool) { /* SPLADE over x's T rows: out is [B, N] */
          sinter_status_t st =
              run_pooled_linear(e, i, x, in_data(e, n, 1, ids, type_ids),
                                in_data(e, n, 2, ids, type_ids), offsets, num_seqs, out, err);
          if (st) return st;
          break;
        }
        if (e->observer) {
          const sn_ir_node_t *w = &g->nodes[n->inputs[1]];
          e->observer(e->observer_ctx, w->name, x, rows, w->shape.dims[1]);
        }
        if (n->num_inputs == 4) {
          const float *res = in_data(e, n, 3, ids, type_ids);
          if (res != out) memcpy(out, res, (size_t)(total * last) * sizeof(float));
        }
        sinter_status_t st = sn_linear_run(e->linear[i], rows, x, in_data(e, n, 1, ids, type_ids),
                                           in_data(e, n, 2, ids, type_ids), out, err);
        if (st) return st;
        break;
      }
      case SN_OP_ATTENTION: {
        sn_attention_params_t ap = {n->heads, n->head_dim, n->scale,  NULL,
                                    0,        n->window,   n->causal, n->kv_heads};
        if (n->num_inputs == 2) { /* a relative-position bias table */
          ap.bias = in_data(e, n, 1, ids, type_ids);
          ap.bias_distance = (g->nodes[n->inputs[1]].shape.dims[1] - 1) / 2;
        }
        if (n->num_inputs == 3) { /* DeBERTa-v2's index table and position keys/queries */
          const sn_ir_node_t *index = &g->nodes[n->inputs[1]], *pos = &g->nodes[n->inputs[2]];
          sn_attention_disentangled_t dis = {
              in_data(e, n, 1, ids, type_ids), (index->shape.dims[0] - 1) / 2,
              in_data(e, n, 2, ids, type_ids), pos->shape.dims[0] / 4};
          sn_attention_disentangled_f32(x, g->nodes[n->inputs[0]].shape.dims[1], offsets, num_seqs,
                                        &ap, &dis, out, last);
          break;
        }
        sn_attention_f32(x, g->nodes[n->inputs[0]].shape.dims[1], offsets, num_seqs, &ap, out,
                         last);
      } break;
      case SN_OP_ADD_LAYERNORM:
        sn_add_layernorm_f32(x, n->num_inputs == 4 ? in_data(e, n, 3, ids, type_ids) : NULL,
                             in_data(e, n, 1, ids, type_ids), in_data(e, n, 2, ids, type_ids), rows,
                             last, n->eps, out);
        break;
      case SN_OP_SLICE_FIRST:
        for (int32_t s = 0; s < num_seqs; s++)
          memcpy(out + s * last, x + (int64_t)offsets[s] * last, (size_t)last * sizeof(float));
        break;
      case SN_OP_POOL: sn_pool_packed_f32(x, offsets, num_seqs, last, (int)n->pool, out); break;
      case SN_OP_SOFTMAX: sn_softmax_rows_f32(x, rows, last, out); break;
      case SN_OP_L2_NORMALIZE:
      case SN_OP_GELU:
      case SN_OP_GELU_TANH:
      case SN_OP_RELU:
      case SN_OP_SILU:
      case SN_OP_TANH: /* in place kernels: copy first unless planned in place */
        if (out != x) memcpy(out, x, (size_t)(rows * last) * sizeof(float));
        if (n->op == SN_OP_L2_NORMALIZE) sn_l2_normalize_f32(out, rows, last);
        if (n->op == SN_OP_GELU) sn_gelu_f32(out, rows * last);
        if (n->op == SN_OP_GELU_TANH) sn_gelu_tanh_f32(out, rows * last);
        if (n->op == SN_OP_TANH) sn_tanh_f32(out, rows * last);
        if (n->op == SN_OP_SILU) sn_silu_f32(out, rows * last);
        if (n->op == SN_OP_RELU)
          for (int64_t k = 0; k < rows * last; k++) out[k] = out[k] > 0 ? out[k] : 0;
        break;
      default:
        return sn_error_set(err, SINTER_ERR_INTERNAL, "plan: no packed kernel for %s",
                            sn_ir_op_name(n->op));
    }
    if (e->profile) {
      e->seconds[n->op] += sn_time_now() - t0;
      e->calls[n->op]++;
    }
  }
  return SINTER_OK;
}

const float *sn_plan_exec_output(const sn_plan_exec_t *e, int k) {
  return buf(e, e->g->outputs[k].node);
}
