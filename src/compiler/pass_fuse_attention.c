/* pass_fuse_attention.c — the whole attention block becomes one op.
 *
 * Matches what the builder (and a tracer) produce per layer:
 *   ctx = reshape(transpose(matmul(masked_softmax(matmul(Qh, Kh^T), mask), Vh)))
 * (with rel_bias(matmul(Qh, Kh^T), table) as the scores when there is a
 * relative-position bias: the table becomes the op's third input; with
 * disentangled_bias(matmul(Qh, Kh^T), Qh, Kh, index, pos), DeBERTa-v2's terms:
 * index and pos become its third and fourth inputs and its scale the op's; with
 * rotary(Qh, table) and rotary(Kh, table), a rotary_qk(qkv, table) op before
 * it rotates q and k in place; the softmax's window and causal limit carry
 * over)
 *   Qh/Kh/Vh = transpose(reshape(slice_cols(qkv, 0|H|2H, +H)))
 * and replaces ctx with attention(qkv, mask): the fused kernel computes it
 * with an online softmax and never holds a sequence x sequence matrix. */
#include <string.h>

#include "compiler/compiler.h"

/* How one of q, k, v reaches the scores: a column slice of the merged qkv,
 * its heads split off, and around that, optionally, a per-head RMSNorm
 * (q_norm, k_norm), rotary positions and repeated heads (grouped-query). */
typedef struct head_split {
  int32_t qkv;    /* the merged projection */
  int64_t begin;  /* the slice's first column */
  int64_t heads;  /* heads in the slice */
  int32_t rotary; /* rotary table, or -1 */
  int32_t norm;   /* RMSNorm gamma [d], or -1 */
  float norm_eps;
  int repeated; /* 1: repeat_heads after */
} head_split_t;

/* Matches x = [repeat_heads](rotary?(transpose(rmsnorm?(reshape(slice_cols(qkv)))))) to
 * [B, h, S, d]; 0 on a match. */
static int head_split_of(const sn_ir_graph_t *g, int32_t x, head_split_t *hs) {
  hs->rotary = hs->norm = -1;
  hs->repeated = 0;
  if (g->nodes[x].op == SN_OP_REPEAT_HEADS) {
    hs->repeated = 1;
    x = g->nodes[x].inputs[0];
  }
  if (g->nodes[x].op == SN_OP_ROTARY) {
    hs->rotary = g->nodes[x].inputs[1];
    x = g->nodes[x].inputs[0];
  }
  const sn_ir_node_t *t = &g->nodes[x];
  if (t->op != SN_OP_TRANSPOSE || t->perm[0] != 0 || t->perm[1] != 2 || t->perm[2] != 1 ||
      t->perm[3] != 3)
    return -1;
  const sn_ir_node_t *r = &g->nodes[t->inputs[0]];
  if (r->op == SN_OP_RMSNORM) {
    hs->norm = r->inputs[1];
    hs->norm_eps = r->eps;
    r = &g->nodes[r->inputs[0]];
  }
  if (r->op != SN_OP_RESHAPE || r->shape.rank != 4) return -1;
  const sn_ir_node_t *sl = &g->nodes[r->inputs[0]];
  if (sl->op != SN_OP_SLICE_COLS) return -1;
  hs->qkv = sl->inputs[0];
  hs->begin = sl->begin;
  hs->heads = r->shape.dims[2];
  return 0;
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
    /* A relative-position bias between the scores and the softmax, or
     * DeBERTa-v2's disentangled terms (q and k as the scores' own operands). */
    int32_t table = -1, rel_index = -1, rel_pos = -1;
    float scale = sm->scale;
    if (qk->op == SN_OP_DISENTANGLED_BIAS) {
      const sn_ir_node_t *dis = qk;
      qk = &g->nodes[dis->inputs[0]];
      if (sm->scale != 1.0f || qk->op != SN_OP_MATMUL || qk->inputs[0] != dis->inputs[1] ||
          qk->inputs[1] != dis->inputs[2])
        continue;
      rel_index = dis->inputs[3];
      rel_pos = dis->inputs[4];
      scale = dis->scale;
    } else if (qk->op == SN_OP_REL_BIAS) {
      table = qk->inputs[1];
      scale *= qk->scale;
      qk = &g->nodes[qk->inputs[0]];
      if (sm->scale != 1.0f) continue; /* the bias would be scaled too */
    }
    if (qk->op != SN_OP_MATMUL || !qk->trans_b) continue;
    head_split_t q, k, v;
    if (head_split_of(g, qk->inputs[0], &q) || head_split_of(g, qk->inputs[1], &k) ||
        head_split_of(g, pv->inputs[1], &v))
      continue;
    const sn_ir_node_t *qh = &g->nodes[qk->inputs[0]];
    int64_t heads = qh->shape.dims[1], head_dim = qh->shape.dims[3], hidden = heads * head_dim;
    int64_t kv = k.heads;
    /* One merged qkv: q's heads, then k's and v's (fewer when grouped, and
     * then repeated); q and k rotated and normalised alike, v neither. */
    if (q.qkv != k.qkv || q.qkv != v.qkv || q.begin != 0 || q.heads != heads || q.repeated ||
        k.begin != hidden || v.begin != hidden + kv * head_dim || v.heads != kv ||
        k.repeated != (kv != heads) || v.repeated != (kv != heads) || q.rotary != k.rotary ||
        v.rotary >= 0 || (q.norm >= 0) != (k.norm >= 0) || v.norm >= 0 ||
        (q.norm >= 0 && (q.rotary < 0 || q.norm_eps != k.norm_eps)) ||
        g->nodes[q.qkv].shape.dims[g->nodes[q.qkv].shape.rank - 1] != hidden + 2 * kv * head_dim)
      continue;
    int32_t q_src = q.qkv;
    int32_t mask = sm->inputs[1], window = sm->window, causal = sm->causal;
    if (q.rotary >= 0) { /* q and k rotated alike: one op rotates them in qkv */
      sn_ir_node_t rot;
      memset(&rot, 0, sizeof rot);
      rot.op = SN_OP_ROTARY_QK;
      rot.num_inputs = q.norm >= 0 ? 4 : 2;
      rot.inputs[0] = q_src;
      rot.inputs[1] = q.rotary;
      rot.inputs[2] = q.norm;
      rot.inputs[3] = k.norm;
      rot.eps = q.norm_eps;
      rot.heads = (int32_t)heads;
      rot.kv_heads = kv != heads ? (int32_t)kv : 0;
      rot.head_dim = (int32_t)head_dim;
      rot.arena_offset = -1;
      q_src = sn_ir_append(g, &rot);
      if (q_src < 0)
        return sn_error_set(err, g->build_status, "fuse_attention: %s", g->build_error);
      out = &g->nodes[i]; /* the append may have moved the array */
    }
    /* The reshape node becomes the attention op, so its readers are kept. */
    out->op = SN_OP_ATTENTION;
    out->num_inputs = table >= 0 ? 3 : rel_pos >= 0 ? 4 : 2;
    out->inputs[0] = q_src;
    out->inputs[1] = mask;
    out->inputs[2] = table >= 0 ? table : rel_index;
    out->inputs[3] = rel_pos;
    out->heads = (int32_t)heads;
    out->head_dim = (int32_t)head_dim;
    out->scale = scale;
    out->window = window;
    out->causal = causal;
    out->kv_heads = kv != heads ? (int32_t)kv : 0;
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
