/* pass_fold_scale.c — constant folding of the attention scale.
 *
 * BERT computes softmax(q k^T * s) and DistilBERT softmax((q * s) k^T) with
 * s = 1/sqrt(head_dim) (MPNet: softmax(q k^T * s + bias)). Since q = x Wq^T + bq, scaling Wq and bq
 * by s once at compile time removes a multiply per score (or per q element) at run time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compiler.h"

/* Follows q through TRANSPOSE and RESHAPE to the node that produced it. */
static int32_t producer_before_views(const sn_ir_graph_t *g, int32_t x) {
  while (x >= 0 && (g->nodes[x].op == SN_OP_TRANSPOSE || g->nodes[x].op == SN_OP_RESHAPE))
    x = g->nodes[x].inputs[0];
  return x;
}

/* Replaces the weight node `w` (read only by the linear) with a scaled copy. */
static int scale_weight(sn_ir_graph_t *g, int32_t reader, int slot, float s, int64_t *bytes) {
  const sn_ir_node_t *w = &g->nodes[g->nodes[reader].inputs[slot]];
  int64_t n = 1;
  for (int i = 0; i < w->shape.rank; i++) n *= w->shape.dims[i];
  float *data = malloc((size_t)n * sizeof *data);
  if (!data) return -1;
  for (int64_t i = 0; i < n; i++) data[i] = w->data[i] * s;
  char name[256];
  snprintf(name, sizeof name, "%s*scale", w->name);
  int64_t dims[2] = {w->shape.dims[0], w->shape.dims[1]};
  int32_t id = sn_compiler_owned_weight(g, name, data, w->shape.rank, dims);
  if (id < 0) return -1;
  g->nodes[reader].inputs[slot] = id;
  *bytes += n * (int64_t)sizeof(float);
  return 0;
}

sinter_status_t sn_pass_fold_scale(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                   sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  int32_t *uses = sn_compiler_use_counts(g);
  if (!uses) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fold_scale");
  int32_t count = g->count; /* nodes appended below are weights: skip them */
  for (int32_t i = 0; i < count; i++) {
    if (g->nodes[i].op != SN_OP_MASKED_SOFTMAX) continue;
    /* The node whose scale multiplies the scores: the softmax, or a
     * relative-position bias added after scaling (MPNet), whose table the
     * scale does not touch. */
    int32_t sm_id = i;
    if (g->nodes[g->nodes[i].inputs[0]].op == SN_OP_REL_BIAS && g->nodes[i].scale == 1.0f)
      sm_id = g->nodes[i].inputs[0];
    sn_ir_node_t *sm = &g->nodes[sm_id];
    const sn_ir_node_t *scores = &g->nodes[sm->inputs[0]];
    if (scores->op != SN_OP_MATMUL) continue;
    int32_t q = producer_before_views(g, scores->inputs[0]);
    float s = sm->scale;
    int32_t scaled_q = q;
    if (q >= 0 && g->nodes[q].op == SN_OP_MUL_SCALAR) { /* DistilBERT */
      s = g->nodes[q].scale;
      q = g->nodes[q].inputs[0];
      if (sm->scale != 1.0f) continue;
    }
    int32_t mm, w, b;
    if (s == 1.0f || !sn_compiler_match_linear(g, q, &mm, &w, &b)) continue;
    /* Only when the q projection feeds nothing else. */
    if (uses[q] != 1 || uses[mm] != 1 || uses[w] != 1 || uses[b] != 1) continue;
    if (scale_weight(g, mm, 1, s, &report->bytes_folded) != 0 ||
        scale_weight(g, q, 1, s, &report->bytes_folded) != 0) {
      free(uses);
      return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fold_scale: weights");
    }
    sm = &g->nodes[sm_id]; /* appends may have moved the array */
    if (scaled_q != q) {
      sn_compiler_replace_uses(g, scaled_q, q);
    } else {
      sm->scale = 1.0f;
    }
    report->rewrites++;
  }
  free(uses);
  return sn_compiler_compact(g, err);
}
