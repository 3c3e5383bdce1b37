/* pass_fuse_attention.c — the whole attention block becomes one op.
 *
 * Matches what the builder (and a tracer) produce per layer:
 *   ctx = reshape(transpose(matmul(masked_softmax(matmul(Qh, Kh^T), mask), Vh)))
 * (with rel_bias(matmul(Qh, Kh^T), table) as the scores when there is a
 * relative-position bias: the table becomes the op's third input; with
 * rotary(Qh, table) and rotary(Kh, table), a rotary_qk(qkv, table) op before
 * it rotates q and k in place; the softmax's window and causal limit carry
 * over)
 *   Qh/Kh/Vh = transpose(reshape(slice_cols(qkv, 0|H|2H, +H)))
 * and replaces ctx with attention(qkv, mask): the fused kernel computes it
 * with an online softmax and never holds a sequence x sequence matrix. */
#include <string.h>

#include "compiler/compiler.h"

/* If x = transpose(reshape(slice_cols(qkv, begin, begin+H))) to [B, h, S, d],
 * possibly under a rotary(x, table), returns the slice's start column and
 * sets *qkv and *rotary (the table, or -1); else -1. */
static int64_t head_split_of(const sn_ir_graph_t *g, int32_t x, int32_t *qkv, int32_t *rotary) {
  *rotary = -1;
  if (g->nodes[x].op == SN_OP_ROTARY) {
    *rotary = g->nodes[x].inputs[1];
    x = g->nodes[x].inputs[0];
  }
  const sn_ir_node_t *t = &g->nodes[x];
  if (t->op != SN_OP_TRANSPOSE || t->perm[0] != 0 || t->perm[1] != 2 || t->perm[2] != 1 ||
      t->perm[3] != 3)
    return -1;
  const sn_ir_node_t *r = &g->nodes[t->inputs[0]];
  if (r->op != SN_OP_RESHAPE || r->shape.rank != 4) return -1;
  const sn_ir_node_t *s = &g->nodes[r->inputs[0]];
  if (s->op != SN_OP_SLICE_COLS) return -1;
  *qkv = s->inputs[0];
  return s->begin;
}

sinter_status_t sn_pass_fuse_attention(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                       sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *out = &g->nodes[i];
    if (out->op != SN_OP_RESHAPE || out->shape.rank != 3) continue;
    const sn_ir_node_t *t = &g->nodes[out->inputs[0]];
    if (t->op != SN_OP_TRANSPOSE) continue;
    const sn_ir_node_t *pv = &g->nodes[t->inputs[0]];
    if (pv->op != SN_OP_MATMUL || pv->trans_b) continue;
    const sn_ir_node_t *sm = &g->nodes[pv->inputs[0]];
    if (sm->op != SN_OP_MASKED_SOFTMAX) continue;
    const sn_ir_node_t *qk = &g->nodes[sm->inputs[0]];
    /* A relative-position bias between the scores and the softmax. */
    int32_t table = -1;
    float scale = sm->scale;
    if (qk->op == SN_OP_REL_BIAS) {
      table = qk->inputs[1];
      scale *= qk->scale;
      qk = &g->nodes[qk->inputs[0]];
      if (sm->scale != 1.0f) continue; /* the bias would be scaled too */
    }
    if (qk->op != SN_OP_MATMUL || !qk->trans_b) continue;
    int32_t q_src = -1, k_src = -1, v_src = -1, q_rot, k_rot, v_rot;
    int64_t q0 = head_split_of(g, qk->inputs[0], &q_src, &q_rot);
    int64_t k0 = head_split_of(g, qk->inputs[1], &k_src, &k_rot);
    int64_t v0 = head_split_of(g, pv->inputs[1], &v_src, &v_rot);
    const sn_ir_node_t *qh = &g->nodes[qk->inputs[0]];
    int64_t heads = qh->shape.dims[1], head_dim = qh->shape.dims[3], hidden = heads * head_dim;
    if (q_src < 0 || q_src != k_src || q_src != v_src || q0 != 0 || k0 != hidden ||
        v0 != 2 * hidden || q_rot != k_rot || v_rot >= 0 ||
        g->nodes[q_src].shape.dims[g->nodes[q_src].shape.rank - 1] != 3 * hidden)
      continue;
    int32_t mask = sm->inputs[1], window = sm->window, causal = sm->causal;
    if (q_rot >= 0) { /* q and k rotated alike: one op rotates them in qkv */
      sn_ir_node_t rot;
      memset(&rot, 0, sizeof rot);
      rot.op = SN_OP_ROTARY_QK;
      rot.num_inputs = 2;
      rot.inputs[0] = q_src;
      rot.inputs[1] = q_rot;
      rot.heads = (int32_t)heads;
      rot.head_dim = (int32_t)head_dim;
      rot.arena_offset = -1;
      q_src = sn_ir_append(g, &rot);
      if (q_src < 0)
        return sn_error_set(err, g->build_status, "fuse_attention: %s", g->build_error);
      out = &g->nodes[i]; /* the append may have moved the array */
    }
    /* The reshape node becomes the attention op, so its readers are kept. */
    out->op = SN_OP_ATTENTION;
    out->num_inputs = table >= 0 ? 3 : 2;
    out->inputs[0] = q_src;
    out->inputs[1] = mask;
    out->inputs[2] = table;
    out->heads = (int32_t)heads;
    out->head_dim = (int32_t)head_dim;
    out->scale = scale;
    out->window = window;
    out->causal = causal;
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
