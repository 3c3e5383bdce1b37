/* eager.c — op-by-op interpretation of the unfused graph. */
#include "runtime/eager.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/reference.h"

/* Per-node runtime state. Views (reshape) share their input's storage, so
 * storage is tracked by its root node and freed after the root's last use. */
typedef struct slot {
  void *data;
  int32_t root; /* node owning the storage, or -1 when borrowed */
  int32_t last_use;
  int64_t dims[SN_IR_MAX_RANK];
  int64_t numel;
} slot_t;

static sinter_status_t run_node(const sn_ir_graph_t *g, int32_t i, slot_t *s,
                                const sn_eager_inputs_t *in, sinter_error_t *err) {
  const sn_ir_node_t *n = &g->nodes[i];
  slot_t *o = &s[i];
  const slot_t *a = n->num_inputs > 0 ? &s[n->inputs[0]] : NULL;
  const slot_t *b = n->num_inputs > 1 ? &s[n->inputs[1]] : NULL;
  const slot_t *c = n->num_inputs > 2 ? &s[n->inputs[2]] : NULL;
  o->numel = sn_ir_shape_bind(&n->shape, in->batch, in->seq, o->dims);
  int64_t last = n->shape.rank ? o->dims[n->shape.rank - 1] : 1;
  o->root = -1;
  switch (n->op) {
    case SN_OP_INPUT:
      o->data = n->input == SN_INPUT_IDS        ? (void *)in->input_ids
                : n->input == SN_INPUT_TYPE_IDS ? (void *)in->token_type_ids
                                                : (void *)in->attention_mask;
      return SINTER_OK;
    case SN_OP_WEIGHT: o->data = (void *)n->data; return SINTER_OK;
    case SN_OP_RESHAPE:
    case SN_OP_DROPOUT: /* identity at inference */
      o->data = a->data;
      o->root = a->root;
      return SINTER_OK;
    default: break;
  }
  int64_t bytes = o->numel * 4;
  if (bytes > SN_EAGER_MAX_BUFFER_BYTES)
    return sn_error_set(err, SINTER_ERR_LIMIT,
                        "eager: node %%%d (%s) needs %lld bytes, over the %lld-byte limit for one "
                        "intermediate; use a smaller batch or shorter sequences",
                        (int)i, sn_ir_op_name(n->op), (long long)bytes,
                        (long long)SN_EAGER_MAX_BUFFER_BYTES);
  o->data = malloc((size_t)(bytes ? bytes : 4));
  if (!o->data)
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "eager: node %%%d (%s): %lld bytes", (int)i,
                        sn_ir_op_name(n->op), (long long)bytes);
  o->root = i;
  float *out = o->data;
  const float *x = a ? a->data : NULL;
  switch (n->op) {
    case SN_OP_ARANGE:
      for (int64_t t = 0; t < o->numel; t++) ((int32_t *)o->data)[t] = (int32_t)t;
      break;
    case SN_OP_GATHER: sn_ref_gather(x, last, b->data, b->numel, out); break;
    case SN_OP_ADD: sn_ref_add(x, a->numel, b->data, b->numel, out); break;
    case SN_OP_MUL_SCALAR: sn_ref_scale(x, o->numel, n->scale, out); break;
    case SN_OP_MATMUL: {
      int ra = g->nodes[n->inputs[0]].shape.rank, rb = g->nodes[n->inputs[1]].shape.rank;
      int64_t k = a->dims[ra - 1], m = a->dims[ra - 2], batch = a->numel / (m * k);
      int b_batched = rb > 2;
      if (!b_batched) { /* a shared weight: fold every leading dim into M */
        m *= batch;
        batch = 1;
      }
      return sn_matmul_f32(batch, m, k, last, x, b->data, b_batched, n->trans_b, out, err);
    }
    case SN_OP_TRANSPOSE: sn_ref_transpose(x, n->shape.rank, a->dims, n->perm, out); break;
    case SN_OP_MASKED_SOFTMAX:
      sn_ref_masked_softmax(x, b->data, o->dims[0], o->dims[1], o->dims[2], o->dims[3], n->scale,
                            n->window, n->causal, out);
      break;
    case SN_OP_ROTARY:
      if (a->dims[2] > b->dims[0])
        return sn_error_set(err, SINTER_ERR_LIMIT,
                            "eager: %lld tokens are more than the rotary table's %lld positions",
                            (long long)a->dims[2], (long long)b->dims[0]);
      sn_ref_rotary(x, b->data, a->dims[0] * a->dims[1], a->dims[2], a->dims[3], out);
      break;
    case SN_OP_MUL: sn_ref_mul(x, b->data, o->numel, out); break;
    case SN_OP_SILU: sn_ref_silu(x, o->numel, out); break;
    case SN_OP_RMSNORM: sn_ref_rmsnorm(x, b->data, o->numel / last, last, n->eps, out); break;
    case SN_OP_REPEAT_HEADS:
      sn_ref_repeat_heads(x, a->dims[0], a->dims[1], n->heads, a->dims[2] * a->dims[3], out);
      break;
    case SN_OP_SLICE_COLS:
      sn_ref_slice_cols(x, a->numel / a->dims[g->nodes[n->inputs[0]].shape.rank - 1],
                        a->dims[g->nodes[n->inputs[0]].shape.rank - 1], n->begin, n->end, out);
      break;
    case SN_OP_REL_BIAS:
      sn_ref_rel_bias(x, b->data, (g->nodes[n->inputs[1]].shape.dims[1] - 1) / 2, o->dims[0],
                      o->dims[1], o->dims[2], n->scale, out);
      break;
    case SN_OP_DISENTANGLED_BIAS: {
      const sn_ir_node_t *index = &g->nodes[n->inputs[3]], *pos = &g->nodes[n->inputs[4]];
      sn_ref_disentangled_bias(x, b->data, c->data, index->data, (index->shape.dims[0] - 1) / 2,
                               pos->data, pos->shape.dims[0] / 4, o->dims[0], o->dims[1],
                               o->dims[2], b->dims[3], n->scale, out);
      break;
    }
    case SN_OP_LAYERNORM:
      sn_ref_layernorm(x, b->data, c->data, o->numel / last, last, n->eps, out);
      break;
    case SN_OP_GELU: sn_ref_gelu(x, o->numel, out); break;
    case SN_OP_GELU_TANH: sn_ref_gelu_tanh(x, o->numel, out); break;
    case SN_OP_RELU: sn_ref_relu(x, o->numel, out); break;
    case SN_OP_TANH: sn_ref_tanh(x, o->numel, out); break;
    case SN_OP_SLICE_FIRST: sn_ref_slice_first(x, a->dims[0], a->dims[1], a->dims[2], out); break;
    case SN_OP_POOL:
      sn_ref_pool(x, b->data, a->dims[0], a->dims[1], a->dims[2], n->pool, out);
      break;
    case SN_OP_L2_NORMALIZE: sn_ref_l2_normalize(x, o->numel / last, last, out); break;
    case SN_OP_SOFTMAX: sn_ref_softmax(x, o->numel / last, last, out); break;
    default:
      return sn_error_set(err, SINTER_ERR_INTERNAL, "eager: no kernel for op %s",
                          sn_ir_op_name(n->op));
  }
  return SINTER_OK;
}

