/* pass_fuse_pool.c — a SPLADE pool over a linear becomes one pooled linear.
 *
 * SPLADE pools the masked-LM head's vocabulary logits, [T, vocab]: for a
 * bert-base vocabulary at the default 8,192-token budget that is 1 GB of
 * arena (8 GB for XLM-R's 250,002 words) for a [B, vocab] result. The pooled
 * linear computes the logits a chunk of rows at a time into executor scratch
 * and keeps only each sequence's running max (runtime/plan.c), so the arena
 * holds [B, vocab]. The values are the same: max is exact, and log(1 +
 * ReLU()) is applied to the max either way.
 *
 * Runs on the packed graph (the pool has lost its mask, rows are [T, ...]). */
#include <stdlib.h>

#include "compiler/compiler.h"

sinter_status_t sn_pass_fuse_pool(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                  sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  int32_t *uses = sn_compiler_use_counts(g);
  if (!uses) return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "fuse_pool");
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *pool = &g->nodes[i];
    if (pool->op != SN_OP_POOL || pool->pool != SINTER_POOL_SPLADE) continue;
    const sn_ir_node_t *lin = &g->nodes[pool->inputs[0]];
    /* Only a plain linear read by this pool alone: its [T, N] rows are then
     * needed nowhere else. */
    if (lin->op != SN_OP_LINEAR || uses[pool->inputs[0]] != 1 || lin->num_inputs != 3 ||
        lin->act != SN_ACT_NONE || lin->pool != SINTER_POOL_DEFAULT || lin->int8)
      continue;
    int32_t x = lin->inputs[0], w = lin->inputs[1], b = lin->inputs[2];
    pool->op = SN_OP_LINEAR; /* the pool's node keeps its [B, N] shape */
    pool->inputs[0] = x;
    pool->inputs[1] = w;
    pool->inputs[2] = b;
    pool->num_inputs = 3;
    pool->act = SN_ACT_NONE;
    report->rewrites++;
  }
  free(uses);
  return sn_compiler_compact(g, err);
}
