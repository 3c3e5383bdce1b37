/* pass_pack.c — from padded batches to packed rows.
 *
 * Once attention and embeddings are fused, every remaining op either works
 * row by row (linear, LayerNorm, activations) or per sequence (attention,
 * pooling, the first-token slice) given sequence offsets. So the batch is
 * packed as T = sum of lengths rows with no padding, and the attention mask
 * and position arange disappear. Any op that still needs the padded layout
 * means a fusion did not apply: that is reported by name. */
#include "compiler/compiler.h"

sinter_status_t sn_pass_pack(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                             sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_INPUT && n->input == SN_INPUT_MASK) continue; /* dropped below */
    if (!sn_ir_op_is_packed(n->op))
      return sn_error_set(err, SINTER_ERR_UNSUPPORTED,
                          "compiler: node %%%d (%s) is still unfused; the packed executor has "
                          "no kernel for it",
                          (int)i, sn_ir_op_name(n->op));
    /* Per-sequence ops find sequences through offsets, not the mask. */
    if (n->op == SN_OP_POOL) n->num_inputs = 1;
    if (n->op == SN_OP_ATTENTION) { /* (qkv, mask, tables...) -> (qkv, tables...) */
      for (int k = 1; k + 1 < n->num_inputs; k++) n->inputs[k] = n->inputs[k + 1];
      n->num_inputs--;
    }
  }
  g->packed = 1;
  /* Re-infer every shape in order: [B, S, ...] becomes [T, ...]. */
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *n = &g->nodes[i];
    if (n->op == SN_OP_INPUT && n->input == SN_INPUT_MASK) continue;
    char msg[256];
    if (sn_ir_infer(g, n, &n->dtype, &n->shape, msg, sizeof msg) != 0)
      return sn_error_set(err, SINTER_ERR_INTERNAL, "pack: node %%%d (%s): %s", (int)i,
                          sn_ir_op_name(n->op), msg);
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
