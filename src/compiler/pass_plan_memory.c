/* pass_plan_memory.c — static memory planning.
 *
 * Every intermediate gets a byte offset in one arena sized for max_tokens
 * rows ([T, ..] buffers) and max_seqs sequences ([B, ..]), assigned first-fit over liveness
 * intervals (a buffer is free after its last reader ran). An op that may write over an input which
 * dies with it (a linear's residual, LayerNorm's input, an activation) reuses that input's slot, so
 * the residual stream is updated in place. A run with fewer tokens uses a prefix of each slot, so
 * the plan never changes per request. */
#include <stdlib.h>

#include "compiler/compiler.h"

#define ALIGN 64

typedef struct slot {
  int64_t offset, size;
  int32_t last_use;
} slot_t;

static int in_arena(const sn_ir_node_t *n) {
  return n->op != SN_OP_INPUT && n->op != SN_OP_WEIGHT;
}

sinter_status_t sn_pass_plan_memory(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                    sn_pass_report_t *report, sinter_error_t *err) {
  if (!g->packed) return sn_error_set(err, SINTER_ERR_INTERNAL, "plan_memory: graph not packed");
  int32_t n = g->count;
  int32_t *last = malloc(((size_t)n + 1) * sizeof *last);
  slot_t *live = malloc(((size_t)n + 1) * sizeof *live);
  if (!last || !live) {
    free(last), free(live);
    return sn_error_set(err, SINTER_ERR_OUT_OF_MEMORY, "plan_memory");
  }
  for (int32_t i = 0; i < n; i++) {
    last[i] = i;
    for (int k = 0; k < g->nodes[i].num_inputs; k++) last[g->nodes[i].inputs[k]] = i;
  }
  for (int k = 0; k < g->num_outputs; k++) last[g->outputs[k].node] = n; /* live to the end */
  int32_t n_live = 0;
  int64_t arena = 0;
  int64_t max_seqs =
      opts->max_seqs > 0 && opts->max_seqs < opts->max_tokens ? opts->max_seqs : opts->max_tokens;
  for (int32_t i = 0; i < n; i++) {
    sn_ir_node_t *node = &g->nodes[i];
    node->arena_offset = -1;
    if (!in_arena(node)) continue;
    /* Release slots whose last reader ran before this node. */
    int32_t kept = 0;
    for (int32_t s = 0; s < n_live; s++)
      if (live[s].last_use >= i) live[kept++] = live[s];
    n_live = kept;
    int64_t raw = sn_ir_shape_bind(&node->shape, max_seqs, opts->max_tokens, NULL) * 4;
    int64_t bytes = (raw + ALIGN - 1) / ALIGN * ALIGN;
    int ip = sn_ir_inplace_input(node);
    if (ip >= 0) {
      const sn_ir_node_t *src = &g->nodes[node->inputs[ip]];
      if (in_arena(src) && last[node->inputs[ip]] == i &&
          sn_ir_shape_bind(&src->shape, max_seqs, opts->max_tokens, NULL) * 4 == raw) {
        node->arena_offset = src->arena_offset;
        for (int32_t s = 0; s < n_live; s++)
          if (live[s].offset == src->arena_offset) live[s].last_use = last[i];
        report->rewrites++;
        continue;
      }
    }
    /* First fit: the lowest gap between live slots (kept sorted by offset). */
    int64_t at = 0;
    int32_t pos = 0;
    for (; pos < n_live; pos++) {
      if (live[pos].offset - at >= bytes) break;
      int64_t end = live[pos].offset + live[pos].size;
      if (end > at) at = end;
    }
    for (int32_t s = n_live; s > pos; s--) live[s] = live[s - 1];
    live[pos] = (slot_t){at, bytes, last[i]};
    n_live++;
    node->arena_offset = at;
    if (at + bytes > arena) arena = at + bytes;
  }
  g->max_tokens = opts->max_tokens;
  g->max_seqs = max_seqs;
  g->arena_bytes = arena;
  free(last), free(live);
  return SINTER_OK;
}
