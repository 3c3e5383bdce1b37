/* pass_fuse_layernorm.c — LayerNorm becomes add_layernorm, taking the
 * residual add into it when that add has no other reader: one pass over the
 * rows instead of two. (After fuse_epilogues most residuals already sit in a
 * linear's epilogue; then the op is a plain vectorised LayerNorm.)
 *
 * A residual added after an RMSNorm (Gemma's sandwich norms: x +
 * norm(attn)) goes into the norm as its third input, the same single pass. */
#include <stdlib.h>

#include "compiler/compiler.h"

sinter_status_t sn_pass_fuse_layernorm(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                       sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  int32_t *uses = sn_compiler_use_counts(g);
  if (!uses) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fuse_layernorm");
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *ln = &g->nodes[i];
    if (ln->op != SN_OP_LAYERNORM) continue;
    int32_t x = ln->inputs[0], gamma = ln->inputs[1], beta = ln->inputs[2];
    const sn_ir_node_t *add = &g->nodes[x];
    ln->op = SN_OP_ADD_LAYERNORM;
    if (add->op == SN_OP_ADD && uses[x] == 1 &&
        add->shape.rank == g->nodes[add->inputs[1]].shape.rank) {
      ln->inputs[0] = add->inputs[0];
      ln->inputs[3] = add->inputs[1];
      ln->num_inputs = 4;
    }
    (void)gamma, (void)beta;
    report->rewrites++;
  }
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *add = &g->nodes[i];
    if (add->op != SN_OP_ADD) continue;
    for (int side = 0; side < 2; side++) {
      int32_t norm = add->inputs[side], residual = add->inputs[1 - side];
      const sn_ir_node_t *rn = &g->nodes[norm], *r = &g->nodes[residual];
      if (rn->op != SN_OP_RMSNORM || rn->num_inputs != 2 || uses[norm] != 1 ||
          r->shape.rank != rn->shape.rank)
        continue;
      add->op = SN_OP_RMSNORM;
      add->eps = rn->eps;
      add->inputs[0] = rn->inputs[0];
      add->inputs[1] = rn->inputs[1];
      add->inputs[2] = residual;
      add->num_inputs = 3;
      report->rewrites++;
      break;
    }
  }
  free(uses);
  return sn_compiler_compact(g, err);
}
