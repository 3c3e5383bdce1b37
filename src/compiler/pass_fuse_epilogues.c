/* pass_fuse_epilogues.c — matmul + bias, and what follows it when it is the
 * only reader (an activation, or a residual add), become one linear op whose
 * extras run in the GEMM's epilogue while the tile is still in cache. */
#include <stdlib.h>

#include "compiler/compiler.h"

static sn_activation_t act_of(sn_ir_op_t op) {
  switch (op) {
    case SN_OP_GELU: return SN_ACT_GELU;
    case SN_OP_GELU_TANH: return SN_ACT_GELU_TANH;
    case SN_OP_RELU: return SN_ACT_RELU;
    case SN_OP_TANH: return SN_ACT_TANH;
    default: return SN_ACT_NONE;
  }
}

static int same_shape(const sn_ir_shape_t *a, const sn_ir_shape_t *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

sinter_status_t sn_pass_fuse_epilogues(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                       sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  int32_t *uses = sn_compiler_use_counts(g);
  if (!uses) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fuse_epilogues");
  /* Reader of each node when it has exactly one (-1 otherwise). */
  int32_t *reader = malloc(((size_t)g->count + 1) * sizeof *reader);
  if (!reader) {
    free(uses);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fuse_epilogues");
  }
  for (int32_t i = 0; i < g->count; i++) reader[i] = -1;
  for (int32_t i = 0; i < g->count; i++)
    for (int k = 0; k < g->nodes[i].num_inputs; k++) reader[g->nodes[i].inputs[k]] = i;
  for (int k = 0; k < g->num_outputs; k++) reader[g->outputs[k].node] = -1;

  for (int32_t i = 0; i < g->count; i++) {
    int32_t mm, w, b;
    if (!sn_compiler_match_linear(g, i, &mm, &w, &b) || uses[mm] != 1) continue;
    int32_t x = g->nodes[mm].inputs[0];
    int32_t fused = i; /* the node that becomes the linear */
    sn_activation_t act = SN_ACT_NONE;
    int32_t residual = -1;
    int32_t next = uses[i] == 1 ? reader[i] : -1;
    if (next >= 0 && act_of(g->nodes[next].op) != SN_ACT_NONE) {
      act = act_of(g->nodes[next].op);
      fused = next;
    } else if (next >= 0 && g->nodes[next].op == SN_OP_ADD &&
               same_shape(&g->nodes[g->nodes[next].inputs[0]].shape,
                          &g->nodes[g->nodes[next].inputs[1]].shape)) {
      residual =
          g->nodes[next].inputs[0] == i ? g->nodes[next].inputs[1] : g->nodes[next].inputs[0];
      fused = next;
    }
    sn_ir_node_t *n = &g->nodes[fused];
    n->op = SN_OP_LINEAR;
    n->inputs[0] = x;
    n->inputs[1] = w;
    n->inputs[2] = b;
    n->num_inputs = 3;
    n->act = act;
    if (residual >= 0) {
      n->inputs[3] = residual;
      n->num_inputs = 4;
    }
    report->rewrites++;
  }
  free(uses);
  free(reader);
  return sn_compiler_compact(g, err);
}