/* The most bytes of intermediates alive at once over the run, from the same
 * liveness the run frees by: a batch too big is refused before anything is
 * allocated, not after the process has grown by gigabytes. */
static sinter_status_t check_peak(const sn_ir_graph_t *g, const slot_t *s,
                                  const sn_eager_inputs_t *in, sinter_error_t *err) {
  int64_t live = 0, peak = 0;
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    if (s[i].root == i && n->op != SN_OP_INPUT && n->op != SN_OP_WEIGHT) {
      int64_t numel = sn_ir_shape_bind(&n->shape, in->batch, in->seq, NULL);
      if (numel < 0 || numel > SN_EAGER_MAX_BUFFER_BYTES / 4)
        numel = SN_EAGER_MAX_BUFFER_BYTES / 4 + 1;
      live += numel * 4;
      if (live > peak) peak = live;
    }
    for (int32_t j = 0; j <= i; j++) /* roots whose last reader is i die here */
      if (s[j].root == j && s[j].last_use == i && j != i && g->nodes[j].op != SN_OP_INPUT &&
          g->nodes[j].op != SN_OP_WEIGHT)
        live -= sn_ir_shape_bind(&g->nodes[j].shape, in->batch, in->seq, NULL) * 4;
    if (peak > SN_EAGER_MAX_RUN_BYTES)
      return sn_error_set(err, SINTER_ERR_LIMIT,
                          "eager: a batch of %lld sequences of %lld tokens needs more than %lld "
                          "bytes of intermediates at once (by node %%%d, %s); use a smaller "
                          "batch or shorter sequences",
                          (long long)in->batch, (long long)in->seq,
                          (long long)SN_EAGER_MAX_RUN_BYTES, (int)i, sn_ir_op_name(n->op));
  }
  return SINTER_OK;
}

