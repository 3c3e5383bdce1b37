/* pass_fuse_embeddings.c — the embedding block becomes one op: gathers of
 * word, position (over arange) and token-type rows, their sum and the
 * LayerNorm, computed row by row without the three intermediates; or, for
 * models with rotary positions, the LayerNorm of the word rows alone. */
#include "compiler/compiler.h"

typedef struct leaves {
  int32_t word, word_ids, pos, type, type_ids;
  int count;
} leaves_t;

/* Collects the gathers under a tree of ADDs; returns -1 on anything else. */
static int collect(const sn_ir_graph_t *g, int32_t x, leaves_t *l, int depth) {
  const sn_ir_node_t *n = &g->nodes[x];
  if (depth > 4) return -1;
  if (n->op == SN_OP_ADD) {
    return collect(g, n->inputs[0], l, depth + 1) | collect(g, n->inputs[1], l, depth + 1);
  }
  if (n->op != SN_OP_GATHER || g->nodes[n->inputs[0]].op != SN_OP_WEIGHT) return -1;
  const sn_ir_node_t *idx = &g->nodes[n->inputs[1]];
  if (idx->op == SN_OP_ARANGE) {
    l->pos = n->inputs[0];
  } else if (idx->op == SN_OP_INPUT && idx->input == SN_INPUT_IDS) {
    l->word = n->inputs[0];
    l->word_ids = n->inputs[1];
  } else if (idx->op == SN_OP_INPUT && idx->input == SN_INPUT_TYPE_IDS) {
    l->type = n->inputs[0];
    l->type_ids = n->inputs[1];
  } else {
    return -1;
  }
  l->count++;
  return 0;
}

/* LayerNorm ln over the gathers in l becomes embed_layernorm. */
static void fuse(sn_ir_node_t *ln, const leaves_t *l) {
  int32_t gamma = ln->inputs[1], beta = ln->inputs[2];
  int k = 0;
  ln->op = SN_OP_EMBED_LN;
  ln->inputs[k++] = l->word_ids;
  ln->inputs[k++] = l->word;
  if (l->pos >= 0) ln->inputs[k++] = l->pos;
  ln->inputs[k++] = gamma;
  ln->inputs[k++] = beta;
  if (l->type >= 0) {
    ln->inputs[k++] = l->type_ids;
    ln->inputs[k++] = l->type;
  }
  ln->num_inputs = k;
}

sinter_status_t sn_pass_fuse_embeddings(sn_ir_graph_t *g, const sn_compile_options_t *opts,
                                        sn_pass_report_t *report, sinter_error_t *err) {
  (void)opts;
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *ln = &g->nodes[i];
    if (ln->op != SN_OP_LAYERNORM || g->nodes[ln->inputs[0]].op != SN_OP_ADD) continue;
    leaves_t l = {-1, -1, -1, -1, -1, 0};
    if (collect(g, ln->inputs[0], &l, 0) != 0 || l.word < 0 || l.pos < 0) continue;
    if (l.count != (l.type >= 0 ? 3 : 2)) continue;
    fuse(ln, &l);
    report->rewrites++;
  }
  /* Rotary models: LayerNorm of the word rows alone. */
  for (int32_t i = 0; i < g->count; i++) {
    sn_ir_node_t *ln = &g->nodes[i];
    if (ln->op != SN_OP_LAYERNORM || g->nodes[ln->inputs[0]].op != SN_OP_GATHER) continue;
    leaves_t l = {-1, -1, -1, -1, -1, 0};
    if (collect(g, ln->inputs[0], &l, 0) != 0 || l.word < 0) continue;
    fuse(ln, &l);
    report->rewrites++;
  }
  return sn_compiler_compact(g, err);
}