sinter_status_t sn_eager_run(const sn_ir_graph_t *g, const sn_eager_inputs_t *in,
                             float **out_values, sinter_error_t *err) {
  for (int k = 0; k < g->num_outputs; k++) out_values[k] = NULL;
  slot_t *s = calloc((size_t)g->count, sizeof *s);
  if (!s) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "eager: node table");
  /* Storage lives until the last node reading any view of it has run. */
  for (int32_t i = 0; i < g->count; i++) {
    const sn_ir_node_t *n = &g->nodes[i];
    s[i].last_use = i;
    int32_t root = n->op == SN_OP_RESHAPE || n->op == SN_OP_DROPOUT ? s[n->inputs[0]].root : i;
    s[i].root = root;
    for (int k = 0; k < n->num_inputs; k++) {
      int32_t r = s[n->inputs[k]].root;
      if (s[r].last_use < i) s[r].last_use = i;
    }
  }
  for (int k = 0; k < g->num_outputs; k++) s[s[g->outputs[k].node].root].last_use = g->count;
  sinter_status_t st = check_peak(g, s, in, err);
  int32_t i;
  for (i = 0; i < g->count && st == SINTER_OK; i++) {
    st = run_node(g, i, s, in, err);
    /* Free storage whose last reader was this node. */
    for (int k = 0; k < g->nodes[i].num_inputs; k++) {
      int32_t r = s[g->nodes[i].inputs[k]].root;
      if (r >= 0 && s[r].last_use == i && s[r].data) {
        free(s[r].data);
        s[r].data = NULL;
      }
    }
  }
  if (st == SINTER_OK) {
    for (int k = 0; k < g->num_outputs; k++) {
      const slot_t *o = &s[g->outputs[k].node];
      out_values[k] = malloc((size_t)(o->numel ? o->numel : 1) * sizeof(float));
      if (!out_values[k]) {
        st = sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "eager: outputs");
        break;
      }
      memcpy(out_values[k], o->data, (size_t)o->numel * sizeof(float));
    }
  }
  /* Release every storage root still held (outputs, or all after an error). */
  for (int32_t j = 0; j < g->count; j++)
    if (s[j].root == j && s[j].data && g->nodes[j].op != SN_OP_INPUT &&
        g->nodes[j].op != SN_OP_WEIGHT)
      free(s[j].data), s[j].data = NULL;
  if (st != SINTER_OK)
    for (int k = 0; k < g->num_outputs; k++) free(out_values[k]), out_values[k] = NULL;
  free(s);
  return st;
}
